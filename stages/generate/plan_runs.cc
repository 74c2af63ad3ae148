// The plan builder (stages/generate/plan_builder.h): the BUTTER-E sweep,
// its runs, long runs and run-time outliers.

#include "stages/generate/plan_builder.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>
#include <tuple>

#include "core/error.h"
#include "stages/generate/catalog.h"
#include "stages/model/energy_model.h"
#include "stages/topology/topology.h"

namespace wattrun::generate::plan_internal {
namespace {

// The paper's counts per 41,129 runs (section 4; spec steps 4-5).
constexpr double kPaperLongRuns = 163;
constexpr double kPaperOutliers = 78;
constexpr std::int64_t kBatchSize = 256;
constexpr std::int64_t kMinRunTimeS = 65;       // every run holds at least one sample
constexpr std::int64_t kMaxRunTimeS = 60000;    // below filter_1's 75,000 s
constexpr double kMaxExpectedRunTimeS = 40000;  // sweep points beyond are skipped
constexpr double kMinDynamicW = 10;
constexpr double kBadDayShare = 0.85;
constexpr double kOutlierMarginStdevs = 0.6;
constexpr std::int64_t kMinOutlierGroup = 25;
constexpr int kGroupRunsTarget = 40;

std::string Uuid(Rng* rng) {
  static const char* kHex = "0123456789abcdef";
  const std::uint64_t a = rng->Next();
  const std::uint64_t b = rng->Next();
  std::string out;
  for (int i = 0; i < 32; ++i) {
    std::uint64_t nibble = (i < 16 ? a >> (4 * i) : b >> (4 * (i - 16))) & 15;
    if (i == 12) nibble = 4;                 // version 4
    if (i == 16) nibble = 8 | (nibble & 3);  // variant 10xx
    if (i == 8 || i == 12 || i == 16 || i == 20) out.push_back('-');
    out.push_back(kHex[nibble]);
  }
  return out;
}

}  // namespace

// One empty group per (active class, data set, size).
std::vector<SweepGroup> PlanBuilder::EmptySweepGroups(const std::vector<std::int64_t>& sizes) const {
  std::vector<SweepGroup> groups;
  for (std::size_t c = 0; c < plan_.classes.size(); ++c) {
    if (!ClassActive(plan_.classes[c])) continue;
    for (std::size_t d = 0; d < plan_.datasets.size(); ++d) {
      for (const std::int64_t size : sizes) {
        SweepGroup g;
        g.hw_class = static_cast<int>(c);
        g.dataset = static_cast<int>(d);
        g.size = size;
        groups.push_back(std::move(g));
      }
    }
  }
  return groups;
}

// The sweep's networks; each is built once (networks are the same on every
// class) and added, with its class's model energy, to the groups of its data
// set and size unless it would run too long.
void PlanBuilder::AddSweepPoints(const std::vector<std::int64_t>& sizes, std::vector<SweepGroup>* groups) {
  const auto& all = ButterDatasets();
  const auto& shapes = SweepShapes();
  const auto& depths = SweepDepths();
  for (std::size_t d = 0; d < plan_.datasets.size(); ++d) {
    const DatasetInfo& ds = plan_.datasets[d];
    const std::int64_t global_d =
        std::find_if(all.begin(), all.end(), [&](const DatasetInfo& x) { return x.name == ds.name; }) - all.begin();
    for (std::size_t si = 0; si < sizes.size(); ++si) {
      for (std::size_t sh = 0; sh < shapes.size(); ++sh) {
        for (std::size_t de = 0; de < depths.size(); ++de) {
          topology::NetworkSpec spec;
          spec.shape = shapes[sh];
          spec.depth = depths[de];
          spec.target_size = sizes[si];
          spec.n_inputs = ds.n_features;
          spec.n_outputs = ds.n_outputs();
          const topology::Network network = topology::BuildNetwork(spec);
          SweepPoint p;
          p.dataset = static_cast<int>(d);
          p.shape = static_cast<int>(sh);
          p.depth = depths[de];
          p.size = sizes[si];
          p.n_params = network.n_params;
          p.experiment_id = 100000 +
                            ((global_d * static_cast<std::int64_t>(sizes.size()) + static_cast<std::int64_t>(si)) *
                                 static_cast<std::int64_t>(shapes.size()) +
                             static_cast<std::int64_t>(sh)) *
                                static_cast<std::int64_t>(depths.size()) +
                            static_cast<std::int64_t>(de);
          AddToGroups(network, ds, p, groups);
        }
      }
    }
  }
}

void PlanBuilder::AddToGroups(const topology::Network& network, const DatasetInfo& ds, SweepPoint p,
                              std::vector<SweepGroup>* groups) {
  const std::int64_t epochs = plan_.config.pipeline.epochs;
  for (auto& g : *groups) {
    if (g.dataset != p.dataset || g.size != p.size) continue;
    const PlanClass& c = plan_.classes[static_cast<std::size_t>(g.hw_class)];
    const topology::RunFeatures f = topology::ComputeFeatures(network, ds.n_observations, kBatchSize, epochs, c.memory);
    p.model_energy_j = model::PredictEnergy(f, c.parameters);
    ++plan_.sweep_points;
    const double idle_ref = IdleW(c.reference_type);
    if (p.model_energy_j / (idle_ref + DynamicW(c, p.size, 1.0)) > kMaxExpectedRunTimeS) {
      ++plan_.sweep_points_skipped;
      continue;
    }
    g.points.push_back(p);
  }
}

// At small scales the runs concentrate on fewer (class, data set, size)
// groups, so that groups stay large enough for filter_3 to act. Returns the
// chosen groups' indices, sorted.
std::vector<std::size_t> PlanBuilder::ChooseGroups(const std::vector<SweepGroup>& groups, std::int64_t n_runs) {
  std::set<int> active_classes;
  for (const auto& g : groups) active_classes.insert(g.hw_class);
  const std::size_t n_target = std::min<std::size_t>(
      groups.size(),
      std::max<std::size_t>(active_classes.size(),
                            static_cast<std::size_t>((n_runs + kGroupRunsTarget - 1) / kGroupRunsTarget)));
  Rng rng(seed(), Stream::kSweep, 0);
  std::vector<std::size_t> chosen;
  std::vector<bool> taken(groups.size(), false);
  // Always one overhead group per class: the overhead data set at the
  // largest size not above the overhead limit.
  for (const int c : active_classes) {
    std::ptrdiff_t best = -1;
    for (std::size_t i = 0; i < groups.size(); ++i) {
      const auto& g = groups[i];
      if (g.hw_class == c &&
          plan_.datasets[static_cast<std::size_t>(g.dataset)].name == plan_.config.pipeline.overhead_dataset &&
          g.size <= plan_.config.pipeline.overhead_max_size &&
          (best < 0 || g.size > groups[static_cast<std::size_t>(best)].size)) {
        best = static_cast<std::ptrdiff_t>(i);
      }
    }
    if (best >= 0 && chosen.size() < n_target) {
      chosen.push_back(static_cast<std::size_t>(best));
      taken[static_cast<std::size_t>(best)] = true;
    }
  }
  // The rest: the classes in turn, each its groups in random order.
  std::vector<std::vector<std::size_t>> per_class;
  for (const int c : active_classes) {
    std::vector<std::size_t> list;
    for (std::size_t i = 0; i < groups.size(); ++i) {
      if (groups[i].hw_class == c && !taken[i]) list.push_back(i);
    }
    rng.Shuffle(&list);
    per_class.push_back(std::move(list));
  }
  for (std::size_t k = 0; chosen.size() < n_target; ++k) {
    bool any = false;
    for (auto& list : per_class) {
      if (k < list.size() && chosen.size() < n_target) {
        chosen.push_back(list[k]);
        any = true;
      }
    }
    if (!any) break;
  }
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

void PlanBuilder::BuildRuns() {
  plan_.datasets = SelectDatasets(plan_.config.generator.datasets);
  const std::vector<std::int64_t> sizes = SweepSizes();
  std::vector<SweepGroup> groups = EmptySweepGroups(sizes);
  AddSweepPoints(sizes, &groups);
  groups.erase(std::remove_if(groups.begin(), groups.end(), [](const SweepGroup& g) { return g.points.empty(); }),
               groups.end());
  if (groups.empty()) throw Error("generate: no runnable sweep point (no active hardware class?)");

  const std::int64_t n_runs = std::max<std::int64_t>(
      1, std::llround(static_cast<double>(plan_.config.generator.runs_at_scale_1) * plan_.options.scale));
  const std::vector<std::size_t> chosen = ChooseGroups(groups, n_runs);
  plan_.groups_used = static_cast<std::int64_t>(chosen.size());

  // The runs dealt evenly over the chosen groups, each group's points in
  // random order (repeated when the group has fewer points than runs).
  const std::int64_t n_groups = static_cast<std::int64_t>(chosen.size());
  for (std::int64_t gi = 0; gi < n_groups; ++gi) {
    SweepGroup& g = groups[chosen[static_cast<std::size_t>(gi)]];
    const std::int64_t k = n_runs / n_groups + (gi < n_runs % n_groups ? 1 : 0);
    Rng grng(seed(), Stream::kSweep, 1000 + chosen[static_cast<std::size_t>(gi)]);
    grng.Shuffle(&g.points);
    for (std::int64_t j = 0; j < k; ++j) {
      AddRun(g, g.points[static_cast<std::size_t>(j) % g.points.size()]);
    }
  }
}

void PlanBuilder::AddRun(const SweepGroup& g, const SweepPoint& p) {
  const PlanClass& c = plan_.classes[static_cast<std::size_t>(g.hw_class)];
  PlanRun run;
  run.index = static_cast<std::int64_t>(plan_.runs.size());
  Rng rng(seed(), Stream::kRun, static_cast<std::uint64_t>(run.index));
  run.run_id = Uuid(&rng);
  run.experiment_id = p.experiment_id;
  run.dataset = p.dataset;
  run.shape = SweepShapes()[static_cast<std::size_t>(p.shape)];
  run.depth = p.depth;
  run.size = p.size;
  run.hw_class = g.hw_class;
  run.is_gpu = c.is_gpu;
  run.n_params = p.n_params;
  run.model_energy_j = p.model_energy_j;
  const double idle_ref = IdleW(c.reference_type);
  // Standardized energy = model x log-normal noise (median 1). The run
  // time follows from a physically sane power; a draw that would give a
  // run shorter than 65 s (no sample) or longer than 60,000 s is redrawn:
  // the noise is truncated there.
  double dyn = DynamicW(c, p.size, rng.Uniform(0.85, 1.15));
  double z = rng.Normal();
  double energy = 0.0, rt = 0.0;
  for (int attempt = 0; attempt < 64; ++attempt) {
    energy = p.model_energy_j * std::exp(c.sigma * z);
    rt = energy / (idle_ref + dyn);
    // Out of bounds: move the run time just inside the bound if the power
    // that takes is sane, else draw the noise again.
    const bool too_short = rt < kMinRunTimeS;
    if (too_short || rt > kMaxRunTimeS) {
      const double target = too_short ? kMinRunTimeS + rng.Uniform(0.0, 25.0) : kMaxRunTimeS - rng.Uniform(0.0, 5000.0);
      const double d2 = energy / target - idle_ref;
      if (too_short ? d2 >= kMinDynamicW : d2 <= c.dyn_hi_w * 1.6) {
        dyn = d2;
        rt = target;
        break;
      }
      z = rng.Normal();
      continue;
    }
    break;
  }
  run.std_energy_j = energy;
  run.run_time_s = std::clamp<std::int64_t>(std::llround(rt), kMinRunTimeS, kMaxRunTimeS);
  plan_.runs.push_back(std::move(run));
}

double PlanBuilder::GroupZ(const std::vector<double>& xs, std::size_t j, double delta) const {
  const double n = static_cast<double>(xs.size());
  double mean = 0.0;
  for (std::size_t i = 0; i < xs.size(); ++i) mean += xs[i] + (i == j ? delta : 0.0);
  mean /= n;
  double var = 0.0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double d = xs[i] + (i == j ? delta : 0.0) - mean;
    var += d * d;
  }
  var /= n;
  return var > 0 ? (xs[j] + delta - mean) / std::sqrt(var) : 0.0;
}

// Stretches a run to `new_rt` seconds: the extra time at a stalled node's
// power (reference idle plus a little), so the standardized energy grows.
void PlanBuilder::Stretch(PlanRun* run, std::int64_t new_rt, Rng* rng) {
  const PlanClass& c = plan_.classes[static_cast<std::size_t>(run->hw_class)];
  const double stall_w = IdleW(c.reference_type) + rng->Uniform(5.0, 40.0);
  run->std_energy_j += static_cast<double>(new_rt - run->run_time_s) * stall_w;
  run->run_time_s = new_rt;
}

void PlanBuilder::StretchLongRuns() {
  const std::int64_t n = static_cast<std::int64_t>(plan_.runs.size());
  std::int64_t target = std::min(Target(kPaperLongRuns, n), n / 4);
  Rng rng(seed(), Stream::kLongRuns, 0);
  // Long runs go to the classes with many nodes (CPUs on Eagle), so that
  // a day's worth of them can start on the one bad day.
  std::size_t most = 0;
  for (const PlanClass& c : plan_.classes) most = std::max(most, c.nodes.size());
  std::vector<std::int64_t> order;
  for (std::int64_t i = 0; i < n; ++i) {
    const PlanClass& c = plan_.classes[static_cast<std::size_t>(plan_.runs[static_cast<std::size_t>(i)].hw_class)];
    if (4 * c.nodes.size() >= most) order.push_back(i);
  }
  rng.Shuffle(&order);
  target = std::min<std::int64_t>(target, static_cast<std::int64_t>(order.size()));
  const std::int64_t bad_day = static_cast<std::int64_t>(std::ceil(kBadDayShare * static_cast<double>(target)));
  const double limit = plan_.config.pipeline.filter_max_run_time_s;
  for (std::int64_t k = 0; k < target; ++k) {
    PlanRun& run = plan_.runs[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])];
    Stretch(&run, std::llround(limit * rng.Uniform(1.01, 1.85)), &rng);
    run.fault = k < bad_day ? RunFault::kLongRunBadDay : RunFault::kLongRun;
  }
}

