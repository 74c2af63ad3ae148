// `wattrun predict`: the energy a fitted model expects for one network on one
// data set and hardware class, where that energy goes (term by term, working
// set by working set), and how it changes over the sweep of sizes, with the
// sizes the paper's rule of thumb calls efficient (section 8: a forward or
// backward working set that just fills a cache level). Plain data out; the
// caller prints.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/memory_hierarchy.h"
#include "stages/topology/topology.h"

namespace wattrun::model {

struct PredictRequest {
  // The data set.
  std::int64_t n_inputs = 0;
  std::int64_t n_outputs = 0;
  std::int64_t n_observations = 0;
  // The network.
  std::string shape;
  std::int64_t depth = 0;
  std::int64_t size = 0;  // target size, as in the sweep
  // The hardware class and the training run.
  MemoryHierarchy memory;
  std::int64_t epochs = 3000;
  std::int64_t batch_size = 256;
  // Fitted parameters in ParameterNames order and ParameterUnits units
  // (4 + 2C values for C = memory.size() levels).
  std::vector<double> k;
  // The table over sizes 2^min_log2_size .. 2^max_log2_size.
  int min_log2_size = 5;
  int max_log2_size = 25;
};

// One working set's part of the energy: accesses (a_c + m_c s) at its level.
struct WorkingSetEnergy {
  std::string name;  // d, f, b, f' or t0, t1, ... (one per layer)
  int level = 0;
  double bytes = 0.0;
  double accesses = 0.0;  // over the whole run
  double access_j = 0.0;  // accesses * a_c
  double size_j = 0.0;    // accesses * m_c * bytes in MiB
  double energy_j = 0.0;  // access_j + size_j
};

// Ê split by term of spec step 12; the parts add up to total_j.
struct EnergyBreakdown {
  double overhead_j = 0.0;      // ke
  double passes_j = 0.0;        // n (2 h_t + h_s) kp
  double forward_ops_j = 0.0;   // n (h_t + h_s) o_f ko
  double backward_ops_j = 0.0;  // n h_t o_b ko
  double layers_j = 0.0;        // n (2 h_t + h_s) |L| kd
  std::vector<WorkingSetEnergy> working_sets;
  double working_sets_j = 0.0;  // sum over working_sets
  double total_j = 0.0;
};

// One row of the size table.
struct SizePoint {
  std::int64_t size = 0;  // target size 2^i
  topology::Network network;
  topology::RunFeatures features;  // working-set sizes and levels
  double energy_j = 0.0;
  double energy_per_datum_j = 0.0;
  double t_max_bytes = 0.0;  // the largest inter-layer working set
  int t_max_level = 0;
  // The largest size before f (at its own placement, f') or b spills to the
  // next level: the next size up has f or b one level higher.
  bool efficient = false;
  std::string efficient_reason;  // e.g. "b fills level 2 (level 3 at the next size)"
};

struct Prediction {
  topology::Network network;
  topology::RunFeatures features;
  EnergyBreakdown breakdown;
  // Energy per training datum: total / (epochs * 0.8 n_observations), the
  // 80/20 split of spec step 10.
  double energy_per_datum_j = 0.0;
  std::vector<SizePoint> sizes;
};

// Throws wattrun::Error for an unknown shape, a bad depth, or k of the wrong
// length for the hierarchy.
Prediction PredictRun(const PredictRequest& request);

// Splits PredictEnergy(features, k) into its terms.
EnergyBreakdown BreakDownEnergy(const topology::RunFeatures& features, const std::vector<double>& k);

}  // namespace wattrun::model
