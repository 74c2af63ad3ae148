#include "stages/report/svg.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>

#include "stages/report/format.h"

namespace wattrun::report::svg {
namespace {

constexpr double kFont = 11.0;
constexpr double kCharWidth = 0.58 * kFont;  // rough width of one character
// A white outline behind labels drawn over data.
constexpr const char* kHalo = "paint-order=\"stroke\" stroke=\"#fff\" stroke-width=\"3\" stroke-linejoin=\"round\"";

bool Finite(double v) { return std::isfinite(v); }

// Pixel coordinate text: one decimal is plenty.
std::string Px(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  std::string s(buf);
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  return s;
}

// Maps data values of one axis to pixels.
class Mapper {
 public:
  Mapper(double lo, double hi, bool log, double p0, double p1) : log_(log), p0_(p0), p1_(p1) {
    lo_ = log ? std::log10(lo) : lo;
    hi_ = log ? std::log10(hi) : hi;
    if (!(hi_ > lo_)) hi_ = lo_ + 1;
  }
  bool Valid(double v) const { return Finite(v) && (!log_ || v > 0); }
  double operator()(double v) const {
    const double t = ((log_ ? std::log10(v) : v) - lo_) / (hi_ - lo_);
    return p0_ + t * (p1_ - p0_);
  }
  // Pixel of v, with invalid values (0 on a log axis) at the low end.
  double Clamped(double v) const { return Valid(v) ? (*this)(v) : p0_; }
  bool Inside(double v) const {
    if (!Valid(v)) return false;
    const double t = ((log_ ? std::log10(v) : v) - lo_) / (hi_ - lo_);
    return t >= -1e-9 && t <= 1 + 1e-9;
  }

