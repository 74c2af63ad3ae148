#include "stages/generate/plan.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "core/error.h"
#include "stages/generate/background_jobs.h"
#include "stages/generate/rng.h"
#include "stages/generate/text_format.h"
#include "stages/model/energy_model.h"
#include "stages/topology/topology.h"

namespace wattrun::generate {
namespace {

constexpr std::int64_t kMsPerSecond = 1000;
constexpr std::int64_t kMsPerHour = 3600 * kMsPerSecond;
constexpr std::int64_t kMsPerDay = 24 * kMsPerHour;

// The paper's counts per 41,129 runs (section 4; spec steps 4-5).
constexpr double kPaperRuns = 41129.0;
constexpr double kPaperNoTelemetry = 44;
constexpr double kPaperLostMinute = 137;
constexpr double kPaperLostMinutes = 14;
constexpr double kPaperZeroWatts = 470;
constexpr double kPaperLongRuns = 163;
constexpr double kPaperOutliers = 78;
// Join and row faults of a real facility (this generator's choice), per 41,129 runs.
constexpr double kDirtUnknownNode = 4;
constexpr double kDirtNoJob = 12;
constexpr double kDirtHostNotInJob = 8;
constexpr double kDirtOutsideJobWindow = 8;
constexpr double kDirtBadRunRow = 4;
constexpr double kDirtBadWindow = 3;

constexpr std::int64_t kBatchSize = 256;
constexpr std::int64_t kMinRunTimeS = 65;       // every run holds at least one sample
constexpr std::int64_t kMaxRunTimeS = 60000;    // below filter_1's 75,000 s
constexpr double kMaxExpectedRunTimeS = 40000;  // sweep points beyond are skipped
constexpr double kMinDynamicW = 10;
constexpr std::int64_t kJobGuardMs = 5 * 60 * kMsPerSecond;  // free time between jobs on a node
constexpr std::int64_t kMaxJobS = 36 * 3600;
constexpr double kBadDayShare = 0.85;
constexpr double kOutlierMarginStdevs = 0.6;
constexpr std::int64_t kMinOutlierGroup = 25;
constexpr int kGroupRunsTarget = 40;
constexpr double kOtherUtilizationCpu = 0.12;
constexpr double kOtherUtilizationGpu = 0.10;
constexpr TimeMs kGuardMs = 3 * kMsPerHour;  // around daylight-saving changes

std::int64_t Target(double paper_count, std::int64_t runs) {
  if (runs <= 0) return 0;
  return std::max<std::int64_t>(1, std::llround(paper_count / kPaperRuns * static_cast<double>(runs)));
}

void ParseDate(const std::string& text, int* y, int* m, int* d) {
  int year = 0, month = 0, day = 0;
  char dash1 = 0, dash2 = 0;
  bool ok = text.size() == 10 &&
            std::sscanf(text.c_str(), "%4d%c%2d%c%2d", &year, &dash1, &month, &dash2, &day) == 5;
  ok = ok && dash1 == '-' && dash2 == '-' && month >= 1 && month <= 12 && day >= 1 &&
       day <= DaysInMonth(year, month);
  if (!ok) throw Error("generator.start_date: expected YYYY-MM-DD, got '" + text + "'");
  *y = year;
  *m = month;
  *d = day;
}

// Days since the epoch of (year, month + add, day), the day clamped to the month.
std::int64_t AddMonths(int year, int month, int day, int add) {
  const int total = (year * 12 + (month - 1)) + add;
  const int y = total / 12;
  const int m = total % 12 + 1;
  return DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(std::min(day, DaysInMonth(y, m))));
}

ZoneOffsets ScanOffsets(const TimeZone& zone, TimeMs from, TimeMs to) {
  ZoneOffsets out;
  std::int64_t current = zone.OffsetAt(from);
  out.offset_ms.push_back(current);
  for (TimeMs t = from + kMsPerHour; t <= to; t += kMsPerHour) {
    const std::int64_t offset = zone.OffsetAt(t);
    if (offset == current) continue;
    TimeMs lo = t - kMsPerHour;
    TimeMs hi = t;
    while (hi - lo > 1) {
      const TimeMs mid = lo + (hi - lo) / 2;
      (zone.OffsetAt(mid) == current ? lo : hi) = mid;
    }
    out.change_at.push_back(hi);
    out.offset_ms.push_back(offset);
    current = offset;
  }
  return out;
}

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

struct SweepPoint {
  int dataset = 0;  // index into Plan::datasets
  int shape = 0;
  int depth = 0;
  std::int64_t size = 0;
  std::int64_t experiment_id = 0;
  std::int64_t n_params = 0;
  double model_energy_j = 0.0;
};

struct SweepGroup {
  int hw_class = 0;
  int dataset = 0;
  std::int64_t size = 0;
  std::vector<SweepPoint> points;
};

class Builder {
 public:
  Builder(const Config& config, const GenerateOptions& options) {
    plan_.config = config;
    plan_.options = options;
    plan_.seed = options.seed;
  }

  Plan Build() {
    Validate();
    SetUpTime();
    BuildNodes();
    BuildClasses();
    BuildRuns();
    StretchLongRuns();
    StretchOutliers();
    PackJobs();
    PlaceButterJobs();
    PlaceOtherJobs();
    PlaceBackgroundJobs();
    AssignJobIds();
    AssignAllocations(&plan_);
    SetWrittenFields();
    if (plan_.options.dirty) InjectJoinFaults();
    InjectTelemetryFaults();
    if (plan_.options.dirty) InjectSeriesDirt();
    BuildSeries();
    SolveLevels();
    PlanFiles();
    plan_.carbon_intensity = CarbonIntensitySeries(plan_);
    return std::move(plan_);
  }

 private:
  const FacilityConfig& facility() const { return plan_.config.facility; }
  std::uint64_t seed() const { return plan_.seed; }
  std::int64_t Tick(TimeMs t) const { return FloorDivTicks(t, plan_.step_ms); }
  std::int64_t CeilTick(TimeMs t) const { return CeilDivTicks(t, plan_.step_ms); }

  void Validate() {
    const GenerateOptions& o = plan_.options;
    if (!(o.scale > 0.0) || !std::isfinite(o.scale)) {
      throw Error("generate: scale must be > 0, got " + FormatDouble(o.scale));
    }
    if (o.months < 1 || o.months > 120) {
      throw Error("generate: months must be in 1..120, got " + std::to_string(o.months));
    }
    if (facility().node_types.empty()) throw Error("facility.node_types: none configured");
    const double step_s = facility().sampling_interval_s;
    const std::int64_t step_ms = std::llround(step_s * 1000.0);
    if (step_ms < 1000 || step_ms % 1000 != 0 || kMsPerDay % step_ms != 0) {
      throw Error("facility.sampling_interval_s: the generator needs whole seconds dividing a day, got " +
                  FormatDouble(step_s));
    }
    plan_.step_ms = step_ms;
  }

  // ---- time ---------------------------------------------------------------

