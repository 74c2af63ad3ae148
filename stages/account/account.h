// Facility accounting (spec sections 4-5): every Slurm job's energy, idle
// energy, carbon and missing seconds, computed while each node's telemetry
// streams by in one pass.
//
// The flow, for the pipeline:
//   AccountSetup setup = BuildAccountSetup(jobs, nodes, options);  // every rank
//   for each unit of work (a node over [from, until)) a rank owns:
//     NodeAccountant a(setup, node, from, until, unit_index);
//     a.Add(...) for the unit's readings (plus one neighbour on each side);
//     a.Finish(&partial);
//   reduce the partials (Pack / Unpack / Merge), then on one rank
//   AccountResult r = FinalizeAccount(setup, jobs, std::move(merged), idle_w_by_type, types);
// The units of one node must tile the time line (or the node has no unit at
// all: no telemetry). unit_index must be unique over all units of all nodes.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/mpi.h"
#include "core/pack.h"
#include "core/records.h"
#include "core/time.h"
#include "stages/account/calendar.h"
#include "stages/integrate/integrate.h"
#include "stages/results/results.h"

namespace wattrun::account {

struct AccountOptions {
  TimeZone zone = TimeZone::Utc();  // scheduler.timezone: months
  TimeUs sampling_interval_us = kMicrosPerMinute;
  integrate::Method integration = integrate::Method::kLinear;
  double pue = 1.0;
  double constant_g_per_kwh = 475.0;
  std::vector<CarbonIntensityRecord> intensity;  // empty: the constant holds
  // First and last instant of the store over all nodes; first > last: the
  // store has no reading (no ledger rows, every job missing).
  TimeUs store_first = 0;
  TimeUs store_last = -1;
};

// What happened before any telemetry is read.
enum class PreStatus { kStarted, kNotStarted, kUnknownNode, kRunning };

// One node of a job's expanded node list (duplicates dropped).
struct JobNode {
  // >= 0: index into AccountSetup::nodes; < 0: not in the inventory, its
  // name is AccountSetup::unknown_nodes[-1 - node].
  std::int32_t node = 0;
  double weight = 0;  // w_j on the node (CPUs); 0 for a job that never started
};

// One job as the accounting sees it. Every rank holds one per sacct line,
// so it is kept small: no strings, its nodes in AccountSetup::job_nodes.
struct JobSetup {
  PreStatus pre_status = PreStatus::kStarted;
  bool has_window = false;  // false: not_started (no numbers)
  TimeUs start = 0;         // window [start, end], both inclusive
  TimeUs end = 0;
  Maybe<std::int64_t> cpus;       // the count used (alloc_cpus)
  std::uint32_t nodes_begin = 0;  // [nodes_begin, nodes_end) of AccountSetup::job_nodes
  std::uint32_t nodes_end = 0;
  std::size_t node_count() const { return nodes_end - nodes_begin; }
};

// A job on one node, as the node's accountant needs it.
struct NodeJob {
  std::uint32_t job = 0;     // index into AccountSetup::jobs
  std::uint32_t unused = 0;  // what would be padding: packed bytes are all set
  double weight = 0;
  TimeUs start = 0;
  TimeUs end = 0;
};

struct NodeSetup {
  std::string name;
  std::string node_type;
  double cpus = 0;            // C_h
  std::vector<NodeJob> jobs;  // by start, then job order
  TimeUs longest_job = 0;     // the longest end − start among them

  // [first, last) of `jobs` that can touch [from, until]: start <= until and
  // end >= from (a superset; callers check each job).
  std::pair<std::size_t, std::size_t> JobsTouching(TimeUs from, TimeUs until) const;
};

struct AccountSetup {
  AccountOptions options;
  std::vector<JobSetup> jobs;              // one per JobRecord, same order
  std::vector<JobNode> job_nodes;          // every job's nodes, job after job
  std::vector<std::string> unknown_nodes;  // names of nodes not in the inventory
  std::vector<NodeSetup> nodes;            // inventory order
  std::unordered_map<std::string, std::uint32_t> node_by_name;
  MonthTable months;  // covers every window and the store's span
  // Carbon factor in g per J (g/kWh / 3.6e6 · pue), from each change time
  // on; the first factor also holds before the first time.
  std::vector<TimeUs> intensity_times;
  std::vector<double> carbon_factor;
  std::vector<BadRowCount> bad_rows;  // e.g. sacct bad_node_list

