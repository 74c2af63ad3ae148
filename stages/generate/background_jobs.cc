#include "stages/generate/background_jobs.h"

#include <algorithm>
#include <cmath>

#include "stages/generate/rng.h"

namespace wattrun::generate {
namespace {

constexpr std::int64_t kMsPerSecond = 1000;
constexpr std::int64_t kMsPerHour = 3600 * kMsPerSecond;
constexpr std::int64_t kMsPerDay = 24 * kMsPerHour;
constexpr double kSharedShare = 0.02;         // of the CPU node time, in shared blocks
constexpr double kSharedConcurrency = 3.0;    // jobs running on a shared node, on average
constexpr double kMaxSharedDynamicW = 300.0;  // a dual-socket node at full load
constexpr double kUnstartedShare = 0.01;      // pending or cancelled before start
constexpr std::int64_t kMinJobMs = std::int64_t{2} * 60 * kMsPerSecond;

const std::vector<std::string>& Users() {
  static const std::vector<std::string> users = {"akumar",  "jsmith", "mchen",  "lgarcia", "rpatel", "swang",
                                                 "tnguyen", "ebrown", "dlee",   "kmuller", "hsato",  "aross",
                                                 "pdubois", "yli",    "cjones", "fsilva"};
  return users;
}

const std::vector<std::string>& Accounts() {
  static const std::vector<std::string> accounts = {"windsim", "hpcapps", "gridml", "biofuel", "solarpv", "csc000"};
  return accounts;
}

int NodeCpus(const Plan& plan, int node) {
  const PlanNode& n = plan.nodes[static_cast<std::size_t>(node)];
  return static_cast<int>(plan.config.facility.node_types[static_cast<std::size_t>(n.type)].signature.cpus);
}

std::string Uid(Rng* rng) { return std::to_string(rng->Int(10000, 99999)); }

void FillMeta(PlanJob* job, const char* partition, Rng* rng) {
  static const char* kNames[] = {"python", "bash", "Rscript", "matlab", "g16", "postproc", "jupyter", "sim.sh"};
  job->name = kNames[rng->Int(0, 7)];
  job->user = FacilityUser(rng->Int(1, 400));
  job->account = FacilityAccount(job->user, rng->Int(1, 60));
  job->partition = partition;
  const double p = rng->Uniform();
  job->state = p < 0.80   ? "COMPLETED"
               : p < 0.88 ? "FAILED"
               : p < 0.93 ? "CANCELLED by " + Uid(rng)
               : p < 0.98 ? "TIMEOUT"
                          : "OUT_OF_MEMORY";
}

// The highest CPU sum of overlapping jobs, and the instant it starts.
std::pair<std::int64_t, TimeMs> PeakCpus(const std::vector<PlanJob>& jobs) {
  std::vector<std::pair<TimeMs, std::int64_t>> events;
  for (const PlanJob& j : jobs) {
    events.emplace_back(j.start_ms, j.alloc_cpus);
    events.emplace_back(j.end_ms, -j.alloc_cpus);
  }
  std::sort(events.begin(), events.end());  // ends (negative) first at equal times
  std::int64_t sum = 0, peak = 0;
  TimeMs at = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    sum += events[i].second;
    const bool last_at_instant = i + 1 == events.size() || events[i + 1].first != events[i].first;
    if (last_at_instant && sum > peak) {
      peak = sum;
      at = events[i].first;
    }
  }
  return {peak, at};
}

PlanJob SharedJob(const Plan& plan, int node, TimeMs start, TimeMs end, std::int64_t cpus, Rng* rng) {
  PlanJob job;
  job.hw_class = plan.nodes[static_cast<std::size_t>(node)].hw_class;
  job.nodes = {node};
  job.start_ms = start;
  job.end_ms = end;
  job.duration_s = (end - start) / kMsPerSecond;
  job.shared = true;
  job.alloc_cpus = cpus;
  job.tres_cpus = rng->Bernoulli(0.05) ? 0 : cpus;  // some exports lack AllocTRES
  job.load_w = static_cast<double>(cpus) * rng->Uniform(4.0, 8.0);
  FillMeta(&job, "shared", rng);
  return job;
}

// Overlapping few-CPU jobs in [s, e) on a node; returns how many.
std::int64_t FillSharedBlock(Plan* plan, const PlacementHooks& hooks, int node, TimeMs s, TimeMs e, bool oversubscribe,
                             Rng* rng) {
  static const std::int64_t kCpus[] = {1, 1, 2, 2, 4, 4, 6, 8, 8, 12, 16, 18};
  const double mean_duration_s = (6.0 * 3600 - 600.0) / std::log(6.0 * 3600 / 600.0);
  const double mean_gap_s = mean_duration_s / kSharedConcurrency;
  std::vector<PlanJob> jobs;
  for (TimeMs t = s + rng->Int(60, 1800) * kMsPerSecond; t < e - std::int64_t{10} * 60 * kMsPerSecond;
       t += std::llround(-mean_gap_s * std::log(1.0 - rng->Uniform())) * kMsPerSecond + kMsPerSecond) {
    const std::int64_t d = std::llround(rng->LogUniform(600.0, 6.0 * 3600));
    const TimeMs end = std::min(t + d * kMsPerSecond, e - kMinJobMs);
    const std::int64_t cpus = kCpus[rng->Int(0, 11)];
    if (end - t < kMinJobMs || !hooks.scheduler_time_ok(t) || !hooks.scheduler_time_ok(end)) continue;
    jobs.push_back(SharedJob(*plan, node, t, end, cpus, rng));
  }
  const std::int64_t node_cpus = NodeCpus(*plan, node);
  const auto [peak, at] = PeakCpus(jobs);
  if (oversubscribe && peak > 0 && peak <= node_cpus) {
    // One more job at the busiest instant takes the node over its CPUs.
    const TimeMs end = std::min(at + rng->Int(1800, std::int64_t{3} * 3600) * kMsPerSecond, e - kMinJobMs);
    if (end - at >= kMinJobMs && hooks.scheduler_time_ok(end)) {
      jobs.push_back(SharedJob(*plan, node, at, end, node_cpus - peak + rng->Int(2, 8), rng));
    }
  }
  for (PlanJob& j : jobs) plan->jobs.push_back(std::move(j));
  return static_cast<std::int64_t>(jobs.size());
}

}  // namespace