  bool SchedulerTimeOk(TimeMs t) const {
    // A local time read back as a different instant (the second pass of a
    // repeated hour reads as the first) would move a job: avoid such times.
    const std::int64_t wall = t + plan_.scheduler_offsets.At(t);
    const LocalTimeResult r = plan_.scheduler_zone.FromLocal(wall);
    return r.kind != LocalTimeKind::kNonexistent && r.earlier == t;
  }

  bool NearTransition(TimeMs from, TimeMs to) const {
    for (const auto& [lo, hi] : plan_.guards) {
      if (from < hi && to > lo) return true;
    }
    return false;
  }

  void SetUpTime() {
    plan_.telemetry_zone = TimeZone::Load(facility().telemetry.timezone);
    plan_.scheduler_zone = TimeZone::Load(facility().scheduler.timezone);
    plan_.telemetry_z_suffix = facility().telemetry.ignore_z || plan_.telemetry_zone.is_utc();
    int y = 0, m = 0, d = 0;
    ParseDate(plan_.config.generator.start_date, &y, &m, &d);
    const std::int64_t start_day = DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
    const std::int64_t end_day = AddMonths(y, m, d, plan_.options.months);
    const TimeZone& tz = plan_.telemetry_zone;
    plan_.window_start = tz.FromLocal(start_day * kMsPerDay).earlier;
    plan_.window_end = tz.FromLocal(end_day * kMsPerDay).earlier;
    plan_.snapshot_ms = plan_.window_end - 2 * 60 * kMsPerSecond;
    plan_.first_tick = CeilTick(plan_.window_start);
    plan_.last_tick = CeilTick(plan_.window_end) - 1;
    // Months of the telemetry's local calendar.
    for (int k = 0;; ++k) {
      const std::int64_t lo_day = k == 0 ? start_day : AddMonths(y, m, 1, k);
      if (lo_day >= end_day) break;
      const std::int64_t hi_day = std::min(end_day, AddMonths(y, m, 1, k + 1));
      MonthSpan span;
      span.label = MonthLabel(lo_day);
      span.first_tick = CeilTick(tz.FromLocal(lo_day * kMsPerDay).earlier);
      span.last_tick = CeilTick(tz.FromLocal(hi_day * kMsPerDay).earlier) - 1;
      plan_.months.push_back(span);
    }
    const TimeMs scan_from = plan_.window_start - 2 * kMsPerDay;
    const TimeMs scan_to = plan_.window_end + 2 * kMsPerDay;
    plan_.telemetry_offsets = ScanOffsets(plan_.telemetry_zone, scan_from, scan_to);
    plan_.scheduler_offsets = ScanOffsets(plan_.scheduler_zone, scan_from, scan_to);
    std::set<TimeMs> transitions;
    for (const ZoneOffsets* z : {&plan_.telemetry_offsets, &plan_.scheduler_offsets}) {
      for (const TimeMs t : z->change_at) {
        if (t >= plan_.window_start && t < plan_.window_end) transitions.insert(t);
      }
    }
    for (const TimeMs t : transitions) {
      plan_.transitions.push_back(t);
      plan_.guards.emplace_back(t - kGuardMs, t + kGuardMs);
    }
    // The bad day of the long runs: 40 % into the window, a day without a
    // clock change (scheduler's local calendar).
    const TimeMs probe = plan_.window_start + (plan_.window_end - plan_.window_start) * 2 / 5;
    std::int64_t day = FloorDivTicks(probe + plan_.scheduler_offsets.At(probe), kMsPerDay);
    for (int tries = 0; tries < 5; ++tries, ++day) {
      plan_.bad_day_start = plan_.scheduler_zone.FromLocal(day * kMsPerDay).earlier;
      plan_.bad_day_end = plan_.scheduler_zone.FromLocal((day + 1) * kMsPerDay).earlier;
      if (!NearTransition(plan_.bad_day_start, plan_.bad_day_end)) break;
    }
    if (plan_.bad_day_end > plan_.window_end - 2 * kMsPerHour) {
      plan_.bad_day_start = plan_.window_start;
      plan_.bad_day_end = std::min(plan_.window_end, plan_.window_start + kMsPerDay);
    }
  }

  // ---- nodes --------------------------------------------------------------

  void BuildNodes() {
    const auto& types = facility().node_types;
    std::vector<std::int64_t> count(types.size(), 0);
    std::vector<int> regular, special;
    for (std::size_t t = 0; t < types.size(); ++t) {
      if (types[t].count > 0) {
        count[t] = std::max<std::int64_t>(
            1, std::llround(static_cast<double>(types[t].count) * plan_.options.scale));
      }
      const HardwareClassConfig* hc = facility().FindClass(types[t].hardware_class);
      const bool gpu = hc != nullptr && hc->is_gpu;
      // GPU and the rare big-memory types sit in Eagle's "u" racks (r103u01 ...).
      (gpu || types[t].count < 50 ? special : regular).push_back(static_cast<int>(t));
    }
    auto interleave = [&](const std::vector<int>& members) {
      // Smooth weighted round robin: types spread evenly over the slots.
      std::vector<int> order;
      std::int64_t total = 0;
      for (const int t : members) total += count[static_cast<std::size_t>(t)];
      std::vector<std::int64_t> current(members.size(), 0);
      for (std::int64_t slot = 0; slot < total; ++slot) {
        std::size_t best = 0;
        for (std::size_t i = 0; i < members.size(); ++i) {
          current[i] += count[static_cast<std::size_t>(members[i])];
          if (current[i] > current[best]) best = i;
        }
        current[best] -= total;
        order.push_back(members[best]);
      }
      return order;
    };
    const std::vector<int> regular_order = interleave(regular);
    const std::vector<int> special_order = interleave(special);
    auto add = [&](int type, std::string name) {
      PlanNode node;
      node.name = std::move(name);
      node.type = type;
      node.series.idle_w = static_cast<int>(std::lround(types[static_cast<std::size_t>(type)].idle_w));
      node.series.key = StreamKey(seed(), static_cast<std::uint64_t>(Stream::kNodeNoise), plan_.nodes.size());
      plan_.nodes.push_back(std::move(node));
    };
    for (std::size_t k = 0; k < regular_order.size(); ++k) {
      // Eagle-like r<rack>i<iru>n<node>: 4 IRUs of 36 nodes per rack.
      std::string name = "r";
      AppendInt(&name, 1 + static_cast<std::int64_t>(k / 144));
      name += "i";
      AppendInt(&name, static_cast<std::int64_t>((k % 144) / 36));
      name += "n";
      AppendInt(&name, static_cast<std::int64_t>(k % 36));
      add(regular_order[k], std::move(name));
    }
    for (std::size_t k = 0; k < special_order.size(); ++k) {
      std::string name = "r";
      AppendInt(&name, 103 + static_cast<std::int64_t>(k / 32));
      name += "u";
      AppendPadded(&name, static_cast<std::int64_t>(k % 32) + 1, 2);
      add(special_order[k], std::move(name));
    }
  }

