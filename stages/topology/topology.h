// Network topology as BUTTER sizes it (spec steps 9-11): widths from
// (shape, depth, target size), operation counts, batches per epoch, working
// sets and their placement in a hardware class's memory hierarchy.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/memory_hierarchy.h"

namespace wattrun::topology {

using wattrun::MemoryHierarchy;
using wattrun::MemoryLevel;

// The default hierarchies of Eagle (spec step 11).
MemoryHierarchy DefaultCpuHierarchy();
MemoryHierarchy DefaultGpuHierarchy();

struct NetworkSpec {
  std::string shape;  // rectangle, trapezoid, exponential, wide_first_Nx, and *_residual
  std::int64_t depth = 0;
  std::int64_t target_size = 0;
  std::int64_t n_inputs = 0;
  std::int64_t n_outputs = 0;
};

struct Network {
  std::vector<std::int64_t> full_widths;  // [n_in] + widths (output included)
  std::int64_t n_params = 0;
  std::int64_t num_nodes = 0;  // sum of full_widths
  bool residual = false;
};

// Throws wattrun::Error for an unknown shape or a depth < 2.
Network BuildNetwork(const NetworkSpec& spec);
// Layer widths (without the input) for a given first width w0.
std::vector<std::int64_t> WidthsForFirstWidth(const std::string& shape, std::int64_t depth, std::int64_t w0,
                                              std::int64_t n_outputs);
std::int64_t CountParameters(std::int64_t n_inputs, const std::vector<std::int64_t>& widths);

// Everything of a run that the energy model needs (spec steps 10-11).
struct RunFeatures {
  std::int64_t batch_size = 0;
  std::int64_t h_t = 0;  // training batches per epoch
  std::int64_t h_s = 0;  // test batches per epoch
  std::int64_t epochs = 3000;
  double fwd_ops = 0.0;       // per batch
  double bwd_ops = 0.0;       // per batch
  std::int64_t n_layers = 0;  // |L| = number of dense layers
  std::int64_t n_params = 0;
  // Working sets: total bytes (replicated + distributed) and memory level.
  std::vector<double> t_bytes;
  std::vector<int> t_level;
  double f_bytes = 0.0;  // training forward f (and test forward f')
  int f_level = 0;       // level of f (== level of b)
  int f_test_level = 0;  // level of f'
  double b_bytes = 0.0;
  int b_level = 0;
  double d_bytes = 0.0;
  int d_level = 0;
};

RunFeatures ComputeFeatures(const Network& network, std::int64_t n_observations, std::int64_t batch_size,
                            std::int64_t epochs, const MemoryHierarchy& memory);

}  // namespace wattrun::topology
