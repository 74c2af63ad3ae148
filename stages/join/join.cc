#include "stages/join/join.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"
#include "core/hostlist.h"
#include "core/pack.h"

namespace wattrun::join {

const char* StatusName(RunStatus status) {
  switch (status) {
    case RunStatus::kBadRunRow:
      return "bad_run_row";
    case RunStatus::kBadWindow:
      return "bad_window";
    case RunStatus::kUnknownNode:
      return "unknown_node";
    case RunStatus::kNoJob:
      return "no_job";
    case RunStatus::kHostNotInJob:
      return "host_not_in_job";
    case RunStatus::kOutsideJobWindow:
      return "outside_job_window";
    case RunStatus::kJobRunning:
      return "job_running";
    case RunStatus::kMissingAll:
      return "missing_all";
    case RunStatus::kMissingSome:
      return "missing_some";
    case RunStatus::kZeroWatts:
      return "zero_watts";
    case RunStatus::kOk:
      return "ok";
  }
  return "?";
}

namespace {

// Expands each job's hostlist once, on first use.
class JobHosts {
 public:
  explicit JobHosts(const std::vector<JobRecord>& jobs) : jobs_(jobs) {}
  bool Holds(std::size_t job, const std::string& host) {
    auto it = hosts_.find(job);
    if (it == hosts_.end()) {
      std::unordered_set<std::string> hosts;
      try {
        for (auto& h : ExpandHostlist(jobs_[job].node_list)) hosts.insert(std::move(h));
      } catch (const Error&) {
        // A malformed hostlist was counted at ingest; no host matches it.
      }
      it = hosts_.emplace(job, std::move(hosts)).first;
    }
    return it->second.count(host) > 0;
  }

 private:
  const std::vector<JobRecord>& jobs_;
  std::unordered_map<std::size_t, std::unordered_set<std::string>> hosts_;
};

// How a run fits one attempt of its job: host, window, then whether the
// attempt is still running.
// Whether the run's window, moved by shift_us, lies in the job's window.
bool InsideWindow(const RunRecord& r, const JobRecord& job, TimeUs shift_us, const JoinOptions& options) {
  const bool starts_inside = job.has_start && r.start + shift_us >= job.start - options.tolerance_us;
  const bool ends_inside = !job.end.has_value() || r.update + shift_us <= *job.end + options.tolerance_us;
  return starts_inside && ends_inside;
}

RunStatus FitAttempt(const RunRecord& r, const JobRecord& job, bool host_in_job, const JoinOptions& options) {
  if (!host_in_job) return RunStatus::kHostNotInJob;
  if (!InsideWindow(r, job, 0, options)) return RunStatus::kOutsideJobWindow;
  if (!job.end.has_value()) return RunStatus::kJobRunning;
  return RunStatus::kOk;
}

}  // namespace

std::vector<JoinedRun> JoinRuns(const std::vector<RunRecord>& runs, const std::vector<JobRecord>& jobs,
                                const std::vector<NodeRecord>& nodes, const JoinOptions& options) {
  std::unordered_map<std::string, std::size_t> node_index;
  for (std::size_t i = 0; i < nodes.size(); ++i) node_index.emplace(nodes[i].name, i);
  // A JobID's attempts (requeued, cron), in sacct order: only for the ids
  // some run names (a facility's sacct has ~20x more jobs than runs).
  std::unordered_map<std::string_view, std::vector<std::size_t>> attempts;
  for (const RunRecord& r : runs) attempts.try_emplace(r.slurm_job_id);
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const auto it = attempts.find(jobs[i].job_id);
    if (it != attempts.end()) it->second.push_back(i);
  }
  JobHosts job_hosts(jobs);

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
    const auto job_it = attempts.find(r.slurm_job_id);
    if (job_it == attempts.end() || job_it->second.empty()) {
      j.status = RunStatus::kNoJob;
      continue;
    }
    // The attempt whose window holds the run: of all attempts the one that
    // gets furthest in the order of statuses (ok last), the first on ties.
    bool first = true;
    for (const std::size_t k : job_it->second) {
      const RunStatus fit = FitAttempt(r, jobs[k], job_hosts.Holds(k, r.host_name), options);
      if (first || fit > j.status) {
        j.status = fit;
        j.job = static_cast<std::int64_t>(k);
      }
      first = false;
      if (fit == RunStatus::kOk) break;
    }
  }
  return out;
}

