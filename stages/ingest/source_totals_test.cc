#include "stages/ingest/source_totals.h"

#include <gtest/gtest.h>

namespace wattrun::ingest {
namespace {

store::Catalogue TwoSacctFilesAndTelemetry() {
  store::Catalogue c;
  c.manifest = {{"sacct/a.txt", "sacct", 1, 1, -1},
                {"sacct/b.txt", "sacct", 1, 1, -1},
                {"telemetry/t.csv", "telemetry", 1, 1, 1},
                {"runs.csv", "runs", 1, 1, -1}};
  c.jobs.resize(140);
  c.runs.resize(1);
  c.quality = {{"sacct", "sacct/a.txt", "bad_time", 10},          {"sacct", "sacct/b.txt", "bad_time", 2},
               {"sacct", "sacct/b.txt", "bad_alloc_cpus", 1},  // the line is kept
               {"telemetry", "telemetry/t.csv", "duplicate", 92}, {"telemetry", "telemetry/t.csv", "bad_watts", 3},
               {"telemetry", "telemetry/t.csv", "field_count", 0}};
  return c;
}

TEST(SourceTotals, FilesRecordsAndBadRowsByReasonPerKind) {
  const auto totals = SourceTotalsOf(TwoSacctFilesAndTelemetry());
  ASSERT_EQ(totals.size(), 3u);  // telemetry, sacct, runs: nothing else was ingested
  EXPECT_EQ(totals[0].kind, "telemetry");
  EXPECT_EQ(totals[0].records, -1);
  EXPECT_EQ(totals[0].bad_rows, 3);
  EXPECT_EQ(totals[0].duplicates, 92);
  EXPECT_EQ(totals[1].kind, "sacct");
  EXPECT_EQ(totals[1].files, 2);
  EXPECT_EQ(totals[1].records, 140);
  EXPECT_EQ(totals[1].bad_rows, 12);
  EXPECT_EQ(SourceTotalsLines(totals),
            (std::vector<std::string>{
                "telemetry: 1 file, 3 bad rows, 92 duplicates (bad_watts 3, duplicate 92)",
                "sacct: 2 files, 140 allocations, 12 bad rows (bad_alloc_cpus 1, bad_time 12)",
                "runs: 1 file, 1 run, 0 bad rows",
            }));
}

TEST(MostlyBadWarning, NamesTheFileItsBadAndTotalRowsAndTheTopReason) {
  const std::vector<BadRowCount> counts = {{"sacct", "s.txt", "bad_time", 30}, {"sacct", "s.txt", "field_count", 1}};
  const auto w = MostlyBadWarning("sacct/2021-03.txt", 31, counts);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(*w,
            "sacct/2021-03.txt: 31 of its 31 rows are bad (mostly bad_time: 30); was it exported in another format? "
            "(every file and reason: quality_files.csv)");
  EXPECT_FALSE(MostlyBadWarning("s.txt", 62, counts).has_value());  // exactly half: not most
  EXPECT_TRUE(MostlyBadWarning("s.txt", 61, counts).has_value());
  // Duplicates are rows kept once, not bad; bad_header files were named already.
  EXPECT_FALSE(MostlyBadWarning("t.csv", 10, {{"telemetry", "t.csv", "duplicate", 10}}).has_value());
  EXPECT_FALSE(MostlyBadWarning("t.csv", 10, {{"telemetry", "t.csv", "bad_header", 10}}).has_value());
  EXPECT_FALSE(MostlyBadWarning("empty.csv", 0, {}).has_value());
}

}  // namespace
}  // namespace wattrun::ingest
