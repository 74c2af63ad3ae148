// What the run counts rather than fails on, end to end on a one-node
// facility: a run whose data set is not in datasets.csv is measured like any
// other, gets no network features, and is counted in quality.csv as
// (datasets, run_dataset_not_in_datasets_csv).
#include "pipeline/run_pipeline.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "core/mpi.h"
#include "stages/ingest/test_facility.h"
#include "tests/test_util.h"

namespace wattrun::pipeline {
namespace {
namespace fs = std::filesystem;

std::int64_t QualityCount(const results::PipelineResults& r, const std::string& stage, const std::string& reason) {
  for (const auto& q : r.quality) {
    if (q.stage == stage && q.reason == reason) return q.count;
  }
  return 0;
}

TEST(RunPipeline, RunWithADatasetMissingFromDatasetsCsvIsMeasuredAndCounted) {
  const testing_util::ScratchDir scratch("wattrun_run_pipeline_test");
  const fs::path& dir = scratch.path();
  wattrun::testing::WriteTinyFacility(dir / "facility",
                                      wattrun::testing::TinyRun("r1", "00:10", "00:40", "wine") +
                                          wattrun::testing::TinyRun("r2", "01:10", "01:40", "mystery"));
  wattrun::testing::WriteText(dir / "facility" / "telemetry" / "2021-07.csv", wattrun::testing::TinyReadings(180));
  const Config config = ParseConfig(wattrun::testing::kTinyFacilityConfig, "tiny.yaml");
  RunOptions options;
  options.input_dir = (dir / "facility").string();
  options.output_dir = (dir / "results").string();
  options.fit_model = false;
  options.write_report = false;
  options.verbose = false;
  OwnedComm comm;
  results::PipelineResults r;
  RunPipeline(config, options, comm.comm(), &r);

  EXPECT_EQ(QualityCount(r, "datasets", "run_dataset_not_in_datasets_csv"), 1);
  ASSERT_EQ(r.runs.size(), 2u);
  for (const auto& run : r.runs) {
    EXPECT_EQ(run.status, "ok") << run.run_id;
    EXPECT_TRUE(run.energy_j.has_value()) << run.run_id;
  }
  EXPECT_EQ(r.runs[1].dataset, "mystery");
  ASSERT_EQ(r.features.size(), 1u);  // only r1's data set is known
  EXPECT_EQ(r.features[0].run, 0u);

  const std::string text = testing_util::Slurp(dir / "results" / "quality.csv");
  EXPECT_NE(text.find("\ndatasets,run_dataset_not_in_datasets_csv,1\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace wattrun::pipeline
