// `wattrun generate --telemetry-format openmetrics`: the facility's
// readings also as OpenMetrics text, for `promtool tsdb create-blocks-from
// openmetrics FILE TSDB_DIR` to load into a Prometheus TSDB:
//   openmetrics/BLOCK.om   one file per 2-hour TSDB block (BLOCK: UTC epoch
//                          ms / 7,200,000), every node's readings in it
// promtool 2.42 reads its whole input once for every 2-hour block it
// writes, so one file per block keeps the load linear in the readings.
// A file holds one gauge (facility.telemetry.prometheus.metric, default
// node_power_watts) with one series per node (label node_label), node by
// node, each in time order, `# EOF` last. The readings are the series'
// clean ones (what the file route keeps of the dirty CSV files), so that a
// Prometheus loaded with them gives the file route's results. As exporters
// write their instance labels, every third node's label carries ":9290"
// and the next one's ".cluster" (the ingest cuts them off).
#pragma once

#include <cstdint>
#include <string>

#include "stages/generate/plan.h"

namespace wattrun::generate {

// The 2-hour blocks of the window, [first_block, last_block].
struct OpenMetricsBlocks {
  std::int64_t first_block = 0;
  std::int64_t last_block = 0;
};
inline constexpr TimeMs kOpenMetricsBlockMs = 2 * 3600 * 1000;  // promtool's block length
OpenMetricsBlocks OpenMetricsBlocksOf(const Plan& plan);

struct OpenMetricsStats {
  std::int64_t files = 0;
  std::int64_t samples = 0;
  std::int64_t bytes = 0;
};

// Writes blocks [first, last] of OpenMetricsBlocksOf(plan) into
// output_dir/openmetrics/ (created by the caller).
OpenMetricsStats WriteOpenMetricsBlocks(const Plan& plan, const std::string& output_dir, std::int64_t first,
                                        std::int64_t last);

// The label value of node `index` (its name, or with a ":9290" or
// ".cluster" suffix as an exporter's instance label).
std::string OpenMetricsNodeLabel(const std::string& name, std::size_t index);

// `yaml_text` (the generator's config) with facility.telemetry.source:
// prometheus and its prometheus keys (url, metric, node_label, start and
// end: the window's first and last reading instants, UTC).
std::string OpenMetricsConfigYaml(const Plan& plan, const std::string& yaml_text);

}  // namespace wattrun::generate
