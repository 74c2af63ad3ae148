#include "stages/results/column_docs.h"

#include <gtest/gtest.h>

namespace wattrun::results {
namespace {

TEST(DescribeColumn, UnitsByName) {
  EXPECT_EQ(DescribeColumn("/idle_power", "idle_w").units, "W");
  EXPECT_EQ(DescribeColumn("/features", "t_max_bytes").units, "B");
  EXPECT_EQ(DescribeColumn("/carbon_intensity", "time").units, "us since 1970-01-01 UTC");
  EXPECT_EQ(DescribeColumn("/predictions", "run_id").units, "text");
}

TEST(DescribeColumn, BooleansSpellTheirEncoding) {
  EXPECT_NE(DescribeColumn("/model_cpu", "determined").description.find("1 true, 0 false"), std::string::npos);
  EXPECT_NE(DescribeColumn("/overheads", "is_gpu").description.find("1 true, 0 false"), std::string::npos);
}

TEST(DescribeColumn, GroupSpecificMeanings) {
  EXPECT_EQ(DescribeColumn("/idle_power/low_end/cpu1", "value").units, "W");
  EXPECT_EQ(DescribeColumn("/node_power_dist", "p50").units, "W");  // a configured quantile column
  EXPECT_NE(DescribeColumn("/quality", "count").description, DescribeColumn("/node_power_dist", "count").description);
}

TEST(DescribeColumn, UnknownNamesStillDescribed) {
  const ColumnDoc d = DescribeColumn("/somewhere", "new_column");
  EXPECT_FALSE(d.units.empty());
  EXPECT_NE(d.description.find("new_column"), std::string::npos);
}

}  // namespace
}  // namespace wattrun::results
