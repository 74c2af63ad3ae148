// The run table, one spec step at a time (rank 0, after the telemetry pass):
// each function takes plain inputs and fills or returns its part of the
// results, in the order the driver calls them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/mpi.h"
#include "core/records.h"
#include "stages/idle/idle.h"
#include "stages/integrate/integrate.h"
#include "stages/join/join.h"
#include "stages/model/fit.h"
#include "stages/quality/quality.h"
#include "stages/results/results.h"
#include "stages/standardize/standardize.h"
#include "stages/topology/topology.h"

namespace wattrun::runs {

// Step 4: one row per input run with its status (join, then telemetry), run
// time, samples and energy (for ok, missing_some and zero_watts runs).
// `integrated[i]` false: the run's node has no telemetry (no sample).
// Every run whose window parsed gets start_time and end_time; a run with
// energy gets carbon_g[i] (when given).
std::vector<results::RunRow> MeasureRuns(const std::vector<RunRecord>& runs, const std::vector<join::JoinedRun>& joined,
                                         const std::vector<integrate::RunIntegral>& integrals,
                                         const std::vector<bool>& integrated, double sampling_interval_s,
                                         const std::vector<double>& carbon_g = {});

// Step 5: filter_1, filter_3 and their z-scores; `usable` = ok and not filtered.
void FilterRuns(const quality::FilterOptions& options, std::vector<results::RunRow>* rows);

// Step 7 options: each class's reference node type.
struct StandardizeOptions {
  std::map<bool, std::string> reference_type;  // is_gpu -> type
  static StandardizeOptions FromConfig(const Config& config);
};

// Step 7: std_energy where energy and both idle powers are known; also the
// runs' idle_energy = P_idle[type] * run_time and dynamic_energy (section 4).
void StandardizeRuns(const std::vector<idle::IdlePower>& idle, const StandardizeOptions& options,
                     std::vector<results::RunRow>* rows);

// Step 8: the overheads per class, subtracted from every run of the class.
std::vector<standardize::Overhead> SubtractOverheads(const standardize::OverheadOptions& options,
                                                     std::vector<results::RunRow>* rows);

// Steps 9-11 options: the memory levels and epochs.
struct FeatureOptions {
  std::map<bool, MemoryHierarchy> memory_levels;  // is_gpu -> levels
  std::int64_t epochs = 3000;
  static FeatureOptions FromConfig(const Config& config);
};

// Steps 9-11: network features of every run whose data set is known.
struct RunFeatures {
  std::vector<std::optional<topology::RunFeatures>> per_run;
  std::vector<results::FeatureRow> rows;
  std::int64_t unknown_dataset = 0;  // runs whose data set is not in datasets.csv
  std::int64_t bad_network = 0;      // unknown shape or depth
};
RunFeatures ComputeRunFeatures(const std::vector<RunRecord>& runs, const std::vector<results::RunRow>& rows,
                               const std::vector<DatasetRecord>& datasets, const FeatureOptions& options);

// Step 12 options, per hardware class.
struct ModelOptions {
  struct Class {
    std::string name;
    bool is_gpu = false;
    int levels = 0;
  };
  std::vector<Class> classes;
  model::FitOptions fit;
  static ModelOptions FromConfig(const Config& config);
};

// Step 12: the energy model per class on usable runs, with its predictions.
struct Models {
  std::vector<results::ModelResult> models;
  std::vector<results::PredictionRow> predictions;
};
// Collective: rank 0 gives the rows and features (the other ranks' are not
// read) and gets the models; the classes are fitted on the ranks at once.
Models FitModels(const std::vector<results::RunRow>& rows, const RunFeatures& features, const ModelOptions& options,
                 const Comm& comm);

// quality.csv: bad input rows, then run statuses, filters, features, and
// the job statuses of facility accounting (stage `jobs`).
std::vector<results::QualityRow> QualityAccount(
    const std::vector<BadRowCount>& bad_rows, const std::vector<results::RunRow>& rows, const RunFeatures& features,
    const std::vector<std::pair<std::string, std::int64_t>>& job_status_counts = {},
    const std::vector<BadRowCount>& job_bad_rows = {});

// quality_files.csv: the per-file counts of both lists (the store's and
// facility accounting's), those of one (stage, file, reason) summed, zero
// counts left out, sorted by stage, file, reason.
std::vector<results::QualityFileRow> QualityByFile(const std::vector<BadRowCount>& bad_rows,
                                                   const std::vector<BadRowCount>& job_bad_rows = {});

// Idle power by node type, for the types that have one (not NaN).
std::map<std::string, double> IdlePowerByType(const std::vector<idle::IdlePower>& idle);

// The constant carbon intensity of the config: a fixed value or an energy
// mix, with a description for the report.
struct ResolvedCarbon {
  double g_per_kwh = 475.0;
  std::string source;
};
ResolvedCarbon ResolveCarbon(const CarbonConfig& carbon);

// Settings the results record: facility, methods, quantile levels, filter
// thresholds, memory levels, carbon.
void RecordSettings(const Config& config, results::PipelineResults* out);

}  // namespace wattrun::runs
