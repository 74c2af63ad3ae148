// Energy counters in the pass (facility.telemetry.kind: energy_counter): a
// node's cumulative joules, streamed in time order, turned in this one place
// into the step-held powers that the run integration, the facility
// accountant and the quantile counts take unchanged (the rules are
// integrate::CounterIntervals').
//
// The released reading at t_i carries the power of the interval
// (t_i, t_{i+1}], held from t_i to the next reading as the step rule holds
// it, so step integration over [s, u] inside the node's span is C(u) - C(s).
// The node's last reading carries the power of the interval before it: it
// is held over nothing (run windows are clipped to the node's span by
// ClipToCounterSpan, and the accountant adds no energy after a node's last
// reading). Releases lag one reading behind: Finish releases the last.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/time.h"
#include "stages/integrate/energy_counter.h"
#include "stages/integrate/integrate.h"

namespace wattrun::pass {

class CounterPowers {
 public:
  // Counter readings (J) in increasing time, after any earlier ones.
  // `counted`: they are the unit's own, not the neighbours read for its
  // edges; the intervals that end at them go to interval_watts() and their
  // drops to resets(), so that each interval of a node is counted once.
  void Add(const TimeUs* time, const double* joules, std::size_t n, bool counted);
  // Releases the last reading (0 W when it was the only one).
  void Finish();

  // Power readings released since the last Clear (the input's times).
  const std::vector<TimeUs>& times() const { return times_; }
  const std::vector<double>& watts() const { return watts_; }
  // One power per counted interval (n - 1 for a node of n readings).
  const std::vector<double>& interval_watts() const { return interval_watts_; }
  // After the released readings and interval powers were consumed.
  void Clear();
  std::int64_t resets() const { return resets_; }  // counted ones

 private:
  integrate::CounterIntervals intervals_;
  bool pending_ = false;  // a reading waits for the interval after it
  TimeUs pending_t_ = 0;
  double last_watts_ = 0;  // of the interval ending at the pending reading
  std::vector<TimeUs> times_;
  std::vector<double> watts_;
  std::vector<double> interval_watts_;
  std::int64_t resets_ = 0;
};

// Run windows clipped to the node's span [first, last] of counter readings
// (held outside: no energy there, where the step rule would hold the first
// power back before the first reading). A window outside the span becomes
// an empty one just before it: no energy, no sample.
void ClipToCounterSpan(TimeUs first, TimeUs last, std::vector<integrate::RunWindow>* windows);

}  // namespace wattrun::pass
