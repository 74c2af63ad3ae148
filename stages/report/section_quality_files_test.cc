// quality_files.csv, its results.h5 group, and the report's worst files.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <filesystem>

#include "stages/report/context.h"
#include "stages/results/results.h"
#include "tests/test_util.h"

namespace wattrun::report {
namespace {
namespace fs = std::filesystem;
using testing_util::ScratchDir;
using testing_util::Slurp;

results::PipelineResults WithFileRows() {
  results::PipelineResults r;
  r.quality_files = {
      {"sacct", "sacct/2021-03.txt", "bad_header", 40},     {"sacct", "sacct/2021-04.txt", "bad_time", 2},
      {"telemetry", "telemetry/a,b.csv", "bad_watts", 3},   {"telemetry", "telemetry/a,b.csv", "field_count", 5},
      {"telemetry", "telemetry/dup.csv", "duplicate", 900},  // not bad
  };
  return r;
}

TEST(QualityFilesCsv, OneRowPerFileAndReasonWithItsCount) {
  const ScratchDir scratch("wattrun_quality_files_csv");
  const fs::path& dir = scratch.path();
  results::WriteResults(WithFileRows(), dir.string());
  EXPECT_EQ(Slurp(dir / "quality_files.csv"),
            "stage,file,reason,count\n"
            "sacct,sacct/2021-03.txt,bad_header,40\n"
            "sacct,sacct/2021-04.txt,bad_time,2\n"
            "telemetry,\"telemetry/a,b.csv\",bad_watts,3\n"
            "telemetry,\"telemetry/a,b.csv\",field_count,5\n"
            "telemetry,telemetry/dup.csv,duplicate,900\n");
  const auto back = results::ReadResultsH5((dir / "results.h5").string());
  ASSERT_EQ(back.quality_files.size(), 5u);
  EXPECT_EQ(back.quality_files[2].file, "telemetry/a,b.csv");
  EXPECT_EQ(back.quality_files[2].reason, "bad_watts");
  EXPECT_EQ(back.quality_files[2].count, 3);
  EXPECT_EQ(back.quality_files[4].stage, "telemetry");
}

TEST(QualityFilesCsv, ResultsFromBeforeTheTableReadWithNoRows) {
  const ScratchDir scratch("wattrun_quality_files_old");
  const fs::path& dir = scratch.path();
  results::WriteResults(WithFileRows(), dir.string());
  const std::string path = (dir / "results.h5").string();
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  EXPECT_GE(H5Ldelete(f, "quality_files", H5P_DEFAULT), 0);
  H5Fclose(f);
  EXPECT_TRUE(results::ReadResultsH5(path).quality_files.empty());
}

TEST(WorstFiles, MostBadRowsFirstWithTheMainReasonAndNoDuplicates) {
  const results::PipelineResults r = WithFileRows();
  const Context c(r);
  const std::string h = WorstFilesTable(c);
  const auto first = h.find("sacct/2021-03.txt");
  const auto second = h.find("telemetry/a,b.csv");
  const auto third = h.find("sacct/2021-04.txt");
  ASSERT_NE(first, std::string::npos);
  ASSERT_NE(second, std::string::npos);
  ASSERT_NE(third, std::string::npos);
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
  EXPECT_NE(h.find("<td>8</td><td class=\"l\">field_count (5 rows)</td><td>2</td>"), std::string::npos);  // 3 + 5
  EXPECT_EQ(h.find("dup.csv"), std::string::npos);
  const std::string two = WorstFilesTable(c, 2);
  EXPECT_EQ(two.find("sacct/2021-04.txt"), std::string::npos);
  EXPECT_NE(two.find("2 of 3 files"), std::string::npos);
}

TEST(WorstFiles, NoBadRowsSaysSo) {
  const results::PipelineResults r;
  const Context c(r);
  EXPECT_NE(WorstFilesTable(c).find("No input file had a bad row"), std::string::npos);
}

}  // namespace
}  // namespace wattrun::report
