#include "stages/integrate/energy_counter.h"

#include <algorithm>
#include <cstddef>

namespace wattrun::integrate {

bool CounterIntervals::Add(TimeUs t, double joules, CounterInterval* interval) {
  const bool have = have_prev_;
  if (have) {
    interval->begin = prev_t_;
    interval->end = t;
    interval->reset = joules < prev_joules_;
    interval->joules = interval->reset ? joules : joules - prev_joules_;
    if (interval->reset) ++resets_;
  }
  have_prev_ = true;
  prev_t_ = t;
  prev_joules_ = joules;
  return have;
}

double CounterEnergy(const std::vector<TimeUs>& time, const std::vector<double>& joules, TimeUs s, TimeUs u) {
  CounterIntervals intervals;
  CounterInterval interval;
  double energy = 0;
  for (std::size_t i = 0; i < time.size() && i < joules.size(); ++i) {
    if (!intervals.Add(time[i], joules[i], &interval)) continue;
    const TimeUs from = std::max(s, interval.begin);
    const TimeUs to = std::min(u, interval.end);
    if (to <= from) continue;
    // The whole increment when the window holds the interval, so that
    // windows at readings give C(u) - C(s) exactly; else its share.
    energy += to - from == interval.end - interval.begin ? interval.joules
                                                         : interval.joules * static_cast<double>(to - from) /
                                                               static_cast<double>(interval.end - interval.begin);
  }
  return energy;
}

}  // namespace wattrun::integrate