  void BuildClasses() {
    for (const HardwareClassConfig& hc : facility().hardware_classes) {
      PlanClass c;
      c.name = hc.name;
      c.is_gpu = hc.is_gpu;
      const NodeTypeConfig* ref = facility().FindType(hc.reference_type);
      if (ref == nullptr) {
        throw Error("facility.hardware_classes." + hc.name + ".reference_type: unknown type '" +
                    hc.reference_type + "'");
      }
      c.reference_type = static_cast<int>(ref - facility().node_types.data());
      c.memory = hc.memory_levels.empty()
                     ? (hc.is_gpu ? topology::DefaultGpuHierarchy() : topology::DefaultCpuHierarchy())
                     : hc.memory_levels;
      c.parameters = model::Table4Parameters(hc.is_gpu);
      if (c.parameters.size() != 4 + 2 * c.memory.size()) {
        throw Error("facility.hardware_classes." + hc.name + ".memory_levels: " +
                    std::to_string(c.memory.size()) + " levels, but the paper's Table 4 has " +
                    std::to_string((c.parameters.size() - 4) / 2) + " for this class");
      }
      c.sigma = hc.is_gpu ? plan_.config.generator.sigma_gpu : plan_.config.generator.sigma_cpu;
      // Dynamic power above idle, smallest to largest networks (Table 2 TDPs:
      // two 200 W Xeons; two 250 W V100s).
      c.dyn_lo_w = hc.is_gpu ? 90.0 : 60.0;
      c.dyn_hi_w = hc.is_gpu ? 420.0 : 260.0;
      plan_.classes.push_back(std::move(c));
    }
    for (std::size_t n = 0; n < plan_.nodes.size(); ++n) {
      PlanNode& node = plan_.nodes[n];
      const std::string& cls = facility().node_types[static_cast<std::size_t>(node.type)].hardware_class;
      for (std::size_t c = 0; c < plan_.classes.size(); ++c) {
        if (plan_.classes[c].name == cls) {
          node.hw_class = static_cast<int>(c);
          plan_.classes[c].nodes.push_back(static_cast<int>(n));
        }
      }
    }
  }

  int IdleW(int type) const {
    return static_cast<int>(std::lround(facility().node_types[static_cast<std::size_t>(type)].idle_w));
  }
  bool ClassActive(const PlanClass& c) const {
    return !c.nodes.empty() && facility().node_types[static_cast<std::size_t>(c.reference_type)].count > 0;
  }
  double DynamicW(const PlanClass& c, std::int64_t size, double factor) const {
    const double x = std::clamp((std::log2(static_cast<double>(size)) - 5.0) / 19.0, 0.0, 1.0);
    return (c.dyn_lo_w + (c.dyn_hi_w - c.dyn_lo_w) * x) * factor;
  }

  // ---- runs ---------------------------------------------------------------

  void BuildRuns() {
    plan_.datasets = SelectDatasets(plan_.config.generator.datasets);
    const auto& all = ButterDatasets();
    const auto& shapes = SweepShapes();
    const auto& depths = SweepDepths();
    const std::vector<std::int64_t> sizes = SweepSizes();
    const std::int64_t epochs = plan_.config.pipeline.epochs;
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
    // Networks are the same on every class: build each once.
    for (std::size_t d = 0; d < plan_.datasets.size(); ++d) {
      const DatasetInfo& ds = plan_.datasets[d];
      const std::int64_t global_d =
          std::find_if(all.begin(), all.end(), [&](const DatasetInfo& x) { return x.name == ds.name; }) -
          all.begin();
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
            p.experiment_id =
                100000 +
                ((global_d * static_cast<std::int64_t>(sizes.size()) + static_cast<std::int64_t>(si)) *
                     static_cast<std::int64_t>(shapes.size()) +
                 static_cast<std::int64_t>(sh)) *
                    static_cast<std::int64_t>(depths.size()) +
                static_cast<std::int64_t>(de);
            for (auto& g : groups) {
              if (g.dataset != static_cast<int>(d) || g.size != sizes[si]) continue;
              const PlanClass& c = plan_.classes[static_cast<std::size_t>(g.hw_class)];
              const topology::RunFeatures f =
                  topology::ComputeFeatures(network, ds.n_observations, kBatchSize, epochs, c.memory);
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
        }
      }
    }
    groups.erase(
        std::remove_if(groups.begin(), groups.end(), [](const SweepGroup& g) { return g.points.empty(); }),
        groups.end());
    if (groups.empty()) throw Error("generate: no runnable sweep point (no active hardware class?)");

    const std::int64_t n_runs = std::max<std::int64_t>(
        1, std::llround(static_cast<double>(plan_.config.generator.runs_at_scale_1) * plan_.options.scale));
    // At small scales the runs concentrate on fewer (class, data set, size)
    // groups, so that groups stay large enough for filter_3 to act.
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
            plan_.datasets[static_cast<std::size_t>(g.dataset)].name ==
                plan_.config.pipeline.overhead_dataset &&
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
    plan_.groups_used = static_cast<std::int64_t>(chosen.size());

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

  void AddRun(const SweepGroup& g, const SweepPoint& p) {
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
        const double target = too_short ? kMinRunTimeS + rng.Uniform(0.0, 25.0)
                                        : kMaxRunTimeS - rng.Uniform(0.0, 5000.0);
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

  double GroupZ(const std::vector<double>& xs, std::size_t j, double delta) const {
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
  void Stretch(PlanRun* run, std::int64_t new_rt, Rng* rng) {
    const PlanClass& c = plan_.classes[static_cast<std::size_t>(run->hw_class)];
    const double stall_w = IdleW(c.reference_type) + rng->Uniform(5.0, 40.0);
    run->std_energy_j += static_cast<double>(new_rt - run->run_time_s) * stall_w;
    run->run_time_s = new_rt;
  }

  void StretchLongRuns() {
    const std::int64_t n = static_cast<std::int64_t>(plan_.runs.size());
    std::int64_t target = std::min(Target(kPaperLongRuns, n), n / 4);
    Rng rng(seed(), Stream::kLongRuns, 0);
    // Long runs go to the classes with many nodes (CPUs on Eagle), so that
    // a day's worth of them can start on the one bad day.
    std::size_t most = 0;
    for (const PlanClass& c : plan_.classes) most = std::max(most, c.nodes.size());
    std::vector<std::int64_t> order;
    for (std::int64_t i = 0; i < n; ++i) {
      const PlanClass& c =
          plan_.classes[static_cast<std::size_t>(plan_.runs[static_cast<std::size_t>(i)].hw_class)];
      if (4 * c.nodes.size() >= most) order.push_back(i);
    }
    rng.Shuffle(&order);
    target = std::min<std::int64_t>(target, static_cast<std::int64_t>(order.size()));
    const std::int64_t bad_day =
        static_cast<std::int64_t>(std::ceil(kBadDayShare * static_cast<double>(target)));
    const double limit = plan_.config.pipeline.filter_max_run_time_s;
    for (std::int64_t k = 0; k < target; ++k) {
      PlanRun& run = plan_.runs[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])];
      Stretch(&run, std::llround(limit * rng.Uniform(1.01, 1.85)), &rng);
      run.fault = k < bad_day ? RunFault::kLongRunBadDay : RunFault::kLongRun;
    }
  }

