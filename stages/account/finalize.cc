// FinalizeAccount: the merged parts summed in key order into the tables of
// spec section 5 (jobs_energy, usage, ledger) and each job's node parts.
#include <algorithm>
#include <map>
#include <string_view>
#include <tuple>

#include "core/error.h"
#include "stages/account/account.h"

namespace wattrun::account {
namespace {

// The readings a window needs are computed in ms, as they always were, so
// that whole-ms windows give the same threshold to the bit.
constexpr double kMillisPerSecond = 1000.0;

// A job's sums over the units of one of its nodes.
struct NodeSums {
  std::int64_t samples = 0, zeros = 0;
  double missing_s = 0, energy_j = 0, idle_j = 0, carbon_g = 0;
};

struct MonthSums {
  double energy_j = 0, idle_j = 0, carbon_g = 0;
};

// Everything the parts say about one job: per node (by node) and per month
// (in the order the parts first name them).
struct JobSums {
  std::vector<std::pair<std::uint32_t, NodeSums>> nodes;
  std::vector<std::pair<std::int32_t, MonthSums>> months;

  const NodeSums* Node(std::uint32_t node) const {
    const auto it = std::lower_bound(nodes.begin(), nodes.end(), node,
                                     [](const auto& entry, std::uint32_t n) { return entry.first < n; });
    return it != nodes.end() && it->first == node ? &it->second : nullptr;
  }
  const MonthSums* Month(std::int32_t month) const {
    const auto it = std::find_if(months.begin(), months.end(), [&](const auto& entry) { return entry.first == month; });
    return it == months.end() ? nullptr : &it->second;
  }
};

double IdleWatts(const std::map<std::string, double>& idle, const std::string& type) {
  const auto it = idle.find(type);
  return it == idle.end() ? 0.0 : it->second;
}

auto PartKey(const JobPart& p) { return std::make_tuple(p.job, p.node, p.month, p.unit); }

// Walks the parts sorted by (job, node, month, unit), one job at a time, so
// that no per-job table of the whole facility is held: the sums of a job are
// added in key order, whatever the ranks and merge order were.
class JobPartCursor {
 public:
  JobPartCursor(const AccountSetup& setup, std::vector<JobPart> parts,
                const std::map<std::string, double>& idle_w_by_type)
      : setup_(setup), parts_(std::move(parts)) {
    std::sort(parts_.begin(), parts_.end(), [](const JobPart& a, const JobPart& b) { return PartKey(a) < PartKey(b); });
    for (const NodeSetup& node : setup.nodes) idle_w_.push_back(IdleWatts(idle_w_by_type, node.node_type));
  }

  // The sums of job i; jobs must be asked for in increasing order.
  const JobSums& SumsOf(std::size_t job) {
    sums_.nodes.clear();
    sums_.months.clear();
    for (; at_ < parts_.size() && parts_[at_].job == job; ++at_) Add(parts_[at_]);
    return sums_;
  }
  // Throws unless every part named a job that was asked for.
  void CheckAllUsed() const {
    if (at_ != parts_.size()) throw Error("accounting: a part names no job or node");
  }

 private:
  void Add(const JobPart& p) {
    if (at_ > 0 && PartKey(parts_[at_ - 1]) == PartKey(p)) {
      throw Error("accounting: unit " + std::to_string(p.unit) + " was merged twice");
    }
    if (p.node >= setup_.nodes.size()) throw Error("accounting: a part names no job or node");
    const double idle_j = idle_w_[p.node] * p.share_s;
    if (sums_.nodes.empty() || sums_.nodes.back().first != p.node) sums_.nodes.emplace_back(p.node, NodeSums{});
    NodeSums& n = sums_.nodes.back().second;
    n.samples += p.samples, n.zeros += p.zero_samples;
    n.missing_s += p.missing_s, n.energy_j += p.energy_j, n.idle_j += idle_j, n.carbon_g += p.carbon_g;
    auto m = std::find_if(sums_.months.begin(), sums_.months.end(), [&](const auto& e) { return e.first == p.month; });
    if (m == sums_.months.end()) m = sums_.months.emplace(sums_.months.end(), p.month, MonthSums{});
    m->second.energy_j += p.energy_j, m->second.idle_j += idle_j, m->second.carbon_g += p.carbon_g;
  }