  // g CO2 per J at instant t.
  double CarbonFactorAt(TimeUs t) const;
  // Frees each node's job list once the pass is over (its accountants were
  // the only readers; FinalizeAccount needs jobs and job_nodes): 32 B a job
  // and node off rank 0's peak, which comes in FinalizeAccount.
  void ReleaseNodeJobs();
  const std::string& NodeName(const JobNode& node) const;
};

AccountSetup BuildAccountSetup(const std::vector<JobRecord>& jobs, const std::vector<NodeRecord>& nodes,
                               const AccountOptions& options);

// Collective: rank 0's setup (built from the job table, which only rank 0
// reads) to the other ranks, as much of it as their units need: the nodes
// with their jobs, the months and the intensity steps. On the other ranks
// `setup` must hold the options and is filled; jobs, job_nodes and bad_rows
// stay rank 0's, for FinalizeAccount.
void ShareSetupForUnits(const Comm& comm, AccountSetup* setup);

// A job's part on one node in one month, learned by one unit.
struct JobPart {
  std::uint32_t job = 0;
  std::uint32_t node = 0;  // index into AccountSetup::nodes
  std::int32_t month = 0;  // index into AccountSetup::months
  std::uint32_t unit = 0;
  double energy_j = 0;
  double share_s = 0;  // ∫ w_j / max(C_h, Σw) dt over covered time
  double carbon_g = 0;
  double missing_s = 0;
  std::int64_t samples = 0;
  std::int64_t zero_samples = 0;
};

// A node's month, learned by one unit (restricted to the store's span).
struct NodePart {
  std::uint32_t node = 0;
  std::int32_t month = 0;
  std::uint32_t unit = 0;
  std::uint32_t unused = 0;  // what would be padding: packed bytes are all set
  double metered_j = 0;
  double job_j = 0;
  double missing_s = 0;
  std::int64_t readings = 0;
};

// What one or more ranks learned: mergeable, packable. Merging only
// collects records; FinalizeAccount sums them in key order, so the result
// does not depend on the merge order or the number of ranks.
class AccountPartial {
 public:
  void AddJobPart(const JobPart& part) { job_parts_.push_back(part); }
  // Room for n job parts in all: reserved pages are not touched until
  // written, and each regrowth would copy the parts into fresh ones.
  void ReserveJobParts(std::size_t n) { job_parts_.reserve(n); }
  void AddNodePart(const NodePart& part) { node_parts_.push_back(part); }
  void Merge(const AccountPartial& other);
  void Merge(AccountPartial&& other);
  std::vector<char> Pack() const;
  // Throws wattrun::Error on a truncated or foreign buffer.
  static AccountPartial Unpack(const char* data, std::size_t size);
  // The same bytes inside a larger partial's (the pass's): written into its
  // writer and read back onto the end of this partial's records, so the
  // records are not copied once more on either side. With
  // BulkRecords::kApart the job parts (most of the bytes) are left out: they
  // travel as they lie, through JobPartBytes and JobPartRoom.
  std::size_t PackedSize(BulkRecords bulk = BulkRecords::kPacked) const;
  void PackTo(ByteWriter* w, BulkRecords bulk = BulkRecords::kPacked) const;
  void MergePacked(ByteReader* r, BulkRecords bulk = BulkRecords::kPacked);
  std::span<const char> JobPartBytes() const;
  // Room for `bytes` of job parts after this partial's (a whole number of
  // JobParts, else wattrun::Error), to be written there by the caller.
  char* JobPartRoom(std::size_t bytes);

  const std::vector<JobPart>& job_parts() const { return job_parts_; }
  const std::vector<NodePart>& node_parts() const { return node_parts_; }
  std::vector<JobPart> TakeJobParts() { return std::move(job_parts_); }

 private:
  std::vector<JobPart> job_parts_;
  std::vector<NodePart> node_parts_;
};

struct AccountResult {
  std::vector<results::JobRow> jobs;  // one per JobRecord, in input order
  std::vector<results::JobNodeRow> job_nodes;
  std::vector<results::UsageRow> usage;    // sorted by (month, partition, account, user)
  std::vector<results::LedgerRow> ledger;  // month, then node type in config order
  // Every job status in spec order (not_started ... ok) with its count.
  std::vector<std::pair<std::string, std::int64_t>> status_counts;
};

// The job statuses of spec section 4, first that applies wins.
const std::vector<std::string>& JobStatusNames();

// jobs: the same rows BuildAccountSetup was given (their text fields). The
// merged partial is taken by value: its parts are sorted in place.
AccountResult FinalizeAccount(const AccountSetup& setup, const std::vector<JobRecord>& jobs, AccountPartial merged,
                              const std::map<std::string, double>& idle_w_by_type,
                              const std::vector<std::string>& node_types_in_config_order);

}  // namespace wattrun::account
