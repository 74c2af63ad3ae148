#include "core/config.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"

namespace wattrun {
namespace {

std::string SourceDir() {
  const char* env = std::getenv("WATTRUN_SOURCE_DIR");
  return env ? env : std::filesystem::path(__FILE__).parent_path().parent_path().string();
}

TEST(Config, EveryShippedConfigLoads) {
  int loaded = 0;
  for (const auto& e : std::filesystem::directory_iterator(SourceDir() + "/configs")) {
    if (e.path().extension() != ".yaml") continue;
    SCOPED_TRACE(e.path().string());
    const Config c = LoadConfigFile(e.path().string());
    EXPECT_FALSE(c.facility.node_types.empty());
    EXPECT_NE(c.facility.FindType(c.facility.ClassOf(false).reference_type), nullptr);
    ++loaded;
  }
  EXPECT_GE(loaded, 2);
}

TEST(Config, EagleIsThePapersSystem) {
  const Config c = LoadConfigFile(SourceDir() + "/configs/eagle.yaml");
  EXPECT_EQ(c.facility.telemetry.timezone, "America/Denver");
  EXPECT_TRUE(c.facility.telemetry.ignore_z);
  EXPECT_EQ(c.facility.scheduler.timezone, "America/Denver");
  ASSERT_EQ(c.facility.node_types.size(), 6u);
  std::int64_t nodes = 0;
  for (const auto& t : c.facility.node_types) nodes += t.count;
  EXPECT_EQ(nodes, 2618);
  EXPECT_EQ(c.facility.FindType("cpu4")->idle_w, 388);
  const NodeTypeConfig* cpu1 = c.facility.MatchSignature({36, 85248, 900000, "(null)"});
  ASSERT_NE(cpu1, nullptr);
  EXPECT_EQ(cpu1->name, "cpu1");
  const auto& gpu = c.facility.ClassOf(true);
  EXPECT_EQ(gpu.reference_type, "gpu1");
  ASSERT_EQ(gpu.memory_levels.size(), 3u);
  EXPECT_EQ(gpu.memory_levels[0].bytes_per_unit, 112 * 1024);
  EXPECT_EQ(gpu.memory_levels[0].units, 168);
  EXPECT_EQ(c.facility.ClassOf(false).memory_levels[2].bytes_per_unit, 24.75 * 1024 * 1024);
  EXPECT_EQ(c.pipeline.idle_quantile, 0.02);
  EXPECT_EQ(c.pipeline.filter_max_run_time_s, 75000);
  EXPECT_EQ(c.pipeline.node_quantiles.size(), 107u);
  EXPECT_EQ(c.pipeline.node_quantiles[5].first, "p2");
}

std::string ErrorOf(const std::string& yaml) {
  try {
    ParseConfig(yaml, "bad.yaml");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

const char* kMinimal = R"yaml(
facility:
  name: x
  hardware_classes:
    cpu:
      reference_type: c1
      memory_levels: [{level: 1, bytes_per_unit: 32KiB, units: 2}]
  node_types:
    - {name: c1, hardware_class: cpu, signature: {cpus: 1, memory_mb: 1, tmp_disk_mb: 1, gres: "(null)"}}
)yaml";

// kMinimal with `from` replaced by `to` (the first occurrence).
std::string MinimalWith(const std::string& from, const std::string& to) {
  std::string yaml = kMinimal;
  yaml.replace(yaml.find(from), from.size(), to);
  return yaml;
}

// Passes when loading `yaml` as bad.yaml fails with an error containing `expected`.
::testing::AssertionResult ErrorSays(const std::string& yaml, const std::string& expected) {
  const std::string error = ErrorOf(yaml);
  if (error.find(expected) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected an error containing\n  " << expected << "\ngot\n  " << error;
}

TEST(Config, MinimalConfigTakesTheDefaults) {
  const Config c = ParseConfig(kMinimal, "min.yaml");
  EXPECT_EQ(c.facility.telemetry.timezone, "UTC");
  EXPECT_EQ(c.pipeline.integration, Integration::kLinear);
  EXPECT_EQ(c.pipeline.idle_method, IdleMethod::kPooled);
  EXPECT_EQ(c.pipeline.fit.loss, RobustLoss::kSoftL1);
  EXPECT_EQ(c.pipeline.carbon.intensity_g_per_kwh, 475);
}

TEST(Config, ErrorsNameFileKeyPathAndConstraint) {
  const std::string yaml = std::string(kMinimal) + "pipeline:\n  idle: {quantile: 1.5}\n  integrate: step\n";
  EXPECT_TRUE(ErrorSays(yaml, "bad.yaml: pipeline.idle.quantile: must be in (0, 1), got 1.5"));
  EXPECT_TRUE(ErrorSays(yaml, "bad.yaml: pipeline.integrate: unknown key"));
  EXPECT_TRUE(ErrorSays(std::string(kMinimal) + "pipeline: {integration: trapezoid}\n",
                        "pipeline.integration: must be 'linear' or 'step', got 'trapezoid'"));
  EXPECT_TRUE(ErrorSays(std::string(kMinimal) + "pipeline: {filters: {max_stdevs: many}}\n",
                        "pipeline.filters.max_stdevs: must be a number, got 'many'"));
  EXPECT_TRUE(ErrorSays(std::string(kMinimal) + "pipeline: {fit: {loss: l2}}\n", "pipeline.fit.loss: must be one of"));
}

TEST(Config, FacilityConstraints) {
  EXPECT_TRUE(ErrorSays(MinimalWith("reference_type: c1", "reference_type: c9"),
                        "facility.hardware_classes.cpu.reference_type: 'c9' is not a configured node type"));
  EXPECT_TRUE(ErrorSays(MinimalWith("32KiB", "32 furlongs"),
                        "facility.hardware_classes.cpu.memory_levels[0].bytes_per_unit: unknown byte unit"));
  EXPECT_TRUE(ErrorSays("facility: {name: x}\n", "facility.node_types: must be a non-empty list"));
  EXPECT_TRUE(ErrorSays("pipeline: [1, 2]\n", "facility: required section is missing"));
  EXPECT_TRUE(ErrorSays("facility: {name: [unclosed\n", "bad.yaml:"));
}

TEST(Config, TelemetryLayoutDefaultsToTheSpecs) {
  const Config c = ParseConfig(MinimalWith("  name: x", "  name: x"), "ok");
  const TelemetryFormatConfig& f = c.facility.telemetry_format;
  EXPECT_EQ(f.timestamp_column, "timestamp");
  EXPECT_EQ(f.node_column, "node");
  EXPECT_EQ(f.watts_column, "watts");
  EXPECT_EQ(f.time_format, TelemetryTimeFormat::kIso);
  EXPECT_EQ(f.watts_exponent, 0);
  EXPECT_EQ(f.kind, TelemetryKind::kPower);
}

TEST(Config, TelemetryLayoutOfAnLdmsExport) {
  const Config c = ParseConfig(MinimalWith("  name: x", R"(  name: x
  telemetry:
    timezone: America/Denver
    columns: {timestamp: "#Time", node: ProducerName, watts: power}
    time_format: epoch_s
    watts_unit: kW
    kind: energy_counter)"),
                               "ok");
  const TelemetryFormatConfig& f = c.facility.telemetry_format;
  EXPECT_EQ(f.timestamp_column, "#Time");
  EXPECT_EQ(f.node_column, "ProducerName");
  EXPECT_EQ(f.watts_column, "power");
  EXPECT_EQ(f.time_format, TelemetryTimeFormat::kEpochSeconds);
  EXPECT_EQ(f.watts_exponent, 3);
  EXPECT_EQ(f.kind, TelemetryKind::kEnergyCounter);
  EXPECT_EQ(c.facility.telemetry.timezone, "America/Denver");
  EXPECT_EQ(
      ParseConfig(MinimalWith("  name: x", "  name: x\n  telemetry: {watts_unit: mW, time_format: epoch_us}"), "ok")
          .facility.telemetry_format.watts_exponent,
      -3);
}

TEST(Config, TelemetryLayoutErrorsNameTheirKey) {
  const auto with = [](const std::string& telemetry) {
    return MinimalWith("  name: x", "  name: x\n  telemetry: " + telemetry);
  };
  EXPECT_TRUE(ErrorSays(with("{time_format: epoch_ns}"),
                        "bad.yaml: facility.telemetry.time_format: must be one of iso, epoch_s, epoch_ms, epoch_us; "
                        "got 'epoch_ns'"));
  EXPECT_TRUE(ErrorSays(with("{watts_unit: MW}"),
                        "bad.yaml: facility.telemetry.watts_unit: must be one of W, kW, mW; got 'MW'"));
  EXPECT_TRUE(ErrorSays(with("{kind: gauge}"), "facility.telemetry.kind: must be one of power, energy_counter"));
  EXPECT_TRUE(ErrorSays(with("{columns: {time: t}}"), "facility.telemetry.columns.time: unknown key"));
  EXPECT_TRUE(ErrorSays(with("{columns: {node: \"\"}}"), "facility.telemetry.columns.node: must name a column"));
  EXPECT_TRUE(ErrorSays(with("{columns: {node: watts}}"),
                        "facility.telemetry.columns: timestamp, node and watts must be three different columns"));
  EXPECT_TRUE(ErrorSays(with("{columns: [a, b]}"), "facility.telemetry.columns: must be a mapping"));
  EXPECT_TRUE(ErrorSays(with("{colums: {}}"), "facility.telemetry.colums: unknown key"));
}

TEST(Config, UnknownTimeZoneNamesItsKey) {
  const std::string yaml = MinimalWith("  name: x", "  name: x\n  telemetry: {timezone: America/Denverr}");
  EXPECT_TRUE(ErrorSays(yaml, "bad.yaml: facility.telemetry.timezone: unknown time zone 'America/Denverr'"));
  EXPECT_TRUE(ErrorSays(MinimalWith("  name: x", "  name: x\n  scheduler: {timezone: Mars/Olympus}"),
                        "bad.yaml: facility.scheduler.timezone: unknown time zone 'Mars/Olympus'"));
  EXPECT_NO_THROW(ParseConfig(MinimalWith("  name: x", "  name: x\n  scheduler: {timezone: America/Denver}"), "ok"));
}

TEST(Config, FitFoldsAreZeroOrAtLeastTwo) {
  const std::string base = std::string(kMinimal) + "pipeline: {fit: {cross_validation_folds: ";
  EXPECT_TRUE(ErrorSays(base + "1}}\n", "bad.yaml: pipeline.fit.cross_validation_folds: must be 0 (off) or >= 2"));
  EXPECT_TRUE(ErrorSays(base + "-3}}\n", "bad.yaml: pipeline.fit.cross_validation_folds: must be 0 (off) or >= 2"));
  EXPECT_EQ(ParseConfig(base + "0}}\n", "ok").pipeline.fit.cross_validation_folds, 0);
  EXPECT_EQ(ParseConfig(base + "2}}\n", "ok").pipeline.fit.cross_validation_folds, 2);
  // The reader's check is FitConfig::Problems, which the fit stage uses too.
  FitConfig one;
  one.cross_validation_folds = 1;
  ASSERT_EQ(one.Problems().size(), 1u);
  EXPECT_EQ(one.Problems()[0].first, "cross_validation_folds");
  EXPECT_TRUE(FitConfig{}.Problems().empty());
}

TEST(Config, TelemetryFromPrometheus) {
  const Config files = ParseConfig(kMinimal, "min.yaml");
  EXPECT_EQ(files.facility.telemetry_source, TelemetrySource::kFiles);
  EXPECT_EQ(files.facility.prometheus.url, "http://127.0.0.1:9090");
  EXPECT_FALSE(files.facility.prometheus.start.has_value());
  const Config c = ParseConfig(MinimalWith("  name: x", R"(  name: x
  telemetry:
    timezone: America/Denver
    source: prometheus
    prometheus: {url: "http://prom:9090/", metric: "ipmi:power_watts", node_label: instance,
                 start: 2022-03-08T00:00:00Z, end: "2022-03-08T01:00:00-07:00"})"),
                               "p.yaml");
  EXPECT_EQ(c.facility.telemetry_source, TelemetrySource::kPrometheus);
  EXPECT_EQ(c.facility.prometheus.url, "http://prom:9090/");
  EXPECT_EQ(c.facility.prometheus.metric, "ipmi:power_watts");
  EXPECT_EQ(c.facility.prometheus.node_label, "instance");
  EXPECT_EQ(c.facility.prometheus.start, FromSeconds(1646697600));                     // 2022-03-08 00:00 UTC
  EXPECT_EQ(c.facility.prometheus.end, FromSeconds(1646697600) + 8 * kMicrosPerHour);  // 01:00 at -07:00
}

TEST(Config, PrometheusErrorsNameTheirKey) {
  auto with = [](const std::string& telemetry) {
    return MinimalWith("  name: x", "  name: x\n  telemetry: " + telemetry);
  };
  EXPECT_TRUE(ErrorSays(with("{source: influx}"),
                        "bad.yaml: facility.telemetry.source: must be 'files' or 'prometheus', got 'influx'"));
  EXPECT_TRUE(
      ErrorSays(with("{prometheus: {url: prom:9090}}"), "facility.telemetry.prometheus.url: must start with http://"));
  EXPECT_TRUE(ErrorSays(with("{prometheus: {metric: 9watts}}"),
                        "facility.telemetry.prometheus.metric: not a Prometheus metric name"));
  EXPECT_TRUE(ErrorSays(with("{prometheus: {node_label: \"a:b\"}}"),
                        "facility.telemetry.prometheus.node_label: not a Prometheus label name"));
  EXPECT_TRUE(ErrorSays(with("{prometheus: {start: yesterday}}"),
                        "facility.telemetry.prometheus.start: must be a time such as"));
  EXPECT_TRUE(ErrorSays(with("{prometheus: {start: 2022-03-08T00:00:00Z, end: 2022-03-07T00:00:00Z}}"),
                        "facility.telemetry.prometheus.end: must not be before start"));
  EXPECT_TRUE(ErrorSays(with("{prometheus: {step: 5m}}"), "facility.telemetry.prometheus.step: unknown key"));
}

TEST(Config, NonFiniteNumbersAreRejected) {
  // YAML reads .inf and .nan as numbers; a comparison such as "> 0" lets .inf
  // through and every comparison lets .nan through, so finiteness is its own check.
  for (const std::string t : {".inf", "-.inf", ".nan", ".NaN", "+.Inf"}) {
    const std::string yaml = std::string(kMinimal) + "pipeline: {idle: {quantile: " + t + "}, carbon: {pue: " + t +
                             "}, fit: {loss_scale: " + t + "}}\n";
    for (const std::string path : {"pipeline.idle.quantile", "pipeline.carbon.pue", "pipeline.fit.loss_scale"}) {
      EXPECT_TRUE(ErrorSays(yaml, "bad.yaml: " + path + ": must be a finite number, got '" + t + "'"));
    }
  }
  EXPECT_TRUE(ErrorSays(MinimalWith("  name: x", "  name: x\n  sampling_interval_s: .inf"),
                        "bad.yaml: facility.sampling_interval_s: must be a finite number, got '.inf'"));
  EXPECT_TRUE(ErrorSays(std::string(kMinimal) + "pipeline: {node_quantiles: {p2: .nan}}\n",
                        "bad.yaml: pipeline.node_quantiles.p2: must be a finite number, got '.nan'"));
  EXPECT_TRUE(ErrorSays(std::string(kMinimal) + "pipeline: {carbon: {mix: {coal: .inf}}}\n",
                        "bad.yaml: pipeline.carbon.mix.coal: must be a finite number, got '.inf'"));
  const std::string generator = std::string(kMinimal) + "generator: {scale: .inf, sigma_cpu: .nan}\n";
  EXPECT_TRUE(ErrorSays(generator, "bad.yaml: generator.scale: must be a finite number, got '.inf'"));
  EXPECT_TRUE(ErrorSays(generator, "bad.yaml: generator.sigma_cpu: must be a finite number, got '.nan'"));
}

TEST(Config, NonFiniteByteSizesAreRejected) {
  const std::string key = "bad.yaml: facility.hardware_classes.cpu.memory_levels[0].bytes_per_unit: ";
  // YAML spellings, C spellings, and a finite number that overflows once the unit is applied.
  for (const std::string text : {".inf", ".nan", "-.inf", "inf", "nan", "infKiB", "1e400", "1e308TiB"}) {
    EXPECT_TRUE(ErrorSays(MinimalWith("32KiB", text), key + "must be a finite byte size, got '" + text + "'"));
  }
  EXPECT_TRUE(ErrorSays(MinimalWith("32KiB", "0KiB"), key + "must be > 0, got '0KiB'"));
  const Config fine = ParseConfig(MinimalWith("32KiB", "1.5 MiB"), "ok.yaml");
  EXPECT_EQ(fine.facility.ClassOf(false).memory_levels[0].bytes_per_unit, 1.5 * 1048576);
}

}  // namespace
}  // namespace wattrun
