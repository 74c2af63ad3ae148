#include "stages/account/sum_run.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

namespace wattrun::account {
namespace {

TEST(SumRun, HandComputedLinearAndStep) {
  // After (0 ms, 100 W): (60 s, 200 W), (120 s, 0 W), (300 s, 50 W); Δ = 60 s.
  // Times in µs; the sums come back in ms (W·ms).
  constexpr TimeUs kMs = kMicrosPerMilli;
  const std::vector<TimeUs> t{60000 * kMs, 120000 * kMs, 300000 * kMs};
  const std::vector<double> w{200, 0, 50};
  for (const SumRunPath path : {SumRunPath::kSse2, SumRunPath::kBest}) {
    const RunSums linear = SumRunFor(true, path)(t.data(), w.data(), 0, 3, 0, 100, 120000 * kMs);
    EXPECT_EQ(linear.energy, 300.0 * 60000 + 200.0 * 60000 + 50.0 * 180000);  // twice the trapezoids
    EXPECT_EQ(linear.missing, 60000.0);                                       // 180 s gap − 2Δ
    EXPECT_EQ(linear.zeros, 1);
    const RunSums step = SumRunFor(false, path)(t.data(), w.data(), 0, 3, 0, 100, 120000 * kMs);
    EXPECT_EQ(step.energy, 100.0 * 60000 + 200.0 * 60000 + 0.0 * 180000);
  }
}

// The two paths add in the same order: equal to the bit on every length
// (the 4-lane body, its tail, and runs shorter than one block).
TEST(SumRun, Sse2AndAvx2GiveTheSameBits) {
  if (!CpuHasAvx2()) GTEST_SKIP() << "this CPU has no AVX2";
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> watts(0, 700);
  std::vector<TimeUs> t(300);
  std::vector<double> w(300);
  TimeUs now = 1'600'000'000'000'000;
  for (std::size_t i = 0; i < t.size(); ++i) {
    now += 60000000 + static_cast<TimeUs>(rng() % 4000000) - 2000000 + (rng() % 40 == 0 ? 500000000 : 0) + 7;
    t[i] = now;
    w[i] = rng() % 25 == 0 ? 0.0 : watts(rng);
  }
  for (const bool linear : {true, false}) {
    for (std::size_t begin = 1; begin < 9; ++begin) {
      for (std::size_t end = begin + 1; end <= t.size(); end += 7) {
        const RunSums a =
            SumRunFor(linear, SumRunPath::kSse2)(t.data(), w.data(), begin, end, t[begin - 1], w[begin - 1], 120000000);
        const RunSums b =
            SumRunFor(linear, SumRunPath::kAvx2)(t.data(), w.data(), begin, end, t[begin - 1], w[begin - 1], 120000000);
        EXPECT_EQ(std::memcmp(&a.energy, &b.energy, sizeof(double)), 0) << begin << " " << end;
        EXPECT_EQ(a.missing, b.missing);
        EXPECT_EQ(a.zeros, b.zeros);
      }
    }
  }
}

}  // namespace
}  // namespace wattrun::account
