// The plan builder (stages/generate/plan_builder.h): Slurm jobs: packing
// runs, placing every job on nodes, ids and the runs.csv fields.

#include "stages/generate/plan_builder.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "stages/generate/background_jobs.h"

namespace wattrun::generate::plan_internal {
namespace {

constexpr std::int64_t kJobGuardMs = std::int64_t{5} * 60 * kMsPerSecond;  // free time between jobs on a node
constexpr std::int64_t kMaxJobS = std::int64_t{36} * 3600;
constexpr double kOtherUtilizationCpu = 0.12;
constexpr double kOtherUtilizationGpu = 0.10;

}  // namespace

PlanJob PlanBuilder::NewButterJob(int hw_class, Rng* rng) {
  PlanJob job;
  job.butter = true;
  job.hw_class = hw_class;
  job.duration_s = rng->Int(20, 120);  // setup before the first run
  return job;
}

void PlanBuilder::AppendRun(PlanJob* job, int run, Rng* rng) {
  if (!job->runs.empty()) job->duration_s += rng->Int(3, 40);  // between runs
  job->runs.push_back(run);
  job->run_offsets_s.push_back(job->duration_s);
  job->duration_s += plan_.runs[static_cast<std::size_t>(run)].run_time_s;
}

void PlanBuilder::PackJobs() {
  for (std::size_t c = 0; c < plan_.classes.size(); ++c) {
    Rng rng(seed(), Stream::kPacking, c);
    std::vector<int> normal;
    for (std::size_t i = 0; i < plan_.runs.size(); ++i) {
      const PlanRun& r = plan_.runs[i];
      if (r.hw_class != static_cast<int>(c)) continue;
      if (r.fault == RunFault::kLongRunBadDay || r.fault == RunFault::kLongRun) {
        PlanJob job = NewButterJob(static_cast<int>(c), &rng);
        AppendRun(&job, static_cast<int>(i), &rng);
        job.duration_s += rng.Int(5, 60);
        plan_.jobs.push_back(std::move(job));
      } else {
        normal.push_back(static_cast<int>(i));
      }
    }
    rng.Shuffle(&normal);
    std::size_t k = 0;
    while (k < normal.size()) {
      PlanJob job = NewButterJob(static_cast<int>(c), &rng);
      int want = 1;
      while (want < 10 && rng.Bernoulli(0.75)) ++want;
      while (k < normal.size() && static_cast<int>(job.runs.size()) < want) {
        const PlanRun& r = plan_.runs[static_cast<std::size_t>(normal[k])];
        if (!job.runs.empty() && job.duration_s + r.run_time_s > kMaxJobS) break;
        AppendRun(&job, normal[k], &rng);
        ++k;
      }
      job.duration_s += rng.Int(5, 60);  // teardown
      plan_.jobs.push_back(std::move(job));
    }
  }
}

bool PlanBuilder::Free(int node, TimeMs s, TimeMs e) const {
  const auto& v = occupancy_[static_cast<std::size_t>(node)];
  const auto it = std::partition_point(
      v.begin(), v.end(), [&](const std::pair<TimeMs, TimeMs>& iv) { return iv.second + kJobGuardMs <= s; });
  return it == v.end() || it->first >= e + kJobGuardMs;
}

void PlanBuilder::Occupy(int node, TimeMs s, TimeMs e) {
  auto& v = occupancy_[static_cast<std::size_t>(node)];
  const auto it = std::lower_bound(v.begin(), v.end(), std::make_pair(s, e));
  v.insert(it, {s, e});
}

// Places a single-node job of duration d at start on node.
void PlanBuilder::PlaceAt(PlanJob* job, int node, TimeMs start, TimeMs d) {
  job->nodes = {node};
  job->start_ms = start;
  job->end_ms = start + d;
  Occupy(node, start, start + d);
  butter_windows_[static_cast<std::size_t>(node)].emplace_back(start, start + d);
}

// Tries to put a single-node job at a start in [lo, hi] on a node of its
// class. Returns false if no free place was found.
bool PlanBuilder::PlaceSingle(PlanJob* job, TimeMs lo, TimeMs hi, Rng* rng, int tries, bool may_run_over) {
  const auto& nodes = plan_.classes[static_cast<std::size_t>(job->hw_class)].nodes;
  if (nodes.empty() || hi < lo) return false;
  const TimeMs d = job->duration_s * kMsPerSecond;
  for (int t = 0; t < tries; ++t) {
    const TimeMs start = lo + rng->Int(0, (hi - lo) / kMsPerSecond) * kMsPerSecond;
    const int node = nodes[static_cast<std::size_t>(rng->Int(0, static_cast<std::int64_t>(nodes.size()) - 1))];
    if (!Free(node, start, start + d)) continue;
    if (!SchedulerTimeOk(start)) continue;
    if (!may_run_over && !SchedulerTimeOk(start + d)) continue;
    PlaceAt(job, node, start, d);
    return true;
  }
  return false;
}

// First fit: on each node (in random order) the earliest gap after lo.
bool PlanBuilder::PlaceFirstFit(PlanJob* job, TimeMs lo, TimeMs hi, Rng* rng) {
  auto nodes = plan_.classes[static_cast<std::size_t>(job->hw_class)].nodes;
  rng->Shuffle(&nodes);
  const TimeMs d = job->duration_s * kMsPerSecond;
  for (const int node : nodes) {
    TimeMs start = lo;
    const auto& v = occupancy_[static_cast<std::size_t>(node)];
    for (std::size_t i = 0; i <= v.size() && start <= hi; ++i) {
      if (Free(node, start, start + d) && SchedulerTimeOk(start) && SchedulerTimeOk(start + d)) {
        PlaceAt(job, node, start, d);
        return true;
      }
      if (i < v.size()) start = std::max(start, v[i].second + kJobGuardMs + kMsPerSecond);
    }
  }
  return false;
}

void PlanBuilder::DropJobRuns(PlanJob* job, const char* why) {
  for (const int r : job->runs) plan_.runs[static_cast<std::size_t>(r)].dropped = true;
  plan_.notes[why] += static_cast<std::int64_t>(job->runs.size());
  job->runs.clear();
  job->started = false;
}

// Each placed run's job, node and window; the running job's runs cut at
// the snapshot.
void PlanBuilder::SetRunWindows() {
  for (PlanJob& job : plan_.jobs) {
    if (!job.started) continue;
    std::vector<int> kept;
    std::vector<std::int64_t> kept_offsets;
    for (std::size_t k = 0; k < job.runs.size(); ++k) {
      PlanRun& run = plan_.runs[static_cast<std::size_t>(job.runs[k])];
      run.job = static_cast<int>(&job - plan_.jobs.data());
      run.node = job.nodes.front();
      run.start_ms = job.start_ms + job.run_offsets_s[k] * kMsPerSecond;
      run.end_ms = run.start_ms + run.run_time_s * kMsPerSecond;
      if (job.running && run.start_ms >= plan_.snapshot_ms - 60 * kMsPerSecond) {
        run.dropped = true;
        ++plan_.notes["runs_not_started_at_end"];
        continue;
      }
      if (job.running) run.fault = RunFault::kJobRunning;
      kept.push_back(job.runs[k]);
      kept_offsets.push_back(job.run_offsets_s[k]);
    }
    job.runs = kept;
    job.run_offsets_s = kept_offsets;
  }
}

void PlanBuilder::PlaceButterJobs() {
  occupancy_.assign(plan_.nodes.size(), {});
  butter_windows_.assign(plan_.nodes.size(), {});
  Rng rng(seed(), Stream::kPlacement, 0);
  const TimeMs margin = std::int64_t{30} * 60 * kMsPerSecond;
  std::vector<std::size_t> order(plan_.jobs.size());
  std::iota(order.begin(), order.end(), 0);
  rng.Shuffle(&order);
  // 1. Long runs of the bad day.
  for (const std::size_t j : order) {
    PlanJob& job = plan_.jobs[j];
    PlanRun& first = plan_.runs[static_cast<std::size_t>(job.runs.front())];
    if (first.fault != RunFault::kLongRunBadDay) continue;
    const TimeMs hi =
        std::min(plan_.bad_day_end - kMsPerHour, plan_.window_end - margin - job.duration_s * kMsPerSecond);
    if (!PlaceSingle(&job, plan_.bad_day_start, hi, &rng, 2000, false)) {
      first.fault = RunFault::kLongRun;  // placed on another day below
      ++plan_.notes["long_run_moved_off_bad_day"];
    }
  }
  // 2. One job still running when sacct was exported.
  for (const std::size_t j : order) {
    PlanJob& job = plan_.jobs[j];
    if (job.runs.size() < 2 || !job.nodes.empty() || job.duration_s < 1200) continue;
    const PlanRun& first = plan_.runs[static_cast<std::size_t>(job.runs.front())];
    if (first.fault != RunFault::kNone || plan_.classes[static_cast<std::size_t>(job.hw_class)].is_gpu) continue;
    const TimeMs d = job.duration_s * kMsPerSecond;
    const TimeMs lo = std::max(plan_.window_start + kMsPerHour, plan_.snapshot_ms - d * 7 / 10);
    const TimeMs hi = plan_.snapshot_ms - d * 3 / 10;
    if (!PlaceSingle(&job, lo, hi, &rng, 500, true)) continue;
    job.running = true;
    break;
  }
  // 3. Everything else.
  for (const std::size_t j : order) {
    PlanJob& job = plan_.jobs[j];
    if (!job.nodes.empty()) continue;
    const TimeMs lo = plan_.window_start + margin;
    const TimeMs hi = plan_.window_end - margin - job.duration_s * kMsPerSecond;
    if (!PlaceSingle(&job, lo, hi, &rng, 300, false) && !PlaceFirstFit(&job, lo, hi, &rng)) {
      DropJobRuns(&job, "runs_dropped_no_capacity");
    }
  }
  // Jobs that found no place are not written at all.
  plan_.jobs.erase(
      std::remove_if(plan_.jobs.begin(), plan_.jobs.end(), [](const PlanJob& j) { return j.butter && !j.started; }),
      plan_.jobs.end());
  std::int64_t bad_day = 0, long_other = 0;
  for (const PlanRun& r : plan_.runs) {
    if (r.dropped) continue;
    bad_day += r.fault == RunFault::kLongRunBadDay ? 1 : 0;
    long_other += r.fault == RunFault::kLongRun ? 1 : 0;
  }
  plan_.intended["long_run_bad_day"] = bad_day;
  plan_.intended["long_run"] = long_other;
  SetRunWindows();
}

// Job name, user, account, load and final state of another user's job.
void PlanBuilder::FillOtherJobMeta(PlanJob* job, Rng* rng) {
  static const char* kNames[] = {"vasp_relax", "wrf_run", "python", "bash",     "lammps",
                                 "cp2k_md",    "jupyter", "nwchem", "openfoam", "train.sh"};
  job->name = kNames[rng->Int(0, 9)];
  job->user = FacilityUser(rng->Int(1, 400));
  job->account = FacilityAccount(job->user, rng->Int(1, 60));
  job->load_w = rng->Uniform(20.0, 250.0);
  const double p = rng->Uniform();
  job->state = p < 0.72   ? "COMPLETED"
               : p < 0.82 ? "FAILED"
               : p < 0.90 ? "CANCELLED by " + std::to_string(rng->Int(10000, 99999))
               : p < 0.96 ? "TIMEOUT"
               : p < 0.98 ? "OUT_OF_MEMORY"
                          : "NODE_FAIL";
}

// Tries 20 random (start in [lo, hi], `width` consecutive nodes of the
// job's class) places; occupies the nodes of the first free one.
bool PlanBuilder::TryPlaceOtherJob(PlanJob* job, int width, TimeMs lo, TimeMs hi, bool running, Rng* rng) {
  const auto& nodes = plan_.classes[static_cast<std::size_t>(job->hw_class)].nodes;
  if (static_cast<int>(nodes.size()) < width || hi < lo) return false;
  const TimeMs d = job->duration_s * kMsPerSecond;
  for (int t = 0; t < 20; ++t) {
    const TimeMs start = lo + rng->Int(0, (hi - lo) / kMsPerSecond) * kMsPerSecond;
    const std::int64_t first = rng->Int(0, static_cast<std::int64_t>(nodes.size()) - width);
    bool ok = SchedulerTimeOk(start) && (running || SchedulerTimeOk(start + d));
    for (int k = 0; ok && k < width; ++k) ok = Free(nodes[static_cast<std::size_t>(first + k)], start, start + d);
    if (!ok) continue;
    job->nodes.clear();
    for (int k = 0; k < width; ++k) {
      job->nodes.push_back(nodes[static_cast<std::size_t>(first + k)]);
      Occupy(job->nodes.back(), start, start + d);
    }
    job->start_ms = start;
    job->end_ms = start + d;
    return true;
  }
  return false;
}

// Other users' finished jobs on class c up to its utilization target.
void PlanBuilder::PlaceOtherLoad(std::size_t c, Rng* rng) {
  const PlanClass& cls = plan_.classes[c];
  // Whole seconds on purpose (the quotient truncates): the target, and so the
  // generated facility, has always been computed from them.
  const std::int64_t span_s = (plan_.window_end - plan_.window_start) / kMsPerSecond;
  const double target = (cls.is_gpu ? kOtherUtilizationGpu : kOtherUtilizationCpu) *
                        static_cast<double>(cls.nodes.size()) * static_cast<double>(span_s);
  double used = 0.0;
  int failures = 0;
  while (used < target && failures < 400) {
    PlanJob job;
    job.hw_class = static_cast<int>(c);
    const int max_width = std::min<int>(16, static_cast<int>(cls.nodes.size()));
    const int width = rng->Bernoulli(0.65) || max_width < 2 ? 1 : static_cast<int>(rng->Int(2, max_width));
    job.duration_s = std::llround(rng->LogUniform(300.0, 86400.0));
    const TimeMs hi = plan_.snapshot_ms - std::int64_t{10} * 60 * kMsPerSecond - job.duration_s * kMsPerSecond;
    if (!TryPlaceOtherJob(&job, width, plan_.window_start, hi, false, rng)) {
      ++failures;
      continue;
    }
    failures = 0;
    FillOtherJobMeta(&job, rng);
    used += static_cast<double>(width) * static_cast<double>(job.duration_s);
    plan_.jobs.push_back(std::move(job));
  }
}

// Still running at the export, one per class (a multi-node one on CPUs).
void PlanBuilder::PlaceOtherRunningJob(std::size_t c, Rng* rng) {
  const PlanClass& cls = plan_.classes[c];
  PlanJob running;
  running.hw_class = static_cast<int>(c);
  running.duration_s = rng->Int(std::int64_t{2} * 3600, std::int64_t{3} * 86400);
  const int width = cls.is_gpu ? 1 : std::min<int>(4, static_cast<int>(cls.nodes.size()));
  const TimeMs d = running.duration_s * kMsPerSecond;
  if (TryPlaceOtherJob(&running, width, std::max(plan_.window_start, plan_.snapshot_ms - d + kMsPerHour),
                       plan_.snapshot_ms - kMsPerHour, true, rng)) {
    FillOtherJobMeta(&running, rng);
    running.running = true;
    running.state = "RUNNING";
    plan_.jobs.push_back(std::move(running));
  }
}

// A heterogeneous job: two components on different nodes, same times.
void PlanBuilder::PlaceHeterogeneousJob(std::size_t c, Rng* rng) {
  const PlanClass& cls = plan_.classes[c];
  for (int tries = 0; tries < 10; ++tries) {
    PlanJob a;
    a.hw_class = static_cast<int>(c);
    a.duration_s = rng->Int(1800, 20000);
    const TimeMs hi = plan_.snapshot_ms - kMsPerHour - a.duration_s * kMsPerSecond;
    if (!TryPlaceOtherJob(&a, 1, plan_.window_start, hi, false, rng)) continue;
    PlanJob b = a;
    bool placed = false;
    for (const int n : cls.nodes) {
      if (n != a.nodes.front() && Free(n, a.start_ms, a.end_ms)) {
        b.nodes = {n};
        Occupy(n, a.start_ms, a.end_ms);
        placed = true;
        break;
      }
    }
    if (!placed) continue;
    FillOtherJobMeta(&a, rng);
    b.name = a.name;
    b.user = a.user;
    b.account = a.account;
    b.state = a.state;
    b.load_w = a.load_w * 0.8;
    const int ia = static_cast<int>(plan_.jobs.size());
    a.het_group = ia + 1;
    a.het_offset = 0;
    b.het_group = ia;
    b.het_offset = 1;
    plan_.jobs.push_back(std::move(a));
    plan_.jobs.push_back(std::move(b));
    return;
  }
}

// Pending at the export, and cancelled before they started: no nodes.
void PlanBuilder::AddOtherUnstartedJobs(Rng* rng) {
  const TimeMs span = plan_.window_end - plan_.window_start;
  for (int k = 0; k < 5; ++k) {
    PlanJob job;
    job.hw_class = static_cast<int>(rng->Int(0, static_cast<std::int64_t>(plan_.classes.size()) - 1));
    job.started = false;
    FillOtherJobMeta(&job, rng);
    if (k < 3) {
      job.pending = true;
      job.state = "PENDING";
      job.submit_ms = plan_.snapshot_ms - rng->Int(600, std::int64_t{2} * 86400) * kMsPerSecond;
    } else {
      job.state = "CANCELLED by " + std::to_string(rng->Int(10000, 99999));
      job.submit_ms = plan_.window_start + rng->Int(0, span / kMsPerSecond - std::int64_t{3} * 86400) * kMsPerSecond;
      job.end_ms = job.submit_ms + rng->Int(60, 86400) * kMsPerSecond;
      if (!SchedulerTimeOk(job.end_ms) || !SchedulerTimeOk(job.submit_ms)) continue;
    }
    plan_.jobs.push_back(std::move(job));
  }
}

// Other users' jobs: a class's load, one running at the export and a
// heterogeneous pair per class, then a few never started.
void PlanBuilder::PlaceOtherJobs() {
  Rng rng(seed(), Stream::kOtherJobs, 0);
  for (std::size_t c = 0; c < plan_.classes.size(); ++c) {
    if (plan_.classes[c].nodes.empty()) continue;
    PlaceOtherLoad(c, &rng);
    PlaceOtherRunningJob(c, &rng);
    if (plan_.classes[c].nodes.size() >= 4) PlaceHeterogeneousJob(c, &rng);
  }
  AddOtherUnstartedJobs(&rng);
}

// Shared-node jobs, jobs that never started, a job on a node missing
// from nodes.csv (stages/generate/background_jobs.h).
void PlanBuilder::PlaceBackgroundJobs() {
  PlacementHooks hooks;
  hooks.free = [this](int node, TimeMs s, TimeMs e) { return Free(node, s, e); };
  hooks.occupy = [this](int node, TimeMs s, TimeMs e) { Occupy(node, s, e); };
  hooks.scheduler_time_ok = [this](TimeMs t) { return SchedulerTimeOk(t); };
  AddSharedNodeJobs(&plan_, hooks);
  if (plan_.options.dirty) AddUnknownNodeJob(&plan_, hooks);
  AddUnstartedJobs(&plan_, hooks);
}

void PlanBuilder::AssignJobIds() {
  Rng rng(seed(), Stream::kJobIds, 0);
  for (PlanJob& job : plan_.jobs) {
    const PlanClass& cls = plan_.classes[static_cast<std::size_t>(job.hw_class)];
    if (job.started && job.submit_ms == 0) {
      job.submit_ms = job.start_ms - std::llround(rng.LogUniform(5.0, 4.0 * 3600)) * kMsPerSecond;
      if (!SchedulerTimeOk(job.submit_ms)) job.submit_ms -= kMsPerHour;
    }
    if (job.butter) {
      job.name = cls.is_gpu ? "butter_e_gpu" : "butter_e_cpu";
      job.user = "butter";
      job.account = "butter";
      job.state = job.running ? "RUNNING" : "COMPLETED";
    }
    const std::int64_t hours = job.duration_s / 3600;
    const bool debug = !job.butter && job.started && job.duration_s <= 3600 && job.nodes.size() <= 2;
    if (job.partition.empty()) {
      job.partition = cls.is_gpu ? "gpu" : debug ? "debug" : hours < 4 ? "short" : hours < 48 ? "standard" : "long";
    }
    const std::string& s = job.state;
    job.exit_code = s == "COMPLETED" || s == "RUNNING" || s == "PENDING" ? "0:0"
                    : s == "FAILED" || s == "NODE_FAIL"                  ? "1:0"
                    : s == "OUT_OF_MEMORY"                               ? "0:125"
                                                                         : "0:15";
  }
  std::vector<std::size_t> order(plan_.jobs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return plan_.jobs[a].submit_ms < plan_.jobs[b].submit_ms; });
  std::int64_t next = 6100000;
  for (const std::size_t j : order) {
    PlanJob& job = plan_.jobs[j];
    if (job.het_offset == 1) continue;  // takes its pair's id
    next += rng.Int(1, 3);
    job.raw_id = next;
    job.id = std::to_string(next);
    if (job.het_offset == 0) {
      PlanJob& other = plan_.jobs[static_cast<std::size_t>(job.het_group)];
      other.raw_id = next;
      other.submit_ms = job.submit_ms;
      job.id = std::to_string(next) + "+0";
      other.id = std::to_string(next) + "+1";
    }
  }
  // Array jobs: some consecutive BUTTER jobs of a class become the tasks
  // of one array (display id base_task; each keeps its own raw id).
  std::vector<std::size_t> by_id(order);
  std::sort(by_id.begin(), by_id.end(),
            [&](std::size_t a, std::size_t b) { return plan_.jobs[a].raw_id < plan_.jobs[b].raw_id; });
  for (std::size_t c = 0; c < plan_.classes.size(); ++c) {
    std::vector<std::size_t> list;
    for (const std::size_t j : by_id) {
      const PlanJob& job = plan_.jobs[j];
      if (job.butter && job.started && job.hw_class == static_cast<int>(c)) list.push_back(j);
    }
    for (std::size_t k = 0; k < list.size();) {
      if (!rng.Bernoulli(0.25)) {
        ++k;
        continue;
      }
      const std::size_t len = std::min<std::size_t>(list.size() - k, static_cast<std::size_t>(rng.Int(2, 6)));
      const std::int64_t base = plan_.jobs[list[k]].raw_id;
      for (std::size_t t = 0; t < len; ++t) {
        plan_.jobs[list[k + t]].id = std::to_string(base) + "_" + std::to_string(t);
      }
      k += len;
    }
  }
}

void PlanBuilder::SetWrittenFields() {
  for (PlanRun& run : plan_.runs) {
    if (run.dropped) continue;
    const PlanJob& job = plan_.jobs[static_cast<std::size_t>(run.job)];
    run.written_host = plan_.nodes[static_cast<std::size_t>(run.node)].name;
    run.written_job_id = job.id;
    run.written_start_ms = run.start_ms;
    run.written_update_ms = run.end_ms;
    if (job.running && run.end_ms > plan_.snapshot_ms) {
      // Still training: the last heartbeat before the export.
      Rng rng(seed(), Stream::kRunsFile, static_cast<std::uint64_t>(run.index));
      run.written_update_ms = std::max(run.start_ms + kMsPerSecond, plan_.snapshot_ms - rng.Int(0, 300) * kMsPerSecond);
    }
  }
}

}  // namespace wattrun::generate::plan_internal
