// Maybe<T> behaves as the std::optional it replaces in the job tables:
// absent by default, a value when assigned one (a computed NaN too), absent
// again after nullopt or reset, and the same through the conversions the
// tables' readers and writers use.
#include "core/maybe.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>

namespace wattrun {
namespace {

TEST(Maybe, DoubleHoldsEveryValueAComputationGivesNaNIncluded) {
  Maybe<double> m;
  EXPECT_FALSE(m.has_value());
  EXPECT_EQ(m.value_or(-1.5), -1.5);
  EXPECT_THROW((void)m.value(), std::bad_optional_access);
  m = 0.0;
  EXPECT_TRUE(m.has_value());
  EXPECT_EQ(*m, 0.0);
  const double computed_nan = std::sqrt(-1.0);
  m = computed_nan;
  EXPECT_TRUE(m.has_value());  // a value, as std::optional<double>(NaN) was
  EXPECT_TRUE(std::isnan(*m));
  m = std::numeric_limits<double>::infinity();
  EXPECT_EQ(m, std::numeric_limits<double>::infinity());
  m = std::nullopt;
  EXPECT_FALSE(m);
  EXPECT_EQ(m, std::nullopt);
}

TEST(Maybe, Int64IsAbsentOnlyAtItsMinimum) {
  Maybe<std::int64_t> m = 72;
  EXPECT_EQ(m, 72);
  EXPECT_EQ(m.value(), 72);
  m = -1;  // a value (OptCount writes absent counts as -1 in results.h5, not here)
  EXPECT_TRUE(m.has_value());
  m.reset();
  EXPECT_FALSE(m.has_value());
  EXPECT_EQ(*m, std::numeric_limits<std::int64_t>::min());
}

TEST(Maybe, ConvertsToAndFromStdOptional) {
  const std::optional<double> none;
  const std::optional<double> some = 2.5;
  EXPECT_FALSE(Maybe<double>(none).has_value());
  EXPECT_EQ(Maybe<double>(some), 2.5);
  const std::optional<double> back = Maybe<double>(some);
  EXPECT_EQ(back, some);
  const std::optional<double> back_none = Maybe<double>();
  EXPECT_FALSE(back_none.has_value());
  EXPECT_EQ(Maybe<double>(1.0), Maybe<double>(1.0));
  EXPECT_FALSE(Maybe<double>(1.0) == Maybe<double>());
  EXPECT_EQ(Maybe<double>(), Maybe<double>());
  static_assert(sizeof(Maybe<double>) == sizeof(double));
}

}  // namespace
}  // namespace wattrun
