#include "stages/join/join.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"
#include "core/hostlist.h"

namespace wattrun::join {

const char* StatusName(RunStatus status) {
  switch (status) {
    case RunStatus::kBadRunRow: return "bad_run_row";
    case RunStatus::kBadWindow: return "bad_window";
    case RunStatus::kUnknownNode: return "unknown_node";
    case RunStatus::kNoJob: return "no_job";
    case RunStatus::kHostNotInJob: return "host_not_in_job";
    case RunStatus::kOutsideJobWindow: return "outside_job_window";
    case RunStatus::kJobRunning: return "job_running";
    case RunStatus::kMissingAll: return "missing_all";
    case RunStatus::kMissingSome: return "missing_some";
    case RunStatus::kZeroWatts: return "zero_watts";
    case RunStatus::kOk: return "ok";
  }
  return "?";
}

std::vector<JoinedRun> JoinRuns(const std::vector<RunRecord>& runs, const std::vector<JobRecord>& jobs,
                                const std::vector<NodeRecord>& nodes, const JoinOptions& options) {
  std::unordered_map<std::string, std::size_t> node_index;
  for (std::size_t i = 0; i < nodes.size(); ++i) node_index.emplace(nodes[i].name, i);
  std::unordered_map<std::string, std::size_t> job_index;
  for (std::size_t i = 0; i < jobs.size(); ++i) job_index[jobs[i].job_id] = i;
  // Hostlists are expanded once per job, on first use.
  std::unordered_map<std::size_t, std::unordered_set<std::string>> job_hosts;

  std::vector<JoinedRun> out(runs.size());
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const RunRecord& r = runs[i];
    JoinedRun& j = out[i];
    if (!r.bad_reason.empty() && r.bad_reason != "negative_window") {
      j.status = RunStatus::kBadRunRow;
      continue;
    }
    if (r.bad_reason == "negative_window" || r.update < r.start) {
      j.status = RunStatus::kBadWindow;
      // Not measured, but its host is known: runs_energy.csv says its type.
      const auto known = node_index.find(r.host_name);
      if (known != node_index.end()) j.node_type = nodes[known->second].node_type;
      continue;
    }
    const auto n = node_index.find(r.host_name);
    if (n == node_index.end() || nodes[n->second].node_type.empty()) {
      j.status = RunStatus::kUnknownNode;
      continue;
    }
    j.node = static_cast<std::int64_t>(n->second);
    j.node_type = nodes[n->second].node_type;
    const auto job_it = job_index.find(r.slurm_job_id);
    if (job_it == job_index.end()) {
      j.status = RunStatus::kNoJob;
      continue;
    }
    const JobRecord& job = jobs[job_it->second];
    auto hosts_it = job_hosts.find(job_it->second);
    if (hosts_it == job_hosts.end()) {
      std::unordered_set<std::string> hosts;
      try {
        for (auto& h : ExpandHostlist(job.node_list)) hosts.insert(std::move(h));
      } catch (const Error&) {
        // A malformed hostlist was counted at ingest; no host matches it.
      }
      hosts_it = job_hosts.emplace(job_it->second, std::move(hosts)).first;
    }
    if (!hosts_it->second.count(r.host_name)) {
      j.status = RunStatus::kHostNotInJob;
      continue;
    }
    const bool starts_inside = job.has_start && r.start >= job.start - options.tolerance_ms;
    const bool ends_inside = !job.end.has_value() || r.update <= *job.end + options.tolerance_ms;
    if (!starts_inside || !ends_inside) {
      j.status = RunStatus::kOutsideJobWindow;
      continue;
    }
    if (!job.end.has_value()) {
      j.status = RunStatus::kJobRunning;
      continue;
    }
    j.status = RunStatus::kOk;
  }
  return out;
}

}  // namespace wattrun::join
