// Under mpiexec -n 2: the ranks that did not read the job table get, from
// rank 0, exactly the part of the setup their units use, and a unit run on
// either rank then gives the same parts to the bit.
#include <gtest/gtest.h>

#include "core/mpi.h"
#include "core/time.h"
#include "stages/account/account.h"
#include "stages/account/node_accountant.h"

namespace wattrun::account {
namespace {

constexpr TimeUs S = kMicrosPerSecond;
const TimeUs kT0 = DaysFromCivil(2021, 10, 31) * 86400 * S;  // a month boundary a day later

std::vector<JobRecord> Jobs() {
  auto job = [](const char* id, const char* nodes, TimeUs start, TimeUs end, std::int64_t cpus) {
    JobRecord j;
    j.job_id = id, j.node_list = nodes, j.start = start, j.end = end, j.alloc_cpus = cpus;
    return j;
  };
  return {job("1", "n[1-2]", kT0, kT0 + 7200 * S, 36), job("2", "n1,ghost", kT0 + 600 * S, kT0 + 86400 * 2 * S, 8),
          job("3", "n2", kT0 + 3600 * S, kT0 + 5400 * S, 40)};
}

std::vector<NodeRecord> Nodes() {
  std::vector<NodeRecord> nodes(2);
  nodes[0].name = "n1", nodes[0].cpus = 36, nodes[0].node_type = "cpu1";
  nodes[1].name = "n2", nodes[1].cpus = 36, nodes[1].node_type = "cpu1";
  return nodes;
}

AccountOptions Options() {
  AccountOptions o;
  o.store_first = kT0, o.store_last = kT0 + 3 * 86400 * S;
  o.intensity = {{kT0, 300.0}, {kT0 + 3600 * S, 420.0}};
  return o;
}

TEST(AccountMpi, OtherRanksGetTheNodesJobsMonthsAndIntensity) {
  OwnedComm owned;
  const Comm comm = owned.comm();
  ASSERT_EQ(comm.size(), 2);
  const AccountSetup whole = BuildAccountSetup(Jobs(), Nodes(), Options());  // what rank 0 builds
  AccountSetup setup;
  setup.options = Options();
  if (comm.is_root()) setup = BuildAccountSetup(Jobs(), Nodes(), Options());
  ShareSetupForUnits(comm, &setup);

  ASSERT_EQ(setup.nodes.size(), whole.nodes.size());
  for (std::size_t h = 0; h < whole.nodes.size(); ++h) {
    const NodeSetup& a = setup.nodes[h];
    const NodeSetup& b = whole.nodes[h];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.node_type, b.node_type);
    EXPECT_EQ(a.cpus, b.cpus);
    EXPECT_EQ(a.longest_job, b.longest_job);
    ASSERT_EQ(a.jobs.size(), b.jobs.size());
    for (std::size_t k = 0; k < b.jobs.size(); ++k) {
      EXPECT_EQ(a.jobs[k].job, b.jobs[k].job);
      EXPECT_EQ(a.jobs[k].weight, b.jobs[k].weight);
      EXPECT_EQ(a.jobs[k].start, b.jobs[k].start);
      EXPECT_EQ(a.jobs[k].end, b.jobs[k].end);
    }
    EXPECT_EQ(setup.node_by_name.at(b.name), h);
  }
  EXPECT_EQ(setup.months.starts, whole.months.starts);
  EXPECT_EQ(setup.months.labels, whole.months.labels);
  EXPECT_EQ(setup.intensity_times, whole.intensity_times);
  EXPECT_EQ(setup.carbon_factor, whole.carbon_factor);
  // The job table's own parts stay on rank 0 (FinalizeAccount runs there).
  EXPECT_EQ(setup.jobs.size(), comm.is_root() ? 3u : 0u);
  EXPECT_EQ(whole.unknown_nodes, std::vector<std::string>{"ghost"});

  // A unit on the shared setup learns the same parts as on rank 0's.
  auto parts_of = [](const AccountSetup& s) {
    NodeAccountant a(s, "n1", kT0 - 86400 * S, kT0 + 86400 * 3 * S, 0);
    std::vector<TimeUs> t;
    std::vector<double> w;
    for (TimeUs at = kT0; at <= kT0 + 2 * 86400 * S; at += 60 * S) t.push_back(at), w.push_back(250.0);
    a.Add(t.data(), w.data(), t.size());
    AccountPartial partial;
    a.Finish(&partial);
    return partial.Pack();
  };
  EXPECT_EQ(parts_of(setup), parts_of(whole));
}

}  // namespace
}  // namespace wattrun::account