  void StretchOutliers() {
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
      for (const std::size_t m : members)
        xs.push_back(std::log(static_cast<double>(plan_.runs[m].run_time_s)));
      for (std::size_t j = 0; j < members.size(); ++j) {
        if (plan_.runs[members[j]].fault == RunFault::kNone && std::fabs(GroupZ(xs, j, 0.0)) > threshold)
          ++natural;
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
      const double max_delta =
          std::log(static_cast<double>(kMaxRunTimeS) / static_cast<double>(run.run_time_s));
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

  // ---- jobs ---------------------------------------------------------------

  PlanJob NewButterJob(int hw_class, Rng* rng) {
    PlanJob job;
    job.butter = true;
    job.hw_class = hw_class;
    job.duration_s = rng->Int(20, 120);  // setup before the first run
    return job;
  }

  void AppendRun(PlanJob* job, int run, Rng* rng) {
    if (!job->runs.empty()) job->duration_s += rng->Int(3, 40);  // between runs
    job->runs.push_back(run);
    job->run_offsets_s.push_back(job->duration_s);
    job->duration_s += plan_.runs[static_cast<std::size_t>(run)].run_time_s;
  }

  void PackJobs() {
    for (std::size_t c = 0; c < plan_.classes.size(); ++c) {
      Rng rng(seed(), Stream::kPacking, c);
      std::vector<int> normal;
      for (std::size_t i = 0; i < plan_.runs.size(); ++i) {
        const PlanRun& r = plan_.runs[i];
        if (r.hw_class != static_cast<int>(c)) continue;
        if (r.fault == RunFault::kLongRunBadDay || r.fault == RunFault::kLongRun) {
          PlanJob job = NewButterJob(static_cast<int>(c), &rng);
          AppendRun(&job, static_cast<int>(i), &rng);
          job.duration_s += rng.Int(5, 60);
          plan_.jobs.push_back(std::move(job));
        } else {
          normal.push_back(static_cast<int>(i));
        }
      }
      rng.Shuffle(&normal);
      std::size_t k = 0;
      while (k < normal.size()) {
        PlanJob job = NewButterJob(static_cast<int>(c), &rng);
        int want = 1;
        while (want < 10 && rng.Bernoulli(0.75)) ++want;
        while (k < normal.size() && static_cast<int>(job.runs.size()) < want) {
          const PlanRun& r = plan_.runs[static_cast<std::size_t>(normal[k])];
          if (!job.runs.empty() && job.duration_s + r.run_time_s > kMaxJobS) break;
          AppendRun(&job, normal[k], &rng);
          ++k;
        }
        job.duration_s += rng.Int(5, 60);  // teardown
        plan_.jobs.push_back(std::move(job));
      }
    }
  }

  bool Free(int node, TimeMs s, TimeMs e) const {
    const auto& v = occupancy_[static_cast<std::size_t>(node)];
    const auto it = std::partition_point(v.begin(), v.end(), [&](const std::pair<TimeMs, TimeMs>& iv) {
      return iv.second + kJobGuardMs <= s;
    });
    return it == v.end() || it->first >= e + kJobGuardMs;
  }
  void Occupy(int node, TimeMs s, TimeMs e) {
    auto& v = occupancy_[static_cast<std::size_t>(node)];
    const auto it = std::lower_bound(v.begin(), v.end(), std::make_pair(s, e));
    v.insert(it, {s, e});
  }
  // Places a single-node job of duration d at start on node.
  void PlaceAt(PlanJob* job, int node, TimeMs start, TimeMs d) {
    job->nodes = {node};
    job->start_ms = start;
    job->end_ms = start + d;
    Occupy(node, start, start + d);
    butter_windows_[static_cast<std::size_t>(node)].emplace_back(start, start + d);
  }

  // Tries to put a single-node job at a start in [lo, hi] on a node of its
  // class. Returns false if no free place was found.
  bool PlaceSingle(PlanJob* job, TimeMs lo, TimeMs hi, Rng* rng, int tries, bool may_run_over) {
    const auto& nodes = plan_.classes[static_cast<std::size_t>(job->hw_class)].nodes;
    if (nodes.empty() || hi < lo) return false;
    const TimeMs d = job->duration_s * kMsPerSecond;
    for (int t = 0; t < tries; ++t) {
      const TimeMs start = lo + rng->Int(0, (hi - lo) / kMsPerSecond) * kMsPerSecond;
      const int node =
          nodes[static_cast<std::size_t>(rng->Int(0, static_cast<std::int64_t>(nodes.size()) - 1))];
      if (!Free(node, start, start + d)) continue;
      if (!SchedulerTimeOk(start)) continue;
      if (!may_run_over && !SchedulerTimeOk(start + d)) continue;
      PlaceAt(job, node, start, d);
      return true;
    }
    return false;
  }

  // First fit: on each node (in random order) the earliest gap after lo.
  bool PlaceFirstFit(PlanJob* job, TimeMs lo, TimeMs hi, Rng* rng) {
    auto nodes = plan_.classes[static_cast<std::size_t>(job->hw_class)].nodes;
    rng->Shuffle(&nodes);
    const TimeMs d = job->duration_s * kMsPerSecond;
    for (const int node : nodes) {
      TimeMs start = lo;
      const auto& v = occupancy_[static_cast<std::size_t>(node)];
      for (std::size_t i = 0; i <= v.size() && start <= hi; ++i) {
        if (Free(node, start, start + d) && SchedulerTimeOk(start) && SchedulerTimeOk(start + d)) {
          PlaceAt(job, node, start, d);
          return true;
        }
        if (i < v.size()) start = std::max(start, v[i].second + kJobGuardMs + kMsPerSecond);
      }
    }
    return false;
  }

  void DropJobRuns(PlanJob* job, const char* why) {
    for (const int r : job->runs) plan_.runs[static_cast<std::size_t>(r)].dropped = true;
    plan_.notes[why] += static_cast<std::int64_t>(job->runs.size());
    job->runs.clear();
    job->started = false;
  }

  void PlaceButterJobs() {
    occupancy_.assign(plan_.nodes.size(), {});
    butter_windows_.assign(plan_.nodes.size(), {});
    Rng rng(seed(), Stream::kPlacement, 0);
    const TimeMs margin = 30 * 60 * kMsPerSecond;
    std::vector<std::size_t> order(plan_.jobs.size());
    std::iota(order.begin(), order.end(), 0);
    rng.Shuffle(&order);
    // 1. Long runs of the bad day.
    for (const std::size_t j : order) {
      PlanJob& job = plan_.jobs[j];
      PlanRun& first = plan_.runs[static_cast<std::size_t>(job.runs.front())];
      if (first.fault != RunFault::kLongRunBadDay) continue;
      const TimeMs hi =
          std::min(plan_.bad_day_end - kMsPerHour, plan_.window_end - margin - job.duration_s * kMsPerSecond);
      if (!PlaceSingle(&job, plan_.bad_day_start, hi, &rng, 2000, false)) {
        first.fault = RunFault::kLongRun;  // placed on another day below
        ++plan_.notes["long_run_moved_off_bad_day"];
      }
    }
    // 2. One job still running when sacct was exported.
    for (const std::size_t j : order) {
      PlanJob& job = plan_.jobs[j];
      if (job.runs.size() < 2 || !job.nodes.empty() || job.duration_s < 1200) continue;
      const PlanRun& first = plan_.runs[static_cast<std::size_t>(job.runs.front())];
      if (first.fault != RunFault::kNone || plan_.classes[static_cast<std::size_t>(job.hw_class)].is_gpu)
        continue;
      const TimeMs d = job.duration_s * kMsPerSecond;
      const TimeMs lo = std::max(plan_.window_start + kMsPerHour, plan_.snapshot_ms - d * 7 / 10);
      const TimeMs hi = plan_.snapshot_ms - d * 3 / 10;
      if (!PlaceSingle(&job, lo, hi, &rng, 500, true)) continue;
      job.running = true;
      break;
    }
    // 3. Everything else.
    for (const std::size_t j : order) {
      PlanJob& job = plan_.jobs[j];
      if (!job.nodes.empty()) continue;
      const TimeMs lo = plan_.window_start + margin;
      const TimeMs hi = plan_.window_end - margin - job.duration_s * kMsPerSecond;
      if (!PlaceSingle(&job, lo, hi, &rng, 300, false) && !PlaceFirstFit(&job, lo, hi, &rng)) {
        DropJobRuns(&job, "runs_dropped_no_capacity");
      }
    }
    // Jobs that found no place are not written at all.
    plan_.jobs.erase(
        std::remove_if(
            plan_.jobs.begin(), plan_.jobs.end(), [](const PlanJob& j) { return j.butter && !j.started; }),
        plan_.jobs.end());
    std::int64_t bad_day = 0, long_other = 0;
    for (const PlanRun& r : plan_.runs) {
      if (r.dropped) continue;
      bad_day += r.fault == RunFault::kLongRunBadDay ? 1 : 0;
      long_other += r.fault == RunFault::kLongRun ? 1 : 0;
    }
    plan_.intended["long_run_bad_day"] = bad_day;
    plan_.intended["long_run"] = long_other;
    // Run windows, and the running job's runs cut at the snapshot.
    for (PlanJob& job : plan_.jobs) {
      if (!job.started) continue;
      std::vector<int> kept;
      std::vector<std::int64_t> kept_offsets;
      for (std::size_t k = 0; k < job.runs.size(); ++k) {
        PlanRun& run = plan_.runs[static_cast<std::size_t>(job.runs[k])];
        run.job = static_cast<int>(&job - plan_.jobs.data());
        run.node = job.nodes.front();
        run.start_ms = job.start_ms + job.run_offsets_s[k] * kMsPerSecond;
        run.end_ms = run.start_ms + run.run_time_s * kMsPerSecond;
        if (job.running && run.start_ms >= plan_.snapshot_ms - 60 * kMsPerSecond) {
          run.dropped = true;
          ++plan_.notes["runs_not_started_at_end"];
          continue;
        }
        if (job.running) run.fault = RunFault::kJobRunning;
        kept.push_back(job.runs[k]);
        kept_offsets.push_back(job.run_offsets_s[k]);
      }
      job.runs = kept;
      job.run_offsets_s = kept_offsets;
    }
  }

  void PlaceOtherJobs() {
    static const char* kNames[] = {"vasp_relax",
                                   "wrf_run",
                                   "python",
                                   "bash",
                                   "lammps",
                                   "cp2k_md",
                                   "jupyter",
                                   "nwchem",
                                   "openfoam",
                                   "train.sh"};
    Rng rng(seed(), Stream::kOtherJobs, 0);
    const TimeMs span = plan_.window_end - plan_.window_start;
    auto fill_meta = [&](PlanJob* job) {
      job->name = kNames[rng.Int(0, 9)];
      job->user = FacilityUser(rng.Int(1, 400));
      job->account = FacilityAccount(job->user, rng.Int(1, 60));
      job->load_w = rng.Uniform(20.0, 250.0);
      const double p = rng.Uniform();
      job->state = p < 0.72   ? "COMPLETED"
                   : p < 0.82 ? "FAILED"
                   : p < 0.90 ? "CANCELLED by " + std::to_string(rng.Int(10000, 99999))
                   : p < 0.96 ? "TIMEOUT"
                   : p < 0.98 ? "OUT_OF_MEMORY"
                              : "NODE_FAIL";
    };
    auto try_place = [&](PlanJob* job, int width, TimeMs lo, TimeMs hi, bool running) {
      const auto& nodes = plan_.classes[static_cast<std::size_t>(job->hw_class)].nodes;
      if (static_cast<int>(nodes.size()) < width || hi < lo) return false;
      const TimeMs d = job->duration_s * kMsPerSecond;
      for (int t = 0; t < 20; ++t) {
        const TimeMs start = lo + rng.Int(0, (hi - lo) / kMsPerSecond) * kMsPerSecond;
        const std::int64_t first = rng.Int(0, static_cast<std::int64_t>(nodes.size()) - width);
        bool ok = SchedulerTimeOk(start) && (running || SchedulerTimeOk(start + d));
        for (int k = 0; ok && k < width; ++k)
          ok = Free(nodes[static_cast<std::size_t>(first + k)], start, start + d);
        if (!ok) continue;
        job->nodes.clear();
        for (int k = 0; k < width; ++k) {
          job->nodes.push_back(nodes[static_cast<std::size_t>(first + k)]);
          Occupy(job->nodes.back(), start, start + d);
        }
        job->start_ms = start;
        job->end_ms = start + d;
        return true;
      }
      return false;
    };
    for (std::size_t c = 0; c < plan_.classes.size(); ++c) {
      const PlanClass& cls = plan_.classes[c];
      if (cls.nodes.empty()) continue;
      const double target = (cls.is_gpu ? kOtherUtilizationGpu : kOtherUtilizationCpu) *
                            static_cast<double>(cls.nodes.size()) * static_cast<double>(span / kMsPerSecond);
      double used = 0.0;
      int failures = 0;
      while (used < target && failures < 400) {
        PlanJob job;
        job.hw_class = static_cast<int>(c);
        const int max_width = std::min<int>(16, static_cast<int>(cls.nodes.size()));
        const int width = rng.Bernoulli(0.65) || max_width < 2 ? 1 : static_cast<int>(rng.Int(2, max_width));
        job.duration_s = std::llround(rng.LogUniform(300.0, 86400.0));
        const TimeMs hi = plan_.snapshot_ms - 10 * 60 * kMsPerSecond - job.duration_s * kMsPerSecond;
        if (!try_place(&job, width, plan_.window_start, hi, false)) {
          ++failures;
          continue;
        }
        failures = 0;
        fill_meta(&job);
        used += static_cast<double>(width) * static_cast<double>(job.duration_s);
        plan_.jobs.push_back(std::move(job));
      }
      // Still running at the export, one per class (a multi-node one on CPUs).
      PlanJob running;
      running.hw_class = static_cast<int>(c);
      running.duration_s = rng.Int(2 * 3600, 3 * 86400);
      const int width = cls.is_gpu ? 1 : std::min<int>(4, static_cast<int>(cls.nodes.size()));
      const TimeMs d = running.duration_s * kMsPerSecond;
      if (try_place(&running,
                    width,
                    std::max(plan_.window_start, plan_.snapshot_ms - d + kMsPerHour),
                    plan_.snapshot_ms - kMsPerHour,
                    true)) {
        fill_meta(&running);
        running.running = true;
        running.state = "RUNNING";
        plan_.jobs.push_back(std::move(running));
      }
      // A heterogeneous job: two components on different nodes, same times.
      if (cls.nodes.size() >= 4) {
        for (int tries = 0; tries < 10; ++tries) {
          PlanJob a;
          a.hw_class = static_cast<int>(c);
          a.duration_s = rng.Int(1800, 20000);
          const TimeMs hi = plan_.snapshot_ms - kMsPerHour - a.duration_s * kMsPerSecond;
          if (!try_place(&a, 1, plan_.window_start, hi, false)) continue;
          PlanJob b = a;
          bool placed = false;
          for (const int n : cls.nodes) {
            if (n != a.nodes.front() && Free(n, a.start_ms, a.end_ms)) {
              b.nodes = {n};
              Occupy(n, a.start_ms, a.end_ms);
              placed = true;
              break;
            }
          }
          if (!placed) continue;
          fill_meta(&a);
          b.name = a.name;
          b.user = a.user;
          b.account = a.account;
          b.state = a.state;
          b.load_w = a.load_w * 0.8;
          const int ia = static_cast<int>(plan_.jobs.size());
          a.het_group = ia + 1;
          a.het_offset = 0;
          b.het_group = ia;
          b.het_offset = 1;
          plan_.jobs.push_back(std::move(a));
          plan_.jobs.push_back(std::move(b));
          break;
        }
      }
    }
    // Pending at the export, and cancelled before they started: no nodes.
    for (int k = 0; k < 5; ++k) {
      PlanJob job;
      job.hw_class = static_cast<int>(rng.Int(0, static_cast<std::int64_t>(plan_.classes.size()) - 1));
      job.started = false;
      fill_meta(&job);
      if (k < 3) {
        job.pending = true;
        job.state = "PENDING";
        job.submit_ms = plan_.snapshot_ms - rng.Int(600, 2 * 86400) * kMsPerSecond;
      } else {
        job.state = "CANCELLED by " + std::to_string(rng.Int(10000, 99999));
        job.submit_ms = plan_.window_start + rng.Int(0, span / kMsPerSecond - 3 * 86400) * kMsPerSecond;
        job.end_ms = job.submit_ms + rng.Int(60, 86400) * kMsPerSecond;
        if (!SchedulerTimeOk(job.end_ms) || !SchedulerTimeOk(job.submit_ms)) continue;
      }
      plan_.jobs.push_back(std::move(job));
    }
  }

  // Shared-node jobs, jobs that never started, a job on a node missing
  // from nodes.csv (stages/generate/background_jobs.h).
  void PlaceBackgroundJobs() {
    PlacementHooks hooks;
    hooks.free = [this](int node, TimeMs s, TimeMs e) { return Free(node, s, e); };
    hooks.occupy = [this](int node, TimeMs s, TimeMs e) { Occupy(node, s, e); };
    hooks.scheduler_time_ok = [this](TimeMs t) { return SchedulerTimeOk(t); };
    AddSharedNodeJobs(&plan_, hooks);
    if (plan_.options.dirty) AddUnknownNodeJob(&plan_, hooks);
    AddUnstartedJobs(&plan_, hooks);
  }

  void AssignJobIds() {
    Rng rng(seed(), Stream::kJobIds, 0);
    for (PlanJob& job : plan_.jobs) {
      const PlanClass& cls = plan_.classes[static_cast<std::size_t>(job.hw_class)];
      if (job.started && job.submit_ms == 0) {
        job.submit_ms = job.start_ms - std::llround(rng.LogUniform(5.0, 4.0 * 3600)) * kMsPerSecond;
        if (!SchedulerTimeOk(job.submit_ms)) job.submit_ms -= kMsPerHour;
      }
      if (job.butter) {
        job.name = cls.is_gpu ? "butter_e_gpu" : "butter_e_cpu";
        job.user = "butter";
        job.account = "butter";
        job.state = job.running ? "RUNNING" : "COMPLETED";
      }
      const std::int64_t hours = job.duration_s / 3600;
      const bool debug = !job.butter && job.started && job.duration_s <= 3600 && job.nodes.size() <= 2;
      if (job.partition.empty()) {
        job.partition = cls.is_gpu ? "gpu"
                        : debug    ? "debug"
                        : hours < 4 ? "short"
                        : hours < 48 ? "standard"
                                     : "long";
      }
      const std::string& s = job.state;
      job.exit_code = s == "COMPLETED" || s == "RUNNING" || s == "PENDING" ? "0:0"
                      : s == "FAILED" || s == "NODE_FAIL"                  ? "1:0"
                      : s == "OUT_OF_MEMORY"                               ? "0:125"
                                                                           : "0:15";
    }
    std::vector<std::size_t> order(plan_.jobs.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return plan_.jobs[a].submit_ms < plan_.jobs[b].submit_ms;
    });
    std::int64_t next = 6100000;
    for (const std::size_t j : order) {
      PlanJob& job = plan_.jobs[j];
      if (job.het_offset == 1) continue;  // takes its pair's id
      next += rng.Int(1, 3);
      job.raw_id = next;
      job.id = std::to_string(next);
      if (job.het_offset == 0) {
        PlanJob& other = plan_.jobs[static_cast<std::size_t>(job.het_group)];
        other.raw_id = next;
        other.submit_ms = job.submit_ms;
        job.id = std::to_string(next) + "+0";
        other.id = std::to_string(next) + "+1";
      }
    }
    // Array jobs: some consecutive BUTTER jobs of a class become the tasks
    // of one array (display id base_task; each keeps its own raw id).
    std::vector<std::size_t> by_id(order);
    std::sort(by_id.begin(), by_id.end(), [&](std::size_t a, std::size_t b) {
      return plan_.jobs[a].raw_id < plan_.jobs[b].raw_id;
    });
    for (std::size_t c = 0; c < plan_.classes.size(); ++c) {
      std::vector<std::size_t> list;
      for (const std::size_t j : by_id) {
        const PlanJob& job = plan_.jobs[j];
        if (job.butter && job.started && job.hw_class == static_cast<int>(c)) list.push_back(j);
      }
      for (std::size_t k = 0; k < list.size();) {
        if (!rng.Bernoulli(0.25)) {
          ++k;
          continue;
        }
        const std::size_t len =
            std::min<std::size_t>(list.size() - k, static_cast<std::size_t>(rng.Int(2, 6)));
        const std::int64_t base = plan_.jobs[list[k]].raw_id;
        for (std::size_t t = 0; t < len; ++t) {
          plan_.jobs[list[k + t]].id = std::to_string(base) + "_" + std::to_string(t);
        }
        k += len;
      }
    }
  }

  void SetWrittenFields() {
    for (PlanRun& run : plan_.runs) {
      if (run.dropped) continue;
      const PlanJob& job = plan_.jobs[static_cast<std::size_t>(run.job)];
      run.written_host = plan_.nodes[static_cast<std::size_t>(run.node)].name;
      run.written_job_id = job.id;
      run.written_start_ms = run.start_ms;
      run.written_update_ms = run.end_ms;
      if (job.running && run.end_ms > plan_.snapshot_ms) {
        // Still training: the last heartbeat before the export.
        Rng rng(seed(), Stream::kRunsFile, static_cast<std::uint64_t>(run.index));
        run.written_update_ms =
            std::max(run.start_ms + kMsPerSecond, plan_.snapshot_ms - rng.Int(0, 300) * kMsPerSecond);
      }
    }
  }

  // Runs that reach runs.csv (not dropped).
  std::int64_t WrittenRuns() const {
    return static_cast<std::int64_t>(
        std::count_if(plan_.runs.begin(), plan_.runs.end(), [](const PlanRun& r) { return !r.dropped; }));
  }

  // Runs free for a new fault: no fault yet, written, final job.
  std::vector<std::size_t> Candidates(Rng* rng) const {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < plan_.runs.size(); ++i) {
      const PlanRun& r = plan_.runs[i];
      if (r.dropped || r.fault != RunFault::kNone) continue;
      out.push_back(i);
    }
    rng->Shuffle(&out);
    return out;
  }

