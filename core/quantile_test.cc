#include "core/quantile.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace wattrun {
namespace {

TEST(Quantile, HandComputedType7) {
  // numpy.quantile([1, 2, 3, 4], 0.02) = 1 + 0.06 * 1 = 1.06
  EXPECT_DOUBLE_EQ(QuantileSorted({1, 2, 3, 4}, 0.02), 1.06);
  EXPECT_DOUBLE_EQ(QuantileSorted({1, 2, 3, 4}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(QuantileSorted({1, 2, 3, 4}, 1.0), 4.0);
  EXPECT_DOUBLE_EQ(QuantileSorted({1, 2, 3, 4}, 0.0), 1.0);
}

TEST(Quantile, OneReadingAndTies) {
  ValueCounts one;
  one.Add(230);
  EXPECT_EQ(one.Quantile(0.02), 230);
  EXPECT_EQ(one.Quantile(0.999999), 230);
  ValueCounts ties;
  for (int i = 0; i < 100; ++i) ties.Add(220);
  ties.Add(500);
  EXPECT_EQ(ties.Quantile(0.02), 220);
  EXPECT_EQ(ties.Quantile(1.0), 500);
  EXPECT_TRUE(std::isnan(ValueCounts().Quantile(0.5)));
}

TEST(Quantile, MatchesSortedDataExactlyWithFractionsAndMerge) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> watts(0, 900);
  std::vector<double> all;
  ValueCounts a, b;
  for (int i = 0; i < 20000; ++i) {
    double v = watts(rng);
    if (i % 7 == 0) v += 0.25;  // non-integers take the sparse path
    if (i % 1000 == 0) v = 70000.5;
    all.push_back(v);
    (i % 2 ? a : b).Add(v);
  }
  a.Merge(b);
  std::sort(all.begin(), all.end());
  for (double q : {0.000001, 0.001, 0.02, 0.37, 0.5, 0.98, 0.999999}) {
    EXPECT_EQ(a.Quantile(q), QuantileSorted(all, q)) << q;
  }
  EXPECT_EQ(a.Min(), all.front());
  EXPECT_EQ(a.Max(), all.back());
  const std::vector<double> flat = a.Serialize();
  ValueCounts c = ValueCounts::Deserialize(flat.data(), flat.size() / 2);
  EXPECT_EQ(c.total(), 20000);
  EXPECT_EQ(c.Quantile(0.02), a.Quantile(0.02));
}

// The pass adds whole chunks at once; the answer must not depend on how
// values arrive, and adding after a query must be seen by the next query.
TEST(Quantile, AddAllEqualsAddAndQueriesSeeLaterValues) {
  const std::vector<double> values = {230, 0, 231.5, 65535, 65536, 1e9, 230, 0.25, 229};
  ValueCounts one, all;
  for (double v : values) one.Add(v);
  all.AddAll(values.data(), values.size());
  EXPECT_EQ(all.total(), 9);
  EXPECT_EQ(all.Sorted(), one.Sorted());
  EXPECT_EQ(all.Quantile(0.5), one.Quantile(0.5));
  EXPECT_EQ(all.Max(), 1e9);
  all.Add(2e9);
  EXPECT_EQ(all.Max(), 2e9);
  const double low = 5;
  all.AddAll(&low, 1);
  EXPECT_EQ(all.CountEqual(5), 1);
  EXPECT_EQ(all.total(), 11);
}

}  // namespace
}  // namespace wattrun
