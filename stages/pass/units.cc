#include "stages/pass/units.h"

#include <algorithm>
#include <limits>

namespace wattrun::pass {

std::vector<Unit> PlanUnits(store::TelemetryReader& reader) {
  std::vector<Unit> units;
  for (std::size_t node = 0; node < reader.nodes().size(); ++node) {
    const auto [first, last] = reader.TimeSpan(node);
    const TimeUs b0 = FloorDiv(first, kBlockUs), b1 = FloorDiv(last, kBlockUs);
    const double span = static_cast<double>(std::max<TimeUs>(last - first, 1));
    const double readings = static_cast<double>(reader.ReadingCount(node));
    for (TimeUs b = b0; b <= b1; ++b) {
      Unit u;
      u.node = node;
      u.from = b == b0 ? std::numeric_limits<TimeUs>::min() : b * kBlockUs;
      u.until = b == b1 ? std::numeric_limits<TimeUs>::max() : (b + 1) * kBlockUs;
      u.first_of_node = b == b0;
      u.last_of_node = b == b1;
      const double lo = static_cast<double>(std::max(first, b * kBlockUs));
      const double hi = static_cast<double>(std::min(last + 1, (b + 1) * kBlockUs));
      u.estimated_readings = b0 == b1 ? readings : readings * std::max(hi - lo, 0.0) / span;
      units.push_back(u);
    }
  }
  return units;
}

std::pair<std::size_t, std::size_t> UnitsOfRank(const std::vector<Unit>& units, int rank, int ranks) {
  double total = 0;
  for (const auto& u : units) total += u.estimated_readings + 1;
  std::size_t begin = units.size(), end = units.size();
  double cum = 0;
  for (std::size_t i = 0; i < units.size(); ++i) {
    const auto owner = static_cast<int>(std::min<double>(cum / total * ranks, ranks - 1));
    if (owner == rank && begin == units.size()) begin = i;
    if (owner > rank && end == units.size()) end = i;
    cum += units[i].estimated_readings + 1;
  }
  if (begin == units.size()) end = begin;
  return {begin, std::max(begin, end)};
}

}  // namespace wattrun::pass
