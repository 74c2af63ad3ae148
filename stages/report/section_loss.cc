// Section 6: the energy-loss trade-off (paper section 8, Figures 6, 7 and 8).
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <tuple>

#include "stages/report/context.h"
#include "stages/report/format.h"
#include "stages/report/stats.h"

namespace wattrun::report {
namespace {

struct Curve {
  std::vector<double> epochs, losses;
};

// One experiment (a network on a data set) with its loss curve and costs.
struct Experiment {
  std::string id;
  double n_params = 0;
  double flops_per_epoch = 0;
  double t_max_bytes = 0, f_bytes = 0, b_bytes = 0;
  std::vector<double> per_epoch_j[2];  // cpu, gpu: std_energy / epochs of each run
  const Curve* curve = nullptr;
};

using Combo = std::tuple<std::string, std::string, std::int64_t>;  // dataset, shape, depth

std::string ComboName(const Combo& k) {
  return std::get<0>(k) + ", " + std::get<1>(k) + ", depth " + std::to_string(std::get<2>(k));
}

// Loss levels for a combination: from the best quarter of the sizes' best
// losses up to the worst size's best loss (which every size reaches).
std::vector<double> Levels(const std::vector<const Experiment*>& exps) {
  std::vector<double> best;
  for (const auto* e : exps) {
    const auto& l = e->curve->losses;
    if (!l.empty()) best.push_back(*std::min_element(l.begin(), l.end()));
  }
  std::sort(best.begin(), best.end());
  if (best.empty()) return {};
  const double lo = SortedQuantile(best, 0.25), hi = best.back();
  if (!(hi > lo * 1.0001)) return {hi};
  std::vector<double> levels;
  const int n = 5;
  const bool geometric = lo > 0;
  for (int i = 0; i < n; ++i) {
    const double t = static_cast<double>(i) / (n - 1);
    levels.push_back(geometric ? lo * std::pow(hi / lo, t) : lo + t * (hi - lo));
  }
  return levels;
}

struct IsoPoint {
  double n_params, energy_j, flops;
  const Experiment* exp;
};

// Cost to reach `level` for each size (median over experiments of one size).
std::vector<IsoPoint> Isoline(const std::vector<const Experiment*>& exps, double level, int cls) {
  std::map<double, std::vector<std::pair<double, const Experiment*>>> energy_by_size;
  std::map<double, std::vector<double>> flops_by_size;
  for (const auto* e : exps) {
    const auto epoch = EpochToReach(e->curve->epochs, e->curve->losses, level);
    if (!epoch) continue;
    flops_by_size[e->n_params].push_back(*epoch * e->flops_per_epoch);
    if (cls >= 0 && !e->per_epoch_j[cls].empty()) {
      const double per_epoch = Summarize(e->per_epoch_j[cls]).q50;
      energy_by_size[e->n_params].emplace_back(*epoch * per_epoch, e);
    }
  }
  std::vector<IsoPoint> out;
  if (cls < 0) {
    for (auto& [n, v] : flops_by_size) out.push_back({n, std::nan(""), Summarize(v).q50, nullptr});
    return out;
  }
  for (auto& [n, v] : energy_by_size) {
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<double> es;
    for (const auto& [e, x] : v) es.push_back(e);
    out.push_back({n, Summarize(es).q50, std::nan(""), v[v.size() / 2].second});
  }
  return out;
}

using ComboMap = std::map<Combo, std::vector<const Experiment*>>;

// Loss curves per experiment id, sorted by epoch (non-finite losses left out).
std::map<std::string, Curve> LossCurves(const results::PipelineResults& r) {
  std::map<std::string, Curve> curves;
  std::map<std::string, std::vector<std::pair<double, double>>> pts;
  for (std::size_t i = 0; i < r.loss_experiment.size() && i < r.loss_epoch.size() && i < r.loss_value.size(); ++i) {
    if (std::isfinite(r.loss_value[i]))
      pts[r.loss_experiment[i]].emplace_back(static_cast<double>(r.loss_epoch[i]), r.loss_value[i]);
  }
  for (auto& [id, v] : pts) {
    std::sort(v.begin(), v.end());
    Curve& cv = curves[id];
    for (const auto& [e, l] : v) {
      cv.epochs.push_back(e);
      cv.losses.push_back(l);
    }
  }
  return curves;
}

// Experiments from the usable runs with features and a loss curve, and the
// (data set, shape, depth) of each.
void CollectExperiments(const Context& c, const std::map<std::string, Curve>& curves,
                        std::map<std::string, Experiment>* exps, std::map<std::string, Combo>* combo_of) {
  const auto& r = c.r;
  for (std::size_t i = 0; i < r.runs.size(); ++i) {
    const auto& run = r.runs[i];
    const auto* f = c.features_of_run[i];
    if (!run.usable || !f || !run.std_energy_j || f->epochs <= 0) continue;
    const auto cv = curves.find(run.experiment_id);
    if (cv == curves.end()) continue;
    Experiment& e = (*exps)[run.experiment_id];
    if (e.id.empty()) {
      e.id = run.experiment_id;
      e.n_params = static_cast<double>(f->n_params);
      e.flops_per_epoch = f->total_flops / static_cast<double>(f->epochs);
      e.t_max_bytes = f->t_max_bytes;
      e.f_bytes = f->f_bytes;
      e.b_bytes = f->b_bytes;
      e.curve = &cv->second;
      (*combo_of)[e.id] = {run.dataset, run.shape, run.depth};
    }
    e.per_epoch_j[run.is_gpu ? 1 : 0].push_back(*run.std_energy_j / static_cast<double>(f->epochs));
  }
}

constexpr std::size_t kMinSizes = 3;  // an isoloss line needs three sizes to show a minimum

// The combinations with at least kMinSizes sizes, most sizes measured on
// both classes first.
std::vector<std::pair<int, Combo>> RankCombos(const ComboMap& combos) {
  std::vector<std::pair<int, Combo>> ranked;
  for (const auto& [k, v] : combos) {
    std::set<double> sizes_both, sizes_any;
    for (const auto* e : v) {
      if (!e->per_epoch_j[0].empty() || !e->per_epoch_j[1].empty()) sizes_any.insert(e->n_params);
      if (!e->per_epoch_j[0].empty() && !e->per_epoch_j[1].empty()) sizes_both.insert(e->n_params);
    }
    if (sizes_any.size() < kMinSizes) continue;
    ranked.emplace_back(static_cast<int>(sizes_both.size() * 1000 + sizes_any.size()), k);
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  return ranked;
}

// Up to four of the ranked combinations: different data sets first (as the
// paper's Figure 6), then fill up.
std::vector<Combo> ShownCombos(const std::vector<std::pair<int, Combo>>& ranked) {
  std::vector<Combo> shown;
  std::set<std::string> datasets_shown;
  for (const auto& [score, k] : ranked) {
    if (shown.size() < 4 && datasets_shown.insert(std::get<0>(k)).second) shown.push_back(k);
  }
  for (const auto& [score, k] : ranked) {
    if (shown.size() < 4 && std::find(shown.begin(), shown.end(), k) == shown.end()) shown.push_back(k);
  }
  return shown;
}

// One panel of paper Figure 6: FLOPs (cls < 0) or a class's energy to reach
// each loss level against size, a ring at each line's cheapest size.
std::string IsolossPanel(Context& c, const std::vector<const Experiment*>& list, const std::vector<double>& levels,
                         int cls, const std::string& what) {
  svg::Plot p(what + " to reach a test loss", 400, 330);
  p.x.label = "trainable parameters (NTP)";
  p.x.scale = svg::Scale::kLog;
  p.y.label = cls < 0 ? "FLOPs to reach the loss" : "energy to reach the loss (J)";
  p.y.scale = svg::Scale::kLog;
  for (std::size_t li = 0; li < levels.size(); ++li) {
    const auto pts = Isoline(list, levels[li], cls);
    std::vector<double> xs, ys;
    for (const auto& pt : pts) {
      xs.push_back(pt.n_params);
      ys.push_back(cls < 0 ? pt.flops : pt.energy_j);
    }
    const std::string color = svg::Sequential(
        levels.size() > 1 ? 0.85 * static_cast<double>(li) / static_cast<double>(levels.size() - 1) : 0.4);
    p.Line(xs, ys, {color, 1.8, 1, "", "L = " + FormatSig(levels[li], 3), ""}, true);
    if (ys.size() >= 3) {
      const auto it = std::min_element(ys.begin(), ys.end());
      const std::size_t j = static_cast<std::size_t>(it - ys.begin());
      p.Points({xs[j]}, {ys[j]}, {color, 6.5, 0.35, "", "", ""});
    }
  }
  return c.Figure(p, what + " to reach each test-loss level L against network size; lower is better.");
}

// The isoloss panels of one combination: FLOPs, then gpu, then cpu (paper Figure 6).
std::string IsolossFigures(Context& c, const Combo& k, const std::vector<const Experiment*>& list) {
  const auto levels = Levels(list);
  std::string h = "<h3>" + EscapeHtml(ComboName(k)) + "</h3><div class=\"figs\">";
  std::vector<int> panels = {-1};
  for (int cls : {1, 0}) {
    if (c.Class(cls == 1)) panels.push_back(cls);
  }
  std::string missing;
  for (int cls : panels) {
    const std::string what = cls < 0 ? "FLOPs" : (cls == 1 ? "gpu energy" : "cpu energy");
    bool any = false;
    for (double level : levels) any |= !Isoline(list, level, cls).empty();
    if (!any) {
      missing += " No " + std::string(cls == 1 ? "gpu" : "cpu") + " runs of these experiments.";
      continue;
    }
    h += IsolossPanel(c, list, levels, cls, what);
  }
  h += "</div>";
  if (!missing.empty()) h += "<p class=\"note\">" + missing.substr(1) + "</p>";
  return h;
}

// One isoloss line of paper Figure 7: a combination's energy to reach its
// middle loss level at each size, over the line's minimum.
struct NormalizedLine {
  std::vector<const Experiment*> exps;  // by size
  std::vector<double> ratio;            // energy / the line's minimum
};

std::vector<NormalizedLine> NormalizedLines(const ComboMap& combos, int cls) {
  std::vector<NormalizedLine> lines;
  for (const auto& [k, list] : combos) {
    const auto levels = Levels(list);
    if (levels.empty()) continue;
    const auto pts = Isoline(list, levels[levels.size() / 2], cls);
    if (pts.size() < kMinSizes) continue;
    double lowest = std::numeric_limits<double>::infinity();
    for (const auto& pt : pts) lowest = std::min(lowest, pt.energy_j);
    if (!(lowest > 0)) continue;
    NormalizedLine line;
    for (const auto& pt : pts) {
      line.exps.push_back(pt.exp);
      line.ratio.push_back(pt.energy_j / lowest);
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

// One panel of paper Figure 7: the lines against one working set (l, f or
// b), with the class's cache capacities as vertical lines.
std::string NormalizedPanel(Context& c, const HardwareClass& cls, const std::vector<NormalizedLine>& lines, int which) {
  static const char* kNames[] = {"l (inter-layer)", "f (forward)", "b (backward)"};
  svg::Plot p(cls.name + ": energy to reach the loss against " + kNames[which], 420, 330);
  p.x.label = "working-set size (bytes)";
  p.x.scale = svg::Scale::kLog;
  p.x.ticks = svg::Ticks::kBytes;
  p.y.label = "energy / the line's minimum (1)";
  p.y.scale = svg::Scale::kLog;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::vector<double> xs;
    for (const auto* e : lines[i].exps) {
      const double bytes = which == 0 ? e->t_max_bytes : which == 1 ? e->f_bytes : e->b_bytes;
      xs.push_back(bytes > 0 ? bytes : std::nan(""));
    }
    const double t = lines.size() > 1 ? 0.85 * static_cast<double>(i) / static_cast<double>(lines.size() - 1) : 0.4;
    p.Line(xs, lines[i].ratio, {svg::Sequential(t), 1.3, 0.75, "", "", "isoloss line " + std::to_string(i + 1)}, true);
  }
  for (std::size_t i = 0; i + 1 < cls.levels.size(); ++i) {
    const double bytes = cls.levels[i].bytes_per_unit;
    p.VLine(bytes, {"#333", 1, 0.8, "4 3", "", LevelName(cls, i) + " " + FormatBytes(bytes)},
            LevelName(cls, i) + " " + FormatBytes(bytes));
  }
  p.LegendEntry("one isoloss line per (data set, shape, depth)", svg::Sequential(0.4), svg::Swatch::kLine);
  p.LegendEntry("cache capacity (per unit)", "#333", svg::Swatch::kLine, "4 3");
  return c.Figure(p, "Working set <i>" + std::string(1, "lfb"[which]) +
                         "</i> of each size on the line (its median experiment's run); the line's lowest point is 1.");
}

// Paper Figure 7: for each class, every combination's middle isoloss line
// normalized to its minimum, against the three working sets.
std::string NormalizedSection(Context& c, const ComboMap& combos) {
  std::string h = "<h3>Normalized isoloss lines against working-set sizes (paper Figure 7)</h3>";
  std::string body;
  for (const auto& cls : c.classes) {
    const auto lines = NormalizedLines(combos, cls.is_gpu ? 1 : 0);
    if (lines.empty()) continue;
    body += "<p>" + EscapeHtml(cls.name) + ": " + Counted(static_cast<std::int64_t>(lines.size()), "isoloss line") +
            ", one per (data set, shape, depth) with at least " +
            Counted(static_cast<std::int64_t>(kMinSizes), "size") +
            " reaching its middle loss level.</p><div class=\"figs\">";
    for (int which = 0; which < 3; ++which) body += NormalizedPanel(c, cls, lines, which);
    body += "</div>";
  }
  if (body.empty()) {
    return h +
           "<p class=\"note\">Too few sizes per combination reach a common loss level to draw normalized "
           "isoloss lines.</p>";
  }
  return h +
         "<p>Each line: the energy to reach the combination's middle loss level (the level Figure 8 uses) at each "
         "network size, divided by the line's lowest energy, drawn against the size's working sets. Dashed "
         "vertical lines: cache capacities, where a working set spills into the next memory level. Paper: the "
         "minimum sits at or just past a spill.</p>" +
         body;
}

// For each combination with three sizes reaching its middle loss level, the
// cheapest size's working sets (f, b) over the nearest cache capacity.
void CheapestSizeRatios(const HardwareClass& cls, const std::vector<double>& caches, const ComboMap& combos,
                        std::vector<double>* rf, std::vector<double>* rb) {
  auto nearest_ratio = [&](double bytes) {
    double best = std::nan("");
    for (double cap : caches) {
      const double ratio = bytes / cap;
      if (std::isnan(best) || std::abs(std::log(ratio)) < std::abs(std::log(best))) best = ratio;
    }
    return best;
  };
  const int ci = cls.is_gpu ? 1 : 0;
  for (const auto& [k, list] : combos) {
    const auto levels = Levels(list);
    if (levels.empty()) continue;
    const double level = levels[levels.size() / 2];
    const auto pts = Isoline(list, level, ci);
    if (pts.size() < 3) continue;
    const auto it = std::min_element(pts.begin(), pts.end(),
                                     [](const IsoPoint& a, const IsoPoint& b) { return a.energy_j < b.energy_j; });
    if (!it->exp) continue;
    if (it->exp->f_bytes > 0) rf->push_back(nearest_ratio(it->exp->f_bytes));
    if (it->exp->b_bytes > 0) rb->push_back(nearest_ratio(it->exp->b_bytes));
  }
}

// Paper Figure 8 for one class: histograms of the ratios; its summary line
// goes to `summary`. Empty when the class has no caches or no ratios.
std::string CheapestSizeFigure(Context& c, const HardwareClass& cls, const ComboMap& combos, std::string* summary) {
  std::vector<double> caches;
  for (std::size_t i = 0; i + 1 < cls.levels.size(); ++i) caches.push_back(cls.levels[i].bytes_per_unit);
  if (caches.empty()) return "";
  std::vector<double> rf, rb;
  CheapestSizeRatios(cls, caches, combos, &rf, &rb);
  if (rf.empty() && rb.empty()) return "";
  const double lo = 1.0 / 64, hi = 64;
  std::vector<double> edges;
  for (int i = -12; i <= 12; ++i) edges.push_back(std::exp2(i / 2.0));
  auto clamp_all = [&](std::vector<double> v) {
    for (double& x : v) x = std::clamp(x, lo * 1.0001, hi / 1.0001);
    return v;
  };
  svg::Plot p(cls.name + ": cheapest size's working set / nearest cache", 560, 340);
  p.x.label = "working-set size / nearest cache size";
  p.x.scale = svg::Scale::kLog;
  p.x.min = lo;
  p.x.max = hi;
  for (int e = -6; e <= 6; e += 2) {
    p.x.custom_ticks.emplace_back(std::exp2(e), e < 0 ? "1/" + std::to_string(1 << -e) : std::to_string(1 << e));
  }
  p.y.label = "isoloss lines (count)";
  const auto cf = CountInBins(clamp_all(rf), edges);
  const auto cb = CountInBins(clamp_all(rb), edges);
  double top = 1;
  for (std::size_t i = 0; i < cf.size(); ++i) top = std::max({top, cf[i], cb[i]});
  p.Rect(1, 2, 0, top * 1.05, {"#2ca02c", 1, 0.10, "", "just spilled (1\u20132\u00d7 a cache)", ""});
  p.Histogram(edges, cf, {"#1b9e77", 1, 0.6, "", "f (forward)", ""});
  p.Steps(edges, cb, {"#d95f02", 2, 1, "", "b (backward)", ""});
  p.VLine(1, {"#333", 1, 1, "4 3", "", ""}, "");
  auto share = [](const std::vector<double>& v, double a, double b) {
    double n = 0;
    for (double x : v) n += (x >= a && x <= b) ? 1 : 0;
    return v.empty() ? std::nan("") : n / static_cast<double>(v.size());
  };
  *summary += "<li>" + EscapeHtml(cls.name) + ": " + Counted(static_cast<std::int64_t>(rb.size()), "isoloss line") +
              "; the cheapest size's <i>b</i> is within a factor of two of a cache size (0.5\u20132\u00d7) "
              "in " +
              FormatPercent(share(rb, 0.5, 2)) + " of them, <i>f</i> in " + FormatPercent(share(rf, 0.5, 2)) + ".</li>";
  return c.Figure(p,
                  "For each (data set, shape, depth) with at least three sizes reaching its middle loss level, "
                  "the size that reaches it with the least energy: its working set divided by the nearest "
                  "cache capacity (one cache unit; main memory excluded). Ratios beyond the axis are drawn at "
                  "its ends.");
}

// Figure 8: where the cheapest size sits against the cache sizes.
std::string CheapestSizeSection(Context& c, const ComboMap& combos) {
  std::string h = "<h3>Where the most energy-efficient size sits (paper Figure 8)</h3>";
  std::string figs = "<div class=\"figs\">";
  std::string summary;
  for (const auto& cls : c.classes) figs += CheapestSizeFigure(c, cls, combos, &summary);
  figs += "</div>";
  if (summary.empty()) {
    h += "<p class=\"note\">Too few sizes per combination reach a common loss level to locate the cheapest size.</p>";
  } else {
    h += "<ul>" + summary + "</ul>" + figs;
  }
  return h;
}

}  // namespace

std::string LossSection(Context& c) {
  const auto& r = c.r;
  std::string h = "<section id=\"loss\"><h2>6 The energy\u2013loss trade-off</h2>";
  if (r.loss_experiment.empty()) {
    h += "<p>No loss curves were given (<code>losses.csv</code> is optional), so the energy needed to reach a test "
         "loss cannot be computed for this facility. With per-experiment test-loss curves (the BUTTER data set's "
         "median over repetitions), this section shows isoloss lines of energy and FLOPs against network size "
         "(paper Figure 6) and where the most energy-efficient size sits against the cache boundaries "
         "(Figure 8).</p></section>";
    return h;
  }
  h += "<p>Energy to reach a test loss <i>L</i> = energy per epoch \u00d7 the first epoch at which the experiment's "
       "loss curve reaches <i>L</i> (log\u2013log interpolation between recorded epochs); energy per epoch = "
       "standardized energy / epochs of the experiment's usable runs (median over runs). FLOPs to reach <i>L</i> "
       "likewise. Each line is an isoloss line: the cost of reaching one loss level, across network sizes.</p>";

  const std::map<std::string, Curve> curves = LossCurves(r);
  std::map<std::string, Experiment> exps;
  std::map<std::string, Combo> combo_of;
  CollectExperiments(c, curves, &exps, &combo_of);
  ComboMap combos;
  for (const auto& [id, e] : exps) combos[combo_of[id]].push_back(&e);
  if (combos.empty()) {
    h += "<p class=\"note\">" + Counted(static_cast<std::int64_t>(curves.size()), "loss curve") +
         (curves.size() == 1 ? " was" : " were") +
         " given, but none matches the experiment id of a usable run.</p></section>";
    return h;
  }

  const auto ranked = RankCombos(combos);
  const std::vector<Combo> shown = ShownCombos(ranked);
  const std::size_t n_show = shown.size();
  h += "<p>" + Counted(static_cast<std::int64_t>(exps.size()), "experiment") + " with loss curves and energy, in " +
       Counted(static_cast<std::int64_t>(combos.size()), "(data set, shape, depth) combination") + ", " +
       FormatCount(static_cast<std::int64_t>(ranked.size())) + " of them with at least " +
       Counted(static_cast<std::int64_t>(kMinSizes), "size") + " measured. ";
  if (n_show == 0) {
    h += "No combination covers enough sizes for isoloss lines.</p>";
  } else {
    h += n_show == 1 ? std::string("The one with the most sizes is drawn")
                     : "The " + FormatCount(static_cast<std::int64_t>(n_show)) + " with the most sizes are drawn";
    h += "; rings mark each line's cheapest size. Paper: FLOPs favour small networks, "
         "measured energy keeps falling with size until a key working set just spills from a cache.</p>";
  }
  for (const Combo& k : shown) h += IsolossFigures(c, k, combos[k]);
  h += NormalizedSection(c, combos);
  h += CheapestSizeSection(c, combos);
  h += "</section>";
  return h;
}

}  // namespace wattrun::report
