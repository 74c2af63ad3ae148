// Bad input the ingest counts instead of failing on: a telemetry .gz file
// whose stream is damaged counts once as `corrupt_gzip` (stage telemetry,
// named in a warning), and the complete lines before the damage are kept;
// a sacct file without its header counts each line as `bad_header` (named
// in a warning with the sacct command to export it again).
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/mpi.h"
#include "stages/ingest/ingest.h"
#include "stages/ingest/test_facility.h"
#include "store/store.h"
#include "tests/test_util.h"

namespace wattrun::ingest {
namespace {
namespace fs = std::filesystem;
using wattrun::testing::kTinyDay;

std::string ReadBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Independently of the ingest's reader: what zlib decompresses from a
// damaged gzip file before it gives up.
std::string InflateUntilDamage(const std::string& gz) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = static_cast<uInt>(gz.size());
  std::string out;
  char buffer[1 << 16];
  int status = Z_OK;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof buffer;
    status = inflate(&z, Z_NO_FLUSH);
    out.append(buffer, sizeof buffer - z.avail_out);
  } while (status == Z_OK && z.avail_out == 0);
  inflateEnd(&z);
  EXPECT_NE(status, Z_STREAM_END) << "the stream was meant to be damaged";
  return out;
}

std::vector<BadRowCount> QualityOf(const store::Catalogue& catalogue, const std::string& file) {
  std::vector<BadRowCount> out;
  for (const auto& q : catalogue.quality) {
    if (q.file == file) out.push_back(q);
  }
  return out;
}

// The file's one quality row: stage telemetry, corrupt_gzip, counted once.
void ExpectCountedOnceAsCorruptGzip(const store::Catalogue& catalogue, const std::string& file) {
  const auto quality = QualityOf(catalogue, file);
  ASSERT_EQ(quality.size(), 1u) << file;
  EXPECT_EQ(quality[0].stage, "telemetry");
  EXPECT_EQ(quality[0].reason, "corrupt_gzip");
  EXPECT_EQ(quality[0].count, 1);
}

bool WarnsAbout(const IngestSummary& summary, const std::string& file, const std::string& what) {
  for (const auto& w : summary.warnings) {
    if (w.find(file) != std::string::npos && w.find(what) != std::string::npos) return true;
  }
  return false;
}

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    wattrun::testing::WriteTinyFacility(dir_ / "facility", wattrun::testing::TinyRun("r1", "00:10", "00:40", "wine"));
    config_ = ParseConfig(wattrun::testing::kTinyFacilityConfig, "tiny.yaml");
  }
  IngestSummary RunIngest() {
    IngestOptions o;
    o.input_dir = (dir_ / "facility").string();
    o.store_path = (dir_ / "store.h5").string();
    o.verbose = false;
    return Ingest(config_, o, comm_.comm());
  }

  OwnedComm comm_;  // this process alone (a plain test is one rank)
  // Removed after each test, also when it fails.
  testing_util::ScratchDir scratch_{"wattrun_bad_input_" + testing_util::CurrentTestName()};
  fs::path dir_ = scratch_.path();
  Config config_;
};

TEST_F(BadInput, DamagedGzipCountsOnceAndKeepsTheCompleteLinesBeforeTheDamage) {
  // 1,200 readings, cut off at 60 % of the compressed bytes.
  const fs::path file = dir_ / "facility" / "telemetry" / "damaged.csv.gz";
  wattrun::testing::WriteGzip(file, wattrun::testing::TinyReadings(1200));
  const std::string whole = ReadBytes(file);
  const std::string cut = whole.substr(0, whole.size() * 6 / 10);
  wattrun::testing::WriteText(file, cut);
  const std::string before = InflateUntilDamage(cut);
  // Complete lines before the damage, less the header; the partial line at
  // the damage is not a row.
  const auto complete = static_cast<std::int64_t>(std::count(before.begin(), before.end(), '\n')) - 1;
  ASSERT_GT(complete, 0);
  ASSERT_LT(complete, 1200);

  const IngestSummary summary = RunIngest();
  EXPECT_EQ(summary.rows_stored, complete);
  EXPECT_EQ(summary.bad_rows, 1);
  EXPECT_TRUE(WarnsAbout(summary, "telemetry/damaged.csv.gz", "corrupt gzip stream"));
  EXPECT_TRUE(WarnsAbout(summary, "telemetry/damaged.csv.gz", "rows before the damage were kept"));

  ExpectCountedOnceAsCorruptGzip(store::ReadCatalogue((dir_ / "store.h5").string()), "telemetry/damaged.csv.gz");

  // The kept readings are exactly the first `complete` minutes, in order.
  store::TelemetryReader reader((dir_ / "store.h5").string());
  ASSERT_EQ(reader.nodes(), std::vector<std::string>{"n1"});
  std::vector<TimeUs> times;
  std::vector<double> watts;
  reader.ForEachChunk(0, 1 << 10, [&](const TimeUs* t, const double* w, std::size_t n) {
    times.insert(times.end(), t, t + n);
    watts.insert(watts.end(), w, w + n);
  });
  ASSERT_EQ(static_cast<std::int64_t>(times.size()), complete);
  for (std::int64_t m = 0; m < complete; ++m) {
    const auto i = static_cast<std::size_t>(m);
    ASSERT_EQ(times[i], kTinyDay + m * kMicrosPerMinute) << m;
    ASSERT_EQ(watts[i], 300 + m % 7) << m;
  }
}

