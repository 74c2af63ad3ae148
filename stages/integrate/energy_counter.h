// Energy counters (facility.telemetry.kind: energy_counter; issue 16): a
// node's cumulative energy in joules, C, read at instants t_0 < t_1 < ...,
// instead of its power. The rules, written once here:
// - the increment of interval i, (t_i, t_{i+1}], is C_{i+1} - C_i, or C_{i+1}
//   when the counter dropped: a reset (the counter restarted from 0 and
//   counted C_{i+1} since, as Prometheus' increase() takes it);
// - C is linear inside an interval: its power ΔC/Δt holds over the whole
//   interval, attributed to it (0 W: an interval with no increase);
// - C is held outside the readings: no energy before the first or after the
//   last reading.
// Energy over [s, u] is then C(u) - C(s) with resets added back. The pass
// reads counters through pass::CounterPowers (stages/pass/counter_powers.h),
// built on CounterIntervals; CounterEnergy is the reference its tests
// compare with.
#pragma once

#include <cstdint>
#include <vector>

#include "core/time.h"

namespace wattrun::integrate {

// One interval between consecutive counter readings.
struct CounterInterval {
  TimeUs begin = 0;
  TimeUs end = 0;      // > begin
  double joules = 0;   // the increment, >= 0 when readings are
  bool reset = false;  // the counter dropped across it
  double watts() const { return joules / ToSeconds(end - begin); }
};

// Turns one node's readings, in increasing time and in any chunking, into
// its intervals, one per reading after the first.
class CounterIntervals {
 public:
  // The interval ending at (t, joules), if there was an earlier reading.
  bool Add(TimeUs t, double joules, CounterInterval* interval);
  std::int64_t resets() const { return resets_; }

 private:
  bool have_prev_ = false;
  TimeUs prev_t_ = 0;
  double prev_joules_ = 0;
  std::int64_t resets_ = 0;
};

// Energy over [s, u] from one node's readings by the rules above.
double CounterEnergy(const std::vector<TimeUs>& time, const std::vector<double>& joules, TimeUs s, TimeUs u);

}  // namespace wattrun::integrate
