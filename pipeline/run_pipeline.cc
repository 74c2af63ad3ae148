#include "pipeline/run_pipeline.h"

#include <algorithm>
#include <limits>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>
#include <unordered_map>

#include "core/error.h"
#include "core/fault_injection.h"
#include "core/quantile.h"
#include "stages/idle/idle.h"
#include "stages/ingest/ingest.h"
#include "stages/ingest/store.h"
#include "stages/integrate/integrate.h"
#include "stages/join/join.h"
#include "stages/model/energy_model.h"
#include "stages/model/fit.h"
#include "stages/quality/quality.h"
#include "stages/report/report.h"
#include "stages/standardize/standardize.h"
#include "stages/topology/topology.h"

namespace wattrun::pipeline {
namespace fs = std::filesystem;
using results::PipelineResults;

namespace {

using Clock = std::chrono::steady_clock;
double SecondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// What a rank sends to rank 0 for each run integrated in a unit.
struct RunResultPod {
  std::int64_t run;
  std::int64_t unit;  // partial integrals are added in unit (time) order
  double energy_j;
  std::int64_t samples;
  std::int64_t has_zero;
};

// Fixed-width numbers of one node's distribution row, for the gather.
std::vector<double> PackNode(const idle::NodeDistribution& d) {
  std::vector<double> v{static_cast<double>(d.count), d.min, d.max, d.idle_quantile};
  v.insert(v.end(), d.quantiles.begin(), d.quantiles.end());
  return v;
}

// The telemetry pass's unit of work: one node over one time block. Blocks
// have fixed boundaries (multiples of kBlockMs since the epoch), so the units,
// and the order in which a run's partial integrals are added, do not depend
// on the number of ranks: results are bit-identical for any rank count. The
// first and last block of a node extend to -inf/+inf so that every run on the
// node falls in some unit.
constexpr TimeMs kBlockMs = 30LL * 86400 * 1000;

struct Unit {
  std::size_t node = 0;
  TimeMs from = 0;
  TimeMs until = 0;
  double estimated_readings = 0;
};

std::vector<Unit> PlanUnits(store::TelemetryReader& reader) {
  std::vector<Unit> units;
  for (std::size_t node = 0; node < reader.nodes().size(); ++node) {
    const auto [first, last] = reader.TimeSpan(node);
    const TimeMs b0 = FloorDiv(first, kBlockMs), b1 = FloorDiv(last, kBlockMs);
    const double span = static_cast<double>(std::max<TimeMs>(last - first, 1));
    const double readings = static_cast<double>(reader.ReadingCount(node));
    for (TimeMs b = b0; b <= b1; ++b) {
      Unit u;
      u.node = node;
      u.from = b == b0 ? std::numeric_limits<TimeMs>::min() : b * kBlockMs;
      u.until = b == b1 ? std::numeric_limits<TimeMs>::max() : (b + 1) * kBlockMs;
      // Readings in the block, estimated from the node's span (no I/O).
      const double lo = static_cast<double>(std::max(first, b * kBlockMs));
      const double hi = static_cast<double>(std::min(last + 1, (b + 1) * kBlockMs));
      u.estimated_readings = b0 == b1 ? readings : readings * std::max(hi - lo, 0.0) / span;
      units.push_back(u);
    }
  }
  return units;
}

// Contiguous ranges of units, balanced by estimated readings: a rank streams
// each of its nodes' blocks once and in time order, and only the nodes at the
// edges of its range are shared with a neighbouring rank.
std::pair<std::size_t, std::size_t> MyUnits(const std::vector<Unit>& units, const Comm& comm) {
  double total = 0;
  for (const auto& u : units) total += u.estimated_readings + 1;
  std::size_t begin = units.size(), end = units.size();
  double cum = 0;
  for (std::size_t i = 0; i < units.size(); ++i) {
    const auto owner = static_cast<int>(std::min<double>(cum / total * comm.size(), comm.size() - 1));
    if (owner == comm.rank() && begin == units.size()) begin = i;
    if (owner > comm.rank() && end == units.size()) end = i;
    cum += units[i].estimated_readings + 1;
  }
  if (begin == units.size()) end = begin;
  return {begin, std::max(begin, end)};
}

model::FitOptions ToFitOptions(const FitConfig& c) {
  model::FitOptions o;
  o.loss = c.loss;
  o.loss_scale = c.loss_scale;
  o.max_iterations = c.max_iterations;
  o.cross_validation_folds = c.cross_validation_folds;
  o.min_energy_share = c.min_energy_share;
  o.max_relative_std_error = c.max_relative_std_error;
  return o;
}

void AddQuality(PipelineResults* r, const std::string& stage, const std::string& reason, std::int64_t count) {
  for (auto& q : r->quality) {
    if (q.stage == stage && q.reason == reason) {
      q.count += count;
      return;
    }
  }
  r->quality.push_back({stage, reason, count});
}

}  // namespace

PipelineResults ComputeResults(const Config& config, const std::string& store_path, const RunOptions& options,
                               const Comm& comm, RunSummary* summary) {
  PipelineResults out;
  const auto t_pass = Clock::now();
  store::Catalogue catalogue;
  std::vector<join::JoinedRun> joined;
  std::unique_ptr<store::TelemetryReader> reader;
  RunCollectively(comm, [&] {
    catalogue = store::ReadCatalogue(store_path);
    reader = std::make_unique<store::TelemetryReader>(store_path);
  });
  const auto sampling_ms = static_cast<TimeMs>(std::llround(config.facility.sampling_interval_s * 1000.0));
  joined = join::JoinRuns(catalogue.runs, catalogue.jobs, catalogue.nodes, {sampling_ms});

  // Types, in config order, and each inventory node's type.
  std::vector<std::string> types;
  for (const auto& t : config.facility.node_types) types.push_back(t.name);
  std::unordered_map<std::string, std::string> type_of;
  for (const auto& n : catalogue.nodes) type_of[n.name] = n.node_type;
  std::unordered_map<std::string, std::vector<std::size_t>> runs_on_node;
  for (std::size_t i = 0; i < joined.size(); ++i) {
    if (joined[i].status == join::RunStatus::kOk) runs_on_node[catalogue.runs[i].host_name].push_back(i);
  }

  // --- The telemetry pass: each rank streams its nodes once.
  const integrate::Method method =
      config.pipeline.integration == Integration::kLinear ? integrate::Method::kLinear : integrate::Method::kStep;
  const auto& levels = config.pipeline.node_quantiles;
  std::vector<RunResultPod> local_runs;
  std::vector<ValueCounts> pooled(types.size());
  std::string local_names;
  std::vector<double> local_numbers;
  std::int64_t local_readings = 0;
  // A failure on one rank outside a collective wrapper (the fault tests check
  // that the whole job then ends promptly instead of hanging).
  MaybeInjectFault("before-collective", comm.rank());
  std::vector<double> partial_nodes;  // (node, n_pairs, value, count, ...) of nodes shared with other ranks
  RunCollectively(comm, [&] {
    MaybeInjectFault("pass", comm.rank());
    const std::vector<Unit> units = PlanUnits(*reader);
    const auto [begin, end] = MyUnits(units, comm);
    ValueCounts node_values;
    for (std::size_t k = begin; k < end; ++k) {
      const Unit& unit = units[k];
      const std::string& name = reader->nodes()[unit.node];
      const bool first_of_node = k == 0 || units[k - 1].node != unit.node;
      const bool last_of_node = k + 1 == units.size() || units[k + 1].node != unit.node;
      if (k == begin || first_of_node) node_values.Clear();
      // Runs of the node that touch the unit, their windows clipped to it.
      const auto runs_it = runs_on_node.find(name);
      std::vector<std::size_t> unit_runs;
      std::vector<integrate::RunWindow> windows;
      if (runs_it != runs_on_node.end()) {
        for (std::size_t run : runs_it->second) {
          const RunRecord& r = catalogue.runs[run];
          if (r.start >= unit.until || r.update < unit.from) continue;
          unit_runs.push_back(run);
          windows.push_back({std::max(r.start, unit.from), std::min(r.update, unit.until)});
        }
      }
      integrate::NodeIntegrator integrator(std::move(windows), method);
      integrator.SetCountRange(unit.from, unit.until);
      // The neighbours outside the block, so that integrals at its edges
      // interpolate (or hold) exactly as over the whole series.
      TimeMs t_edge = 0;
      double w_edge = 0;
      if (!unit_runs.empty() && unit.from != std::numeric_limits<TimeMs>::min() &&
          reader->ReadingBefore(unit.node, unit.from, &t_edge, &w_edge)) {
        integrator.Add(&t_edge, &w_edge, 1);
      }
      reader->ForEachChunkInRange(unit.node, unit.from, unit.until, options.chunk_readings,
                                  [&](const TimeMs* t, const double* w, std::size_t n) {
                                    integrator.Add(t, w, n);
                                    node_values.AddAll(w, n);
                                    local_readings += static_cast<std::int64_t>(n);
                                  });
      if (!unit_runs.empty() && unit.until != std::numeric_limits<TimeMs>::max() &&
          reader->ReadingFrom(unit.node, unit.until, &t_edge, &w_edge)) {
        integrator.Add(&t_edge, &w_edge, 1);
      }
      integrator.Finish();
      for (std::size_t j = 0; j < unit_runs.size(); ++j) {
        const auto& r = integrator.results()[j];
        local_runs.push_back({static_cast<std::int64_t>(unit_runs[j]), static_cast<std::int64_t>(k), r.energy_j,
                              r.samples, r.has_zero ? 1 : 0});
      }
      const std::string type = type_of.count(name) ? type_of[name] : std::string();
      const bool node_ends_here = last_of_node || k + 1 == end;
      if (!node_ends_here) continue;
      const auto t = std::find(types.begin(), types.end(), type);
      if (t != types.end()) pooled[static_cast<std::size_t>(t - types.begin())].Merge(node_values);
      // The node is whole here if its first unit is in this rank's range too.
      const bool whole_node_here = last_of_node && (begin == 0 || units[begin - 1].node != unit.node);
      if (whole_node_here) {
        const auto d = idle::DescribeNode(name, type, node_values, levels, config.pipeline.idle_quantile);
        local_names += name + "\n";
        const auto packed = PackNode(d);
        local_numbers.insert(local_numbers.end(), packed.begin(), packed.end());
      } else {
        // Shared with a neighbouring rank: rank 0 merges the parts exactly.
        const auto flat = node_values.Serialize();
        partial_nodes.push_back(static_cast<double>(unit.node));
        partial_nodes.push_back(static_cast<double>(flat.size() / 2));
        partial_nodes.insert(partial_nodes.end(), flat.begin(), flat.end());
      }
    }
  });

  // --- Reduction to rank 0: run integrals, node rows, exact pooled counts.
  auto all_runs = comm.GatherToRoot(local_runs);
  std::string merged_names = local_names;
  std::vector<double> merged_numbers = local_numbers;
  {
    // Nodes split across ranks: merge their exact value counts on rank 0 and
    // describe them there, like any other node.
    const auto all_partial = comm.GatherToRoot(partial_nodes);
    if (comm.is_root()) {
      std::map<std::size_t, ValueCounts> parts;
      for (std::size_t i = 0; i < all_partial.size();) {
        const auto node = static_cast<std::size_t>(all_partial[i]);
        const auto pairs = static_cast<std::size_t>(all_partial[i + 1]);
        parts[node].Merge(ValueCounts::Deserialize(all_partial.data() + i + 2, pairs));
        i += 2 + 2 * pairs;
      }
      for (const auto& [node, values] : parts) {
        const std::string& name = reader->nodes()[node];
        const std::string type = type_of.count(name) ? type_of[name] : std::string();
        const auto d = idle::DescribeNode(name, type, values, levels, config.pipeline.idle_quantile);
        merged_names += name + "\n";
        const auto packed = PackNode(d);
        merged_numbers.insert(merged_numbers.end(), packed.begin(), packed.end());
      }
    }
  }
  const auto all_names = comm.GatherStringsToRoot(comm.is_root() ? merged_names : local_names);
  const auto all_numbers = comm.GatherToRoot(comm.is_root() ? merged_numbers : local_numbers);
  std::vector<ValueCounts> pooled_all(types.size());
  for (std::size_t t = 0; t < types.size(); ++t) {
    const auto flat = comm.GatherToRoot(pooled[t].Serialize());
    if (comm.is_root()) pooled_all[t] = ValueCounts::Deserialize(flat.data(), flat.size() / 2);
  }
  const std::int64_t total_readings = comm.AllSum(local_readings);
  const std::int64_t bytes_read = comm.AllSum(reader->bytes_read());
  const std::int64_t pass_rss = comm.AllMax(ingest::PeakRssBytes());
  const double pass_seconds = SecondsSince(t_pass);
  if (summary) summary->stages.push_back({"telemetry pass", pass_seconds, total_readings, bytes_read, pass_rss});
  out.telemetry_seconds = pass_seconds;
  out.telemetry_readings = total_readings;
  out.telemetry_bytes = bytes_read;
  if (!comm.is_root()) return out;

  // ------------------------------------------------------------ rank 0 only
  const auto t_final = Clock::now();
  out.facility = config.facility.name;
  out.store_path = fs::absolute(store_path).lexically_normal().string();
  out.integration = ToString(config.pipeline.integration);
  out.idle_method = ToString(config.pipeline.idle_method);
  for (const auto& [name, q] : levels) {
    out.node_quantile_names.push_back(name);
    out.node_quantile_levels.push_back(q);
  }
  // Node rows, sorted by node name.
  {
    std::vector<std::string> names;
    for (const auto& block : all_names) {
      std::size_t pos = 0;
      while (pos < block.size()) {
        const std::size_t eol = block.find('\n', pos);
        names.push_back(block.substr(pos, eol - pos));
        pos = eol + 1;
      }
    }
    const std::size_t width = 4 + levels.size();
    for (std::size_t i = 0; i < names.size(); ++i) {
      idle::NodeDistribution d;
      d.node = names[i];
      d.node_type = type_of.count(names[i]) ? type_of[names[i]] : std::string();
      const double* v = all_numbers.data() + i * width;
      d.count = static_cast<std::int64_t>(v[0]);
      d.min = v[1];
      d.max = v[2];
      d.idle_quantile = v[3];
      d.quantiles.assign(v + 4, v + width);
      out.nodes.push_back(std::move(d));
    }
    std::sort(out.nodes.begin(), out.nodes.end(), [](const auto& a, const auto& b) { return a.node < b.node; });
  }
  out.idle = idle::ComputeIdlePower(
      types, pooled_all, out.nodes,
      config.pipeline.idle_method == IdleMethod::kPooled ? idle::Method::kPooled : idle::Method::kMedianOfNodes,
      config.pipeline.idle_quantile);
  for (std::size_t t = 0; t < types.size(); ++t) out.type_low_end.push_back({types[t], pooled_all[t].Sorted()});
  std::unordered_map<std::string, double> idle_w;
  for (const auto& p : out.idle) idle_w[p.node_type] = p.idle_w;

  // Statuses.
  std::vector<integrate::RunIntegral> integrals(catalogue.runs.size());
  std::vector<bool> integrated(catalogue.runs.size(), false);
  // A run's partial integrals, added in unit (time) order: the same sums
  // whatever the number of ranks.
  std::sort(all_runs.begin(), all_runs.end(), [](const RunResultPod& a, const RunResultPod& b) {
    return a.run != b.run ? a.run < b.run : a.unit < b.unit;
  });
  for (const auto& r : all_runs) {
    const auto i = static_cast<std::size_t>(r.run);
    integrals[i].energy_j += r.energy_j;
    integrals[i].samples += r.samples;
    integrals[i].has_zero = integrals[i].has_zero || r.has_zero != 0;
    integrated[i] = true;
  }
  const std::size_t n_runs = catalogue.runs.size();
  std::vector<join::RunStatus> status(n_runs);
  std::vector<quality::FilterInput> filter_input(n_runs);
  out.runs.resize(n_runs);
  for (std::size_t i = 0; i < n_runs; ++i) {
    const RunRecord& rec = catalogue.runs[i];
    results::RunRow& row = out.runs[i];
    row.run_id = rec.run_id;
    row.experiment_id = rec.experiment_id;
    row.slurm_job_id = rec.slurm_job_id;
    row.node = rec.host_name;
    row.node_type = joined[i].node_type;
    row.is_gpu = rec.is_gpu;
    row.dataset = rec.dataset;
    row.shape = rec.shape;
    row.depth = rec.depth;
    row.size = rec.size;
    row.batch_size = rec.batch_size;
    status[i] = joined[i].status;
    const double run_time_s = static_cast<double>(rec.update - rec.start) / 1000.0;
    if (status[i] != join::RunStatus::kBadRunRow && status[i] != join::RunStatus::kBadWindow) row.run_time_s = run_time_s;
    if (status[i] == join::RunStatus::kOk) {
      // Passed the join: the telemetry decides (a node with no telemetry at all
      // was never integrated: no sample).
      const integrate::RunIntegral integral = integrated[i] ? integrals[i] : integrate::RunIntegral{};
      status[i] = quality::TelemetryStatus(integral, run_time_s, config.facility.sampling_interval_s);
      row.samples = integral.samples;
      if (status[i] == join::RunStatus::kOk || status[i] == join::RunStatus::kMissingSome ||
          status[i] == join::RunStatus::kZeroWatts) {
        row.energy_j = integral.energy_j;
      }
    }
    row.status = join::StatusName(status[i]);
    filter_input[i] = {status[i], run_time_s, rec.is_gpu, rec.dataset, rec.size};
  }
  const auto filters = quality::ApplyFilters(
      filter_input, {config.pipeline.filter_max_run_time_s, config.pipeline.filter_max_stdevs});
  std::vector<standardize::OverheadInput> overhead_input(n_runs);
  for (std::size_t i = 0; i < n_runs; ++i) {
    results::RunRow& row = out.runs[i];
    row.filter_1 = filters.filter_1[i];
    row.filter_3 = filters.filter_3[i];
    row.filter_3_stdevs = filters.filter_3_stdevs[i];
    row.filter = filters.filter[i];
    row.usable = status[i] == join::RunStatus::kOk && row.filter.has_value() && !*row.filter;
    if (row.energy_j) {
      const HardwareClassConfig* cls = nullptr;
      try {
        cls = &config.facility.ClassOf(row.is_gpu);
      } catch (const Error&) {
      }
      if (cls && idle_w.count(cls->reference_type) && idle_w.count(row.node_type) &&
          !std::isnan(idle_w[cls->reference_type]) && !std::isnan(idle_w[row.node_type])) {
        row.std_energy_j = standardize::StandardizedEnergy(*row.energy_j, *row.run_time_s,
                                                           idle_w[cls->reference_type], idle_w[row.node_type]);
      }
    }
    overhead_input[i] = {row.usable && row.std_energy_j.has_value(), row.is_gpu, row.dataset, row.size,
                         row.std_energy_j.value_or(0.0), row.run_time_s.value_or(0.0)};
  }
  out.overheads = standardize::ComputeOverheads(
      overhead_input, {config.pipeline.overhead_dataset, config.pipeline.overhead_max_size,
                       config.pipeline.overhead_quantile});
  for (auto& row : out.runs) {
    for (const auto& o : out.overheads) {
      if (o.is_gpu != row.is_gpu || std::isnan(o.energy_overhead_j)) continue;
      if (row.std_energy_j) row.non_overhead_energy_j = *row.std_energy_j - o.energy_overhead_j;
      if (row.std_energy_j && row.run_time_s) row.non_overhead_run_time_s = *row.run_time_s - o.runtime_overhead_s;
    }
  }

  // Quality account.
  for (const auto& q : catalogue.quality) AddQuality(&out, q.stage, q.reason, q.count);
  std::vector<std::int64_t> status_counts(join::kStatusCount, 0);
  for (auto s : status) ++status_counts[static_cast<std::size_t>(s)];
  for (int s = 0; s < join::kStatusCount; ++s) {
    AddQuality(&out, "status", join::StatusName(static_cast<join::RunStatus>(s)), status_counts[static_cast<std::size_t>(s)]);
  }
  std::int64_t f1 = 0, f3 = 0, f = 0, f3_only = 0, usable = 0;
  for (const auto& row : out.runs) {
    f1 += row.filter_1.value_or(false);
    f3 += row.filter_3.value_or(false);
    f += row.filter.value_or(false);
    f3_only += row.filter_3.value_or(false) && !row.filter_1.value_or(false);
    usable += row.usable;
  }
  AddQuality(&out, "filter", "filter_1", f1);
  AddQuality(&out, "filter", "filter_3", f3);
  AddQuality(&out, "filter", "filter_3_not_filter_1", f3_only);
  AddQuality(&out, "filter", "filter", f);
  AddQuality(&out, "filter", "usable", usable);

  // Topology and features (spec steps 9-11) for runs whose data set is known.
  std::unordered_map<std::string, DatasetRecord> datasets;
  for (const auto& d : catalogue.datasets) datasets[d.name] = d;
  std::vector<topology::RunFeatures> features(n_runs);
  std::vector<bool> has_features(n_runs, false);
  std::int64_t unknown_dataset = 0, bad_network = 0;
  std::map<std::pair<std::string, bool>, std::size_t> dummy;
  for (std::size_t i = 0; i < n_runs; ++i) {
    const RunRecord& rec = catalogue.runs[i];
    if (status[i] == join::RunStatus::kBadRunRow) continue;
    const auto d = datasets.find(rec.dataset);
    if (d == datasets.end()) {
      ++unknown_dataset;
      continue;
    }
    try {
      const HardwareClassConfig& cls = config.facility.ClassOf(rec.is_gpu);
      const topology::Network net = topology::BuildNetwork(
          {rec.shape, rec.depth, rec.size, d->second.n_features, d->second.n_outputs()});
      features[i] = topology::ComputeFeatures(net, d->second.n_observations,
                                              rec.batch_size > 0 ? rec.batch_size : 256, config.pipeline.epochs,
                                              cls.memory_levels);
      has_features[i] = true;
      results::FeatureRow fr;
      const auto& fe = features[i];
      fr.run = i;
      fr.n_params = fe.n_params;
      fr.depth = rec.depth;
      fr.n_observations = d->second.n_observations;
      fr.train_observations = (4 * d->second.n_observations) / 5;
      fr.fwd_ops = fe.fwd_ops;
      fr.bwd_ops = fe.bwd_ops;
      fr.total_flops = model::TotalFlops(fe);
      fr.h_t = fe.h_t;
      fr.h_s = fe.h_s;
      fr.epochs = fe.epochs;
      for (std::size_t l = 0; l < fe.t_bytes.size(); ++l) {
        if (fe.t_bytes[l] > fr.t_max_bytes) {
          fr.t_max_bytes = fe.t_bytes[l];
          fr.t_max_level = fe.t_level[l];
        }
      }
      fr.f_bytes = fe.f_bytes;
      fr.f_level = fe.f_level;
      fr.f_test_level = fe.f_test_level;
      fr.b_bytes = fe.b_bytes;
      fr.b_level = fe.b_level;
      fr.d_bytes = fe.d_bytes;
      fr.d_level = fe.d_level;
      out.features.push_back(fr);
    } catch (const Error&) {
      ++bad_network;
    }
  }
  if (unknown_dataset) AddQuality(&out, "datasets", "run_dataset_not_in_datasets_csv", unknown_dataset);
  if (bad_network) AddQuality(&out, "runs", "unknown_shape_or_depth", bad_network);
  if (summary) summary->stages.push_back({"statuses filters idle standardize", SecondsSince(t_final), 0, 0, 0});

  // The model (spec step 12), per hardware class, on usable runs.
  if (options.fit_model) {
    for (const auto& cls : config.facility.hardware_classes) {
      const auto t_fit = Clock::now();
      std::vector<model::FitSample> samples;
      std::vector<std::size_t> sample_run;
      for (std::size_t i = 0; i < n_runs; ++i) {
        const auto& row = out.runs[i];
        if (row.is_gpu != cls.is_gpu || !row.usable || !has_features[i] || !row.std_energy_j) continue;
        samples.push_back({features[i], *row.std_energy_j, row.dataset});
        sample_run.push_back(i);
      }
      results::ModelResult m;
      m.hardware_class = cls.name;
      m.runs = static_cast<std::int64_t>(samples.size());
      const int n_levels = static_cast<int>(cls.memory_levels.size());
      if (samples.size() < 3) {
        m.message = "not fitted: " + std::to_string(samples.size()) + " usable runs";
        const auto names = model::ParameterNames(n_levels);
        const auto units = model::ParameterUnits(n_levels);
        for (std::size_t p = 0; p < names.size(); ++p) m.parameters.push_back({names[p], std::nan(""), std::nullopt, units[p], false, "no fit"});
        out.models.push_back(m);
        continue;
      }
      const model::FitResult fit = model::FitEnergyModel(samples, n_levels, ToFitOptions(config.pipeline.fit));
      m.fitted = fit.solver.usable;
      m.message = fit.message.empty() ? fit.solver.brief_report : fit.message;
      for (const auto& p : fit.parameters) {
        results::ModelParameterRow pr{p.name, p.value, std::nullopt, p.unit, p.determined, p.reason};
        if (!std::isnan(p.std_error)) pr.std_error = p.std_error;
        m.parameters.push_back(pr);
      }
      m.median_ratio = fit.in_sample.median_ratio;
      m.sigma_log_ratio = fit.in_sample.log_sigma;
      m.median_abs_log_error = fit.in_sample.median_abs_log_error;
      m.cv_median_abs_log_error = fit.cross_validation.available ? fit.cross_validation.held_out.median_abs_log_error : std::nan("");
      m.ratio_quantiles = {{0.05, fit.in_sample.q05}, {0.25, fit.in_sample.q25}, {0.5, fit.in_sample.q50},
                           {0.75, fit.in_sample.q75}, {0.95, fit.in_sample.q95}};
      m.baseline_c0 = fit.flops_baseline.c0_j;
      m.baseline_c1 = fit.flops_baseline.c1_j_per_flop;
      m.baseline_median_abs_log_error = fit.flops_baseline.in_sample.median_abs_log_error;
      m.baseline_sigma_log_ratio = fit.flops_baseline.in_sample.log_sigma;
      m.baseline_cv_median_abs_log_error = fit.flops_baseline.cross_validation.available
                                               ? fit.flops_baseline.cross_validation.held_out.median_abs_log_error
                                               : std::nan("");
      for (std::size_t s = 0; s < samples.size(); ++s) {
        if (std::isnan(fit.predicted_j[s])) continue;
        const auto& row = out.runs[sample_run[s]];
        out.predictions.push_back({row.run_id, row.is_gpu, samples[s].energy_j, fit.predicted_j[s],
                                   fit.flops_baseline.c0_j + fit.flops_baseline.c1_j_per_flop * model::TotalFlops(samples[s].features)});
      }
      m.fit_seconds = SecondsSince(t_fit);
      if (summary) summary->stages.push_back({"model fit " + cls.name + " (" + std::to_string(samples.size()) + " runs)", m.fit_seconds, 0, 0, 0});
      out.models.push_back(m);
    }
  }
  for (const auto& l : catalogue.losses) {
    out.loss_experiment.push_back(l.experiment_id);
    out.loss_epoch.push_back(l.epoch);
    out.loss_value.push_back(l.test_loss);
  }
  out.idle_quantile = config.pipeline.idle_quantile;
  out.filter_max_run_time_s = config.pipeline.filter_max_run_time_s;
  out.filter_max_stdevs = config.pipeline.filter_max_stdevs;
  for (const auto& c : config.facility.hardware_classes) out.memory_levels.push_back({c.name, c.is_gpu, c.memory_levels});
  const auto& carbon = config.pipeline.carbon;
  out.pue = carbon.pue;
  out.carbon_g_per_kwh = carbon.intensity_g_per_kwh;
  out.carbon_source = carbon.intensity_g_per_kwh == 475.0 ? "world average (475 g CO2/kWh)" : "configured intensity";
  if (!carbon.mix.empty()) {
    double g = 0;
    std::string mix;
    for (const auto& [source, share] : carbon.mix) {
      const auto it = carbon.source_intensity_g_per_kwh.find(source);
      if (it == carbon.source_intensity_g_per_kwh.end()) {
        throw Error("pipeline.carbon.mix: source '" + source + "' has no entry in source_intensity_g_per_kwh");
      }
      g += share * it->second;
      mix += (mix.empty() ? "" : ", ") + source + " " + results::FormatDouble(100 * share) + "%";
    }
    out.carbon_g_per_kwh = g;
    out.carbon_source = "energy mix: " + mix;
  }
  if (summary) {
    summary->runs = static_cast<std::int64_t>(n_runs);
    summary->usable_runs = usable;
  }
  return out;
}

RunSummary RunPipeline(const Config& config, const RunOptions& options, const Comm& comm,
                       PipelineResults* results_out) {
  RunSummary summary;
  if (options.output_dir.empty()) throw Error("--output is required");
  const std::string store_path =
      options.store_path.empty() ? (fs::path(options.output_dir) / "store.h5").string() : options.store_path;
  RunCollectively(comm, [&] {
    if (comm.is_root()) results::BeginResults(options.output_dir);
  });
  if (!options.input_dir.empty()) {
    ingest::IngestOptions io;
    io.input_dir = options.input_dir;
    io.store_path = store_path;
    io.verbose = options.verbose;
    const auto s = ingest::Ingest(config, io, comm);
    summary.stages.push_back({"ingest", s.seconds, s.rows_stored, s.telemetry_bytes, s.peak_rss_bytes});
    if (comm.is_root() && options.verbose) {
      std::printf("ingest: %lld new files (%lld unchanged), %lld telemetry rows read, %lld stored, %lld bad, "
                  "%lld duplicates, %lld conflicts, %.1f s\n",
                  static_cast<long long>(s.files_new), static_cast<long long>(s.files_unchanged),
                  static_cast<long long>(s.rows_read), static_cast<long long>(s.rows_stored),
                  static_cast<long long>(s.bad_rows), static_cast<long long>(s.duplicates),
                  static_cast<long long>(s.conflicts), s.seconds);
      for (std::size_t i = 0; i < s.warnings.size() && i < 20; ++i) std::printf("  warning: %s\n", s.warnings[i].c_str());
      if (s.warnings.size() > 20) std::printf("  ... %zu more warnings\n", s.warnings.size() - 20);
    }
  }
  PipelineResults results = ComputeResults(config, store_path, options, comm, &summary);
  RunCollectively(comm, [&] {
    if (!comm.is_root()) return;
    const auto t0 = Clock::now();
    results::WriteResults(results, options.output_dir);
    summary.stages.push_back({"write tables and results.h5", SecondsSince(t0), 0, 0, 0});
    if (options.write_report) {
      const auto t1 = Clock::now();
      report::WriteReport(results, (fs::path(options.output_dir) / "report.html").string());
      summary.stages.push_back({"report", SecondsSince(t1), 0, 0, 0});
    }
    results::FinishResults(options.output_dir);
  });
  if (results_out && comm.is_root()) *results_out = std::move(results);
  return summary;
}

}  // namespace wattrun::pipeline
