// The expected facility accounting (spec section 4) of every sacct
// allocation of a synthetic facility, computed from the generating series
// (NodeSeries: the clean readings, lost minutes and 0 W readings included,
// before any file dirt; dirt does not change what the ingest keeps).
//
// Definitions (truth/jobs_energy.csv, one row per allocation line in sacct
// order: month files in path order, lines by JobIDRaw then het offset):
//   window      [Start, End]; a running job (End Unknown) ends at the last
//               reading instant over all nodes (the store's end).
//   weight      on each node of the list: cpu= of AllocTRES, else AllocCPUS,
//               divided by the number of nodes in the list (unknown ones
//               included), else the node's CPUS (a whole node).
//   W_h(t)      linear between consecutive readings of node h (step rule:
//               w_i on [t_i, t_i+1) when pipeline.integration is step),
//               defined only from the node's first to its last reading.
//   energy      sum over known nodes of the integral over the window of
//               W_h(t) * w_j / max(CPUS_h, sum of the weights of the jobs
//               whose window holds t). Computed exactly: the integrand is
//               split at every reading, at every job start/end on the node
//               and at every carbon-intensity row, and each piece is a
//               trapezoid (W linear, share constant).
//   idle_energy sum over nodes of P_idle[type] * (integral of the share over
//               the same time as energy); P_idle is the truth's idle power
//               (truth/idle_power.csv, pooled or median_of_nodes per config).
//   carbon_g    sum over pieces of energy * g_per_kwh / 3.6e6 * pue.
//   samples     readings with Start <= t <= End, summed over nodes.
//   missing_s   seconds of the window, summed over known nodes, farther than
//               one sampling interval from any reading of that node.
//   status      not_started, unknown_node, running, missing_all (no reading
//               on any node in the window), missing_some (a node with fewer
//               than (End-Start)/interval - 1 readings), zero_watts, ok.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "stages/generate/plan.h"

namespace wattrun::generate {

struct JobTruth {
  int job = -1;  // index into Plan::jobs
  std::string status;
  bool has_numbers = false;  // false for not_started
  bool has_start = false;
  bool has_end = false;
  TimeMs start_ms = 0;
  TimeMs end_ms = 0;
  std::int64_t nodes = 0;       // expanded list, unknown nodes included
  std::int64_t alloc_cpus = 0;  // the count used (whole nodes: sum of CPUS)
  double run_time_s = 0.0;
  std::int64_t samples = 0;
  double missing_s = 0.0;
  double energy_j = 0.0;
  std::vector<double> share_s_by_type;  // integral of the share, per node type
  double carbon_g = 0.0;
  std::string slurm_energy;  // ConsumedEnergyRaw as written
};

struct JobAccounting {
  std::vector<JobTruth> rows;   // sacct order
  std::vector<int> row_of_job;  // Plan::jobs index -> row
  TimeMs store_first_ms = 0;
  TimeMs store_last_ms = 0;
};

// The order of the allocation lines in sacct/*.txt (indices into Plan::jobs).
std::vector<int> SacctOrder(const Plan& plan);
// The sacct month file ("YYYY-MM", scheduler local calendar) of a job.
std::string SacctMonth(const Plan& plan, const PlanJob& job);

JobAccounting ComputeJobAccounting(const Plan& plan);

}  // namespace wattrun::generate
