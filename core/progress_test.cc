#include "core/progress.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

namespace wattrun {
namespace {

// Everything a Progress printed, read back from a temporary file.
std::string ReadAll(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string text;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  return text;
}

TEST(Format, CountsBytesDurations) {
  EXPECT_EQ(FormatCount(0), "0");
  EXPECT_EQ(FormatCount(999), "999");
  EXPECT_EQ(FormatCount(1234567), "1,234,567");
  EXPECT_EQ(FormatCount(-1000), "-1,000");
  EXPECT_EQ(FormatBytes(512), "512 B");
  EXPECT_EQ(FormatBytes(2.34e9), "2.3 GB");
  EXPECT_EQ(FormatDuration(12.4), "12 s");
  EXPECT_EQ(FormatDuration(2.44), "2.4 s");
  EXPECT_EQ(FormatDuration(125), "2 min 5 s");
  EXPECT_EQ(FormatDuration(7380), "2 h 3 min");
  EXPECT_EQ(FormatDuration(-1), "?");
}

TEST(Progress, LineShowsShareTotalRateAndEta) {
  Progress p(0, 4, {.enabled = false});
  p.Begin("telemetry pass", 100, 400, "units");
  p.Add(25);
  const std::string line = p.Line(false);
  EXPECT_NE(line.find("telemetry pass: 25% (25 units of 100 units on rank 0; 400 units on 4 ranks)"), std::string::npos)
      << line;
  EXPECT_NE(line.find("units/s, ETA"), std::string::npos) << line;
  EXPECT_NE(p.Line(true).find("done, 25 units on rank 0 (400 units on 4 ranks) in"), std::string::npos) << p.Line(true);
}

TEST(Progress, TickerPrintsWhileRunningAndEndLineOnce) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    Progress p(0, 1, {.enabled = true, .verbose = false, .interval_s = 0.02, .out = f});
    p.Begin("ingest: parse", 1000, 1000, "bytes", ProgressUnit::kBytes);
    p.Add(500);
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    p.End();
    p.End();  // a second End prints nothing
  }
  const std::string text = ReadAll(f);
  std::fclose(f);
  EXPECT_NE(text.find("wattrun: ingest: parse: 50% (500 B of 1.0 kB), "), std::string::npos) << text;
  const auto done = text.find("ingest: parse: done, 500 B in");
  ASSERT_NE(done, std::string::npos) << text;
  EXPECT_EQ(text.find("done,", done + 20), std::string::npos) << text;
  EXPECT_EQ(text.back(), '\n');
}

TEST(Progress, QuietAndNonRootRanksPrintNothing) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    Progress quiet(0, 2, {.enabled = false, .interval_s = 0.01, .out = f});
    Progress other_rank(1, 2, {.enabled = true, .verbose = false, .interval_s = 0.01, .out = f});
    EXPECT_FALSE(quiet.prints());
    EXPECT_FALSE(other_rank.prints());
    quiet.Begin("a", 10, 20, "nodes");
    other_rank.Begin("b", 10, 20, "nodes");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    quiet.End();
    other_rank.End();
  }
  EXPECT_EQ(ReadAll(f), "");
  std::fclose(f);
}

TEST(Progress, VerboseRanksNameThemselves) {
  Progress p(3, 4, {.enabled = true, .verbose = true, .interval_s = 100, .out = stderr});
  EXPECT_TRUE(p.prints());
  p.Begin("generate", 8, 32, "nodes");
  EXPECT_EQ(p.Line(false).rfind("wattrun: rank 3: generate: 0%", 0), 0u) << p.Line(false);
}

}  // namespace
}  // namespace wattrun
