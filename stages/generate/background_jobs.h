// The facility's other users, for facility accounting (spec section 4):
// a small set of users and accounts, shared-node jobs (several jobs on one
// node, their CPUs summing below and at times above the node's CPUS),
// jobs that never started, one job naming a node missing from nodes.csv,
// the allocation columns sacct writes (AllocCPUS, AllocTRES) for every job,
// and the hourly carbon intensity of the grid.
//
// The power of a shared node is idle plus the sum of its running jobs'
// loads (clipped at a plausible maximum): one busy segment per stretch of
// ticks with the same set of running jobs, so writing telemetry costs the
// same per reading as for an exclusive job.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "stages/generate/plan.h"

namespace wattrun::generate {

// The builder's view of node occupancy (jobs keep a guard time apart).
struct PlacementHooks {
  std::function<bool(int node, TimeMs start, TimeMs end)> free;
  std::function<void(int node, TimeMs start, TimeMs end)> occupy;
  std::function<bool(TimeMs t)> scheduler_time_ok;  // local time reads back as t
};

// User of a draw in 1..400, and the account a draw in 1..60 picks among
// that user's accounts (each user works for one to three projects).
std::string FacilityUser(std::int64_t draw);
std::string FacilityAccount(const std::string& user, std::int64_t draw);

// Shared-node blocks on CPU nodes (about 2 % of the CPU node time) filled
// with overlapping few-CPU jobs; every third block oversubscribes its node
// at some instant. Returns the number of jobs added.
std::int64_t AddSharedNodeJobs(Plan* plan, const PlacementHooks& hooks);
// Jobs pending at the export or cancelled before they started (about 1 % of
// the jobs), and (dirty plans) one two-node job whose second node is not in
// nodes.csv.
void AddUnstartedJobs(Plan* plan, const PlacementHooks& hooks);
void AddUnknownNodeJob(Plan* plan, const PlacementHooks& hooks);

// Sets alloc_cpus / tres_cpus of every job not set yet (exclusive jobs: the
// nodes' CPUS; a few with AllocTRES empty, fewer with neither column).
void AssignAllocations(Plan* plan);
// Busy segments of the shared nodes, added to the nodes' series.
void AddSharedNodeSeries(Plan* plan);
// AllocTRES as Slurm writes it: "billing=36,cpu=36,mem=85G,node=1" (GPU
// jobs add ",gres/gpu:v100=2,gres/gpu=2"); empty when tres_cpus is 0.
std::string AllocTres(const Plan& plan, const PlanJob& job, bool step);

// Hourly intensity over the window: a daily cycle between about 300 and
// 600 g/kWh with day-to-day and hourly noise.
std::vector<std::pair<TimeMs, double>> CarbonIntensitySeries(const Plan& plan);

}  // namespace wattrun::generate