 private:
  bool log_;
  double lo_, hi_, p0_, p1_;
};

double NiceStep(double span, int target) {
  if (!(span > 0)) return 1;
  const double raw = span / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  const double nice = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  return nice * mag;
}

std::string DecadeLabel(int e) {
  if (e >= -2 && e <= 4) {
    if (e >= 0) return FormatCount(static_cast<std::int64_t>(std::llround(std::pow(10.0, e))));
    return e == -1 ? "0.1" : "0.01";
  }
  return "10" + Superscript(e);
}

std::string LinearLabel(double v, double step) {
  if (std::abs(v) < step * 1e-9) return "0";
  if (std::abs(v) >= 1e7 || std::abs(v) < 1e-3) {
    const int e = static_cast<int>(std::floor(std::log10(std::abs(v))));
    const double m = v / std::pow(10.0, e);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", m);
    return std::string(buf) + "\u00d710" + Superscript(e);
  }
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s(buf);
  if (std::abs(v) >= 1000 && decimals == 0) s = FormatCount(static_cast<std::int64_t>(std::llround(v)));
  return s;
}

struct Tick {
  double value;
  std::string label;  // empty: minor tick
  bool major = true;  // majors keep their label first when labels would overlap
};

// A short label for a tick that is not a power of ten: 3 significant digits,
// "5×10⁸" for large or tiny values.
std::string CompactLabel(double v) {
  const double a = std::abs(v);
  if (a != 0 && (a >= 1e5 || a < 1e-2)) {
    const int e = static_cast<int>(std::floor(std::log10(a)));
    return FormatSig(v / std::pow(10.0, e), 2) + "\u00d710" + Superscript(e);
  }
  return FormatSig(v, 3);
}

// Characters (not bytes) of a UTF-8 label.
double Chars(const std::string& s) {
  double n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void Add(double v, bool log) {
    if (!Finite(v) || (log && v <= 0)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool Empty() const { return !(hi >= lo); }
};

// Final limits of an axis from the data range.
std::pair<double, double> Limits(const Axis& axis, Range r) {
  const bool log = axis.scale == Scale::kLog;
  if (r.Empty()) r = log ? Range{1, 10} : Range{0, 1};
  if (axis.include_zero && !log) {
    r.lo = std::min(r.lo, 0.0);
    r.hi = std::max(r.hi, 0.0);
  }
  double lo = r.lo, hi = r.hi;
  if (log) {
    if (hi / lo < 1.0001) {
      lo /= 2;
      hi *= 2;
    }
    const double pad = std::pow(hi / lo, 0.04);
    lo /= pad;
    hi *= pad;
  } else {
    if (hi - lo <= 0) {
      const double d = lo == 0 ? 1 : std::abs(lo) * 0.1;
      lo -= d;
      hi += d;
    }
    const double pad = (hi - lo) * 0.04;
    if (!(axis.include_zero && lo == 0)) lo -= pad;
    hi += pad;
  }
  if (axis.min) lo = *axis.min;
  if (axis.max) hi = *axis.max;
  if (!(hi > lo)) hi = lo + (log ? lo : 1.0);
  return {lo, hi};
}

std::vector<Tick> MakeTicks(const Axis& axis, double lo, double hi) {
  std::vector<Tick> ticks;
  if (!axis.custom_ticks.empty()) {
    for (const auto& [v, label] : axis.custom_ticks) {
      if (v >= lo && v <= hi) ticks.push_back({v, label});
    }
    return ticks;
  }
  const bool log = axis.scale == Scale::kLog;
  if (log && axis.ticks == Ticks::kBytes) {
    const int k0 = static_cast<int>(std::ceil(std::log2(lo) - 1e-9));
    const int k1 = static_cast<int>(std::floor(std::log2(hi) + 1e-9));
    int step = 1;
    for (int s : {1, 2, 5, 10, 20}) {
      step = s;
      if ((k1 - k0) / s + 1 <= 9) break;
    }
    for (int k = k0; k <= k1; ++k) {
      if (((k % step) + step) % step != 0) continue;
      ticks.push_back({std::ldexp(1.0, k), FormatBytes(std::ldexp(1.0, k))});
    }
    return ticks;
  }
  if (log) {
    const int e0 = static_cast<int>(std::ceil(std::log10(lo) - 1e-9));
    const int e1 = static_cast<int>(std::floor(std::log10(hi) + 1e-9));
    const int decades = e1 - e0 + 1;
    if (decades <= 1) {
      // Less than a decade or two: 1-2-5 ticks (or all nine).
      for (const auto& mults : {std::vector<int>{1, 2, 5}, std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9}}) {
        ticks.clear();
        for (int e = e0 - 1; e <= e1; ++e) {
          for (int m : mults) {
            const double v = m * std::pow(10.0, e);
            if (v < lo || v > hi) continue;
            ticks.push_back({v, m == 1 ? DecadeLabel(e) : CompactLabel(v), m == 1});
          }
        }
        if (ticks.size() >= 3) break;
      }
      return ticks;
    }
    const int every = std::max(1, (decades + 7) / 8);
    for (int e = e0 - 1; e <= e1; ++e) {
      const double base = std::pow(10.0, e);
      if (e >= e0 && ((e % every) + every) % every == 0) ticks.push_back({base, DecadeLabel(e)});
      if (decades <= 6) {
        for (int m = 2; m <= 9; ++m) {
          const double v = m * base;
          if (!(v > lo && v < hi)) continue;
          // Two decades or less: label the 2s and 5s too.
          ticks.push_back({v, decades <= 2 && (m == 2 || m == 5) ? CompactLabel(v) : "", false});
        }
      }
    }
    return ticks;
  }
  const double step = NiceStep(hi - lo, 6);
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) {
    const double snapped = std::abs(v) < step * 1e-9 ? 0.0 : v;
    ticks.push_back({snapped, axis.ticks == Ticks::kBytes ? FormatBytes(snapped) : LinearLabel(snapped, step)});
  }
  return ticks;
}

// Draws `label` in the SVG (escaped, superscripts kept).
std::string TextNode(double x, double y, const std::string& label, const std::string& attrs) {
  return "<text x=\"" + Px(x) + "\" y=\"" + Px(y) + "\" " + attrs + ">" + EscapeHtml(label) + "</text>";
}

// The plot area in pixels and the maps from data to pixels.
struct Frame {
  double px0, px1;  // left, right
  double py0, py1;  // bottom, top: y grows downwards
  Mapper mx, my;
};

// Clears the label of a tick that would overlap one already placed (major
// ticks are placed first).
void PlaceLabels(std::vector<Tick>* ticks, const std::function<double(const Tick&)>& pos,
                 const std::function<double(const Tick&)>& half) {
  std::vector<std::pair<double, double>> placed;  // centre, half extent
  for (int pass = 0; pass < 2; ++pass) {
    for (auto& t : *ticks) {
      if (t.label.empty() || t.major != (pass == 0)) continue;
      const double p = pos(t), h = half(t);
      bool free = true;
      for (const auto& [c, ch] : placed) free &= std::abs(c - p) >= h + ch + 4;
      if (free) {
        placed.emplace_back(p, h);
      } else {
        t.label.clear();
      }
    }
  }
}

// Vertical grid lines, tick marks and labels of the x axis.
std::string XTickMarks(const std::vector<Tick>& ticks, const Frame& f) {
  std::string o;
  for (const auto& t : ticks) {
    const double p = f.mx(t.value);
    if (!t.label.empty()) {
      o += "<line x1=\"" + Px(p) + "\" x2=\"" + Px(p) + "\" y1=\"" + Px(f.py1) + "\" y2=\"" + Px(f.py0) +
           "\" stroke=\"#e6e6e6\"/>";
      o += "<line x1=\"" + Px(p) + "\" x2=\"" + Px(p) + "\" y1=\"" + Px(f.py0) + "\" y2=\"" + Px(f.py0 + 5) +
           "\" stroke=\"#666\"/>";
      o += TextNode(p, f.py0 + 16, t.label, "text-anchor=\"middle\" fill=\"#444\"");
    } else {
      o += "<line x1=\"" + Px(p) + "\" x2=\"" + Px(p) + "\" y1=\"" + Px(f.py0) + "\" y2=\"" + Px(f.py0 + 3) +
           "\" stroke=\"#999\"/>";
    }
  }
  return o;
}

// Horizontal grid lines, tick marks and labels of the y axis.
std::string YTickMarks(const std::vector<Tick>& ticks, const Frame& f) {
  std::string o;
  for (const auto& t : ticks) {
    const double p = f.my(t.value);
    if (!t.label.empty()) {
      o += "<line x1=\"" + Px(f.px0) + "\" x2=\"" + Px(f.px1) + "\" y1=\"" + Px(p) + "\" y2=\"" + Px(p) +
           "\" stroke=\"#e6e6e6\"/>";
      o += "<line x1=\"" + Px(f.px0 - 5) + "\" x2=\"" + Px(f.px0) + "\" y1=\"" + Px(p) + "\" y2=\"" + Px(p) +
           "\" stroke=\"#666\"/>";
      o += TextNode(f.px0 - 7, p + 3.5, t.label, "text-anchor=\"end\" fill=\"#444\"");
    } else {
      o += "<line x1=\"" + Px(f.px0 - 3) + "\" x2=\"" + Px(f.px0) + "\" y1=\"" + Px(p) + "\" y2=\"" + Px(p) +
           "\" stroke=\"#999\"/>";
    }
  }
  return o;
}

// Grid, ticks and tick labels of both axes; overlapping labels are dropped.
std::string GridAndTicks(const Frame& f, std::vector<Tick> xticks, std::vector<Tick> yticks) {
  PlaceLabels(
      &xticks, [&](const Tick& t) { return f.mx(t.value); },
      [](const Tick& t) { return Chars(t.label) * kCharWidth / 2; });
  PlaceLabels(
      &yticks, [&](const Tick& t) { return f.my(t.value); }, [](const Tick&) { return 6.0; });
  return XTickMarks(xticks, f) + YTickMarks(yticks, f);
}

std::string Opacity(double v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return std::string(buf);
}

// Attributes of an unfilled stroke in the style's colour, width, opacity and dash.
std::string StrokeAttrs(const Style& s) {
  std::string a = "fill=\"none\" stroke=\"" + s.color + "\" stroke-width=\"" + Px(s.width) + "\"";
  if (s.opacity < 1) a += " stroke-opacity=\"" + Opacity(s.opacity) + "\"";
  if (!s.dash.empty()) a += " stroke-dasharray=\"" + s.dash + "\"";
  return a;
}

// The style's hover text, if any.
std::string TitleNode(const Style& s) {
  return s.title.empty() ? std::string() : "<title>" + EscapeHtml(s.title) + "</title>";
}

// A legend entry's swatch, 20 px wide from lx, centred at height cy.
std::string SwatchNode(Swatch swatch, const std::string& color, const std::string& dash, double lx, double cy) {
  switch (swatch) {
    case Swatch::kLine:
      return "<line x1=\"" + Px(lx) + "\" x2=\"" + Px(lx + 20) + "\" y1=\"" + Px(cy) + "\" y2=\"" + Px(cy) +
             "\" stroke=\"" + color + "\" stroke-width=\"2\"" +
             (dash.empty() ? std::string() : " stroke-dasharray=\"" + dash + "\"") + "/>";
    case Swatch::kBox:
      return "<rect x=\"" + Px(lx + 3) + "\" y=\"" + Px(cy - 5) + "\" width=\"14\" height=\"10\" fill=\"" + color +
             "\" fill-opacity=\"0.75\"/>";
    case Swatch::kDot:
      return "<circle cx=\"" + Px(lx + 10) + "\" cy=\"" + Px(cy) + "\" r=\"3.5\" fill=\"" + color + "\"/>";
  }
  return "";
}

}  // namespace

Plot::Plot(std::string title, double width, double height) : title_(std::move(title)), width_(width), height_(height) {}

void Plot::AddLegend(const Style& style, Swatch swatch) {
  if (!style.legend.empty()) legend_.push_back({style.legend, style.color, style.dash, swatch});
}

void Plot::LegendEntry(const std::string& label, const std::string& color, Swatch swatch, const std::string& dash) {
  legend_.push_back({label, color, dash, swatch});
}

void Plot::Points(const std::vector<double>& xs, const std::vector<double>& ys, const Style& style) {
  elements_.push_back({Kind::kPoints, xs, ys, {}, style, "", "", false});
  AddLegend(style, Swatch::kDot);
}

void Plot::Line(const std::vector<double>& xs, const std::vector<double>& ys, const Style& style, bool markers) {
  elements_.push_back({Kind::kLine, xs, ys, {}, style, "", "", markers});
  AddLegend(style, Swatch::kLine);
}

void Plot::Band(const std::vector<double>& xs, const std::vector<double>& lo, const std::vector<double>& hi,
                const Style& style) {
  elements_.push_back({Kind::kBand, xs, lo, hi, style, "", "", false});
  AddLegend(style, Swatch::kBox);
}

void Plot::ErrorBars(const std::vector<double>& xs, const std::vector<double>& lo, const std::vector<double>& hi,
                     const Style& style) {
  elements_.push_back({Kind::kErrorBars, xs, lo, hi, style, "", "", false});
  AddLegend(style, Swatch::kLine);
}

void Plot::Histogram(const std::vector<double>& edges, const std::vector<double>& counts, const Style& style,
                     const std::vector<double>* base) {
  std::vector<double> b = base ? *base : std::vector<double>(counts.size(), 0.0);
  b.resize(counts.size(), 0.0);
  elements_.push_back({Kind::kHistogram, edges, counts, b, style, "", "", false});
  AddLegend(style, Swatch::kBox);
}

void Plot::Steps(const std::vector<double>& edges, const std::vector<double>& counts, const Style& style) {
  elements_.push_back({Kind::kSteps, edges, counts, {}, style, "", "", false});
  AddLegend(style, Swatch::kLine);
}

void Plot::Rect(double x0, double x1, double y0, double y1, const Style& style, bool outline) {
  elements_.push_back({Kind::kRect, {x0, x1}, {y0, y1}, {}, style, "", "", outline});
  AddLegend(style, Swatch::kBox);
}

void Plot::VLine(double at, const Style& style, const std::string& label) {
  elements_.push_back({Kind::kVLine, {at}, {}, {}, style, label, "", false});
  AddLegend(style, Swatch::kLine);
}

void Plot::HLine(double at, const Style& style, const std::string& label) {
  elements_.push_back({Kind::kHLine, {}, {at}, {}, style, label, "", false});
  AddLegend(style, Swatch::kLine);
}

void Plot::Text(double at_x, double at_y, const std::string& text, const std::string& color,
                const std::string& anchor) {
  Style s;
  s.color = color;
  elements_.push_back({Kind::kText, {at_x}, {at_y}, {}, s, text, anchor, false});
}

// Lays out one Plot and writes its SVG: data limits, frame, grid and ticks,
// the elements kind by kind, axis labels and legend. A friend of Plot.
class PlotRenderer {
 public:
  explicit PlotRenderer(const Plot& plot) : p_(plot) {}
  std::string Render(const std::string& id) const;

