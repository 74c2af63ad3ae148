#include "stages/idle/idle.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace wattrun::idle {

NodeDistribution DescribeNode(const std::string& node, const std::string& node_type, const ValueCounts& readings,
                              const std::vector<std::pair<std::string, double>>& levels, double idle_level) {
  NodeDistribution d;
  d.node = node;
  d.node_type = node_type;
  d.count = readings.total();
  d.min = readings.Min();
  d.max = readings.Max();
  for (const auto& [name, q] : levels) d.quantiles.push_back(readings.Quantile(q));
  d.idle_quantile = readings.Quantile(idle_level);
  return d;
}

std::vector<IdlePower> ComputeIdlePower(const std::vector<std::string>& types, const std::vector<ValueCounts>& pooled,
                                        const std::vector<NodeDistribution>& per_node, Method method, double level) {
  std::vector<IdlePower> out;
  for (std::size_t t = 0; t < types.size(); ++t) {
    IdlePower p;
    p.node_type = types[t];
    std::vector<double> node_quantiles;
    for (const auto& d : per_node) {
      if (d.node_type == types[t] && d.count > 0) {
        ++p.nodes;
        node_quantiles.push_back(d.idle_quantile);
      }
    }
    p.readings = pooled[t].total();
    if (method == Method::kPooled) {
      p.idle_w = pooled[t].Quantile(level);
    } else {
      std::sort(node_quantiles.begin(), node_quantiles.end());
      p.idle_w = QuantileSorted(node_quantiles, 0.5);  // numpy.median
    }
    out.push_back(p);
  }
  return out;
}

}  // namespace wattrun::idle
