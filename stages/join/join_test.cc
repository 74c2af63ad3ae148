#include "stages/join/join.h"

#include <gtest/gtest.h>

namespace wattrun::join {
namespace {

constexpr TimeUs S = kMicrosPerSecond;

RunRecord MakeRun(const std::string& job, const std::string& host, TimeUs start, TimeUs end) {
  RunRecord r;
  r.run_id = job + host;
  r.slurm_job_id = job;
  r.host_name = host;
  r.start = start;
  r.update = end;
  return r;
}

JobRecord MakeJob(const std::string& id, const std::string& nodes, TimeUs start, std::optional<TimeUs> end,
                  const std::string& state) {
  JobRecord j;
  j.job_id = id;
  j.node_list = nodes;
  j.start = start;
  j.end = end;
  j.state = state;
  return j;
}

TEST(Join, StatusesInTheSpecsOrder) {
  std::vector<NodeRecord> nodes(3);
  nodes[0].name = "r1i0n1";
  nodes[0].node_type = "cpu1";
  nodes[1].name = "r1i0n2";
  nodes[1].node_type = "cpu1";
  nodes[2].name = "odd";  // no configured type
  std::vector<JobRecord> jobs(3);
  jobs[0] = MakeJob("100", "r1i0n[1-2]", 1000 * S, 5000 * S, "COMPLETED");
  jobs[1] = MakeJob("200_3", "r1i0n1", 1000 * S, std::nullopt, "RUNNING");
  jobs[2] = MakeJob("300", "r1i0n2", 1000 * S, 2000 * S, "COMPLETED");

  std::vector<RunRecord> runs;
  runs.push_back(MakeRun("100", "r1i0n1", 1100 * S, 1200 * S));  // ok
  runs.push_back(MakeRun("100", "r1i0n1", 1100 * S, 1200 * S));
  runs.back().bad_reason = "bad_time";  // bad_run_row
  runs.push_back(MakeRun("100", "r1i0n1", 1200 * S, 1100 * S));
  runs.back().bad_reason = "negative_window";                       // bad_window
  runs.push_back(MakeRun("100", "nowhere", 1100 * S, 1200 * S));    // unknown_node
  runs.push_back(MakeRun("100", "odd", 1100 * S, 1200 * S));        // unknown_node (untyped)
  runs.push_back(MakeRun("999", "r1i0n1", 1100 * S, 1200 * S));     // no_job
  runs.push_back(MakeRun("300", "r1i0n1", 1100 * S, 1200 * S));     // host_not_in_job
  runs.push_back(MakeRun("100", "r1i0n2", 940 * S, 1200 * S));      // 60 s early: inside tolerance
  runs.push_back(MakeRun("100", "r1i0n2", 939 * S, 1200 * S));      // outside_job_window
  runs.push_back(MakeRun("100", "r1i0n2", 1100 * S, 5061 * S));     // outside_job_window
  runs.push_back(MakeRun("200_3", "r1i0n1", 1100 * S, 99999 * S));  // job_running
  runs.push_back(MakeRun("200_3", "r1i0n1", 100 * S, 200 * S));     // outside (start is checked)
  const auto joined = JoinRuns(runs, jobs, nodes, {});
  const std::vector<RunStatus> expected{RunStatus::kOk,
                                        RunStatus::kBadRunRow,
                                        RunStatus::kBadWindow,
                                        RunStatus::kUnknownNode,
                                        RunStatus::kUnknownNode,
                                        RunStatus::kNoJob,
                                        RunStatus::kHostNotInJob,
                                        RunStatus::kOk,
                                        RunStatus::kOutsideJobWindow,
                                        RunStatus::kOutsideJobWindow,
                                        RunStatus::kJobRunning,
                                        RunStatus::kOutsideJobWindow};
  ASSERT_EQ(joined.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(joined[i].status, expected[i]) << "run " << i << ": got " << StatusName(joined[i].status);
  }
  EXPECT_EQ(joined[0].node, 0);
  EXPECT_EQ(joined[0].node_type, "cpu1");
  // A bad window on a known host: not joined to the node, but its type is known.
  EXPECT_EQ(joined[2].node, -1);
  EXPECT_EQ(joined[2].node_type, "cpu1");
  EXPECT_EQ(joined[0].job, 0);
  EXPECT_EQ(joined[5].job, -1);  // no_job
  EXPECT_EQ(joined[10].job, 1);
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

// A requeued job's attempts (and a cron job's runs) share one JobID: each
// run joins the attempt whose window holds it, whatever the attempts' order.
TEST(Join, RunJoinsTheAttemptWhoseWindowHoldsIt) {
  std::vector<NodeRecord> nodes(2);
  nodes[0].name = "n1";
  nodes[0].node_type = "cpu1";
  nodes[1].name = "n2";
  nodes[1].node_type = "cpu1";
  std::vector<JobRecord> jobs;
  jobs.push_back(MakeJob("7", "n1", 1000 * S, 2000 * S, "REQUEUED"));  // first attempt, on n1
  jobs.push_back(MakeJob("8", "n1", 1000 * S, 9000 * S, "COMPLETED"));
  jobs.push_back(MakeJob("7", "n2", 3000 * S, 4000 * S, "COMPLETED"));    // second attempt, on n2
  jobs.push_back(MakeJob("7", "n1", 5000 * S, std::nullopt, "RUNNING"));  // third, still running
  std::vector<RunRecord> runs;
  runs.push_back(MakeRun("7", "n1", 1100 * S, 1900 * S));  // ok in attempt 0
  runs.push_back(MakeRun("7", "n2", 3100 * S, 3900 * S));  // ok in attempt 2
  runs.push_back(MakeRun("7", "n1", 5100 * S, 5200 * S));  // job_running, attempt 3
  runs.push_back(MakeRun("7", "n2", 1100 * S, 1900 * S));  // n2 only in attempt 2, outside its window
  runs.push_back(MakeRun("7", "n1", 2500 * S, 2600 * S));  // between the attempts on n1
  nodes.resize(3);
  nodes[2].name = "n3";
  nodes[2].node_type = "cpu1";
  runs.push_back(MakeRun("7", "n3", 1100 * S, 1900 * S));  // in no attempt's hosts
  const auto joined = JoinRuns(runs, jobs, nodes, {});
  ASSERT_EQ(joined.size(), runs.size());
  EXPECT_EQ(joined[0].status, RunStatus::kOk);
  EXPECT_EQ(joined[0].job, 0);
  EXPECT_EQ(joined[1].status, RunStatus::kOk);
  EXPECT_EQ(joined[1].job, 2);
  EXPECT_EQ(joined[2].status, RunStatus::kJobRunning);
  EXPECT_EQ(joined[2].job, 3);
  EXPECT_EQ(joined[3].status, RunStatus::kOutsideJobWindow);
  EXPECT_EQ(joined[3].job, 2);
  EXPECT_EQ(joined[4].status, RunStatus::kOutsideJobWindow);
  EXPECT_EQ(joined[4].job, 0);  // the first of equally close attempts
  EXPECT_EQ(joined[5].status, RunStatus::kHostNotInJob);
  EXPECT_EQ(joined[5].job, 0);

  // The same attempts in reverse order: the same attempts are joined.
  std::vector<JobRecord> reversed(jobs.rbegin(), jobs.rend());
  const auto again = JoinRuns(runs, reversed, nodes, {});
  EXPECT_EQ(again[0].status, RunStatus::kOk);
  EXPECT_EQ(again[0].job, 3);  // jobs[0] is reversed[3]
  EXPECT_EQ(again[1].job, 1);
  EXPECT_EQ(again[2].status, RunStatus::kJobRunning);
  EXPECT_EQ(again[2].job, 0);
}

// Ten of fourteen runs whose jobs' windows read `shift_h` hours late (sacct
// written in a zone that many hours east), four whose jobs are right.
struct ShiftCase {
  std::vector<NodeRecord> nodes;
  std::vector<JobRecord> jobs;
  std::vector<RunRecord> runs;
};
ShiftCase MakeShiftCase(int shifted_runs, int right_runs, int shift_h) {
  constexpr TimeUs H = 3600 * S;
  ShiftCase c;
  c.nodes.resize(1);
  c.nodes[0].name = "n1";
  c.nodes[0].node_type = "cpu1";
  for (int i = 0; i < shifted_runs + right_runs; ++i) {
    const TimeUs t = (100 + 10 * i) * H;  // the job's true start
    const TimeUs read_as = i < shifted_runs ? t + shift_h * H : t;
    const std::string id = std::to_string(1000 + i);
    c.jobs.push_back(MakeJob(id, "n1", read_as, read_as + H, "COMPLETED"));
    c.runs.push_back(MakeRun(id, "n1", t + 300 * S, t + 3300 * S));
  }
  return c;
}

TEST(ZoneShift, TenOfFourteenRunsOneHourLateAreNamedWithTheKeyToCheck) {
  const ShiftCase c = MakeShiftCase(10, 4, 1);
  const auto joined = JoinRuns(c.runs, c.jobs, c.nodes, {});
  for (int i = 0; i < 14; ++i) EXPECT_EQ(joined[i].status, i < 10 ? RunStatus::kOutsideJobWindow : RunStatus::kOk);
  const auto shift = DetectZoneShift(c.runs, c.jobs, joined, {});
  ASSERT_TRUE(shift.has_value());
  EXPECT_EQ(shift->hours, 1);
  EXPECT_EQ(shift->shifted, 10);
  EXPECT_EQ(shift->outside, 10);
  EXPECT_EQ(shift->joined, 14);
  EXPECT_EQ(ZoneShiftWarning(*shift, "America/Denver"),
            "10 of 14 runs fall outside their Slurm job by +1 h (their job windows read 1 h late); sacct looks "
            "exported in another time zone than scheduler.timezone (America/Denver): check scheduler.timezone or "
            "the SLURM_TIME_FORMAT/TZ sacct ran with");
  // The statuses stay what the join said.
  EXPECT_EQ(JoinRuns(c.runs, c.jobs, c.nodes, {})[0].status, RunStatus::kOutsideJobWindow);
}

TEST(ZoneShift, NegativeShiftOfSevenHours) {
  const ShiftCase c = MakeShiftCase(5, 0, -7);  // sacct in UTC read as America/Denver (MST)
  const auto shift = DetectZoneShift(c.runs, c.jobs, JoinRuns(c.runs, c.jobs, c.nodes, {}), {});
  ASSERT_TRUE(shift.has_value());
  EXPECT_EQ(shift->hours, -7);
  EXPECT_EQ(shift->shifted, 5);
  EXPECT_NE(ZoneShiftWarning(*shift, "UTC").find("by -7 h (their job windows read 7 h early)"), std::string::npos);
}

TEST(ZoneShift, TooFewOrNoMajorityGivesNoWarning) {
  const ShiftCase two = MakeShiftCase(2, 12, 1);  // two runs agree: below 3
  EXPECT_FALSE(DetectZoneShift(two.runs, two.jobs, JoinRuns(two.runs, two.jobs, two.nodes, {}), {}).has_value());
  // Three agree on +1 h, four outside runs fit no whole hour: not half.
  ShiftCase mixed = MakeShiftCase(3, 4, 1);
  for (int i = 3; i < 7; ++i) mixed.runs[i].update += 2 * 3600 * S;  // longer than its job
  const auto joined = JoinRuns(mixed.runs, mixed.jobs, mixed.nodes, {});
  EXPECT_EQ(joined[6].status, RunStatus::kOutsideJobWindow);
  EXPECT_FALSE(DetectZoneShift(mixed.runs, mixed.jobs, joined, {}).has_value());
  // No outside runs at all.
  const ShiftCase right = MakeShiftCase(0, 5, 1);
  EXPECT_FALSE(
      DetectZoneShift(right.runs, right.jobs, JoinRuns(right.runs, right.jobs, right.nodes, {}), {}).has_value());
}

}  // namespace
}  // namespace wattrun::join
