#include "stages/join/join.h"

#include <gtest/gtest.h>

namespace wattrun::join {
namespace {

constexpr TimeMs S = 1000;

RunRecord MakeRun(const std::string& job, const std::string& host, TimeMs start, TimeMs end) {
  RunRecord r;
  r.run_id = job + host;
  r.slurm_job_id = job;
  r.host_name = host;
  r.start = start;
  r.update = end;
  return r;
}

TEST(Join, StatusesInTheSpecsOrder) {
  std::vector<NodeRecord> nodes(3);
  nodes[0].name = "r1i0n1";
  nodes[0].node_type = "cpu1";
  nodes[1].name = "r1i0n2";
  nodes[1].node_type = "cpu1";
  nodes[2].name = "odd";  // no configured type
  std::vector<JobRecord> jobs(3);
  jobs[0] = {"100", "r1i0n[1-2]", 1000 * S, 5000 * S, "COMPLETED", true};
  jobs[1] = {"200_3", "r1i0n1", 1000 * S, std::nullopt, "RUNNING", true};
  jobs[2] = {"300", "r1i0n2", 1000 * S, 2000 * S, "COMPLETED", true};

  std::vector<RunRecord> runs;
  runs.push_back(MakeRun("100", "r1i0n1", 1100 * S, 1200 * S));          // ok
  runs.push_back(MakeRun("100", "r1i0n1", 1100 * S, 1200 * S));
  runs.back().bad_reason = "bad_time";                               // bad_run_row
  runs.push_back(MakeRun("100", "r1i0n1", 1200 * S, 1100 * S));
  runs.back().bad_reason = "negative_window";                        // bad_window
  runs.push_back(MakeRun("100", "nowhere", 1100 * S, 1200 * S));         // unknown_node
  runs.push_back(MakeRun("100", "odd", 1100 * S, 1200 * S));             // unknown_node (untyped)
  runs.push_back(MakeRun("999", "r1i0n1", 1100 * S, 1200 * S));          // no_job
  runs.push_back(MakeRun("300", "r1i0n1", 1100 * S, 1200 * S));          // host_not_in_job
  runs.push_back(MakeRun("100", "r1i0n2", 940 * S, 1200 * S));           // 60 s early: inside tolerance
  runs.push_back(MakeRun("100", "r1i0n2", 939 * S, 1200 * S));           // outside_job_window
  runs.push_back(MakeRun("100", "r1i0n2", 1100 * S, 5061 * S));          // outside_job_window
  runs.push_back(MakeRun("200_3", "r1i0n1", 1100 * S, 99999 * S));       // job_running
  runs.push_back(MakeRun("200_3", "r1i0n1", 100 * S, 200 * S));          // outside (start is checked)
  const auto joined = JoinRuns(runs, jobs, nodes, {});
  const std::vector<RunStatus> expected{
      RunStatus::kOk,          RunStatus::kBadRunRow,        RunStatus::kBadWindow,        RunStatus::kUnknownNode,
      RunStatus::kUnknownNode, RunStatus::kNoJob,            RunStatus::kHostNotInJob,     RunStatus::kOk,
      RunStatus::kOutsideJobWindow, RunStatus::kOutsideJobWindow, RunStatus::kJobRunning, RunStatus::kOutsideJobWindow};
  ASSERT_EQ(joined.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(joined[i].status, expected[i]) << "run " << i << ": got " << StatusName(joined[i].status);
  }
  EXPECT_EQ(joined[0].node, 0);
  EXPECT_EQ(joined[0].node_type, "cpu1");
  // A bad window on a known host: not joined to the node, but its type is known.
  EXPECT_EQ(joined[2].node, -1);
  EXPECT_EQ(joined[2].node_type, "cpu1");
}

TEST(Join, BadWindowOnAnUnknownHostHasNoType) {
  std::vector<NodeRecord> nodes(1);
  nodes[0].name = "n1";
  nodes[0].node_type = "cpu1";
  std::vector<RunRecord> runs{MakeRun("1", "elsewhere", 2000 * S, 1000 * S)};
  const auto joined = JoinRuns(runs, {}, nodes, {});
  EXPECT_EQ(joined[0].status, RunStatus::kBadWindow);
  EXPECT_EQ(joined[0].node_type, "");
}

}  // namespace
}  // namespace wattrun::join
