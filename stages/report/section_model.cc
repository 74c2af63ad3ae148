// Section 5: the fitted energy model (paper Table 4 and Figure 5) and the
// FLOPs-only baseline beside it.
#include <algorithm>
#include <cmath>
#include <map>

#include "stages/report/context.h"
#include "stages/report/format.h"
#include "stages/report/stats.h"

namespace wattrun::report {
namespace {

// Paper Table 4 in the spec's reading (per-event costs in mJ; ke in J).
double PaperParameter(const std::string& cls, const std::string& name, std::size_t n_params) {
  static const std::map<std::string, double> kCpu = {{"ke", 10200}, {"kp", 1460}, {"ko", 744},  {"kd", 0},
                                                     {"a1", 0},     {"a2", 59.3}, {"a3", 215},  {"a4", 305},
                                                     {"m1", 0},     {"m2", 23.0}, {"m3", 22.5}, {"m4", 36.3}};
  static const std::map<std::string, double> kGpu = {{"ke", 272000}, {"kp", 3080}, {"ko", 890}, {"kd", 33.0},
                                                     {"a1", 16.4},   {"a2", 19.8}, {"a3", 0},   {"m1", 0},
                                                     {"m2", 0},      {"m3", 5.7}};
  const auto& table = cls == "gpu" ? kGpu : kCpu;
  if ((cls != "cpu" && cls != "gpu") || n_params != table.size()) return std::nan("");
  const auto it = table.find(name);
  return it == table.end() ? std::nan("") : it->second;
}

// A median |ln(Ê/E)| as a typical relative error: "≈±22 %", or a factor
// ("≈×38") once the error passes 100 %.
std::string Typical(double median_abs_log) {
  if (!std::isfinite(median_abs_log)) return "";
  const double factor = std::exp(median_abs_log);
  const std::string text = factor < 2 ? "\u00b1" + FormatPercent(factor - 1, 3) : "\u00d7" + FormatSig(factor, 3);
  return " <span class=\"note\">(\u2248" + text + ")</span>";
}

// Accuracy, model against the FLOPs-only baseline, one row per class.
std::string AccuracyTable(const results::PipelineResults& r) {
  std::string h = "<h3>Accuracy against a FLOPs-only baseline</h3>";
  h += "<table><tr><th class=\"l\">class</th><th>runs</th><th>median \u00ca/E</th><th>\u03c3 of ln(\u00ca/E)</th>"
       "<th>median |ln(\u00ca/E)|</th><th>cross-validated</th><th>FLOPs-only: \u03c3</th>"
       "<th>FLOPs-only: median |ln|</th><th>cross-validated</th><th class=\"l\">FLOPs-only fit</th></tr>";
  for (const auto& m : r.models) {
    h += "<tr><td class=\"l\">" + EscapeHtml(m.hardware_class) + "</td><td>" + FormatCount(m.runs) + "</td>";
    if (!m.fitted && m.parameters.empty()) {
      h += "<td colspan=\"8\" class=\"l\">" + EscapeHtml(m.message) + "</td></tr>";
      continue;
    }
    h += "<td>" + FormatSig(m.median_ratio, 4) + "</td><td>" + FormatSig(m.sigma_log_ratio, 3) + "</td><td><b>" +
         FormatSig(m.median_abs_log_error, 3) + "</b>" + Typical(m.median_abs_log_error) + "</td><td>" +
         FormatSig(m.cv_median_abs_log_error, 3) + Typical(m.cv_median_abs_log_error) + "</td><td>" +
         FormatSig(m.baseline_sigma_log_ratio, 3) + "</td><td>" + FormatSig(m.baseline_median_abs_log_error, 3) +
         Typical(m.baseline_median_abs_log_error) + "</td><td>" + FormatSig(m.baseline_cv_median_abs_log_error, 3) +
         Typical(m.baseline_cv_median_abs_log_error) + "</td><td class=\"l\">" + FormatEnergy(m.baseline_c0) + " + " +
         FormatSig(m.baseline_c1 * 1e12, 4) + " mJ/GFLOP</td></tr>";
  }
  h += "</table><p class=\"note\">Paper Figure 5: gpu predicted within about \u00b12.7 %, cpu within about "
       "\u00b120 % (\u03c3 \u2248 0.07 and 0.3). Cross-validated errors come from held-out folds.</p>";
  return h;
}

// One class's fit: its status, parameters beside the paper's, and the quantiles of Ê/E.
std::string ParametersTable(const results::ModelResult& m) {
  std::string h = "<div style=\"max-width:640px\"><h3>" + EscapeHtml(m.hardware_class) + ": fitted parameters</h3>";
  h += "<p class=\"note\">" +
       std::string(m.fitted ? "<span class=\"ok\">fitted</span>" : "<span class=\"no\">not fitted</span>") + " on " +
       Counted(m.runs, "run") + (m.fit_seconds > 0 ? " in " + FormatSig(m.fit_seconds, 3) + " s" : "") + ". " +
       EscapeHtml(m.message) + "</p>";
  if (m.parameters.empty()) return h + "</div>";
  h += "<table><tr><th class=\"l\">parameter</th><th>value</th><th>standard error</th><th class=\"l\">unit</th>"
       "<th class=\"l\">determined</th><th>BUTTER-E Table 4</th></tr>";
  for (const auto& p : m.parameters) {
    const double paper = PaperParameter(m.hardware_class, p.parameter, m.parameters.size());
    const std::string cls = p.determined ? "" : " class=\"undet\"";
    h += "<tr" + cls + "><td class=\"l\"><b>" + EscapeHtml(p.parameter) + "</b></td><td>" + FormatSig(p.value, 4) +
         "</td><td>" + (p.std_error ? "\u00b1" + FormatSig(*p.std_error, 3) : "\u2013") + "</td><td class=\"l\">" +
         EscapeHtml(p.unit) + "</td><td class=\"l\">" +
         (p.determined ? "<span class=\"ok\">yes</span>"
                       : "<span class=\"no\">no</span>" + (p.reason.empty() ? "" : ": " + EscapeHtml(p.reason))) +
         "</td><td>" + FormatSig(paper, 4) + "</td></tr>";
  }
  h += "</table>";
  if (!m.ratio_quantiles.empty()) {
    h += "<p class=\"note\">Quantiles of \u00ca/E: ";
    for (std::size_t i = 0; i < m.ratio_quantiles.size(); ++i) {
      if (i) h += ", ";
      h += FormatSig(100 * m.ratio_quantiles[i].first, 3) + " %: " + FormatSig(m.ratio_quantiles[i].second, 4);
    }
    h += ".</p>";
  }
  h += "</div>";
  return h;
}

// One class's rows of predictions.csv with a measured energy.
struct ClassPredictions {
  std::vector<double> ratio, base;  // Ê/E of the model and of the baseline
  std::vector<double> meas, pred;   // E and Ê where Ê > 0
};

ClassPredictions CollectPredictions(const results::PipelineResults& r, bool gpu) {
  ClassPredictions out;
  for (const auto& p : r.predictions) {
    if (p.is_gpu != gpu || !(p.measured > 0)) continue;
    if (p.predicted > 0) {
      out.ratio.push_back(p.predicted / p.measured);
      out.meas.push_back(p.measured);
      out.pred.push_back(p.predicted);
    }
    if (p.baseline > 0) out.base.push_back(p.baseline / p.measured);
  }
  return out;
}

// Figure 5: distribution of Ê/E of one class, with the baseline's.
std::string RatioFigure(Context& c, const results::ModelResult& m, const ClassPredictions& pr,
                        const std::string& color) {
  std::vector<double> all = pr.ratio;
  all.insert(all.end(), pr.base.begin(), pr.base.end());
  std::sort(all.begin(), all.end());
  double lo = std::clamp(SortedQuantile(all, 0.002), 1e-3, 0.95);
  double hi = std::clamp(SortedQuantile(all, 0.998), 1.05, 1e3);
  const double span = std::max(1 / lo, hi);  // symmetric around 1
  lo = 1 / span;
  hi = span;
  const auto edges = LogEdges(lo, hi, 60);
  svg::Plot p(m.hardware_class + ": predicted / measured energy (paper Figure 5)", 620, 360);
  p.x.label = "\u00ca / E";
  p.x.scale = svg::Scale::kLog;
  p.y.label = "runs per bin";
  p.Histogram(edges, CountInBins(pr.ratio, edges), {color, 1, 0.75, "", "energy model", ""});
  if (!pr.base.empty()) p.Steps(edges, CountInBins(pr.base, edges), {"#333", 1.4, 1, "", "FLOPs-only baseline", ""});
  p.VLine(1.0, {"#333", 1, 1, "4 3", "", ""}, "");
  return c.Figure(p, "Histogram of \u00ca/E over the " +
                         Counted(static_cast<std::int64_t>(pr.ratio.size()), EscapeHtml(m.hardware_class) + " run") +
                         " of <code>predictions.csv</code> (filled), and of the FLOPs-only baseline "
                         "<i>E</i> = <i>c</i><sub>0</sub> + <i>c</i><sub>1</sub>\u00b7FLOPs fitted with the same loss "
                         "(outline); values beyond the axis are not drawn. \u03c3 of ln(\u00ca/E) = " +
                         FormatSig(m.sigma_log_ratio, 3) + ".");
}

// Predicted against measured energy of one class, as a 2-D histogram.
std::string PredictedAgainstMeasuredFigure(Context& c, const results::ModelResult& m, const ClassPredictions& pr) {
  const auto& meas = pr.meas;
  const auto& pred = pr.pred;
  std::vector<double> both = meas;
  both.insert(both.end(), pred.begin(), pred.end());
  const auto [mn, mx] = std::minmax_element(both.begin(), both.end());
  const double a = *mn / 1.05, b = *mx * 1.05;
  const int n = 40;
  const double la = std::log10(a), lb = std::log10(b);
  std::map<std::pair<int, int>, int> cells;
  for (std::size_t i = 0; i < meas.size(); ++i) {
    const int ix = std::clamp(static_cast<int>((std::log10(meas[i]) - la) / (lb - la) * n), 0, n - 1);
    const int iy = std::clamp(static_cast<int>((std::log10(pred[i]) - la) / (lb - la) * n), 0, n - 1);
    ++cells[{ix, iy}];
  }
  int top = 1;
  for (const auto& [k, v] : cells) top = std::max(top, v);
  svg::Plot q(m.hardware_class + ": predicted against measured energy", 460, 440);
  q.x.label = "measured standardized energy E (J)";
  q.y.label = "predicted energy \u00ca (J)";
  q.x.scale = q.y.scale = svg::Scale::kLog;
  q.x.min = q.y.min = a;
  q.x.max = q.y.max = b;
  for (const auto& [k, v] : cells) {
    const double x0 = std::pow(10.0, la + (lb - la) * k.first / n),
                 x1 = std::pow(10.0, la + (lb - la) * (k.first + 1) / n);
    const double y0 = std::pow(10.0, la + (lb - la) * k.second / n),
                 y1 = std::pow(10.0, la + (lb - la) * (k.second + 1) / n);
    const double t = top > 1 ? std::log(static_cast<double>(v)) / std::log(static_cast<double>(top)) : 1.0;
    q.Rect(x0, x1, y0, y1, {svg::Density(t), 1, 1, "", "", Counted(v, "run")});
  }
  q.Line({a, b}, {a, b}, {svg::kRed, 1.2, 1, "4 3", "\u00ca = E", ""});
  q.LegendEntry("one run", svg::Density(0), svg::Swatch::kBox);
  q.LegendEntry(Counted(top, "run") + " per cell (log colour scale)", svg::Density(1), svg::Swatch::kBox);
  return c.Figure(q,
                  "Each cell counts runs by measured and predicted energy (log\u2013log); cells on the dashed "
                  "diagonal are predicted exactly.");
}

}  // namespace

std::string ModelSection(Context& c) {
  const auto& r = c.r;
  std::string h = "<section id=\"model\"><h2>5 The energy model</h2>";
  h += "<p>Per hardware class, <i>\u00ca</i> = <i>k</i><sub>e</sub> + <i>n</i>(2<i>h</i><sub>t</sub> + "
       "<i>h</i><sub>s</sub>)<i>k</i><sub>p</sub> + operations \u00d7 <i>k</i><sub>o</sub> + layers \u00d7 "
       "<i>k</i><sub>d</sub> + the cost \u03d5 = <i>a</i><sub>c</sub> + <i>m</i><sub>c</sub>\u00b7size of every "
       "working-set access at its memory level <i>c</i> (paper eqs. 2\u20139), fitted on the standardized energy "
       "of usable runs by minimizing a robust loss of ln(\u00ca/E). Per-event costs are in mJ (the paper's "
       "Table 4 read as the spec says), <i>k</i><sub>e</sub> in J. A parameter is <i>not determined</i> when the "
       "data cannot separate it from others (every access carries an <i>a</i><sub>c</sub>, so "
       "<i>k</i><sub>p</sub>, <i>k</i><sub>d</sub> and the <i>a</i><sub>c</sub> move together) or its standard "
       "error is large; compare fits by their predictions and their determined parameters.</p>";
  if (r.models.empty()) {
    h += "<p class=\"note\">The model was not fitted in this run.</p></section>";
    return h;
  }
  h += AccuracyTable(r);
  // Parameters per class, side by side.
  h += "<div class=\"figs\">";
  for (const auto& m : r.models) h += ParametersTable(m);
  h += "</div>";
  // Figure 5 and predicted against measured, per class.
  h += "<div class=\"figs\">";
  for (const auto& m : r.models) {
    const bool gpu = m.hardware_class == "gpu";
    const ClassPredictions pr = CollectPredictions(r, gpu);
    if (pr.ratio.empty()) continue;
    const HardwareClass* cls = c.Class(gpu);
    h += RatioFigure(c, m, pr, cls ? cls->color : svg::kCpuColor);
    h += PredictedAgainstMeasuredFigure(c, m, pr);
  }
  h += "</div></section>";
  return h;
}

}  // namespace wattrun::report
