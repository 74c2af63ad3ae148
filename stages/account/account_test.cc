#include "stages/account/account.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>

#include "core/error.h"
#include "stages/account/node_accountant.h"

namespace wattrun::account {
namespace {

constexpr TimeUs S = kMicrosPerSecond;
constexpr TimeUs kMin = std::numeric_limits<TimeUs>::min();
constexpr TimeUs kMax = std::numeric_limits<TimeUs>::max();

// 2021-06-15 00:00:00 UTC: far from any month boundary.
const TimeUs kT0 = DaysFromCivil(2021, 6, 15) * 86400 * S;

TimeUs Utc(int y, int mo, int d, int h, int mi) {
  return (DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 + mi * 60) * S;
}

NodeRecord Node(const std::string& name, std::int64_t cpus, const std::string& type = "cpu1") {
  NodeRecord n;
  n.name = name, n.cpus = cpus, n.node_type = type;
  return n;
}

JobRecord Job(const std::string& id, const std::string& nodes, TimeUs start, std::optional<TimeUs> end,
              std::optional<std::int64_t> tres = std::nullopt) {
  JobRecord j;
  j.job_id = id, j.node_list = nodes, j.start = start, j.end = end, j.tres_cpus = tres;
  j.state = "COMPLETED", j.user = "u", j.account = "a", j.partition = "p";
  return j;
}

struct Series {
  std::vector<TimeUs> t;
  std::vector<double> w;
};

// Readings every `step` from `first` to `last` inclusive, constant watts.
Series Constant(TimeUs first, TimeUs last, TimeUs step, double watts) {
  Series s;
  for (TimeUs t = first; t <= last; t += step) s.t.push_back(t), s.w.push_back(watts);
  return s;
}

AccountOptions Options(TimeUs first, TimeUs last) {
  AccountOptions o;
  o.store_first = first, o.store_last = last;
  return o;
}

// One unit per node over the whole time line, readings fed in chunks.
AccountPartial RunUnits(const AccountSetup& setup, const std::map<std::string, Series>& series, std::size_t chunk = 0) {
  AccountPartial partial;
  std::uint32_t unit = 0;
  for (const auto& [name, s] : series) {
    NodeAccountant a(setup, name, kMin, kMax, unit++);
    const std::size_t step = chunk == 0 ? std::max<std::size_t>(1, s.t.size()) : chunk;
    for (std::size_t i = 0; i < s.t.size(); i += step) {
      a.Add(s.t.data() + i, s.w.data() + i, std::min(step, s.t.size() - i));
    }
    a.Finish(&partial);
  }
  return partial;
}

AccountResult Account(const std::vector<JobRecord>& jobs, const std::vector<NodeRecord>& nodes,
                      const std::map<std::string, Series>& series, const AccountOptions& o, std::size_t chunk = 0) {
  const AccountSetup setup = BuildAccountSetup(jobs, nodes, o);
  return FinalizeAccount(setup, jobs, RunUnits(setup, series, chunk), {{"cpu1", 100.0}}, {"cpu1"});
}

TEST(Account, TwoJobsBelowTheNodeCpusShareByCpusOverCpus) {
  // 360 W for 600 s. A: [60,300] s with 9 CPUs, B: [180,420] with 18; 9+18 < 36,
  // so each gets W*w/36: A 360*240*9/36 = 21600 J, B 360*240*18/36 = 43200 J.
  const auto r =
      Account({Job("A", "n1", kT0 + 60 * S, kT0 + 300 * S, 9), Job("B", "n1", kT0 + 180 * S, kT0 + 420 * S, 18)},
              {Node("n1", 36)}, {{"n1", Constant(kT0, kT0 + 600 * S, 60 * S, 360)}}, Options(kT0, kT0 + 600 * S));
  EXPECT_NEAR(*r.jobs[0].energy_j, 21600.0, 1e-9);
  EXPECT_NEAR(*r.jobs[1].energy_j, 43200.0, 1e-9);
  // Idle 100 W * share seconds: A 100*240*9/36 = 6000 J.
  EXPECT_NEAR(*r.jobs[0].idle_energy_j, 6000.0, 1e-9);
  EXPECT_NEAR(*r.jobs[0].dynamic_energy_j, 15600.0, 1e-9);
  EXPECT_EQ(*r.jobs[0].samples, 5);  // 60,120,180,240,300 (both ends count)
  EXPECT_EQ(r.jobs[0].status, "ok");
  EXPECT_EQ(*r.jobs[0].alloc_cpus, 9);
  ASSERT_EQ(r.ledger.size(), 1u);
  // Metered 360*600 = 216000; unallocated 216000 - 64800.
  EXPECT_NEAR(r.ledger[0].metered_energy_j, 216000.0, 1e-6);
  EXPECT_NEAR(r.ledger[0].unallocated_energy_j, 151200.0, 1e-6);
  EXPECT_EQ(r.ledger[0].readings, 11);
  EXPECT_EQ(r.ledger[0].nodes, 1);
}

TEST(Account, TwoJobsAboveTheNodeCpusShareBySum) {
  // 27 + 27 > 36. A alone [60,180]: 360*120*27/36 = 32400; both [180,300]:
  // 360*120*27/54 = 21600 each; B alone [300,420]: 32400. A = B = 54000.
  const auto r =
      Account({Job("A", "n1", kT0 + 60 * S, kT0 + 300 * S, 27), Job("B", "n1", kT0 + 180 * S, kT0 + 420 * S, 27)},
              {Node("n1", 36)}, {{"n1", Constant(kT0, kT0 + 600 * S, 60 * S, 360)}}, Options(kT0, kT0 + 600 * S));
  EXPECT_NEAR(*r.jobs[0].energy_j, 54000.0, 1e-9);
  EXPECT_NEAR(*r.jobs[1].energy_j, 54000.0, 1e-9);
  EXPECT_NEAR(r.ledger[0].job_energy_j, 108000.0, 1e-6);
  EXPECT_NEAR(r.ledger[0].job_energy_j + r.ledger[0].unallocated_energy_j, r.ledger[0].metered_energy_j, 1e-9);
}

TEST(Account, WholeNodeJobsWithoutCpuCountsTakeTheNodesCpus) {
  const auto r =
      Account({Job("A", "n[1-2]", kT0, kT0 + 120 * S)}, {Node("n1", 36), Node("n2", 40)},
              {{"n1", Constant(kT0, kT0 + 120 * S, 60 * S, 100)}, {"n2", Constant(kT0, kT0 + 120 * S, 60 * S, 200)}},
              Options(kT0, kT0 + 120 * S));
  EXPECT_EQ(*r.jobs[0].alloc_cpus, 76);
  EXPECT_NEAR(*r.jobs[0].energy_j, 100 * 120 + 200 * 120, 1e-9);
  EXPECT_NEAR(*r.jobs[0].node_hours, 120.0 * 2 / 3600, 1e-12);
  ASSERT_EQ(r.job_nodes.size(), 2u);
  EXPECT_EQ(r.job_nodes[1].weight_cpus, 40);
}

TEST(Account, StepAndLinearIntegration) {
  // Readings (0,100) (60,200) (120,300); job [30,90].
  // Linear: W(30)=150, W(60)=200, W(90)=250: 30*175 + 30*225 = 12000.
  // Step: 100*30 + 200*30 = 9000.
  const std::map<std::string, Series> series{{"n1", {{kT0, kT0 + 60 * S, kT0 + 120 * S}, {100, 200, 300}}}};
  AccountOptions o = Options(kT0, kT0 + 120 * S);
  const std::vector<JobRecord> jobs{Job("A", "n1", kT0 + 30 * S, kT0 + 90 * S)};
  EXPECT_NEAR(*Account(jobs, {Node("n1", 36)}, series, o).jobs[0].energy_j, 12000.0, 1e-9);
  o.integration = integrate::Method::kStep;
  EXPECT_NEAR(*Account(jobs, {Node("n1", 36)}, series, o).jobs[0].energy_j, 9000.0, 1e-9);
}

TEST(Account, NothingIsHeldBeforeTheFirstOrAfterTheLastReading) {
  // Readings (60,200) (120,300); job [30,150]: only [60,120] has W:
  // 60*(200+300)/2 = 15000 (section 2 would hold 200 and 300 at the ends).
  // missing: (-inf, 0) and (180, +inf) do not meet [30,150]: 0.
  const std::map<std::string, Series> series{{"n1", {{kT0 + 60 * S, kT0 + 120 * S}, {200, 300}}}};
  const auto r = Account({Job("A", "n1", kT0 + 30 * S, kT0 + 150 * S)}, {Node("n1", 36)}, series,
                         Options(kT0 + 60 * S, kT0 + 120 * S));
  EXPECT_NEAR(*r.jobs[0].energy_j, 15000.0, 1e-9);
  EXPECT_NEAR(*r.jobs[0].idle_energy_j, 100.0 * 60, 1e-9);  // idle covers the same 60 s
  EXPECT_EQ(*r.jobs[0].missing_s, 0.0);
}

TEST(Account, AGapMakesMissingSeconds) {
  // Readings at 0,60,120,600,660 s, 100 W, Δ = 60 s. The gap (120,600)
  // leaves (180,540) = 360 s missing; after the last, (720,+inf).
  Series s{{kT0, kT0 + 60 * S, kT0 + 120 * S, kT0 + 600 * S, kT0 + 660 * S}, {100, 100, 100, 100, 100}};
  const auto r = Account({Job("A", "n1", kT0, kT0 + 660 * S), Job("B", "n1", kT0 + 200 * S, kT0 + 300 * S),
                          Job("C", "n1", kT0 + 600 * S, kT0 + 900 * S)},
                         {Node("n1", 36)}, {{"n1", s}}, Options(kT0, kT0 + 660 * S));
  // A: 5 samples < 660/60 - 1 = 10: missing_some; energy interpolated across
  // the gap, shared half and half (36/72) with B over [200,300] and with C
  // over [600,660]: 100*660 - 100*100/2 - 100*60/2 = 58000.
  EXPECT_EQ(r.jobs[0].status, "missing_some");
  EXPECT_NEAR(*r.jobs[0].missing_s, 360.0, 1e-9);
  EXPECT_NEAR(*r.jobs[0].energy_j, 58000.0, 1e-9);
  // B lies inside the gap: no sample, 100 s missing, energy 100*100*(36/72).
  EXPECT_EQ(r.jobs[1].status, "missing_all");
  EXPECT_NEAR(*r.jobs[1].missing_s, 100.0, 1e-9);
  EXPECT_NEAR(*r.jobs[1].energy_j, 5000.0, 1e-9);
  // C: readings 600 and 660 count; (720,900) = 180 s missing; W ends at 660.
  EXPECT_EQ(*r.jobs[2].samples, 2);
  EXPECT_NEAR(*r.jobs[2].missing_s, 180.0, 1e-9);
  EXPECT_NEAR(*r.jobs[2].energy_j, 100.0 * 60 / 2, 1e-9);  // shared with A over [600,660]
  EXPECT_NEAR(r.ledger[0].missing_s, 360.0, 1e-9);
}

TEST(Account, JobOnAnUnknownNodeCountsItsKnownNodes) {
  // 36 CPUs over n1 and zz9: 18 on n1 (C = 36): 200 W * 120 s * 18/36.
  const auto r = Account({Job("A", "n1,zz9", kT0, kT0 + 120 * S, 36)}, {Node("n1", 36)},
                         {{"n1", Constant(kT0, kT0 + 120 * S, 60 * S, 200)}}, Options(kT0, kT0 + 120 * S));
  EXPECT_EQ(r.jobs[0].status, "unknown_node");
  EXPECT_EQ(r.jobs[0].nodes, 2);
  EXPECT_NEAR(*r.jobs[0].energy_j, 12000.0, 1e-9);
  EXPECT_NEAR(*r.jobs[0].node_hours, 120.0 * 2 / 3600, 1e-12);
  EXPECT_EQ(r.status_counts[1], (std::pair<std::string, std::int64_t>{"unknown_node", 1}));
}

TEST(Account, NotStartedRunningAndNodesWithoutTelemetry) {
  JobRecord never = Job("N", "None assigned", 0, std::nullopt);
  never.has_start = false;
  // R is running: its window ends at the store's last instant (600 s).
  // Q is on n2, which has no telemetry: its whole window is missing.
  const auto r = Account({never, Job("R", "n1", kT0 + 300 * S, std::nullopt), Job("Q", "n2", kT0, kT0 + 600 * S)},
                         {Node("n1", 36), Node("n2", 36)}, {{"n1", Constant(kT0, kT0 + 600 * S, 60 * S, 100)}},
                         Options(kT0, kT0 + 600 * S));
  EXPECT_EQ(r.jobs[0].status, "not_started");
  EXPECT_FALSE(r.jobs[0].energy_j.has_value());
  EXPECT_FALSE(r.jobs[0].start.has_value());
  EXPECT_EQ(r.jobs[1].status, "running");
  EXPECT_EQ(*r.jobs[1].end, kT0 + 600 * S);
  EXPECT_NEAR(*r.jobs[1].energy_j, 30000.0, 1e-9);
  EXPECT_EQ(r.jobs[2].status, "missing_all");
  EXPECT_NEAR(*r.jobs[2].missing_s, 600.0, 1e-9);
  EXPECT_EQ(*r.jobs[2].energy_j, 0.0);
  // Ledger: n2 counts its whole month clipped to the store: 600 s.
  EXPECT_NEAR(r.ledger[0].missing_s, 600.0, 1e-9);
  EXPECT_EQ(r.ledger[0].nodes, 1);
  EXPECT_EQ(r.status_counts.size(), 7u);
}

TEST(Account, ZeroReadingsAndAJobEndingOnAReading) {
  Series s = Constant(kT0, kT0 + 600 * S, 60 * S, 100);
  s.w[5] = 0;  // at 300 s
  const auto r = Account({Job("A", "n1", kT0, kT0 + 300 * S), Job("B", "n1", kT0 + 300 * S, kT0 + 300 * S)},
                         {Node("n1", 36)}, {{"n1", s}}, Options(kT0, kT0 + 600 * S));
  EXPECT_EQ(r.jobs[0].status, "zero_watts");
  EXPECT_EQ(*r.jobs[0].samples, 6);  // 0..300 inclusive
  EXPECT_EQ(*r.jobs[1].samples, 1);  // a window of length 0 still holds its reading
  EXPECT_EQ(r.jobs[1].status, "zero_watts");
}

TEST(Account, DenverMonthsAsUtcInstants) {
  const TimeZone denver = TimeZone::Load("America/Denver");
  EXPECT_EQ(LocalMonthStart(denver, 2021, 11), Utc(2021, 11, 1, 6, 0));  // MDT, UTC-6
  EXPECT_EQ(LocalMonthStart(denver, 2021, 3), Utc(2021, 3, 1, 7, 0));    // MST, UTC-7
  const MonthTable months = MonthsCovering(denver, Utc(2021, 3, 5, 0, 0), Utc(2021, 11, 5, 0, 0));
  ASSERT_EQ(months.size(), 9u);
  EXPECT_EQ(months.labels.front(), "2021-03");
  EXPECT_EQ(months.labels.back(), "2021-11");
  // March loses an hour to daylight time: 31*24 - 1 hours; November gains one.
  EXPECT_EQ(months.starts[1] - months.starts[0], (31 * 24 - 1) * 3600 * S);
  EXPECT_EQ(months.starts[9] - months.starts[8], (30 * 24 + 1) * 3600 * S);
}

TEST(Account, JobsCrossingDenverMonthBoundariesSplitByLocalMonth) {
  // Oct 31 23:00 MDT = 05:00Z to Nov 1 01:00 MDT = 07:00Z, across local
  // midnight (06:00Z): 3600 s * 100 W in each month. And Feb 28 23:30 MST =
  // 06:30Z to Mar 1 00:30 MST = 07:30Z: 1800 s in each.
  AccountOptions o = Options(Utc(2021, 2, 28, 0, 0), Utc(2021, 11, 1, 12, 0));
  o.zone = TimeZone::Load("America/Denver");
  Series s = Constant(Utc(2021, 2, 28, 6, 0), Utc(2021, 3, 1, 8, 0), 60 * S, 100);
  const Series nov = Constant(Utc(2021, 11, 1, 4, 0), Utc(2021, 11, 1, 8, 0), 60 * S, 100);
  s.t.insert(s.t.end(), nov.t.begin(), nov.t.end());
  s.w.insert(s.w.end(), nov.w.begin(), nov.w.end());
  const auto r = Account({Job("N", "n1", Utc(2021, 11, 1, 5, 0), Utc(2021, 11, 1, 7, 0)),
                          Job("M", "n1", Utc(2021, 3, 1, 6, 30), Utc(2021, 3, 1, 7, 30))},
                         {Node("n1", 36)}, {{"n1", s}}, o);
  EXPECT_NEAR(*r.jobs[0].energy_j, 720000.0, 1e-6);
  ASSERT_EQ(r.usage.size(), 4u);  // 2021-02, 2021-03, 2021-10, 2021-11
  EXPECT_EQ(r.usage[0].month, "2021-02");
  EXPECT_NEAR(r.usage[0].energy_j, 180000.0, 1e-6);
  EXPECT_NEAR(r.usage[0].node_hours, 0.5, 1e-12);
  EXPECT_EQ(r.usage[1].month, "2021-03");
  EXPECT_NEAR(r.usage[1].energy_j, 180000.0, 1e-6);
  EXPECT_EQ(r.usage[2].month, "2021-10");
  EXPECT_NEAR(r.usage[2].energy_j, 360000.0, 1e-6);
  EXPECT_EQ(r.usage[2].jobs, 1);
  EXPECT_NEAR(r.usage[2].node_hours, 1.0, 1e-12);
  EXPECT_EQ(r.usage[3].month, "2021-11");
  EXPECT_NEAR(r.usage[3].energy_j, 360000.0, 1e-6);
  // The ledger has every month of the store's span: Feb .. Nov.
  ASSERT_EQ(r.ledger.size(), 10u);
  for (const auto& row : r.ledger) {
    EXPECT_NEAR(row.job_energy_j + row.unallocated_energy_j, row.metered_energy_j, 1e-6);
  }
}

TEST(Account, CarbonFollowsAnIntensityStepInsideAJob) {
  // 100 W over [0,600]; 100 g/kWh until 300 s, then 400; PUE 1.5:
  // (30000*100 + 30000*400) / 3.6e6 * 1.5 = 6.25 g.
  AccountOptions o = Options(kT0, kT0 + 600 * S);
  o.pue = 1.5;
  o.intensity = {{kT0 + 300 * S, 400.0}, {kT0, 100.0}};  // taken in time order
  const auto r = Account({Job("A", "n1", kT0, kT0 + 600 * S)}, {Node("n1", 36)},
                         {{"n1", Constant(kT0, kT0 + 600 * S, 60 * S, 100)}}, o);
  EXPECT_NEAR(*r.jobs[0].carbon_g, 6.25, 1e-12);
  // Without the file the constant holds: 60000 J * 475 / 3.6e6.
  const auto c = Account({Job("A", "n1", kT0, kT0 + 600 * S)}, {Node("n1", 36)},
                         {{"n1", Constant(kT0, kT0 + 600 * S, 60 * S, 100)}}, Options(kT0, kT0 + 600 * S));
  EXPECT_NEAR(*c.jobs[0].carbon_g, 60000.0 * 475 / 3.6e6, 1e-12);
}

TEST(Account, CarbonSplitsAReadingIntervalAtAnIntensityChange) {
  // Readings 100 W at 0 and 400 W at 600 s, linear; intensity 100 g/kWh, then
  // 400 from 150 s (between the readings). W(150) = 175:
  // [0,150]: 137.5 W * 150 s = 20625 J; [150,600]: 287.5 W * 450 s = 129375 J;
  // carbon (20625*100 + 129375*400) / 3.6e6 = 14.947916... g, shared 12:24.
  AccountOptions o = Options(kT0, kT0 + 600 * S);
  o.intensity = {{kT0, 100.0}, {kT0 + 150 * S, 400.0}};
  Series s;
  s.t = {kT0, kT0 + 600 * S};
  s.w = {100, 400};
  const auto r = Account({Job("A", "n1", kT0, kT0 + 600 * S, 12), Job("B", "n1", kT0, kT0 + 600 * S, 24)},
                         {Node("n1", 36)}, {{"n1", s}}, o);
  const double carbon = (20625.0 * 100 + 129375.0 * 400) / 3.6e6;
  EXPECT_NEAR(*r.jobs[0].carbon_g, carbon / 3, 1e-12);
  EXPECT_NEAR(*r.jobs[1].carbon_g, carbon * 2 / 3, 1e-12);
  EXPECT_NEAR(*r.jobs[0].energy_j + *r.jobs[1].energy_j, 150000.0, 1e-9);
}

// A random node series with jitter, gaps and zeros, jobs over it, and an
// intensity that changes about hourly at instants between readings.
struct Scenario {
  std::vector<JobRecord> jobs;
  std::vector<NodeRecord> nodes{Node("n1", 36), Node("n2", 36)};
  std::map<std::string, Series> series;
  AccountOptions options;
};

Scenario RandomScenario(unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> watts(150, 600);
  Scenario sc;
  for (const char* name : {"n1", "n2"}) {
    Series s;
    TimeUs t = kT0 + static_cast<TimeUs>(rng() % 60000);
    for (int i = 0; i < 2000; ++i) {
      t += 60 * S + static_cast<TimeUs>(rng() % 3000) - 1500 + (rng() % 100 == 0 ? 900 * S : 0);
      s.t.push_back(t), s.w.push_back(rng() % 500 == 0 ? 0.0 : watts(rng));
    }
    sc.series[name] = s;
  }
  for (int j = 0; j < 40; ++j) {
    const TimeUs start = kT0 + static_cast<TimeUs>(rng() % (130000 * S));
    const TimeUs end = start + static_cast<TimeUs>(rng() % (20000 * S));
    const std::int64_t cpus = static_cast<std::int64_t>(rng() % 48) + 1;
    sc.jobs.push_back(Job(std::string("j").append(std::to_string(j)),
                          j % 3 == 0 ? "n[1-2]" : (j % 3 == 1 ? "n1" : "n2"), start, end, cpus));
  }
  sc.options = Options(std::min(sc.series["n1"].t.front(), sc.series["n2"].t.front()),
                       std::max(sc.series["n1"].t.back(), sc.series["n2"].t.back()));
  sc.options.zone = TimeZone::Load("America/Denver");
  for (TimeUs t = kT0; t < sc.options.store_last; t += 3600 * S + static_cast<TimeUs>(rng() % 600000)) {
    sc.options.intensity.push_back({t, 200.0 + static_cast<double>(rng() % 300)});
  }
  return sc;
}

void ExpectSameResults(const AccountResult& a, const AccountResult& b, double rel) {
  ASSERT_EQ(a.jobs.size(), b.jobs.size());
  auto near = [rel](double x, double y) { return std::abs(x - y) <= rel * std::max({std::abs(x), std::abs(y), 1.0}); };
  for (std::size_t i = 0; i < a.jobs.size(); ++i) {
    EXPECT_EQ(a.jobs[i].status, b.jobs[i].status) << i;
    EXPECT_EQ(*a.jobs[i].samples, *b.jobs[i].samples) << i;
    EXPECT_TRUE(near(*a.jobs[i].energy_j, *b.jobs[i].energy_j))
        << i << " " << *a.jobs[i].energy_j << " " << *b.jobs[i].energy_j;
    EXPECT_TRUE(near(*a.jobs[i].idle_energy_j, *b.jobs[i].idle_energy_j)) << i;
    EXPECT_TRUE(near(*a.jobs[i].carbon_g, *b.jobs[i].carbon_g)) << i;
    EXPECT_TRUE(near(*a.jobs[i].missing_s, *b.jobs[i].missing_s)) << i;
  }
  ASSERT_EQ(a.ledger.size(), b.ledger.size());
  for (std::size_t i = 0; i < a.ledger.size(); ++i) {
    EXPECT_EQ(a.ledger[i].readings, b.ledger[i].readings);
    EXPECT_TRUE(near(a.ledger[i].metered_energy_j, b.ledger[i].metered_energy_j));
    EXPECT_TRUE(near(a.ledger[i].job_energy_j, b.ledger[i].job_energy_j));
    EXPECT_TRUE(near(a.ledger[i].missing_s, b.ledger[i].missing_s));
  }
}

TEST(Account, ChunkingDoesNotChangeResults) {
  const Scenario sc = RandomScenario(7);
  const auto all = Account(sc.jobs, sc.nodes, sc.series, sc.options, 0);
  ExpectSameResults(all, Account(sc.jobs, sc.nodes, sc.series, sc.options, 1), 1e-12);
  ExpectSameResults(all, Account(sc.jobs, sc.nodes, sc.series, sc.options, 3), 1e-12);
  std::int64_t samples = 0;
  for (const auto& job : all.jobs) samples += *job.samples;
  EXPECT_GT(samples, 1000);  // the scenario does exercise the jobs
}

// n1 split at T into [-inf, T) and [T, +inf), each with its neighbour.
AccountPartial RunSplit(const AccountSetup& setup, const Scenario& sc, TimeUs split) {
  AccountPartial partial;
  const Series& s = sc.series.at("n1");
  const std::size_t k = static_cast<std::size_t>(std::lower_bound(s.t.begin(), s.t.end(), split) - s.t.begin());
  NodeAccountant left(setup, "n1", kMin, split, 10);
  left.Add(s.t.data(), s.w.data(), std::min(k + 1, s.t.size()));  // + the first at/after T
  left.Finish(&partial);
  NodeAccountant right(setup, "n1", split, kMax, 11);
  const std::size_t begin = k == 0 ? 0 : k - 1;  // the last before T
  right.Add(s.t.data() + begin, s.w.data() + begin, s.t.size() - begin);
  right.Finish(&partial);
  NodeAccountant other(setup, "n2", kMin, kMax, 12);
  other.Add(sc.series.at("n2").t.data(), sc.series.at("n2").w.data(), sc.series.at("n2").t.size());
  other.Finish(&partial);
  return partial;
}

// The usual telemetry: minute readings on the minute and an hourly
// intensity on the hour, as the generator and most facilities make them;
// one node with a zero, a gap and a late reading in some hours. The fast
// paths for such stretches must give the general path's bits.
TEST(Account, UniformStretchesGiveTheGeneralPathsBits) {
  std::mt19937_64 rng(13);
  std::uniform_real_distribution<double> watts(150, 600);
  Scenario sc;
  for (const char* name : {"n1", "n2"}) {
    Series s;
    for (int i = 0; i < 3 * 1440; ++i) {
      const bool n1 = std::string(name) == "n1";
      if (n1 && i >= 9 * 60 + 10 && i < 9 * 60 + 20) continue;                  // a gap in hour 9
      s.t.push_back(kT0 + i * 60 * S + (n1 && i == 14 * 60 + 30 ? 3 * S : 0));  // late in hour 14
      s.w.push_back(n1 && i == 5 * 60 + 7 ? 0.0 : watts(rng));                  // zero in hour 5
    }
    sc.series[name] = s;
  }
  for (int j = 0; j < 30; ++j) {
    const TimeUs start = kT0 + static_cast<TimeUs>(rng() % (2 * 86400)) * S / (j % 2 ? 60 : 1) * (j % 2 ? 60 : 1);
    const TimeUs end = start + static_cast<TimeUs>(rng() % 30000) * S;
    sc.jobs.push_back(Job("j" + std::to_string(j), j % 3 == 0 ? "n[1-2]" : (j % 3 == 1 ? "n1" : "n2"), start, end,
                          static_cast<std::int64_t>(rng() % 48) + 1));
  }
  sc.options = Options(kT0, sc.series["n2"].t.back());
  for (TimeUs t = kT0 - 3600 * S; t < sc.options.store_last + 7200 * S; t += 3600 * S)
    sc.options.intensity.push_back({t, 200.0 + static_cast<double>(rng() % 300)});
  for (const integrate::Method method : {integrate::Method::kLinear, integrate::Method::kStep}) {
    sc.options.integration = method;
    const AccountSetup setup = BuildAccountSetup(sc.jobs, sc.nodes, sc.options);
    for (const std::size_t chunk : {std::size_t{0}, std::size_t{1000}, std::size_t{61}}) {
      std::vector<char> packed[2];
      for (const bool general : {false, true}) {
        AccountPartial partial;
        std::uint32_t unit = 0;
        for (const auto& [name, s] : sc.series) {
          NodeAccountant a(setup, name, kMin, kMax, unit++);
          if (general) a.UseGeneralPathOnly();
          const std::size_t step = chunk == 0 ? s.t.size() : chunk;
          for (std::size_t i = 0; i < s.t.size(); i += step)
            a.Add(s.t.data() + i, s.w.data() + i, std::min(step, s.t.size() - i));
          a.Finish(&partial);
        }
        packed[general] = partial.Pack();
      }
      EXPECT_EQ(packed[0], packed[1]) << "chunk " << chunk << " method " << static_cast<int>(method);
    }
  }
}

TEST(Account, SplittingANodeIntoTwoUnitsGivesTheSameTotals) {
  const Scenario sc = RandomScenario(11);
  const AccountSetup setup = BuildAccountSetup(sc.jobs, sc.nodes, sc.options);
  const auto whole = FinalizeAccount(setup, sc.jobs, RunUnits(setup, sc.series), {{"cpu1", 100.0}}, {"cpu1"});
  const Series& s = sc.series.at("n1");
  for (const TimeUs split : {s.t[1000], s.t[1000] + 7 * S, s.t[700] + 1, s.t.front() - 5 * S, s.t.back() + 5 * S}) {
    const auto parts = FinalizeAccount(setup, sc.jobs, RunSplit(setup, sc, split), {{"cpu1", 100.0}}, {"cpu1"});
    ExpectSameResults(whole, parts, 1e-12);
  }
}

TEST(Account, AReadingAtAJobsEndBelongsToTheUnitHoldingThatInstant) {
  // Readings 0..600 s every 60 s; job [0,300] ends on the reading at 300 s.
  // Split at T = 300 s: [-inf,T) holds 0..240 (5 samples), [T,+inf) the one
  // at 300; with the neighbours the energy is still 100 W * 300 s.
  Scenario sc;
  sc.nodes = {Node("n1", 36), Node("n2", 36)};
  sc.series["n1"] = Constant(kT0, kT0 + 600 * S, 60 * S, 100);
  sc.series["n2"] = Constant(kT0, kT0 + 600 * S, 60 * S, 100);
  sc.jobs = {Job("A", "n1", kT0, kT0 + 300 * S)};
  sc.options = Options(kT0, kT0 + 600 * S);
  const AccountSetup setup = BuildAccountSetup(sc.jobs, sc.nodes, sc.options);
  const AccountPartial partial = RunSplit(setup, sc, kT0 + 300 * S);
  std::int64_t left = 0, right = 0;
  for (const JobPart& p : partial.job_parts()) (p.unit == 10 ? left : right) += p.samples;
  EXPECT_EQ(left, 5);
  EXPECT_EQ(right, 1);
  const auto r = FinalizeAccount(setup, sc.jobs, partial, {}, {"cpu1"});
  EXPECT_EQ(*r.jobs[0].samples, 6);
  EXPECT_NEAR(*r.jobs[0].energy_j, 30000.0, 1e-9);
}

TEST(Account, ExclusiveJobEnergyIsThePlainLinearIntegral) {
  const Scenario sc = RandomScenario(5);
  const Series& s = sc.series.at("n1");
  const integrate::RunWindow window{s.t[100] + 17 * S, s.t[1500] - 3 * S};
  const auto r = Account({Job("X", "n1", window.start, window.end)}, sc.nodes, sc.series, sc.options);
  const auto plain = integrate::IntegrateWindow(s.t, s.w, window, integrate::Method::kLinear);
  EXPECT_NEAR(*r.jobs[0].energy_j, plain.energy_j, 1e-12 * plain.energy_j);
  EXPECT_EQ(*r.jobs[0].samples, plain.samples);
}

TEST(Account, PackUnpackRoundTripAndMergeOrder) {
  const Scenario sc = RandomScenario(3);
  const AccountSetup setup = BuildAccountSetup(sc.jobs, sc.nodes, sc.options);
  const Series& s = sc.series.at("n1");
  const AccountPartial split = RunSplit(setup, sc, s.t[900] + 1);
  const std::vector<char> bytes = split.Pack();
  const AccountPartial back = AccountPartial::Unpack(bytes.data(), bytes.size());
  EXPECT_EQ(back.Pack(), bytes);
  EXPECT_THROW(AccountPartial::Unpack(bytes.data(), bytes.size() - 3), Error);
  EXPECT_THROW(AccountPartial::Unpack("nonsense", 8), Error);
  // One partial per unit, merged in two orders: bit-identical results.
  std::vector<AccountPartial> units;
  for (const JobPart& p : back.job_parts()) {
    while (units.size() <= p.unit - 10) units.emplace_back();
    units[p.unit - 10].AddJobPart(p);
  }
  for (const NodePart& p : back.node_parts()) units.at(p.unit - 10).AddNodePart(p);
  AccountPartial forward, backward;
  for (std::size_t i = 0; i < units.size(); ++i) forward.Merge(units[i]);
  for (std::size_t i = units.size(); i-- > 0;) backward.Merge(units[i]);
  const auto a = FinalizeAccount(setup, sc.jobs, forward, {{"cpu1", 100.0}}, {"cpu1"});
  const auto b = FinalizeAccount(setup, sc.jobs, backward, {{"cpu1", 100.0}}, {"cpu1"});
  for (std::size_t i = 0; i < a.jobs.size(); ++i) {
    EXPECT_EQ(*a.jobs[i].energy_j, *b.jobs[i].energy_j);
    EXPECT_EQ(*a.jobs[i].carbon_g, *b.jobs[i].carbon_g);
  }
  ASSERT_EQ(a.usage.size(), b.usage.size());
  for (std::size_t i = 0; i < a.usage.size(); ++i) EXPECT_EQ(a.usage[i].energy_j, b.usage[i].energy_j);
  // Merging a unit twice is an error, not a double count.
  AccountPartial twice = forward;
  twice.Merge(units[0]);
  EXPECT_THROW(FinalizeAccount(setup, sc.jobs, twice, {}, {"cpu1"}), Error);
}

TEST(Account, LedgerIdentityOnARandomScenario) {
  const Scenario sc = RandomScenario(13);
  const auto r = Account(sc.jobs, sc.nodes, sc.series, sc.options);
  ASSERT_FALSE(r.ledger.empty());
  double metered = 0;
  for (const auto& row : r.ledger) {
    EXPECT_DOUBLE_EQ(row.job_energy_j + row.unallocated_energy_j, row.metered_energy_j);
    EXPECT_LE(row.job_energy_j, row.metered_energy_j * (1 + 1e-12));
    metered += row.metered_energy_j;
  }
  // Metered equals the plain integral of both nodes over their spans.
  double plain = 0;
  for (const auto& [name, s] : sc.series) {
    plain += integrate::IntegrateWindow(s.t, s.w, {s.t.front(), s.t.back()}, integrate::Method::kLinear).energy_j;
  }
  EXPECT_NEAR(metered, plain, 1e-9 * plain);
}

// Not a check: what the hot loop costs per reading on 1e7 synthetic
// readings of one node with 200 jobs, with and without an hourly carbon
// intensity (an intensity change every 60 readings: it splits one reading
// interval, it no longer cuts a segment). Timings on this VM vary with its
// load by several times; compare the two lines of one run, not runs.
double NanosecondsPerReading(bool hourly_intensity, std::size_t* segments) {
  constexpr std::size_t kReadings = 10'000'000, kChunk = 1 << 16;
  std::vector<JobRecord> jobs;
  for (int j = 0; j < 200; ++j) {
    const TimeUs start = kT0 + j * 3000 * 60 * S;
    jobs.push_back(Job(std::string("b").append(std::to_string(j)), "n1", start, start + 4000 * 60 * S, 12));
  }
  AccountOptions o = Options(kT0, kT0 + static_cast<TimeUs>(kReadings) * 60 * S);
  for (TimeUs t = kT0; hourly_intensity && t < o.store_last; t += 3600 * S) {
    o.intensity.push_back({t, 300.0 + static_cast<double>(t % 7)});
  }
  const AccountSetup setup = BuildAccountSetup(jobs, {Node("n1", 36)}, o);
  NodeAccountant a(setup, "n1", kMin, kMax, 0);
  std::vector<TimeUs> t(kChunk);
  std::vector<double> w(kChunk);
  double seconds = 0;
  for (std::size_t done = 0; done < kReadings; done += kChunk) {
    const std::size_t n = std::min(kChunk, kReadings - done);
    for (std::size_t i = 0; i < n; ++i) {
      t[i] = kT0 + static_cast<TimeUs>(done + i) * 60 * S, w[i] = 200.0 + static_cast<double>((done + i) % 97);
    }
    const auto begin = std::chrono::steady_clock::now();
    a.Add(t.data(), w.data(), n);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  }
  AccountPartial partial;
  a.Finish(&partial);
  EXPECT_FALSE(partial.job_parts().empty());
  *segments = a.segment_count();
  return seconds * 1e9 / static_cast<double>(kReadings);
}

TEST(Account, HotLoopCostPerReading) {
  for (const bool hourly : {false, true}) {
    std::size_t segments = 0;
    const double ns = NanosecondsPerReading(hourly, &segments);
    std::printf("NodeAccountant: %.2f ns/reading over 1e7 readings, %zu segments (%s)\n", ns, segments,
                hourly ? "hourly intensity" : "constant intensity");
  }
}

}  // namespace
}  // namespace wattrun::account
