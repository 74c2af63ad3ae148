#include "stages/account/account.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <tuple>

#include "core/error.h"
#include "core/hostlist.h"
#include "core/pack.h"

namespace wattrun::account {
namespace {

constexpr double kJoulesPerKwh = 3.6e6;

Maybe<std::int64_t> CpuCount(const JobRecord& job) {
  if (job.tres_cpus && *job.tres_cpus > 0) return job.tres_cpus;
  if (job.alloc_cpus && *job.alloc_cpus > 0) return job.alloc_cpus;
  return std::nullopt;
}

// Expands the node list, dropping repeated names; a malformed list is
// counted as a bad sacct value and gives no nodes.
std::vector<std::string> ExpandNodes(const JobRecord& job, AccountSetup* setup, bool* bad) {
  std::vector<std::string> names;
  *bad = false;
  try {
    names = ExpandHostlist(job.node_list);
  } catch (const Error&) {
    auto it = std::find_if(setup->bad_rows.begin(), setup->bad_rows.end(),
                           [&](const BadRowCount& b) { return b.file == job.file; });
    if (it == setup->bad_rows.end()) {
      setup->bad_rows.push_back({"sacct", job.file, "bad_node_list", 0});
      it = setup->bad_rows.end() - 1;
    }
    ++it->count;
    *bad = true;
    return {};
  }
  std::vector<std::string> unique;
  for (auto& name : names) {
    if (std::find(unique.begin(), unique.end(), name) == unique.end()) unique.push_back(std::move(name));
  }
  return unique;
}

// The job's nodes into setup->job_nodes (weights 0: set for started jobs);
// a name not in the inventory is kept once in setup->unknown_nodes.
void AddJobNodes(const std::vector<std::string>& names, std::unordered_map<std::string, std::int32_t>* unknown_index,
                 AccountSetup* setup, JobSetup* js) {
  if (setup->job_nodes.size() + names.size() > std::numeric_limits<std::uint32_t>::max()) {
    throw Error("accounting: more than 2^32 (job, node) pairs in the sacct files");
  }
  js->nodes_begin = static_cast<std::uint32_t>(setup->job_nodes.size());
  for (const std::string& name : names) {
    const auto it = setup->node_by_name.find(name);
    std::int32_t index = 0;
    if (it != setup->node_by_name.end()) {
      index = static_cast<std::int32_t>(it->second);
    } else {
      const auto [u, added] = unknown_index->emplace(name, -1 - static_cast<std::int32_t>(setup->unknown_nodes.size()));
      if (added) setup->unknown_nodes.push_back(name);
      index = u->second;
    }
    setup->job_nodes.push_back({index, 0.0});
  }
  js->nodes_end = static_cast<std::uint32_t>(setup->job_nodes.size());
}

// Window and node weights of one started job (spec section 4, "Shares of a
// node" and "Details that decide numbers").
void SetUpStartedJob(const JobRecord& job, bool bad_list, AccountSetup* setup, JobSetup* js) {
  const AccountOptions& o = setup->options;
  js->has_window = true;
  js->start = job.start;
  js->end = job.end ? *job.end : std::max(job.start, o.store_last);
  js->end = std::max(js->end, js->start);  // an End before Start: a window of length 0
  bool unknown = bad_list;
  std::int64_t whole_node_cpus = 0;
  const auto first = setup->job_nodes.begin() + js->nodes_begin, last = setup->job_nodes.begin() + js->nodes_end;
  for (auto n = first; n != last; ++n) {
    if (n->node < 0)
      unknown = true;
    else
      whole_node_cpus += static_cast<std::int64_t>(setup->nodes[static_cast<std::size_t>(n->node)].cpus);
  }
  const Maybe<std::int64_t> count = CpuCount(job);
  js->cpus = count ? *count : whole_node_cpus;
  for (auto n = first; n != last; ++n) {
    const double node_cpus = n->node < 0 ? 0.0 : setup->nodes[static_cast<std::size_t>(n->node)].cpus;
    n->weight = count ? static_cast<double>(*count) / static_cast<double>(js->node_count()) : node_cpus;
  }
  js->pre_status = unknown ? PreStatus::kUnknownNode : (job.end ? PreStatus::kStarted : PreStatus::kRunning);
}

void SetUpIntensity(const AccountOptions& o, AccountSetup* setup) {
  std::vector<CarbonIntensityRecord> rows = o.intensity;
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.time < b.time; });
  for (const CarbonIntensityRecord& row : rows) {
    const double factor = row.g_per_kwh / kJoulesPerKwh * o.pue;
    if (!setup->intensity_times.empty() && setup->intensity_times.back() == row.time) {
      setup->carbon_factor.back() = factor;  // the same instant twice: the later row wins
    } else {
      setup->intensity_times.push_back(row.time);
      setup->carbon_factor.push_back(factor);
    }
  }
  if (rows.empty()) setup->carbon_factor.push_back(o.constant_g_per_kwh / kJoulesPerKwh * o.pue);
}

}  // namespace

void AccountSetup::ReleaseNodeJobs() {
  for (NodeSetup& n : nodes) std::vector<NodeJob>().swap(n.jobs);
}

double AccountSetup::CarbonFactorAt(TimeUs t) const {
  const auto it = std::upper_bound(intensity_times.begin(), intensity_times.end(), t);
  const std::size_t index =
      it == intensity_times.begin() ? 0 : static_cast<std::size_t>(it - intensity_times.begin()) - 1;
  return carbon_factor[index];
}

