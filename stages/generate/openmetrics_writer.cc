#include "stages/generate/openmetrics_writer.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include "stages/generate/text_format.h"

namespace wattrun::generate {
namespace {

constexpr std::int64_t kMsPerSecond = 1000;
constexpr std::size_t kMaxSampleBytes = 160;  // metric, label and name are short

// The first tick of block `block` (ticks at or after its start).
std::int64_t FirstTickOfBlock(const Plan& plan, std::int64_t block) {
  return CeilDivTicks(block * kOpenMetricsBlockMs, plan.step_ms);
}

std::int64_t WindowFirstTick(const Plan& plan) { return plan.months.front().first_tick; }
std::int64_t WindowLastTick(const Plan& plan) { return plan.months.back().last_tick; }

inline char* PutText(char* q, std::string_view text) {
  std::memcpy(q, text.data(), text.size());
  return q + text.size();
}

// "1634277600.000": epoch seconds with milliseconds.
inline char* PutEpoch(char* q, TimeMs utc) {
  const std::int64_t s = FloorDiv(utc, kMsPerSecond);
  const auto n =
      std::snprintf(q, 32, "%lld.%03lld", static_cast<long long>(s), static_cast<long long>(utc - s * kMsPerSecond));
  return q + n;
}

// One block's file: every node's readings of the block's ticks.
class BlockWriter {
 public:
  BlockWriter(const Plan& plan, std::vector<SeriesCursor>* cursors) : plan_(plan), cursors_(*cursors) {
    const PrometheusConfig& p = plan.config.facility.prometheus;
    for (std::size_t n = 0; n < plan.nodes.size(); ++n) {
      prefixes_.push_back(p.metric + "{" + p.node_label + "=\"" + OpenMetricsNodeLabel(plan.nodes[n].name, n) + "\"} ");
    }
  }

  void Write(std::int64_t block, const std::string& path, OpenMetricsStats* stats) {
    const std::int64_t lo = std::max(FirstTickOfBlock(plan_, block), WindowFirstTick(plan_));
    const std::int64_t hi = std::min(FirstTickOfBlock(plan_, block + 1) - 1, WindowLastTick(plan_));
    OutputFile out(path, false);
    out.Write("# TYPE " + plan_.config.facility.prometheus.metric + " gauge\n");
    for (std::size_t n = 0; n < plan_.nodes.size(); ++n) {
      for (std::int64_t tick = lo; tick <= hi; ++tick) {
        const int watts = Reading(plan_.nodes[n].series, tick, &cursors_[n]);
        if (watts < 0) continue;
        char* const begin = out.Reserve(kMaxSampleBytes);
        char* q = PutText(begin, prefixes_[n]);
        q += std::snprintf(q, 16, "%d ", watts);
        q = PutEpoch(q, tick * plan_.step_ms);
        *q++ = '\n';
        out.Commit(static_cast<std::size_t>(q - begin));
        ++stats->samples;
      }
    }
    out.Write("# EOF\n");
    stats->bytes += out.Close();
    ++stats->files;
  }

 private:
  const Plan& plan_;
  std::vector<SeriesCursor>& cursors_;
  std::vector<std::string> prefixes_;  // per node: `metric{label="value"} `
};

}  // namespace

OpenMetricsBlocks OpenMetricsBlocksOf(const Plan& plan) {
  return {FloorDiv(WindowFirstTick(plan) * plan.step_ms, kOpenMetricsBlockMs),
          FloorDiv(WindowLastTick(plan) * plan.step_ms, kOpenMetricsBlockMs)};
}

std::string OpenMetricsNodeLabel(const std::string& name, std::size_t index) {
  return name + (index % 3 == 1 ? ":9290" : index % 3 == 2 ? ".cluster" : "");
}

OpenMetricsStats WriteOpenMetricsBlocks(const Plan& plan, const std::string& output_dir, std::int64_t first,
                                        std::int64_t last) {
  OpenMetricsStats stats;
  std::vector<SeriesCursor> cursors(plan.nodes.size());  // blocks in time order: sequential per node
  BlockWriter writer(plan, &cursors);
  for (std::int64_t block = first; block <= last; ++block) {
    writer.Write(block, output_dir + "/openmetrics/" + std::to_string(block) + ".om", &stats);
  }
  return stats;
}

std::string OpenMetricsConfigYaml(const Plan& plan, const std::string& yaml_text) {
  const PrometheusConfig& p = plan.config.facility.prometheus;
  YAML::Node root = YAML::Load(yaml_text);
  YAML::Node telemetry = root["facility"]["telemetry"];
  telemetry["source"] = "prometheus";
  YAML::Node prometheus;
  prometheus["url"] = p.url;
  prometheus["metric"] = p.metric;
  prometheus["node_label"] = p.node_label;
  prometheus["start"] = FormatUtcIso(ToCoreTime(WindowFirstTick(plan) * plan.step_ms));
  prometheus["end"] = FormatUtcIso(ToCoreTime(WindowLastTick(plan) * plan.step_ms));
  telemetry["prometheus"] = prometheus;
  YAML::Emitter out;
  out << root;
  return std::string(
             "# written by `wattrun generate --telemetry-format openmetrics`: the generator's config, its "
             "telemetry\n# read from a Prometheus loaded with openmetrics/*.om:\n#   for f in openmetrics/*.om; do "
             "promtool tsdb create-blocks-from openmetrics \"$f\" tsdb; done\n#   prometheus "
             "--storage.tsdb.path=tsdb --storage.tsdb.retention.time=100y\n") +
         out.c_str() + "\n";
}

}  // namespace wattrun::generate
