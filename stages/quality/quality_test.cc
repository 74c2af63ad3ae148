#include "stages/quality/quality.h"

#include <gtest/gtest.h>

#include <cmath>

namespace wattrun::quality {
namespace {

using join::RunStatus;

TEST(Quality, TelemetryStatusesInOrder) {
  integrate::RunIntegral r;
  EXPECT_EQ(TelemetryStatus(r, 600, 60), RunStatus::kMissingAll);
  r.samples = 8;  // 600 s expects 10 samples; fewer than 10 - 1 is a lost minute
  EXPECT_EQ(TelemetryStatus(r, 600, 60), RunStatus::kMissingSome);
  r.samples = 9;
  r.has_zero = true;
  EXPECT_EQ(TelemetryStatus(r, 600, 60), RunStatus::kZeroWatts);
  r.has_zero = false;
  EXPECT_EQ(TelemetryStatus(r, 600, 60), RunStatus::kOk);
}

FilterInput OkRun(double rt, const std::string& ds = "mnist", std::int64_t size = 1024, bool gpu = false) {
  return FilterInput{RunStatus::kOk, rt, gpu, ds, size};
}

TEST(Quality, Filter1IsStrict) {
  const auto f = ApplyFilters({OkRun(75000), OkRun(75000.5, "wine")}, {});
  EXPECT_FALSE(*f.filter_1[0]);
  EXPECT_TRUE(*f.filter_1[1]);
  EXPECT_TRUE(*f.filter[1]);
}

TEST(Quality, GroupsOfOneAndOfEqualRunTimesAreNeverFiltered) {
  const auto f = ApplyFilters({OkRun(100), OkRun(50, "wine"), OkRun(50, "wine")}, {});
  EXPECT_FALSE(f.filter_3_stdevs[0].has_value());
  EXPECT_FALSE(*f.filter_3[0]);
  EXPECT_FALSE(f.filter_3_stdevs[1].has_value());
  EXPECT_FALSE(*f.filter[2]);
}

TEST(Quality, GroupOfTwoHasZScoresOfOne) {
  // Two values: each is exactly one population std from the mean.
  const auto f = ApplyFilters({OkRun(100), OkRun(400)}, {});
  EXPECT_NEAR(*f.filter_3_stdevs[0], 1.0, 1e-12);
  EXPECT_NEAR(*f.filter_3_stdevs[1], 1.0, 1e-12);
  EXPECT_FALSE(*f.filter_3[0]);
}

TEST(Quality, OutlierBeyondFourSigmaIsFilteredPerGroup) {
  std::vector<FilterInput> runs;
  for (int i = 0; i < 30; ++i) runs.push_back(OkRun(1000 + i));
  runs.push_back(OkRun(1e6));
  runs.push_back(OkRun(1e6, "mnist", 1024, /*gpu=*/true));  // another group, alone
  FilterInput not_ok = OkRun(5);
  not_ok.status = RunStatus::kZeroWatts;
  runs.push_back(not_ok);
  const auto f = ApplyFilters(runs, {});
  EXPECT_TRUE(*f.filter_3[30]);
  EXPECT_GT(*f.filter_3_stdevs[30], 4.0);
  EXPECT_FALSE(*f.filter_3[0]);
  EXPECT_FALSE(*f.filter_3[31]);
  EXPECT_FALSE(f.filter[32].has_value());
}

}  // namespace
}  // namespace wattrun::quality
