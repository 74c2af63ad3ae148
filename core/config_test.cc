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

TEST(Config, MinimalConfigTakesTheDefaults) {
  const Config c = ParseConfig(kMinimal, "min.yaml");
  EXPECT_EQ(c.facility.telemetry.timezone, "UTC");
  EXPECT_EQ(c.pipeline.integration, Integration::kLinear);
  EXPECT_EQ(c.pipeline.idle_method, IdleMethod::kPooled);
  EXPECT_EQ(c.pipeline.fit.loss, RobustLoss::kSoftL1);
  EXPECT_EQ(c.pipeline.carbon.intensity_g_per_kwh, 475);
}

TEST(Config, ErrorsNameFileKeyPathAndConstraint) {
  std::string yaml = std::string(kMinimal) + "pipeline:\n  idle: {quantile: 1.5}\n  integrate: step\n";
  const std::string e = ErrorOf(yaml);
  EXPECT_NE(e.find("bad.yaml: pipeline.idle.quantile: must be in (0, 1), got 1.5"), std::string::npos) << e;
  EXPECT_NE(e.find("bad.yaml: pipeline.integrate: unknown key"), std::string::npos) << e;

  EXPECT_NE(ErrorOf(std::string(kMinimal) + "pipeline: {integration: trapezoid}\n")
                .find("pipeline.integration: must be 'linear' or 'step', got 'trapezoid'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(std::string(kMinimal) + "pipeline: {filters: {max_stdevs: many}}\n")
                .find("pipeline.filters.max_stdevs: must be a number, got 'many'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(std::string(kMinimal) + "pipeline: {fit: {loss: l2}}\n").find("pipeline.fit.loss: must be one of"),
            std::string::npos);
}

TEST(Config, FacilityConstraints) {
  std::string yaml = kMinimal;
  yaml.replace(yaml.find("reference_type: c1"), 18, "reference_type: c9");
  EXPECT_NE(ErrorOf(yaml).find("facility.hardware_classes.cpu.reference_type: 'c9' is not a configured node type"),
            std::string::npos);
  std::string units = kMinimal;
  units.replace(units.find("32KiB"), 5, "32 furlongs");
  EXPECT_NE(ErrorOf(units).find("facility.hardware_classes.cpu.memory_levels[0].bytes_per_unit: unknown byte unit"),
            std::string::npos);
  EXPECT_NE(ErrorOf("facility: {name: x}\n").find("facility.node_types: must be a non-empty list"), std::string::npos);
  EXPECT_NE(ErrorOf("pipeline: [1, 2]\n").find("facility: required section is missing"), std::string::npos);
  EXPECT_NE(ErrorOf("facility: {name: [unclosed\n").find("bad.yaml:"), std::string::npos);
}

TEST(Config, NonFiniteNumbersAreRejected) {
  // YAML reads .inf and .nan as numbers; a comparison such as "> 0" lets .inf
  // through and every comparison lets .nan through, so finiteness is its own check.
  for (const char* text : {".inf", "-.inf", ".nan", ".NaN", "+.Inf"}) {
    SCOPED_TRACE(text);
    const std::string t = text;
    const std::string e = ErrorOf(std::string(kMinimal) + "pipeline: {idle: {quantile: " + t +
                                  "}, carbon: {pue: " + t + "}, fit: {loss_scale: " + t + "}}\n");
    for (const char* path : {"pipeline.idle.quantile", "pipeline.carbon.pue", "pipeline.fit.loss_scale"}) {
      EXPECT_NE(e.find(std::string("bad.yaml: ") + path + ": must be a finite number, got '" + t + "'"),
                std::string::npos)
          << e;
    }
  }
  std::string interval = kMinimal;
  interval.replace(interval.find("  name: x"), 9, "  name: x\n  sampling_interval_s: .inf");
  EXPECT_NE(ErrorOf(interval).find("bad.yaml: facility.sampling_interval_s: must be a finite number, got '.inf'"),
            std::string::npos)
      << ErrorOf(interval);
  EXPECT_NE(ErrorOf(std::string(kMinimal) + "pipeline: {node_quantiles: {p2: .nan}}\n")
                .find("bad.yaml: pipeline.node_quantiles.p2: must be a finite number, got '.nan'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(std::string(kMinimal) + "pipeline: {carbon: {mix: {coal: .inf}}}\n")
                .find("bad.yaml: pipeline.carbon.mix.coal: must be a finite number, got '.inf'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(std::string(kMinimal) + "generator: {scale: .inf, sigma_cpu: .nan}\n")
                .find("bad.yaml: generator.scale: must be a finite number, got '.inf'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(std::string(kMinimal) + "generator: {sigma_cpu: .nan}\n")
                .find("bad.yaml: generator.sigma_cpu: must be a finite number, got '.nan'"),
            std::string::npos);
}

TEST(Config, NonFiniteByteSizesAreRejected) {
  const std::string key = "bad.yaml: facility.hardware_classes.cpu.memory_levels[0].bytes_per_unit: ";
  // YAML spellings, C spellings, and a finite number that overflows once the unit is applied.
  for (const char* text : {".inf", ".nan", "-.inf", "inf", "nan", "infKiB", "1e400", "1e308TiB"}) {
    SCOPED_TRACE(text);
    std::string yaml = kMinimal;
    yaml.replace(yaml.find("32KiB"), 5, text);
    const std::string e = ErrorOf(yaml);
    EXPECT_NE(e.find(key + "must be a finite byte size, got '" + text + "'"), std::string::npos) << e;
  }
  std::string zero = kMinimal;
  zero.replace(zero.find("32KiB"), 5, "0KiB");
  EXPECT_NE(ErrorOf(zero).find(key + "must be > 0, got '0KiB'"), std::string::npos) << ErrorOf(zero);
  std::string fine = kMinimal;
  fine.replace(fine.find("32KiB"), 5, "1.5 MiB");
  EXPECT_EQ(ParseConfig(fine, "ok.yaml").facility.ClassOf(false).memory_levels[0].bytes_per_unit, 1.5 * 1048576);
}

}  // namespace
}  // namespace wattrun