TEST_F(BadInput, GzipDamagedBeforeItsHeaderCountsOnceAndKeepsNothing) {
  const fs::path damaged = dir_ / "facility" / "telemetry" / "early.csv.gz";
  wattrun::testing::WriteGzip(damaged, wattrun::testing::TinyReadings(1200));
  wattrun::testing::WriteText(damaged, ReadBytes(damaged).substr(0, 12));  // the gzip header and 2 bytes
  wattrun::testing::WriteText(dir_ / "facility" / "telemetry" / "fine.csv", wattrun::testing::TinyReadings(3));

  const IngestSummary summary = RunIngest();
  EXPECT_EQ(summary.rows_stored, 3);
  EXPECT_EQ(summary.bad_rows, 1);
  EXPECT_TRUE(WarnsAbout(summary, "telemetry/early.csv.gz", "corrupt gzip stream"));
  const store::Catalogue catalogue = store::ReadCatalogue((dir_ / "store.h5").string());
  ExpectCountedOnceAsCorruptGzip(catalogue, "telemetry/early.csv.gz");
  EXPECT_TRUE(QualityOf(catalogue, "telemetry/fine.csv").empty());
}

TEST_F(BadInput, SacctWithoutHeaderIsWarnedCountedAndTheOthersIngested) {
  // `sacct --noheader`: the first line is a job line, and counted too.
  wattrun::testing::WriteText(dir_ / "facility" / "sacct" / "2021-06-noheader.txt",
                              "5|n1|2021-06-01T00:00:00|2021-06-01T01:00:00|COMPLETED\n"
                              "6|n1|2021-06-01T00:00:00|2021-06-01T01:00:00|COMPLETED\n");
  const IngestSummary summary = RunIngest();
  EXPECT_TRUE(WarnsAbout(summary, "sacct/2021-06-noheader.txt", "sacct --allusers --duplicates --parsable2"));
  const store::Catalogue catalogue = store::ReadCatalogue((dir_ / "store.h5").string());
  const auto quality = QualityOf(catalogue, "sacct/2021-06-noheader.txt");
  ASSERT_EQ(quality.size(), 1u);
  EXPECT_EQ(quality[0].stage, "sacct");
  EXPECT_EQ(quality[0].reason, "bad_header");
  EXPECT_EQ(quality[0].count, 2);
  ASSERT_EQ(catalogue.jobs.size(), 1u);  // the tiny facility's own sacct file
  EXPECT_EQ(catalogue.jobs[0].job_id, "7");
  EXPECT_EQ(catalogue.jobs[0].file, "sacct/2021-07.txt");
  EXPECT_EQ(catalogue.runs.size(), 1u);
}

TEST_F(BadInput, MostlyBadFilesAreWarnedAndEachSourceIsTotalled) {
  // Times in a format sacct's reader does not know (day first): 3 of the 4
  // allocation lines bad; the steps are not rows.
  wattrun::testing::WriteText(dir_ / "facility" / "sacct" / "2021-06.txt",
                              "JobID|NodeList|Start|End|State\n"
                              "5|n1|01/06/2021 00:00|01/06/2021 01:00|COMPLETED\n"
                              "5.batch|n1|01/06/2021 00:00|01/06/2021 01:00|COMPLETED\n"
                              "6|n1|01/06/2021 00:00|01/06/2021 01:00|COMPLETED\n"
                              "6.0|n1|01/06/2021 00:00|01/06/2021 01:00|COMPLETED\n"
                              "8|n1|02/06/2021 00:00|02/06/2021 01:00|COMPLETED\n"
                              "9|n1|2021-06-03T00:00:00|2021-06-03T01:00:00|COMPLETED\n");
  // Telemetry: 2 good readings, 3 bad ones.
  wattrun::testing::WriteText(dir_ / "facility" / "telemetry" / "t.csv",
                              "timestamp,node,watts\n2021-07-01 00:00:00Z,n1,300\n2021-07-01 00:01:00Z,n1,301\n"
                              "2021-07-01 00:02:00Z,n1,-1\n2021-07-01 00:03:00Z,n1,x\n2021-07-01 00:04:00Z,n1\n");
  const IngestSummary summary = RunIngest();
  EXPECT_TRUE(WarnsAbout(summary, "sacct/2021-06.txt: 3 of its 4 rows are bad (mostly bad_time: 3)", ""));
  EXPECT_TRUE(WarnsAbout(summary, "telemetry/t.csv: 3 of its 5 rows are bad", "mostly "));
  EXPECT_FALSE(WarnsAbout(summary, "sacct/2021-07.txt", "rows are bad"));
  std::vector<std::string> lines = SourceTotalsLines(summary.sources);
  ASSERT_EQ(lines.size(), 5u);  // telemetry, sacct, runs, nodes, datasets
  EXPECT_EQ(lines[1], "sacct: 2 files, 2 allocations, 3 bad rows (bad_time 3)");
  EXPECT_EQ(lines[2], "runs: 1 file, 1 run, 0 bad rows");
  EXPECT_EQ(summary.sources[0].kind, "telemetry");
  EXPECT_EQ(summary.sources[0].bad_rows, 3);
}

}  // namespace
}  // namespace wattrun::ingest
