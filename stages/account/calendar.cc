#include "stages/account/calendar.h"

#include <algorithm>
#include <cstdio>

namespace wattrun::account {
namespace {

struct YearMonth {
  int year = 1970;
  int month = 1;
};

YearMonth LocalYearMonth(const TimeZone& zone, TimeUs t) {
  const CivilDate d = CivilFromDays(FloorDiv(t + zone.OffsetAt(t), kMicrosPerDay));
  return {d.year, d.month};
}

YearMonth Next(YearMonth m) { return m.month == 12 ? YearMonth{m.year + 1, 1} : YearMonth{m.year, m.month + 1}; }

std::string Label(YearMonth m) {
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02d", m.year, m.month);
  return text;
}

}  // namespace

int MonthTable::IndexOf(TimeUs t) const {
  if (labels.empty() || t < starts.front() || t >= starts.back()) return -1;
  const auto it = std::upper_bound(starts.begin(), starts.end(), t);
  return static_cast<int>(it - starts.begin()) - 1;
}

TimeUs LocalMonthStart(const TimeZone& zone, int year, int month) {
  const std::int64_t wall = DaysFromCivil(year, static_cast<unsigned>(month), 1) * kMicrosPerDay;
  return zone.FromLocal(wall).earlier;
}

MonthTable MonthsCovering(const TimeZone& zone, TimeUs first, TimeUs last) {
  MonthTable table;
  YearMonth m = LocalYearMonth(zone, first);
  const YearMonth end = LocalYearMonth(zone, last);
  while (true) {
    table.starts.push_back(LocalMonthStart(zone, m.year, m.month));
    table.labels.push_back(Label(m));
    if (m.year == end.year && m.month == end.month) break;
    m = Next(m);
  }
  const YearMonth after = Next(m);
  table.starts.push_back(LocalMonthStart(zone, after.year, after.month));
  return table;
}

}  // namespace wattrun::account
