#include "stages/integrate/integrate.h"

#include <gtest/gtest.h>

#include <random>

namespace wattrun::integrate {
namespace {

constexpr TimeUs S = kMicrosPerSecond;

TEST(Integrate, LinearInterpolatesBothEnds) {
  // W(30)=150, W(60)=200, W(90)=250: 30*(150+200)/2 + 30*(200+250)/2.
  const auto r = IntegrateWindow({0, 60 * S, 120 * S}, {100, 200, 300}, {30 * S, 90 * S}, Method::kLinear);
  EXPECT_DOUBLE_EQ(r.energy_j, 12000.0);
  EXPECT_EQ(r.samples, 1);
  EXPECT_FALSE(r.has_zero);
}

TEST(Integrate, StepRuleAsTheNotebooks) {
  // W[first-1]*(t[first]-s) + W[last]*(u-t[last]) = 100*30 + 200*30.
  const auto r = IntegrateWindow({0, 60 * S, 120 * S}, {100, 200, 300}, {30 * S, 90 * S}, Method::kStep);
  EXPECT_DOUBLE_EQ(r.energy_j, 9000.0);
}

TEST(Integrate, NoSampleBeforeStartHoldsTheFirst) {
  const std::vector<TimeUs> t{60 * S, 120 * S};
  const std::vector<double> w{200, 300};
  // Linear: 200 held for 30 s, then 30*(200+250)/2.
  EXPECT_DOUBLE_EQ(IntegrateWindow(t, w, {30 * S, 90 * S}, Method::kLinear).energy_j, 6000.0 + 6750.0);
  // Step: W[first-1] := W[first] = 200.
  EXPECT_DOUBLE_EQ(IntegrateWindow(t, w, {30 * S, 90 * S}, Method::kStep).energy_j, 12000.0);
}

TEST(Integrate, NoSampleAfterEndHoldsTheLast) {
  const std::vector<TimeUs> t{0, 60 * S};
  const std::vector<double> w{100, 200};
  EXPECT_DOUBLE_EQ(IntegrateWindow(t, w, {30 * S, 90 * S}, Method::kLinear).energy_j, 5250.0 + 6000.0);
  EXPECT_DOUBLE_EQ(IntegrateWindow(t, w, {30 * S, 90 * S}, Method::kStep).energy_j, 9000.0);
}

TEST(Integrate, SamplesOnTheWindowEdgesCountAndZeroIsFlagged) {
  const auto r = IntegrateWindow({0, 60 * S, 120 * S}, {100, 0, 300}, {0, 120 * S}, Method::kLinear);
  EXPECT_EQ(r.samples, 3);
  EXPECT_TRUE(r.has_zero);
  EXPECT_DOUBLE_EQ(r.energy_j, 60 * 50.0 + 60 * 150.0);
}

TEST(Integrate, NoSampleInsideTheWindow) {
  const auto r = IntegrateWindow({0, 600 * S}, {100, 100}, {60 * S, 120 * S}, Method::kLinear);
  EXPECT_EQ(r.samples, 0);
  const auto none = IntegrateWindow({}, {}, {60 * S, 120 * S}, Method::kLinear);
  EXPECT_EQ(none.samples, 0);
  EXPECT_EQ(none.energy_j, 0.0);
}

TEST(Integrate, ChunkingAndOverlapDoNotChangeResults) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> watts(200, 600);
  std::vector<TimeUs> t;
  std::vector<double> w;
  for (int i = 0; i < 5000; ++i) {
    t.push_back(i * 60 * S + (i % 3) * 7);
    w.push_back(std::round(watts(rng)));
  }
  std::vector<RunWindow> windows{
      {-100 * S, 50 * S}, {100 * S, 90000 * S}, {5000 * S, 6000 * S}, {5500 * S, 5700 * S}, {299000 * S, 400000 * S}};
  for (Method m : {Method::kLinear, Method::kStep}) {
    NodeIntegrator whole(windows, m);
    whole.Add(t.data(), w.data(), t.size());
    whole.Finish();
    NodeIntegrator pieces(windows, m);
    for (std::size_t i = 0; i < t.size(); i += 7)
      pieces.Add(t.data() + i, w.data() + i, std::min<std::size_t>(7, t.size() - i));
    pieces.Finish();
    for (std::size_t k = 0; k < windows.size(); ++k) {
      EXPECT_EQ(whole.results()[k].energy_j, pieces.results()[k].energy_j);
      EXPECT_EQ(whole.results()[k].samples, pieces.results()[k].samples);
      // Each window alone gives the same as all together.
      EXPECT_EQ(IntegrateWindow(t, w, windows[k], m).energy_j, whole.results()[k].energy_j);
    }
  }
}

TEST(Integrate, StepHoldsOverAWindowWithNoSampleInside) {
  // W = 200 from 60 s to 120 s: [70 s, 100 s] gets 30 s of it, as the same
  // window split at 80 s into two time blocks does (each with its
  // neighbours on either side).
  const std::vector<TimeUs> t = {0, 60 * S, 120 * S};
  const std::vector<double> w = {100, 200, 300};
  const RunIntegral r = IntegrateWindow(t, w, {70 * S, 100 * S}, Method::kStep);
  EXPECT_DOUBLE_EQ(r.energy_j, 6000.0);
  EXPECT_EQ(r.samples, 0);
  EXPECT_DOUBLE_EQ(IntegrateWindow(t, w, {70 * S, 80 * S}, Method::kStep).energy_j +
                       IntegrateWindow(t, w, {80 * S, 100 * S}, Method::kStep).energy_j,
                   6000.0);
}

// The telemetry pass splits a node's series into time blocks: each block is
// integrated with its neighbours on either side and counts only its own
// samples. The parts add up to the whole.
TEST(Integrate, BlocksWithTheirNeighboursAddUpToTheWhole) {
  std::vector<TimeUs> t;
  std::vector<double> w;
  for (int i = 0; i < 600; ++i) {
    t.push_back(i * 60 * S + 5 * S);
    w.push_back(300 + (i * 37) % 101);
  }
  const RunWindow run{1000 * S, 30000 * S};
  const TimeUs block = 7200 * S;
  for (Method m : {Method::kLinear, Method::kStep}) {
    const RunIntegral whole = IntegrateWindow(t, w, run, m);
    double energy = 0;
    std::int64_t samples = 0;
    for (TimeUs from = 0; from < 40000 * S; from += block) {
      const TimeUs until = from + block;
      std::vector<TimeUs> bt;
      std::vector<double> bw;
      for (std::size_t i = 0; i < t.size(); ++i) {
        const bool inside = t[i] >= from && t[i] < until;
        const bool before = t[i] < from && (i + 1 == t.size() || t[i + 1] >= from);
        const bool after = t[i] >= until && (i == 0 || t[i - 1] < until);
        if (inside || before || after) {
          bt.push_back(t[i]);
          bw.push_back(w[i]);
        }
      }
      if (run.start >= until || run.end < from) continue;
      NodeIntegrator part({{std::max(run.start, from), std::min(run.end, until)}}, m);
      part.SetCountRange(from, until);
      part.Add(bt.data(), bw.data(), bt.size());
      part.Finish();
      energy += part.results()[0].energy_j;
      samples += part.results()[0].samples;
    }
    EXPECT_NEAR(energy, whole.energy_j, 1e-9 * whole.energy_j);
    EXPECT_EQ(samples, whole.samples);
  }
}

}  // namespace
}  // namespace wattrun::integrate
