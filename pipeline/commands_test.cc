// `wattrun run --json`'s summary on hand-made results: counts per status,
// idle powers and models keyed by type and class, null where there is no
// number, and the files written.
#include "pipeline/commands.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace wattrun::pipeline {
namespace {

results::PipelineResults HandMadeResults() {
  results::PipelineResults r;
  r.idle_method = "pooled";
  r.idle.push_back({"cpu1", 4, 1000, 220.5});
  r.quality.push_back({"status", "ok", 2});
  r.quality.push_back({"status", "zero_watts", 0});  // not shown: no run has it
  r.quality.push_back({"status", "missing_some", 1});
  r.quality.push_back({"jobs", "ok", 5});
  results::ModelResult m;
  m.hardware_class = "gpu";
  m.fitted = false;
  m.runs = 3;
  m.median_ratio = std::nan("");
  r.models.push_back(m);
  return r;
}

TEST(RunSummaryJson, CountsIdlePowersModelsAndFiles) {
  RunOptions o;
  o.output_dir = "out";
  o.write_report = false;
  RunSummary s;
  s.runs = 3;
  s.usable_runs = 2;
  s.stages.push_back({"telemetry pass", 1.5, 1000, 16000, 0});
  const std::string json = RunSummaryJson(o, s, HandMadeResults(), 2);
  EXPECT_EQ(json.rfind("{\"output\": \"out\", \"ranks\": 2, \"runs\": 3, \"usable_runs\": 2, ", 0), 0u) << json;
  EXPECT_NE(json.find("\"run_statuses\": {\"ok\": 2, \"missing_some\": 1}"), std::string::npos) << json;
  EXPECT_NE(json.find("\"idle_power\": {\"cpu1\": {\"nodes\": 4, \"readings\": 1000, \"idle_w\": 220.5}}"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"facility\": null"), std::string::npos) << json;  // no jobs accounted
  EXPECT_NE(json.find("\"models\": {\"gpu\": {\"fitted\": false, \"runs\": 3, \"median_ratio\": null, "),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"stages\": [{\"stage\": \"telemetry pass\", \"seconds\": 1.5, \"readings\": 1000, "),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"files\": [\"out/runs_energy.csv\", "), std::string::npos) << json;
  EXPECT_NE(json.find("\"out/model_gpu.csv\""), std::string::npos) << json;
  EXPECT_EQ(json.find("model_cpu.csv"), std::string::npos) << json;  // no cpu model in these results
  EXPECT_EQ(json.find("report.html"), std::string::npos) << json;
  EXPECT_EQ(json.substr(json.size() - 3), "]}\n");
}

TEST(RunSummaryJson, FacilityTotalsWhenJobsWereAccounted) {
  results::PipelineResults r = HandMadeResults();
  r.jobs.resize(5);
  results::LedgerRow l;
  l.metered_energy_j = 100;
  l.job_energy_j = 60;
  r.ledger = {l, l};
  results::UsageRow u;
  u.carbon_g = 1.25;
  r.usage = {u};
  RunOptions o;
  o.output_dir = "out";
  const std::string json = RunSummaryJson(o, RunSummary{}, r, 1);
  EXPECT_NE(json.find("\"facility\": {\"jobs\": 5, \"job_statuses\": {\"ok\": 5}, \"metered_energy_j\": 200, "
                      "\"job_energy_j\": 120, \"carbon_g\": 1.25}"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"out/report.html\"]}"), std::string::npos) << json;
}

}  // namespace
}  // namespace wattrun::pipeline
