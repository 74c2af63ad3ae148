// Join of runs to Slurm jobs, hosts and windows (spec step 2), giving each
// run its status up to `job_running` (spec step 4's order of precedence).
// The telemetry-dependent statuses are decided after integration.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/mpi.h"
#include "core/records.h"
#include "core/time.h"

namespace wattrun::join {

// Statuses in the spec's order of precedence: the first that applies wins.
enum class RunStatus : std::uint8_t {
  kBadRunRow,
  kBadWindow,
  kUnknownNode,
  kNoJob,
  kHostNotInJob,
  kOutsideJobWindow,
  kJobRunning,
  kMissingAll,
  kMissingSome,
  kZeroWatts,
  kOk,
};
inline constexpr int kStatusCount = 11;
const char* StatusName(RunStatus status);

struct JoinOptions {
  TimeUs tolerance_us = 60 * kMicrosPerSecond;  // one sampling interval
};

struct JoinedRun {
  RunStatus status = RunStatus::kOk;  // kOk: passed the join, integrate it
  std::int64_t node = -1;             // index into the node inventory
  std::string node_type;              // empty if unknown
  // Index into `jobs` of the attempt the run was matched with (for
  // host_not_in_job and outside_job_window: the attempt that came closest),
  // -1 before no_job.
  std::int64_t job = -1;
};

// `nodes` is the inventory; a node without a configured type counts as
// unknown (its energy cannot be standardized). A JobID may have several
// attempts (requeued, cron runs: spec section 1): a run joins the attempt
// whose window holds it.
std::vector<JoinedRun> JoinRuns(const std::vector<RunRecord>& runs, const std::vector<JobRecord>& jobs,
                                const std::vector<NodeRecord>& nodes, const JoinOptions& options);

// Rank 0's joined runs on every rank (collective): the join needs the job
// table, which only rank 0 reads.
void ShareJoinedRuns(const Comm& comm, std::vector<JoinedRun>* joined);

// sacct exported in another time zone than scheduler.timezone moves every
// job window by whole hours. `hours` is the shift that puts the runs back
// inside their jobs (run window + hours inside the job window): positive
// when the windows read late, as when sacct wrote its local times in a zone
// `hours` east of scheduler.timezone.
struct ZoneShift {
  int hours = 0;
  std::int64_t shifted = 0;  // outside_job_window runs that fit their job after the shift
  std::int64_t outside = 0;  // outside_job_window runs
  std::int64_t joined = 0;   // runs on a host of their job (outside_job_window and every later status)
};

// The non-zero shift of -14..+14 h that the most outside_job_window runs
// agree on (ties: the smaller |hours|, then the positive one), if at least
// 3 runs and half of the outside ones agree; else nullopt. Statuses are not
// changed: this only explains them.
std::optional<ZoneShift> DetectZoneShift(const std::vector<RunRecord>& runs, const std::vector<JobRecord>& jobs,
                                         const std::vector<JoinedRun>& joined, const JoinOptions& options);

// The console warning for a detected shift, naming the key to check.
std::string ZoneShiftWarning(const ZoneShift& shift, const std::string& scheduler_timezone);

}  // namespace wattrun::join
