// The wattrun configuration: the facility being analysed and the pipeline's
// settings, loaded from YAML and validated on load.
//
// Every error names the file, the key path and the broken constraint, e.g.
//   configs/eagle.yaml: pipeline.idle.quantile: must be in (0, 1), got 1.5
// Unknown keys are errors too, reported with their path.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/memory_hierarchy.h"
#include "core/time.h"

namespace wattrun {

struct NodeSignature {
  std::int64_t cpus = 0;
  std::int64_t memory_mb = 0;
  std::int64_t tmp_disk_mb = 0;
  std::string gres = "(null)";
};

struct NodeTypeConfig {
  std::string name;            // cpu1, gpu1, ...
  std::string hardware_class;  // cpu or gpu (a key of hardware_classes)
  NodeSignature signature;
  // Used by the generator only (the synthetic twin's truth).
  std::int64_t count = 0;  // nodes of this type at scale 1
  double idle_w = 0.0;     // idle power of this type
};

struct HardwareClassConfig {
  std::string name;  // cpu, gpu
  bool is_gpu = false;
  std::string reference_type;  // type that energies are standardized to
  MemoryHierarchy memory_levels;
};

struct SourceTimeConfig {
  std::string timezone = "UTC";
  bool ignore_z = false;  // the BUTTER-E power files' wrong trailing Z
};

enum class TelemetryTimeFormat { kIso, kEpochSeconds, kEpochMillis, kEpochMicros };
enum class TelemetryKind { kPower, kEnergyCounter };

// The layout of a facility's telemetry files (facility.telemetry.columns,
// time_format, watts_unit, kind); the defaults are the spec's
// `timestamp,node,watts` with ISO times in watts.
struct TelemetryFormatConfig {
  std::string timestamp_column = "timestamp";
  std::string node_column = "node";
  std::string watts_column = "watts";
  TelemetryTimeFormat time_format = TelemetryTimeFormat::kIso;
  int watts_exponent = 0;  // the watts column is in 10^exponent W: kW 3, mW -3
  TelemetryKind kind = TelemetryKind::kPower;
};

// Where the telemetry comes from (facility.telemetry.source).
enum class TelemetrySource { kFiles, kPrometheus };

// facility.telemetry.prometheus: a server's raw samples of one metric.
struct PrometheusConfig {
  std::string url = "http://127.0.0.1:9090";
  std::string metric = "node_power_watts";
  std::string node_label = "node";  // its values are cut at the first ':' or '.'
  // Instants fetched, [start, end] (UTC); unset: from the earliest sacct
  // Start, to the latest sacct End (now while a job runs).
  std::optional<TimeUs> start;
  std::optional<TimeUs> end;
};

struct FacilityConfig {
  std::string name;
  SourceTimeConfig telemetry;
  TelemetryFormatConfig telemetry_format;  // also under facility.telemetry
  TelemetrySource telemetry_source = TelemetrySource::kFiles;
  PrometheusConfig prometheus;
  SourceTimeConfig scheduler;
  double sampling_interval_s = 60.0;
  std::vector<NodeTypeConfig> node_types;
  std::vector<HardwareClassConfig> hardware_classes;

  const NodeTypeConfig* FindType(const std::string& name) const;
  const HardwareClassConfig* FindClass(const std::string& name) const;
  const HardwareClassConfig& ClassOf(bool is_gpu) const;
  // Type whose signature matches, or nullptr.
  const NodeTypeConfig* MatchSignature(const NodeSignature& signature) const;
};

enum class Integration { kLinear, kStep };
enum class IdleMethod { kPooled, kMedianOfNodes };
enum class RobustLoss { kNone, kHuber, kCauchy, kSoftL1 };

struct FitConfig {
  RobustLoss loss = RobustLoss::kSoftL1;
  double loss_scale = 1.0;
  int max_iterations = 500;
  int cross_validation_folds = 5;  // 0 disables
  // A parameter is "determined" when its term carries at least this share of
  // some runs' energy and its relative standard error is below the limit.
  double min_energy_share = 0.01;
  double max_relative_std_error = 0.5;

  // What is wrong with the values, as (key under pipeline.fit, reason);
  // empty when they are valid. The one check of these values: the config
  // reader reports each problem under its key path, and the fit stage
  // (model::FitOptions::Validate) refuses options that have any.
  std::vector<std::pair<std::string, std::string>> Problems() const;
};

struct CarbonConfig {
  double pue = 1.0;
  // Either a fixed intensity, or an energy mix (shares summing to 1) with
  // per-source intensities; world average 475 g/kWh when nothing is known.
  double intensity_g_per_kwh = 475.0;
  std::map<std::string, double> mix;  // source -> share
  std::map<std::string, double> source_intensity_g_per_kwh;
};

struct PipelineConfig {
  Integration integration = Integration::kLinear;
  IdleMethod idle_method = IdleMethod::kPooled;
  double idle_quantile = 0.02;
  double filter_max_run_time_s = 75000.0;
  double filter_max_stdevs = 4.0;
  std::string overhead_dataset = "505_tecator";
  std::int64_t overhead_max_size = 1024;
  double overhead_quantile = 0.05;
  std::int64_t epochs = 3000;
  // Quantile levels of node_power_dist.csv, with their column names.
  std::vector<std::pair<std::string, double>> node_quantiles;
  bool strict = false;  // bad input rows are fatal instead of counted
  FitConfig fit;
  CarbonConfig carbon;
};

// Settings of the synthetic facility generator (`wattrun generate`).
struct GeneratorConfig {
  std::string start_date = "2021-09-01";  // first day of telemetry (local)
  int months = 9;
  double scale = 1.0;
  std::uint64_t seed = 1;
  std::int64_t runs_at_scale_1 = 41129;
  double sigma_cpu = 0.30;
  double sigma_gpu = 0.07;
  bool dirty = true;                  // inject the dirt of a real facility
  std::vector<std::string> datasets;  // empty: the 13 of BUTTER-E
};

struct Config {
  std::string source_path;  // file it was loaded from, for messages
  std::string yaml_text;    // the text parsed, as written (the store records it)
  FacilityConfig facility;
  PipelineConfig pipeline;
  GeneratorConfig generator;
};

// Parses YAML text. `source_name` is used in messages. Throws wattrun::Error
// with all problems found (one per line), each naming file and key path.
Config ParseConfig(const std::string& yaml_text, const std::string& source_name);
// Reads the file and parses it.
Config LoadConfigFile(const std::string& path);

// The default node_power_dist.csv columns of BUTTER-E.
std::vector<std::pair<std::string, double>> DefaultNodeQuantiles();

const char* ToString(Integration value);
const char* ToString(TelemetryTimeFormat value);  // iso, epoch_s, epoch_ms, epoch_us
const char* ToString(TelemetryKind value);        // power, energy_counter
const char* ToString(IdleMethod value);
const char* ToString(RobustLoss value);
const char* ToString(TelemetrySource value);

}  // namespace wattrun
