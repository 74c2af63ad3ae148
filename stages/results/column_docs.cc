#include "stages/results/column_docs.h"

#include <map>

namespace wattrun::results {
namespace {

constexpr const char* kTime = "us since 1970-01-01 UTC";
constexpr const char* kBool = " (uint8: 1 true, 0 false)";

// By name; a few names mean different things in different groups (below).
const std::map<std::string, ColumnDoc>& ByName() {
  static const std::map<std::string, ColumnDoc> docs = {
      {"b_bytes", {"B", "working set of the backward pass"}},
      {"b_level", {"1", "memory level the backward working set fits in (0: first level)"}},
      {"baseline_predicted", {"J", "energy predicted by the FLOPs-only baseline"}},
      {"bwd_ops", {"1", "operations of one backward pass per observation"}},
      {"bytes_per_unit", {"B", "capacity of the memory level per unit (core, socket or device)"}},
      {"class_is_gpu", {"1", std::string("hardware class is a GPU class") + kBool}},
      {"classes", {"text", "hardware classes in configuration order"}},
      {"d_bytes", {"B", "size of the training data set"}},
      {"d_level", {"1", "memory level the data set fits in"}},
      {"depth", {"1", "number of layers"}},
      {"determined", {"1", std::string("parameter determined by the fit") + kBool}},
      {"energy_overhead", {"J", "energy overhead subtracted per run"}},
      {"epoch", {"1", "training epoch"}},
      {"epochs", {"1", "training epochs"}},
      {"experiment_id", {"text", "BUTTER experiment id"}},
      {"f_bytes", {"B", "working set of the forward pass"}},
      {"f_level", {"1", "memory level the forward working set fits in"}},
      {"f_test_level", {"1", "memory level of the forward pass on the test set"}},
      {"fwd_ops", {"1", "operations of one forward pass per observation"}},
      {"g_per_kwh", {"g CO2e/kWh", "carbon intensity from this instant on"}},
      {"h_s", {"1", "size hyperparameter h_s of the energy model"}},
      {"h_t", {"1", "training hyperparameter h_t of the energy model"}},
      {"hardware_class", {"text", "hardware class"}},
      {"idle_quantile", {"W", "the node's idle-quantile power"}},
      {"idle_w", {"W", "idle power of the node type (exact quantile of all its readings)"}},
      {"is_gpu", {"1", std::string("GPU hardware") + kBool}},
      {"level", {"1", "memory level (0: closest to the cores)"}},
      {"low_end_types", {"text", "node types of /idle_power/low_end, in order"}},
      {"max", {"W", "largest reading"}},
      {"measured", {"J", "measured (standardized, overhead-free) energy"}},
      {"min", {"W", "smallest reading"}},
      {"model_classes", {"text", "hardware classes of the /model_<class> groups, in order"}},
      {"n_observations", {"1", "observations in the data set"}},
      {"n_params", {"1", "trainable parameters"}},
      {"node", {"text", "node host name"}},
      {"node_type", {"text", "node type"}},
      {"nodes", {"1", "number of nodes"}},
      {"parameter", {"text", "model parameter name"}},
      {"predicted", {"J", "energy predicted by the fitted model"}},
      {"quantile_levels", {"1", "levels of the per-node quantile columns, in order"}},
      {"quantile_names", {"text", "names of the per-node quantile columns, in order"}},
      {"ratio", {"1", "predicted / measured energy"}},
      {"ratio_quantile_levels", {"1", "quantile levels of predicted/measured"}},
      {"ratio_quantiles", {"1", "quantiles of predicted/measured"}},
      {"readings", {"1", "number of power readings"}},
      {"reason", {"text", "reason"}},
      {"run", {"1", "row index into /runs_energy"}},
      {"run_id", {"text", "BUTTER run id"}},
      {"runs", {"1", "number of runs"}},
      {"runtime_overhead", {"s", "run-time overhead subtracted per run"}},
      {"stage", {"text", "pipeline stage"}},
      {"std_error", {"same as value", "standard error of the parameter (NaN: not determined)"}},
      {"t_max_bytes", {"B", "largest working set"}},
      {"t_max_level", {"1", "memory level of the largest working set"}},
      {"test_loss", {"1", "test loss at the epoch"}},
      {"total_flops", {"1", "floating-point operations of the whole training"}},
      {"train_observations", {"1", "training observations"}},
      {"unit", {"text", "unit of the parameter's value"}},
      {"units", {"1", "units (cores, sockets or devices) of the level"}},
      {"value", {"see unit", "parameter value"}},
  };
  return docs;
}

}  // namespace

ColumnDoc DescribeColumn(const std::string& group, const std::string& name) {
  const bool low_end = group.rfind("/idle_power/low_end/", 0) == 0;
  if (low_end && name == "value") return {"W", "power reading value"};
  if (low_end && name == "count") return {"1", "readings of the node type with this value"};
  if (group == "/quality" && name == "count") return {"1", "rows or runs dropped or counted for the reason"};
  if (group == "/node_power_dist" && name == "count") return {"1", "readings of the node"};
  if (group == "/carbon_intensity" && name == "time") return {kTime, "instant the intensity holds from"};
  if (group == "/telemetry_coverage" && name == "day") return {"days since 1970-01-01 UTC", "UTC day of the readings"};
  if (group == "/telemetry_coverage" && name == "node_type")
    return {"text", "node type (empty: node not in nodes.csv)"};
  if (group == "/telemetry_coverage" && name == "readings")
    return {"1", "power readings of the node type's nodes on the day"};
  const auto& docs = ByName();
  if (const auto it = docs.find(name); it != docs.end()) return it->second;
  if (group == "/node_power_dist") return {"W", "the node's power quantile " + name};
  return {"1", name + " (see PIPELINE.md section 3)"};
}

}  // namespace wattrun::results