 private:
  using Element = Plot::Element;
  using Entry = Plot::Entry;
  using Kind = Plot::Kind;
  using LegendRows = std::vector<std::vector<const Entry*>>;

  // Widens the data ranges by one element (lines across the panel and texts do not).
  static void AddToRanges(const Element& e, bool xlog, bool ylog, Range* xr, Range* yr);
  // Legend entries in rows that fit `avail` pixels.
  LegendRows Rows(double avail) const;
  std::string Header(const std::string& id, const Frame& f, double total_h) const;
  // The elements, clipped to the plot area, with the labels on top.
  std::string Data(const std::string& id, const Frame& f) const;
  std::string AxisLabels(const Frame& f) const;
  std::string Legend(const LegendRows& rows, const Frame& f) const;

  // One element each, appended to `o`; labels of lines and texts go to `labels`.
  static void Points(const Element& e, const Frame& f, std::string* o);
  static void Line(const Element& e, const Frame& f, std::string* o);
  static void Band(const Element& e, const Frame& f, std::string* o);
  static void ErrorBars(const Element& e, const Frame& f, std::string* o);
  static void Histogram(const Element& e, const Frame& f, std::string* o);
  static void Steps(const Element& e, const Frame& f, std::string* o);
  static void Rect(const Element& e, const Frame& f, std::string* o);
  static void VLine(const Element& e, const Frame& f, std::string* o, std::string* labels);
  static void HLine(const Element& e, const Frame& f, std::string* o, std::string* labels);
  static void Text(const Element& e, const Frame& f, std::string* labels);

