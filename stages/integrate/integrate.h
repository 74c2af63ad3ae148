// Energy of runs from one node's readings (spec step 3), streamed: readings
// arrive in time order in chunks of any size, and every run on the node is
// integrated in one pass. The result does not depend on the chunking.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/time.h"

namespace wattrun::integrate {

enum class Method {
  kLinear,  // paper: W linear between samples, held beyond the first/last
  kStep,    // notebooks: W[i] held until the next sample
};

struct RunWindow {
  TimeUs start = 0;
  TimeUs end = 0;
};

struct RunIntegral {
  double energy_j = 0.0;     // meaningful when samples > 0
  std::int64_t samples = 0;  // readings with start <= t <= end
  bool has_zero = false;     // a reading of 0 W inside the window
};

// Integrates many runs of one node. Windows may overlap and come in any
// order; results are returned in the order of the windows given.
class NodeIntegrator {
 public:
  NodeIntegrator(std::vector<RunWindow> windows, Method method);

  // Counts samples (and 0 W readings) only with from <= t < until: when a
  // node's series is split into time blocks, each block counts its own
  // samples while its integrals still see the neighbours on either side.
  void SetCountRange(TimeUs from, TimeUs until) {
    count_from_ = from;
    count_until_ = until;
  }

  // Readings in increasing time, in as many calls as convenient.
  void Add(const TimeUs* time, const double* watts, std::size_t n);
  // Closes the windows that extend past the last reading. Call once.
  void Finish();
  const std::vector<RunIntegral>& results() const { return results_; }

 private:
  void AddSample(TimeUs t, double w);
  void Contribute(std::size_t run, TimeUs t, double w);
  std::vector<RunWindow> windows_;
  std::vector<std::size_t> by_start_;  // window indices sorted by start
  std::size_t next_ = 0;               // next window in by_start_ to activate
  std::vector<std::size_t> active_;
  std::vector<RunIntegral> results_;
  Method method_;
  TimeUs count_from_ = std::numeric_limits<TimeUs>::min();
  TimeUs count_until_ = std::numeric_limits<TimeUs>::max();
  bool have_prev_ = false;
  TimeUs prev_t_ = 0;
  double prev_w_ = 0.0;
};

// Convenience for tests and small data: integrates one window over arrays.
RunIntegral IntegrateWindow(const std::vector<TimeUs>& time, const std::vector<double>& watts, RunWindow window,
                            Method method);

}  // namespace wattrun::integrate
