#include "stages/pass/counter_powers.h"

#include <algorithm>

namespace wattrun::pass {

void CounterPowers::Add(const TimeUs* time, const double* joules, std::size_t n, bool counted) {
  integrate::CounterInterval interval;
  for (std::size_t i = 0; i < n; ++i) {
    if (intervals_.Add(time[i], joules[i], &interval)) {
      last_watts_ = interval.watts();
      times_.push_back(pending_t_);  // interval.begin
      watts_.push_back(last_watts_);
      if (counted) {
        interval_watts_.push_back(last_watts_);
        resets_ += interval.reset;
      }
    }
    pending_ = true;
    pending_t_ = time[i];
  }
}

void CounterPowers::Finish() {
  if (!pending_) return;
  times_.push_back(pending_t_);
  watts_.push_back(last_watts_);
  pending_ = false;
}

void CounterPowers::Clear() {
  times_.clear();
  watts_.clear();
  interval_watts_.clear();
}

void ClipToCounterSpan(TimeUs first, TimeUs last, std::vector<integrate::RunWindow>* windows) {
  for (integrate::RunWindow& w : *windows) {
    if (w.end < first || w.start > last) {
      w = {first - 1, first - 1};
    } else {
      w = {std::max(w.start, first), std::min(w.end, last)};
    }
  }
}

}  // namespace wattrun::pass
