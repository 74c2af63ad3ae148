#include "stages/generate/job_accounting.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <tuple>

#include "stages/generate/rng.h"
#include "stages/generate/text_format.h"

namespace wattrun::generate {
namespace {

constexpr std::int64_t kMsPerSecond = 1000;

// A job's claim on one node.
struct Claim {
  int job = -1;
  TimeMs start = 0;
  TimeMs end = 0;
  double weight = 0.0;
};

// The summed weight of the jobs on a node: total[i] holds on [at[i], at[i+1]).
struct NodeLoad {
  std::vector<TimeMs> at;
  std::vector<double> total;
};

NodeLoad BuildLoad(const std::vector<Claim>& claims) {
  NodeLoad load;
  for (const Claim& c : claims) {
    load.at.push_back(c.start);
    load.at.push_back(c.end);
  }
  std::sort(load.at.begin(), load.at.end());
  load.at.erase(std::unique(load.at.begin(), load.at.end()), load.at.end());
  load.total.assign(load.at.size(), 0.0);
  // Summed per interval from the claims themselves (no running sum to drift).
  for (std::size_t i = 0; i + 1 < load.at.size(); ++i) {
    for (const Claim& c : claims) {
      if (c.start <= load.at[i] && c.end >= load.at[i + 1]) load.total[i] += c.weight;
    }
  }
  return load;
}

struct NodeSpan {
  std::int64_t first = 0;  // first and last tick with a reading; first > last: none
  std::int64_t last = -1;
};

struct Integral {
  double energy_j = 0.0;
  double share_s = 0.0;
  double carbon_g = 0.0;  // before PUE
};

class Accountant {
 public:
  explicit Accountant(const Plan& plan) : plan_(plan), claims_(plan.nodes.size()) {
    step_ = plan.config.pipeline.integration == Integration::kStep;
    for (const auto& [t, g] : plan.carbon_intensity) {
      carbon_at_.push_back(t);
      carbon_g_.push_back(g);
    }
    if (carbon_g_.empty()) {
      carbon_at_.push_back(0);
      carbon_g_.push_back(plan.config.pipeline.carbon.intensity_g_per_kwh);
    }
  }

  JobAccounting Run() {
    FindSpans();
    node_samples_.assign(plan_.jobs.size(), {});
    short_.assign(plan_.jobs.size(), 0);
    zero_.assign(plan_.jobs.size(), 0);
    std::vector<JobTruth> truth(plan_.jobs.size());
    for (std::size_t j = 0; j < plan_.jobs.size(); ++j) Prepare(static_cast<int>(j), &truth[j]);
    for (std::size_t n = 0; n < plan_.nodes.size(); ++n) {
      const NodeLoad load = BuildLoad(claims_[n]);
      for (const Claim& c : claims_[n]) Account(static_cast<int>(n), c, load, &truth[static_cast<std::size_t>(c.job)]);
    }
    JobAccounting out;
    out.store_first_ms = store_first_;
    out.store_last_ms = store_last_;
    out.row_of_job.assign(plan_.jobs.size(), -1);
    for (const int j : SacctOrder(plan_)) {
      JobTruth& t = truth[static_cast<std::size_t>(j)];
      Finish(&t);
      out.row_of_job[static_cast<std::size_t>(j)] = static_cast<int>(out.rows.size());
      out.rows.push_back(std::move(t));
    }
    return out;
  }

 private:
  int Cpus(int node) const {
    const int type = plan_.nodes[static_cast<std::size_t>(node)].type;
    return static_cast<int>(plan_.config.facility.node_types[static_cast<std::size_t>(type)].signature.cpus);
  }

  void FindSpans() {
    spans_.resize(plan_.nodes.size());
    store_first_ = INT64_MAX;
    store_last_ = INT64_MIN;
    for (std::size_t n = 0; n < plan_.nodes.size(); ++n) {
      const NodeSeries& s = plan_.nodes[n].series;
      spans_[n].first = NextReadingTick(s, plan_.first_tick, plan_.last_tick);
      spans_[n].last = PrevReadingTick(s, plan_.last_tick, plan_.first_tick);
      if (spans_[n].first > spans_[n].last) continue;
      store_first_ = std::min(store_first_, spans_[n].first * plan_.step_ms);
      store_last_ = std::max(store_last_, spans_[n].last * plan_.step_ms);
    }
  }

