#include "stages/account/sum_run.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <utility>
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

// Minute readings on the minute, one in `jitter_every` moved by 7 µs, one in
// `zero_every` at 0 W (0: never).
void MinuteReadings(std::size_t n, std::size_t jitter_every, std::size_t zero_every, std::vector<TimeUs>* t,
                    std::vector<double>* w) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> watts(1, 700);
  t->resize(n);
  w->resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    (*t)[i] = 1'600'000'020'000'000 + static_cast<TimeUs>(i) * 60'000'000;
    if (jitter_every && i % jitter_every == jitter_every - 1) (*t)[i] += 7;
    (*w)[i] = zero_every && i % zero_every == zero_every - 1 ? 0.0 : watts(rng);
  }
}

// The uniform function gives SumRun's bits on the usual run, whatever its
// length and first interval, and says no when an interval or reading is off.
TEST(SumRun, UniformRunsGiveSumRunsBitsAndOthersAreRefused) {
  std::vector<TimeUs> t;
  std::vector<double> w;
  std::vector<SumRunPath> paths{SumRunPath::kSse2};
  if (CpuHasAvx2()) paths.push_back(SumRunPath::kAvx2);
  for (const SumRunPath path : paths) {
    MinuteReadings(200, 0, 0, &t, &w);
    for (const bool linear : {true, false}) {
      for (std::size_t begin = 1; begin < 6; ++begin) {
        for (std::size_t end = begin + 1; end <= t.size(); end += 5) {
          // A first interval longer than 2Δ: its missing time is SumRun's too.
          const TimeUs prev_t = t[begin - 1] - (begin == 3 ? 500'000'000 : 0);
          const RunSums full = SumRunFor(linear, path)(t.data(), w.data(), begin, end, prev_t, 0.0, 120'000'000);
          RunSums fast;
          ASSERT_TRUE(UniformRunFor(linear, path)(t.data(), w.data(), begin, end, prev_t, 0.0, 120'000'000, &fast));
          EXPECT_EQ(std::memcmp(&full.energy, &fast.energy, sizeof(double)), 0) << begin << " " << end;
          EXPECT_EQ(std::memcmp(&full.missing, &fast.missing, sizeof(double)), 0);
          EXPECT_EQ(full.zeros, fast.zeros);
        }
      }
    }
    for (const auto& [jitter, zeros] : {std::pair{37, 0}, std::pair{0, 41}, std::pair{3, 0}, std::pair{0, 2}}) {
      MinuteReadings(200, jitter, zeros, &t, &w);
      RunSums fast;
      EXPECT_FALSE(UniformRunFor(true, path)(t.data(), w.data(), 1, t.size(), t[0], w[0], 120'000'000, &fast));
    }
    // Every interval 3 min, over 2Δ: each is missing time, so not uniform.
    const std::vector<TimeUs> sparse{0, 180'000'000, 360'000'000, 540'000'000};
    const std::vector<double> flat{5, 5, 5, 5};
    RunSums fast;
    EXPECT_FALSE(UniformRunFor(true, path)(sparse.data(), flat.data(), 1, 4, 0, 5, 120'000'000, &fast));
  }
}

// Pieces between hourly cuts on minute readings: each is 0.5·SumRun of the
// readings after the cut before, up to the next, plus the last trapezoid;
// a zero in the third hour stops them there; a cut between readings or past
// the chunk gives none.
TEST(SumRun, UniformPiecesEndAtEachCutAndStopWhereTheStretchIsNot) {
  std::vector<TimeUs> t;
  std::vector<double> w;
  MinuteReadings(400, 0, 0, &t, &w);
  w[150] = 0.0;  // in the third hour after t[0]
  const std::vector<TimeUs> cuts{t[60], t[120], t[180], t[240]};
  std::vector<SumRunPath> paths{SumRunPath::kSse2};
  if (CpuHasAvx2()) paths.push_back(SumRunPath::kAvx2);
  for (const SumRunPath path : paths) {
    double pieces[4];
    std::size_t last = 0;
    ASSERT_EQ(UniformPiecesFor(true, path)(t.data(), w.data(), 0, t.size(), cuts.data(), 4, 120'000'000, pieces, &last),
              2u);
    EXPECT_EQ(last, 120u);
    for (std::size_t h = 0; h < 2; ++h) {
      const std::size_t b = 60 * h, j = b + 60;
      const RunSums run = SumRunFor(true, path)(t.data(), w.data(), b + 1, j, t[b], w[b], 120'000'000);
      double piece = 0;
      piece += 0.5 * run.energy;
      piece += 0.5 * (w[j - 1] + w[j]) * 60000.0;
      EXPECT_EQ(std::memcmp(&piece, &pieces[h], sizeof(double)), 0) << h;
    }
    const TimeUs between = t[60] + 30'000'000;
    EXPECT_EQ(UniformPiecesFor(true, path)(t.data(), w.data(), 0, t.size(), &between, 1, 120'000'000, pieces, &last),
              0u);
    EXPECT_EQ(last, 0u);
    EXPECT_EQ(UniformPiecesFor(true, path)(t.data(), w.data(), 0, 60, cuts.data(), 1, 120'000'000, pieces, &last), 0u);
  }
}

}  // namespace
}  // namespace wattrun::account
