// Standardized energy (spec step 7) and the overheads (spec step 8).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace wattrun::standardize {

// std_energy = energy + (P_idle[ref] - P_idle[type]) * run_time.
double StandardizedEnergy(double energy_j, double run_time_s, double idle_reference_w, double idle_type_w);

struct OverheadInput {
  bool usable = false;  // ok and not filtered
  bool is_gpu = false;
  std::string dataset;
  std::int64_t size = 0;
  double std_energy_j = 0.0;
  double run_time_s = 0.0;
};

struct Overhead {
  bool is_gpu = false;
  std::int64_t runs = 0;
  double energy_overhead_j = 0.0;  // NaN without runs
  double runtime_overhead_s = 0.0;
};

struct OverheadOptions {
  std::string dataset = "505_tecator";
  std::int64_t max_size = 1024;
  double quantile = 0.05;
};

// One row per class present (cpu first, then gpu).
std::vector<Overhead> ComputeOverheads(const std::vector<OverheadInput>& runs, const OverheadOptions& options);

}  // namespace wattrun::standardize
