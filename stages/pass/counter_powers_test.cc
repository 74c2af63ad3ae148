#include "stages/pass/counter_powers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <map>
#include <random>

#include "core/records.h"
#include "stages/account/account.h"
#include "stages/account/node_accountant.h"

namespace wattrun::pass {
namespace {

constexpr TimeUs S = kMicrosPerSecond;
constexpr TimeUs kMin = std::numeric_limits<TimeUs>::min();
constexpr TimeUs kMax = std::numeric_limits<TimeUs>::max();

// 5000 -> 8000 J (3000 J in 60 s: 50 W), a drop to 1200 (a reset: 1200 J,
// 20 W), -> 4200 (3000 J: 50 W).
const std::vector<TimeUs> kT = {0, 60 * S, 120 * S, 180 * S};
const std::vector<double> kC = {5000, 8000, 1200, 4200};

TEST(CounterPowers, EachReadingCarriesTheIntervalAfterIt) {
  CounterPowers p;
  p.Add(kT.data(), kC.data(), 2, true);
  // One reading released so far: the one at 0 s, once the next arrived.
  EXPECT_EQ(p.times(), (std::vector<TimeUs>{0}));
  p.Add(kT.data() + 2, kC.data() + 2, 2, true);
  p.Finish();
  EXPECT_EQ(p.times(), kT);
  // The last reading has no interval after it: it carries the one before.
  EXPECT_EQ(p.watts(), (std::vector<double>{50, 20, 50, 50}));
  EXPECT_EQ(p.interval_watts(), (std::vector<double>{50, 20, 50}));  // n - 1
  EXPECT_EQ(p.resets(), 1);
  p.Clear();
  EXPECT_TRUE(p.times().empty());
  EXPECT_TRUE(p.interval_watts().empty());
}

TEST(CounterPowers, NeighboursShapeThePowersButAreNotCounted) {
  // Unit A: the readings at 0 and 60 s, with the one at 120 s after it;
  // unit B: 120 and 180 s, with the one at 60 s before it. Together they
  // count each interval (and the reset) once.
  CounterPowers a, b;
  a.Add(kT.data(), kC.data(), 2, true);
  a.Add(kT.data() + 2, kC.data() + 2, 1, false);
  a.Finish();
  EXPECT_EQ(a.watts(), (std::vector<double>{50, 20, 20}));
  EXPECT_EQ(a.interval_watts(), (std::vector<double>{50}));
  EXPECT_EQ(a.resets(), 0);
  b.Add(kT.data() + 1, kC.data() + 1, 1, false);
  b.Add(kT.data() + 2, kC.data() + 2, 2, true);
  b.Finish();
  EXPECT_EQ(b.times(), (std::vector<TimeUs>{60 * S, 120 * S, 180 * S}));
  EXPECT_EQ(b.interval_watts(), (std::vector<double>{20, 50}));
  EXPECT_EQ(b.resets(), 1);
}

TEST(CounterPowers, ZeroIntervalIsZeroWattsAndOneReadingHasNone) {
  const std::vector<TimeUs> t = {0, 60 * S, 120 * S};
  const std::vector<double> c = {100, 100, 700};
  CounterPowers p;
  p.Add(t.data(), c.data(), 3, true);
  p.Finish();
  EXPECT_EQ(p.watts(), (std::vector<double>{0, 10, 10}));
  EXPECT_EQ(p.interval_watts(), (std::vector<double>{0, 10}));
  EXPECT_EQ(p.resets(), 0);  // equal is no drop
  CounterPowers one;
  one.Add(t.data(), c.data(), 1, true);
  one.Finish();
  EXPECT_EQ(one.watts(), (std::vector<double>{0}));
  EXPECT_TRUE(one.interval_watts().empty());
}

TEST(ClipToCounterSpan, WindowsOutsideTheReadingsBecomeEmpty) {
  std::vector<integrate::RunWindow> w = {{-30 * S, 90 * S}, {200 * S, 300 * S}, {-90 * S, -10 * S}, {10 * S, 20 * S}};
  ClipToCounterSpan(0, 180 * S, &w);
  EXPECT_EQ(w[0].start, 0);
  EXPECT_EQ(w[0].end, 90 * S);
  EXPECT_EQ(w[1].start, -1);  // empty, before the first reading
  EXPECT_EQ(w[1].end, -1);
  EXPECT_EQ(w[2].start, -1);
  EXPECT_EQ(w[3].start, 10 * S);
  EXPECT_EQ(w[3].end, 20 * S);
}

// What the pass does for one unit [from, until) of a node: the neighbour
// before, the unit's readings, the neighbour after, through CounterPowers
// into a step NodeIntegrator over the windows clipped to unit and span.
integrate::RunIntegral UnitIntegral(const std::vector<TimeUs>& t, const std::vector<double>& c, TimeUs from,
                                    TimeUs until, integrate::RunWindow window) {
  if (window.start >= until || window.end < from) return {};  // not the unit's run (RunsOfUnit)
  std::vector<integrate::RunWindow> windows = {{std::max(window.start, from), std::min(window.end, until)}};
  ClipToCounterSpan(t.front(), t.back(), &windows);
  integrate::NodeIntegrator integrator(windows, integrate::Method::kStep);
  integrator.SetCountRange(from, until);
  CounterPowers p;
  const std::size_t lo = static_cast<std::size_t>(std::lower_bound(t.begin(), t.end(), from) - t.begin());
  const std::size_t hi = static_cast<std::size_t>(std::lower_bound(t.begin(), t.end(), until) - t.begin());
  if (lo > 0) p.Add(&t[lo - 1], &c[lo - 1], 1, false);
  p.Add(t.data() + lo, c.data() + lo, hi - lo, true);
  if (hi < t.size()) p.Add(&t[hi], &c[hi], 1, false);
  p.Finish();
  integrator.Add(p.times().data(), p.watts().data(), p.times().size());
  integrator.Finish();
  return integrator.results()[0];
}

TEST(CounterPowers, StepIntegrationGivesTheCounterDifference) {
  // Hand-computed: 3000 J to 60 s, then half the reset interval (600 J);
  // nothing before the first reading (held ends).
  EXPECT_DOUBLE_EQ(UnitIntegral(kT, kC, kMin, kMax, {-30 * S, 90 * S}).energy_j, 3600.0);
  EXPECT_DOUBLE_EQ(UnitIntegral(kT, kC, kMin, kMax, {90 * S, 150 * S}).energy_j, 600.0 + 1500.0);
  EXPECT_EQ(UnitIntegral(kT, kC, kMin, kMax, {90 * S, 150 * S}).samples, 1);
  const integrate::RunIntegral after = UnitIntegral(kT, kC, kMin, kMax, {200 * S, 300 * S});
  EXPECT_EQ(after.energy_j, 0.0);  // nothing after the last reading
  EXPECT_EQ(after.samples, 0);
  // Split into two units at 90 s, the parts add up to the same.
  EXPECT_DOUBLE_EQ(UnitIntegral(kT, kC, kMin, 90 * S, {-30 * S, 150 * S}).energy_j +
                       UnitIntegral(kT, kC, 90 * S, kMax, {-30 * S, 150 * S}).energy_j,
                   3000.0 + 1200.0 + 1500.0);
}

TEST(CounterPowers, AnySplitIntoUnitsMatchesCounterEnergy) {
  std::mt19937_64 rng(16);
  std::vector<TimeUs> t;
  std::vector<double> c;
  double joules = 1e6;
  for (TimeUs x = 0; x < 3600 * S; x += 50 * S + static_cast<TimeUs>(rng() % (20 * S))) {
    joules = rng() % 40 == 0 ? static_cast<double>(rng() % 5000) : joules + static_cast<double>(rng() % 30000) / 7;
    t.push_back(x);
    c.push_back(joules);
  }
  for (int k = 0; k < 200; ++k) {
    const TimeUs s = static_cast<TimeUs>(rng() % (4000 * S)) - 200 * S;
    const TimeUs u = s + static_cast<TimeUs>(rng() % (2000 * S));
    const TimeUs cut = static_cast<TimeUs>(rng() % (3600 * S));
    const double expected = integrate::CounterEnergy(t, c, s, u);
    const double whole = UnitIntegral(t, c, kMin, kMax, {s, u}).energy_j;
    const double split =
        UnitIntegral(t, c, kMin, cut, {s, u}).energy_j + UnitIntegral(t, c, cut, kMax, {s, u}).energy_j;
    EXPECT_NEAR(whole, expected, 1e-9 * std::max(1.0, expected)) << s << " " << u;
    EXPECT_NEAR(split, expected, 1e-9 * std::max(1.0, expected)) << s << " " << u << " cut " << cut;
  }
}

// The facility accountant fed the same powers (step rule), in one unit or
// two split at 90 s: each exclusive job gets C(end) - C(start), nothing
// before the node's first or after its last reading.
TEST(CounterPowers, JobsGetTheCounterDifference) {
  const TimeUs t0 = DaysFromCivil(2021, 6, 15) * 86400 * S;  // far from a month boundary
  std::vector<TimeUs> t;
  for (const TimeUs x : kT) t.push_back(t0 + x);
  const auto job = [&](const std::string& id, TimeUs start, TimeUs end) {
    JobRecord j;
    j.job_id = id, j.node_list = "n1", j.start = t0 + start, j.end = t0 + end, j.tres_cpus = 36;
    j.state = "COMPLETED";
    return j;
  };
  NodeRecord node;
  node.name = "n1", node.cpus = 36, node.node_type = "cpu1";
  account::AccountOptions options;
  options.integration = integrate::Method::kStep;
  options.store_first = t.front(), options.store_last = t.back();
  const std::vector<JobRecord> jobs{job("A", 30 * S, 150 * S), job("B", -60 * S, 20 * S), job("C", 170 * S, 300 * S)};
  const account::AccountSetup setup = account::BuildAccountSetup(jobs, {node}, options);
  for (const TimeUs cut : {kMax, t0 + 90 * S}) {
    account::AccountPartial partial;
    const std::vector<std::pair<TimeUs, TimeUs>> units =
        cut == kMax ? std::vector<std::pair<TimeUs, TimeUs>>{{kMin, kMax}}
                    : std::vector<std::pair<TimeUs, TimeUs>>{{kMin, cut}, {cut, kMax}};
    for (std::size_t u = 0; u < units.size(); ++u) {
      const auto [from, until] = units[u];
      account::NodeAccountant accountant(setup, "n1", from, until, static_cast<std::uint32_t>(u));
      CounterPowers p;
      const std::size_t lo = static_cast<std::size_t>(std::lower_bound(t.begin(), t.end(), from) - t.begin());
      const std::size_t hi = static_cast<std::size_t>(std::lower_bound(t.begin(), t.end(), until) - t.begin());
      if (lo > 0) p.Add(&t[lo - 1], &kC[lo - 1], 1, false);
      p.Add(t.data() + lo, kC.data() + lo, hi - lo, true);
      if (hi < t.size()) p.Add(&t[hi], &kC[hi], 1, false);
      p.Finish();
      accountant.Add(p.times().data(), p.watts().data(), p.times().size());
      accountant.Finish(&partial);
    }
    const account::AccountResult r = account::FinalizeAccount(setup, jobs, partial, {{"cpu1", 0.0}}, {"cpu1"});
    ASSERT_EQ(r.jobs.size(), 3u);
    // Hand-computed: half of 3000 J, the reset's 1200 J, half of 3000 J.
    EXPECT_DOUBLE_EQ(*r.jobs[0].energy_j, 1500.0 + 1200.0 + 1500.0) << cut;
    EXPECT_DOUBLE_EQ(*r.jobs[1].energy_j, 1000.0) << cut;  // from the first reading at 0 s
    EXPECT_DOUBLE_EQ(*r.jobs[2].energy_j, 500.0) << cut;   // up to the last at 180 s
    for (std::size_t k = 0; k < 3; ++k) {
      const TimeUs s = *r.jobs[k].start - t0, e = *r.jobs[k].end - t0;
      EXPECT_NEAR(*r.jobs[k].energy_j, integrate::CounterEnergy(kT, kC, s, e), 1e-9) << k;
    }
  }
}

}  // namespace
}  // namespace wattrun::pass
