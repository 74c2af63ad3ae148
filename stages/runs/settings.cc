// The settings a results directory records (for the report and readers).
#include <fstream>
#include <sstream>

#include "stages/runs/runs.h"

namespace wattrun::runs {

void RecordSettings(const Config& config, results::PipelineResults* out) {
  out->facility = config.facility.name;
  if (!config.source_path.empty()) {  // the configuration as the user wrote it
    std::ifstream in(config.source_path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    out->config_yaml = text.str();
  }
  out->integration = ToString(config.pipeline.integration);
  out->idle_method = ToString(config.pipeline.idle_method);
  for (const auto& [name, q] : config.pipeline.node_quantiles) {
    out->node_quantile_names.push_back(name);
    out->node_quantile_levels.push_back(q);
  }
  out->idle_quantile = config.pipeline.idle_quantile;
  out->filter_max_run_time_s = config.pipeline.filter_max_run_time_s;
  out->filter_max_stdevs = config.pipeline.filter_max_stdevs;
  for (const auto& c : config.facility.hardware_classes)
    out->memory_levels.push_back({c.name, c.is_gpu, c.memory_levels});
  const ResolvedCarbon carbon = ResolveCarbon(config.pipeline.carbon);
  out->pue = config.pipeline.carbon.pue;
  out->carbon_g_per_kwh = carbon.g_per_kwh;
  out->carbon_source = carbon.source;
}

ResolvedCarbon ResolveCarbon(const CarbonConfig& carbon) {
  ResolvedCarbon out;
  out.g_per_kwh = carbon.intensity_g_per_kwh;
  out.source = carbon.intensity_g_per_kwh == 475.0 ? "world average (475 g CO2/kWh)" : "configured intensity";
  if (carbon.mix.empty()) return out;
  double g = 0;
  std::string mix;
  for (const auto& [source, share] : carbon.mix) {
    // The config reader has checked that every source has an intensity.
    g += share * carbon.source_intensity_g_per_kwh.at(source);
    mix += (mix.empty() ? "" : ", ") + source + " " + results::FormatDouble(100 * share) + "%";
  }
  out.g_per_kwh = g;
  out.source = "energy mix: " + mix;
  return out;
}

}  // namespace wattrun::runs
