#include "stages/quality/quality.h"

#include <cmath>
#include <map>
#include <tuple>

namespace wattrun::quality {

using join::RunStatus;

RunStatus TelemetryStatus(const integrate::RunIntegral& integral, double run_time_s, double sampling_interval_s) {
  if (integral.samples == 0) return RunStatus::kMissingAll;
  if (static_cast<double>(integral.samples) < run_time_s / sampling_interval_s - 1.0) return RunStatus::kMissingSome;
  if (integral.has_zero) return RunStatus::kZeroWatts;
  return RunStatus::kOk;
}

FilterResult ApplyFilters(const std::vector<FilterInput>& runs, const FilterOptions& options) {
  FilterResult out;
  const std::size_t n = runs.size();
  out.filter_1.resize(n);
  out.filter_3.resize(n);
  out.filter_3_stdevs.resize(n);
  out.filter.resize(n);
  // Groups of ok runs, in input order within each group.
  std::map<std::tuple<bool, std::string, std::int64_t>, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < n; ++i) {
    if (runs[i].status != RunStatus::kOk) continue;
    out.filter_1[i] = runs[i].run_time_s > options.max_run_time_s;
    out.filter_3[i] = false;
    if (runs[i].run_time_s > 0) groups[{runs[i].is_gpu, runs[i].dataset, runs[i].size}].push_back(i);
  }
  for (const auto& [key, members] : groups) {
    if (members.size() < 2) continue;
    double sum = 0;
    for (std::size_t i : members) sum += std::log(runs[i].run_time_s);
    const double mean = sum / static_cast<double>(members.size());
    double squares = 0;
    for (std::size_t i : members) {
      const double d = std::log(runs[i].run_time_s) - mean;
      squares += d * d;
    }
    const double std_dev = std::sqrt(squares / static_cast<double>(members.size()));  // ddof = 0
    if (!(std_dev > 0)) continue;
    for (std::size_t i : members) {
      const double z = std::abs(std::log(runs[i].run_time_s) - mean) / std_dev;
      out.filter_3_stdevs[i] = z;
      out.filter_3[i] = z > options.max_stdevs;
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (out.filter_1[i].has_value()) out.filter[i] = *out.filter_1[i] || *out.filter_3[i];
  }
  return out;
}

}  // namespace wattrun::quality
