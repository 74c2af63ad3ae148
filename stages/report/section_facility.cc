// Section 8: facility accounting (spec sections 4-5): every Slurm job's
// energy, by month and partition, the share of the metered energy that jobs
// received, the largest accounts, users and jobs, wattrun against Slurm's own
// counter, and carbon over time.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "core/time.h"
#include "stages/report/context.h"
#include "stages/report/format.h"
#include "stages/report/stats.h"

namespace wattrun::report {
namespace {

constexpr double kJoulesPerKwh = 3.6e6;
constexpr std::size_t kTop = 10;
constexpr const char* kUnallocatedColor = "#d5d9e0";
const char* const kPalette[] = {"#1f77b4", "#d95f02", "#2ca02c", "#9467bd", "#8c564b",
                                "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};

std::string Color(std::size_t i) { return kPalette[i % (sizeof kPalette / sizeof kPalette[0])]; }

// An energy unit for an axis or a table, chosen by the largest value.
struct EnergyUnit {
  double joules = kJoulesPerKwh;
  std::string name = "kWh";
};
EnergyUnit UnitFor(double max_j) {
  if (max_j >= 1e3 * 1e3 * kJoulesPerKwh) return {1e6 * kJoulesPerKwh, "GWh"};
  if (max_j >= 1e3 * kJoulesPerKwh) return {1e3 * kJoulesPerKwh, "MWh"};
  return {};
}

// "kg" below a tonne, then "t".
std::string Carbon(double grams) {
  if (!std::isfinite(grams)) return FormatSig(grams);
  return grams >= 1e6 ? FormatSig(grams / 1e6, 4) + " t CO\u2082e" : FormatKgCo2e(grams / 1e3);
}

std::string Cell(const std::string& text, bool left = false) {
  return std::string(left ? "<td class=\"l\">" : "<td>") + text + "</td>";
}

std::string BarCell(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", std::clamp(100 * fraction, 0.3, 100.0));
  return "<td class=\"l\" style=\"width:160px\"><div class=\"bar\" style=\"width:" + std::string(buf) +
         "%\"></div></td>";
}

// Months (YYYY-MM) in order, with their x positions 0, 1, ... on a bar chart.
std::map<std::string, double> MonthSlots(std::vector<std::string> months) {
  std::sort(months.begin(), months.end());
  months.erase(std::unique(months.begin(), months.end()), months.end());
  std::map<std::string, double> slots;
  for (const auto& m : months) slots.emplace(m, static_cast<double>(slots.size()));
  return slots;
}

// A bar chart over months: the x axis labelled with every month (every
// second or third when there are many).
void MonthAxis(svg::Plot* p, const std::map<std::string, double>& slots) {
  const std::size_t every = slots.size() > 24 ? 3 : slots.size() > 12 ? 2 : 1;
  std::size_t i = 0;
  for (const auto& [month, x] : slots) {
    if (i++ % every == 0) p->x.custom_ticks.emplace_back(x, month);
  }
  p->x.label = "month";
  p->x.min = -0.6;
  p->x.max = static_cast<double>(slots.size()) - 0.4;
}

std::string EnergyByPartition(Context& c) {
  const auto& usage = c.r.usage;
  if (usage.empty()) return "<p class=\"note\">No usage table (energy per month and partition) in these results.</p>";
  std::map<std::string, double> by_partition;
  std::map<std::string, double> by_month;
  std::vector<std::string> months;
  for (const auto& u : usage) {
    by_partition[u.partition] += u.energy_j;
    by_month[u.month] += u.energy_j;
    months.push_back(u.month);
  }
  // The largest partitions get their own colour, the rest are "other".
  std::vector<std::pair<double, std::string>> order;
  order.reserve(by_partition.size());
  for (const auto& [name, j] : by_partition) order.emplace_back(-j, name);
  std::sort(order.begin(), order.end());
  std::map<std::string, std::size_t> colour;
  for (std::size_t i = 0; i < order.size(); ++i) colour[order[i].second] = std::min<std::size_t>(i, 7);
  double max_month = 0;
  for (const auto& [m, j] : by_month) max_month = std::max(max_month, j);
  const EnergyUnit unit = UnitFor(max_month);
  const auto slots = MonthSlots(months);

  svg::Plot p("Job energy per month, by partition", 640, 360);
  MonthAxis(&p, slots);
  p.y.label = "energy (" + unit.name + ")";
  p.y.include_zero = true;
  std::map<std::string, double> stacked;                        // month -> top of its stack
  std::map<std::pair<std::string, std::size_t>, double> cells;  // (month, colour) -> J
  for (const auto& u : usage) cells[{u.month, colour[u.partition]}] += u.energy_j;
  for (const auto& [key, j] : cells) {
    const double x = slots.at(key.first);
    double& base = stacked[key.first];
    const std::string name = key.second < 7 ? order[key.second].second : "other";
    p.Rect(x - 0.38, x + 0.38, base / unit.joules, (base + j) / unit.joules,
           {Color(key.second), 1, 0.9, "", "", key.first + " " + name + ": " + FormatEnergy(j)});
    base += j;
  }
  for (std::size_t i = 0; i < std::min<std::size_t>(order.size(), 8); ++i) {
    p.LegendEntry(i < 7 ? order[i].second : "other", Color(i), svg::Swatch::kBox);
  }
  return c.Figure(p,
                  "Energy that jobs received per calendar month (a job spanning months counts in each with its "
                  "part), stacked by Slurm partition, from <code>usage.csv</code>.");
}

// Per node type: metered energy, what jobs received, what no job did.
struct TypeLedger {
  double metered = 0, job = 0, unallocated = 0, missing_s = 0;
};

std::string LedgerTable(const std::map<std::string, TypeLedger>& types, const EnergyUnit& unit) {
  std::string h = "<table><tr><th class=\"l\">node type</th><th>metered (" + unit.name + ")</th><th>to jobs (" +
                  unit.name + ")</th><th>unallocated (" + unit.name +
                  ")</th><th>share to jobs</th><th class=\"l\"></th><th>telemetry missing (node hours)</th></tr>";
  TypeLedger sum;
  for (const auto& [type, t] : types) {
    const double share = t.metered > 0 ? t.job / t.metered : std::nan("");
    h += "<tr>" + Cell(EscapeHtml(type), true) + Cell(FormatSig(t.metered / unit.joules, 4)) +
         Cell(FormatSig(t.job / unit.joules, 4)) + Cell(FormatSig(t.unallocated / unit.joules, 4)) +
         Cell(FormatPercent(share)) + (t.metered > 0 ? BarCell(share) : Cell("")) +
         Cell(FormatSig(t.missing_s / 3600, 4)) + "</tr>";
    sum.metered += t.metered;
    sum.job += t.job;
    sum.unallocated += t.unallocated;
    sum.missing_s += t.missing_s;
  }
  const double share = sum.metered > 0 ? sum.job / sum.metered : std::nan("");
  h += "<tr class=\"sum\">" + Cell("all", true) + Cell(FormatSig(sum.metered / unit.joules, 4)) +
       Cell(FormatSig(sum.job / unit.joules, 4)) + Cell(FormatSig(sum.unallocated / unit.joules, 4)) +
       Cell(FormatPercent(share)) + Cell("") + Cell(FormatSig(sum.missing_s / 3600, 4)) + "</tr></table>";
  return h;
}

std::string MeteredShare(Context& c) {
  const auto& ledger = c.r.ledger;
  if (ledger.empty())
    return "<p class=\"note\">No ledger (metered energy per month and node type) in these results.</p>";
  std::map<std::string, TypeLedger> types;
  std::vector<std::string> months;
  double max_metered = 0;
  for (const auto& l : ledger) {
    TypeLedger& t = types[l.node_type];
    t.metered += l.metered_energy_j;
    t.job += l.job_energy_j;
    t.unallocated += l.unallocated_energy_j;
    t.missing_s += l.missing_s;
    max_metered = std::max(max_metered, t.metered);
    months.push_back(l.month);
  }
  std::map<std::string, std::size_t> type_index;
  for (const auto& [type, t] : types) type_index.emplace(type, type_index.size());
  const auto slots = MonthSlots(months);
  const double width = 0.8 / static_cast<double>(types.size());

  svg::Plot p("Share of the metered energy that went to jobs", 640, 360);
  MonthAxis(&p, slots);
  p.y.label = "share of the month's metered energy (%)";
  p.y.min = 0;
  p.y.max = 100;
  for (const auto& l : ledger) {
    if (!(l.metered_energy_j > 0)) continue;
    const std::size_t t = type_index.at(l.node_type);
    const double x0 = slots.at(l.month) - 0.4 + width * static_cast<double>(t);
    const double share = std::clamp(100 * l.job_energy_j / l.metered_energy_j, 0.0, 100.0);
    const std::string what = l.month + " " + l.node_type + ": ";
    p.Rect(x0, x0 + width * 0.92, 0, share, {Color(t), 1, 0.9, "", "", what + FormatSig(share, 3) + " % to jobs"});
    p.Rect(x0, x0 + width * 0.92, share, 100,
           {kUnallocatedColor, 1, 1, "", "", what + FormatEnergy(l.unallocated_energy_j) + " unallocated"});
  }
  for (const auto& [type, t] : type_index) p.LegendEntry("jobs on " + type, Color(t), svg::Swatch::kBox);
  p.LegendEntry("unallocated", kUnallocatedColor, svg::Swatch::kBox);
  return c.Figure(p,
                  "Per month and node type (one bar each, in the order of the legend): the part of the energy "
                  "metered on the type's nodes that jobs received (coloured) and the part no job did "
                  "(<i>unallocated</i>: idle nodes, unallocated CPUs; grey), from <code>ledger.csv</code>.") +
         LedgerTable(types, UnitFor(max_metered));
}

// Jobs, node hours, energy and carbon of one account or user.
struct Holder {
  std::string name;
  std::int64_t jobs = 0;
  double node_hours = 0, energy_j = 0, carbon_g = 0;
};

std::vector<Holder> Largest(const std::vector<results::JobRow>& jobs, bool by_account) {
  std::map<std::string, Holder> by_name;
  for (const auto& j : jobs) {
    if (!j.energy_j) continue;
    const std::string& key = by_account ? j.account : j.user;
    Holder& h = by_name[key];
    h.name = key.empty() ? "(none)" : key;
    h.jobs += 1;
    h.node_hours += j.node_hours.value_or(0);
    h.energy_j += *j.energy_j;
    h.carbon_g += j.carbon_g.value_or(0);
  }
  std::vector<Holder> out;
  out.reserve(by_name.size());
  for (auto& [k, h] : by_name) out.push_back(std::move(h));
  std::sort(out.begin(), out.end(), [](const Holder& a, const Holder& b) { return a.energy_j > b.energy_j; });
  return out;
}

std::string HolderTable(const std::string& title, const std::vector<Holder>& all, double total_j) {
  std::string h = "<div><h3>" + title +
                  "</h3><table><tr><th>#</th><th class=\"l\">name</th><th>jobs</th>"
                  "<th>node hours</th><th>energy</th><th>share</th><th class=\"l\"></th><th>carbon</th></tr>";
  for (std::size_t i = 0; i < std::min(all.size(), kTop); ++i) {
    const Holder& x = all[i];
    const double share = total_j > 0 ? x.energy_j / total_j : 0.0;
    h += "<tr>" + Cell(std::to_string(i + 1)) + Cell(EscapeHtml(x.name), true) + Cell(FormatCount(x.jobs)) +
         Cell(FormatSig(x.node_hours, 4)) + Cell(FormatEnergy(x.energy_j)) + Cell(FormatPercent(share)) +
         BarCell(share) + Cell(Carbon(x.carbon_g)) + "</tr>";
  }
  if (all.size() > kTop) {
    h += "<tr class=\"sub\"><td></td><td class=\"l\" colspan=\"7\">" +
         FormatCount(static_cast<std::int64_t>(all.size() - kTop)) + " more</td></tr>";
  }
  return h + "</table></div>";
}

std::string TopJobs(const std::vector<results::JobRow>& jobs) {
  std::vector<const results::JobRow*> order;
  for (const auto& j : jobs) {
    if (j.energy_j) order.push_back(&j);
  }
  std::sort(order.begin(), order.end(), [](const auto* a, const auto* b) { return *a->energy_j > *b->energy_j; });
  const auto shown = static_cast<std::int64_t>(std::min(order.size(), kTop));
  std::string h =
      "<h3>" + (shown == 1 ? std::string("The job") : "The " + Counted(shown, "job")) +
      " with the most energy</h3>"
      "<table><tr><th class=\"l\">job</th><th class=\"l\">user</th><th class=\"l\">account</th>"
      "<th class=\"l\">partition</th><th>nodes</th><th class=\"l\">start (UTC)</th><th>run time (h)</th>"
      "<th>energy</th><th>dynamic</th><th>carbon</th><th>Slurm's energy</th><th class=\"l\">status</th></tr>";
  for (std::size_t i = 0; i < std::min(order.size(), kTop); ++i) {
    const results::JobRow& j = *order[i];
    const double dynamic = j.dynamic_energy_j && *j.energy_j > 0 ? *j.dynamic_energy_j / *j.energy_j : std::nan("");
    h += "<tr>" + Cell("<code>" + EscapeHtml(j.job_id) + "</code>", true) + Cell(EscapeHtml(j.user), true) +
         Cell(EscapeHtml(j.account), true) + Cell(EscapeHtml(j.partition), true) + Cell(FormatCount(j.nodes)) +
         Cell(j.start ? FormatUtc(*j.start).substr(0, 16) : "", true) +
         Cell(FormatSig(j.run_time_s.value_or(std::nan("")) / 3600, 3)) + Cell(FormatEnergy(*j.energy_j)) +
         Cell(FormatPercent(dynamic)) + Cell(j.carbon_g ? Carbon(*j.carbon_g) : "") +
         Cell(j.slurm_energy_j ? FormatEnergy(*j.slurm_energy_j) : "") + Cell(EscapeHtml(j.status), true) + "</tr>";
  }
  return h +
         "</table><p class=\"note\">dynamic: the share of the job's energy above its nodes' idle power "
         "(negative when readings fall below the idle quantile).</p>";
}

// wattrun's job energy against Slurm's ConsumedEnergy, where Slurm had one.
std::string SlurmComparison(Context& c) {
  std::vector<double> ours, theirs, ratio;
  std::size_t started = 0;
  for (const auto& j : c.r.jobs) {
    started += j.energy_j.has_value();
    if (!j.energy_j || !j.slurm_energy_j || !(*j.energy_j > 0) || !(*j.slurm_energy_j > 0)) continue;
    ours.push_back(*j.energy_j / kJoulesPerKwh);
    theirs.push_back(*j.slurm_energy_j / kJoulesPerKwh);
    ratio.push_back(*j.slurm_energy_j / *j.energy_j);
  }
  std::string h = "<h3>wattrun against Slurm's ConsumedEnergy</h3>";
  if (ratio.empty()) {
    return h +
           "<p>Slurm recorded no energy for any job (<code>ConsumedEnergyRaw</code> empty or 0: no "
           "<code>acct_gather_energy</code> plugin), so there is nothing to compare with.</p>";
  }
  const Quartiles q = Summarize(ratio);
  h += "<p>Slurm's own counter is given for <b>" + FormatCount(static_cast<std::int64_t>(ratio.size())) + "</b> of " +
       Counted(static_cast<std::int64_t>(started), "started job") + ". Slurm / wattrun: median <b>" +
       FormatSig(q.q50, 3) + "</b>, quartiles " + FormatSig(q.q25, 3) + "\u2013" + FormatSig(q.q75, 3) +
       ". Slurm's counters (RAPL, IPMI) usually measure less of the node than the facility's meter.</p>";
  h += "<div class=\"figs\">";
  {
    svg::Plot p("Slurm's energy against wattrun's, per job", 460, 400);
    p.x.label = "wattrun energy (kWh)";
    p.y.label = "Slurm ConsumedEnergy (kWh)";
    p.x.scale = p.y.scale = svg::Scale::kLog;
    std::vector<double> xs, ys;
    for (std::size_t i : Subsample(ours.size(), 3000)) {
      xs.push_back(ours[i]);
      ys.push_back(theirs[i]);
    }
    const double lo =
        std::min(*std::min_element(ours.begin(), ours.end()), *std::min_element(theirs.begin(), theirs.end()));
    const double hi =
        std::max(*std::max_element(ours.begin(), ours.end()), *std::max_element(theirs.begin(), theirs.end()));
    p.Line({lo, hi}, {lo, hi}, {svg::kGrey, 1.2, 1, "5 3", "equal", ""});
    p.Points(xs, ys, {svg::kCpuColor, 2.2, 0.5, "", "jobs", ""});
    h += c.Figure(p, "One point per job with both energies (log axes); dashed: equal.");
  }
  {
    svg::Plot p("Slurm / wattrun energy", 460, 400);
    p.x.label = "ratio Slurm / wattrun";
    p.x.scale = svg::Scale::kLog;
    p.y.label = "jobs per bin";
    const auto [mn, mx] = std::minmax_element(ratio.begin(), ratio.end());
    const auto edges = LogEdges(*mn / 1.01, *mx * 1.01, 40);
    p.Histogram(edges, CountInBins(ratio, edges), {svg::kCpuColor, 1, 0.7, "", "", ""});
    p.VLine(q.q50, {svg::kRed, 1.5, 1, "", "median", ""});
    p.VLine(q.q25, {svg::kRed, 1, 1, "4 3", "quartiles", ""});
    p.VLine(q.q75, {svg::kRed, 1, 1, "4 3", "", ""});
    h += c.Figure(p, "Distribution of the ratio (log axis), with its median and quartiles.");
  }
  return h + "</div>";
}

// Month starts as instants (UTC), for the intensity series' ticks.
std::vector<std::pair<TimeUs, std::string>> MonthStarts(TimeUs from, TimeUs to) {
  std::vector<std::pair<TimeUs, std::string>> out;
  const CivilDate d = CivilFromDays(FloorDiv(from, kMicrosPerDay));
  int year = d.year, month = d.month;
  for (int guard = 0; guard < 1200; ++guard) {
    const TimeUs t = DaysFromCivil(year, static_cast<unsigned>(month), 1) * kMicrosPerDay;
    if (t > to) break;
    char label[16];
    std::snprintf(label, sizeof label, "%04d-%02d", year, month);
    if (t >= from) out.emplace_back(t, label);
    if (++month > 12) month = 1, ++year;
  }
  return out;
}

std::string IntensityFigure(Context& c) {
  const auto& series = c.r.carbon_intensity;
  const TimeUs t0 = series.front().first, t1 = series.back().first;
  svg::Plot p("Carbon intensity of the grid", 640, 320);
  p.x.label = "time (UTC)";
  p.y.label = "g CO\u2082e/kWh";
  p.y.include_zero = true;
  std::vector<double> xs, ys;
  for (const auto& [t, g] : series) {
    xs.push_back(static_cast<double>(t - t0) / static_cast<double>(kMicrosPerDay));
    ys.push_back(g);
  }
  // A step per value: each holds until the next.
  std::vector<double> sx, sy;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    sx.push_back(xs[i]);
    sy.push_back(ys[i]);
    if (i + 1 < xs.size()) {
      sx.push_back(xs[i + 1]);
      sy.push_back(ys[i]);
    }
  }
  p.Line(sx, sy, {"#2ca02c", 1.2, 1, "", "", ""});
  const auto starts = MonthStarts(t0, t1);
  for (const auto& [t, label] : starts)
    p.x.custom_ticks.emplace_back(static_cast<double>(t - t0) / static_cast<double>(kMicrosPerDay), label);
  if (starts.empty()) p.x.label = "days since " + FormatUtc(t0).substr(0, 10) + " (UTC)";
  const Quartiles q = Summarize(ys);
  return c.Figure(
      p, "<code>carbon_intensity.csv</code> as used: " + Counted(static_cast<std::int64_t>(ys.size()), "value") +
             ", median " + FormatSig(q.q50, 4) + " g/kWh (quartiles " + FormatSig(q.q25, 4) + "\u2013" +
             FormatSig(q.q75, 4) + "); each holds until the next.");
}

std::string CarbonOverTime(Context& c) {
  const auto& r = c.r;
  std::map<std::string, double> grams, joules;
  for (const auto& u : r.usage) {
    grams[u.month] += u.carbon_g;
    joules[u.month] += u.energy_j;
  }
  std::string h =
      "<h3>Carbon over time</h3><p>Each job's emissions = its energy in each intensity interval "
      "\u00d7 the interval's intensity \u00d7 PUE " +
      FormatSig(r.pue, 3) + "; " +
      (r.carbon_intensity.empty() ? "no <code>carbon_intensity.csv</code> was given, so the constant " +
                                        FormatSig(r.carbon_g_per_kwh, 4) + " g CO\u2082e/kWh holds throughout."
                                  : "the intensity series of <code>carbon_intensity.csv</code> below.") +
      "</p><div class=\"figs\">";
  if (!grams.empty()) {
    double max_g = 0;
    for (const auto& [m, g] : grams) max_g = std::max(max_g, g);
    const bool tonnes = max_g >= 1e6;
    std::vector<std::string> months;
    months.reserve(grams.size());
    for (const auto& [m, g] : grams) months.push_back(m);
    const auto slots = MonthSlots(months);
    svg::Plot p("Job emissions per month", 640, 320);
    MonthAxis(&p, slots);
    p.y.label = tonnes ? "emissions (t CO\u2082e)" : "emissions (kg CO\u2082e)";
    p.y.include_zero = true;
    for (const auto& [m, g] : grams) {
      const double x = slots.at(m);
      const double kwh = joules[m] / kJoulesPerKwh;
      const std::string per_kwh = kwh > 0 ? ", " + FormatSig(g / kwh, 4) + " g/kWh" : "";
      p.Rect(x - 0.38, x + 0.38, 0, g / (tonnes ? 1e6 : 1e3),
             {"#6b8e23", 1, 0.9, "", "", m + ": " + Carbon(g) + per_kwh});
    }
    h += c.Figure(p, "Emissions of the jobs' energy per month, from <code>usage.csv</code>.");
  }
  if (!r.carbon_intensity.empty()) h += IntensityFigure(c);
  return h + "</div>";
}

std::string Summary(const Context& c) {
  const auto& r = c.r;
  std::int64_t started = 0;
  double energy = 0, node_hours = 0, carbon = 0, metered = 0, to_jobs = 0;
  for (const auto& j : r.jobs) {
    if (!j.energy_j) continue;
    ++started;
    energy += *j.energy_j;
    node_hours += j.node_hours.value_or(0);
    carbon += j.carbon_g.value_or(0);
  }
  for (const auto& l : r.ledger) {
    metered += l.metered_energy_j;
    to_jobs += l.job_energy_j;
  }
  auto card = [](const std::string& v, const std::string& l) {
    return "<div class=\"card\"><div class=\"v\">" + v + "</div><div class=\"l\">" + l + "</div></div>";
  };
  std::string h = "<div class=\"cards\">";
  const auto jobs = static_cast<std::int64_t>(r.jobs.size());
  h += card(FormatCount(jobs), Noun(jobs, "job") + " (sacct allocations)");
  h += card(FormatCount(started), Noun(started, "job") + " that started");
  h += card(FormatSig(energy / kJoulesPerKwh, 4) + " kWh", "energy of the jobs");
  h += card(FormatSig(node_hours, 4), node_hours == 1 ? "node hour" : "node hours");
  h += card(Carbon(carbon), "emissions of the jobs");
  if (metered > 0) h += card(FormatPercent(to_jobs / metered), "of the metered energy went to jobs");
  return h + "</div>";
}

}  // namespace

std::string FacilitySection(Context& c) {
  const auto& r = c.r;
  std::string h = "<section id=\"facility\"><h2>8 Facility accounting</h2>";
  if (r.jobs.empty()) {
    return h +
           "<p>Facility accounting had no jobs: the sacct logs held no allocation lines, so there is no "
           "per-job energy, usage or ledger to show.</p></section>";
  }
  h += "<p>Every Slurm job's energy from the same telemetry: a node's power is shared among the jobs on it in "
       "proportion to their allocated CPUs (an exclusive job receives the whole node). Tables: "
       "<code>jobs_energy.csv</code>, <code>usage.csv</code>, <code>ledger.csv</code>; "
       "<code>wattrun job --output DIR JOBID</code> shows one job.</p>";
  h += Summary(c);
  h += "<div class=\"figs\">" + EnergyByPartition(c) + "</div>";
  h += MeteredShare(c);
  double total = 0;
  for (const auto& j : r.jobs) total += j.energy_j.value_or(0);
  h += "<div class=\"figs\">" + HolderTable("The largest accounts", Largest(r.jobs, true), total) +
       HolderTable("The largest users", Largest(r.jobs, false), total) + "</div>";
  h += TopJobs(r.jobs);
  h += SlurmComparison(c);
  h += CarbonOverTime(c);
  return h + "</section>";
}

}  // namespace wattrun::report