  // Window, weights and claims of one job.
  void Prepare(int j, JobTruth* t) {
    const PlanJob& job = plan_.jobs[static_cast<std::size_t>(j)];
    t->job = j;
    t->share_s_by_type.assign(plan_.config.facility.node_types.size(), 0.0);
    t->nodes = static_cast<std::int64_t>(job.nodes.size() + job.unknown_hosts.size());
    t->has_start = job.started;
    t->start_ms = job.start_ms;
    t->has_end = job.started ? !job.running : !job.pending;
    t->end_ms = job.end_ms;
    if (!job.started || job.nodes.empty()) {
      t->status = "not_started";
      return;
    }
    t->has_numbers = true;
    if (job.running) {
      t->end_ms = store_last_;
      t->has_end = true;
    }
    const std::int64_t count = job.tres_cpus > 0 ? job.tres_cpus : job.alloc_cpus > 0 ? job.alloc_cpus : 0;
    t->alloc_cpus = count;
    for (const int n : job.nodes) {
      if (count == 0) t->alloc_cpus += Cpus(n);
      Claim c;
      c.job = j;
      c.start = t->start_ms;
      c.end = std::max(t->start_ms, t->end_ms);
      c.weight = count > 0 ? static_cast<double>(count) / static_cast<double>(t->nodes) : Cpus(n);
      claims_[static_cast<std::size_t>(n)].push_back(c);
    }
    t->run_time_s = static_cast<double>(t->end_ms - t->start_ms) / kMsPerSecond;
    t->status = !job.unknown_hosts.empty() ? "unknown_node" : job.running ? "running" : "";
  }

  // W on [t0, t1] between readings (t0, w0) and (t1, w1), at instant p.
  double W(std::int64_t t0, double w0, std::int64_t t1, double w1, TimeMs p) const {
    if (step_ || t1 == t0) return w0;
    return w0 + (w1 - w0) * static_cast<double>(p - t0) / static_cast<double>(t1 - t0);
  }

  // The share integral of one claim over [p0, p1] inside one reading pair.
  void Pieces(const Claim& c, int cpus, const NodeLoad& load, TimeMs p0, TimeMs p1, std::int64_t t0, double w0,
              std::int64_t t1, double w1, std::size_t* li, Integral* out) const {
    TimeMs p = p0;
    while (p < p1) {
      while (*li + 1 < load.at.size() && load.at[*li + 1] <= p) ++*li;
      TimeMs q = std::min(p1, load.at[*li + 1]);
      const std::size_t ci = static_cast<std::size_t>(std::max<std::ptrdiff_t>(
          0, std::upper_bound(carbon_at_.begin(), carbon_at_.end(), p) - carbon_at_.begin() - 1));
      if (ci + 1 < carbon_at_.size() && carbon_at_[ci + 1] > p) q = std::min(q, carbon_at_[ci + 1]);
      const double share = c.weight / std::max(static_cast<double>(cpus), load.total[*li]);
      const double dt = static_cast<double>(q - p) / kMsPerSecond;
      const double e = share * 0.5 * (W(t0, w0, t1, w1, p) + W(t0, w0, t1, w1, q)) * dt;
      out->energy_j += e;
      out->share_s += share * dt;
      out->carbon_g += e * carbon_g_[ci] / 3.6e6;
      p = q;
    }
  }

  // Energy of a claim: over the window, where the node has readings around.
  Integral Integrate(int node, const Claim& c, const NodeLoad& load) const {
    Integral out;
    const NodeSeries& series = plan_.nodes[static_cast<std::size_t>(node)].series;
    const NodeSpan& span = spans_[static_cast<std::size_t>(node)];
    const std::int64_t step = plan_.step_ms;
    const TimeMs a = std::max(c.start, span.first * step);
    const TimeMs b = std::min(c.end, span.last * step);
    if (span.first > span.last || a >= b) return out;
    const int cpus = Cpus(node);
    SeriesCursor cursor;
    std::int64_t t0 = PrevReadingTick(series, FloorDivTicks(a, step), span.first);
    double w0 = Reading(series, t0, &cursor);
    std::size_t li =
        static_cast<std::size_t>(std::upper_bound(load.at.begin(), load.at.end(), a) - load.at.begin() - 1);
    while (t0 * step < b) {
      const std::int64_t t1 = NextReadingTick(series, t0 + 1, span.last);
      if (t1 > span.last) break;
      const double w1 = Reading(series, t1, &cursor);
      const TimeMs p0 = std::max(a, t0 * step);
      const TimeMs p1 = std::min(b, t1 * step);
      if (p1 > p0) Pieces(c, cpus, load, p0, p1, t0 * step, w0, t1 * step, w1, &li, &out);
      t0 = t1;
      w0 = w1;
    }
    return out;
  }

