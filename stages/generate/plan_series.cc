// The plan builder (stages/generate/plan_builder.h): each node's power
// series, the runs' levels, and the telemetry files.

#include "stages/generate/plan_builder.h"

#include <algorithm>

#include "core/error.h"
#include "stages/generate/background_jobs.h"
#include "stages/generate/text_format.h"

namespace wattrun::generate::plan_internal {

void PlanBuilder::BuildSeries() {
  const std::int64_t lo = plan_.first_tick;
  const std::int64_t hi = plan_.last_tick;
  for (const PlanRun& run : plan_.runs) {
    if (run.dropped) continue;
    PlanNode& node = plan_.nodes[static_cast<std::size_t>(run.node)];
    const PlanClass& c = plan_.classes[static_cast<std::size_t>(run.hw_class)];
    const double rt = static_cast<double>(run.run_time_s);
    const double actual = run.std_energy_j - (IdleW(c.reference_type) - IdleW(node.type)) * rt;
    BusySegment s;
    s.first_tick = std::max(lo, CeilTick(run.start_ms));
    s.last_tick = std::min(hi, Tick(run.end_ms));
    if (s.first_tick > s.last_tick) continue;
    s.level_w = actual / rt;
    s.noise_w = 2.0 + 0.03 * std::max(0.0, s.level_w - node.series.idle_w);
    node.series.busy.push_back(s);
  }
  for (const PlanJob& job : plan_.jobs) {
    if (job.butter || job.shared || !job.started) continue;
    for (const int n : job.nodes) {
      PlanNode& node = plan_.nodes[static_cast<std::size_t>(n)];
      BusySegment s;
      s.first_tick = std::max(lo, CeilTick(job.start_ms));
      s.last_tick = std::min(hi, Tick(job.end_ms));
      if (s.first_tick > s.last_tick) continue;
      s.level_w = node.series.idle_w + job.load_w;
      s.noise_w = 6.0;
      node.series.busy.push_back(s);
    }
  }
  AddSharedNodeSeries(&plan_);
  for (PlanNode& node : plan_.nodes) {
    auto& b = node.series.busy;
    std::sort(b.begin(), b.end(),
              [](const BusySegment& x, const BusySegment& y) { return x.first_tick < y.first_tick; });
    for (std::size_t i = 1; i < b.size(); ++i) {
      if (b[i].first_tick <= b[i - 1].last_tick)
        throw Error("generate: internal error: overlapping busy segments on " + node.name);
    }
    const auto& o = node.series.overrides;
    for (std::size_t i = 1; i < o.size(); ++i) {
      if (o[i].first_tick <= o[i - 1].last_tick)
        throw Error("generate: internal error: overlapping overrides on " + node.name);
    }
  }
}

// Sets each run's level so that the linear integral of its (noise
// included, unrounded) readings equals its node energy: the truth's
// standardized energy then matches what the pipeline measures, edges
// included. Neighbouring runs share edge samples: a few Gauss-Seidel sweeps.
void PlanBuilder::SolveLevels() {
  std::vector<std::vector<std::size_t>> by_node(plan_.nodes.size());
  for (std::size_t i = 0; i < plan_.runs.size(); ++i) {
    const PlanRun& r = plan_.runs[i];
    if (!r.dropped) by_node[static_cast<std::size_t>(r.node)].push_back(i);
  }
  const std::int64_t lo = plan_.first_tick;
  const std::int64_t hi = plan_.last_tick;
  for (std::size_t n = 0; n < plan_.nodes.size(); ++n) {
    PlanNode& node = plan_.nodes[n];
    auto& busy = node.series.busy;
    for (int sweep = 0; sweep < 3; ++sweep) {
      for (const std::size_t i : by_node[n]) {
        PlanRun& run = plan_.runs[i];
        const std::int64_t a = std::max(lo, CeilTick(run.start_ms));
        const auto it = std::lower_bound(busy.begin(), busy.end(), a,
                                         [](const BusySegment& s, std::int64_t t) { return s.first_tick < t; });
        if (it == busy.end() || it->first_tick != a) continue;
        if (run.end_ms > plan_.window_end || plan_.jobs[static_cast<std::size_t>(run.job)].running) {
          run.level_w = it->level_w;
          continue;
        }
        const PlanClass& c = plan_.classes[static_cast<std::size_t>(run.hw_class)];
        const double rt = static_cast<double>(run.run_time_s);
        const double target = run.std_energy_j - (IdleW(c.reference_type) - IdleW(node.type)) * rt;
        auto integral = [&](double level) {
          it->level_w = level;
          SeriesCursor cursor;
          return IntegrateLinear(
                     run.start_ms, run.end_ms, plan_.step_ms, lo, hi,
                     [&](std::int64_t t) { return ContinuousReading(node.series, t, &cursor); },
                     [](std::int64_t t) { return t; }, [](std::int64_t t) { return t; })
              .energy_j;
        };
        const double l0 = it->level_w;
        const double i0 = integral(l0);
        const double slope = integral(l0 + 1.0) - i0;
        double level = slope > 0 ? l0 + (target - i0) / slope : l0;
        level = std::clamp(level, node.series.idle_w + 2.0, node.series.idle_w + 4000.0);
        it->level_w = level;
        run.level_w = level;
      }
    }
  }
}

void PlanBuilder::PlanFiles() {
  const int n_nodes = static_cast<int>(plan_.nodes.size());
  const int groups = (n_nodes + kNodesPerFile - 1) / kNodesPerFile;
  for (std::size_t m = 0; m < plan_.months.size(); ++m) {
    for (int g = 0; g < groups; ++g) {
      TelemetryFilePlan f;
      f.index = static_cast<int>(plan_.files.size());
      f.month = static_cast<int>(m);
      f.group = g;
      f.first_node = g * kNodesPerFile;
      f.n_nodes = std::min(kNodesPerFile, n_nodes - f.first_node);
      f.gzip = f.index % 5 == 1;  // a fifth of the files (and bytes)
      f.node_first_columns = plan_.options.dirty && f.index % 7 == 2;
      std::string name = "part-";
      AppendPadded(&name, g, 4);
      f.rel_path = "telemetry/" + plan_.months[m].label + "/" + name + (f.gzip ? ".csv.gz" : ".csv");
      plan_.files.push_back(std::move(f));
    }
  }
}

}  // namespace wattrun::generate::plan_internal
