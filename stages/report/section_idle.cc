// Section 2: idle power per node type (paper Table 1, last column) and the
// overheads (paper section 4).
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include "stages/report/context.h"
#include "stages/report/format.h"
#include "stages/report/stats.h"

namespace wattrun::report {
namespace {

// BUTTER-E Table 1, for comparison on Eagle-like facilities.
double PaperIdle(const std::string& type) {
  static const std::map<std::string, double> kIdle = {{"cpu1", 220}, {"cpu2", 230}, {"cpu3", 309},
                                                      {"cpu4", 388}, {"gpu1", 374}, {"gpu2", 403}};
  const auto it = kIdle.find(type);
  return it == kIdle.end() ? std::nan("") : it->second;
}

// Deterministic jitter in [-0.5, 0.5) from a name.
double Jitter(const std::string& name) {
  const std::size_t h = std::hash<std::string>{}(name);
  return static_cast<double>(h % 1000) / 1000.0 - 0.5;
}

// Runs per node type: (cpu, gpu).
using TypeRuns = std::map<std::string, std::pair<std::int64_t, std::int64_t>>;

TypeRuns CountTypeRuns(const results::PipelineResults& r) {
  TypeRuns type_runs;
  for (const auto& run : r.runs) {
    if (run.node_type.empty()) continue;
    auto& t = type_runs[run.node_type];
    (run.is_gpu ? t.second : t.first) += 1;
  }
  return type_runs;
}

// Class of a type, from the runs that ran on it ("\u2013" without runs).
std::string TypeClass(const TypeRuns& type_runs, const std::string& type) {
  const auto it = type_runs.find(type);
  if (it != type_runs.end() && it->second.first + it->second.second > 0) {
    return it->second.second > it->second.first ? "gpu" : "cpu";
  }
  return "\u2013";
}

// A type's pooled idle power, NaN when the results have none.
double IdleOf(const std::map<std::string, double>& idle_of, const std::string& type) {
  const auto it = idle_of.find(type);
  return it != idle_of.end() ? it->second : std::nan("");
}

// The method and the table of idle power per type beside the paper's.
std::string IdleTable(const results::PipelineResults& r, const TypeRuns& type_runs) {
  std::string h = "<p>A node type's idle power is the " + FormatSig(100 * r.idle_quantile, 3) +
                  " % quantile of all readings of all its nodes over the whole telemetry window (method: " +
                  EscapeHtml(r.idle_method.empty() ? "pooled" : r.idle_method) +
                  "). Energies are standardized to the class's reference type: <i>E</i><sub>std</sub> = <i>E</i> + "
                  "(<i>P</i><sub>idle</sub>[ref] \u2212 <i>P</i><sub>idle</sub>[type]) \u00d7 run time.</p>";
  h += "<table><tr><th class=\"l\">node type</th><th class=\"l\">class</th><th>nodes</th><th>readings</th>"
       "<th>idle power</th><th>BUTTER-E (Table 1)</th></tr>";
  for (const auto& t : r.idle) {
    const double paper = PaperIdle(t.node_type);
    h += "<tr><td class=\"l\">" + EscapeHtml(t.node_type) + "</td><td class=\"l\">" +
         TypeClass(type_runs, t.node_type) + "</td><td>" + FormatCount(t.nodes) + "</td><td>" +
         FormatCount(t.readings) + "</td><td><b>" + FormatSig(t.idle_w, 4) + " W</b></td><td>" +
         (std::isnan(paper) ? "\u2013" : FormatSig(paper, 4) + " W") + "</td></tr>";
  }
  h += "</table>";
  return h;
}

// Window of the low-end histogram: the 0.05 % quantile (below it: stray
// readings such as 0 W) up to the 10 % quantile, and a little past the idle power.
std::pair<double, double> LowEndWindow(const results::TypeDistribution& dist, double total, double idle) {
  double lo = dist.values.front().first, hi = dist.values.back().first, cum = 0;
  bool have_lo = false;
  for (const auto& [v, n] : dist.values) {
    cum += static_cast<double>(n);
    if (!have_lo && cum >= 0.0005 * total) {
      lo = v;
      have_lo = true;
    }
    if (cum >= 0.10 * total) {
      hi = v;
      break;
    }
  }
  if (std::isfinite(idle)) hi = std::max(hi, idle + std::max(10.0, 0.15 * (idle - lo)));
  hi = std::max(hi, lo + 10);
  return {lo, hi};
}

// The low end of one type's distribution with its idle power.
std::string LowEndFigure(Context& c, const results::TypeDistribution& dist, double idle) {
  double total = 0;
  for (const auto& [v, n] : dist.values) total += static_cast<double>(n);
  const auto [lo, hi] = LowEndWindow(dist, total, idle);
  std::int64_t below = 0;
  for (const auto& [v, n] : dist.values) {
    if (v < lo) below += n;
  }
  const double width = std::max(1.0, std::ceil((hi - lo) / 70));
  std::vector<double> edges;
  for (double e = std::floor(lo) - 0.5 * (width == 1 ? 1 : 0); e <= hi + width; e += width) edges.push_back(e);
  std::vector<double> counts(edges.size() - 1, 0.0);
  std::int64_t zero = 0, shown = 0;
  for (const auto& [v, n] : dist.values) {
    if (v == 0) zero += n;
    if (v < edges.front() || v >= edges.back()) continue;
    const auto bin = static_cast<std::size_t>((v - edges.front()) / width);
    if (bin < counts.size()) {
      counts[bin] += 100.0 * static_cast<double>(n) / total;
      shown += n;
    }
  }
  svg::Plot p(dist.node_type + ": lowest readings", 420, 250);
  p.x.label = "node power (W)";
  p.y.label = "share of the type's readings (%)";
  p.Histogram(edges, counts, {svg::kCpuColor, 1, 0.8, "", "", ""});
  if (std::isfinite(idle)) {
    p.VLine(idle, {svg::kRed, 1.8, 1, "", "idle = " + FormatSig(idle, 4) + " W", ""});
  }
  std::string caption = "Readings of all " + EscapeHtml(dist.node_type) + " nodes from " + FormatSig(lo, 4) +
                        " W up to about the 10 % quantile (" + FormatPercent(static_cast<double>(shown) / total) +
                        " of " + Counted(static_cast<std::int64_t>(total), "reading") + "), in " + FormatSig(width, 3) +
                        " W bins. Red: the idle power (" + FormatSig(100 * c.r.idle_quantile, 3) + " % quantile).";
  if (below > 0) {
    caption += " Not drawn: " + Counted(below, "reading") + " below " + FormatSig(lo, 4) + " W (lowest " +
               FormatSig(dist.values.front().first, 4) + " W";
    caption += zero > 0 ? "; " + FormatCount(zero) + " at 0 W)." : ").";
  }
  return c.Figure(p, caption);
}

// Index of the per-node quantile that is the idle quantile ("p2", else the
// one at the idle level); the count of names when there is none.
std::size_t IdleQuantileIndex(const results::PipelineResults& r) {
  std::size_t q_index = r.node_quantile_names.size();
  for (std::size_t q = 0; q < r.node_quantile_names.size(); ++q) {
    if (r.node_quantile_names[q] == "p2") q_index = q;
  }
  if (q_index == r.node_quantile_names.size()) {
    for (std::size_t q = 0; q < r.node_quantile_levels.size(); ++q) {
      if (std::abs(r.node_quantile_levels[q] - r.idle_quantile) < 1e-12) q_index = q;
    }
  }
  return q_index;
}

using NodeValues = std::vector<std::pair<std::string, double>>;  // node, its idle quantile

// One type's box, whiskers and nodes at x, relative to its pooled idle power
// (its median node without one); returns the type's table row.
std::string SpreadOfType(svg::Plot* p, double x, const std::string& type, const NodeValues& nodes, bool gpu,
                         double pooled, std::vector<double>* idle_x, std::vector<double>* idle_y) {
  std::vector<double> vals;
  for (const auto& [name, v] : nodes) vals.push_back(v);
  std::sort(vals.begin(), vals.end());
  const double q25 = SortedQuantile(vals, 0.25), q50 = SortedQuantile(vals, 0.5), q75 = SortedQuantile(vals, 0.75);
  const std::string color = gpu ? svg::kGpuColor : svg::kCpuColor;
  const double ref = std::isfinite(pooled) ? pooled : q50;
  p->Rect(x - 0.28, x + 0.28, q25 - ref, q75 - ref, {color, 1, 0.18, "", "", ""});
  p->Rect(x - 0.28, x + 0.28, q25 - ref, q75 - ref, {color, 1.2, 1, "", "", ""}, true);
  p->Line({x - 0.28, x + 0.28}, {q50 - ref, q50 - ref}, {color, 2.2, 1, "", "", ""});
  p->Line({x, x}, {vals.front() - ref, q25 - ref}, {color, 1, 1, "", "", ""});
  p->Line({x, x}, {q75 - ref, vals.back() - ref}, {color, 1, 1, "", "", ""});
  std::vector<double> xs, ys;
  for (std::size_t k : Subsample(nodes.size(), 400)) {
    xs.push_back(x + 0.42 * Jitter(nodes[k].first));
    ys.push_back(nodes[k].second - ref);
  }
  p->Points(xs, ys, {color, 2.2, 0.55, "", "", ""});
  if (std::isfinite(pooled)) {
    idle_x->push_back(x);
    idle_y->push_back(0);
    p->Text(x + 0.3, 0, FormatSig(pooled, 4) + " W", "#111");
  }
  return "<tr><td class=\"l\">" + EscapeHtml(type) + "</td><td>" + FormatCount(static_cast<std::int64_t>(vals.size())) +
         "</td><td>" + FormatSig(vals.front(), 4) + " W</td><td>" + FormatSig(q25, 4) + " W</td><td>" +
         FormatSig(q50, 4) + " W</td><td>" + FormatSig(q75, 4) + " W</td><td>" + FormatSig(vals.back(), 4) +
         " W</td><td>" + FormatSig(pooled, 4) + " W</td></tr>";
}

// Per-node spread of the idle quantile: a figure and a table; empty without nodes.
std::string SpreadBetweenNodes(Context& c, const TypeRuns& type_runs, const std::map<std::string, double>& idle_of) {
  const auto& r = c.r;
  const std::size_t q_index = IdleQuantileIndex(r);
  const std::string q_name = q_index < r.node_quantile_names.size() ? r.node_quantile_names[q_index] : "idle quantile";
  std::map<std::string, NodeValues> per_type;
  for (const auto& n : r.nodes) {
    const double v = q_index < n.quantiles.size() ? n.quantiles[q_index] : n.idle_quantile;
    if (std::isfinite(v) && n.count > 0) per_type[n.node_type].emplace_back(n.node, v);
  }
  if (per_type.empty()) return "";
  svg::Plot p("Per-node " + q_name + " against the type's idle power", 620, 360);
  p.y.label = "node's " + q_name + " \u2212 type's idle power (W)";
  p.x.label = "node type";
  std::vector<std::string> order;
  for (const auto& t : r.idle) {
    if (per_type.count(t.node_type)) order.push_back(t.node_type);
  }
  for (const auto& [t, v] : per_type) {
    if (std::find(order.begin(), order.end(), t) == order.end()) order.push_back(t);
  }
  p.x.min = 0.4;
  p.x.max = static_cast<double>(order.size()) + 0.6;
  std::vector<double> idle_x, idle_y;
  std::string table =
      "<table><tr><th class=\"l\">node type</th><th>nodes</th><th>min</th><th>lower quartile</th>"
      "<th>median</th><th>upper quartile</th><th>max</th><th>pooled idle</th></tr>";
  for (std::size_t i = 0; i < order.size(); ++i) {
    const double x = static_cast<double>(i) + 1;
    p.x.custom_ticks.emplace_back(x, order[i]);
    table += SpreadOfType(&p, x, order[i], per_type[order[i]], TypeClass(type_runs, order[i]) == "gpu",
                          IdleOf(idle_of, order[i]), &idle_x, &idle_y);
  }
  table += "</table>";
  p.Points(idle_x, idle_y, {"#111", 4.5, 0.9, "", "type's pooled idle power (0 on this axis)", ""});
  p.LegendEntry("one dot per node (box: quartiles, whiskers: min\u2013max)", svg::kCpuColor, svg::Swatch::kDot);
  std::string h = "<h3>Spread between nodes</h3><div class=\"figs\">";
  h += c.Figure(p, "Each node's own " + EscapeHtml(q_name) +
                       " power (from <code>node_power_dist.csv</code>) minus "
                       "its type's pooled idle power (black, labelled in W). A node far from its type's box idles "
                       "differently from its siblings (hardware, firmware or a stuck job).");
  h += "<div>" + table + "</div></div>";
  return h;
}

// Set-up and tear-down per run, per class, beside the paper's.
std::string OverheadsTable(const results::PipelineResults& r) {
  std::string h = "<h3>Overheads</h3><p>Set-up and tear-down per run: the " +
                  std::string(
                      "5 % quantile of the standardized energy and of the run time of the smallest runs (tiny "
                      "data set, smallest sizes); subtracted for the trends of sections 3 and 4, kept for the "
                      "model.</p>");
  if (r.overheads.empty()) return h + "<p class=\"note\">No overheads were computed.</p>";
  h += "<table><tr><th class=\"l\">class</th><th>runs</th><th>energy overhead</th><th>run-time overhead</th>"
       "<th>BUTTER-E (paper)</th></tr>";
  for (const auto& o : r.overheads) {
    h += "<tr><td class=\"l\">" + std::string(o.is_gpu ? "gpu" : "cpu") + "</td><td>" + FormatCount(o.runs) +
         "</td><td>" + FormatEnergy(o.energy_overhead_j) + "</td><td>" + FormatSig(o.runtime_overhead_s, 4) +
         " s</td><td>" + (o.is_gpu ? "27.2 kJ, 656 s" : "14.0 kJ, 52.9 s") + "</td></tr>";
  }
  h += "</table>";
  return h;
}

}  // namespace

std::string IdleSection(Context& c) {
  const auto& r = c.r;
  const TypeRuns type_runs = CountTypeRuns(r);
  std::map<std::string, double> idle_of;
  for (const auto& t : r.idle) idle_of[t.node_type] = t.idle_w;

  std::string h = "<section id=\"idle\"><h2>2 Idle power per node type</h2>";
  h += IdleTable(r, type_runs);
  h += "<h3>Readings near the low end, per type</h3><div class=\"figs\">";
  for (const auto& dist : r.type_low_end) {
    if (!dist.values.empty()) h += LowEndFigure(c, dist, IdleOf(idle_of, dist.node_type));
  }
  h += "</div>";
  if (r.type_low_end.empty()) h += "<p class=\"note\">The results carry no per-type distributions.</p>";
  h += SpreadBetweenNodes(c, type_runs, idle_of);
  h += OverheadsTable(r);
  h += "</section>";
  return h;
}

}  // namespace wattrun::report