std::string FacilityUser(std::int64_t draw) {
  // Skewed: a few users submit most jobs.
  const double u = static_cast<double>(std::clamp<std::int64_t>(draw, 1, 400) - 1) / 400.0;
  const std::size_t n = Users().size();
  return Users()[std::min(n - 1, static_cast<std::size_t>(static_cast<double>(n) * u * u))];
}

std::string FacilityAccount(const std::string& user, std::int64_t draw) {
  const auto& users = Users();
  const std::size_t i = static_cast<std::size_t>(std::find(users.begin(), users.end(), user) - users.begin());
  const std::size_t n = Accounts().size();
  const std::size_t primary = i % n;
  const std::size_t secondary = (i * 5 + 1) % n;
  const std::size_t third = (i * 7 + 2) % n;
  const std::size_t pick = draw <= 42 ? primary : draw <= 54 || i % 3 == 0 ? secondary : third;
  return Accounts()[pick];
}

std::int64_t AddSharedNodeJobs(Plan* plan, const PlacementHooks& hooks) {
  Rng rng(plan->seed, Stream::kSharedJobs, 0);
  std::vector<int> cpu_nodes;
  for (const PlanClass& c : plan->classes) {
    if (!c.is_gpu) cpu_nodes.insert(cpu_nodes.end(), c.nodes.begin(), c.nodes.end());
  }
  if (cpu_nodes.empty()) return 0;
  const double span_ms = static_cast<double>(plan->snapshot_ms - plan->window_start);
  const double target = kSharedShare * static_cast<double>(cpu_nodes.size()) * span_ms;
  double used = 0.0;
  std::int64_t blocks = 0, added = 0;
  for (int failures = 0; used < target && failures < 200;) {
    const TimeMs len = rng.Int(std::int64_t{8} * 3600, std::int64_t{72} * 3600) * kMsPerSecond;
    const TimeMs lo = plan->window_start + kMsPerHour;
    const TimeMs hi = plan->snapshot_ms - 2 * kMsPerHour - len;
    const int node = cpu_nodes[static_cast<std::size_t>(rng.Int(0, static_cast<std::int64_t>(cpu_nodes.size()) - 1))];
    if (hi < lo) break;
    const TimeMs start = lo + rng.Int(0, (hi - lo) / kMsPerSecond) * kMsPerSecond;
    if (!hooks.free(node, start, start + len)) {
      ++failures;
      continue;
    }
    failures = 0;
    hooks.occupy(node, start, start + len);
    added += FillSharedBlock(plan, hooks, node, start, start + len, blocks % 3 == 0, &rng);
    ++blocks;
    used += static_cast<double>(len);
  }
  plan->notes["shared_node_blocks"] = blocks;
  plan->notes["shared_node_jobs"] = added;
  return added;
}

