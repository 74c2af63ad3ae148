// The plan builder (stages/generate/plan_builder.h): the runs' injected
// faults: join faults (runs.csv) and telemetry faults.

#include "stages/generate/plan_builder.h"

#include <algorithm>
#include <cmath>

namespace wattrun::generate::plan_internal {
namespace {

// The paper's counts per 41,129 runs (section 4; spec steps 4-5).
constexpr double kPaperNoTelemetry = 44;
constexpr double kPaperLostMinute = 137;
constexpr double kPaperLostMinutes = 14;
constexpr double kPaperZeroWatts = 470;
// Join and row faults of a real facility (this generator's choice), per 41,129 runs.
constexpr double kDirtUnknownNode = 4;
constexpr double kDirtNoJob = 12;
constexpr double kDirtHostNotInJob = 8;
constexpr double kDirtOutsideJobWindow = 8;
constexpr double kDirtBadRunRow = 4;
constexpr double kDirtBadWindow = 3;

}  // namespace

// Runs that reach runs.csv (not dropped).
std::int64_t PlanBuilder::WrittenRuns() const {
  return static_cast<std::int64_t>(
      std::count_if(plan_.runs.begin(), plan_.runs.end(), [](const PlanRun& r) { return !r.dropped; }));
}

// Runs free for a new fault: no fault yet, written, final job.
std::vector<std::size_t> PlanBuilder::Candidates(Rng* rng) const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < plan_.runs.size(); ++i) {
    const PlanRun& r = plan_.runs[i];
    if (r.dropped || r.fault != RunFault::kNone) continue;
    out.push_back(i);
  }
  rng->Shuffle(&out);
  return out;
}

void PlanBuilder::InjectJoinFaults() {
  Rng rng(seed(), Stream::kJoinFaults, 0);
  const std::int64_t n = WrittenRuns();
  std::vector<std::size_t> pool = Candidates(&rng);
  std::size_t next = 0;
  std::int64_t max_raw = 0;
  for (const PlanJob& j : plan_.jobs) max_raw = std::max(max_raw, j.raw_id);
  auto take = [&](RunFault fault, double rate, const char* name, auto&& apply) {
    const std::int64_t want = std::min<std::int64_t>(Target(rate, n), std::max<std::int64_t>(0, n / 50));
    std::int64_t made = 0;
    while (made < want && next < pool.size()) {
      PlanRun& run = plan_.runs[pool[next++]];
      if (!apply(run)) continue;
      run.fault = fault;
      ++made;
    }
    plan_.intended[name] = made;
  };
  take(RunFault::kUnknownNode, kDirtUnknownNode, "unknown_node", [&](PlanRun& r) {
    r.written_host = plan_.unknown_node_name;
    return true;
  });
  std::int64_t missing_id = max_raw + 100;
  take(RunFault::kNoJob, kDirtNoJob, "no_job", [&](PlanRun& r) {
    missing_id += rng.Int(3, 40);
    r.written_job_id = std::to_string(missing_id);
    return true;
  });
  take(RunFault::kHostNotInJob, kDirtHostNotInJob, "host_not_in_job", [&](PlanRun& r) {
    const auto& nodes = plan_.classes[static_cast<std::size_t>(r.hw_class)].nodes;
    if (nodes.size() < 2) return false;
    int other = r.node;
    while (other == r.node)
      other = nodes[static_cast<std::size_t>(rng.Int(0, static_cast<std::int64_t>(nodes.size()) - 1))];
    r.written_host = plan_.nodes[static_cast<std::size_t>(other)].name;
    return true;
  });
  take(RunFault::kOutsideJobWindow, kDirtOutsideJobWindow, "outside_job_window", [&](PlanRun& r) {
    const PlanJob& job = plan_.jobs[static_cast<std::size_t>(r.job)];
    const TimeMs shift = rng.Int(3600, std::int64_t{3} * 3600) * kMsPerSecond;
    TimeMs start = job.end_ms + shift;  // after the job ended
    if (start + r.run_time_s * kMsPerSecond > plan_.window_end) {
      start = job.start_ms - shift - r.run_time_s * kMsPerSecond;  // before it started
    }
    r.written_start_ms = start;
    r.written_update_ms = start + r.run_time_s * kMsPerSecond;
    return true;
  });
  static const char* kFields[] = {"start_time", "is_gpu", "size"};
  int field = 0;
  take(RunFault::kBadRunRow, kDirtBadRunRow, "bad_run_row", [&](PlanRun& r) {
    r.corrupt_field = kFields[field++ % 3];
    return true;
  });
  take(RunFault::kBadWindow, kDirtBadWindow, "bad_window", [&](PlanRun& r) {
    r.written_update_ms = r.written_start_ms - rng.Int(60, 3600) * kMsPerSecond;
    return true;
  });
}

