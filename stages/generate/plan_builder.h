// Private to the plan builder (stages/generate/plan*.cc): the class that
// builds a Plan (plan.h), its steps in files by concern, and what those
// files share. Nothing outside stages/generate/plan*.cc includes this.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "stages/generate/plan.h"
#include "stages/generate/rng.h"
#include "stages/topology/topology.h"

namespace wattrun::generate::plan_internal {

constexpr std::int64_t kMsPerSecond = 1000;
constexpr std::int64_t kMsPerHour = 3600 * kMsPerSecond;
constexpr std::int64_t kMsPerDay = 24 * kMsPerHour;
// The paper's counts per 41,129 runs (section 4; spec steps 4-5).
constexpr double kPaperRuns = 41129.0;

inline std::int64_t Target(double paper_count, std::int64_t runs) {
  if (runs <= 0) return 0;
  return std::max<std::int64_t>(1, std::llround(paper_count / kPaperRuns * static_cast<double>(runs)));
}

struct SweepPoint {
  int dataset = 0;  // index into Plan::datasets
  int shape = 0;
  int depth = 0;
  std::int64_t size = 0;
  std::int64_t experiment_id = 0;
  std::int64_t n_params = 0;
  double model_energy_j = 0.0;
};

struct SweepGroup {
  int hw_class = 0;
  int dataset = 0;
  std::int64_t size = 0;
  std::vector<SweepPoint> points;
};

// Builds the plan step by step (Build() gives the order); every step reads
// and extends plan_.
class PlanBuilder {
 public:
  PlanBuilder(const Config& config, const GenerateOptions& options) {
    plan_.config = config;
    plan_.options = options;
    plan_.seed = options.seed;
  }

  Plan Build();

 private:
  const FacilityConfig& facility() const { return plan_.config.facility; }
  std::uint64_t seed() const { return plan_.seed; }
  std::int64_t Tick(TimeMs t) const { return FloorDivTicks(t, plan_.step_ms); }
  std::int64_t CeilTick(TimeMs t) const { return CeilDivTicks(t, plan_.step_ms); }

  // plan.cc: the checks of the options (Build() gives the order of the steps).
  void Validate();

  // plan_time.cc: the window, the months, the clock changes and the bad day.
  bool SchedulerTimeOk(TimeMs t) const;
  bool NearTransition(TimeMs from, TimeMs to) const;
  void SetUpTime();

  // plan_inventory.cc: nodes and hardware classes.
  void BuildNodes();
  void BuildClasses();
  int IdleW(int type) const;
  bool ClassActive(const PlanClass& c) const;
  double DynamicW(const PlanClass& c, std::int64_t size, double factor) const;

  // plan_runs.cc: the BUTTER-E sweep, its runs, long runs and run-time
  // outliers.
  std::vector<SweepGroup> EmptySweepGroups(const std::vector<std::int64_t>& sizes) const;
  void AddSweepPoints(const std::vector<std::int64_t>& sizes, std::vector<SweepGroup>* groups);
  void AddToGroups(const topology::Network& network, const DatasetInfo& ds, SweepPoint p,
                   std::vector<SweepGroup>* groups);
  std::vector<std::size_t> ChooseGroups(const std::vector<SweepGroup>& groups, std::int64_t n_runs);
  void BuildRuns();
  void AddRun(const SweepGroup& g, const SweepPoint& p);
  double GroupZ(const std::vector<double>& xs, std::size_t j, double delta) const;
  void Stretch(PlanRun* run, std::int64_t new_rt, Rng* rng);
  void StretchLongRuns();
  void StretchOutliers();

  // plan_schedule.cc: Slurm jobs: packing runs into jobs, placing every job on
  // nodes, job ids, and what runs.csv says of each run.
  PlanJob NewButterJob(int hw_class, Rng* rng);
  void AppendRun(PlanJob* job, int run, Rng* rng);
  void PackJobs();
  bool Free(int node, TimeMs s, TimeMs e) const;
  void Occupy(int node, TimeMs s, TimeMs e);
  void PlaceAt(PlanJob* job, int node, TimeMs start, TimeMs d);
  bool PlaceSingle(PlanJob* job, TimeMs lo, TimeMs hi, Rng* rng, int tries, bool may_run_over);
  bool PlaceFirstFit(PlanJob* job, TimeMs lo, TimeMs hi, Rng* rng);
  void DropJobRuns(PlanJob* job, const char* why);
  void SetRunWindows();
  void PlaceButterJobs();
  void FillOtherJobMeta(PlanJob* job, Rng* rng);
  bool TryPlaceOtherJob(PlanJob* job, int width, TimeMs lo, TimeMs hi, bool running, Rng* rng);
  void PlaceOtherLoad(std::size_t c, Rng* rng);
  void PlaceOtherRunningJob(std::size_t c, Rng* rng);
  void PlaceHeterogeneousJob(std::size_t c, Rng* rng);
  void AddOtherUnstartedJobs(Rng* rng);
  void PlaceOtherJobs();
  void PlaceBackgroundJobs();
  void AssignJobIds();
  void SetWrittenFields();

  // plan_faults.cc: the runs' injected faults: join faults (runs.csv) and
  // telemetry faults (readings lost or 0 W).
  std::int64_t WrittenRuns() const;
  std::vector<std::size_t> Candidates(Rng* rng) const;
  void InjectJoinFaults();
  void AddOverride(int node, std::int64_t first, std::int64_t last, bool zero);
  void InjectNoTelemetryJobs(std::int64_t n, TimeMs pad, Rng* rng);
  void InjectTelemetryFaults();

  // plan_dirt.cc: a dirty facility's series dirt away from the BUTTER jobs.
  bool OverrideFree(int node, std::int64_t first, std::int64_t last) const;
  void InjectSeriesDirt();

  // plan_series.cc: each node's power series, the runs' levels, and the
  // telemetry files.
  void BuildSeries();
  void SolveLevels();
  void PlanFiles();

  Plan plan_;
  // Per node, sorted: every job's [start, end), and the BUTTER jobs' alone.
  std::vector<std::vector<std::pair<TimeMs, TimeMs>>> occupancy_;
  std::vector<std::vector<std::pair<TimeMs, TimeMs>>> butter_windows_;
};

}  // namespace wattrun::generate::plan_internal