  void InjectJoinFaults() {
    Rng rng(seed(), Stream::kJoinFaults, 0);
    const std::int64_t n = WrittenRuns();
    std::vector<std::size_t> pool = Candidates(&rng);
    std::size_t next = 0;
    std::int64_t max_raw = 0;
    for (const PlanJob& j : plan_.jobs) max_raw = std::max(max_raw, j.raw_id);
    auto take = [&](RunFault fault, double rate, const char* name, auto&& apply) {
      const std::int64_t want = std::min<std::int64_t>(Target(rate, n), std::max<std::int64_t>(0, n / 50));
      std::int64_t made = 0;
      while (made < want && next < pool.size()) {
        PlanRun& run = plan_.runs[pool[next++]];
        if (!apply(run)) continue;
        run.fault = fault;
        ++made;
      }
      plan_.intended[name] = made;
    };
    take(RunFault::kUnknownNode, kDirtUnknownNode, "unknown_node", [&](PlanRun& r) {
      r.written_host = plan_.unknown_node_name;
      return true;
    });
    std::int64_t missing_id = max_raw + 100;
    take(RunFault::kNoJob, kDirtNoJob, "no_job", [&](PlanRun& r) {
      missing_id += rng.Int(3, 40);
      r.written_job_id = std::to_string(missing_id);
      return true;
    });
    take(RunFault::kHostNotInJob, kDirtHostNotInJob, "host_not_in_job", [&](PlanRun& r) {
      const auto& nodes = plan_.classes[static_cast<std::size_t>(r.hw_class)].nodes;
      if (nodes.size() < 2) return false;
      int other = r.node;
      while (other == r.node)
        other = nodes[static_cast<std::size_t>(rng.Int(0, static_cast<std::int64_t>(nodes.size()) - 1))];
      r.written_host = plan_.nodes[static_cast<std::size_t>(other)].name;
      return true;
    });
    take(RunFault::kOutsideJobWindow, kDirtOutsideJobWindow, "outside_job_window", [&](PlanRun& r) {
      const PlanJob& job = plan_.jobs[static_cast<std::size_t>(r.job)];
      const TimeMs shift = rng.Int(3600, 3 * 3600) * kMsPerSecond;
      TimeMs start = job.end_ms + shift;  // after the job ended
      if (start + r.run_time_s * kMsPerSecond > plan_.window_end) {
        start = job.start_ms - shift - r.run_time_s * kMsPerSecond;  // before it started
      }
      r.written_start_ms = start;
      r.written_update_ms = start + r.run_time_s * kMsPerSecond;
      return true;
    });
    static const char* kFields[] = {"start_time", "is_gpu", "size"};
    int field = 0;
    take(RunFault::kBadRunRow, kDirtBadRunRow, "bad_run_row", [&](PlanRun& r) {
      r.corrupt_field = kFields[field++ % 3];
      return true;
    });
    take(RunFault::kBadWindow, kDirtBadWindow, "bad_window", [&](PlanRun& r) {
      r.written_update_ms = r.written_start_ms - rng.Int(60, 3600) * kMsPerSecond;
      return true;
    });
  }

