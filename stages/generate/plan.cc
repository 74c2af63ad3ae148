#include "stages/generate/plan.h"

#include <cmath>

#include "core/error.h"
#include "stages/generate/background_jobs.h"
#include "stages/generate/plan_builder.h"
#include "stages/generate/text_format.h"

namespace wattrun::generate {
namespace plan_internal {

Plan PlanBuilder::Build() {
  Validate();
  SetUpTime();
  BuildNodes();
  BuildClasses();
  BuildRuns();
  StretchLongRuns();
  StretchOutliers();
  PackJobs();
  PlaceButterJobs();
  PlaceOtherJobs();
  PlaceBackgroundJobs();
  AssignJobIds();
  AssignAllocations(&plan_);
  SetWrittenFields();
  if (plan_.options.dirty) InjectJoinFaults();
  InjectTelemetryFaults();
  if (plan_.options.dirty) InjectSeriesDirt();
  BuildSeries();
  SolveLevels();
  PlanFiles();
  plan_.carbon_intensity = CarbonIntensitySeries(plan_);
  return std::move(plan_);
}

void PlanBuilder::Validate() {
  const GenerateOptions& o = plan_.options;
  if (!(o.scale > 0.0) || !std::isfinite(o.scale)) {
    throw Error("generate: scale must be > 0, got " + FormatDouble(o.scale));
  }
  if (o.months < 1 || o.months > 120) {
    throw Error("generate: months must be in 1..120, got " + std::to_string(o.months));
  }
  if (facility().node_types.empty()) throw Error("facility.node_types: none configured");
  const double step_s = facility().sampling_interval_s;
  const std::int64_t step_ms = std::llround(step_s * 1000.0);
  if (step_ms < 1000 || step_ms % 1000 != 0 || kMsPerDay % step_ms != 0) {
    throw Error("facility.sampling_interval_s: the generator needs whole seconds dividing a day, got " +
                FormatDouble(step_s));
  }
  plan_.step_ms = step_ms;
}

}  // namespace plan_internal

const char* ToString(RunFault fault) {
  switch (fault) {
    case RunFault::kNone:
      return "none";
    case RunFault::kNoTelemetry:
      return "no_telemetry";
    case RunFault::kLostMinute:
      return "lost_minute";
    case RunFault::kLostMinutes:
      return "lost_minutes";
    case RunFault::kZeroWatts:
      return "zero_watts";
    case RunFault::kLongRunBadDay:
      return "long_run_bad_day";
    case RunFault::kLongRun:
      return "long_run";
    case RunFault::kRuntimeOutlier:
      return "runtime_outlier";
    case RunFault::kUnknownNode:
      return "unknown_node";
    case RunFault::kNoJob:
      return "no_job";
    case RunFault::kHostNotInJob:
      return "host_not_in_job";
    case RunFault::kOutsideJobWindow:
      return "outside_job_window";
    case RunFault::kBadRunRow:
      return "bad_run_row";
    case RunFault::kBadWindow:
      return "bad_window";
    case RunFault::kJobRunning:
      return "job_running";
  }
  return "none";
}

std::int64_t ZoneOffsets::At(TimeMs utc) const {
  const std::size_t i =
      static_cast<std::size_t>(std::upper_bound(change_at.begin(), change_at.end(), utc) - change_at.begin());
  return offset_ms[i];
}

std::int64_t Plan::TickOf(TimeMs t) const { return FloorDivTicks(t, step_ms); }

Plan BuildPlan(const Config& config, const GenerateOptions& options) {
  return plan_internal::PlanBuilder(config, options).Build();
}

}  // namespace wattrun::generate