void PlanBuilder::AddOverride(int node, std::int64_t first, std::int64_t last, bool zero) {
  auto& v = plan_.nodes[static_cast<std::size_t>(node)].series.overrides;
  ReadingOverride o;
  o.first_tick = std::max(first, plan_.first_tick);
  o.last_tick = std::min(last, plan_.last_tick);
  if (o.first_tick > o.last_tick) return;
  o.zero = zero;
  const auto it = std::lower_bound(v.begin(), v.end(), o, [](const ReadingOverride& a, const ReadingOverride& b) {
    return a.first_tick < b.first_tick;
  });
  v.insert(it, o);
}

// Jobs with no telemetry at all: every run in them is missing_all.
void PlanBuilder::InjectNoTelemetryJobs(std::int64_t n, TimeMs pad, Rng* rng) {
  const std::int64_t want = Target(kPaperNoTelemetry, n);
  std::vector<std::size_t> jobs;
  for (std::size_t j = 0; j < plan_.jobs.size(); ++j) {
    const PlanJob& job = plan_.jobs[j];
    if (!job.butter || !job.started || job.running || job.runs.empty()) continue;
    if (NearTransition(job.start_ms - pad, job.end_ms + pad)) continue;
    bool clean = true;
    for (const int r : job.runs) clean = clean && plan_.runs[static_cast<std::size_t>(r)].fault == RunFault::kNone;
    if (clean) jobs.push_back(j);
  }
  rng->Shuffle(&jobs);
  std::int64_t made = 0;
  for (const std::size_t j : jobs) {
    PlanJob& job = plan_.jobs[j];
    const std::int64_t k = static_cast<std::int64_t>(job.runs.size());
    if (made + k > want) continue;
    AddOverride(job.nodes.front(), CeilTick(job.start_ms), Tick(job.end_ms), false);
    for (const int r : job.runs) plan_.runs[static_cast<std::size_t>(r)].fault = RunFault::kNoTelemetry;
    made += k;
    if (made == want) break;
  }
  plan_.intended["no_telemetry"] = made;
}

void PlanBuilder::InjectTelemetryFaults() {
  Rng rng(seed(), Stream::kTelemetryFaults, 0);
  const std::int64_t n = WrittenRuns();
  const TimeMs pad = std::int64_t{10} * 60 * kMsPerSecond;
  InjectNoTelemetryJobs(n, pad, &rng);
  std::vector<std::size_t> pool;
  for (const std::size_t i : Candidates(&rng)) {
    const PlanRun& r = plan_.runs[i];
    if (plan_.jobs[static_cast<std::size_t>(r.job)].running) continue;
    if (NearTransition(r.start_ms - pad, r.end_ms + pad)) continue;
    pool.push_back(i);
  }
  std::size_t next = 0;
  const double step_s = static_cast<double>(plan_.step_ms) / kMsPerSecond;
  auto inject = [&](RunFault fault, double rate, const char* name, auto&& apply) {
    const std::int64_t want = Target(rate, n);
    std::int64_t made = 0;
    while (made < want && next < pool.size()) {
      PlanRun& run = plan_.runs[pool[next++]];
      const std::int64_t a = CeilTick(run.start_ms);
      const std::int64_t b = Tick(run.end_ms);
      if (!apply(run, a, b)) continue;
      run.fault = fault;
      ++made;
    }
    plan_.intended[name] = made;
  };
  // One or two lost readings, as many as make the run count as
  // missing_some (fewer than run_time/60 - 1 samples).
  inject(RunFault::kLostMinute, kPaperLostMinute, "lost_minute", [&](PlanRun& r, std::int64_t a, std::int64_t b) {
    const std::int64_t full = b - a + 1;
    const double threshold = static_cast<double>(r.run_time_s) / step_s - 1.0;
    const std::int64_t m = static_cast<std::int64_t>(std::floor(static_cast<double>(full) - threshold)) + 1;
    if (r.run_time_s < 300 || m < 1 || m > 3 || full - m < 2) return false;
    const std::int64_t p = rng.Int(a + 1, b - m);
    AddOverride(r.node, p, p + m - 1, false);
    return true;
  });
  inject(RunFault::kLostMinutes, kPaperLostMinutes, "lost_minutes", [&](PlanRun& r, std::int64_t a, std::int64_t b) {
    const std::int64_t full = b - a + 1;
    if (r.run_time_s < 1800 || full < 20) return false;
    const std::int64_t m = rng.Int(5, std::min<std::int64_t>(60, full / 3));
    const std::int64_t p = rng.Int(a + 1, b - m);
    AddOverride(r.node, p, p + m - 1, false);
    return true;
  });
  inject(RunFault::kZeroWatts, kPaperZeroWatts, "zero_watts", [&](PlanRun& r, std::int64_t a, std::int64_t b) {
    const std::int64_t full = b - a + 1;
    if (full < 1) return false;
    const std::int64_t m = rng.Int(1, std::min<std::int64_t>(3, full));
    const std::int64_t p = rng.Int(a, b - m + 1);
    AddOverride(r.node, p, p + m - 1, true);
    return true;
  });
}

}  // namespace wattrun::generate::plan_internal