  void AddOverride(int node, std::int64_t first, std::int64_t last, bool zero) {
    auto& v = plan_.nodes[static_cast<std::size_t>(node)].series.overrides;
    ReadingOverride o;
    o.first_tick = std::max(first, plan_.first_tick);
    o.last_tick = std::min(last, plan_.last_tick);
    if (o.first_tick > o.last_tick) return;
    o.zero = zero;
    const auto it =
        std::lower_bound(v.begin(), v.end(), o, [](const ReadingOverride& a, const ReadingOverride& b) {
          return a.first_tick < b.first_tick;
        });
    v.insert(it, o);
  }
  bool OverrideFree(int node, std::int64_t first, std::int64_t last) const {
    for (const auto& o : plan_.nodes[static_cast<std::size_t>(node)].series.overrides) {
      if (o.first_tick <= last && o.last_tick >= first) return false;
    }
    return true;
  }

  void InjectTelemetryFaults() {
    Rng rng(seed(), Stream::kTelemetryFaults, 0);
    const std::int64_t n = WrittenRuns();
    const TimeMs pad = 10 * 60 * kMsPerSecond;
    // Jobs with no telemetry at all: every run in them is missing_all.
    {
      const std::int64_t want = Target(kPaperNoTelemetry, n);
      std::vector<std::size_t> jobs;
      for (std::size_t j = 0; j < plan_.jobs.size(); ++j) {
        const PlanJob& job = plan_.jobs[j];
        if (!job.butter || !job.started || job.running || job.runs.empty()) continue;
        if (NearTransition(job.start_ms - pad, job.end_ms + pad)) continue;
        bool clean = true;
        for (const int r : job.runs)
          clean = clean && plan_.runs[static_cast<std::size_t>(r)].fault == RunFault::kNone;
        if (clean) jobs.push_back(j);
      }
      rng.Shuffle(&jobs);
      std::int64_t made = 0;
      for (const std::size_t j : jobs) {
        PlanJob& job = plan_.jobs[j];
        const std::int64_t k = static_cast<std::int64_t>(job.runs.size());
        if (made + k > want) continue;
        AddOverride(job.nodes.front(), CeilTick(job.start_ms), Tick(job.end_ms), false);
        for (const int r : job.runs) plan_.runs[static_cast<std::size_t>(r)].fault = RunFault::kNoTelemetry;
        made += k;
        if (made == want) break;
      }
      plan_.intended["no_telemetry"] = made;
    }
    std::vector<std::size_t> pool;
    for (const std::size_t i : Candidates(&rng)) {
      const PlanRun& r = plan_.runs[i];
      if (plan_.jobs[static_cast<std::size_t>(r.job)].running) continue;
      if (NearTransition(r.start_ms - pad, r.end_ms + pad)) continue;
      pool.push_back(i);
    }
    std::size_t next = 0;
    const double step_s = static_cast<double>(plan_.step_ms) / kMsPerSecond;
    auto inject = [&](RunFault fault, double rate, const char* name, auto&& apply) {
      const std::int64_t want = Target(rate, n);
      std::int64_t made = 0;
      while (made < want && next < pool.size()) {
        PlanRun& run = plan_.runs[pool[next++]];
        const std::int64_t a = CeilTick(run.start_ms);
        const std::int64_t b = Tick(run.end_ms);
        if (!apply(run, a, b)) continue;
        run.fault = fault;
        ++made;
      }
      plan_.intended[name] = made;
    };
    // One or two lost readings, as many as make the run count as
    // missing_some (fewer than run_time/60 - 1 samples).
    inject(RunFault::kLostMinute,
           kPaperLostMinute,
           "lost_minute",
           [&](PlanRun& r, std::int64_t a, std::int64_t b) {
             const std::int64_t full = b - a + 1;
             const double threshold = static_cast<double>(r.run_time_s) / step_s - 1.0;
             const std::int64_t m =
                 static_cast<std::int64_t>(std::floor(static_cast<double>(full) - threshold)) + 1;
             if (r.run_time_s < 300 || m < 1 || m > 3 || full - m < 2) return false;
             const std::int64_t p = rng.Int(a + 1, b - m);
             AddOverride(r.node, p, p + m - 1, false);
             return true;
           });
    inject(RunFault::kLostMinutes,
           kPaperLostMinutes,
           "lost_minutes",
           [&](PlanRun& r, std::int64_t a, std::int64_t b) {
             const std::int64_t full = b - a + 1;
             if (r.run_time_s < 1800 || full < 20) return false;
             const std::int64_t m = rng.Int(5, std::min<std::int64_t>(60, full / 3));
             const std::int64_t p = rng.Int(a + 1, b - m);
             AddOverride(r.node, p, p + m - 1, false);
             return true;
           });
    inject(
        RunFault::kZeroWatts, kPaperZeroWatts, "zero_watts", [&](PlanRun& r, std::int64_t a, std::int64_t b) {
          const std::int64_t full = b - a + 1;
          if (full < 1) return false;
          const std::int64_t m = rng.Int(1, std::min<std::int64_t>(3, full));
          const std::int64_t p = rng.Int(a, b - m + 1);
          AddOverride(r.node, p, p + m - 1, true);
          return true;
        });
  }

