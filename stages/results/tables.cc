// The tables of schema.h: each results column, declared once.
#include "stages/results/schema.h"

namespace wattrun::results::schema {
namespace {
using codec::OptTime;
using codec::Word;
constexpr Csv kNo = Csv::kNo;
constexpr Csv kLater = Csv::kLater;
constexpr Csv kLast = Csv::kLast;
constexpr const char* kGpu = "GPU hardware (uint8: 1 true, 0 false)";
}  // namespace

const Table<RunRow>& RunsTable() {
  using R = RunRow;
  static const Table<R> table = {
      Of("run_id", &R::run_id, "text", "BUTTER run id"),
      Of("experiment_id", &R::experiment_id, "text", "BUTTER experiment id", kNo),
      Of("slurm_job_id", &R::slurm_job_id, "text", "Slurm job id of the run"),
      Of("node", &R::node, "text", "node host name"),
      As<Word>("node_type", &R::node_type, "text", "node type"),
      Of("is_gpu", &R::is_gpu, "1", "GPU hardware (uint8: 1 true, 0 false)"),
      As<Word>("status", &R::status, "text", "status (spec section 2)"),
      Of("run_time", &R::run_time_s, "s", "run time (NaN: unknown)"),
      Of("samples", &R::samples, "1", "power readings in the window (-1: not measured)"),
      Of("energy", &R::energy_j, "J", "energy integrated from the node power readings (NaN: not measured)"),
      Of("filter_1", &R::filter_1, "1",
         "run removed by filter 1 (run time over the limit) (int8: 1 true, 0 false, -1 not applied: the run is not "
         "ok)"),
      Of("filter_3", &R::filter_3, "1",
         "run removed by filter 3 (energy outlier in its group) (int8: 1 true, 0 false, -1 not applied: the run is not "
         "ok)"),
      Of("filter_3_stdevs", &R::filter_3_stdevs, "1", "standard deviations from the group's mean log energy"),
      Of("filter", &R::filter, "1",
         "run removed by filter_1 or filter_3 (int8: 1 true, 0 false, -1 not applied: the run is not ok)"),
      Of("std_energy", &R::std_energy_j, "J", "energy standardized to the class's reference node type"),
      Of("non_overhead_energy", &R::non_overhead_energy_j, "J", "standardized energy less the class's energy overhead"),
      Of("non_overhead_run_time", &R::non_overhead_run_time_s, "s", "run time less the class's run-time overhead"),
      Of("dataset", &R::dataset, "text", "data set name"),
      Of("shape", &R::shape, "text", "network shape"),
      Of("depth", &R::depth, "1", "number of layers"),
      Of("size", &R::size, "1", "target number of parameters"),
      Of("batch_size", &R::batch_size, "1", "training batch size", kNo),
      Of("usable", &R::usable, "1", "run is ok and not filtered (uint8: 1 true, 0 false)", kNo),
      Of("idle_energy", &R::idle_energy_j, "J", "energy at the node type's idle power over the window", Csv::kYes,
         /*optional=*/true),
      Of("dynamic_energy", &R::dynamic_energy_j, "J", "energy above the node type's idle power", Csv::kYes,
         /*optional=*/true),
      As<OptTime>("start_time", &R::start_time, "us since 1970-01-01 UTC",
                  "start of the run's window, runs.csv start (int64 min: unknown; CSV: ISO 8601 UTC)", Csv::kYes,
                  /*optional=*/true),
      As<OptTime>("end_time", &R::end_time, "us since 1970-01-01 UTC",
                  "end of the run's window, runs.csv update (int64 min: unknown; CSV: ISO 8601 UTC)", Csv::kYes,
                  /*optional=*/true),
      Of("carbon_g", &R::carbon_g, "g CO2e",
         "carbon emissions of the energy: each part of the window at the intensity in effect, PUE applied, as for jobs "
         "(NaN: not measured)",
         Csv::kYes, /*optional=*/true),
  };
  return table;
}

const Table<JobRow>& JobsTable() {
  using R = JobRow;
  static const Table<R> table = {
      Of("job_id", &R::job_id, "text", "Slurm job id as sacct writes it (123, 123_4, 123+0)"),
      Of("user", &R::user, "text", "Slurm user"),
      Of("account", &R::account, "text", "Slurm account"),
      Of("partition", &R::partition, "text", "Slurm partition"),
      Of("state", &R::state, "text", "Slurm job state"),
      As<Word>("status", &R::status, "text", "status (spec section 2)"),
      Of("node_list", &R::node_list, "text", "Slurm node list expression", kLast),
      As<OptTime>("start", &R::start, "us since 1970-01-01 UTC", "start of the window (int64 min: unknown)"),
      As<OptTime>("end", &R::end, "us since 1970-01-01 UTC", "end of the window (int64 min: unknown)"),
      Of("nodes", &R::nodes, "1", "number of nodes"),
      Of("alloc_cpus", &R::alloc_cpus, "1", "CPUs allocated to the job (-1: unknown)"),
      Of("run_time", &R::run_time_s, "s", "run time (NaN: unknown)"),
      Of("node_hours", &R::node_hours, "h", "node hours"),
      Of("samples", &R::samples, "1", "power readings in the window (-1: not measured)"),
      Of("missing_s", &R::missing_s, "s", "time without telemetry in the window"),
      Of("energy", &R::energy_j, "J", "energy integrated from the node power readings (NaN: not measured)"),
      Of("idle_energy", &R::idle_energy_j, "J", "energy at the node type's idle power over the window"),
      Of("dynamic_energy", &R::dynamic_energy_j, "J", "energy above the node type's idle power"),
      Of("carbon_g", &R::carbon_g, "g CO2e", "carbon emissions of the energy (PUE and intensity applied)"),
      Of("slurm_energy", &R::slurm_energy_j, "J", "Slurm's ConsumedEnergy (NaN: not recorded)"),
  };
  return table;
}

const Table<JobNodeRow>& JobNodesTable() {
  using R = JobNodeRow;
  static const Table<R> table = {
      Of("job", &R::job, "1", "row index into /jobs_energy", kNo),
      Of("node", &R::node, "text", "node host name", kNo),
      Of("node_type", &R::node_type, "text", "node type", kNo),
      Of("weight_cpus", &R::weight_cpus, "1", "CPUs of the job on the node (its share's weight)", kNo),
      Of("node_cpus", &R::node_cpus, "1", "CPUs of the node", kNo),
      Of("samples", &R::samples, "1", "power readings in the window (-1: not measured)", kNo),
      Of("missing_s", &R::missing_s, "s", "time without telemetry in the window", kNo),
      Of("energy", &R::energy_j, "J", "energy integrated from the node power readings (NaN: not measured)", kNo),
      Of("idle_energy", &R::idle_energy_j, "J", "energy at the node type's idle power over the window", kNo),
  };
  return table;
}

const Table<UsageRow>& UsageTable() {
  using R = UsageRow;
  static const Table<R> table = {
      As<Word>("month", &R::month, "text", "calendar month, YYYY-MM (UTC)"),
      Of("partition", &R::partition, "text", "Slurm partition"),
      Of("account", &R::account, "text", "Slurm account"),
      Of("user", &R::user, "text", "Slurm user"),
      Of("jobs", &R::jobs, "1", "number of jobs"),
      Of("node_hours", &R::node_hours, "h", "node hours"),
      Of("energy", &R::energy_j, "J", "energy integrated from the node power readings (NaN: not measured)"),
      Of("idle_energy", &R::idle_energy_j, "J", "energy at the node type's idle power over the window"),
      Of("dynamic_energy", &R::dynamic_energy_j, "J", "energy above the node type's idle power"),
      Of("carbon_g", &R::carbon_g, "g CO2e", "carbon emissions of the energy (PUE and intensity applied)"),
  };
  return table;
}

const Table<LedgerRow>& LedgerTable() {
  using R = LedgerRow;
  static const Table<R> table = {
      As<Word>("month", &R::month, "text", "calendar month, YYYY-MM (UTC)"),
      Of("node_type", &R::node_type, "text", "node type"),
      Of("nodes", &R::nodes, "1", "number of nodes"),
      Of("readings", &R::readings, "1", "number of power readings"),
      Of("metered_energy", &R::metered_energy_j, "J", "energy metered on the nodes"),
      Of("job_energy", &R::job_energy_j, "J", "energy received by jobs"),
      Of("unallocated_energy", &R::unallocated_energy_j, "J", "metered energy no job received"),
      Of("missing_s", &R::missing_s, "s", "time without telemetry in the window"),
  };
  return table;
}

const Table<QualityFileRow>& QualityFilesTable() {
  using R = QualityFileRow;
  static const Table<R> table = {
      As<Word>("stage", &R::stage, "text",
               "input the rows came from (telemetry, sacct, runs, nodes, datasets, losses, carbon_intensity)"),
      Of("file", &R::file, "text", "input file, relative to the facility directory"),
      As<Word>("reason", &R::reason, "text", "why the rows were set aside (as in quality.csv)"),
      Of("count", &R::count, "1", "rows of the file set aside for the reason (always > 0)"),
  };
  return table;
}

const Table<CoverageRow>& CoverageTable() {
  using R = CoverageRow;
  static const Table<R> table = {
      Of("day", &R::day, "days since 1970-01-01 UTC", "UTC day of the readings", kNo),
      As<Word>("node_type", &R::node_type, "text", "node type (empty: node not in nodes.csv)", kNo),
      Of("readings", &R::readings, "1", "power readings of the node type's nodes on the day", kNo),
  };
  return table;
}

const Table<idle::IdlePower>& IdlePowerTable() {
  using R = idle::IdlePower;
  static const Table<R> table = {
      As<Word>("node_type", &R::node_type, "text", "node type"),
      Of("nodes", &R::nodes, "1", "number of nodes"),
      Of("readings", &R::readings, "1", "number of power readings"),
      Of("idle_w", &R::idle_w, "W", "idle power of the node type (exact quantile of all its readings)"),
  };
  return table;
}

const Table<LowEndRow>& LowEndTable() {
  using R = LowEndRow;
  static const Table<R> table = {
      Of("value", &R::first, "W", "power reading value", kNo),
      Of("count", &R::second, "1", "readings of the node type with this value", kNo),
  };
  return table;
}

Table<idle::NodeDistribution> NodeDistTable(const std::vector<std::string>& quantile_names) {
  using R = idle::NodeDistribution;
  Table<R> table = {
      Of("node", &R::node, "text", "node host name"),
      As<Word>("node_type", &R::node_type, "text", "node type", kLast),
      Of("count", &R::count, "1", "readings of the node"),
      Of("min", &R::min, "W", "smallest reading"),
      Of("max", &R::max, "W", "largest reading", kLater),
      Of("idle_quantile", &R::idle_quantile, "W", "the node's idle-quantile power", kNo, /*optional=*/true),
  };
  for (std::size_t q = 0; q < quantile_names.size(); ++q) {
    const std::string& name = quantile_names[q];
    Column<R> c = Derived<codec::Real, R>(
        name, [q](const R& r) { return r.quantiles[q]; }, "W", "the node's power quantile " + name);
    c.read_h5 = [name](TableReader& t, std::vector<R>* rows) {
      const auto values = t.Column<double>(name);
      rows->resize(t.rows());
      for (std::size_t i = 0; i < values.size(); ++i) (*rows)[i].quantiles.push_back(values[i]);
    };
    table.push_back(std::move(c));
  }
  return table;
}

const Table<QualityRow>& QualityTable() {
  using R = QualityRow;
  static const Table<R> table = {
      As<Word>("stage", &R::stage, "text", "pipeline stage"),
      Of("reason", &R::reason, "text", "reason"),
      Of("count", &R::count, "1", "rows or runs dropped or counted for the reason"),
  };
  return table;
}

const Table<standardize::Overhead>& OverheadsTable() {
  using R = standardize::Overhead;
  static const Table<R> table = {
      Of("is_gpu", &R::is_gpu, "1", kGpu),
      Of("runs", &R::runs, "1", "number of runs"),
      Of("energy_overhead", &R::energy_overhead_j, "J", "energy overhead subtracted per run"),
      Of("runtime_overhead", &R::runtime_overhead_s, "s", "run-time overhead subtracted per run"),
  };
  return table;
}

const Table<ModelParameterRow>& ModelTable() {
  using R = ModelParameterRow;
  static const Table<R> table = {
      As<Word>("parameter", &R::parameter, "text", "model parameter name"),
      Of("value", &R::value, "see unit", "parameter value"),
      Of("std_error", &R::std_error, "same as value", "standard error of the parameter (NaN: not determined)"),
      Of("unit", &R::unit, "text", "unit of the parameter's value"),
      Of("determined", &R::determined, "1", "parameter determined by the fit (uint8: 1 true, 0 false)"),
      Of("reason", &R::reason, "text", "reason"),
  };
  return table;
}

const Table<PredictionRow>& PredictionsTable() {
  using R = PredictionRow;
  static const Table<R> table = {
      Of("run_id", &R::run_id, "text", "BUTTER run id"),
      Of("is_gpu", &R::is_gpu, "1", kGpu),
      Of("measured", &R::measured, "J", "measured (standardized, overhead-free) energy"),
      Of("predicted", &R::predicted, "J", "energy predicted by the fitted model"),
      Derived<codec::Real, R>(
          "ratio", [](const R& r) { return r.predicted / r.measured; }, "1", "predicted / measured energy"),
      Of("baseline_predicted", &R::baseline, "J", "energy predicted by the FLOPs-only baseline"),
  };
  return table;
}

const Table<FeatureRow>& FeaturesTable() {
  using R = FeatureRow;
  static const Table<R> table = {
      Of("run", &R::run, "1", "row index into /runs_energy", kNo),
      Of("n_params", &R::n_params, "1", "trainable parameters", kNo),
      Of("depth", &R::depth, "1", "number of layers", kNo),
      Of("n_observations", &R::n_observations, "1", "observations in the data set", kNo),
      Of("train_observations", &R::train_observations, "1", "training observations", kNo),
      Of("fwd_ops", &R::fwd_ops, "1", "operations of one forward pass per observation", kNo),
      Of("bwd_ops", &R::bwd_ops, "1", "operations of one backward pass per observation", kNo),
      Of("total_flops", &R::total_flops, "1", "floating-point operations of the whole training", kNo),
      Of("h_t", &R::h_t, "1", "training hyperparameter h_t of the energy model", kNo),
      Of("h_s", &R::h_s, "1", "size hyperparameter h_s of the energy model", kNo),
      Of("epochs", &R::epochs, "1", "training epochs", kNo),
      Of("t_max_bytes", &R::t_max_bytes, "B", "largest working set", kNo),
      Of("t_max_level", &R::t_max_level, "1", "memory level of the largest working set", kNo),
      Of("f_bytes", &R::f_bytes, "B", "working set of the forward pass", kNo),
      Of("f_level", &R::f_level, "1", "memory level the forward working set fits in", kNo),
      Of("f_test_level", &R::f_test_level, "1", "memory level of the forward pass on the test set", kNo),
      Of("b_bytes", &R::b_bytes, "B", "working set of the backward pass", kNo),
      Of("b_level", &R::b_level, "1", "memory level the backward working set fits in (0: first level)", kNo),
      Of("d_bytes", &R::d_bytes, "B", "size of the training data set", kNo),
      Of("d_level", &R::d_level, "1", "memory level the data set fits in", kNo),
  };
  return table;
}

const Table<MemoryLevelRow>& MemoryLevelsTable() {
  using R = MemoryLevelRow;
  static const Table<R> table = {
      Of("hardware_class", &R::hardware_class, "text", "hardware class", kNo),
      Of("is_gpu", &R::is_gpu, "1", kGpu, kNo),
      Of("level", &R::level, "1", "memory level (0: closest to the cores)", kNo),
      Of("bytes_per_unit", &R::bytes_per_unit, "B", "capacity of the memory level per unit (core, socket or device)",
         kNo),
      Of("units", &R::units, "1", "units (cores, sockets or devices) of the level", kNo),
  };
  return table;
}

const Table<LossRow>& LossesTable() {
  using R = LossRow;
  static const Table<R> table = {
      Of("experiment_id", &R::experiment_id, "text", "BUTTER experiment id", kNo),
      Of("epoch", &R::epoch, "1", "training epoch", kNo),
      Of("test_loss", &R::test_loss, "1", "test loss at the epoch", kNo),
  };
  return table;
}

const Table<IntensityRow>& CarbonIntensityTable() {
  using R = IntensityRow;
  static const Table<R> table = {
      Of("time", &R::first, "us since 1970-01-01 UTC", "instant the intensity holds from", kNo),
      Of("g_per_kwh", &R::second, "g CO2e/kWh", "carbon intensity from this instant on", kNo),
  };
  return table;
}

const Array kModelClasses = {"model_classes", "text", "hardware classes of the /model_<class> groups, in order"};
const Array kLowEndTypes = {"low_end_types", "text", "node types of /idle_power/low_end, in order"};
const Array kQuantileNames = {"quantile_names", "text", "names of the per-node quantile columns, in order"};
const Array kQuantileLevels = {"quantile_levels", "1", "levels of the per-node quantile columns, in order"};
const Array kRatioQuantileLevels = {"ratio_quantile_levels", "1", "quantile levels of predicted/measured"};
const Array kRatioQuantiles = {"ratio_quantiles", "1", "quantiles of predicted/measured"};
const Array kClasses = {"classes", "text", "hardware classes in configuration order"};
const Array kClassIsGpu = {"class_is_gpu", "1", "hardware class is a GPU class (uint8: 1 true, 0 false)"};

const std::vector<ModelFigure>& ModelFigures() {
  using M = ModelResult;
  static const std::vector<ModelFigure> figures = {
      {"median_ratio", &M::median_ratio},
      {"sigma_log_ratio", &M::sigma_log_ratio},
      {"median_abs_log_error", &M::median_abs_log_error},
      {"cv_median_abs_log_error", &M::cv_median_abs_log_error},
      {"baseline_c0", &M::baseline_c0},
      {"baseline_c1", &M::baseline_c1},
      {"baseline_median_abs_log_error", &M::baseline_median_abs_log_error},
      {"baseline_sigma_log_ratio", &M::baseline_sigma_log_ratio},
      {"baseline_cv_median_abs_log_error", &M::baseline_cv_median_abs_log_error},
      {"fit_seconds", &M::fit_seconds},
  };
  return figures;
}

}  // namespace wattrun::results::schema
