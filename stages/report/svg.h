// A small SVG plotting helper for the report: one Plot is one figure panel
// with axes, ticks, labels with units, linear or log scales, and a legend.
// The report draws aggregates (medians, bands, histograms, subsampled
// points), so a panel stays a few kB however many runs there are.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace wattrun::report::svg {

enum class Scale { kLinear, kLog };
// How tick positions and labels are chosen: plain numbers, or bytes
// (powers of two labelled KiB, MiB, GiB on a log axis).
enum class Ticks { kNumber, kBytes };

struct Axis {
  std::string label;  // with the unit, e.g. "run time (s)"
  Scale scale = Scale::kLinear;
  Ticks ticks = Ticks::kNumber;
  std::optional<double> min, max;  // fixed limits; otherwise from the data
  bool include_zero = false;       // linear axes: start at 0
  // Explicit ticks (position, label), e.g. node types on a categorical axis.
  std::vector<std::pair<double, std::string>> custom_ticks;
};

struct Style {
  std::string color = "#1f77b4";
  double width = 1.6;    // stroke width, or point radius
  double opacity = 1.0;  // fill or stroke opacity
  std::string dash;      // SVG dash array, e.g. "5 3"
  std::string legend;    // non-empty: listed in the legend
  std::string title;     // hover text
};

// Legend swatch shapes.
enum class Swatch { kLine, kBox, kDot };

class PlotRenderer;  // svg.cc: lays out a Plot and writes its SVG

class Plot {
 public:
  explicit Plot(std::string title, double width = 620, double height = 380);

  Axis x, y;
  // Note printed in small type under the title (e.g. "median and IQR").
  std::string subtitle;
  // Room for the y tick labels (wider for long category names).
  double margin_left = 66;

  void Points(const std::vector<double>& xs, const std::vector<double>& ys, const Style& style);
  void Line(const std::vector<double>& xs, const std::vector<double>& ys, const Style& style, bool markers = false);
  // Filled area between lo and hi over xs.
  void Band(const std::vector<double>& xs, const std::vector<double>& lo, const std::vector<double>& hi,
            const Style& style);
  // Vertical error bars at xs from lo to hi.
  void ErrorBars(const std::vector<double>& xs, const std::vector<double>& lo, const std::vector<double>& hi,
                 const Style& style);
  // Histogram: edges.size() == counts.size() + 1. `base` (same size as
  // counts) stacks the bars on earlier ones. Zero bars are not drawn.
  void Histogram(const std::vector<double>& edges, const std::vector<double>& counts, const Style& style,
                 const std::vector<double>* base = nullptr);
  // Outline of a histogram (to compare two distributions on one panel).
  void Steps(const std::vector<double>& edges, const std::vector<double>& counts, const Style& style);
  // A rectangle in data coordinates (heat-map cells, boxes, bars).
  void Rect(double x0, double x1, double y0, double y1, const Style& style, bool outline = false);
  // Lines across the whole panel, with an optional label at the top (or right).
  // They do not widen the axis range; outside it they are not drawn.
  void VLine(double x, const Style& style, const std::string& label = "");
  void HLine(double y, const Style& style, const std::string& label = "");
  // Text at a data position.
  void Text(double x, double y, const std::string& text, const std::string& color = "#333",
            const std::string& anchor = "start");
  // A legend entry without a drawn element (e.g. for a group of lines).
  void LegendEntry(const std::string& label, const std::string& color, Swatch swatch, const std::string& dash = "");

  double width() const { return width_; }
  const std::string& title() const { return title_; }
  // `id` must be unique on the page (clip path).
  std::string Render(const std::string& id) const;
  // The plotted data as CSV, one row per drawn value: columns series,
  // element, x, x_end, y, y_end (header names carry the axis labels).
  // point/line: x, y; band/error_bar: x, y (low), y_end (high); bar/step:
  // bin x..x_end, height y; rect: x..x_end, y..y_end; vline: x; hline: y;
  // text: x, y. Numbers in shortest round-trip form.
  std::string Csv() const;

 private:
  enum class Kind { kPoints, kLine, kBand, kErrorBars, kHistogram, kSteps, kRect, kVLine, kHLine, kText };
  struct Element {
    Kind kind;
    std::vector<double> xs, ys, y2;  // y2: hi of bands and error bars, base of histograms
    Style style;
    std::string text;    // labels of lines, and kText's text
    std::string anchor;  // kText: SVG text-anchor
    bool flag = false;   // markers on lines, outline-only rects
  };
  struct Entry {
    std::string label, color, dash;
    Swatch swatch;
  };
  friend class PlotRenderer;
  void AddLegend(const Style& style, Swatch swatch);

  std::string title_;
  double width_, height_;
  std::vector<Element> elements_;
  std::vector<Entry> legend_;
};

// A colour from a sequential palette (viridis-like), t in [0, 1].
std::string Sequential(double t);
// Light (t = 0) to dark blue (t = 1), for counts in heat maps.
std::string Density(double t);

// Fixed colours of the page.
inline constexpr const char* kCpuColor = "#1f77b4";
inline constexpr const char* kGpuColor = "#d95f02";
inline constexpr const char* kGrey = "#7f7f7f";
inline constexpr const char* kRed = "#c0392b";

}  // namespace wattrun::report::svg