  // Lost hours and 0 W glitches away from every BUTTER job.
  void InjectSeriesDirt() {
    Rng rng(seed(), Stream::kTelemetryFaults, 1);
    const std::int64_t nodes = static_cast<std::int64_t>(plan_.nodes.size());
    const TimeMs pad = 10 * 60 * kMsPerSecond;
    auto clear_of_butter = [&](int node, TimeMs lo, TimeMs hi) {
      for (const auto& [s, e] : butter_windows_[static_cast<std::size_t>(node)]) {
        if (lo < e + pad && hi > s - pad) return false;
      }
      return !NearTransition(lo - pad, hi + pad);
    };
    auto inject = [&](std::int64_t want, bool zero, const char* name) {
      std::int64_t made = 0;
      for (int tries = 0; tries < 1000 && made < want; ++tries) {
        const int node = static_cast<int>(rng.Int(0, nodes - 1));
        const std::int64_t len = zero ? 1 : rng.Int(120, 720) * 60000 / plan_.step_ms;
        if (plan_.last_tick - plan_.first_tick < len + 20) break;
        const std::int64_t first = rng.Int(plan_.first_tick + 10, plan_.last_tick - len - 10);
        const std::int64_t last = first + len - 1;
        if (!clear_of_butter(node, first * plan_.step_ms, (last + 1) * plan_.step_ms)) continue;
        if (!OverrideFree(node, first - 2, last + 2)) continue;
        AddOverride(node, first, last, zero);
        plan_.notes[std::string(name) + "_ticks"] += len;
        ++made;
      }
      plan_.intended[name] = made;
    };
    inject(std::max<std::int64_t>(1, nodes / 800), false, "node_gap");
    inject(std::max<std::int64_t>(1, nodes / 400), true, "zero_glitch");
  }

