// Section 7: carbon emissions = energy × PUE × carbon intensity (the
// CodeCarbon method of the carbon lecture).
#include <algorithm>
#include <cmath>

#include "stages/report/context.h"
#include "stages/report/format.h"
#include "stages/report/stats.h"

namespace wattrun::report {
namespace {

constexpr double kJoulesPerKwh = 3.6e6;
constexpr double kWorldAverage = 475.0;

// Carbon intensity of electricity by source (g CO2e/kWh), CodeCarbon's table.
const std::vector<std::pair<std::string, double>>& SourceIntensities() {
  static const std::vector<std::pair<std::string, double>> kSources = {
      {"coal", 995}, {"petroleum", 816}, {"natural gas", 743}, {"world average", kWorldAverage},
      {"solar", 48}, {"geothermal", 38}, {"nuclear", 29},      {"hydroelectricity", 26},
      {"wind", 26}};
  return kSources;
}

// Emissions are stated in kg CO2e throughout.
std::string Mass(double kg) { return FormatKgCo2e(kg); }

// Where the carbon intensity came from, as HTML.
std::string IntensitySource(const results::PipelineResults& r) {
  if (!r.carbon_source.empty()) return EscapeHtml(r.carbon_source);
  return std::abs(r.carbon_g_per_kwh - kWorldAverage) < 1e-9
             ? "world average (CodeCarbon's default when neither the grid's carbon intensity nor its energy mix "
               "is known)"
             : "configured intensity (<code>pipeline.carbon.intensity_g_per_kwh</code>)";
}

struct Totals {
  std::int64_t runs = 0;
  double joules = 0;
  std::vector<double> per_run_g;
};

// Measured energy of the ok runs per class (cpu, gpu), and of the runs with
// incomplete telemetry (a lower bound; no per-run emissions).
struct EnergyTotals {
  Totals per_class[2], incomplete;
  double ok_joules() const { return per_class[0].joules + per_class[1].joules; }
};

EnergyTotals SumEnergy(const results::PipelineResults& r, double factor_kg_per_j) {
  EnergyTotals e;
  for (const auto& run : r.runs) {
    if (!run.energy_j) continue;
    if (run.status == "ok") {
      Totals& t = e.per_class[run.is_gpu ? 1 : 0];
      ++t.runs;
      t.joules += *run.energy_j;
      t.per_run_g.push_back(*run.energy_j * factor_kg_per_j * 1000);
    } else {
      ++e.incomplete.runs;
      e.incomplete.joules += *run.energy_j;
    }
  }
  return e;
}

// Energy and emissions per class, of all ok runs, and of the incomplete runs.
std::string EmissionsTable(const results::PipelineResults& r, const EnergyTotals& e, double factor_kg_per_j) {
  const double total_j = e.ok_joules();
  std::string h =
      "<table><tr><th class=\"l\">runs</th><th>runs</th><th>energy</th>"
      "<th>energy at the meter \u00d7 PUE</th><th>emissions (CO\u2082e)</th><th>per run: median</th>"
      "<th>interquartile range</th></tr>";
  for (int g = 0; g < 2; ++g) {
    const Totals& t = e.per_class[g];
    if (t.runs == 0) continue;
    const Quartiles q = Summarize(t.per_run_g);
    h += "<tr><td class=\"l\">" + std::string(g ? "gpu" : "cpu") + ", status ok</td><td>" + FormatCount(t.runs) +
         "</td><td>" + FormatSig(t.joules / kJoulesPerKwh, 4) + " kWh</td><td>" +
         FormatSig(t.joules * r.pue / kJoulesPerKwh, 4) + " kWh</td><td><b>" + Mass(t.joules * factor_kg_per_j) +
         "</b></td><td>" + Mass(q.q50 / 1000) + "</td><td>" + FormatSig(q.q25 / 1000, 4) + "\u2013" +
         Mass(q.q75 / 1000) + "</td></tr>";
  }
  h += "<tr class=\"sum\"><td class=\"l\">all ok runs</td><td>" +
       FormatCount(e.per_class[0].runs + e.per_class[1].runs) + "</td><td>" + FormatSig(total_j / kJoulesPerKwh, 4) +
       " kWh</td><td>" + FormatSig(total_j * r.pue / kJoulesPerKwh, 4) + " kWh</td><td>" +
       Mass(total_j * factor_kg_per_j) + "</td><td></td><td></td></tr>";
  if (e.incomplete.runs > 0) {
    h += "<tr class=\"sub\"><td class=\"l\">runs with incomplete telemetry (lower bound)</td><td>" +
         FormatCount(e.incomplete.runs) + "</td><td>" + FormatSig(e.incomplete.joules / kJoulesPerKwh, 4) +
         " kWh</td><td>" + FormatSig(e.incomplete.joules * r.pue / kJoulesPerKwh, 4) + " kWh</td><td>" +
         Mass(e.incomplete.joules * factor_kg_per_j) + "</td><td></td><td></td></tr>";
  }
  h += "</table>";
  return h;
}

// Histograms of the ok runs' emissions, per class.
std::string PerRunFigure(Context& c, const EnergyTotals& e) {
  const auto& r = c.r;
  svg::Plot p("Emissions per run", 620, 340);
  p.x.label = "emissions per run (g CO\u2082e)";
  p.x.scale = svg::Scale::kLog;
  p.y.label = "runs per bin";
  std::vector<double> all = e.per_class[0].per_run_g;
  all.insert(all.end(), e.per_class[1].per_run_g.begin(), e.per_class[1].per_run_g.end());
  all.erase(std::remove_if(all.begin(), all.end(), [](double v) { return !(v > 0); }), all.end());
  if (!all.empty()) {
    const auto [mn, mx] = std::minmax_element(all.begin(), all.end());
    const auto edges = LogEdges(*mn / 1.01, *mx * 1.01, 50);
    for (int g = 0; g < 2; ++g) {
      if (e.per_class[g].per_run_g.empty()) continue;
      const HardwareClass* cls = c.Class(g == 1);
      p.Histogram(edges, CountInBins(e.per_class[g].per_run_g, edges),
                  {cls ? cls->color : svg::kCpuColor, 1, 0.55, "", g ? "gpu runs" : "cpu runs", ""});
    }
  }
  return c.Figure(p, "Per-run emissions of the <code>ok</code> runs at " + FormatSig(r.carbon_g_per_kwh, 4) +
                         " g/kWh and PUE " + FormatSig(r.pue, 3) + " (overlaid, semi-transparent).");
}

// What-if: the same energy on other grids.
std::string OtherGridsFigure(Context& c, double total_j) {
  const auto& r = c.r;
  const double g_per_kwh = r.carbon_g_per_kwh;
  std::vector<std::pair<std::string, double>> rows = SourceIntensities();
  bool listed = false;
  for (const auto& [name, g] : rows) listed |= std::abs(g - g_per_kwh) < 1e-9;
  if (!listed) rows.emplace_back("this report's intensity", g_per_kwh);
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  svg::Plot p("The same energy on other grids", 560, 340);
  p.x.label = "total emissions of the ok runs (kg CO\u2082e)";
  p.x.include_zero = true;
  p.y.label = "";
  p.margin_left = 150;
  p.y.min = 0.4;
  p.y.max = static_cast<double>(rows.size()) + 0.6;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const double y = static_cast<double>(rows.size() - i);
    const double kg = total_j * r.pue * rows[i].second / 1000 / kJoulesPerKwh;
    const bool current = std::abs(rows[i].second - g_per_kwh) < 1e-9;
    p.Rect(0, kg, y - 0.35, y + 0.35, {current ? svg::kRed : "#8c9db5", 1, 1, "", "", rows[i].first + ": " + Mass(kg)});
    p.y.custom_ticks.emplace_back(y, rows[i].first + " (" + FormatSig(rows[i].second, 4) + " g/kWh)");
  }
  p.x.min = 0;
  return c.Figure(p, "Total emissions of the same " + FormatSig(total_j / kJoulesPerKwh, 4) +
                         " kWh if the grid were all one source (g CO\u2082e/kWh in brackets; CodeCarbon's table, "
                         "as in the carbon lecture); red: the intensity used here.");
}

}  // namespace

std::string CarbonSection(Context& c) {
  const auto& r = c.r;
  const double g_per_kwh = r.carbon_g_per_kwh;
  const double factor_kg_per_j = r.pue * g_per_kwh / 1000 / kJoulesPerKwh;
  std::string h = "<section id=\"carbon\"><h2>7 Carbon</h2>";
  h += "<p>Emissions = energy \u00d7 PUE \u00d7 carbon intensity. Carbon intensity: <b>" + FormatSig(g_per_kwh, 4) +
       " g CO\u2082e/kWh</b>, " + IntensitySource(r) + ". PUE (facility overhead: cooling, power conversion): <b>" +
       FormatSig(r.pue, 3) +
       "</b>. Energy is the measured node energy of each run (not standardized), so this is "
       "what the runs drew from the grid through the facility; embodied emissions of the hardware are not "
       "included.</p>";
  const EnergyTotals totals = SumEnergy(r, factor_kg_per_j);
  h += EmissionsTable(r, totals, factor_kg_per_j);
  h += "<div class=\"figs\">";
  h += PerRunFigure(c, totals);
  h += OtherGridsFigure(c, totals.ok_joules());
  h += "</div></section>";
  return h;
}

}  // namespace wattrun::report