  const AccountSetup& setup_;
  std::vector<JobPart> parts_;
  std::vector<double> idle_w_;  // per node of the inventory
  std::size_t at_ = 0;
  JobSums sums_;
};

// Nodes that some unit accounted for (the others have no telemetry).
std::vector<bool> NodesWithUnits(const AccountSetup& setup, const AccountPartial& merged) {
  std::vector<bool> seen(setup.nodes.size(), false);
  for (const NodePart& p : merged.node_parts()) seen.at(p.node) = true;
  for (const JobPart& p : merged.job_parts()) seen.at(p.node) = true;
  return seen;
}

const char* PreStatusName(PreStatus s) {
  switch (s) {
    case PreStatus::kNotStarted:
      return "not_started";
    case PreStatus::kUnknownNode:
      return "unknown_node";
    case PreStatus::kRunning:
      return "running";
    case PreStatus::kStarted:
      break;
  }
  return "";
}

// The job's per-node rows and its totals; returns its status.
std::string FillJob(const AccountSetup& setup, std::size_t i, const JobSums& sums, const std::vector<bool>& has_units,
                    results::JobRow* row, std::vector<results::JobNodeRow>* job_nodes) {
  const JobSetup& js = setup.jobs[i];
  const double run_time_s = ToSeconds(js.end - js.start);
  std::int64_t samples = 0, zeros = 0;
  double missing = 0, energy = 0, idle = 0, carbon = 0;
  bool some_node_short = false;
  const double needed = run_time_s * kMillisPerSecond / ToMillis(setup.options.sampling_interval_us) - 1.0;
  for (std::uint32_t k = js.nodes_begin; k < js.nodes_end; ++k) {
    const JobNode& jn = setup.job_nodes[k];
    results::JobNodeRow nr;
    nr.job = i, nr.node = setup.NodeName(jn), nr.weight_cpus = jn.weight;
    if (jn.node >= 0) {
      const auto node = static_cast<std::uint32_t>(jn.node);
      nr.node_type = setup.nodes[node].node_type, nr.node_cpus = setup.nodes[node].cpus;
      const NodeSums* found = sums.Node(node);
      NodeSums n = found ? *found : NodeSums{};
      if (!has_units[node]) n.missing_s = run_time_s;  // no telemetry: the whole window is missing
      nr.samples = n.samples, nr.missing_s = n.missing_s, nr.energy_j = n.energy_j, nr.idle_energy_j = n.idle_j;
      samples += n.samples, zeros += n.zeros, missing += n.missing_s;
      energy += n.energy_j, idle += n.idle_j, carbon += n.carbon_g;
      if (static_cast<double>(n.samples) < needed) some_node_short = true;
    }
    job_nodes->push_back(nr);
  }
  row->run_time_s = run_time_s;
  row->node_hours = run_time_s * static_cast<double>(js.node_count()) / 3600.0;
  row->samples = samples, row->missing_s = missing;
  row->energy_j = energy, row->idle_energy_j = idle, row->dynamic_energy_j = energy - idle, row->carbon_g = carbon;
  if (js.pre_status != PreStatus::kStarted) return PreStatusName(js.pre_status);
  if (samples == 0) return "missing_all";
  if (some_node_short) return "missing_some";
  if (zeros > 0) return "zero_watts";
  return "ok";
}

// (month, partition, account, user) as views of the month labels and the
// job rows, which outlive the usage table: a facility's jobs look their row
// up ~1 M times, and a key of four string copies cost more than the sums.
using UsageKey = std::tuple<std::string_view, std::string_view, std::string_view, std::string_view>;

// The months a window meets (with a part of positive length; a window of
// length 0 meets the month of its start) and the seconds in each.
std::vector<std::pair<int, double>> MonthsMet(const MonthTable& months, TimeUs start, TimeUs end) {
  std::vector<std::pair<int, double>> met;
  if (start == end) {
    const int m = months.IndexOf(start);
    if (m >= 0) met.emplace_back(m, 0.0);
    return met;
  }
  for (int m = std::max(0, months.IndexOf(start)); m < static_cast<int>(months.size()); ++m) {
    const TimeUs lo = std::max(start, months.starts[static_cast<std::size_t>(m)]);
    const TimeUs hi = std::min(end, months.starts[static_cast<std::size_t>(m) + 1]);
    if (lo >= end) break;
    if (hi > lo) met.emplace_back(m, ToSeconds(hi - lo));
  }
  return met;
}

void AddUsage(const AccountSetup& setup, const JobRecord& job, std::size_t i, const JobSums& sums,
              std::map<UsageKey, results::UsageRow>* usage) {
  const JobSetup& js = setup.jobs[i];
  for (const auto& [m, seconds] : MonthsMet(setup.months, js.start, js.end)) {
    const std::string& label = setup.months.labels[static_cast<std::size_t>(m)];
    const auto [it, added] =
        usage->try_emplace(UsageKey{label, job.partition.view(), job.account.view(), job.user.view()});
    results::UsageRow& row = it->second;
    if (added) row.month = label, row.partition = job.partition, row.account = job.account, row.user = job.user;
    row.jobs += 1;
    row.node_hours += seconds * static_cast<double>(js.node_count()) / 3600.0;
    const MonthSums* sum = sums.Month(m);
    if (!sum) continue;
    row.energy_j += sum->energy_j, row.idle_energy_j += sum->idle_j, row.carbon_g += sum->carbon_g;
  }
}

std::vector<results::LedgerRow> BuildLedger(const AccountSetup& setup, const AccountPartial& merged,
                                            const std::vector<std::string>& types) {
  const AccountOptions& o = setup.options;
  if (o.store_first > o.store_last) return {};
  std::vector<NodePart> parts = merged.node_parts();
  auto key = [](const NodePart& p) { return std::make_tuple(p.node, p.month, p.unit); };
  std::sort(parts.begin(), parts.end(), [&](const NodePart& a, const NodePart& b) { return key(a) < key(b); });
  const int first = setup.months.IndexOf(o.store_first), last = setup.months.IndexOf(o.store_last);
  const auto month_count = static_cast<std::size_t>(last) - static_cast<std::size_t>(first) + 1;
  // Per node and month of the store's span.
  std::vector<results::LedgerRow> per(setup.nodes.size() * month_count);
  std::vector<bool> has_parts(setup.nodes.size(), false);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const NodePart& p = parts[i];
    if (i > 0 && key(parts[i - 1]) == key(p))
      throw Error("accounting: unit " + std::to_string(p.unit) + " was merged twice");
    if (p.month < first || p.month > last) continue;
    results::LedgerRow& r = per[p.node * month_count + static_cast<std::size_t>(p.month - first)];
    has_parts[p.node] = true;
    r.readings += p.readings, r.metered_energy_j += p.metered_j, r.job_energy_j += p.job_j, r.missing_s += p.missing_s;
  }
  const std::vector<bool> has_units = NodesWithUnits(setup, merged);
  std::vector<results::LedgerRow> ledger;
  for (int m = first; m <= last; ++m) {
    const auto mi = static_cast<std::size_t>(m);
    const TimeUs lo = std::max(o.store_first, setup.months.starts[mi]);
    const TimeUs hi = std::min(o.store_last, setup.months.starts[mi + 1]);
    for (const std::string& type : types) {
      results::LedgerRow row;
      row.month = setup.months.labels[mi], row.node_type = type;
      bool any = false;
      for (std::size_t h = 0; h < setup.nodes.size(); ++h) {
        if (setup.nodes[h].node_type != type) continue;
        any = true;
        const results::LedgerRow& r = per[h * month_count + static_cast<std::size_t>(m - first)];
        if (r.readings > 0) ++row.nodes;
        row.readings += r.readings, row.metered_energy_j += r.metered_energy_j, row.job_energy_j += r.job_energy_j;
        row.missing_s += has_units[h] ? r.missing_s : ToSeconds(hi - lo);
      }
      if (!any) continue;
      row.unallocated_energy_j = row.metered_energy_j - row.job_energy_j;
      ledger.push_back(std::move(row));
    }
  }
  return ledger;
}

}  // namespace

