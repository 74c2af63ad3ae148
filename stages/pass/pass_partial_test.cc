#include "stages/pass/pass_partial.h"

#include <gtest/gtest.h>

#include <cstring>
#include <span>
#include <string>

#include "core/error.h"

namespace wattrun::pass {
namespace {

ValueCounts Values(std::initializer_list<double> v) {
  ValueCounts c;
  for (double x : v) c.Add(x);
  return c;
}

// Two ranks' partials: rank A streamed node 0 whole and the first half of
// node 1; rank B the second half of node 1. Run 7 has a part in each.
PassPartial RankA() {
  PassPartial p;
  p.AddRunPart(7, 2, {100.0, 3, false}, 0.5);
  p.AddRunPart(3, 0, {10.0, 1, true});
  idle::NodeDistribution d;
  d.node = "n0";
  d.node_type = "cpu1";
  d.count = 2;
  d.quantiles = {1.0, 2.0};
  p.AddWholeNode(d);
  p.AddNodePart(1, Values({5, 6}));
  p.AddTypeValues(0, Values({1, 2, 5, 6}));
  p.AddReadings(4);
  p.AddDayReadings(19000, 0, 3);   // node 0 and 1's first half: day 19000 ...
  p.AddDayReadings(19001, 0, 1);   // ... and the next
  p.AddDayReadings(19000, -1, 5);  // a node not in nodes.csv
  p.AddBytesRead(64);
  p.AddCounterResets(2);
  p.NotePeakRss(1000);
  return p;
}

PassPartial RankB() {
  PassPartial p;
  p.AddRunPart(7, 3, {0.25, 2, true}, 0.125);
  p.AddNodePart(1, Values({6, 7}));
  p.AddTypeValues(0, Values({6, 7}));
  p.AddReadings(2);
  p.AddDayReadings(19001, 0, 2);  // node 1's second half, on day 19001
  p.AddBytesRead(32);
  p.AddCounterResets(1);
  p.NotePeakRss(3000);
  return p;
}

TEST(PassPartial, SumsARunsPartsInUnitOrder) {
  PassPartial p = RankA();
  p.Merge(RankB());
  std::vector<integrate::RunIntegral> integrals;
  std::vector<bool> integrated;
  std::vector<double> carbon;
  p.SumRuns(8, &integrals, &integrated, &carbon);
  EXPECT_DOUBLE_EQ(integrals[7].energy_j, 100.25);  // 100 + 0.25
  EXPECT_DOUBLE_EQ(carbon[7], 0.625);               // 0.5 + 0.125
  EXPECT_EQ(carbon[3], 0.0);
  EXPECT_EQ(integrals[7].samples, 5);
  EXPECT_TRUE(integrals[7].has_zero);
  EXPECT_TRUE(integrated[3] && integrated[7]);
  EXPECT_FALSE(integrated[0]);
  EXPECT_EQ(p.readings(), 6);
  EXPECT_EQ(p.bytes_read(), 96);
  EXPECT_EQ(p.peak_rss(), 3000);
  // The split node's counts merge exactly: 5, 6, 6, 7.
  EXPECT_EQ(p.node_parts().at(1).total(), 4);
  EXPECT_EQ(p.node_parts().at(1).CountEqual(6), 2);
  EXPECT_EQ(p.type_values()[0].total(), 6);
  // Readings per (day, type): day 19001 of type 0 has both ranks' parts.
  const DayTypeCounts expected = {{{19000, -1}, 5}, {{19000, 0}, 3}, {{19001, 0}, 3}};
  EXPECT_EQ(p.day_type_readings(), expected);
}

TEST(PassPartial, DayCountsOfOneDayAddUp) {
  PassPartial p;
  for (int i = 0; i < 1000; ++i) p.AddDayReadings(20000, 1, 1);
  ASSERT_EQ(p.day_type_readings().size(), 1u);  // one count, not one entry per reading
  EXPECT_EQ(p.day_type_readings().at({20000, 1}), 1000);
}

TEST(PassPartial, MergeOrderDoesNotChangeTheResult) {
  PassPartial ab = RankA();
  ab.Merge(RankB());
  PassPartial ba = RankB();
  ba.Merge(RankA());
  std::vector<integrate::RunIntegral> x, y;
  std::vector<bool> xi, yi;
  ab.SumRuns(8, &x, &xi);
  ba.SumRuns(8, &y, &yi);
  for (std::size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(x[i].energy_j, y[i].energy_j);  // bit for bit: parts are summed in (run, unit) order
    EXPECT_EQ(x[i].samples, y[i].samples);
    EXPECT_EQ(xi[i], yi[i]);
  }
  EXPECT_EQ(ab.node_parts().at(1).Sorted(), ba.node_parts().at(1).Sorted());
  EXPECT_EQ(ab.type_values()[0].Sorted(), ba.type_values()[0].Sorted());
  EXPECT_EQ(ab.day_type_readings(), ba.day_type_readings());
  EXPECT_EQ(ab.counter_resets(), 3);
}

TEST(PassPartial, PackAndUnpackRoundTrip) {
  const PassPartial a = RankA();
  const std::vector<char> bytes = a.Pack();
  const PassPartial b = PassPartial::Unpack(bytes.data(), bytes.size());
  EXPECT_EQ(b.Pack(), bytes);
  ASSERT_EQ(b.whole_nodes().size(), 1u);
  EXPECT_EQ(b.whole_nodes()[0].node, "n0");
  EXPECT_EQ(b.whole_nodes()[0].quantiles, (std::vector<double>{1.0, 2.0}));
  EXPECT_EQ(b.node_parts().at(1).Sorted(), a.node_parts().at(1).Sorted());
  std::vector<integrate::RunIntegral> integrals;
  std::vector<bool> integrated;
  std::vector<double> carbon;
  b.SumRuns(8, &integrals, &integrated, &carbon);
  EXPECT_EQ(carbon[7], 0.5);  // the run's carbon travels with its part
  EXPECT_EQ(b.day_type_readings(), a.day_type_readings());
  EXPECT_EQ(b.day_type_readings().at({19000, -1}), 5);
  EXPECT_EQ(b.counter_resets(), 2);
}

// A partial's records as text, field by field (Pack() would also compare
// the structs' padding bytes, which no copy need keep).
std::string Describe(PassPartial& p) {
  std::string out;
  for (const auto& j : p.mutable_account()->job_parts()) {
    out += "job " + std::to_string(j.job) + " " + std::to_string(j.node) + " " + std::to_string(j.month) + " " +
           std::to_string(j.unit) + " " + std::to_string(j.energy_j) + " " + std::to_string(j.share_s) + " " +
           std::to_string(j.carbon_g) + " " + std::to_string(j.samples) + "\n";
  }
  for (const auto& n : p.mutable_account()->node_parts()) {
    out += "node " + std::to_string(n.node) + " " + std::to_string(n.unit) + " " + std::to_string(n.metered_j) + " " +
           std::to_string(n.job_j) + " " + std::to_string(n.readings) + "\n";
  }
  std::vector<integrate::RunIntegral> integrals;
  std::vector<bool> integrated;
  std::vector<double> carbon;
  p.SumRuns(8, &integrals, &integrated, &carbon);
  for (std::size_t i = 0; i < 8; ++i)
    out += "run " + std::to_string(integrals[i].energy_j) + " " + std::to_string(carbon[i]) + "\n";
  for (const auto& [key, n] : p.day_type_readings()) out += "day " + std::to_string(n) + "\n";
  return out + std::to_string(p.readings()) + " " + std::to_string(p.whole_nodes().size());
}

// A rank's partial with three job parts (jobs first_job...) and a node part.
PassPartial WithJobs(PassPartial p, std::uint32_t first_job) {
  for (std::uint32_t j = first_job; j < first_job + 3; ++j)
    p.mutable_account()->AddJobPart({j, 1, 0, j, 10.0 * j, 0.5, 0.25, 0, 4, 0});
  p.mutable_account()->AddNodePart({1, 0, first_job, 0, 99.0, 30.0, 0, 4});
  return p;
}

// The reduction merges from the bytes (ReduceToRoot calls MergePacked):
// the same partial, job parts in the same order, as Merge(Unpack(...)).
TEST(PassPartial, MergingFromTheBytesEqualsMergingTheUnpackedPartial) {
  const PassPartial b = WithJobs(RankB(), 10);
  const std::vector<char> bytes = b.Pack();
  PassPartial from_bytes = WithJobs(RankA(), 1);
  from_bytes.MergePacked(bytes.data(), bytes.size());
  PassPartial unpacked = WithJobs(RankA(), 1);
  unpacked.Merge(PassPartial::Unpack(bytes.data(), bytes.size()));
  EXPECT_EQ(Describe(from_bytes), Describe(unpacked));
  std::vector<std::uint32_t> jobs;
  for (const auto& part : from_bytes.mutable_account()->job_parts()) jobs.push_back(part.job);
  EXPECT_EQ(jobs, (std::vector<std::uint32_t>{1, 2, 3, 10, 11, 12}));  // this rank's, then the other's
  EXPECT_EQ(from_bytes.mutable_account()->node_parts().size(), 2u);
  EXPECT_EQ(from_bytes.readings(), 6);
  // Into an empty partial (one rank had no parts): exactly the other's.
  PassPartial empty;
  empty.MergePacked(bytes.data(), bytes.size());
  PassPartial other = b;
  EXPECT_EQ(Describe(empty), Describe(other));
  EXPECT_THROW(empty.MergePacked(bytes.data(), bytes.size() - 1), Error);
}

// ReduceToRoot sends the job parts apart (BulkRecords::kApart): packed
// without them, then written after the root's through BulkRoom, the partial
// is the one MergePacked makes of the whole bytes.
TEST(PassPartial, JobPartsSentApartMergeAsIfPacked) {
  const PassPartial b = WithJobs(RankB(), 10);
  const std::vector<char> whole = b.Pack();
  PassPartial packed = WithJobs(RankA(), 1);
  packed.MergePacked(whole.data(), whole.size());

  const std::vector<char> small = b.Pack(BulkRecords::kApart);
  EXPECT_LT(small.size(), whole.size());
  const std::span<const char> bulk = b.BulkBytes();
  EXPECT_EQ(bulk.size(), 3 * sizeof(account::JobPart));
  PassPartial apart = WithJobs(RankA(), 1);
  std::memcpy(apart.BulkRoom(bulk.size()), bulk.data(), bulk.size());  // what MPI does
  apart.MergePacked(small.data(), small.size(), BulkRecords::kApart);
  EXPECT_EQ(Describe(apart), Describe(packed));
  EXPECT_THROW(apart.BulkRoom(sizeof(account::JobPart) + 1), Error);  // not a whole part
  // Bytes that hold job parts are not taken for bytes without them.
  PassPartial wrong;
  EXPECT_THROW(wrong.MergePacked(whole.data(), whole.size(), BulkRecords::kApart), Error);
}

TEST(PassPartial, ATruncatedBufferIsAnErrorNotACrash) {
  const std::vector<char> bytes = RankA().Pack();
  for (std::size_t cut : {std::size_t{0}, std::size_t{5}, bytes.size() / 2, bytes.size() - 1}) {
    EXPECT_THROW(PassPartial::Unpack(bytes.data(), cut), Error) << cut;
  }
}

}  // namespace
}  // namespace wattrun::pass
