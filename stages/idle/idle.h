// Idle power per node type (spec step 6) and the per-node quantile table in
// the BUTTER-E node_power_dist.csv layout, both exact: they are computed
// from ValueCounts, which hold every reading's value with its count.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/quantile.h"

namespace wattrun::idle {

enum class Method { kPooled, kMedianOfNodes };

// One row of node_power_dist.csv.
struct NodeDistribution {
  std::string node;
  std::string node_type;
  std::int64_t count = 0;
  double min = 0.0;
  double max = 0.0;
  std::vector<double> quantiles;  // at the configured levels
  double idle_quantile = 0.0;     // at the idle level (for median_of_nodes)
};

NodeDistribution DescribeNode(const std::string& node, const std::string& node_type, const ValueCounts& readings,
                              const std::vector<std::pair<std::string, double>>& levels, double idle_level);

struct IdlePower {
  std::string node_type;
  std::int64_t nodes = 0;  // nodes of the type with at least one reading
  std::int64_t readings = 0;
  double idle_w = 0.0;  // NaN if the type has no readings
};

// `pooled[t]` holds all readings of type t; `per_node` every node's row.
std::vector<IdlePower> ComputeIdlePower(const std::vector<std::string>& types, const std::vector<ValueCounts>& pooled,
                                        const std::vector<NodeDistribution>& per_node, Method method, double level);

}  // namespace wattrun::idle
