// `wattrun job` reads a results directory written by WriteResults and shows
// each job asked for: every attempt of a requeued job, array tasks and het
// components by their sacct ids, per-node shares, Slurm's energy beside ours;
// --json the same as an array; unknown ids and missing results.h5 are errors.
#include "pipeline/job_command.h"

#include <gtest/gtest.h>
#include <mpi.h>

#include <filesystem>
#include <string>

#include "core/error.h"
#include "core/time.h"
#include "tests/test_util.h"

namespace wattrun::pipeline {
namespace {
namespace fs = std::filesystem;

// A fresh directory, removed when the test ends (also when it fails).
testing_util::ScratchDir TempDir(const std::string& name) { return testing_util::ScratchDir("wattrun_job_" + name); }

constexpr TimeUs kStart = FromSeconds(1636248600);  // 2021-11-07T01:30:00Z

results::JobRow Job(const std::string& id, const std::string& state, TimeUs start, double hours, double energy_j) {
  results::JobRow j;
  j.job_id = id;
  j.user = "alice";
  j.account = "ml-lab";
  j.partition = "standard";
  j.state = state;
  j.status = "ok";
  j.node_list = "r1i0n1";
  j.start = start;
  j.end = start + static_cast<TimeUs>(hours * static_cast<double>(kMicrosPerHour));
  j.nodes = 1;
  j.alloc_cpus = 36;
  j.run_time_s = hours * 3600;
  j.node_hours = hours;
  j.samples = static_cast<std::int64_t>(hours * 60);
  j.missing_s = 0;
  j.energy_j = energy_j;
  j.idle_energy_j = energy_j / 4;
  j.dynamic_energy_j = energy_j * 3 / 4;
  j.carbon_g = energy_j / 3.6e6 * 475;
  return j;
}

// Jobs: 123 requeued (two attempts), the array task 200_4 on half of two
// nodes, the het job 300 (+0, +1), 400 never started.
results::PipelineResults Results() {
  results::PipelineResults r;
  r.jobs.push_back(Job("123", "NODE_FAIL", kStart, 1, 3.6e6));
  r.jobs.push_back(Job("123", "COMPLETED", kStart + 2 * kMicrosPerHour, 2, 7.2e6));
  results::JobRow task = Job("200_4", "CANCELLED by 1234", kStart, 1, 1.8e6);
  task.node_list = "r1i0n[2-3]";
  task.nodes = 2;
  task.node_hours = 2;
  task.samples = 118;
  task.missing_s = 120;
  task.slurm_energy_j = 1.62e6;  // 0.9 of ours
  task.account = "a\"b\\c\x01";  // escaped in JSON
  r.jobs.push_back(task);
  r.job_nodes.push_back({2, "r1i0n2", "cpu1", 18, 36, 60, 0, 1e6, 2.5e5});
  r.job_nodes.push_back({2, "r1i0n3", "", 18, 0, 58, 120, 8e5, 2e5});
  r.jobs.push_back(Job("300+0", "COMPLETED", kStart, 1, 1e6));
  r.jobs.push_back(Job("300+1", "COMPLETED", kStart, 1, 2e6));
  results::JobRow pending;
  pending.job_id = "400";
  pending.state = "PENDING";
  pending.status = "not_started";
  pending.node_list = "None assigned";
  r.jobs.push_back(pending);
  return r;
}

testing_util::ScratchDir WriteResultsDir(const std::string& name) {
  testing_util::ScratchDir dir = TempDir(name);
  results::WriteResults(Results(), dir.path().string());
  return dir;
}

// The command's output, or "error: <message>".
std::string RunJob(const fs::path& dir, const std::vector<std::string>& ids, bool json) {
  const Comm comm(MPI_COMM_SELF);
  JobArgs args{dir.string(), ids, json};
  ::testing::internal::CaptureStdout();
  try {
    JobCommand(args, comm);
  } catch (const std::exception& e) {
    ::testing::internal::GetCapturedStdout();
    return std::string("error: ") + e.what();
  }
  std::fflush(stdout);
  return ::testing::internal::GetCapturedStdout();
}

std::size_t Count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

TEST(JobCommand, ShowsAnArrayTaskWithItsNodesEnergyAndSlurmsEnergy) {
  const std::string out = RunJob(WriteResultsDir("text").path(), {"200_4"}, false);
  EXPECT_NE(out.find("Job ID:        200_4\n"), std::string::npos) << out;
  EXPECT_NE(out.find("State:         CANCELLED by 1234 (status ok)"), std::string::npos) << out;
  EXPECT_NE(out.find("Window:        2021-11-07T01:30:00Z .. 2021-11-07T02:30:00Z (3600 s, 1 h)"), std::string::npos)
      << out;
  EXPECT_NE(out.find("Nodes:         2 (r1i0n[2-3]), 36 CPUs, 2 node hours"), std::string::npos) << out;
  EXPECT_NE(out.find("18/36 CPUs (50.0 %)"), std::string::npos) << out;
  EXPECT_NE(out.find("18 CPUs (node not in nodes.csv)"), std::string::npos) << out;
  EXPECT_NE(out.find("Energy:        1.8e+06 J (0.5 kWh)"), std::string::npos) << out;
  EXPECT_NE(out.find("idle:        450000 J (0.125 kWh) (25.0 %)"), std::string::npos) << out;
  EXPECT_NE(out.find("dynamic:     1.35e+06 J (0.375 kWh) (75.0 %)"), std::string::npos) << out;
  EXPECT_NE(out.find("Samples:       118, missing 120 s"), std::string::npos) << out;
  EXPECT_NE(out.find("Carbon:        237.5 g CO2e"), std::string::npos) << out;
  EXPECT_NE(out.find("Slurm energy:  1.62e+06 J (0.45 kWh), Slurm / wattrun 0.900"), std::string::npos) << out;
}

TEST(JobCommand, EveryAttemptHetComponentsAndAJobThatNeverStarted) {
  const auto scratch = WriteResultsDir("attempts");
  const fs::path& dir = scratch.path();
  const std::string requeued = RunJob(dir, {"123"}, false);
  EXPECT_NE(requeued.find("Job ID:        123 (attempt 1 of 2)"), std::string::npos) << requeued;
  EXPECT_NE(requeued.find("Job ID:        123 (attempt 2 of 2)"), std::string::npos) << requeued;
  EXPECT_LT(requeued.find("NODE_FAIL"), requeued.find("COMPLETED"));
  EXPECT_NE(requeued.find("Slurm energy:  not recorded"), std::string::npos);
  // "300" has no row of its own: its components are shown.
  const std::string het = RunJob(dir, {"300"}, false);
  EXPECT_EQ(Count(het, "Job ID:"), 2u) << het;
  EXPECT_NE(het.find("Job ID:        300+0\n"), std::string::npos);
  EXPECT_NE(het.find("Job ID:        300+1\n"), std::string::npos);
  EXPECT_EQ(Count(RunJob(dir, {"300+1"}, false), "Job ID:"), 1u);
  const std::string pending = RunJob(dir, {"400"}, false);
  EXPECT_NE(pending.find("Window:        - .. -"), std::string::npos) << pending;
  EXPECT_NE(pending.find("Energy:        none (the job did not start)"), std::string::npos) << pending;
}

TEST(JobCommand, JsonIsAnArrayWithEscapedStringsAndNulls) {
  const std::string out = RunJob(WriteResultsDir("json").path(), {"200_4", "400", "123"}, true);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.front(), '[');
  EXPECT_EQ(out.substr(out.size() - 2), "]\n");
  EXPECT_EQ(Count(out, "\"job_id\": "), 4u) << out;
  EXPECT_NE(out.find("\"job_id\": \"200_4\", \"attempt\": 1, \"attempts\": 1"), std::string::npos) << out;
  EXPECT_NE(out.find("\"account\": \"a\\\"b\\\\c\\u0001\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"start\": \"2021-11-07T01:30:00Z\""), std::string::npos);
  EXPECT_NE(out.find("\"energy_j\": 1800000"), std::string::npos);
  EXPECT_NE(out.find("\"slurm_ratio\": 0.9"), std::string::npos) << out;
  EXPECT_NE(out.find("\"node\": \"r1i0n2\", \"node_type\": \"cpu1\", \"weight_cpus\": 18, \"node_cpus\": 36, "
                     "\"share\": 0.5"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("\"node_type\": null, \"weight_cpus\": 18, \"node_cpus\": null, \"share\": null"),
            std::string::npos);
  // The job that never started: null numbers and times, no node parts.
  const std::string pending = out.substr(out.find("\"job_id\": \"400\""));
  EXPECT_EQ(pending.find("\"start\": null, \"end\": null"), pending.find("\"start\""));
  EXPECT_NE(pending.find("\"energy_j\": null"), std::string::npos);
  EXPECT_NE(pending.find("\"node_parts\": []"), std::string::npos);
  EXPECT_NE(out.find("\"job_id\": \"123\", \"attempt\": 2, \"attempts\": 2"), std::string::npos);
}

TEST(JobCommand, UnknownJobAndMissingResultsAreClearErrors) {
  const auto scratch = WriteResultsDir("errors");
  const fs::path& dir = scratch.path();
  const std::string unknown = RunJob(dir, {"123", "999", "30"}, false);
  EXPECT_EQ(unknown.rfind("error: ", 0), 0u) << unknown;
  EXPECT_NE(unknown.find("job 999, 30 not in " + (dir / "results.h5").string()), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("6 jobs there"), std::string::npos) << unknown;
  const auto empty_dir = TempDir("no_h5");
  const fs::path& empty = empty_dir.path();
  const std::string missing = RunJob(empty, {"123"}, false);
  EXPECT_NE(missing.find((empty / "results.h5").string() + ": no such file"), std::string::npos) << missing;
  EXPECT_EQ(missing.find("HDF5"), std::string::npos) << missing;
  // Results from before facility accounting have no jobs: say so.
  const auto old_dir = TempDir("old");
  const fs::path& old = old_dir.path();
  results::WriteResults(results::PipelineResults{}, old.string());
  EXPECT_NE(RunJob(old, {"123"}, false).find("before facility accounting"), std::string::npos);
}

}  // namespace
}  // namespace wattrun::pipeline