void PlanBuilder::StretchOutliers() {
  const std::int64_t n = static_cast<std::int64_t>(plan_.runs.size());
  const std::int64_t target = std::min(Target(kPaperOutliers, n), n / 8);
  std::map<std::tuple<int, int, std::int64_t>, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < plan_.runs.size(); ++i) {
    const PlanRun& r = plan_.runs[i];
    groups[{r.hw_class, r.dataset, r.size}].push_back(i);
  }
  // Some groups hold outliers already (a network whose working sets sit
  // at another memory level than its group's): count them against the
  // target, so that filter_3 removes about the paper's share in total.
  const double threshold = plan_.config.pipeline.filter_max_stdevs;
  std::int64_t natural = 0;
  for (const auto& [key, members] : groups) {
    std::vector<double> xs;
    for (const std::size_t m : members) xs.push_back(std::log(static_cast<double>(plan_.runs[m].run_time_s)));
    for (std::size_t j = 0; j < members.size(); ++j) {
      if (plan_.runs[members[j]].fault == RunFault::kNone && std::fabs(GroupZ(xs, j, 0.0)) > threshold) ++natural;
    }
  }
  plan_.notes["runtime_outlier_natural"] = natural;
  const std::int64_t to_make = std::max<std::int64_t>(0, target - natural);
  Rng rng(seed(), Stream::kOutliers, 0);
  std::vector<std::size_t> order(plan_.runs.size());
  std::iota(order.begin(), order.end(), 0);
  rng.Shuffle(&order);
  std::set<std::tuple<int, int, std::int64_t>> used;
  const double z_target = plan_.config.pipeline.filter_max_stdevs + kOutlierMarginStdevs;
  std::int64_t made = 0;
  for (const std::size_t i : order) {
    if (made >= to_make) break;
    PlanRun& run = plan_.runs[i];
    if (run.fault != RunFault::kNone) continue;
    const auto key = std::make_tuple(run.hw_class, run.dataset, run.size);
    if (used.count(key)) continue;
    const auto& members = groups[key];
    if (static_cast<std::int64_t>(members.size()) < kMinOutlierGroup) continue;
    bool has_long = false;
    std::vector<double> xs;
    std::size_t j = 0;
    for (const std::size_t m : members) {
      const PlanRun& r = plan_.runs[m];
      has_long = has_long || r.fault != RunFault::kNone;
      if (m == i) j = xs.size();
      xs.push_back(std::log(static_cast<double>(r.run_time_s)));
    }
    if (has_long) continue;
    const double max_delta = std::log(static_cast<double>(kMaxRunTimeS) / static_cast<double>(run.run_time_s));
    double delta = -1.0;
    for (double d = 0.1; d <= max_delta; d += 0.05) {
      if (GroupZ(xs, j, d) >= z_target) {
        delta = d;
        break;
      }
    }
    if (delta < 0) continue;
    Stretch(&run, std::llround(static_cast<double>(run.run_time_s) * std::exp(delta)), &rng);
    run.fault = RunFault::kRuntimeOutlier;
    used.insert(key);
    ++made;
  }
  plan_.intended["runtime_outlier"] = made;
  plan_.notes["runtime_outlier_target"] = target;
}

}  // namespace wattrun::generate::plan_internal
