// The ingest of the small tables (one rank): sacct attempts merged across files whatever the order of reading, a
// rewritten sacct file or runs.csv replacing its rows, carbon_intensity.csv.
#include "stages/ingest/ingest.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/mpi.h"
#include "stages/ingest/test_facility.h"
#include "store/store.h"
#include "tests/test_util.h"

namespace wattrun::ingest {
namespace {
namespace fs = std::filesystem;
using wattrun::testing::kTinyDay;
using wattrun::testing::WriteText;

constexpr TimeUs kHour = kMicrosPerHour;
const char kHeader[] = "JobID|NodeList|Start|End|State\n";

std::int64_t QualityCount(const store::Catalogue& c, const std::string& stage, const std::string& file,
                          const std::string& reason) {
  std::int64_t n = 0;
  for (const auto& q : c.quality) {
    if (q.stage == stage && q.file == file && q.reason == reason) n += q.count;
  }
  return n;
}

bool WarnsAbout(const IngestSummary& summary, const std::string& file, const std::string& what) {
  for (const auto& w : summary.warnings) {
    if (w.rfind(file + ": ", 0) == 0 && w.find(what) != std::string::npos) return true;
  }
  return false;
}

// "job@file:line state" for each stored attempt, in the catalogue's order.
std::vector<std::string> Attempts(const store::Catalogue& c) {
  std::vector<std::string> out;
  for (const auto& j : c.jobs) {
    out.push_back(j.job_id + "@" + j.file + ":" + std::to_string(j.line) + " " + j.state +
                  (j.end ? " end+" + std::to_string((*j.end - kTinyDay) / kHour) : " open"));
  }
  return out;
}

class SmallTables : public ::testing::Test {
 protected:
  void SetUp() override {
    wattrun::testing::WriteTinyFacility(facility(), wattrun::testing::TinyRun("r1", "00:10", "00:40", "wine"));
    config_ = ParseConfig(wattrun::testing::kTinyFacilityConfig, "tiny.yaml");
  }
  fs::path facility() const { return dir_ / "facility"; }
  std::string store_path() const { return (dir_ / "store.h5").string(); }
  IngestSummary RunIngest() {
    IngestOptions o;
    o.input_dir = facility().string();
    o.store_path = store_path();
    o.verbose = false;
    return Ingest(config_, o, comm_.comm());
  }
  store::Catalogue Catalogue() const { return store::ReadCatalogue(store_path()); }

