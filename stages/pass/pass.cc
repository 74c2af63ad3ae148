#include "stages/pass/pass.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <optional>

#include "core/fault_injection.h"
#include "core/file_io.h"
#include "stages/account/node_accountant.h"
#include "stages/pass/counter_powers.h"
#include "stages/pass/pass_partial.h"
#include "stages/pass/units.h"

namespace wattrun::pass {
namespace {

constexpr TimeUs kNoEdge = std::numeric_limits<TimeUs>::min();
// 8192 readings: 128 KiB of times and watts, well inside a core's L2.
constexpr std::size_t kSliceReadings = 8192;

// The runs of a unit's node that touch it, windows clipped to the unit.
void RunsOfUnit(const PassPlan& plan, const std::string& node, const Unit& unit, std::vector<std::size_t>* runs,
                std::vector<integrate::RunWindow>* windows) {
  const auto it = plan.runs_on_node.find(node);
  if (it == plan.runs_on_node.end()) return;
  for (const auto& r : it->second) {
    if (r.start >= unit.until || r.end < unit.from) continue;
    runs->push_back(r.run);
    windows->push_back({std::max(r.start, unit.from), std::min(r.end, unit.until)});
  }
}

// A run's window split where the carbon intensity steps inside it: the
// pieces after the first (which is the window's start up to the first step)
// go to `pieces`, and every piece's carbon factor (g/J, in effect from its
// start) to `factors`, the first piece's first. The jobs' rule (spec 4).
void SplitAtIntensitySteps(const account::AccountSetup& carbon, const integrate::RunWindow& w,
                           std::vector<integrate::RunWindow>* pieces, std::vector<double>* factors) {
  const auto& steps = carbon.intensity_times;
  TimeUs from = w.start;
  factors->push_back(carbon.CarbonFactorAt(from));
  for (auto it = std::upper_bound(steps.begin(), steps.end(), w.start); it != steps.end() && *it < w.end; ++it) {
    pieces->push_back({from, *it});
    factors->push_back(carbon.CarbonFactorAt(*it));
    from = *it;
  }
  if (!pieces->empty()) pieces->push_back({from, w.end});
}

// Where each run's carbon comes from: with no step inside its window, its
// energy at one factor; else the sum over its pieces, integrated as extra
// windows after the runs' own.
struct RunCarbonPlan {
  std::vector<std::size_t> first_piece;  // per run: index of its first piece window, or npos
  std::vector<std::vector<double>> factors;

  RunCarbonPlan(const account::AccountSetup* carbon, std::vector<integrate::RunWindow>* windows) {
    const std::size_t runs = windows->size();
    first_piece.assign(runs, std::string::npos);
    factors.resize(runs);
    if (!carbon) return;
    for (std::size_t j = 0; j < runs; ++j) {
      std::vector<integrate::RunWindow> pieces;
      SplitAtIntensitySteps(*carbon, (*windows)[j], &pieces, &factors[j]);
      if (pieces.empty()) continue;
      first_piece[j] = windows->size();
      windows->insert(windows->end(), pieces.begin(), pieces.end());
    }
  }

  double CarbonOf(std::size_t j, const std::vector<integrate::RunIntegral>& results) const {
    if (factors[j].empty()) return 0;
    if (first_piece[j] == std::string::npos) return results[j].energy_j * factors[j][0];
    double g = 0;
    for (std::size_t p = 0; p < factors[j].size(); ++p) g += results[first_piece[j] + p].energy_j * factors[j][p];
    return g;
  }
};

// The chunk's readings per UTC day (times ascend: one search per day).
void CountDays(const TimeUs* t, std::size_t n, int type, PassPartial* partial) {
  for (std::size_t at = 0; at < n;) {
    const TimeUs day = t[at] >= 0 ? t[at] / kMicrosPerDay : -((-t[at] + kMicrosPerDay - 1) / kMicrosPerDay);
    const TimeUs next_day = (day + 1) * kMicrosPerDay;
    const std::size_t end = static_cast<std::size_t>(std::lower_bound(t + at, t + n, next_day) - t);
    partial->AddDayReadings(day, type, static_cast<std::int64_t>(end - at));
    at = end;
  }
}

// The consumers of one unit's readings (power readings, or the step-held
// powers of energy counters): the node's runs and, with facility
// accounting, its jobs.
struct UnitConsumers {
  integrate::NodeIntegrator* integrator = nullptr;
  account::NodeAccountant* accountant = nullptr;  // null: no accounting
  bool runs = false;                              // the unit has runs

