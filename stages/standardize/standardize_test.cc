#include "stages/standardize/standardize.h"

#include <gtest/gtest.h>

#include <cmath>

namespace wattrun::standardize {
namespace {

TEST(Standardize, MovesEnergyToTheReferenceType) {
  // A cpu4 run (388 W idle) of 1000 s, standardized to cpu1 (220 W).
  EXPECT_DOUBLE_EQ(StandardizedEnergy(500000, 1000, 220, 388), 500000 - 168000);
}

TEST(Standardize, OverheadsAreFivePercentQuantilesOfSmallTecatorRuns) {
  std::vector<OverheadInput> runs;
  for (int i = 0; i < 21; ++i) runs.push_back({true, false, "505_tecator", 512, 1000.0 * (i + 1), 10.0 * (i + 1)});
  runs.push_back({true, false, "505_tecator", 2048, 1.0, 1.0});  // too large
  runs.push_back({false, false, "505_tecator", 512, 1.0, 1.0});  // filtered
  runs.push_back({true, false, "mnist", 512, 1.0, 1.0});         // other data set
  runs.push_back({true, true, "mnist", 512, 1.0, 1.0});          // gpu, no tecator runs
  const auto o = ComputeOverheads(runs, {});
  ASSERT_EQ(o.size(), 2u);
  EXPECT_EQ(o[0].runs, 21);
  // (21-1)*0.05 = 1: exactly the second smallest.
  EXPECT_DOUBLE_EQ(o[0].energy_overhead_j, 2000.0);
  EXPECT_DOUBLE_EQ(o[0].runtime_overhead_s, 20.0);
  EXPECT_TRUE(o[1].is_gpu);
  EXPECT_EQ(o[1].runs, 0);
  EXPECT_TRUE(std::isnan(o[1].energy_overhead_j));
}

}  // namespace
}  // namespace wattrun::standardize