const std::vector<std::string>& JobStatusNames() {
  static const std::vector<std::string> names{"not_started",  "unknown_node", "running", "missing_all",
                                              "missing_some", "zero_watts",   "ok"};
  return names;
}

AccountResult FinalizeAccount(const AccountSetup& setup, const std::vector<JobRecord>& jobs, AccountPartial merged,
                              const std::map<std::string, double>& idle_w_by_type,
                              const std::vector<std::string>& node_types_in_config_order) {
  if (jobs.size() != setup.jobs.size()) throw Error("accounting: the job rows are not the ones set up");
  AccountResult result;
  result.jobs.reserve(jobs.size());
  result.job_nodes.reserve(setup.job_nodes.size());  // at most one row a job node: no regrowth copies
  const std::vector<bool> has_units = NodesWithUnits(setup, merged);
  result.ledger = BuildLedger(setup, merged, node_types_in_config_order);
  JobPartCursor parts(setup, merged.TakeJobParts(), idle_w_by_type);
  std::map<std::string, std::int64_t> counts;
  std::map<UsageKey, results::UsageRow> usage;
  for (std::size_t i = 0; i < setup.jobs.size(); ++i) {
    const JobRecord& job = jobs[i];
    const JobSetup& js = setup.jobs[i];
    const JobSums& sums = parts.SumsOf(i);
    results::JobRow row;
    row.job_id = job.job_id, row.user = job.user, row.account = job.account, row.partition = job.partition;
    row.state = job.state, row.node_list = job.node_list;
    row.nodes = static_cast<std::int64_t>(js.node_count());
    row.alloc_cpus = js.cpus;
    row.slurm_energy_j = job.consumed_energy_j;
    if (!js.has_window) {
      row.status = "not_started";
      if (job.has_start) row.start = job.start;
      row.end = job.end;
    } else {
      row.start = js.start, row.end = js.end;
      row.status = FillJob(setup, i, sums, has_units, &row, &result.job_nodes);
      AddUsage(setup, job, i, sums, &usage);
    }
    ++counts[row.status];
    result.jobs.push_back(std::move(row));
  }
  parts.CheckAllUsed();
  for (auto& [key, row] : usage) {
    row.dynamic_energy_j = row.energy_j - row.idle_energy_j;
    result.usage.push_back(std::move(row));
  }
  for (const std::string& name : JobStatusNames()) result.status_counts.emplace_back(name, counts[name]);
  return result;
}

}  // namespace wattrun::account