  bool want_edges() const { return runs || accountant != nullptr; }
  // A neighbour just outside the unit (only shapes the integrals at its edges).
  void Edge(TimeUs t, double w) {
    if (runs) integrator->Add(&t, &w, 1);
    if (accountant) accountant->Add(&t, &w, 1);
  }
  // The consumers take readings a cache-sized slice at a time, so each slice
  // is read from memory once, not once per consumer; so do the unit's value
  // counts when given.
  void Readings(const TimeUs* t, const double* w, std::size_t n, ValueCounts* values) {
    for (std::size_t at = 0; at < n; at += kSliceReadings) {
      const std::size_t m = std::min(kSliceReadings, n - at);
      integrator->Add(t + at, w + at, m);
      if (accountant) accountant->Add(t + at, w + at, m);
      if (values) values->AddAll(w + at, m);
    }
  }
};

// A unit of power readings, with the readings just outside the block, so
// that integrals at its edges interpolate (or hold) exactly as over the
// whole series. Returns the unit's readings.
std::int64_t StreamPowerUnit(store::TelemetryReader& reader, const PassOptions& options, const Unit& unit, int type,
                             UnitConsumers* to, ValueCounts* node_values, PassPartial* partial) {
  TimeUs t_edge = 0;
  double w_edge = 0;
  if (to->want_edges() && unit.from != kNoEdge && reader.ReadingBefore(unit.node, unit.from, &t_edge, &w_edge))
    to->Edge(t_edge, w_edge);
  std::int64_t readings = 0;
  reader.ForEachChunkInRange(unit.node, unit.from, unit.until, options.chunk_readings,
                             [&](const TimeUs* t, const double* w, std::size_t n) {
                               CountDays(t, n, type, partial);
                               to->Readings(t, w, n, node_values);
                               readings += static_cast<std::int64_t>(n);
                             });
  if (to->want_edges() && unit.until != std::numeric_limits<TimeUs>::max() &&
      reader.ReadingFrom(unit.node, unit.until, &t_edge, &w_edge))
    to->Edge(t_edge, w_edge);
  return readings;
}

// A unit of energy counter readings, turned into powers by CounterPowers.
// The reading before the block is always read: the interval ending at the
// block's first reading starts there (its power and any reset are this
// unit's). Returns the unit's readings.
std::int64_t StreamCounterUnit(store::TelemetryReader& reader, const PassOptions& options, const Unit& unit, int type,
                               UnitConsumers* to, ValueCounts* node_values, PassPartial* partial) {
  CounterPowers powers;
  const auto release = [&] {
    to->Readings(powers.times().data(), powers.watts().data(), powers.times().size(), nullptr);
    node_values->AddAll(powers.interval_watts().data(), powers.interval_watts().size());
    powers.Clear();
  };
  TimeUs t_edge = 0;
  double c_edge = 0;
  if (unit.from != kNoEdge && reader.ReadingBefore(unit.node, unit.from, &t_edge, &c_edge))
    powers.Add(&t_edge, &c_edge, 1, false);
  std::int64_t readings = 0;
  reader.ForEachChunkInRange(unit.node, unit.from, unit.until, options.chunk_readings,
                             [&](const TimeUs* t, const double* c, std::size_t n) {
                               CountDays(t, n, type, partial);
                               powers.Add(t, c, n, true);
                               release();
                               readings += static_cast<std::int64_t>(n);
                             });
  if (to->want_edges() && unit.until != std::numeric_limits<TimeUs>::max() &&
      reader.ReadingFrom(unit.node, unit.until, &t_edge, &c_edge))
    powers.Add(&t_edge, &c_edge, 1, false);
  powers.Finish();
  release();
  partial->AddCounterResets(powers.resets());
  return readings;
}

// Streams one unit: the runs of its node that touch it and, with facility
// accounting, the node's jobs.
void StreamUnit(store::TelemetryReader& reader, const PassPlan& plan, const PassOptions& options, const Unit& unit,
                std::size_t unit_index, ValueCounts* node_values, PassPartial* partial) {
  const std::string& name = reader.nodes()[unit.node];
  std::vector<std::size_t> unit_runs;
  std::vector<integrate::RunWindow> windows;
  RunsOfUnit(plan, name, unit, &unit_runs, &windows);
  if (options.energy_counters && !windows.empty() && reader.ReadingCount(unit.node) > 0) {
    const auto [first, last] = reader.TimeSpan(unit.node);
    ClipToCounterSpan(first, last, &windows);
  }
  const RunCarbonPlan carbon(plan.carbon, &windows);
  integrate::NodeIntegrator integrator(std::move(windows), options.method);
  integrator.SetCountRange(unit.from, unit.until);
  std::optional<account::NodeAccountant> accountant;
  if (plan.account && plan.account->node_by_name.count(name)) {
    accountant.emplace(*plan.account, name, unit.from, unit.until, static_cast<std::uint32_t>(unit_index));
  }
  UnitConsumers to{&integrator, accountant ? &*accountant : nullptr, !unit_runs.empty()};
  const int type = plan.TypeIndex(name);
  const std::int64_t readings = options.energy_counters
                                    ? StreamCounterUnit(reader, options, unit, type, &to, node_values, partial)
                                    : StreamPowerUnit(reader, options, unit, type, &to, node_values, partial);
  integrator.Finish();
  for (std::size_t j = 0; j < unit_runs.size(); ++j)
    partial->AddRunPart(unit_runs[j], unit_index, integrator.results()[j], carbon.CarbonOf(j, integrator.results()));
  if (accountant) accountant->Finish(partial->mutable_account());
  partial->AddReadings(readings);
}

// About how many job parts the units [begin, end) make: one per job and
// node (every node of theirs counted whole), plus a few for each unit whose
// edge cuts a job (at scale 1, 9 months: 1,141,380 node jobs, 1,149,874
// parts). Rank 0 is given every unit: it holds all ranks' parts after the
// reduction. An estimate short by some parts costs one regrowth at the end.
std::size_t ExpectedJobParts(const store::TelemetryReader& reader, const account::AccountSetup& setup,
                             const std::vector<Unit>& units, std::size_t begin, std::size_t end) {
  constexpr std::size_t kCutJobsPerUnit = 2;
  std::size_t parts = kCutJobsPerUnit * (end - begin);
  for (std::size_t k = begin; k < end; ++k) {
    if (k != begin && units[k].node == units[k - 1].node) continue;
    const auto it = setup.node_by_name.find(reader.nodes()[units[k].node]);
    if (it != setup.node_by_name.end()) parts += setup.nodes[it->second].jobs.size();
  }
  return parts;
}

// Streams this rank's units into a partial. A node's value counts are
// described here when all its units are this rank's, else handed on whole
// to rank 0 to be merged with the neighbour's part.
PassPartial StreamUnits(store::TelemetryReader& reader, const PassPlan& plan, const PassOptions& options,
                        const std::vector<Unit>& units, std::size_t begin, std::size_t end, bool holds_every_part) {
  PassPartial partial;
  if (plan.account) {
    partial.mutable_account()->ReserveJobParts(ExpectedJobParts(
        reader, *plan.account, units, holds_every_part ? 0 : begin, holds_every_part ? units.size() : end));
  }
  ValueCounts node_values;
  for (std::size_t k = begin; k < end; ++k) {
    const Unit& unit = units[k];
    if (k == begin || unit.first_of_node) node_values.Clear();
    StreamUnit(reader, plan, options, unit, k, &node_values, &partial);
    AddProgress(options.progress, 1);
    if (!unit.last_of_node && k + 1 != end) continue;
    const std::string& name = reader.nodes()[unit.node];
    const int type = plan.TypeIndex(name);
    if (type >= 0) partial.AddTypeValues(static_cast<std::size_t>(type), node_values);
    // Whole here if its first unit is in this rank's range too.
    const bool whole_node_here = unit.last_of_node && (begin == 0 || units[begin - 1].node != unit.node);
    if (whole_node_here) {
      const std::string type_name = type >= 0 ? plan.types[static_cast<std::size_t>(type)] : std::string();
      partial.AddWholeNode(
          idle::DescribeNode(name, type_name, node_values, options.node_quantiles, options.idle_quantile));
    } else {
      partial.AddNodePart(unit.node, node_values);
    }
  }
  return partial;
}

// Rank 0: nodes split between ranks described from their merged counts,
// all node rows sorted by name, run parts summed.
void Finish(PassPartial& merged, const store::TelemetryReader& reader, const PassPlan& plan, const PassOptions& options,
            PassResult* out) {
  out->nodes = merged.whole_nodes();
  for (const auto& [node, values] : merged.node_parts()) {
    const std::string& name = reader.nodes()[node];
    const int type = plan.TypeIndex(name);
    const std::string type_name = type >= 0 ? plan.types[static_cast<std::size_t>(type)] : std::string();
    out->nodes.push_back(idle::DescribeNode(name, type_name, values, options.node_quantiles, options.idle_quantile));
  }
  std::sort(out->nodes.begin(), out->nodes.end(), [](const auto& a, const auto& b) { return a.node < b.node; });
  out->day_type_readings = merged.day_type_readings();
  out->type_values = merged.type_values();
  out->type_values.resize(plan.types.size());
  merged.SumRuns(plan.run_count, &out->run_integrals, &out->integrated, &out->run_carbon_g);
  out->account = merged.TakeAccount();
}

}  // namespace

PassOptions PassOptions::FromConfig(const Config& config, std::size_t chunk_readings) {
  PassOptions o;
  o.energy_counters = config.facility.telemetry_format.kind == TelemetryKind::kEnergyCounter;
  // Counters are integrated as their step-held interval powers (CounterPowers).
  o.method = config.pipeline.integration == Integration::kLinear && !o.energy_counters ? integrate::Method::kLinear
                                                                                       : integrate::Method::kStep;
  o.node_quantiles = config.pipeline.node_quantiles;
  o.idle_quantile = config.pipeline.idle_quantile;
  o.chunk_readings = chunk_readings;
  return o;
}

PassPlan PassPlan::Build(const Config& config, const store::Catalogue& catalogue,
                         const std::vector<join::JoinedRun>& joined) {
  PassPlan plan;
  for (const auto& t : config.facility.node_types) plan.types.push_back(t.name);
  for (const auto& n : catalogue.nodes) plan.type_of_node[n.name] = n.node_type;
  plan.run_count = catalogue.runs.size();
  for (std::size_t i = 0; i < joined.size(); ++i) {
    if (joined[i].status != join::RunStatus::kOk) continue;
    const RunRecord& r = catalogue.runs[i];
    plan.runs_on_node[r.host_name].push_back({i, r.start, r.update});
  }
  return plan;
}

int PassPlan::TypeIndex(const std::string& node) const {
  const auto it = type_of_node.find(node);
  if (it == type_of_node.end()) return -1;
  const auto t = std::find(types.begin(), types.end(), it->second);
  return t == types.end() ? -1 : static_cast<int>(t - types.begin());
}

std::pair<TimeUs, TimeUs> StoreSpan(store::TelemetryReader& reader) {
  TimeUs first = std::numeric_limits<TimeUs>::max(), last = std::numeric_limits<TimeUs>::min();
  for (std::size_t node = 0; node < reader.nodes().size(); ++node) {
    if (reader.ReadingCount(node) == 0) continue;
    const auto [a, b] = reader.TimeSpan(node);
    first = std::min(first, a);
    last = std::max(last, b);
  }
  if (first > last) return {0, -1};
  return {first, last};
}

PassResult RunTelemetryPass(store::TelemetryReader& reader, const PassPlan& plan, const PassOptions& options,
                            const Comm& comm) {
  const auto t0 = std::chrono::steady_clock::now();
  // A failure on one rank outside a collective wrapper (the fault tests check
  // that the whole job then ends promptly instead of hanging).
  MaybeInjectFault("before-collective", comm.rank());
  PassPartial local;
  RunCollectively(comm, [&] {
    MaybeInjectFault("pass", comm.rank());
    const std::vector<Unit> units = PlanUnits(reader);
    const auto [begin, end] = UnitsOfRank(units, comm.rank(), comm.size());
    if (options.progress) {
      options.progress->Begin("telemetry pass", static_cast<std::int64_t>(end - begin),
                              static_cast<std::int64_t>(units.size()), "node blocks");
    }
    local = StreamUnits(reader, plan, options, units, begin, end, /*holds_every_part=*/comm.is_root());
    if (options.progress) options.progress->End();
    local.AddBytesRead(reader.bytes_read());
    local.NotePeakRss(PeakRssBytes());
  });
  PassPartial merged = ReduceToRoot(comm, std::move(local));
  PassResult out;
  RunCollectively(comm, [&] {
    if (comm.is_root()) Finish(merged, reader, plan, options, &out);
  });
  out.readings = comm.AllSum(comm.is_root() ? merged.readings() : 0);
  out.bytes_read = comm.AllSum(comm.is_root() ? merged.bytes_read() : 0);
  out.counter_resets = comm.AllSum(comm.is_root() ? merged.counter_resets() : 0);
  out.peak_rss_bytes = comm.AllMax(comm.is_root() ? merged.peak_rss() : 0);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace wattrun::pass