  // Readings in [start, end], any 0 W among them, and the seconds farther
  // than one interval from every reading.
  void Coverage(int node, const Claim& c, std::int64_t* samples, bool* zero, double* missing_s) const {
    const NodeSeries& series = plan_.nodes[static_cast<std::size_t>(node)].series;
    const NodeSpan& span = spans_[static_cast<std::size_t>(node)];
    const std::int64_t step = plan_.step_ms;
    const std::int64_t lo = std::max(span.first, CeilDivTicks(c.start - step, step));
    const std::int64_t hi = std::min(span.last, FloorDivTicks(c.end + step, step));
    SeriesCursor cursor;
    TimeMs covered_to = c.start;
    double covered = 0.0;
    for (std::int64_t t = lo; t <= hi; ++t) {
      const int v = Reading(series, t, &cursor);
      if (v < 0) continue;
      const TimeMs at = t * step;
      if (at >= c.start && at <= c.end) {
        ++*samples;
        *zero = *zero || v == 0;
      }
      const TimeMs from = std::max(covered_to, at - step);
      const TimeMs to = std::min(c.end, at + step);
      if (to > from) {
        covered += static_cast<double>(to - from);
        covered_to = to;
      }
    }
    *missing_s = (static_cast<double>(c.end - c.start) - covered) / kMsPerSecond;
  }

  void Account(int node, const Claim& c, const NodeLoad& load, JobTruth* t) {
    const Integral in = Integrate(node, c, load);
    t->energy_j += in.energy_j;
    t->carbon_g += in.carbon_g * plan_.config.pipeline.carbon.pue;
    t->share_s_by_type[static_cast<std::size_t>(plan_.nodes[static_cast<std::size_t>(node)].type)] += in.share_s;
    std::int64_t samples = 0;
    bool zero = false;
    double missing = 0.0;
    Coverage(node, c, &samples, &zero, &missing);
    t->samples += samples;
    t->missing_s += missing;
    const double step_s = static_cast<double>(plan_.step_ms) / kMsPerSecond;
    const std::size_t j = static_cast<std::size_t>(t->job);
    node_samples_[j].push_back(samples);
    if (static_cast<double>(samples) < t->run_time_s / step_s - 1.0) short_[j] = 1;
    if (zero) zero_[j] = 1;
  }

  void Finish(JobTruth* t) {
    const PlanJob& job = plan_.jobs[static_cast<std::size_t>(t->job)];
    if (t->status.empty()) {
      const std::size_t j = static_cast<std::size_t>(t->job);
      const auto& s = node_samples_[j];
      const bool none = std::all_of(s.begin(), s.end(), [](std::int64_t k) { return k == 0; });
      t->status = none ? "missing_all" : short_[j] ? "missing_some" : zero_[j] ? "zero_watts" : "ok";
    }
    // ConsumedEnergyRaw: an energy plugin on the GPU partition only (its
    // own meter: a few % off the telemetry); 0 on the shared partition.
    if (!job.started) return;
    if (job.partition == "gpu") {
      Rng rng(plan_.seed, Stream::kSlurmEnergy, static_cast<std::uint64_t>(t->job));
      const double e = job.running ? 0.0 : t->energy_j * std::exp(0.03 * rng.Normal());
      t->slurm_energy = std::to_string(std::llround(e));
    } else if (job.shared) {
      t->slurm_energy = "0";
    }
  }

  const Plan& plan_;
  bool step_ = false;
  std::vector<TimeMs> carbon_at_;
  std::vector<double> carbon_g_;
  std::vector<std::vector<Claim>> claims_;
  std::vector<NodeSpan> spans_;
  TimeMs store_first_ = 0;
  TimeMs store_last_ = 0;
  std::vector<std::vector<std::int64_t>> node_samples_;  // per job, per node
  std::vector<char> short_, zero_;                       // per job: a node short of readings, a 0 W reading
};

}  // namespace

std::string SacctMonth(const Plan& plan, const PlanJob& job) {
  const TimeMs utc = job.started ? job.start_ms : job.submit_ms;
  const std::int64_t local = utc + plan.scheduler_offsets.At(utc);
  return MonthLabel(FloorDiv(local, 86400 * kMsPerSecond));
}

std::vector<int> SacctOrder(const Plan& plan) {
  std::vector<std::string> month(plan.jobs.size());
  for (std::size_t j = 0; j < plan.jobs.size(); ++j) month[j] = SacctMonth(plan, plan.jobs[j]);
  std::vector<int> order(plan.jobs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    const PlanJob& x = plan.jobs[static_cast<std::size_t>(a)];
    const PlanJob& y = plan.jobs[static_cast<std::size_t>(b)];
    return std::tie(month[static_cast<std::size_t>(a)], x.raw_id, x.het_offset) <
           std::tie(month[static_cast<std::size_t>(b)], y.raw_id, y.het_offset);
  });
  return order;
}

JobAccounting ComputeJobAccounting(const Plan& plan) { return Accountant(plan).Run(); }

}  // namespace wattrun::generate
