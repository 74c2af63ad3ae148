// Section 1: where the runs went (paper section 4 and Figure 2).
#include <algorithm>
#include <cmath>
#include <map>

#include "stages/report/context.h"
#include "stages/report/format.h"
#include "stages/report/stats.h"

namespace wattrun::report {
namespace {

// The statuses in the order the spec applies them, with what they mean.
const std::vector<std::pair<std::string, std::string>>& StatusMeanings() {
  static const std::vector<std::pair<std::string, std::string>> kMeanings = {
      {"bad_run_row", "run row unreadable (time, is_gpu or number)"},
      {"bad_window", "update_time before start_time"},
      {"unknown_node", "host not in nodes.csv"},
      {"no_job", "no Slurm job with the run's job id"},
      {"host_not_in_job", "host not in the job's node list"},
      {"outside_job_window", "run window outside the job's window"},
      {"job_running", "job still running (End = Unknown)"},
      {"missing_all", "no telemetry in the run window"},
      {"missing_some", "telemetry missing for at least a minute"},
      {"zero_watts", "a 0 W reading in the run window"},
      {"ok", "joined, complete telemetry"},
  };
  return kMeanings;
}

std::string Meaning(const std::string& status) {
  for (const auto& [s, m] : StatusMeanings()) {
    if (s == status) return m;
  }
  return "";
}

std::string BarCell(double fraction, bool lost) {
  const double pct = std::clamp(100 * fraction, 0.0, 100.0);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", std::max(pct, 0.3));
  return "<td class=\"l\" style=\"width:280px\"><div class=\"bar" + std::string(lost ? " lost" : "") +
         "\" style=\"width:" + buf + "%\"></div></td>";
}

using StatusCounts = std::vector<std::pair<std::string, std::int64_t>>;

// Status counts from quality.csv (the same numbers); from the runs if absent.
StatusCounts CountStatuses(const results::PipelineResults& r) {
  StatusCounts statuses;
  for (const auto& q : r.quality) {
    if (q.stage == "status") statuses.emplace_back(q.reason, q.count);
  }
  if (statuses.empty()) {
    std::map<std::string, std::int64_t> counts;
    for (const auto& run : r.runs) ++counts[run.status];
    for (const auto& [s, m] : StatusMeanings()) {
      if (counts.count(s)) statuses.emplace_back(s, counts[s]);
    }
    for (const auto& [s, n] : counts) {
      if (Meaning(s).empty()) statuses.emplace_back(s, n);
    }
  }
  return statuses;
}

// Runs that are ok and those each filter removes.
struct FilterCounts {
  std::int64_t ok = 0, f1 = 0, f3 = 0, f3_only = 0, filtered = 0, usable = 0;
};

// From quality.csv's filter rows; from the runs where they are absent.
FilterCounts CountFilters(const Context& c, const StatusCounts& statuses) {
  const auto& r = c.r;
  auto from_runs = [&](auto pred) {
    std::int64_t n = 0;
    for (const auto& run : r.runs) n += pred(run) ? 1 : 0;
    return n;
  };
  auto count = [&](const std::string& reason, auto pred) {
    const std::int64_t q = c.QualityCount("filter", reason);
    return q >= 0 ? q : from_runs(pred);
  };
  FilterCounts n;
  for (const auto& [s, k] : statuses) {
    if (s == "ok") n.ok = k;
  }
  n.f1 = count("filter_1", [](const results::RunRow& x) { return x.filter_1.value_or(false); });
  n.f3 = count("filter_3", [](const results::RunRow& x) { return x.filter_3.value_or(false); });
  n.f3_only = count("filter_3_not_filter_1",
                    [](const results::RunRow& x) { return x.filter_3.value_or(false) && !x.filter_1.value_or(false); });
  n.filtered = count("filter", [](const results::RunRow& x) { return x.filter.value_or(false); });
  n.usable = count("usable", [](const results::RunRow& x) { return x.usable; });
  return n;
}

// The account's table: runs in, lost per status, ok, the filters, usable.
std::string AccountTable(const results::PipelineResults& r, const StatusCounts& statuses, const FilterCounts& n) {
  const auto runs_in = static_cast<std::int64_t>(r.runs.size());
  const double denom = runs_in > 0 ? static_cast<double>(runs_in) : 1.0;
  std::string h =
      "<table><tr><th class=\"l\">step</th><th class=\"l\">reason</th><th>runs</th><th>share of runs in</th>"
      "<th class=\"l\"></th></tr>";
  h += "<tr class=\"sum\"><td class=\"l\">runs in</td><td class=\"l\">rows of runs.csv</td><td>" +
       FormatCount(runs_in) + "</td><td>100 %</td>" + BarCell(1.0, false) + "</tr>";
  for (const auto& [s, k] : statuses) {
    if (s == "ok") continue;
    h += "<tr class=\"sub\"><td class=\"l\">lost: <code>" + EscapeHtml(s) + "</code></td><td class=\"l\">" +
         EscapeHtml(Meaning(s)) + "</td><td>" + (k > 0 ? "\u2212" : "") + FormatCount(k) + "</td><td>" +
         FormatPercent(static_cast<double>(k) / denom) + "</td>" + BarCell(static_cast<double>(k) / denom, true) +
         "</tr>";
  }
  h += "<tr class=\"sum\"><td class=\"l\"><code>ok</code></td><td class=\"l\">" + EscapeHtml(Meaning("ok")) +
       "</td><td>" + FormatCount(n.ok) + "</td><td>" + FormatPercent(static_cast<double>(n.ok) / denom) + "</td>" +
       BarCell(static_cast<double>(n.ok) / denom, false) + "</tr>";
  h += "<tr class=\"sub\"><td class=\"l\">filter 1</td><td class=\"l\">run time &gt; " +
       FormatCount(static_cast<std::int64_t>(r.filter_max_run_time_s)) + " s</td><td>\u2212" + FormatCount(n.f1) +
       "</td><td>" + FormatPercent(static_cast<double>(n.f1) / denom) + "</td>" +
       BarCell(static_cast<double>(n.f1) / denom, true) + "</tr>";
  h += "<tr class=\"sub\"><td class=\"l\">filter 3</td><td class=\"l\">|z| of ln run time &gt; " +
       FormatSig(r.filter_max_stdevs, 3) + " \u03c3 (" + Counted(n.f3, "run") + " in all, " + FormatCount(n.f3_only) +
       " beyond filter 1)</td><td>\u2212" + FormatCount(n.f3_only) + "</td><td>" +
       FormatPercent(static_cast<double>(n.f3_only) / denom) + "</td>" +
       BarCell(static_cast<double>(n.f3_only) / denom, true) + "</tr>";
  h += "<tr class=\"sub\"><td class=\"l\">filtered</td><td class=\"l\">filter 1 or filter 3</td><td>\u2212" +
       FormatCount(n.filtered) + "</td><td>" + FormatPercent(static_cast<double>(n.filtered) / denom) + "</td>" +
       BarCell(static_cast<double>(n.filtered) / denom, true) + "</tr>";
  h += "<tr class=\"sum\"><td class=\"l\">usable</td><td class=\"l\"><code>ok</code> and not filtered</td><td>" +
       FormatCount(n.usable) + "</td><td>" + FormatPercent(static_cast<double>(n.usable) / denom) + "</td>" +
       BarCell(static_cast<double>(n.usable) / denom, false) + "</tr></table>";
  return h;
}

// Bad input rows, duplicates and conflicts by stage.
std::string InputRowsTable(const results::PipelineResults& r) {
  std::vector<const results::QualityRow*> input;
  for (const auto& q : r.quality) {
    if (q.stage != "status" && q.stage != "filter") input.push_back(&q);
  }
  std::string h = "<h3>Input rows not used</h3>";
  if (input.empty()) return h + "<p class=\"note\">No bad input rows, duplicates or conflicts were counted.</p>";
  h += "<p class=\"note\">Rows of the input files that were counted and set aside (never silently dropped); "
       "telemetry duplicates are kept once, conflicts keep the first value.</p>";
  h += "<table><tr><th class=\"l\">input</th><th class=\"l\">reason</th><th>rows</th></tr>";
  for (const auto* q : input) {
    h += "<tr><td class=\"l\">" + EscapeHtml(q->stage) + "</td><td class=\"l\">" + EscapeHtml(q->reason) + "</td><td>" +
         FormatCount(q->count) + "</td></tr>";
  }
  h += "</table>";
  return h;
}

// Run times and filter-3 z-scores of the ok runs, by what the filters did.
struct OkRuns {
  std::vector<double> kept, by_f1, by_f3, all_rt;  // run times (s)
  std::vector<double> z_kept, z_cut;
};

OkRuns CollectOkRuns(const results::PipelineResults& r) {
  OkRuns o;
  for (const auto& run : r.runs) {
    if (run.status != "ok") continue;
    if (run.run_time_s && *run.run_time_s > 0) {
      o.all_rt.push_back(*run.run_time_s);
      if (run.filter_1.value_or(false)) {
        o.by_f1.push_back(*run.run_time_s);
      } else if (run.filter_3.value_or(false)) {
        o.by_f3.push_back(*run.run_time_s);
      } else {
        o.kept.push_back(*run.run_time_s);
      }
    }
    if (run.filter_3_stdevs && std::isfinite(*run.filter_3_stdevs)) {
      (std::abs(*run.filter_3_stdevs) > r.filter_max_stdevs ? o.z_cut : o.z_kept).push_back(*run.filter_3_stdevs);
    }
  }
  return o;
}

// Figure 2a: run times of ok runs, stacked by filter.
std::string RunTimeFigure(Context& c, const OkRuns& o) {
  const auto& r = c.r;
  svg::Plot p("Run times of the ok runs (paper Figure 2a)", 620, 360);
  p.x.label = "run time (s)";
  p.x.scale = svg::Scale::kLog;
  p.y.label = "runs per bin";
  p.y.scale = svg::Scale::kLog;
  if (!o.all_rt.empty()) {
    const auto [mn, mx] = std::minmax_element(o.all_rt.begin(), o.all_rt.end());
    const double lo = std::min(*mn, r.filter_max_run_time_s / 2) * 0.98;
    const double hi = std::max(*mx, r.filter_max_run_time_s * 1.5) * 1.02;
    const auto edges = LogEdges(lo, hi, 50);
    const auto ck = CountInBins(o.kept, edges);
    const auto c3 = CountInBins(o.by_f3, edges);
    const auto c1 = CountInBins(o.by_f1, edges);
    std::vector<double> base = ck;
    p.Histogram(
        edges, ck,
        {svg::kCpuColor, 1, 0.85, "", "kept (" + Counted(static_cast<std::int64_t>(o.kept.size()), "run") + ")", ""});
    p.Histogram(edges, c3,
                {"#e69f00", 1, 0.9, "",
                 "filter 3 only (" + Counted(static_cast<std::int64_t>(o.by_f3.size()), "run") + ")", ""},
                &base);
    for (std::size_t i = 0; i < base.size(); ++i) base[i] += c3[i];
    p.Histogram(
        edges, c1,
        {svg::kRed, 1, 0.9, "", "filter 1 (" + Counted(static_cast<std::int64_t>(o.by_f1.size()), "run") + ")", ""},
        &base);
  }
  p.VLine(r.filter_max_run_time_s, {"#333", 1.4, 1, "5 3", "", ""},
          FormatCount(static_cast<std::int64_t>(r.filter_max_run_time_s)) + " s");
  return c.Figure(p,
                  "Histogram of the run time of every <code>ok</code> run on log axes; the dashed line is filter 1 "
                  "(run time &gt; " +
                      FormatCount(static_cast<std::int64_t>(r.filter_max_run_time_s)) +
                      " s). Bars are stacked: runs kept, runs removed by filter 3 alone, runs removed by filter 1.");
}

// Figure 2b: the filter-3 z-scores, kept and cut.
std::string ZScoreFigure(Context& c, const OkRuns& o) {
  const auto& r = c.r;
  svg::Plot p("Run-time z-scores within (class, data set, size) (paper Figure 2b)", 620, 360);
  p.x.label = "|ln run time \u2212 group mean| / group std (\u03c3)";
  p.y.label = "runs per bin";
  p.y.scale = svg::Scale::kLog;
  std::vector<double> all = o.z_kept;
  all.insert(all.end(), o.z_cut.begin(), o.z_cut.end());
  if (!all.empty()) {
    const auto [mn, mx] = std::minmax_element(all.begin(), all.end());
    const double lo = std::min(0.0, *mn);
    const double hi = std::max(*mx, r.filter_max_stdevs * 1.25);
    const auto edges = LinearEdges(lo, hi, 60);
    p.Histogram(edges, CountInBins(o.z_kept, edges),
                {svg::kCpuColor, 1, 0.85, "", "within " + FormatSig(r.filter_max_stdevs, 3) + " \u03c3", ""});
    p.Histogram(
        edges, CountInBins(o.z_cut, edges),
        {svg::kRed, 1, 0.9, "", "beyond (" + Counted(static_cast<std::int64_t>(o.z_cut.size()), "run") + ")", ""});
    if (lo < 0)
      p.VLine(-r.filter_max_stdevs, {"#333", 1.4, 1, "5 3", "", ""},
              "\u2212" + FormatSig(r.filter_max_stdevs, 3) + " \u03c3");
  }
  p.VLine(r.filter_max_stdevs, {"#333", 1.4, 1, "5 3", "", ""}, FormatSig(r.filter_max_stdevs, 3) + " \u03c3");
  return c.Figure(p,
                  "Histogram of <code>filter_3_stdevs</code> over the <code>ok</code> runs (groups of equal "
                  "hardware class, data set and size; population standard deviation). Runs beyond the dashed "
                  "threshold are removed by filter 3.");
}

}  // namespace

std::string DataAccountSection(Context& c) {
  const auto& r = c.r;
  const StatusCounts statuses = CountStatuses(r);
  const FilterCounts counts = CountFilters(c, statuses);
  std::string h = "<section id=\"account\"><h2>1 The data account</h2>";
  h += "<p>Every run of <code>runs.csv</code> is accounted for: it either joins a Slurm job and a complete power "
       "record (status <code>ok</code>) or is counted under the first reason that applies; <code>ok</code> runs "
       "then pass the two filters of the paper (run time above " +
       FormatCount(static_cast<std::int64_t>(r.filter_max_run_time_s)) + " s; log run time more than " +
       FormatSig(r.filter_max_stdevs, 3) +
       " standard deviations from its group's mean). BUTTER-E (paper, "
       "section 4): 41,129 runs, 195 with missing and 470 with 0 W power data, 163 removed by filter 1 and 78 more "
       "by filter 3, 40,223 usable.</p>";
  h += AccountTable(r, statuses, counts);
  h += InputRowsTable(r);
  h += WorstFilesTable(c);
  const OkRuns ok_runs = CollectOkRuns(r);
  h += "<div class=\"figs\">";
  h += RunTimeFigure(c, ok_runs);
  h += ZScoreFigure(c, ok_runs);
  h += "</div></section>";
  return h;
}

}  // namespace wattrun::report
