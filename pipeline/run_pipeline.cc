#include "pipeline/run_pipeline.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <tuple>

#include "core/error.h"
#include "core/time.h"
#include "stages/account/account.h"
#include "stages/idle/idle.h"
#include "stages/ingest/ingest.h"
#include "stages/join/join.h"
#include "stages/pass/pass.h"
#include "stages/pass/pass_partial.h"
#include "stages/report/report.h"
#include "stages/runs/runs.h"
#include "store/store.h"

namespace wattrun::pipeline {
namespace fs = std::filesystem;
using results::PipelineResults;

namespace {

using Clock = std::chrono::steady_clock;
double SecondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Every option of the run, derived from the config once (each stage's
// FromConfig) so that a bad value stops the job before the telemetry pass.
struct StageOptions {
  pass::PassOptions pass;
  join::JoinOptions join;
  quality::FilterOptions filters;
  idle::Method idle_method = idle::Method::kPooled;
  double idle_quantile = 0.02;
  runs::StandardizeOptions standardize;
  standardize::OverheadOptions overheads;
  runs::FeatureOptions features;
  runs::ModelOptions model;
  account::AccountOptions account;  // store span and intensity series come from the store

  static StageOptions FromConfig(const Config& config, const RunOptions& run) {
    StageOptions o;
    o.pass = pass::PassOptions::FromConfig(config, run.chunk_readings);
    o.pass.progress = run.progress;
    o.join = {
        static_cast<TimeUs>(std::llround(config.facility.sampling_interval_s * static_cast<double>(kMicrosPerSecond)))};
    o.filters = {config.pipeline.filter_max_run_time_s, config.pipeline.filter_max_stdevs};
    o.idle_method =
        config.pipeline.idle_method == IdleMethod::kPooled ? idle::Method::kPooled : idle::Method::kMedianOfNodes;
    o.idle_quantile = config.pipeline.idle_quantile;
    o.standardize = runs::StandardizeOptions::FromConfig(config);
    o.overheads = {config.pipeline.overhead_dataset, config.pipeline.overhead_max_size,
                   config.pipeline.overhead_quantile};
    o.features = runs::FeatureOptions::FromConfig(config);
    o.model = runs::ModelOptions::FromConfig(config);
    if (const std::string bad = o.model.fit.Validate(); !bad.empty()) throw Error("pipeline." + bad);
    o.account.zone = TimeZone::Load(config.facility.scheduler.timezone);
    o.account.sampling_interval_us = o.join.tolerance_us;  // one sampling interval
    o.account.integration = o.pass.method;
    o.account.pue = config.pipeline.carbon.pue;
    o.account.constant_g_per_kwh = runs::ResolveCarbon(config.pipeline.carbon).g_per_kwh;
    return o;
  }
};

void AddStage(RunSummary* summary, std::string stage, double seconds, std::int64_t readings = 0, std::int64_t bytes = 0,
              std::int64_t rss = 0) {
  if (summary) summary->stages.push_back({std::move(stage), seconds, readings, bytes, rss});
}

// Runs outside their jobs by a constant whole-hour offset: sacct written
// in another zone than scheduler.timezone (the statuses stand as they are).
void WarnIfZoneShifted(const Config& config, const store::Catalogue& catalogue,
                       const std::vector<join::JoinedRun>& joined, const join::JoinOptions& options) {
  const auto shift = join::DetectZoneShift(catalogue.runs, catalogue.jobs, joined, options);
  if (!shift) return;
  std::fprintf(stderr, "wattrun: warning: %s\n",
               join::ZoneShiftWarning(*shift, config.facility.scheduler.timezone).c_str());
}

// Where the results came from: command, time, Slurm job, store (results.h5
// root attributes and the report's provenance block).
void RecordProvenance(const RunOptions& options, const std::string& store_path, PipelineResults* out) {
  out->command_line = options.command_line;
  out->created_utc =
      FormatUtcIso(std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now())
                       .time_since_epoch()
                       .count());
  if (const char* job = std::getenv("SLURM_JOB_ID"); job != nullptr && *job != '\0') out->slurm_job_id = job;
  out->store_path = fs::absolute(store_path).lexically_normal().string();
}

// The pass's readings per (UTC day, type index) as rows naming the type.
std::vector<results::CoverageRow> CoverageRows(const pass::DayTypeCounts& counts,
                                               const std::vector<std::string>& types) {
  std::vector<results::CoverageRow> rows;
  for (const auto& [key, n] : counts) {
    const std::string type = key.second >= 0 ? types[static_cast<std::size_t>(key.second)] : std::string();
    rows.push_back({key.first, type, n});
  }
  return rows;
}

void CopyLosses(const std::vector<LossRecord>& losses, PipelineResults* out) {
  for (const auto& l : losses) {
    out->loss_experiment.push_back(l.experiment_id);
    out->loss_epoch.push_back(l.epoch);
    out->loss_value.push_back(l.test_loss);
  }
}

// Step 2 and the set-up of section 4 on rank 0, the one rank that read the
// job table; the other ranks get what their units need.
void JoinAndSetUpAccounting(const Config& config, const store::Catalogue& catalogue, const RunOptions& options,
                            const Comm& comm, store::TelemetryReader& reader, StageOptions* o,
                            std::vector<join::JoinedRun>* joined, account::AccountSetup* setup) {
  RunCollectively(comm, [&] {
    std::tie(o->account.store_first, o->account.store_last) = pass::StoreSpan(reader);
    o->account.intensity = catalogue.carbon_intensity;
    setup->options = o->account;
    if (!comm.is_root()) return;
    *joined = join::JoinRuns(catalogue.runs, catalogue.jobs, catalogue.nodes, o->join);
    *setup = account::BuildAccountSetup(catalogue.jobs, catalogue.nodes, o->account);
    if (!options.quiet) WarnIfZoneShifted(config, catalogue, *joined, o->join);
  });
  join::ShareJoinedRuns(comm, joined);
  account::ShareSetupForUnits(comm, setup);
}

// The telemetry rows of quality.csv and, for energy counters, the counter
// drops the pass read as resets (pass,counter_reset: counted even when 0, so
// that a counter facility's quality.csv always says).
std::vector<BadRowCount> CounterResetRows(const Config& config, const std::vector<BadRowCount>& telemetry_rows,
                                          std::int64_t resets) {
  std::vector<BadRowCount> rows = telemetry_rows;
  if (config.facility.telemetry_format.kind == TelemetryKind::kEnergyCounter)
    rows.push_back({"pass", "", "counter_reset", resets});
  return rows;
}

}  // namespace

// The spec's section 2, step by step: the collective pass, then rank 0.
PipelineResults ComputeResults(const Config& config, const std::string& store_path, const RunOptions& options,
                               const Comm& comm, RunSummary* summary) {
  StageOptions o;
  store::Catalogue catalogue;
  std::unique_ptr<store::TelemetryReader> reader;
  RunCollectively(comm, [&] {
    o = StageOptions::FromConfig(config, options);
    // The job table only on rank 0, which joins and sets up the accounting.
    catalogue = store::ReadCatalogue(store_path, comm.is_root() ? store::JobTable::kRead : store::JobTable::kSkip);
    store::CheckZones(catalogue, config, store_path);
    reader = std::make_unique<store::TelemetryReader>(store_path);
  });
  std::vector<join::JoinedRun> joined;
  account::AccountSetup account_setup;
  JoinAndSetUpAccounting(config, catalogue, options, comm, *reader, &o, &joined, &account_setup);  // 2, section 4
  auto plan = pass::PassPlan::Build(config, catalogue, joined);
  if (options.account_jobs) plan.account = &account_setup;
  plan.carbon = &account_setup;
  pass::PassResult pass = pass::RunTelemetryPass(*reader, plan, o.pass, comm);  // steps 3 and 6's counts
  account_setup.ReleaseNodeJobs();
  AddStage(summary, "telemetry pass", pass.seconds, pass.readings, pass.bytes_read, pass.peak_rss_bytes);
  PipelineResults out;
  out.telemetry_seconds = pass.seconds;
  out.telemetry_readings = pass.readings;
  out.telemetry_bytes = pass.bytes_read;
  if (!comm.is_root()) {
    if (options.fit_model) runs::FitModels({}, {}, o.model, comm);  // the classes this rank fits
    return out;
  }

  const auto t_final = Clock::now();
  runs::RecordSettings(config, &out);
  RecordProvenance(options, store_path, &out);
  out.coverage = CoverageRows(pass.day_type_readings, plan.types);
  out.runs = runs::MeasureRuns(catalogue.runs, joined, pass.run_integrals, pass.integrated,
                               config.facility.sampling_interval_s, pass.run_carbon_g);  // step 4
  runs::FilterRuns(o.filters, &out.runs);                                                // step 5
  out.nodes = pass.nodes;
  out.idle = idle::ComputeIdlePower(plan.types, pass.type_values, out.nodes, o.idle_method, o.idle_quantile);  // 6
  for (std::size_t t = 0; t < plan.types.size(); ++t)
    out.type_low_end.push_back({plan.types[t], pass.type_values[t].Sorted()});
  runs::StandardizeRuns(out.idle, o.standardize, &out.runs);  // step 7
  account::AccountResult jobs = options.account_jobs
                                    ? account::FinalizeAccount(account_setup, catalogue.jobs, std::move(pass.account),
                                                               runs::IdlePowerByType(out.idle), plan.types)
                                    : account::AccountResult{};
  out.jobs = std::move(jobs.jobs);  // section 4
  out.job_nodes = std::move(jobs.job_nodes);
  out.usage = std::move(jobs.usage);
  out.ledger = std::move(jobs.ledger);
  for (const auto& c : catalogue.carbon_intensity) out.carbon_intensity.emplace_back(c.time, c.g_per_kwh);
  out.overheads = runs::SubtractOverheads(o.overheads, &out.runs);  // step 8
  const runs::RunFeatures features =
      runs::ComputeRunFeatures(catalogue.runs, out.runs, catalogue.datasets, o.features);  // steps 9-11
  out.features = features.rows;
  out.quality = runs::QualityAccount(CounterResetRows(config, catalogue.quality, pass.counter_resets), out.runs,
                                     features, jobs.status_counts, account_setup.bad_rows);
  out.quality_files = runs::QualityByFile(catalogue.quality, account_setup.bad_rows);
  AddStage(summary, "statuses filters idle standardize", SecondsSince(t_final));
  if (options.fit_model) {
    runs::Models models = runs::FitModels(out.runs, features, o.model, comm);  // step 12, on the ranks
    for (const auto& m : models.models) {
      if (m.fitted || m.fit_seconds > 0) {
        AddStage(summary, "model fit " + m.hardware_class + " (" + std::to_string(m.runs) + " runs)", m.fit_seconds);
      }
    }
    out.models = std::move(models.models);
    out.predictions = std::move(models.predictions);
  }
  CopyLosses(catalogue.losses, &out);  // step 13's input
  if (summary) {
    summary->runs = static_cast<std::int64_t>(out.runs.size());
    for (const auto& row : out.runs) summary->usable_runs += row.usable;
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
    io.wait_seconds = options.wait_seconds;
    io.allow_other_input = options.allow_other_input;
    io.memory_budget_bytes = options.memory_budget_bytes;
    io.progress = options.progress;
    const auto s = ingest::Ingest(config, io, comm);
    summary.stages.push_back({"ingest", s.seconds, s.rows_stored, s.telemetry_bytes, s.peak_rss_bytes});
    if (comm.is_root() && options.verbose) {
      std::fprintf(options.summary_to_stderr ? stderr : stdout,
                   "ingest: %lld new files (%lld unchanged), %lld telemetry rows read, %lld stored, %lld bad, "
                   "%lld duplicates, %lld conflicts, %.1f s\n",
                   static_cast<long long>(s.files_new), static_cast<long long>(s.files_unchanged),
                   static_cast<long long>(s.rows_read), static_cast<long long>(s.rows_stored),
                   static_cast<long long>(s.bad_rows), static_cast<long long>(s.duplicates),
                   static_cast<long long>(s.conflicts), s.seconds);
      for (const auto& line : ingest::SourceTotalsLines(s.sources))
        std::fprintf(options.summary_to_stderr ? stderr : stdout, "  %s\n", line.c_str());
    }
    if (comm.is_root() && options.verbose && !options.quiet) {
      for (std::size_t i = 0; i < s.warnings.size() && i < 20; ++i)
        std::fprintf(stderr, "  warning: %s\n", s.warnings[i].c_str());
      if (s.warnings.size() > 20) std::fprintf(stderr, "  ... %zu more warnings\n", s.warnings.size() - 20);
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
