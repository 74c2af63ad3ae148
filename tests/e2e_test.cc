// End to end: generate a facility, run the whole pipeline with 1, 2 and 3
// MPI ranks as a user would (mpirun wattrun ...), and check the outputs
// against the generator's known truth and against an independent in-test
// integration of the raw telemetry.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/csv.h"
#include "core/time.h"
#include "tests/test_util.h"

namespace wattrun {
namespace {
namespace fs = std::filesystem;

using Table = testing_util::CsvTable;
using testing_util::Slurp;

Table ReadCsv(const fs::path& path) { return testing_util::ReadCsvTable(path); }

std::map<std::string, std::map<std::string, std::string>> ByKey(const Table& t, const std::string& key) {
  std::map<std::string, std::map<std::string, std::string>> out;
  for (const auto& r : t) out[r.at(key)] = r;
  return out;
}

double D(const std::string& s) { return std::stod(s); }
bool B(const std::string& s) { return s == "True" || s == "true" || s == "1"; }

class EndToEnd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* src = std::getenv("WATTRUN_SOURCE_DIR");
    const char* bin = std::getenv("WATTRUN_BINARY");
    ASSERT_TRUE(src && bin) << "run through ctest";
    source_ = src;
    binary_ = bin;
    work_ = fs::temp_directory_path() / ("wattrun_e2e_" + std::to_string(::getpid()));
    fs::remove_all(work_);
    fs::create_directories(work_);
    const std::string config = source_ + "/configs/demo.yaml";
    Run("mpirun -n 2 " + binary_ + " generate --config " + config + " --output " + (work_ / "facility").string() +
        " --seed 11");
    for (int ranks : {1, 2, 3}) {
      Run("mpirun -n " + std::to_string(ranks) + " " + binary_ + " run --config " + config + " --input " +
          (work_ / "facility").string() + " --output " + (work_ / ("r" + std::to_string(ranks))).string());
    }
  }
  static void TearDownTestSuite() { fs::remove_all(work_); }
  static void Run(const std::string& command) {
    const std::string full =
        "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
        "OMPI_MCA_rmaps_base_oversubscribe=1 " +
        command + " > " + (work_ / "last.log").string() + " 2>&1";
    ASSERT_EQ(std::system(full.c_str()), 0) << command << "\n" << Slurp(work_ / "last.log");
  }
  static fs::path Truth(const std::string& f) { return work_ / "facility" / "truth" / f; }
  static fs::path Out(const std::string& f) { return work_ / "r2" / f; }

  static inline std::string source_, binary_;
  static inline fs::path work_;
};

TEST_F(EndToEnd, EveryOutputFileIsWrittenAndComplete) {
  for (const char* f : {"runs_energy.csv", "idle_power.csv", "node_power_dist.csv", "quality.csv", "overheads.csv",
                        "model_cpu.csv", "model_gpu.csv", "predictions.csv", "results.h5", "report.html", "_SUCCESS"}) {
    EXPECT_TRUE(fs::exists(Out(f))) << f;
  }
}

TEST_F(EndToEnd, SameResultsBitForBitWithOneTwoAndThreeRanks) {
  for (const char* f : {"runs_energy.csv", "idle_power.csv", "node_power_dist.csv", "quality.csv", "overheads.csv",
                        "model_cpu.csv", "model_gpu.csv", "predictions.csv"}) {
    const std::string two = Slurp(work_ / "r2" / f);
    EXPECT_EQ(Slurp(work_ / "r1" / f), two) << f;
    EXPECT_EQ(Slurp(work_ / "r3" / f), two) << f;
  }
}