std::optional<ZoneShift> DetectZoneShift(const std::vector<RunRecord>& runs, const std::vector<JobRecord>& jobs,
                                         const std::vector<JoinedRun>& joined, const JoinOptions& options) {
  constexpr int kMaxHours = 14;  // zone offsets from UTC are within 14 h; a larger site mix-up is implausible
  constexpr TimeUs kHour = kMicrosPerHour;
  std::vector<std::int64_t> fits(2 * kMaxHours + 1, 0);  // index: hours + kMaxHours
  ZoneShift best;
  for (std::size_t i = 0; i < runs.size() && i < joined.size(); ++i) {
    const RunStatus status = joined[i].status;
    if (status < RunStatus::kOutsideJobWindow) continue;
    ++best.joined;
    if (status != RunStatus::kOutsideJobWindow || joined[i].job < 0) continue;
    ++best.outside;
    const JobRecord& job = jobs[static_cast<std::size_t>(joined[i].job)];
    for (int h = -kMaxHours; h <= kMaxHours; ++h) {
      const int slot = h + kMaxHours;
      if (h != 0 && InsideWindow(runs[i], job, h * kHour, options)) ++fits[static_cast<std::size_t>(slot)];
    }
  }
  // Candidates by |hours|, positive first, so a strict > keeps the tie rule.
  for (int magnitude = 1; magnitude <= kMaxHours; ++magnitude) {
    for (const int h : {magnitude, -magnitude}) {
      const int slot = h + kMaxHours;
      const std::int64_t n = fits[static_cast<std::size_t>(slot)];
      if (n > best.shifted) {
        best.shifted = n;
        best.hours = h;
      }
    }
  }
  if (best.shifted < 3 || 2 * best.shifted < best.outside) return std::nullopt;
  return best;
}

std::string ZoneShiftWarning(const ZoneShift& shift, const std::string& scheduler_timezone) {
  const std::string hours = (shift.hours > 0 ? "+" : "") + std::to_string(shift.hours) + " h";
  const int magnitude = shift.hours < 0 ? -shift.hours : shift.hours;
  return std::to_string(shift.shifted) + " of " + std::to_string(shift.joined) +
         " runs fall outside their Slurm job by " + hours + " (their job windows read " + std::to_string(magnitude) +
         " h " + (shift.hours > 0 ? "late" : "early") +
         "); sacct looks exported in another time zone than scheduler.timezone (" + scheduler_timezone +
         "): check scheduler.timezone or the SLURM_TIME_FORMAT/TZ sacct ran with";
}

void ShareJoinedRuns(const Comm& comm, std::vector<JoinedRun>* joined) {
  if (comm.size() == 1) return;
  ByteWriter out;
  if (comm.is_root()) {
    out.Put<std::uint64_t>(joined->size());
    for (const JoinedRun& r : *joined) {
      out.Put(r.status);
      out.Put(r.node);
      out.Put(r.job);
      out.PutString(r.node_type);
    }
  }
  std::vector<char> bytes = std::move(out.bytes());
  comm.Broadcast(&bytes);
  if (comm.is_root()) return;
  ByteReader in(bytes.data(), bytes.size());
  joined->assign(in.Get<std::uint64_t>(), JoinedRun{});
  for (JoinedRun& r : *joined) {
    r.status = in.Get<RunStatus>();
    r.node = in.Get<std::int64_t>();
    r.job = in.Get<std::int64_t>();
    r.node_type = in.GetString();
  }
}

}  // namespace wattrun::join
