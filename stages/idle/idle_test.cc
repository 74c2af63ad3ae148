#include "stages/idle/idle.h"

#include <gtest/gtest.h>

#include <cmath>

namespace wattrun::idle {
namespace {

TEST(Idle, PooledAndMedianOfNodes) {
  ValueCounts a, b, c;
  for (int w = 200; w < 300; ++w) a.Add(w);  // q02 = 201.98
  for (int w = 210; w < 310; ++w) b.Add(w);  // q02 = 211.98
  for (int w = 500; w < 510; ++w) c.Add(w);  // another type
  const std::vector<std::pair<std::string, double>> levels{{"p2", 0.02}, {"p50", 0.5}};
  std::vector<NodeDistribution> nodes{DescribeNode("n1", "cpu1", a, levels, 0.02),
                                      DescribeNode("n2", "cpu1", b, levels, 0.02),
                                      DescribeNode("n3", "cpu2", c, levels, 0.02)};
  EXPECT_DOUBLE_EQ(nodes[0].quantiles[0], 201.98);
  EXPECT_EQ(nodes[0].min, 200);
  EXPECT_EQ(nodes[0].max, 299);
  ValueCounts cpu1 = a;
  cpu1.Merge(b);
  const auto pooled =
      ComputeIdlePower({"cpu1", "cpu2", "gpu1"}, {cpu1, c, ValueCounts()}, nodes, Method::kPooled, 0.02);
  // 200 readings of cpu1: (200-1)*0.02 = 3.98 -> between the 4th and 5th smallest (203, 204).
  EXPECT_DOUBLE_EQ(pooled[0].idle_w, 203.98);
  EXPECT_EQ(pooled[0].nodes, 2);
  EXPECT_EQ(pooled[0].readings, 200);
  EXPECT_TRUE(std::isnan(pooled[2].idle_w));
  EXPECT_EQ(pooled[2].nodes, 0);
  const auto median = ComputeIdlePower({"cpu1"}, {cpu1}, nodes, Method::kMedianOfNodes, 0.02);
  EXPECT_DOUBLE_EQ(median[0].idle_w, (201.98 + 211.98) / 2);
}

}  // namespace
}  // namespace wattrun::idle
