// Calendar months of a time zone as UTC instants (spec section 4: months are
// calendar months in `scheduler.timezone`).
#pragma once

#include <string>
#include <vector>

#include "core/time.h"

namespace wattrun::account {

// Consecutive local calendar months; month i is [starts[i], starts[i+1]).
struct MonthTable {
  std::vector<TimeUs> starts;       // one more than labels: the last is an end
  std::vector<std::string> labels;  // "YYYY-MM"
  std::size_t size() const { return labels.size(); }
  // Index of the month holding t, or -1 outside the table.
  int IndexOf(TimeUs t) const;
};

// The UTC instant of local midnight starting month (year, month) in zone;
// if that midnight does not exist (a zone that springs forward at 00:00),
// the instant of the transition.
TimeUs LocalMonthStart(const TimeZone& zone, int year, int month);

// The months covering [first, last] (both inclusive, first <= last).
MonthTable MonthsCovering(const TimeZone& zone, TimeUs first, TimeUs last);

}  // namespace wattrun::account
