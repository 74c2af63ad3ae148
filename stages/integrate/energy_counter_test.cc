#include "stages/integrate/energy_counter.h"

#include <gtest/gtest.h>

namespace wattrun::integrate {
namespace {

constexpr TimeUs S = kMicrosPerSecond;

TEST(CounterEnergy, LinearBetweenReadings) {
  // 6000 J over 60 s: 100 W; [15 s, 45 s] holds half of it.
  EXPECT_DOUBLE_EQ(CounterEnergy({0, 60 * S}, {1000, 7000}, 15 * S, 45 * S), 3000.0);
  EXPECT_DOUBLE_EQ(CounterEnergy({0, 60 * S, 120 * S}, {1000, 7000, 7600}, 30 * S, 90 * S), 3000.0 + 300.0);
}

TEST(CounterEnergy, HeldBeyondTheEndsAddsNothing) {
  // C is flat before 0 and after 60 s: [-30 s, 90 s] gets just the 6000 J.
  EXPECT_DOUBLE_EQ(CounterEnergy({0, 60 * S}, {1000, 7000}, -30 * S, 90 * S), 6000.0);
  EXPECT_DOUBLE_EQ(CounterEnergy({0, 60 * S}, {1000, 7000}, 70 * S, 90 * S), 0.0);
  EXPECT_DOUBLE_EQ(CounterEnergy({0}, {1000}, -30 * S, 30 * S), 0.0);  // one reading: no interval
}

TEST(CounterEnergy, ResetTakesTheNewValueAsTheIncrement) {
  // 5000 -> 8000 (3000 J), drop to 1200 (reset: 1200 J), -> 4200 (3000 J).
  const std::vector<TimeUs> t = {0, 60 * S, 120 * S, 180 * S};
  const std::vector<double> c = {5000, 8000, 1200, 4200};
  EXPECT_DOUBLE_EQ(CounterEnergy(t, c, 0, 180 * S), 7200.0);
  EXPECT_DOUBLE_EQ(CounterEnergy(t, c, 90 * S, 150 * S), 600.0 + 1500.0);  // half of 1200 J, half of 3000 J
  CounterIntervals intervals;
  CounterInterval interval;
  std::vector<CounterInterval> out;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (intervals.Add(t[i], c[i], &interval)) out.push_back(interval);
  }
  ASSERT_EQ(out.size(), 3u);
  EXPECT_FALSE(out[0].reset);
  EXPECT_TRUE(out[1].reset);
  EXPECT_DOUBLE_EQ(out[1].joules, 1200.0);
  EXPECT_DOUBLE_EQ(out[1].watts(), 20.0);
  EXPECT_EQ(out[1].begin, 60 * S);
  EXPECT_EQ(out[1].end, 120 * S);
  EXPECT_EQ(intervals.resets(), 1);
}

TEST(CounterEnergy, ZeroIntervalIsZeroWatts) {
  // No increase from 0 to 60 s: 0 W there, 10 W after.
  const std::vector<TimeUs> t = {0, 60 * S, 120 * S};
  const std::vector<double> c = {100, 100, 700};
  EXPECT_DOUBLE_EQ(CounterEnergy(t, c, 0, 60 * S), 0.0);
  EXPECT_DOUBLE_EQ(CounterEnergy(t, c, 30 * S, 90 * S), 300.0);
  CounterIntervals intervals;
  CounterInterval first, second;
  intervals.Add(t[0], c[0], &first);
  ASSERT_TRUE(intervals.Add(t[1], c[1], &first));
  ASSERT_TRUE(intervals.Add(t[2], c[2], &second));
  EXPECT_EQ(first.watts(), 0.0);
  EXPECT_FALSE(first.reset);  // equal is no drop
  EXPECT_DOUBLE_EQ(second.watts(), 10.0);
  EXPECT_EQ(intervals.resets(), 0);
}

}  // namespace
}  // namespace wattrun::integrate
