#include "stages/runs/runs.h"

#include <gtest/gtest.h>

#include <cmath>

namespace wattrun::runs {
namespace {

RunRecord MakeRun(const std::string& id, TimeUs start_s, TimeUs end_s, bool is_gpu = false) {
  RunRecord r;
  r.run_id = id;
  r.host_name = "n1";
  r.start = FromSeconds(start_s);
  r.update = FromSeconds(end_s);
  r.is_gpu = is_gpu;
  r.dataset = "505_tecator";
  r.size = 512;
  return r;
}

TEST(MeasureRuns, TelemetryDecidesTheStatusOfJoinedRuns) {
  // A 600 s run needs at least 600/60 - 1 = 9 samples.
  const std::vector<RunRecord> runs = {MakeRun("a", 0, 600), MakeRun("b", 0, 600), MakeRun("c", 0, 600),
                                       MakeRun("d", 0, 600)};
  std::vector<join::JoinedRun> joined(4);
  for (auto& j : joined) j.node_type = "cpu1";
  joined[3].status = join::RunStatus::kNoJob;
  const std::vector<integrate::RunIntegral> integrals = {{1000.0, 11, false}, {900.0, 8, false}, {0.0, 11, true}, {}};
  const auto rows = MeasureRuns(runs, joined, integrals, {true, true, true, false}, 60.0);
  EXPECT_EQ(rows[0].status, "ok");
  EXPECT_EQ(*rows[0].energy_j, 1000.0);
  EXPECT_EQ(rows[1].status, "missing_some");
  EXPECT_EQ(*rows[1].energy_j, 900.0);  // energy over the samples there are
  EXPECT_EQ(rows[2].status, "zero_watts");
  EXPECT_EQ(rows[3].status, "no_job");
  EXPECT_FALSE(rows[3].energy_j.has_value());
  EXPECT_EQ(*rows[3].run_time_s, 600.0);
}

TEST(MeasureRuns, WindowForEveryParsedRunCarbonWhereThereIsEnergy) {
  std::vector<RunRecord> runs = {MakeRun("a", 100, 700), MakeRun("b", 0, 600), MakeRun("c", 0, 600)};
  std::vector<join::JoinedRun> joined(3);
  joined[1].status = join::RunStatus::kNoJob;
  joined[2].status = join::RunStatus::kBadRunRow;
  const std::vector<integrate::RunIntegral> integrals = {{1000.0, 11, false}, {}, {}};
  const auto rows = MeasureRuns(runs, joined, integrals, {true, false, false}, 60.0, {0.125, 0, 0});
  EXPECT_EQ(rows[0].start_time, std::optional<TimeUs>(FromSeconds(100)));
  EXPECT_EQ(rows[0].end_time, std::optional<TimeUs>(FromSeconds(700)));
  EXPECT_EQ(rows[0].carbon_g, std::optional<double>(0.125));
  EXPECT_EQ(rows[1].start_time, std::optional<TimeUs>(0));  // no job: a window but no energy, no carbon
  EXPECT_FALSE(rows[1].carbon_g.has_value());
  EXPECT_FALSE(rows[2].start_time.has_value());  // the row did not parse
  EXPECT_FALSE(rows[2].end_time.has_value());
  // Without carbon (tests, older callers) the energy stands alone.
  EXPECT_FALSE(MeasureRuns(runs, joined, integrals, {true, false, false}, 60.0)[0].carbon_g.has_value());
}

TEST(StandardizeRuns, AddsTheReferenceMinusOwnIdleTimesRunTime) {
  std::vector<results::RunRow> rows(2);
  rows[0].node_type = "cpu2";
  rows[0].energy_j = 10000.0;
  rows[0].run_time_s = 100.0;
  rows[1].node_type = "cpu9";  // no idle power known: nothing standardized
  rows[1].energy_j = 5000.0;
  rows[1].run_time_s = 10.0;
  StandardizeOptions o;
  o.reference_type[false] = "cpu1";
  StandardizeRuns({{"cpu1", 3, 30, 220.0}, {"cpu2", 1, 10, 230.0}}, o, &rows);
  // 10000 + (220 - 230) * 100 = 9000; idle 230 * 100 = 23000; dynamic -13000.
  EXPECT_DOUBLE_EQ(*rows[0].std_energy_j, 9000.0);
  EXPECT_DOUBLE_EQ(*rows[0].idle_energy_j, 23000.0);
  EXPECT_DOUBLE_EQ(*rows[0].dynamic_energy_j, -13000.0);
  EXPECT_FALSE(rows[1].std_energy_j.has_value());
  EXPECT_FALSE(rows[1].idle_energy_j.has_value());
}

TEST(SubtractOverheads, UsesThe5PercentQuantileOfTheOverheadRuns) {
  // Two usable tecator runs of size <= 1024: std energies 100 and 200, run
  // times 10 and 30; the 5 % quantile (type 7) is 100 + 0.05 * 100 = 105 J
  // and 10 + 0.05 * 20 = 11 s.
  std::vector<results::RunRow> rows(2);
  for (int i = 0; i < 2; ++i) {
    rows[i].usable = true;
    rows[i].dataset = "505_tecator";
    rows[i].size = 512;
    rows[i].std_energy_j = 100.0 * (i + 1);
    rows[i].run_time_s = 10.0 + 20.0 * i;
  }
  const auto overheads = SubtractOverheads({"505_tecator", 1024, 0.05}, &rows);
  ASSERT_EQ(overheads.size(), 1u);
  EXPECT_DOUBLE_EQ(overheads[0].energy_overhead_j, 105.0);
  EXPECT_DOUBLE_EQ(overheads[0].runtime_overhead_s, 11.0);
  EXPECT_DOUBLE_EQ(*rows[1].non_overhead_energy_j, 95.0);
  EXPECT_DOUBLE_EQ(*rows[1].non_overhead_run_time_s, 19.0);
}

TEST(QualityAccount, BadRowsThenStatusesFiltersAndJobs) {
  std::vector<results::RunRow> rows(3);
  rows[0].status = "ok";
  rows[0].filter_1 = true;
  rows[0].filter = true;
  rows[1].status = "ok";
  rows[1].usable = true;
  rows[2].status = "no_job";
  RunFeatures features;
  features.unknown_dataset = 2;
  const auto q = QualityAccount({{"telemetry", "f1.csv", "bad_time", 4}, {"telemetry", "f2.csv", "bad_time", 1}}, rows,
                                features, {{"ok", 5}, {"running", 1}});
  ASSERT_GE(q.size(), 1u);
  EXPECT_EQ(q[0].stage, "telemetry");
  EXPECT_EQ(q[0].count, 5);  // summed over files
  auto count = [&](const std::string& stage, const std::string& reason) -> std::int64_t {
    for (const auto& r : q) {
      if (r.stage == stage && r.reason == reason) return r.count;
    }
    return -1;
  };
  EXPECT_EQ(count("status", "ok"), 2);
  EXPECT_EQ(count("status", "no_job"), 1);
  EXPECT_EQ(count("status", "zero_watts"), 0);  // every status has a row
  EXPECT_EQ(count("filter", "filter_1"), 1);
  EXPECT_EQ(count("filter", "usable"), 1);
  EXPECT_EQ(count("datasets", "run_dataset_not_in_datasets_csv"), 2);
  EXPECT_EQ(count("jobs", "running"), 1);
  EXPECT_EQ(q.back().stage, "jobs");
}

TEST(QualityByFile, SumsEqualKeysDropsZerosAndSorts) {
  const auto rows = QualityByFile({{"telemetry", "t/b.csv", "bad_time", 2},
                                   {"sacct", "s/1.txt", "bad_time", 1},
                                   {"telemetry", "t/a.csv", "bad_watts", 0},
                                   {"telemetry", "t/b.csv", "bad_time", 3}},
                                  {{"sacct", "s/1.txt", "bad_node_list", 4}});
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].stage, "sacct");
  EXPECT_EQ(rows[0].reason, "bad_node_list");
  EXPECT_EQ(rows[0].count, 4);
  EXPECT_EQ(rows[1].reason, "bad_time");
  EXPECT_EQ(rows[2].file, "t/b.csv");
  EXPECT_EQ(rows[2].count, 5);
}

TEST(ResolveCarbon, AnEnergyMixIsTheShareWeightedIntensity) {
  CarbonConfig c;
  c.mix = {{"coal", 0.25}, {"wind", 0.75}};
  c.source_intensity_g_per_kwh = {{"coal", 1000.0}, {"wind", 12.0}};
  const ResolvedCarbon r = ResolveCarbon(c);
  EXPECT_DOUBLE_EQ(r.g_per_kwh, 259.0);  // 0.25 * 1000 + 0.75 * 12
  EXPECT_EQ(r.source, "energy mix: coal 25%, wind 75%");
  EXPECT_EQ(ResolveCarbon(CarbonConfig{}).g_per_kwh, 475.0);
}

}  // namespace
}  // namespace wattrun::runs
