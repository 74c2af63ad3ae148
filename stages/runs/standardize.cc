// Spec steps 7 (standardized energy) and 8 (overheads) on the run table.
#include <cmath>

#include "stages/runs/runs.h"

namespace wattrun::runs {

std::map<std::string, double> IdlePowerByType(const std::vector<idle::IdlePower>& idle) {
  std::map<std::string, double> out;
  for (const auto& p : idle) {
    if (!std::isnan(p.idle_w)) out[p.node_type] = p.idle_w;
  }
  return out;
}

StandardizeOptions StandardizeOptions::FromConfig(const Config& config) {
  StandardizeOptions o;
  for (const auto& c : config.facility.hardware_classes) o.reference_type.emplace(c.is_gpu, c.reference_type);
  return o;
}

void StandardizeRuns(const std::vector<idle::IdlePower>& idle, const StandardizeOptions& options,
                     std::vector<results::RunRow>* rows) {
  const std::map<std::string, double> idle_w = IdlePowerByType(idle);
  for (results::RunRow& row : *rows) {
    if (!row.energy_j) continue;
    const auto own = idle_w.find(row.node_type);
    if (own != idle_w.end() && row.run_time_s) {
      row.idle_energy_j = own->second * *row.run_time_s;
      row.dynamic_energy_j = *row.energy_j - *row.idle_energy_j;
    }
    const auto ref_type = options.reference_type.find(row.is_gpu);
    if (ref_type == options.reference_type.end() || own == idle_w.end()) continue;
    const auto ref = idle_w.find(ref_type->second);
    if (ref == idle_w.end()) continue;
    row.std_energy_j = standardize::StandardizedEnergy(*row.energy_j, *row.run_time_s, ref->second, own->second);
  }
}

std::vector<standardize::Overhead> SubtractOverheads(const standardize::OverheadOptions& options,
                                                     std::vector<results::RunRow>* rows) {
  std::vector<standardize::OverheadInput> input(rows->size());
  for (std::size_t i = 0; i < rows->size(); ++i) {
    const results::RunRow& row = (*rows)[i];
    input[i] = {row.usable && row.std_energy_j.has_value(),
                row.is_gpu,
                row.dataset,
                row.size,
                row.std_energy_j.value_or(0.0),
                row.run_time_s.value_or(0.0)};
  }
  std::vector<standardize::Overhead> overheads = standardize::ComputeOverheads(input, options);
  for (auto& row : *rows) {
    for (const auto& o : overheads) {
      if (o.is_gpu != row.is_gpu || std::isnan(o.energy_overhead_j)) continue;
      if (row.std_energy_j) row.non_overhead_energy_j = *row.std_energy_j - o.energy_overhead_j;
      if (row.std_energy_j && row.run_time_s) row.non_overhead_run_time_s = *row.run_time_s - o.runtime_overhead_s;
    }
  }
  return overheads;
}

}  // namespace wattrun::runs