TEST_F(EndToEnd, StatusesFiltersAndEnergiesMatchTheTruth) {
  const auto truth = ByKey(ReadCsv(Truth("runs.csv")), "run_id");
  const Table out = ReadCsv(Out("runs_energy.csv"));
  ASSERT_EQ(out.size(), truth.size());
  int with_energy = 0;
  for (const auto& r : out) {
    const auto& t = truth.at(r.at("run_id"));
    ASSERT_EQ(r.at("status"), t.at("expected_status")) << r.at("run_id") << " fault " << t.at("fault");
    if (r.at("status") != "ok") continue;
    EXPECT_EQ(B(r.at("filter_1")), B(t.at("filter_1"))) << r.at("run_id");
    EXPECT_EQ(B(r.at("filter_3")), B(t.at("filter_3"))) << r.at("run_id");
    EXPECT_EQ(std::stoll(r.at("samples")), std::stoll(t.at("samples")));
    EXPECT_NEAR(D(r.at("energy")), D(t.at("energy_j")), 1e-9 * D(t.at("energy_j")) + 1e-6) << r.at("run_id");
    EXPECT_NEAR(D(r.at("std_energy")), D(t.at("expected_std_energy_j")), 1e-9 * D(t.at("energy_j")) + 1e-6);
    ++with_energy;
  }
  EXPECT_GT(with_energy, 300);
}

TEST_F(EndToEnd, ExactIdlePowersNodeQuantilesAndOverheads) {
  const auto truth = ByKey(ReadCsv(Truth("idle_power.csv")), "node_type");
  const Table idle = ReadCsv(Out("idle_power.csv"));
  ASSERT_EQ(idle.size(), truth.size());
  for (const auto& r : idle) {
    const auto& t = truth.at(r.at("node_type"));
    EXPECT_EQ(D(r.at("idle_w")), D(t.at("idle_w"))) << r.at("node_type");
    EXPECT_EQ(r.at("readings"), t.at("readings"));
    EXPECT_EQ(r.at("nodes"), t.at("nodes"));
  }
  const auto nodes = ByKey(ReadCsv(Truth("node_power.csv")), "node");
  for (const auto& r : ReadCsv(Out("node_power_dist.csv"))) {
    const auto& t = nodes.at(r.at("node"));
    EXPECT_EQ(D(r.at("p2")), D(t.at("idle_quantile_w"))) << r.at("node");
    EXPECT_EQ(r.at("count"), t.at("count"));
    EXPECT_EQ(D(r.at("max")), D(t.at("max")));
  }
  const Table overheads = ReadCsv(Out("overheads.csv"));
  const Table truth_overheads = ReadCsv(Truth("overheads.csv"));
  ASSERT_EQ(overheads.size(), truth_overheads.size());
  for (std::size_t i = 0; i < overheads.size(); ++i) {
    EXPECT_NEAR(D(overheads[i].at("energy_overhead")), D(truth_overheads[i].at("energy_overhead")), 1e-3);
    EXPECT_NEAR(D(overheads[i].at("runtime_overhead")), D(truth_overheads[i].at("runtime_overhead")), 1e-6);
  }
}

TEST_F(EndToEnd, QualityAccountsForEveryInjectedFault) {
  std::map<std::pair<std::string, std::string>, std::int64_t> got;
  for (const auto& r : ReadCsv(Out("quality.csv"))) got[{r.at("stage"), r.at("reason")}] = std::stoll(r.at("count"));
  for (const auto& t : ReadCsv(Truth("counts.csv"))) {
    const std::string section = t.at("section");
    if (section != "status" && section != "filter" && section != "telemetry") continue;
    const std::int64_t expected = std::stoll(t.at("count"));
    static const std::set<std::string> kTelemetryReasons{
        "duplicate", "conflict",         "field_count",  "bad_watts",  "negative_watts",
        "bad_time",  "nonexistent_time", "unknown_node", "empty_node", "bad_header"};
    if (section == "telemetry" && !kTelemetryReasons.count(t.at("name"))) continue;  // not a row reason
    const auto key = std::make_pair(section, t.at("name"));
    EXPECT_EQ(got.count(key) ? got[key] : 0, expected) << section << "/" << t.at("name");
  }
}