  // ---- power series -------------------------------------------------------

  void BuildSeries() {
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
      std::sort(b.begin(), b.end(), [](const BusySegment& x, const BusySegment& y) {
        return x.first_tick < y.first_tick;
      });
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
  void SolveLevels() {
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
          const auto it =
              std::lower_bound(busy.begin(), busy.end(), a, [](const BusySegment& s, std::int64_t t) {
                return s.first_tick < t;
              });
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
                       run.start_ms,
                       run.end_ms,
                       plan_.step_ms,
                       lo,
                       hi,
                       [&](std::int64_t t) { return ContinuousReading(node.series, t, &cursor); },
                       [](std::int64_t t) { return t; },
                       [](std::int64_t t) { return t; })
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

  void PlanFiles() {
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

  Plan plan_;
  std::vector<std::vector<std::pair<TimeMs, TimeMs>>> occupancy_;
  std::vector<std::vector<std::pair<TimeMs, TimeMs>>> butter_windows_;
};

}  // namespace

const char* ToString(RunFault fault) {
  switch (fault) {
    case RunFault::kNone:
      return "none";
    case RunFault::kNoTelemetry:
      return "no_telemetry";
    case RunFault::kLostMinute:
      return "lost_minute";
    case RunFault::kLostMinutes:
      return "lost_minutes";
    case RunFault::kZeroWatts:
      return "zero_watts";
    case RunFault::kLongRunBadDay:
      return "long_run_bad_day";
    case RunFault::kLongRun:
      return "long_run";
    case RunFault::kRuntimeOutlier:
      return "runtime_outlier";
    case RunFault::kUnknownNode:
      return "unknown_node";
    case RunFault::kNoJob:
      return "no_job";
    case RunFault::kHostNotInJob:
      return "host_not_in_job";
    case RunFault::kOutsideJobWindow:
      return "outside_job_window";
    case RunFault::kBadRunRow:
      return "bad_run_row";
    case RunFault::kBadWindow:
      return "bad_window";
    case RunFault::kJobRunning:
      return "job_running";
  }
  return "none";
}

std::int64_t ZoneOffsets::At(TimeMs utc) const {
  const std::size_t i =
      static_cast<std::size_t>(std::upper_bound(change_at.begin(), change_at.end(), utc) - change_at.begin());
  return offset_ms[i];
}

std::int64_t Plan::TickOf(TimeMs t) const { return FloorDivTicks(t, step_ms); }

Plan BuildPlan(const Config& config, const GenerateOptions& options) {
  return Builder(config, options).Build();
}

}  // namespace wattrun::generate