  const Plot& p_;
};

std::string PlotRenderer::Render(const std::string& id) const {
  const bool xlog = p_.x.scale == Scale::kLog;
  const bool ylog = p_.y.scale == Scale::kLog;
  Range xr, yr;
  for (const auto& e : p_.elements_) AddToRanges(e, xlog, ylog, &xr, &yr);
  // Histograms start at zero on linear axes.
  const bool has_bars = std::any_of(p_.elements_.begin(), p_.elements_.end(),
                                    [](const Element& e) { return e.kind == Kind::kHistogram; });
  Axis ya = p_.y;
  if (has_bars && !ylog) ya.include_zero = true;
  const auto [x0, x1] = Limits(p_.x, xr);
  const auto [y0, y1] = Limits(ya, yr);

  // Layout: legend rows below the axis label.
  const double left = p_.margin_left, right = 16;
  const double top = p_.subtitle.empty() ? 30 : 44;
  const LegendRows rows = Rows(p_.width_ - left - right);
  const double legend_h = static_cast<double>(rows.size()) * 16;
  const double bottom = 42 + legend_h + (rows.empty() ? 0 : 6);
  const double total_h = p_.height_ + legend_h;
  const double px0 = left, px1 = p_.width_ - right;
  const double py0 = total_h - bottom, py1 = top;  // y grows downwards
  const Frame f{px0, px1, py0, py1, Mapper(x0, x1, xlog, px0, px1), Mapper(y0, y1, ylog, py0, py1)};

  std::string o;
  o.reserve(4096);
  o += Header(id, f, total_h);
  o += GridAndTicks(f, MakeTicks(p_.x, x0, x1), MakeTicks(ya, y0, y1));
  o += Data(id, f);
  o += AxisLabels(f);
  o += Legend(rows, f);
  o += "</svg>";
  return o;
}

void PlotRenderer::AddToRanges(const Element& e, bool xlog, bool ylog, Range* xr, Range* yr) {
  switch (e.kind) {
    case Kind::kPoints:
    case Kind::kLine:
      for (std::size_t i = 0; i < e.xs.size() && i < e.ys.size(); ++i) {
        if (!Finite(e.xs[i]) || !Finite(e.ys[i]) || (xlog && e.xs[i] <= 0) || (ylog && e.ys[i] <= 0)) continue;
        xr->Add(e.xs[i], xlog);
        yr->Add(e.ys[i], ylog);
      }
      break;
    case Kind::kBand:
    case Kind::kErrorBars:
      for (std::size_t i = 0; i < e.xs.size(); ++i) {
        if (!Finite(e.xs[i])) continue;
        xr->Add(e.xs[i], xlog);
        yr->Add(e.ys[i], ylog);
        yr->Add(e.y2[i], ylog);
      }
      break;
    case Kind::kHistogram:
    case Kind::kSteps:
      for (double v : e.xs) xr->Add(v, xlog);
      for (std::size_t i = 0; i < e.ys.size(); ++i) {
        const double top = e.ys[i] + (e.y2.empty() ? 0.0 : e.y2[i]);
        if (e.ys[i] > 0) yr->Add(top, ylog);
        if (ylog && e.ys[i] > 0) yr->Add(std::min(top, 1.0) * 0.7, ylog);
      }
      if (!ylog) yr->Add(0, false);
      break;
    case Kind::kRect:
      xr->Add(e.xs[0], xlog);
      xr->Add(e.xs[1], xlog);
      yr->Add(e.ys[0], ylog);
      yr->Add(e.ys[1], ylog);
      break;
    default:
      break;
  }
}

PlotRenderer::LegendRows PlotRenderer::Rows(double avail) const {
  LegendRows rows(1);
  double used = 0;
  for (const auto& entry : p_.legend_) {
    const double w = 26 + kCharWidth * Chars(entry.label) + 14;
    if (used + w > avail && !rows.back().empty()) {
      rows.emplace_back();
      used = 0;
    }
    rows.back().push_back(&entry);
    used += w;
  }
  if (rows.back().empty()) rows.pop_back();
  return rows;
}

std::string PlotRenderer::Header(const std::string& id, const Frame& f, double total_h) const {
  const double width = p_.width_;
  std::string o = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" viewBox=\"0 0 " + Px(width) + " " +
                  Px(total_h) + "\" width=\"" + Px(width) + "\" height=\"" + Px(total_h) +
                  "\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"11\" role=\"img\" aria-label=\"" +
                  EscapeHtml(p_.title_) + "\">";
  o += "<defs><clipPath id=\"clip-" + id + "\"><rect x=\"" + Px(f.px0) + "\" y=\"" + Px(f.py1) + "\" width=\"" +
       Px(f.px1 - f.px0) + "\" height=\"" + Px(f.py0 - f.py1) + "\"/></clipPath></defs>";
  o += TextNode(8, 17, p_.title_, "font-size=\"13\" font-weight=\"bold\" fill=\"#222\"");
  if (!p_.subtitle.empty()) o += TextNode(8, 32, p_.subtitle, "font-size=\"10.5\" fill=\"#666\"");
  o += "<rect x=\"" + Px(f.px0) + "\" y=\"" + Px(f.py1) + "\" width=\"" + Px(f.px1 - f.px0) + "\" height=\"" +
       Px(f.py0 - f.py1) + "\" fill=\"#fcfcfc\" stroke=\"#bbb\"/>";
  return o;
}

std::string PlotRenderer::Data(const std::string& id, const Frame& f) const {
  std::string o = "<g clip-path=\"url(#clip-" + id + ")\">";
  std::string labels;  // line labels go on top of everything
  for (const auto& e : p_.elements_) {
    switch (e.kind) {
      case Kind::kPoints:
        Points(e, f, &o);
        break;
      case Kind::kLine:
        Line(e, f, &o);
        break;
      case Kind::kBand:
        Band(e, f, &o);
        break;
      case Kind::kErrorBars:
        ErrorBars(e, f, &o);
        break;
      case Kind::kHistogram:
        Histogram(e, f, &o);
        break;
      case Kind::kSteps:
        Steps(e, f, &o);
        break;
      case Kind::kRect:
        Rect(e, f, &o);
        break;
      case Kind::kVLine:
        VLine(e, f, &o, &labels);
        break;
      case Kind::kHLine:
        HLine(e, f, &o, &labels);
        break;
      case Kind::kText:
        Text(e, f, &labels);
        break;
    }
  }
  o += labels;
  o += "</g>";
  return o;
}

void PlotRenderer::Points(const Element& e, const Frame& f, std::string* o) {
  const Style& s = e.style;
  *o += "<g fill=\"" + s.color + "\" fill-opacity=\"" + Opacity(s.opacity) + "\">" + TitleNode(s);
  for (std::size_t i = 0; i < e.xs.size() && i < e.ys.size(); ++i) {
    if (!f.mx.Inside(e.xs[i]) || !f.my.Inside(e.ys[i])) continue;
    *o += "<circle cx=\"" + Px(f.mx(e.xs[i])) + "\" cy=\"" + Px(f.my(e.ys[i])) + "\" r=\"" + Px(s.width) + "\"/>";
  }
  *o += "</g>";
}

// Polylines broken where a value is invalid (0 on a log axis), then the markers.
void PlotRenderer::Line(const Element& e, const Frame& f, std::string* o) {
  const Style& s = e.style;
  std::string pts;
  std::vector<std::string> segments;
  for (std::size_t i = 0; i < e.xs.size() && i < e.ys.size(); ++i) {
    if (!f.mx.Valid(e.xs[i]) || !f.my.Valid(e.ys[i])) {
      if (!pts.empty()) segments.push_back(pts);
      pts.clear();
      continue;
    }
    pts += Px(f.mx(e.xs[i])) + "," + Px(f.my(e.ys[i])) + " ";
  }
  if (!pts.empty()) segments.push_back(pts);
  const std::string attrs = StrokeAttrs(s);
  for (const auto& seg : segments) {
    *o += "<polyline points=\"" + seg.substr(0, seg.size() - 1) + "\" " + attrs + " stroke-linejoin=\"round\">" +
          TitleNode(s) + "</polyline>";
  }
  if (!e.flag) return;
  *o += "<g fill=\"" + s.color + "\">";
  for (std::size_t i = 0; i < e.xs.size() && i < e.ys.size(); ++i) {
    if (!f.mx.Valid(e.xs[i]) || !f.my.Valid(e.ys[i])) continue;
    *o += "<circle cx=\"" + Px(f.mx(e.xs[i])) + "\" cy=\"" + Px(f.my(e.ys[i])) + "\" r=\"" +
          Px(std::max(2.2, s.width * 1.4)) + "\"/>";
  }
  *o += "</g>";
}

void PlotRenderer::Band(const Element& e, const Frame& f, std::string* o) {
  const Style& s = e.style;
  std::string fwd, back;
  for (std::size_t i = 0; i < e.xs.size(); ++i) {
    if (!f.mx.Valid(e.xs[i]) || !f.my.Valid(e.ys[i]) || !f.my.Valid(e.y2[i])) continue;
    fwd += Px(f.mx(e.xs[i])) + "," + Px(f.my(e.y2[i])) + " ";
    back = Px(f.mx(e.xs[i])) + "," + Px(f.my(e.ys[i])) + " " + back;
  }
  if (fwd.empty()) return;
  *o += "<polygon points=\"" + fwd + back.substr(0, back.size() - 1) + "\" fill=\"" + s.color + "\" fill-opacity=\"" +
        Opacity(s.opacity) + "\" stroke=\"none\">" + TitleNode(s) + "</polygon>";
}

void PlotRenderer::ErrorBars(const Element& e, const Frame& f, std::string* o) {
  *o += "<g " + StrokeAttrs(e.style) + ">";
  for (std::size_t i = 0; i < e.xs.size(); ++i) {
    if (!f.mx.Valid(e.xs[i]) || !f.my.Valid(e.ys[i]) || !f.my.Valid(e.y2[i])) continue;
    const double p = f.mx(e.xs[i]);
    const double a = f.my(e.ys[i]), b = f.my(e.y2[i]);
    *o += "<path d=\"M" + Px(p) + " " + Px(a) + "V" + Px(b) + "M" + Px(p - 3) + " " + Px(a) + "h6M" + Px(p - 3) + " " +
          Px(b) + "h6\"/>";
  }
  *o += "</g>";
}

void PlotRenderer::Histogram(const Element& e, const Frame& f, std::string* o) {
  const Style& s = e.style;
  *o += "<g fill=\"" + s.color + "\" fill-opacity=\"" + Opacity(s.opacity) +
        "\" stroke=\"#fff\" stroke-width=\"0.4\">" + TitleNode(s);
  for (std::size_t i = 0; i + 1 < e.xs.size() && i < e.ys.size(); ++i) {
    if (!(e.ys[i] > 0) || !f.mx.Valid(e.xs[i]) || !f.mx.Valid(e.xs[i + 1])) continue;
    const double b = e.y2[i], t = e.y2[i] + e.ys[i];
    const double xa = f.mx(e.xs[i]), xb = f.mx(e.xs[i + 1]);
    const double ya0 = b > 0 ? f.my.Clamped(b) : f.py0, yb = f.my.Clamped(t);
    *o += "<rect x=\"" + Px(std::min(xa, xb)) + "\" y=\"" + Px(std::min(ya0, yb)) + "\" width=\"" +
          Px(std::max(0.6, std::abs(xb - xa))) + "\" height=\"" + Px(std::abs(ya0 - yb)) + "\"/>";
  }
  *o += "</g>";
}

void PlotRenderer::Steps(const Element& e, const Frame& f, std::string* o) {
  std::string d;
  for (std::size_t i = 0; i + 1 < e.xs.size() && i < e.ys.size(); ++i) {
    if (!f.mx.Valid(e.xs[i]) || !f.mx.Valid(e.xs[i + 1])) continue;
    const double yv = e.ys[i] > 0 ? f.my.Clamped(e.ys[i]) : f.py0;
    d += (d.empty() ? "M" + Px(f.mx(e.xs[i])) + " " + Px(f.py0) + "V" : "V") + Px(yv) + "H" + Px(f.mx(e.xs[i + 1]));
  }
  if (d.empty()) return;
  *o += "<path d=\"" + d + "V" + Px(f.py0) + "\" " + StrokeAttrs(e.style) + ">" + TitleNode(e.style) + "</path>";
}

void PlotRenderer::Rect(const Element& e, const Frame& f, std::string* o) {
  const Style& s = e.style;
  if (!f.mx.Valid(e.xs[0]) || !f.mx.Valid(e.xs[1])) return;
  const double xa = f.mx(e.xs[0]), xb = f.mx(e.xs[1]);
  const double ya0 = f.my.Clamped(e.ys[0]), yb = f.my.Clamped(e.ys[1]);
  *o += "<rect x=\"" + Px(std::min(xa, xb)) + "\" y=\"" + Px(std::min(ya0, yb)) + "\" width=\"" +
        Px(std::abs(xb - xa)) + "\" height=\"" + Px(std::abs(ya0 - yb)) + "\" ";
  if (e.flag) {
    *o += StrokeAttrs(s);
  } else {
    *o += "fill=\"" + s.color + "\"";
    if (s.opacity < 1) *o += " fill-opacity=\"" + Opacity(s.opacity) + "\"";
  }
  *o += ">" + TitleNode(s) + "</rect>";
}

void PlotRenderer::VLine(const Element& e, const Frame& f, std::string* o, std::string* labels) {
  const Style& s = e.style;
  if (!f.mx.Inside(e.xs[0])) return;
  const double p = f.mx(e.xs[0]);
  *o += "<line x1=\"" + Px(p) + "\" x2=\"" + Px(p) + "\" y1=\"" + Px(f.py1) + "\" y2=\"" + Px(f.py0) + "\" " +
        StrokeAttrs(s) + ">" + TitleNode(s) + "</line>";
  if (e.text.empty()) return;
  *labels += "<text transform=\"translate(" + Px(p + 3) + "," + Px(f.py1 + 4) +
             ") rotate(90)\" font-size=\"10\" fill=\"" + s.color + "\" " + kHalo + ">" + EscapeHtml(e.text) + "</text>";
}

void PlotRenderer::HLine(const Element& e, const Frame& f, std::string* o, std::string* labels) {
  const Style& s = e.style;
  if (!f.my.Inside(e.ys[0])) return;
  const double p = f.my(e.ys[0]);
  *o += "<line x1=\"" + Px(f.px0) + "\" x2=\"" + Px(f.px1) + "\" y1=\"" + Px(p) + "\" y2=\"" + Px(p) + "\" " +
        StrokeAttrs(s) + ">" + TitleNode(s) + "</line>";
  if (e.text.empty()) return;
  *labels +=
      TextNode(f.px1 - 4, p - 4, e.text, "text-anchor=\"end\" font-size=\"10\" fill=\"" + s.color + "\" " + kHalo);
}

void PlotRenderer::Text(const Element& e, const Frame& f, std::string* labels) {
  if (!f.mx.Valid(e.xs[0]) || !f.my.Valid(e.ys[0])) return;
  *labels += TextNode(f.mx(e.xs[0]), f.my(e.ys[0]), e.text,
                      "text-anchor=\"" + e.anchor + "\" font-size=\"10\" fill=\"" + e.style.color + "\" " + kHalo);
}

std::string PlotRenderer::AxisLabels(const Frame& f) const {
  std::string o = TextNode((f.px0 + f.px1) / 2, f.py0 + 34, p_.x.label, "text-anchor=\"middle\" fill=\"#222\"");
  const double cy = (f.py0 + f.py1) / 2;
  o += "<text transform=\"translate(14," + Px(cy) + ") rotate(-90)\" text-anchor=\"middle\" fill=\"#222\">" +
       EscapeHtml(p_.y.label) + "</text>";
  return o;
}

std::string PlotRenderer::Legend(const LegendRows& rows, const Frame& f) const {
  std::string o;
  double ly = f.py0 + 42 + 10;
  for (const auto& row : rows) {
    double lx = f.px0;
    for (const Entry* entry : row) {
      o += SwatchNode(entry->swatch, entry->color, entry->dash, lx, ly - 3.5);
      o += TextNode(lx + 26, ly, entry->label, "fill=\"#333\"");
      lx += 26 + kCharWidth * Chars(entry->label) + 14;
    }
    ly += 16;
  }
  return o;
}

std::string Plot::Render(const std::string& id) const { return PlotRenderer(*this).Render(id); }

namespace {

// A CSV field, quoted when it holds a comma, quote or line break.
std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// Shortest text that reads back as the same double; empty for NaN.
std::string CsvNumber(double v) {
  if (std::isnan(v)) return "";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

}  // namespace

std::string Plot::Csv() const {
  const double nan = std::nan("");
  std::string o = "series,element," + CsvField("x: " + x.label) + ",x_end," + CsvField("y: " + y.label) + ",y_end\n";
  auto row = [&o](const std::string& series, const char* element, double x0, double x1, double y0, double y1) {
    o += CsvField(series) + "," + element + "," + CsvNumber(x0) + "," + CsvNumber(x1) + "," + CsvNumber(y0) + "," +
         CsvNumber(y1) + "\n";
  };
  for (const auto& e : elements_) {
    const std::string& series = !e.style.legend.empty()  ? e.style.legend
                                : !e.style.title.empty() ? e.style.title
                                                         : e.text;
    switch (e.kind) {
      case Kind::kPoints:
      case Kind::kLine:
        for (std::size_t i = 0; i < e.xs.size() && i < e.ys.size(); ++i)
          row(series, e.kind == Kind::kPoints ? "point" : "line", e.xs[i], nan, e.ys[i], nan);
        break;
      case Kind::kBand:
      case Kind::kErrorBars:
        for (std::size_t i = 0; i < e.xs.size(); ++i)
          row(series, e.kind == Kind::kBand ? "band" : "error_bar", e.xs[i], nan, e.ys[i], e.y2[i]);
        break;
      case Kind::kHistogram:
      case Kind::kSteps:
        for (std::size_t i = 0; i + 1 < e.xs.size() && i < e.ys.size(); ++i)
          row(series, e.kind == Kind::kHistogram ? "bar" : "step", e.xs[i], e.xs[i + 1], e.ys[i], nan);
        break;
      case Kind::kRect:
        row(series, "rect", e.xs[0], e.xs[1], e.ys[0], e.ys[1]);
        break;
      case Kind::kVLine:
        row(series, "vline", e.xs[0], nan, nan, nan);
        break;
      case Kind::kHLine:
        row(series, "hline", nan, nan, e.ys[0], nan);
        break;
      case Kind::kText:
        row(e.text, "text", e.xs[0], nan, e.ys[0], nan);
        break;
    }
  }
  return o;
}

std::string Density(double t) {
  static const double kLight[3] = {210, 227, 243}, kDark[3] = {8, 48, 107};
  t = std::clamp(Finite(t) ? t : 0.0, 0.0, 1.0);
  char buf[16];
  int c[3];
  for (int k = 0; k < 3; ++k) c[k] = static_cast<int>(std::lround(kLight[k] + t * (kDark[k] - kLight[k])));
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", c[0], c[1], c[2]);
  return buf;
}

std::string Sequential(double t) {
  // Anchors of a perceptually ordered palette (dark blue -> green -> yellow).
  static const double kAnchors[][3] = {{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
  t = std::clamp(Finite(t) ? t : 0.0, 0.0, 1.0) * 4;
  const int i = std::min(3, static_cast<int>(t));
  const double f = t - i;
  char buf[16];
  int c[3];
  for (int k = 0; k < 3; ++k)
    c[k] = static_cast<int>(std::lround(kAnchors[i][k] + f * (kAnchors[i + 1][k] - kAnchors[i][k])));
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", c[0], c[1], c[2]);
  return buf;
}

}  // namespace wattrun::report::svg
