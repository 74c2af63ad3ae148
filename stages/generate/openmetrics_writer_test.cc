// `--telemetry-format openmetrics`: the OpenMetrics blocks hold exactly the
// readings of the CSV files (checked against the files of October, whose
// Denver times are UTC-6 throughout), one 2-hour block a file, each series
// in time order, `# EOF` last; wattrun.yaml reads them from Prometheus.
#include "stages/generate/openmetrics_writer.h"

#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>

#include "core/time.h"
#include "stages/generate/generate.h"
#include "stages/generate/generate_test_util.h"

namespace wattrun::generate {
namespace {

namespace fs = std::filesystem;
using testing::Lines;
using testing::ReadAll;
using testing::Split;

using Sample = std::tuple<std::string, std::int64_t, int>;  // node, UTC ms, watts

std::int64_t EpochMs(const std::string& text) {  // "1634709600.000"
  const std::size_t dot = text.find('.');
  return std::stoll(text.substr(0, dot)) * 1000 + std::stoll(text.substr(dot + 1));
}

TEST(OpenMetrics, BlocksHoldTheReadingsOfTheFilesAndTheConfigReadsThem) {
  GenerateOptions o;
  o.output_dir = ::testing::TempDir() + "wattrun_generate_openmetrics";
  fs::remove_all(o.output_dir);
  o.scale = 0.002;
  o.months = 1;
  o.seed = 7;
  o.dirty = false;
  o.telemetry_layout = TelemetryLayout::kOpenMetrics;
  const char* source = std::getenv("WATTRUN_SOURCE_DIR");
  const fs::path root =
      source != nullptr ? fs::path(source) : fs::path(__FILE__).parent_path().parent_path().parent_path();
  o.config_yaml = ReadAll((root / "configs" / "demo.yaml").string());
  const GenerateSummary summary = GenerateFacility(testing::DemoConfig(), o, MPI_COMM_SELF);

  // Every block file: the gauge, samples in their block, each series in time order, # EOF.
  std::set<Sample> samples;
  std::map<std::string, std::int64_t> last_ms;
  int files = 0;
  for (const auto& entry : fs::directory_iterator(o.output_dir + "/openmetrics")) {
    ++files;
    const std::int64_t block = std::stoll(entry.path().stem().string());
    const std::vector<std::string> lines = Lines(ReadAll(entry.path().string()));
    ASSERT_GE(lines.size(), 2u);
    EXPECT_EQ(lines.front(), "# TYPE node_power_watts gauge");
    EXPECT_EQ(lines.back(), "# EOF");
    for (std::size_t i = 1; i + 1 < lines.size(); ++i) {
      const std::vector<std::string> f = Split(lines[i], ' ');
      ASSERT_EQ(f.size(), 3u) << lines[i];
      ASSERT_EQ(f[0].rfind("node_power_watts{node=\"", 0), 0u) << lines[i];
      const std::string label = f[0].substr(23, f[0].size() - 25);
      const std::string node = label.substr(0, label.find_first_of(":."));
      const std::int64_t ms = EpochMs(f[2]);
      EXPECT_EQ(FloorDiv(ms, kOpenMetricsBlockMs), block) << lines[i];
      if (last_ms.count(label)) {
        EXPECT_GT(ms, last_ms[label]) << lines[i];
      }
      last_ms[label] = ms;
      samples.emplace(node, ms, std::stoi(f[1]));
    }
    last_ms.clear();
  }
  EXPECT_GT(files, 300);  // a month of 2-hour blocks
  EXPECT_EQ(static_cast<std::int64_t>(samples.size()), summary.telemetry_clean_rows);

  // October's CSV readings (local Denver time, UTC-6 before 2021-11-07) are the blocks'.
  const std::int64_t november_ms = (DaysFromCivil(2021, 11, 1) * 86400 + 6 * 3600) * 1000;
  std::set<Sample> from_files;
  for (const auto& entry : fs::directory_iterator(o.output_dir + "/telemetry/2021-10")) {
    const std::vector<std::string> lines = Lines(ReadAll(entry.path().string()));
    for (std::size_t i = 1; i < lines.size(); ++i) {
      const std::vector<std::string> f = Split(lines[i], ',');
      ASSERT_EQ(f.size(), 3u) << lines[i];
      const std::int64_t local_s =
          DaysFromCivil(std::stoi(f[0].substr(0, 4)), std::stoi(f[0].substr(5, 2)), std::stoi(f[0].substr(8, 2))) *
              86400 +
          std::stoi(f[0].substr(11, 2)) * 3600 + std::stoi(f[0].substr(14, 2)) * 60 + std::stoi(f[0].substr(17, 2));
      const std::int64_t ms = (local_s + 6 * 3600) * 1000;
      if (ms < november_ms) from_files.emplace(f[1], ms, std::stoi(f[2]));
    }
  }
  std::set<Sample> october;
  for (const Sample& s : samples) {
    if (std::get<1>(s) < november_ms) october.insert(s);
  }
  EXPECT_GT(from_files.size(), 10000u);
  EXPECT_EQ(october, from_files);

  // The config: source prometheus, the window's first and last instants.
  const Config config = ParseConfig(ReadAll(o.output_dir + "/wattrun.yaml"), "wattrun.yaml");
  EXPECT_EQ(config.facility.telemetry_source, TelemetrySource::kPrometheus);
  EXPECT_EQ(config.facility.prometheus.url, "http://127.0.0.1:9090");
  EXPECT_EQ(config.facility.prometheus.metric, "node_power_watts");
  EXPECT_EQ(config.facility.prometheus.node_label, "node");
  ASSERT_TRUE(config.facility.prometheus.start.has_value());
  ASSERT_TRUE(config.facility.prometheus.end.has_value());
  const std::int64_t first_ms =
      std::get<1>(*std::min_element(samples.begin(), samples.end(),
                                    [](const Sample& a, const Sample& b) { return std::get<1>(a) < std::get<1>(b); }));
  EXPECT_EQ(*config.facility.prometheus.start, first_ms * kMicrosPerMilli);
  EXPECT_GE(*config.facility.prometheus.end, *config.facility.prometheus.start + 29 * kMicrosPerDay);
  EXPECT_EQ(config.facility.telemetry.timezone, "America/Denver");  // the rest kept
  fs::remove_all(o.output_dir);
}

TEST(OpenMetrics, NodeLabelsLookLikeExporterInstances) {
  EXPECT_EQ(OpenMetricsNodeLabel("r1i0n0", 0), "r1i0n0");
  EXPECT_EQ(OpenMetricsNodeLabel("r1i0n1", 1), "r1i0n1:9290");
  EXPECT_EQ(OpenMetricsNodeLabel("r1i0n2", 2), "r1i0n2.cluster");
  EXPECT_EQ(OpenMetricsNodeLabel("r1i0n3", 3), "r1i0n3");
}

}  // namespace
}  // namespace wattrun::generate