AccountSetup BuildAccountSetup(const std::vector<JobRecord>& jobs, const std::vector<NodeRecord>& nodes,
                               const AccountOptions& options) {
  AccountSetup setup;
  setup.options = options;
  setup.jobs.reserve(jobs.size());
  for (const NodeRecord& node : nodes) {
    if (!setup.node_by_name.emplace(node.name, static_cast<std::uint32_t>(setup.nodes.size())).second) continue;
    setup.nodes.push_back({node.name, node.node_type, static_cast<double>(node.cpus), {}});
  }
  SetUpIntensity(options, &setup);
  const bool store_has_readings = options.store_first <= options.store_last;
  TimeUs first = store_has_readings ? options.store_first : std::numeric_limits<TimeUs>::max();
  TimeUs last = store_has_readings ? options.store_last : std::numeric_limits<TimeUs>::min();
  std::unordered_map<std::string, std::int32_t> unknown_index;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const JobRecord& job = jobs[i];
    JobSetup js;
    bool bad_list = false;
    AddJobNodes(ExpandNodes(job, &setup, &bad_list), &unknown_index, &setup, &js);
    if (!job.has_start || (js.node_count() == 0 && !bad_list)) {
      js.pre_status = PreStatus::kNotStarted;
      js.cpus = CpuCount(job);
    } else {
      SetUpStartedJob(job, bad_list, &setup, &js);
      first = std::min(first, js.start);
      last = std::max(last, js.end);
      for (std::uint32_t k = js.nodes_begin; k < js.nodes_end; ++k) {
        const JobNode& n = setup.job_nodes[k];
        if (n.node < 0) continue;
        setup.nodes[static_cast<std::size_t>(n.node)].jobs.push_back(
            {static_cast<std::uint32_t>(i), 0, n.weight, js.start, js.end});
      }
    }
    setup.jobs.push_back(js);
  }
  if (first <= last) setup.months = MonthsCovering(options.zone, first, last);
  // By start (stable: jobs that start together stay in job order, the order
  // in which their weights are summed), so a unit finds its jobs by search.
  for (NodeSetup& node : setup.nodes) {
    std::stable_sort(node.jobs.begin(), node.jobs.end(),
                     [](const NodeJob& a, const NodeJob& b) { return a.start < b.start; });
    for (const NodeJob& job : node.jobs) node.longest_job = std::max(node.longest_job, job.end - job.start);
  }
  return setup;
}

const std::string& AccountSetup::NodeName(const JobNode& node) const {
  return node.node >= 0 ? nodes[static_cast<std::size_t>(node.node)].name
                        : unknown_nodes[static_cast<std::size_t>(-1 - node.node)];
}

std::pair<std::size_t, std::size_t> NodeSetup::JobsTouching(TimeUs from, TimeUs until) const {
  // A job with end >= from starts at or after from − longest_job (saturated).
  const TimeUs earliest =
      from < std::numeric_limits<TimeUs>::min() + longest_job ? std::numeric_limits<TimeUs>::min() : from - longest_job;
  auto by_start = [](const NodeJob& job, TimeUs t) { return job.start < t; };
  const auto lo = std::lower_bound(jobs.begin(), jobs.end(), earliest, by_start);
  const auto hi = std::upper_bound(lo, jobs.end(), until, [](TimeUs t, const NodeJob& job) { return t < job.start; });
  return {static_cast<std::size_t>(lo - jobs.begin()), static_cast<std::size_t>(hi - jobs.begin())};
}

void ShareSetupForUnits(const Comm& comm, AccountSetup* setup) {
  if (comm.size() == 1) return;
  ByteWriter out;
  if (comm.is_root()) {
    out.Put<std::uint64_t>(setup->nodes.size());
    for (const NodeSetup& n : setup->nodes) {
      out.PutString(n.name);
      out.PutString(n.node_type);
      out.Put(n.cpus);
      out.Put(n.longest_job);
      out.PutVector(n.jobs);
    }
    out.PutVector(setup->months.starts);
    out.Put<std::uint64_t>(setup->months.labels.size());
    for (const std::string& label : setup->months.labels) out.PutString(label);
    out.PutVector(setup->intensity_times);
    out.PutVector(setup->carbon_factor);
  }
  std::vector<char> bytes = std::move(out.bytes());
  comm.Broadcast(&bytes);
  if (comm.is_root()) return;
  ByteReader in(bytes.data(), bytes.size());
  setup->nodes.assign(in.Get<std::uint64_t>(), NodeSetup{});
  setup->node_by_name.clear();
  for (NodeSetup& n : setup->nodes) {
    n.name = in.GetString();
    n.node_type = in.GetString();
    n.cpus = in.Get<double>();
    n.longest_job = in.Get<TimeUs>();
    n.jobs = in.GetVector<NodeJob>();
    setup->node_by_name.emplace(n.name, static_cast<std::uint32_t>(&n - setup->nodes.data()));
  }
  setup->months.starts = in.GetVector<TimeUs>();
  setup->months.labels.assign(in.Get<std::uint64_t>(), std::string());
  for (std::string& label : setup->months.labels) label = in.GetString();
  setup->intensity_times = in.GetVector<TimeUs>();
  setup->carbon_factor = in.GetVector<double>();
}

}  // namespace wattrun::account
