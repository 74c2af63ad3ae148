// What a pipeline run produces, as plain tables (rank 0 only), and their
// writers: the CSV files of spec section 3 and results.h5.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/maybe.h"
#include "core/memory_hierarchy.h"
#include "core/quantile.h"
#include "core/symbol.h"
#include "core/time.h"
#include "stages/idle/idle.h"
#include "stages/standardize/standardize.h"

namespace wattrun::results {

// One row of runs_energy.csv plus what the model and the report need.
struct RunRow {
  std::string run_id;
  std::string experiment_id;
  std::string slurm_job_id;
  std::string node;
  std::string node_type;
  bool is_gpu = false;
  std::string status;
  std::optional<double> run_time_s;
  std::optional<std::int64_t> samples;
  std::optional<double> energy_j;
  std::optional<bool> filter_1;
  std::optional<bool> filter_3;
  std::optional<double> filter_3_stdevs;
  std::optional<bool> filter;
  std::optional<double> std_energy_j;
  std::optional<double> non_overhead_energy_j;
  std::optional<double> non_overhead_run_time_s;
  // Extra columns after the required ones (spec section 4, "Runs too"):
  // P_idle[type] * run_time and energy minus it, where energy is defined.
  std::optional<double> idle_energy_j;
  std::optional<double> dynamic_energy_j;
  // Then, for carbon users: the window as runs.csv gives it (where it
  // parsed and start <= update) and the carbon of the energy, by the jobs'
  // rule (section 4) over the run's window.
  std::optional<TimeUs> start_time;
  std::optional<TimeUs> end_time;
  std::optional<double> carbon_g;
  // Run description, for the model and the report.
  std::string dataset;
  std::string shape;
  std::int64_t depth = 0;
  std::int64_t size = 0;
  std::int64_t batch_size = 0;
  bool usable = false;  // ok and not filtered
};

// Per-run network features (spec steps 9-11) where the data set is known.
struct FeatureRow {
  std::size_t run = 0;  // index into runs
  std::int64_t n_params = 0;
  std::int64_t depth = 0;
  std::int64_t n_observations = 0;
  std::int64_t train_observations = 0;
  double fwd_ops = 0;
  double bwd_ops = 0;
  double total_flops = 0;  // n (h_t (fwd + bwd) + h_s fwd)
  std::int64_t h_t = 0;
  std::int64_t h_s = 0;
  std::int64_t epochs = 0;
  double t_max_bytes = 0;
  int t_max_level = 0;
  double f_bytes = 0;
  int f_level = 0;
  int f_test_level = 0;
  double b_bytes = 0;
  int b_level = 0;
  double d_bytes = 0;
  int d_level = 0;
};

struct QualityRow {
  std::string stage;
  std::string reason;
  std::int64_t count = 0;
};

// One row of quality_files.csv: the rows of one input file set aside for
// one reason (quality.csv sums them by stage and reason).
struct QualityFileRow {
  std::string stage;  // telemetry, sacct, runs, nodes, datasets, losses, carbon_intensity
  std::string file;   // relative to the facility directory
  std::string reason;
  std::int64_t count = 0;
};

struct ModelParameterRow {
  std::string parameter;
  double value = 0;
  std::optional<double> std_error;
  std::string unit;
  bool determined = false;
  std::string reason;  // why not determined
};

struct ModelResult {
  std::string hardware_class;  // cpu or gpu
  bool fitted = false;
  std::string message;  // solver summary or why no fit
  std::int64_t runs = 0;
  std::vector<ModelParameterRow> parameters;
  double median_ratio = 0, sigma_log_ratio = 0, median_abs_log_error = 0, cv_median_abs_log_error = 0;
  std::vector<std::pair<double, double>> ratio_quantiles;  // (level, value)
  // FLOPs-only baseline E = c0 + c1 FLOPs with the same loss.
  double baseline_c0 = 0, baseline_c1 = 0, baseline_median_abs_log_error = 0, baseline_sigma_log_ratio = 0,
         baseline_cv_median_abs_log_error = 0;
  double fit_seconds = 0;
};

struct PredictionRow {
  std::string run_id;
  bool is_gpu = false;
  double measured = 0;
  double predicted = 0;
  double baseline = 0;
};

struct TypeDistribution {
  std::string node_type;
  std::vector<std::pair<double, std::int64_t>> values;  // the low end, for the report
};

// A hardware class's memory levels: the cache boundaries drawn in the report.
struct ClassMemory {
  std::string hardware_class;  // cpu or gpu
  bool is_gpu = false;
  MemoryHierarchy levels;  // ascending; the last one is main memory (RAM/VRAM)
};

// One row of jobs_energy.csv (spec section 5): a sacct allocation, in sacct
// order. Numbers are empty (nullopt) for not_started jobs.
struct JobRow {
  std::string job_id;
  Symbol user;  // the texts that repeat over rows are Symbols (core/symbol.h)
  Symbol account;
  Symbol partition;
  Symbol state;           // as sacct writes it ("CANCELLED by 123")
  Symbol status;          // spec section 4: not_started ... ok
  std::string node_list;  // as sacct writes it
  Maybe<TimeUs> start;
  Maybe<TimeUs> end;       // running: the store's last instant
  std::int64_t nodes = 0;  // nodes in the expanded list
  Maybe<std::int64_t> alloc_cpus;
  Maybe<double> run_time_s;
  Maybe<double> node_hours;
  Maybe<std::int64_t> samples;
  Maybe<double> missing_s;
  Maybe<double> energy_j;
  Maybe<double> idle_energy_j;
  Maybe<double> dynamic_energy_j;
  Maybe<double> carbon_g;
  Maybe<double> slurm_energy_j;  // ConsumedEnergyRaw as given
};

// A job's part on one of its nodes (results.h5 only; `wattrun job` shows it).
struct JobNodeRow {
  std::size_t job = 0;  // index into jobs
  Symbol node;
  Symbol node_type;        // empty: not in nodes.csv
  double weight_cpus = 0;  // w_j on this node
  double node_cpus = 0;    // C_h (0 when unknown)
  std::int64_t samples = 0;
  double missing_s = 0;
  double energy_j = 0;
  double idle_energy_j = 0;
};

// One row of usage.csv: (month, partition, account, user) with a job in it.
struct UsageRow {
  std::string month;  // YYYY-MM in the scheduler's zone
  std::string partition;
  std::string account;
  std::string user;
  std::int64_t jobs = 0;  // job-months
  double node_hours = 0;
  double energy_j = 0;
  double idle_energy_j = 0;
  double dynamic_energy_j = 0;
  double carbon_g = 0;
};

// One row of ledger.csv: (month, node type).
struct LedgerRow {
  std::string month;
  std::string node_type;
  std::int64_t nodes = 0;  // nodes of the type with a reading in the month
  std::int64_t readings = 0;
  double metered_energy_j = 0;
  double job_energy_j = 0;
  double unallocated_energy_j = 0;
  double missing_s = 0;
};

// Readings of one node type on one UTC day, from the telemetry pass (an
// empty node type: nodes not in nodes.csv).
struct CoverageRow {
  std::int64_t day = 0;  // days since 1970-01-01 UTC
  std::string node_type;
  std::int64_t readings = 0;
};

struct PipelineResults {
  std::vector<RunRow> runs;
  std::vector<FeatureRow> features;
  std::vector<idle::IdlePower> idle;
  std::vector<std::string> node_quantile_names;
  std::vector<double> node_quantile_levels;
  std::vector<idle::NodeDistribution> nodes;
  std::vector<TypeDistribution> type_low_end;
  std::vector<QualityRow> quality;
  std::vector<QualityFileRow> quality_files;  // count > 0, by stage, file, reason
  std::vector<standardize::Overhead> overheads;
  std::vector<ModelResult> models;
  std::vector<PredictionRow> predictions;
  // Facility accounting (spec sections 4-5).
  std::vector<JobRow> jobs;
  std::vector<JobNodeRow> job_nodes;
  std::vector<UsageRow> usage;
  std::vector<LedgerRow> ledger;
  // carbon_intensity.csv as used (UTC ms, g/kWh); empty: the constant
  // carbon_g_per_kwh held throughout.
  std::vector<std::pair<TimeUs, double>> carbon_intensity;
  // Energy-loss and carbon summaries are derived by the report from these.
  std::vector<std::string> loss_experiment;
  std::vector<std::int64_t> loss_epoch;
  std::vector<double> loss_value;
  double carbon_g_per_kwh = 475.0;
  double pue = 1.0;
  // Where carbon_g_per_kwh comes from, e.g. "configured intensity" or
  // "energy mix: coal 25 %, ..."; empty: the report describes the default.
  std::string carbon_source;
  // Settings the report draws (filter thresholds, the idle quantile) and the
  // memory levels per class; empty memory_levels: the report uses Eagle's.
  double idle_quantile = 0.02;
  double filter_max_run_time_s = 75000.0;
  double filter_max_stdevs = 4.0;
  std::vector<ClassMemory> memory_levels;
  std::string facility;
  // The store the run read (absolute path), so that `wattrun predict` finds
  // the run's data sets wherever the store lives; empty when unknown.
  std::string store_path;
  std::string integration;
  std::string idle_method;
  double telemetry_seconds = 0;
  std::int64_t telemetry_readings = 0;
  std::int64_t telemetry_bytes = 0;
  // Provenance, written as results.h5 root attributes (filled by the driver;
  // empty: unknown): the command as typed and the configuration's YAML text.
  std::string command_line;
  std::string config_yaml;
  // When the results were made (ISO 8601 UTC; empty: when results.h5 is
  // written), the Slurm job that made them (empty: none), and the version
  // that wrote the results.h5 read back (empty: this binary).
  std::string created_utc;
  std::string slurm_job_id;
  std::string wattrun_version;
  // Telemetry readings per UTC day and node type (results.h5 only).
  std::vector<CoverageRow> coverage;
};

// Writes every CSV of spec section 3 and results.h5 into dir. Each file is
// written to a temporary name and renamed; `_SUCCESS` is written last (and
// removed first), so a run killed halfway never looks complete.
void WriteResults(const PipelineResults& results, const std::string& dir);
void BeginResults(const std::string& dir);
void FinishResults(const std::string& dir);

// Reads results.h5 back (for `wattrun report`).
PipelineResults ReadResultsH5(const std::string& path);

// Only the store path recorded in results.h5 ("" when the file predates the
// record), without reading the tables.
std::string ReadRecordedStorePath(const std::string& results_h5_path);

// Shortest text that reads back as the same double ("" for NaN).
std::string FormatDouble(double value);

}  // namespace wattrun::results
