// Section 9: telemetry coverage over time, for operators: the readings per
// UTC day of each node type, as the telemetry pass counted them. A day with
// no reading inside a type's span is a gap worth a look.
#include <algorithm>
#include <cmath>
#include <map>

#include "core/time.h"
#include "stages/report/context.h"
#include "stages/report/format.h"
#include "stages/report/stats.h"

namespace wattrun::report {
namespace {

std::string DayName(std::int64_t day) { return FormatUtcIso(day * kMicrosPerDay).substr(0, 10); }

std::string TypeName(const std::string& type) { return type.empty() ? "not in nodes.csv" : type; }

// One node type's readings per day over [first, last] of the whole record,
// zero where the type had none.
struct TypeSeries {
  std::string type;
  std::vector<double> readings;  // index: day - first
};

std::vector<TypeSeries> Series(const results::PipelineResults& r, std::int64_t first, std::int64_t last) {
  std::map<std::string, TypeSeries> by_type;
  for (const auto& row : r.coverage) {
    TypeSeries& s = by_type[row.node_type];
    s.type = row.node_type;
    s.readings.resize(static_cast<std::size_t>(last - first + 1), 0.0);
    s.readings[static_cast<std::size_t>(row.day - first)] += static_cast<double>(row.readings);
  }
  std::vector<TypeSeries> out;
  out.reserve(by_type.size());
  for (auto& [type, s] : by_type) out.push_back(std::move(s));
  return out;
}

// Date ticks: at most eight, a whole number of days apart.
std::vector<std::pair<double, std::string>> DayTicks(std::int64_t first, std::int64_t last) {
  const std::int64_t span = last - first;
  const std::int64_t step = std::max<std::int64_t>(1, (span + 7) / 8);
  std::vector<std::pair<double, std::string>> ticks;
  for (std::int64_t d = first; d <= last; d += step) ticks.emplace_back(static_cast<double>(d), DayName(d));
  return ticks;
}

std::string CoverageFigure(Context& c, const std::vector<TypeSeries>& series, std::int64_t first, std::int64_t last) {
  svg::Plot p("Telemetry readings per day, by node type", 900, 340);
  p.subtitle = "UTC days; 0 where a type had no reading that day";
  p.x.label = "day (UTC)";
  p.x.custom_ticks = DayTicks(first, last);
  p.x.min = static_cast<double>(first) - 0.5;
  p.x.max = static_cast<double>(last) + 0.5;
  p.y.label = "readings per day (count)";
  p.y.include_zero = true;
  std::vector<double> days;
  for (std::int64_t d = first; d <= last; ++d) days.push_back(static_cast<double>(d));
  for (std::size_t i = 0; i < series.size(); ++i) {
    const double t = series.size() > 1 ? 0.85 * static_cast<double>(i) / static_cast<double>(series.size() - 1) : 0.4;
    p.Line(days, series[i].readings, {svg::Sequential(t), 1.6, 1, "", TypeName(series[i].type), ""}, days.size() <= 62);
  }
  return c.Figure(p,
                  "Readings of each node type's nodes per UTC day, counted in the telemetry pass (every reading "
                  "the store holds). Dips mean nodes that stopped reporting or a collector outage.");
}

std::string CoverageTable(const std::vector<TypeSeries>& series, std::int64_t first) {
  std::string h =
      "<table><tr><th class=\"l\">node type</th><th>readings</th><th>days with readings</th><th>days without</th>"
      "<th>median per day</th><th class=\"l\">fewest (day)</th></tr>";
  for (const auto& s : series) {
    double total = 0;
    std::int64_t with = 0;
    std::vector<double> present;
    std::size_t fewest = 0;
    for (std::size_t d = 0; d < s.readings.size(); ++d) {
      total += s.readings[d];
      if (s.readings[d] > 0) {
        ++with;
        present.push_back(s.readings[d]);
      }
      if (s.readings[d] < s.readings[fewest]) fewest = d;
    }
    const auto without = static_cast<std::int64_t>(s.readings.size()) - with;
    h += "<tr><td class=\"l\">" + EscapeHtml(TypeName(s.type)) + "</td><td>" +
         Counted(static_cast<std::int64_t>(total), "reading") + "</td><td>" + Counted(with, "day") + "</td><td" +
         (without > 0 ? " class=\"no\"" : "") + ">" + Counted(without, "day") + "</td><td>" +
         Counted(static_cast<std::int64_t>(std::llround(Summarize(present).q50)), "reading") + "</td><td class=\"l\">" +
         Counted(static_cast<std::int64_t>(s.readings[fewest]), "reading") + " (" +
         DayName(first + static_cast<std::int64_t>(fewest)) + ")</td></tr>";
  }
  return h + "</table>";
}

}  // namespace

std::string CoverageSection(Context& c) {
  const auto& r = c.r;
  std::string h = "<section id=\"coverage\"><h2>9 Telemetry coverage over time</h2>";
  if (r.coverage.empty()) {
    return h +
           "<p>These results hold no readings per day (results.h5 from a wattrun before the count, or a store "
           "without telemetry).</p></section>";
  }
  std::int64_t first = r.coverage.front().day, last = first;
  for (const auto& row : r.coverage) {
    first = std::min(first, row.day);
    last = std::max(last, row.day);
  }
  const auto series = Series(r, first, last);
  h += "<p>" + Counted(last - first + 1, "day") + " of telemetry, " + DayName(first) + " to " + DayName(last) +
       " (UTC), " + Counted(static_cast<std::int64_t>(series.size()), "node type") +
       ". Also in results.h5 (<code>/telemetry_coverage</code>).</p>";
  h += CoverageTable(series, first);
  h += "<div class=\"figs\">" + CoverageFigure(c, series, first, last) + "</div></section>";
  return h;
}

}  // namespace wattrun::report
