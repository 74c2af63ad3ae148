// Telemetry statuses of integrated runs (spec step 4) and the run-time
// filters (spec step 5).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "stages/integrate/integrate.h"
#include "stages/join/join.h"

namespace wattrun::quality {

// missing_all, missing_some, zero_watts or ok, for a run that passed the join.
join::RunStatus TelemetryStatus(const integrate::RunIntegral& integral, double run_time_s, double sampling_interval_s);

struct FilterOptions {
  double max_run_time_s = 75000.0;
  double max_stdevs = 4.0;
};

struct FilterInput {
  join::RunStatus status = join::RunStatus::kOk;
  double run_time_s = 0.0;
  bool is_gpu = false;
  std::string dataset;
  std::int64_t size = 0;
};

// Per run; std::nullopt where not defined (runs that are not ok; z-scores of
// groups of one or with equal run times).
struct FilterResult {
  std::vector<std::optional<bool>> filter_1;
  std::vector<std::optional<bool>> filter_3;
  std::vector<std::optional<double>> filter_3_stdevs;
  std::vector<std::optional<bool>> filter;
};

// filter_1: run_time > max_run_time_s. filter_3: within groups of equal
// (is_gpu, dataset, size) of ok runs, |ln rt - mean(ln rt)| / std(ln rt) >
// max_stdevs with the population std; groups of one, or whose run times are
// all equal, are never filtered. Both strict.
FilterResult ApplyFilters(const std::vector<FilterInput>& runs, const FilterOptions& options);

}  // namespace wattrun::quality
