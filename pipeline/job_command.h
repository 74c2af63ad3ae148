// `wattrun job`: one Slurm job's energy from a results directory, like
// `seff` for energy: state, window, nodes with each node's share, energy with
// its idle and dynamic parts, samples, missing telemetry, carbon, and Slurm's
// own ConsumedEnergy beside wattrun's. `--json` prints the same for scripts.
#pragma once

#include <string>
#include <vector>

#include "core/mpi.h"
#include "stages/results/results.h"

namespace wattrun::pipeline {

struct JobArgs {
  std::string output;                // results directory of `wattrun run`
  std::vector<std::string> job_ids;  // sacct ids: 123, 123_4, 123+0
  bool json = false;
};

// The rows of `jobs` for each id, in the order asked (a requeued job's
// attempts in sacct order). An id matches its rows exactly; an id with no
// row of its own ("123") matches its array tasks and het components
// ("123_4", "123+0"). Throws Error naming every id that matches nothing.
std::vector<std::size_t> FindJobs(const results::PipelineResults& r, const std::vector<std::string>& job_ids,
                                  const std::string& where);

// The report of the rows, as text or as a JSON array of objects.
std::string DescribeJobs(const results::PipelineResults& r, const std::vector<std::size_t>& rows);
std::string JobsJson(const results::PipelineResults& r, const std::vector<std::size_t>& rows);

// Reads OUTPUT/results.h5 (a clear error when there is none) and prints.
int JobCommand(const JobArgs& args, const Comm& comm);

}  // namespace wattrun::pipeline