  OwnedComm comm_;
  // Removed after each test, also when it fails.
  testing_util::ScratchDir scratch_{"wattrun_ingest_test_" + testing_util::CurrentTestName()};
  fs::path dir_ = scratch_.path();
  Config config_;
};

// The same attempt of job 9 (Start 01:00) in two files, RUNNING in one and
// COMPLETED in the other; its first line is in a.txt. Job 9 also has a
// later attempt (requeued) and job 10 a line that never started.
void WriteAttempts(const fs::path& sacct, bool completed_in_a) {
  const std::string running = "9|n1|2021-07-01T01:00:00|Unknown|RUNNING\n";
  const std::string completed = "9|n1|2021-07-01T01:00:00|2021-07-01T03:00:00|COMPLETED\n";
  WriteText(sacct / "a.txt",
            std::string(kHeader) + "10|None assigned|None|Unknown|PENDING\n" + (completed_in_a ? completed : running));
  WriteText(sacct / "b.txt", std::string(kHeader) + (completed_in_a ? running : completed) +
                                 "9|n1|2021-07-01T05:00:00|2021-07-01T06:00:00|COMPLETED\n"
                                 "10|None assigned|None|2021-07-01T02:00:00|CANCELLED by 42\n");
}

TEST_F(SmallTables, AttemptsMergeWhateverTheOrderOfReading) {
  const std::vector<std::string> expected{"7@sacct/2021-07.txt:2 COMPLETED end+23",
                                          "10@sacct/a.txt:2 CANCELLED by 42 end+2", "9@sacct/a.txt:3 COMPLETED end+3",
                                          "9@sacct/b.txt:3 COMPLETED end+6"};
  for (const bool completed_in_a : {true, false}) {
    SCOPED_TRACE(completed_in_a ? "COMPLETED read first" : "RUNNING read first");
    fs::remove_all(dir_ / "store.h5");
    fs::remove_all(dir_ / "store.h5.d");
    fs::remove_all(facility() / "sacct" / "a.txt");
    fs::remove_all(facility() / "sacct" / "b.txt");
    WriteAttempts(facility() / "sacct", completed_in_a);
    RunIngest();
    EXPECT_EQ(Attempts(Catalogue()), expected);
  }
  // One file at a time (b.txt stored first, then a.txt merged into it): the same.
  fs::remove_all(dir_ / "store.h5");
  fs::remove_all(dir_ / "store.h5.d");
  const fs::path a_text = facility() / "sacct" / "a.txt";
  const fs::path kept = dir_ / "a.txt";
  fs::rename(a_text, kept);
  RunIngest();
  fs::rename(kept, a_text);
  RunIngest();
  EXPECT_EQ(Attempts(Catalogue()), expected);
}

TEST_F(SmallTables, RewrittenSacctFileReplacesItsRows) {
  RunIngest();
  // Job 7's start moved and a second job added: the old attempt must go.
  WriteText(facility() / "sacct" / "2021-07.txt", std::string(kHeader) +
                                                      "7|n1|2021-07-01T00:30:00|2021-07-01T23:00:00|COMPLETED\n"
                                                      "8|n1|2021-07-01T00:00:00|2021-07-01T01:00:00|FAILED\n");
  WriteText(facility() / "sacct" / "2021-08.txt",
            std::string(kHeader) + "11|n1|2021-08-01T00:00:00|2021-08-01T01:00:00|COMPLETED\n");
  RunIngest();
  EXPECT_EQ(Attempts(Catalogue()),
            (std::vector<std::string>{"7@sacct/2021-07.txt:2 COMPLETED end+23", "8@sacct/2021-07.txt:3 FAILED end+1",
                                      "11@sacct/2021-08.txt:2 COMPLETED end+745"}));
  EXPECT_EQ(Catalogue().jobs[0].start, kTinyDay + kHour / 2);
  // Nothing changed: nothing re-read, nothing duplicated.
  RunIngest();
  EXPECT_EQ(Catalogue().jobs.size(), 3u);
}

TEST_F(SmallTables, RepeatedRunIdsCountedAndRewrittenRunsReplaced) {
  using wattrun::testing::TinyRun;
  WriteText(facility() / "runs.csv", wattrun::testing::kRunsHeader + TinyRun("r1", "00:10", "00:40", "wine") +
                                         TinyRun("r2", "01:10", "01:40", "wine") +
                                         TinyRun("r1", "02:10", "02:40", "wine"));
  const IngestSummary first = RunIngest();
  EXPECT_TRUE(WarnsAbout(first, "runs.csv", "repeat a run_id"));
  store::Catalogue c = Catalogue();
  ASSERT_EQ(c.runs.size(), 2u);
  EXPECT_EQ(c.runs[0].start, kTinyDay + 10 * kMicrosPerMinute);  // the first r1
  EXPECT_EQ(QualityCount(c, "runs", "runs.csv", "duplicate_run_id"), 1);

  WriteText(facility() / "runs.csv", wattrun::testing::kRunsHeader + TinyRun("r1", "03:10", "03:40", "wine") +
                                         TinyRun("r2", "04:10", "04:40", "wine"));
  RunIngest();
  c = Catalogue();
  ASSERT_EQ(c.runs.size(), 2u);
  EXPECT_EQ(c.runs[0].start, kTinyDay + (3 * 60 + 10) * kMicrosPerMinute);
  EXPECT_EQ(c.runs[1].start, kTinyDay + (4 * 60 + 10) * kMicrosPerMinute);
  EXPECT_EQ(QualityCount(c, "runs", "runs.csv", "duplicate_run_id"), 0);
}

TEST_F(SmallTables, CarbonIntensityStoredInTimeOrderAndReplaced) {
  WriteText(facility() / "carbon_intensity.csv",
            "timestamp,g_per_kwh\n2021-07-01 02:00:00,300\n2021-07-01T00:00:00+02:00,410\nbad,1\n");
  RunIngest();
  store::Catalogue c = Catalogue();
  ASSERT_EQ(c.carbon_intensity.size(), 2u);
  EXPECT_EQ(c.carbon_intensity[0].time, kTinyDay - 2 * kHour);
  EXPECT_EQ(c.carbon_intensity[0].g_per_kwh, 410);
  EXPECT_EQ(c.carbon_intensity[1].time, kTinyDay + 2 * kHour);
  EXPECT_EQ(QualityCount(c, "carbon_intensity", "carbon_intensity.csv", "bad_time"), 1);
  bool listed = false;
  for (const auto& m : c.manifest)
    listed = listed || (m.path == "carbon_intensity.csv" && m.kind == "carbon_intensity");
  EXPECT_TRUE(listed);

  WriteText(facility() / "carbon_intensity.csv", "timestamp,g_per_kwh\n2021-07-01 05:00:00,250.5\n");
  RunIngest();
  c = Catalogue();
  ASSERT_EQ(c.carbon_intensity.size(), 1u);
  EXPECT_EQ(c.carbon_intensity[0].g_per_kwh, 250.5);
  EXPECT_EQ(QualityCount(c, "carbon_intensity", "carbon_intensity.csv", "bad_time"), 0);

  WriteText(facility() / "carbon_intensity.csv", "time,g_per_kwh\n2021-07-01 05:00:00,250.5\n");
  try {
    RunIngest();
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("carbon_intensity.csv"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("missing required column 'timestamp'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace wattrun::ingest