void AddUnstartedJobs(Plan* plan, const PlacementHooks& hooks) {
  Rng rng(plan->seed, Stream::kSharedJobs, 1);
  const std::int64_t n =
      std::max<std::int64_t>(2, std::llround(kUnstartedShare * static_cast<double>(plan->jobs.size())));
  const std::int64_t span_s = (plan->snapshot_ms - plan->window_start) / kMsPerSecond;
  for (std::int64_t k = 0; k < n; ++k) {
    PlanJob job;
    job.hw_class = static_cast<int>(rng.Int(0, static_cast<std::int64_t>(plan->classes.size()) - 1));
    job.started = false;
    static const char* kPartitions[] = {"short", "standard", "debug", "shared"};
    const bool gpu = plan->classes[static_cast<std::size_t>(job.hw_class)].is_gpu;
    FillMeta(&job, gpu ? "gpu" : kPartitions[rng.Int(0, 3)], &rng);
    if (k % 2 == 0) {
      job.pending = true;
      job.state = "PENDING";
      job.submit_ms = plan->snapshot_ms - rng.Int(600, std::int64_t{2} * 86400) * kMsPerSecond;
    } else {
      job.state = "CANCELLED by " + Uid(&rng);
      job.submit_ms = plan->window_start + rng.Int(0, std::max<std::int64_t>(1, span_s - 86400)) * kMsPerSecond;
      job.end_ms = std::min(job.submit_ms + rng.Int(60, 86400) * kMsPerSecond, plan->snapshot_ms - kMsPerHour);
    }
    if (!hooks.scheduler_time_ok(job.submit_ms) || (!job.pending && !hooks.scheduler_time_ok(job.end_ms))) continue;
    plan->jobs.push_back(std::move(job));
  }
}

void AddUnknownNodeJob(Plan* plan, const PlacementHooks& hooks) {
  Rng rng(plan->seed, Stream::kSharedJobs, 2);
  for (const PlanClass& c : plan->classes) {
    if (c.is_gpu || c.nodes.empty()) continue;
    for (int tries = 0; tries < 200; ++tries) {
      const int node = c.nodes[static_cast<std::size_t>(rng.Int(0, static_cast<std::int64_t>(c.nodes.size()) - 1))];
      const TimeMs d = rng.Int(3600, std::int64_t{6} * 3600) * kMsPerSecond;
      const TimeMs lo = plan->window_start + kMsPerDay;
      const TimeMs hi = plan->snapshot_ms - kMsPerDay - d;
      if (hi < lo) return;
      const TimeMs start = lo + rng.Int(0, (hi - lo) / kMsPerSecond) * kMsPerSecond;
      if (!hooks.free(node, start, start + d) || !hooks.scheduler_time_ok(start) || !hooks.scheduler_time_ok(start + d))
        continue;
      hooks.occupy(node, start, start + d);
      PlanJob job;
      job.hw_class = plan->nodes[static_cast<std::size_t>(node)].hw_class;
      job.nodes = {node};
      job.unknown_hosts = {plan->unknown_node_name};
      job.start_ms = start;
      job.end_ms = start + d;
      job.duration_s = d / kMsPerSecond;
      job.alloc_cpus = job.tres_cpus = std::int64_t{2} * NodeCpus(*plan, node);
      job.load_w = rng.Uniform(80.0, 200.0);
      FillMeta(&job, "standard", &rng);
      job.state = "COMPLETED";
      plan->jobs.push_back(std::move(job));
      return;
    }
    return;
  }
}

void AssignAllocations(Plan* plan) {
  Rng rng(plan->seed, Stream::kAllocations, 0);
  for (PlanJob& job : plan->jobs) {
    if (job.alloc_cpus > 0 || job.tres_cpus > 0) continue;  // set where the job was made
    if (!job.started) continue;                             // sacct writes 0 and no TRES
    std::int64_t total = 0;
    for (const int n : job.nodes) total += NodeCpus(*plan, n);
    const double p = job.butter ? 0.0 : rng.Uniform();
    job.alloc_cpus = p < 0.97 ? total : 0;
    job.tres_cpus = p < 0.90 ? total : 0;
  }
}

