// The synthetic facility as a plan: nodes, the time window, the BUTTER-E
// runs and their Slurm jobs, other users' jobs, and every injected fault,
// with each node's power series (stages/generate/power.h). Every rank
// builds the same plan from (config, options) alone; the writers then turn
// it into files, and the truth is read off it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "core/time.h"
#include "stages/generate/catalog.h"
#include "stages/generate/generate.h"
#include "stages/generate/power.h"

namespace wattrun::generate {

// The generator's instants: int64 ms since the epoch, UTC (it writes whole
// seconds, so ms suffice and its facility stays as it was). Core's instants
// are µs (core/time.h): these convert at the calls into core's time zones.
using TimeMs = std::int64_t;
inline TimeUs ToCoreTime(TimeMs t) { return t * kMicrosPerMilli; }
inline TimeMs FromCoreTime(TimeUs t) { return FloorDiv(t, kMicrosPerMilli); }

inline constexpr int kNodesPerFile = 64;

// What happened to a run, by design (the truth's `fault` column).
enum class RunFault {
  kNone,
  kNoTelemetry,       // its job's node has no telemetry over the job (missing_all)
  kLostMinute,        // one or two readings lost inside the run (missing_some)
  kLostMinutes,       // a longer gap inside the run (missing_some)
  kZeroWatts,         // one to three 0 W readings inside the run
  kLongRunBadDay,     // > 75,000 s, started on the bad day (filter_1)
  kLongRun,           // > 75,000 s on another day (filter_1)
  kRuntimeOutlier,    // stalled: run time > 4 sd above its group (filter_3)
  kUnknownNode,       // host_name not in nodes.csv
  kNoJob,             // slurm_job_id not in sacct
  kHostNotInJob,      // host_name not in the job's node list
  kOutsideJobWindow,  // times moved outside the job
  kBadRunRow,         // an unparseable field in runs.csv
  kBadWindow,         // update_time before start_time
  kJobRunning,        // its job is still running at the end (End Unknown)
};
const char* ToString(RunFault fault);

struct PlanNode {
  std::string name;
  int type = 0;      // index into config.facility.node_types
  int hw_class = 0;  // index into Plan::classes
  NodeSeries series;
};

struct PlanClass {
  std::string name;
  bool is_gpu = false;
  int reference_type = -1;
  MemoryHierarchy memory;
  std::vector<double> parameters;  // Table 4 (spec reading)
  double sigma = 0.0;
  double dyn_lo_w = 0.0;  // dynamic power of the smallest networks
  double dyn_hi_w = 0.0;  // ... and of the largest
  std::vector<int> nodes;
};

struct PlanRun {
  std::int64_t index = 0;
  std::string run_id;
  std::int64_t experiment_id = 0;
  int dataset = 0;
  std::string shape;
  int depth = 0;
  std::int64_t size = 0;
  int hw_class = 0;
  bool is_gpu = false;
  std::int64_t n_params = 0;
  double model_energy_j = 0.0;  // spec step 12 with Table 4, no noise
  double std_energy_j = 0.0;    // model x noise (+ stall energy for stretched runs)
  std::int64_t run_time_s = 0;  // true run time
  RunFault fault = RunFault::kNone;
  bool dropped = false;  // not written (no capacity, or not started at the end)
  // Where and when it really ran.
  int job = -1;
  int node = -1;
  TimeMs start_ms = 0;
  TimeMs end_ms = 0;
  double level_w = 0.0;
  // What runs.csv says (differs from the above for join faults).
  std::string written_host;
  std::string written_job_id;
  TimeMs written_start_ms = 0;
  TimeMs written_update_ms = 0;
  std::string corrupt_field;  // for kBadRunRow: start_time, is_gpu or size
};

struct PlanJob {
  bool butter = false;
  int hw_class = 0;
  std::vector<int> nodes;
  TimeMs submit_ms = 0;
  TimeMs start_ms = 0;
  TimeMs end_ms = 0;     // true end (beyond the window when running)
  bool running = false;  // End Unknown in sacct
  bool started = true;   // false: pending or cancelled before start
  bool pending = false;
  std::vector<int> runs;  // BUTTER runs, in order
  std::vector<std::int64_t> run_offsets_s;
  std::int64_t duration_s = 0;
  std::int64_t raw_id = 0;
  std::string id;      // as sacct shows it: 123, 123_4, 123+1
  int het_group = -1;  // other index of a heterogeneous job pair
  int het_offset = -1;
  std::string name, partition, account, user, state, exit_code;
  double load_w = 0.0;  // other users' jobs (watts above idle; per node)
  // Allocation as sacct writes it (stages/generate/background_jobs.h):
  // AllocCPUS (0: written as 0, absent for the spec) and the cpu= count of
  // AllocTRES (0: AllocTRES empty), both over all nodes of the job.
  std::int64_t alloc_cpus = 0;
  std::int64_t tres_cpus = 0;
  bool shared = false;                     // on a shared node: a few CPUs of it
  std::vector<std::string> unknown_hosts;  // NodeList names not in nodes.csv
};

struct MonthSpan {
  std::string label;  // YYYY-MM (telemetry local time)
  std::int64_t first_tick = 0;
  std::int64_t last_tick = 0;
};

struct TelemetryFilePlan {
  int index = 0;
  int month = 0;
  int group = 0;
  int first_node = 0;
  int n_nodes = 0;
  bool gzip = false;
  bool node_first_columns = false;  // header node,timestamp,watts (dirty only)
  std::string rel_path;
};

// UTC offset of a zone over the window, as a step function.
struct ZoneOffsets {
  std::vector<TimeMs> change_at;        // sorted instants where the offset changes
  std::vector<std::int64_t> offset_ms;  // offset_ms[i] holds before change_at[i]; last after all
  std::int64_t At(TimeMs utc) const;
};

struct Plan {
  Config config;
  GenerateOptions options;
  std::uint64_t seed = 1;
  TimeZone telemetry_zone = TimeZone::Utc();
  TimeZone scheduler_zone = TimeZone::Utc();
  ZoneOffsets telemetry_offsets;
  ZoneOffsets scheduler_offsets;
  bool telemetry_z_suffix = false;  // write a trailing Z
  std::int64_t step_ms = 60000;
  TimeMs window_start = 0;  // inclusive
  TimeMs window_end = 0;    // exclusive
  TimeMs snapshot_ms = 0;   // when sacct was exported (just before window_end)
  std::int64_t first_tick = 0;
  std::int64_t last_tick = 0;
  std::vector<MonthSpan> months;
  std::vector<TimeMs> transitions;                // daylight-saving changes in the window
  std::vector<std::pair<TimeMs, TimeMs>> guards;  // no faults or dirt near them
  TimeMs bad_day_start = 0;
  TimeMs bad_day_end = 0;
  std::vector<PlanNode> nodes;
  std::vector<PlanClass> classes;
  std::vector<DatasetInfo> datasets;
  std::vector<PlanRun> runs;
  std::vector<PlanJob> jobs;
  std::vector<TelemetryFilePlan> files;
  std::string unknown_node_name = "r0i0n0";
  // carbon_intensity.csv: hourly (UTC instant, g CO2 per kWh), in time order.
  std::vector<std::pair<TimeMs, double>> carbon_intensity;
  // Counts: intended faults, and what the plan dropped or skipped.
  std::map<std::string, std::int64_t> intended;
  std::map<std::string, std::int64_t> notes;
  std::int64_t sweep_points = 0;
  std::int64_t sweep_points_skipped = 0;
  std::int64_t groups_used = 0;

  std::int64_t TickOf(TimeMs t) const;
};

// Builds the plan. Throws wattrun::Error for an unusable configuration.
Plan BuildPlan(const Config& config, const GenerateOptions& options);

}  // namespace wattrun::generate
