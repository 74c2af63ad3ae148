// Join of runs to Slurm jobs, hosts and windows (spec step 2), giving each
// run its status up to `job_running` (spec step 4's order of precedence).
// The telemetry-dependent statuses are decided after integration.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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

}  // namespace wattrun::join