void AddSharedNodeSeries(Plan* plan) {
  std::vector<std::vector<std::pair<std::int64_t, double>>> events(plan->nodes.size());
  const std::int64_t lo = plan->first_tick;
  const std::int64_t hi = plan->last_tick;
  for (const PlanJob& job : plan->jobs) {
    if (!job.shared) continue;
    const std::int64_t first = std::max(lo, CeilDivTicks(job.start_ms, plan->step_ms));
    const std::int64_t last = std::min(hi, FloorDivTicks(job.end_ms, plan->step_ms));
    if (first > last) continue;
    auto& e = events[static_cast<std::size_t>(job.nodes.front())];
    e.emplace_back(first, job.load_w);
    e.emplace_back(last + 1, -job.load_w);
  }
  for (std::size_t n = 0; n < plan->nodes.size(); ++n) {
    auto& e = events[n];
    if (e.empty()) continue;
    std::sort(e.begin(), e.end());
    NodeSeries& series = plan->nodes[n].series;
    double load = 0.0;
    int running = 0;
    for (std::size_t i = 0; i < e.size(); ++i) {
      load += e[i].second;
      running += e[i].second > 0 ? 1 : -1;
      if (i + 1 == e.size() || e[i + 1].first == e[i].first || running == 0) continue;
      BusySegment s;
      s.first_tick = e[i].first;
      s.last_tick = e[i + 1].first - 1;
      s.level_w = series.idle_w + std::clamp(load, 0.0, kMaxSharedDynamicW);
      s.noise_w = 6.0;
      series.busy.push_back(s);
    }
  }
}

std::string AllocTres(const Plan& plan, const PlanJob& job, bool step) {
  if (job.tres_cpus <= 0 || job.nodes.empty()) return "";
  const auto& types = plan.config.facility.node_types;
  const std::int64_t n_nodes = static_cast<std::int64_t>(job.nodes.size() + job.unknown_hosts.size());
  const NodeTypeConfig& t =
      types[static_cast<std::size_t>(plan.nodes[static_cast<std::size_t>(job.nodes.front())].type)];
  const std::int64_t mem_g =
      job.shared ? 2 * job.tres_cpus : n_nodes * std::llround(static_cast<double>(t.signature.memory_mb) / 1000.0);
  std::string out = step ? "" : "billing=" + std::to_string(job.tres_cpus) + ",";
  out += "cpu=" + std::to_string(job.tres_cpus) + ",mem=" + std::to_string(mem_g) +
         "G,node=" + std::to_string(job.shared ? 1 : n_nodes);
  // GRES "gpu:v100:2": a typed count per node.
  const std::string& gres = t.signature.gres;
  const std::size_t a = gres.find(':');
  const std::size_t b = gres.rfind(':');
  if (!job.shared && gres.rfind("gpu", 0) == 0 && a != std::string::npos && b > a) {
    const std::int64_t gpus = n_nodes * std::atoll(gres.c_str() + b + 1);
    out +=
        ",gres/gpu:" + gres.substr(a + 1, b - a - 1) + "=" + std::to_string(gpus) + ",gres/gpu=" + std::to_string(gpus);
  }
  return out;
}

std::vector<std::pair<TimeMs, double>> CarbonIntensitySeries(const Plan& plan) {
  Rng rng(plan.seed, Stream::kCarbon, 0);
  std::vector<std::pair<TimeMs, double>> out;
  double day_offset = 0.0;
  std::int64_t day = INT64_MIN;
  for (TimeMs t = FloorDiv(plan.window_start, kMsPerHour) * kMsPerHour; t < plan.window_end; t += kMsPerHour) {
    if (FloorDiv(t, kMsPerDay) != day) {
      day = FloorDiv(t, kMsPerDay);
      day_offset = 25.0 * rng.Normal();
    }
    const double hour = static_cast<double>(FloorDiv(t, kMsPerHour) % 24);
    // Highest in the local evening (about 02:00 UTC in Denver), lowest at midday solar.
    const double v =
        450.0 + 120.0 * std::cos(2.0 * 3.14159265358979323846 * (hour - 2.0) / 24.0) + day_offset + 6.0 * rng.Normal();
    out.emplace_back(t, std::round(std::clamp(v, 300.0, 600.0) * 10.0) / 10.0);
  }
  return out;
}

}  // namespace wattrun::generate
