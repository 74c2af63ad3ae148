// Sections 3 and 4: aggregate trends (paper Figure 3) and cache effects
// (paper Figure 4), on usable runs with the overheads subtracted.
#include <algorithm>
#include <cmath>
#include <functional>

#include "stages/report/context.h"
#include "stages/report/format.h"
#include "stages/report/stats.h"

namespace wattrun::report {
namespace {

std::vector<const TrendRun*> RunsOf(const Context& c, bool is_gpu) {
  std::vector<const TrendRun*> out;
  for (const auto& t : c.trend_runs) {
    if (t.is_gpu == is_gpu) out.push_back(&t);
  }
  return out;
}

// Median line with an interquartile band, one per class.
void MedianWithBand(svg::Plot* p, const std::vector<BinStat>& bins, const std::string& color, const std::string& name,
                    double scale) {
  std::vector<double> xs, lo, mid, hi;
  for (const auto& b : bins) {
    xs.push_back(b.x);
    lo.push_back(b.y.q25 * scale);
    mid.push_back(b.y.q50 * scale);
    hi.push_back(b.y.q75 * scale);
  }
  p->Band(xs, lo, hi, {color, 1, 0.16, "", "", ""});
  p->Line(xs, mid, {color, 2, 1, "", name + " median (band: IQR)", ""}, true);
}

std::string Mj(double j) { return FormatSig(1e3 * j, 4); }

// Summary per class (paper section 5: gpu 9.47 mJ/datum, IQR 7.7-13.75; cpu 6.16, IQR 2.41-16.32).
std::string PerDatumTable(const Context& c) {
  std::string h =
      "<table><tr><th class=\"l\">class</th><th>runs</th><th>energy per training datum: median</th>"
      "<th>lower quartile</th><th>upper quartile</th><th>BUTTER-E (paper)</th></tr>";
  for (const auto& cls : c.classes) {
    std::vector<double> v;
    for (const auto* t : RunsOf(c, cls.is_gpu)) v.push_back(t->per_datum_j);
    if (v.empty()) continue;
    const Quartiles q = Summarize(v);
    h += "<tr><td class=\"l\">" + EscapeHtml(cls.name) + "</td><td>" + FormatCount(static_cast<std::int64_t>(q.n)) +
         "</td><td><b>" + Mj(q.q50) + " mJ</b></td><td>" + Mj(q.q25) + " mJ</td><td>" + Mj(q.q75) + " mJ</td><td>" +
         (cls.is_gpu ? "9.47 mJ (7.7\u201313.75)" : "6.16 mJ (2.41\u201316.32)") + "</td></tr>";
  }
  h += "</table>";
  return h;
}

// One class in panel (a): a sample of runs, the medians per data set with
// their IQR and a line through them; returns the fit's list item (empty without a fit).
std::string EpochTrendOfClass(svg::Plot* p, const HardwareClass& cls, const std::vector<const TrendRun*>& runs) {
  std::vector<double> key, xs, ys;
  for (const auto* t : runs) {
    key.push_back(static_cast<double>(t->features->train_observations));
    xs.push_back(static_cast<double>(t->features->train_observations));
    ys.push_back(t->per_epoch_j);
  }
  std::vector<double> sx, sy;
  for (std::size_t k : Subsample(runs.size(), 500)) {
    sx.push_back(xs[k] * std::exp2(0.15 * (static_cast<double>(k % 7) / 3.0 - 1)));  // spread the columns
    sy.push_back(ys[k]);
  }
  p->Points(sx, sy, {cls.color, 1.5, 0.12, "", "", ""});
  const auto bins = GroupBy(key, xs, ys, 1);
  std::vector<double> bx, lo, mid, hi;
  for (const auto& b : bins) {
    bx.push_back(b.x);
    lo.push_back(b.y.q25);
    mid.push_back(b.y.q50);
    hi.push_back(b.y.q75);
  }
  p->ErrorBars(bx, lo, hi, {cls.color, 1.4, 1, "", "", ""});
  p->Points(bx, mid, {cls.color, 4, 1, "", cls.name + " median per data set (bars: IQR)", ""});
  const LineFit fit = FitLine(bx, mid);
  if (!fit.ok || bx.size() < 2) return "";
  const auto [mn, mx] = std::minmax_element(bx.begin(), bx.end());
  const auto grid = LogEdges(*mn, *mx, 60);
  // Drawn where it stays within the medians' range (a negative
  // intercept would otherwise plunge off a log axis).
  const double floor_y = 0.5 * *std::min_element(mid.begin(), mid.end());
  std::vector<double> fy;
  for (double x : grid) {
    const double y = fit.intercept + fit.slope * x;
    fy.push_back(y >= floor_y ? y : std::nan(""));
  }
  p->Line(grid, fy, {cls.color, 1.6, 1, "6 3", cls.name + " linear fit", ""});
  return "<li>" + EscapeHtml(cls.name) + ": energy per epoch = " + FormatEnergy(fit.intercept) + " + " +
         FormatEnergy(fit.slope) + " \u00d7 training observations (R\u00b2 = " + FormatSig(fit.r2, 3) + ", " +
         Counted(static_cast<std::int64_t>(bins.size()), "data set") + ")</li>";
}

// (a) energy per epoch against training-set size.
std::string EpochFigure(Context& c) {
  svg::Plot p("(a) Energy per epoch against training-set size", 620, 380);
  p.x.label = "training observations per epoch";
  p.x.scale = svg::Scale::kLog;
  p.y.label = "energy per epoch (J)";
  p.y.scale = svg::Scale::kLog;
  std::string fits;
  for (const auto& cls : c.classes) {
    const auto runs = RunsOf(c, cls.is_gpu);
    if (!runs.empty()) fits += EpochTrendOfClass(&p, cls, runs);
  }
  return c.Figure(p,
                  "Each data set's median energy per epoch (interquartile bars; faint dots: a sample of runs) "
                  "against its training-set size, with a least-squares line through the medians (drawn on log "
                  "axes, so it bends near the intercept). The slope is the marginal energy per training datum."
                  "<ul>" +
                      fits + "</ul>");
}

// One of panels (b)-(d): key groups the runs; x_of_key places each group on the axis.
struct DatumPanel {
  std::string title, xlabel;
  bool log;
  std::function<double(const TrendRun&)> key;
  std::function<double(double)> x_of_key;
  std::string caption;
};

// (b)-(d) energy per training datum against NTP, FLOPs and depth.
std::vector<DatumPanel> DatumPanels() {
  return {
      {"(b) Energy per datum against parameter count", "trainable parameters (NTP)", true,
       [](const TrendRun& t) {
         return std::round(std::log2(static_cast<double>(std::max<std::int64_t>(1, t.features->n_params))));
       },
       [](double k) { return std::exp2(k); }, "Runs grouped by parameter count (nearest power of two)."},
      {"(c) Energy per datum against FLOPs", "training operations per datum (forward + backward, FLOPs)", true,
       [](const TrendRun& t) { return std::floor(4 * std::log10(std::max(1.0, t.flops_per_datum))); },
       [](double k) { return std::pow(10.0, (k + 0.5) / 4); },
       "Runs grouped in bins of a quarter decade of operations per datum (drawn at the bin's centre)."},
      {"(d) Energy per datum against depth", "depth (layers)", false,
       [](const TrendRun& t) { return static_cast<double>(t.features->depth); }, [](double k) { return k; },
       "Runs grouped by depth."},
  };
}

std::string DatumFigure(Context& c, const DatumPanel& panel) {
  svg::Plot p(panel.title, 620, 380);
  p.x.label = panel.xlabel;
  p.x.scale = panel.log ? svg::Scale::kLog : svg::Scale::kLinear;
  if (panel.log) p.x.ticks = svg::Ticks::kNumber;
  p.y.label = "energy per training datum (mJ)";
  p.y.scale = svg::Scale::kLog;
  for (const auto& cls : c.classes) {
    std::vector<double> key, xs, ys;
    for (const auto* t : RunsOf(c, cls.is_gpu)) {
      key.push_back(panel.key(*t));
      xs.push_back(panel.x_of_key(key.back()));
      ys.push_back(t->per_datum_j);
    }
    if (xs.empty()) continue;
    MedianWithBand(&p, GroupBy(key, xs, ys, 3), cls.color, cls.name, 1e3);
  }
  return c.Figure(p, panel.caption +
                         " Line: median energy per training datum; band: interquartile range (groups of "
                         "at least 3 runs).");
}

// Each class's memory levels and where they came from.
std::string MemoryLevelsTable(const Context& c) {
  std::string h =
      "<table><tr><th class=\"l\">class</th><th class=\"l\">memory levels (capacity \u00d7 units)</th>"
      "<th class=\"l\">source</th></tr>";
  for (const auto& cls : c.classes) {
    std::string levels;
    for (std::size_t i = 0; i < cls.levels.size(); ++i) {
      if (i) levels += ", ";
      levels += LevelName(cls, i) + " " + FormatBytes(cls.levels[i].bytes_per_unit) + " \u00d7 " +
                FormatCount(cls.levels[i].units);
    }
    h += "<tr><td class=\"l\">" + EscapeHtml(cls.name) + "</td><td class=\"l\">" + levels + "</td><td class=\"l\">" +
         (cls.default_levels ? "Eagle's (paper Table 2; the results carry none)" : "the configuration") + "</td></tr>";
  }
  h += "</table>";
  return h;
}

// A working set of the cache figure.
struct WorkingSet {
  const char* name;
  const char* color;
  double results::FeatureRow::*bytes;
};

constexpr WorkingSet kWorkingSets[] = {{"f (forward)", "#1b9e77", &results::FeatureRow::f_bytes},
                                       {"b (backward)", "#d95f02", &results::FeatureRow::b_bytes},
                                       {"t_max (inter-layer)", "#7570b3", &results::FeatureRow::t_max_bytes},
                                       {"d (data set)", "#e7298a", &results::FeatureRow::d_bytes}};

// What the working sets' lines cover: the runs' sizes, and the medians and
// bands (stray points do not set the range).
struct Extent {
  double xmin = INFINITY, xmax = 0;
  double ymin = INFINITY, ymax = 0;
};

// One working set's windowed median (with band and sample of runs for f).
void DrawWorkingSet(svg::Plot* p, const WorkingSet& set, const std::vector<const TrendRun*>& runs, Extent* ext) {
  std::vector<double> xs, ys;
  for (const auto* t : runs) {
    const double b = t->features->*set.bytes;
    if (b > 0) {
      xs.push_back(b);
      ys.push_back(1e3 * t->per_datum_j);
      ext->xmin = std::min(ext->xmin, b);
      ext->xmax = std::max(ext->xmax, b);
    }
  }
  if (xs.empty()) return;
  const auto [mn, mx] = std::minmax_element(xs.begin(), xs.end());
  const auto grid = LogEdges(*mn, *mx, 90);
  const auto win = WindowedQuartiles(xs, ys, grid, 0.5, 1.5, 5);
  const bool banded = set.bytes == &results::FeatureRow::f_bytes;
  std::vector<double> gx, lo, mid, hi;
  for (const auto& b : win) {
    gx.push_back(b.x);
    lo.push_back(b.y.q25);
    mid.push_back(b.y.q50);
    hi.push_back(b.y.q75);
    for (double v : {banded ? b.y.q25 : b.y.q50, banded ? b.y.q75 : b.y.q50}) {
      if (v > 0) {
        ext->ymin = std::min(ext->ymin, v);
        ext->ymax = std::max(ext->ymax, v);
      }
    }
  }
  if (banded) {
    p->Band(gx, lo, hi, {"#888", 1, 0.2, "", "", ""});
    std::vector<double> sx, sy;
    for (std::size_t k : Subsample(xs.size(), 700)) {
      sx.push_back(xs[k]);
      sy.push_back(ys[k]);
    }
    p->Points(sx, sy, {set.color, 1.4, 0.15, "", "", ""});
  }
  p->Line(gx, mid, {set.color, 2.2, 1, "", set.name, ""});
}

// Vertical lines at the class's cache boundaries; the caches' range goes to
// cache_lo and cache_hi, and the text of the aggregate lines is returned.
std::string DrawCacheBoundaries(svg::Plot* p, const HardwareClass& cls, double* cache_lo, double* cache_hi) {
  std::string aggregates;
  for (std::size_t i = 0; i < cls.levels.size(); ++i) {
    const auto& l = cls.levels[i];
    const bool last = i + 1 == cls.levels.size();
    if (!last) {
      *cache_lo = std::min(*cache_lo, l.bytes_per_unit);
      *cache_hi = std::max(*cache_hi, l.bytes_per_unit * static_cast<double>(l.units));
    }
    p->VLine(l.bytes_per_unit, {"#444", 1.1, 1, last ? "2 2" : "", "", ""},
             LevelName(cls, i) + " " + FormatBytes(l.bytes_per_unit));
    if (l.units > 1 && !last) {
      p->VLine(l.bytes_per_unit * static_cast<double>(l.units), {"#999", 1, 1, "1 3", "", ""});
      if (!aggregates.empty()) aggregates += ", ";
      aggregates += LevelName(cls, i) + " \u00d7 " + FormatCount(l.units) + " = " +
                    FormatBytes(l.bytes_per_unit * static_cast<double>(l.units));
    }
  }
  return aggregates;
}

// Paper Figure 4 for one class: energy per datum against each working set's size.
std::string CacheFigure(Context& c, const HardwareClass& cls, const std::vector<const TrendRun*>& runs) {
  svg::Plot p(cls.name + ": energy per datum against working-set size (paper Figure 4)", 620, 420);
  p.x.label = "working-set size (bytes)";
  p.x.scale = svg::Scale::kLog;
  p.x.ticks = svg::Ticks::kBytes;
  p.y.label = "energy per training datum (mJ)";
  p.y.scale = svg::Scale::kLog;
  Extent ext;
  for (const auto& set : kWorkingSets) DrawWorkingSet(&p, set, runs, &ext);
  double cache_lo = INFINITY, cache_hi = 0;
  const std::string aggregates = DrawCacheBoundaries(&p, cls, &cache_lo, &cache_hi);
  if (std::isfinite(ext.xmin)) {
    p.x.min = std::min(ext.xmin, std::isfinite(cache_lo) ? cache_lo / 2 : ext.xmin) / 1.2;
    p.x.max = std::max(ext.xmax, cache_hi * 2) * 1.2;
  }
  if (ext.ymax > 0) {
    p.y.min = ext.ymin / 1.6;
    p.y.max = ext.ymax * 1.6;
  }
  return c.Figure(p, EscapeHtml(cls.name) + ": " + Counted(static_cast<std::int64_t>(runs.size()), "usable run") +
                         " (dots outside the axes are not drawn). Energy per datum rises where a working "
                         "set spills from one level into the "
                         "next (paper section 6). Solid lines: one cache; dotted: all units of a level (" +
                         aggregates + ").");
}

}  // namespace

std::string TrendsSection(Context& c) {
  std::string h = "<section id=\"trends\"><h2>3 Aggregate trends</h2>";
  h += "<p>Energies here are the standardized energies minus the class's overhead (non-overhead energy), over usable "
       "runs whose network is known. Energy per training datum = energy / (epochs \u00d7 training observations), "
       "counting every pass over a datum. Medians and interquartile ranges aggregate the runs, as in the paper.</p>";
  if (c.trend_runs.empty()) {
    h += "<p class=\"note\">No usable runs with known networks: nothing to aggregate.</p></section>";
    return h;
  }
  h += PerDatumTable(c);
  h += "<div class=\"figs\">";
  h += EpochFigure(c);
  for (const auto& panel : DatumPanels()) h += DatumFigure(c, panel);
  h += "</div></section>";
  return h;
}

std::string CacheSection(Context& c) {
  std::string h = "<section id=\"cache\"><h2>4 Cache effects</h2>";
  h += "<p>Energy per training datum against the size of each working set: the parameters of the forward pass "
       "<i>f</i>, the backward pass <i>b</i> (parameters, gradients and the batch's activations), the largest "
       "inter-layer set <i>t</i><sub>max</sub> and the data set <i>d</i>. Lines are windowed medians (window "
       "\u00b150 % in size, at least 5 runs); for <i>f</i> the grey band is the interquartile range and the faint "
       "dots a sample of runs. Vertical lines: the capacity of one cache (solid) and of all units of a level "
       "together (dotted).</p>";
  h += MemoryLevelsTable(c);
  if (c.trend_runs.empty()) {
    h += "<p class=\"note\">No usable runs with known networks.</p></section>";
    return h;
  }
  h += "<div class=\"figs\">";
  for (const auto& cls : c.classes) {
    const auto runs = RunsOf(c, cls.is_gpu);
    if (!runs.empty()) h += CacheFigure(c, cls, runs);
  }
  h += "</div></section>";
  return h;
}

}  // namespace wattrun::report