// Independent of the store and of the integrator: read the node's raw CSV
// lines, keep the first reading per instant, integrate by the trapezoid rule.
TEST_F(EndToEnd, EnergiesAgreeWithAnIndependentIntegrationOfTheRawTelemetry) {
  const Table runs = ReadCsv(Out("runs_energy.csv"));
  const auto truth = ByKey(ReadCsv(Truth("runs.csv")), "run_id");
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(work_ / "facility" / "telemetry")) {
    if (e.path().string().find(".csv") != std::string::npos) files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  const TimestampPolicy policy{TimeZone::Load("America/Denver"), true};
  int checked = 0;
  for (const auto& r : runs) {
    if (r.at("status") != "ok" || checked >= 12) continue;
    const std::string node = r.at("node");
    const TimeUs s = [&] {
      TimeUs t = 0;
      ParseInstant(truth.at(r.at("run_id")).at("start_time") + "Z", {TimeZone::Utc(), false}, &t);
      return t;
    }();
    const TimeUs u = s + static_cast<TimeUs>(std::llround(D(r.at("run_time")) * static_cast<double>(kMicrosPerSecond)));
    std::map<TimeUs, double> readings;  // first reading per instant wins
    bool ambiguous_night = false;
    for (const auto& f : files) {
      if (f.find("part-9") != std::string::npos) continue;  // the generator's broken files (not telemetry)
      LineReader reader(f);
      std::string_view line;
      std::vector<std::string_view> fields;
      std::string storage;
      reader.Next(&line);
      while (reader.Next(&line)) {
        if (!SplitCsvLine(line, ',', &fields, &storage) || fields.size() != 3 || fields[1] != node) continue;
        TimeUs t = 0;
        const auto status = ParseInstant(fields[0], policy, &t);
        double w = 0;
        if (status == TimeParseStatus::kAmbiguous) ambiguous_night = true;
        if (status != TimeParseStatus::kOk || !ParseDouble(fields[2], &w) || w < 0) continue;
        readings.emplace(t, w);
      }
    }
    if (ambiguous_night) return;  // this simple reader does not resolve the repeated hour
    std::vector<std::pair<TimeUs, double>> v(readings.begin(), readings.end());
    auto w_at = [&](TimeUs x) {
      if (x <= v.front().first) return v.front().second;
      if (x >= v.back().first) return v.back().second;
      auto hi = std::lower_bound(v.begin(), v.end(), std::make_pair(x, -1.0));
      auto lo = hi - 1;
      return lo->second + (hi->second - lo->second) * double(x - lo->first) / double(hi->first - lo->first);
    };
    std::vector<TimeUs> knots{s};
    for (const auto& [t, w] : v) {
      if (t > s && t < u) knots.push_back(t);
    }
    knots.push_back(u);
    double energy = 0;
    for (std::size_t k = 0; k + 1 < knots.size(); ++k) {
      energy += ToSeconds(knots[k + 1] - knots[k]) * (w_at(knots[k]) + w_at(knots[k + 1])) / 2;
    }
    EXPECT_NEAR(D(r.at("energy")), energy, 1e-9 * energy) << r.at("run_id");
    ++checked;
  }
  EXPECT_GE(checked, 5);
}

TEST_F(EndToEnd, TheFitRecoversTheGeneratorsModel) {
  const auto truth = ByKey(ReadCsv(Truth("runs.csv")), "run_id");
  for (bool gpu : {false, true}) {
    std::vector<double> err_true, ratio;
    for (const auto& p : ReadCsv(Out("predictions.csv"))) {
      if (B(p.at("is_gpu")) != gpu) continue;
      err_true.push_back(std::abs(std::log(D(p.at("predicted")) / D(truth.at(p.at("run_id")).at("model_energy_j")))));
      ratio.push_back(D(p.at("ratio")));
    }
    ASSERT_GT(err_true.size(), 50u);
    std::sort(err_true.begin(), err_true.end());
    std::sort(ratio.begin(), ratio.end());
    const double median_err = err_true[err_true.size() / 2];
    const double median_ratio = ratio[ratio.size() / 2];
    EXPECT_LT(median_err, gpu ? 0.05 : 0.15) << (gpu ? "gpu" : "cpu");
    EXPECT_NEAR(median_ratio, 1.0, 0.02) << (gpu ? "gpu" : "cpu");
  }
}

}  // namespace
}  // namespace wattrun
