#include "stages/integrate/integrate.h"

#include <algorithm>
#include <numeric>

namespace wattrun::integrate {
namespace {

// W at x on the segment (t0, w0) -> (t1, w1), t0 < x < t1.
double Interpolate(TimeUs t0, double w0, TimeUs t1, double w1, TimeUs x) {
  return w0 + (w1 - w0) * (ToSeconds(x - t0) / ToSeconds(t1 - t0));
}

}  // namespace

NodeIntegrator::NodeIntegrator(std::vector<RunWindow> windows, Method method)
    : windows_(std::move(windows)), by_start_(windows_.size()), results_(windows_.size()), method_(method) {
  std::iota(by_start_.begin(), by_start_.end(), 0);
  std::stable_sort(by_start_.begin(), by_start_.end(),
                   [&](std::size_t a, std::size_t b) { return windows_[a].start < windows_[b].start; });
}

void NodeIntegrator::Add(const TimeUs* time, const double* watts, std::size_t n) {
  std::size_t i = 0;
  while (i < n) {
    if (active_.empty()) {
      // No window open (most of a node's readings): of the readings before
      // the next window's start only the last one matters, as its neighbour.
      const TimeUs next_start =
          next_ < by_start_.size() ? windows_[by_start_[next_]].start : std::numeric_limits<TimeUs>::max();
      const std::size_t j = static_cast<std::size_t>(std::lower_bound(time + i, time + n, next_start) - time);
      if (j > i) {
        have_prev_ = true;
        prev_t_ = time[j - 1];
        prev_w_ = watts[j - 1];
        i = j;
        continue;
      }
    }
    AddSample(time[i], watts[i]);
    ++i;
  }
}

// The part of the run's integral contributed by the interval from the
// previous sample to the sample (t, w), or by the hold before the first one.
void NodeIntegrator::Contribute(std::size_t run, TimeUs t, double w) {
  const RunWindow& win = windows_[run];
  RunIntegral& r = results_[run];
  if (method_ == Method::kLinear) {
    if (!have_prev_) {
      // No sample before: the first sample's value is held back to the start.
      if (win.start < t) r.energy_j += ToSeconds(std::min(win.end, t) - win.start) * w;
      return;
    }
    const TimeUs x = std::max(win.start, prev_t_);
    const TimeUs y = std::min(win.end, t);
    if (y <= x) return;
    const double wx = x == prev_t_ ? prev_w_ : Interpolate(prev_t_, prev_w_, t, w, x);
    const double wy = y == t ? w : Interpolate(prev_t_, prev_w_, t, w, y);
    r.energy_j += ToSeconds(y - x) * (wx + wy) / 2.0;
    return;
  }
  // Step rule (notebooks): W[first-1] * (t[first] - s) + sum W[i] (t[i+1] - t[i])
  // + W[last] * (u - t[last]); W[first-1] is W[first] without an earlier sample.
  if (t >= win.start && t <= win.end) {
    if (!have_prev_ || prev_t_ < win.start) {
      r.energy_j += ToSeconds(t - win.start) * (have_prev_ ? prev_w_ : w);
    } else {
      r.energy_j += ToSeconds(t - prev_t_) * prev_w_;
    }
  } else if (t > win.end && have_prev_ && prev_t_ >= win.start && prev_t_ <= win.end) {
    r.energy_j += ToSeconds(win.end - prev_t_) * prev_w_;
  } else if (t > win.end && have_prev_ && prev_t_ < win.start) {
    // No sample inside the window (a short run, or a run's piece in a time
    // block of the pass): W[prev] held over all of it.
    r.energy_j += ToSeconds(win.end - win.start) * prev_w_;
  }
}

void NodeIntegrator::AddSample(TimeUs t, double w) {
  while (next_ < by_start_.size() && windows_[by_start_[next_]].start <= t) active_.push_back(by_start_[next_++]);
  std::size_t kept = 0;
  for (std::size_t k = 0; k < active_.size(); ++k) {
    const std::size_t run = active_[k];
    const RunWindow& win = windows_[run];
    Contribute(run, t, w);
    if (t >= win.start && t <= win.end && t >= count_from_ && t < count_until_) {
      ++results_[run].samples;
      if (w == 0.0) results_[run].has_zero = true;
    }
    if (t < win.end) active_[kept++] = run;  // still open
  }
  active_.resize(kept);
  have_prev_ = true;
  prev_t_ = t;
  prev_w_ = w;
}

void NodeIntegrator::Finish() {
  if (!have_prev_) return;  // no readings at all: nothing to integrate
  // Windows still open, and windows that start after the last reading.
  while (next_ < by_start_.size()) active_.push_back(by_start_[next_++]);
  for (std::size_t run : active_) {
    const RunWindow& win = windows_[run];
    RunIntegral& r = results_[run];
    if (method_ == Method::kLinear) {
      const TimeUs x = std::max(win.start, prev_t_);
      if (win.end > x) r.energy_j += ToSeconds(win.end - x) * prev_w_;
    } else if (prev_t_ >= win.start && prev_t_ <= win.end) {
      r.energy_j += ToSeconds(win.end - prev_t_) * prev_w_;
    }
  }
  active_.clear();
}

RunIntegral IntegrateWindow(const std::vector<TimeUs>& time, const std::vector<double>& watts, RunWindow window,
                            Method method) {
  NodeIntegrator integrator({window}, method);
  integrator.Add(time.data(), watts.data(), time.size());
  integrator.Finish();
  return integrator.results()[0];
}

}  // namespace wattrun::integrate
