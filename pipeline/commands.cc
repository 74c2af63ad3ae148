#include "pipeline/commands.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/json.h"
#include "core/progress.h"
#include "pipeline/run_pipeline.h"
#include "stages/generate/generate.h"
#include "stages/ingest/ingest.h"
#include "stages/report/report.h"
#include "stages/results/results.h"

namespace wattrun::pipeline {
namespace fs = std::filesystem;

namespace {
std::string Mb(std::int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return buf;
}
// WATTRUN_PROGRESS_INTERVAL_S overrides the 30 s between lines (tests, demos).
ProgressOptions ProgressFor(const OutputArgs& out) {
  ProgressOptions o;
  o.enabled = !out.quiet;
  o.verbose = out.verbose;
  if (const char* s = std::getenv("WATTRUN_PROGRESS_INTERVAL_S")) {
    const double v = std::atof(s);
    if (v > 0) o.interval_s = v;
  }
  return o;
}

std::string ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open configuration file");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void PrintWarnings(const std::vector<std::string>& warnings, const OutputArgs& out) {
  if (out.quiet) return;
  for (std::size_t i = 0; i < warnings.size() && i < 20; ++i)
    std::fprintf(stderr, "  warning: %s\n", warnings[i].c_str());
  if (warnings.size() > 20) std::fprintf(stderr, "  ... %zu more warnings\n", warnings.size() - 20);
}

}  // namespace

int GenerateCommand(const GenerateArgs& args, const Config& config, const Comm& comm, const OutputArgs& out) {
  generate::GenerateOptions o;
  o.output_dir = args.output;
  o.scale = args.scale > 0 ? args.scale : config.generator.scale;
  o.months = args.months > 0 ? args.months : config.generator.months;
  o.seed = args.seed >= 0 ? static_cast<std::uint64_t>(args.seed) : config.generator.seed;
  o.dirty = !args.clean && config.generator.dirty;
  if (!generate::ParseTelemetryLayout(args.telemetry_format, &o.telemetry_layout)) {
    throw Error("generate: unknown --telemetry-format '" + args.telemetry_format + "'");
  }
  if (o.telemetry_layout != generate::TelemetryLayout::kSpec) o.config_yaml = ReadTextFile(config.source_path);
  Progress progress(comm.rank(), comm.size(), ProgressFor(out));
  o.progress = &progress;
  generate::GenerateSummary s;
  RunCollectively(comm, [&] { s = generate::GenerateFacility(config, o, comm.get()); });
  if (comm.is_root()) {
    std::printf(
        "generate: %s (scale %g, %d months, seed %llu): %lld nodes, %lld runs in %lld jobs, "
        "%lld telemetry rows in %lld files, %s, %.1f s (%.2f M rows/s per rank)\n",
        args.output.c_str(), o.scale, o.months, static_cast<unsigned long long>(o.seed),
        static_cast<long long>(s.nodes), static_cast<long long>(s.runs), static_cast<long long>(s.butter_jobs),
        static_cast<long long>(s.telemetry_rows), static_cast<long long>(s.telemetry_files),
        Mb(s.bytes_written).c_str(), s.seconds,
        s.telemetry_seconds > 0 ? static_cast<double>(s.telemetry_rows) / s.telemetry_seconds / comm.size() / 1e6
                                : 0.0);
  }
  return 0;
}

int IngestCommand(const IngestArgs& args, const Config& config, const Comm& comm, const OutputArgs& out) {
  ingest::IngestOptions o;
  o.input_dir = args.input;
  o.store_path = args.store;
  o.memory_budget_bytes = args.memory_budget_mb << 20;
  o.wait_seconds = args.wait_seconds;
  o.allow_other_input = args.allow_other_input;
  Progress progress(comm.rank(), comm.size(), ProgressFor(out));
  o.progress = &progress;
  const auto s = ingest::Ingest(config, o, comm);
  if (comm.is_root()) {
    std::printf("ingest: %s <- %s\n", args.store.c_str(), args.input.c_str());
    std::printf("  files: %lld new or changed, %lld unchanged (skipped)\n", static_cast<long long>(s.files_new),
                static_cast<long long>(s.files_unchanged));
    std::printf("  telemetry: %lld new files, %s, %lld rows read, %lld readings stored (batch %lld)\n",
                static_cast<long long>(s.telemetry_files_new), Mb(s.telemetry_bytes).c_str(),
                static_cast<long long>(s.rows_read), static_cast<long long>(s.rows_stored),
                static_cast<long long>(s.batch));
    std::printf("  bad rows %lld, duplicates %lld, conflicts %lld (by file and reason in the store's /quality)\n",
                static_cast<long long>(s.bad_rows), static_cast<long long>(s.duplicates),
                static_cast<long long>(s.conflicts));
    std::printf("  in the store, by input:\n");
    for (const auto& line : ingest::SourceTotalsLines(s.sources)) std::printf("    %s\n", line.c_str());
    const std::string others =
        comm.size() > 1 ? " (" + Mb(s.peak_rss_bytes_other_ranks) + " on the ranks but 0, which holds the catalogue)"
                        : "";
    std::printf("  time %.2f s (parse %.2f, sort %.2f, write %.2f), %.1f MB/s per rank, peak memory %s per rank%s\n",
                s.seconds, s.parse_seconds, s.sort_seconds, s.write_seconds,
                s.seconds > 0 ? static_cast<double>(s.telemetry_bytes) / s.seconds / comm.size() / 1e6 : 0.0,
                Mb(s.peak_rss_bytes).c_str(), others.c_str());
    if (s.prometheus_http_seconds > 0) {
      std::printf("  prometheus: waiting for responses %.2f s, JSON %.2f s, into the ingest %.2f s (slowest rank)\n",
                  s.prometheus_http_seconds, s.prometheus_json_seconds, s.prometheus_ingest_seconds);
    }
    if (s.spilled_bytes > 0) {
      std::printf(
          "  over the memory budget: %s of readings spilled to disk (raise --memory-budget-mb to keep them in "
          "memory)\n",
          Mb(s.spilled_bytes).c_str());
    }
    PrintWarnings(s.warnings, out);
  }
  return 0;
}

namespace {

// RunOptions from the command line: the store defaults to OUTPUT/store.h5
// when there is no --input.
RunOptions OptionsFor(const RunArgs& args, const OutputArgs& out, Progress* progress) {
  RunOptions o;
  o.quiet = out.quiet;
  o.memory_budget_bytes = args.memory_budget_mb << 20;
  o.progress = progress;
  o.input_dir = args.input;
  o.store_path = args.store;
  o.output_dir = args.output;
  o.wait_seconds = args.wait_seconds;
  o.allow_other_input = args.allow_other_input;
  o.fit_model = !args.no_fit;
  o.write_report = !args.no_report;
  o.account_jobs = !args.no_accounting;
  o.command_line = args.command_line;
  o.summary_to_stderr = args.json;
  if (o.input_dir.empty() && o.store_path.empty()) {
    o.store_path = (fs::path(args.output) / "store.h5").string();
    if (!fs::exists(o.store_path))
      throw Error("run needs --input FACILITY_DIR or --store STORE.h5 (no " + o.store_path + ")");
  }
  return o;
}

// --timings: one CSV row per stage, for benchmarks.
void WriteTimings(const std::string& path, const RunSummary& s, const Comm& comm) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) throw Error(path + ": cannot write timings");
  std::fprintf(f, "stage,ranks,seconds,readings,bytes,peak_rss_bytes\n");
  for (const auto& st : s.stages) {
    std::fprintf(f, "\"%s\",%d,%.6f,%lld,%lld,%lld\n", st.stage.c_str(), comm.size(), st.seconds,
                 static_cast<long long>(st.readings), static_cast<long long>(st.bytes),
                 static_cast<long long>(st.peak_rss_bytes));
  }
  std::fclose(f);
}

// The stage table of the run summary.
void PrintStages(const RunSummary& s, const Comm& comm) {
  std::printf("%-44s %9s %14s %12s\n", "stage", "seconds", "readings/s/rank", "peak RSS");
  for (const auto& st : s.stages) {
    std::printf(
        "%-44s %9.2f %14s %12s\n", st.stage.c_str(), st.seconds,
        st.readings > 0 && st.seconds > 0
            ? (std::to_string(static_cast<long long>(static_cast<double>(st.readings) / st.seconds / comm.size())))
                  .c_str()
            : "",
        st.peak_rss_bytes > 0 ? Mb(st.peak_rss_bytes).c_str() : "");
  }
}

// Job statuses and the facility ledger's totals (when jobs were accounted).
void PrintFacility(const results::PipelineResults& r) {
  if (r.jobs.empty()) return;
  std::printf("job statuses (%zu sacct allocations):", r.jobs.size());
  for (const auto& q : r.quality) {
    if (q.stage == "jobs" && q.count > 0) std::printf(" %s %lld", q.reason.c_str(), static_cast<long long>(q.count));
  }
  double metered = 0, to_jobs = 0, carbon = 0;
  for (const auto& l : r.ledger) {
    metered += l.metered_energy_j;
    to_jobs += l.job_energy_j;
  }
  for (const auto& u : r.usage) carbon += u.carbon_g;
  std::printf("\nfacility: %.4g kWh metered, %.4g kWh (%.1f %%) to jobs, %.4g kg CO2e of jobs\n", metered / 3.6e6,
              to_jobs / 3.6e6, metered > 0 ? 100 * to_jobs / metered : 0.0, carbon / 1000);
}

// The files of a results directory the run wrote, in the order of the text
// summary (report.html only when it was written).
std::vector<std::string> ResultFiles(const RunOptions& o, const results::PipelineResults& r) {
  std::vector<std::string> files = {"runs_energy.csv", "idle_power.csv", "node_power_dist.csv", "quality.csv",
                                    "overheads.csv"};
  for (const auto& m : r.models) files.push_back("model_" + m.hardware_class + ".csv");
  for (const char* f : {"predictions.csv", "jobs_energy.csv", "usage.csv", "ledger.csv", "results.h5"})
    files.push_back(f);
  if (o.write_report) files.push_back("report.html");
  return files;
}

// quality.csv's rows of one stage as {reason: count}.
std::string CountsJson(const results::PipelineResults& r, const std::string& stage) {
  json::Fields counts;
  for (const auto& q : r.quality) {
    if (q.stage == stage && q.count > 0) counts.emplace_back(q.reason, json::Int(q.count));
  }
  return json::Object(counts);
}

// The facility ledger's totals, or null when jobs were not accounted.
std::string FacilityJson(const results::PipelineResults& r) {
  if (r.jobs.empty()) return "null";
  double metered = 0, to_jobs = 0, carbon = 0;
  for (const auto& l : r.ledger) {
    metered += l.metered_energy_j;
    to_jobs += l.job_energy_j;
  }
  for (const auto& u : r.usage) carbon += u.carbon_g;
  return json::Object({{"jobs", json::Int(static_cast<std::int64_t>(r.jobs.size()))},
                       {"job_statuses", CountsJson(r, "jobs")},
                       {"metered_energy_j", json::Number(metered)},
                       {"job_energy_j", json::Number(to_jobs)},
                       {"carbon_g", json::Number(carbon)}});
}

std::string ModelsJson(const results::PipelineResults& r) {
  json::Fields models;
  for (const auto& m : r.models) {
    models.emplace_back(
        m.hardware_class,
        json::Object({{"fitted", json::Bool(m.fitted)},
                      {"runs", json::Int(m.runs)},
                      {"median_ratio", json::Number(m.median_ratio)},
                      {"sigma_log_ratio", json::Number(m.sigma_log_ratio)},
                      {"median_abs_log_error", json::Number(m.median_abs_log_error)},
                      {"cv_median_abs_log_error", json::Number(m.cv_median_abs_log_error)},
                      {"baseline_median_abs_log_error", json::Number(m.baseline_median_abs_log_error)}}));
  }
  return json::Object(models);
}

std::string StagesJson(const RunSummary& s) {
  std::vector<std::string> stages;
  for (const auto& st : s.stages) {
    stages.push_back(json::Object({{"stage", json::String(st.stage)},
                                   {"seconds", json::Number(st.seconds)},
                                   {"readings", json::Int(st.readings)},
                                   {"bytes", json::Int(st.bytes)},
                                   {"peak_rss_bytes", json::Int(st.peak_rss_bytes)}}));
  }
  return json::Array(stages);
}

// The text summary of a run, on stdout.
void PrintRunSummary(const RunOptions& o, const RunSummary& s, const results::PipelineResults& r, const Comm& comm) {
  std::printf("\nwattrun run: %lld runs, %lld usable (ok and not filtered), %d rank%s\n",
              static_cast<long long>(s.runs), static_cast<long long>(s.usable_runs), comm.size(),
              comm.size() > 1 ? "s" : "");
  PrintStages(s, comm);
  std::printf("\nidle power per node type (2%% quantile, %s):\n", r.idle_method.c_str());
  for (const auto& p : r.idle) {
    std::printf("  %-6s %4lld nodes %12lld readings  %8s W\n", p.node_type.c_str(), static_cast<long long>(p.nodes),
                static_cast<long long>(p.readings), results::FormatDouble(p.idle_w).c_str());
  }
  std::printf("run statuses:");
  for (const auto& q : r.quality) {
    if (q.stage == "status" && q.count > 0) std::printf(" %s %lld", q.reason.c_str(), static_cast<long long>(q.count));
  }
  std::printf("\n");
  PrintFacility(r);
  for (const auto& m : r.models) {
    std::printf(
        "model %s: %s on %lld runs; median E_hat/E %.3f, sigma(log) %.3f, median |log| %.3f (cv %.3f); "
        "FLOPs-only baseline median |log| %.3f\n",
        m.hardware_class.c_str(), m.fitted ? "fitted" : "NOT fitted", static_cast<long long>(m.runs), m.median_ratio,
        m.sigma_log_ratio, m.median_abs_log_error, m.cv_median_abs_log_error, m.baseline_median_abs_log_error);
  }
  std::printf(
      "\nresults in %s: runs_energy.csv idle_power.csv node_power_dist.csv quality.csv quality_files.csv overheads.csv "
      "model_cpu.csv model_gpu.csv predictions.csv jobs_energy.csv usage.csv ledger.csv results.h5%s\n",
      o.output_dir.c_str(), o.write_report ? " report.html" : "");
}

}  // namespace

std::string RunSummaryJson(const RunOptions& o, const RunSummary& s, const results::PipelineResults& r, int ranks) {
  json::Fields idle;
  for (const auto& p : r.idle) {
    idle.emplace_back(p.node_type, json::Object({{"nodes", json::Int(p.nodes)},
                                                 {"readings", json::Int(p.readings)},
                                                 {"idle_w", json::Number(p.idle_w)}}));
  }
  std::vector<std::string> files;
  for (const auto& f : ResultFiles(o, r)) files.push_back(json::String((fs::path(o.output_dir) / f).string()));
  return json::Object({{"output", json::String(o.output_dir)},
                       {"ranks", json::Int(ranks)},
                       {"runs", json::Int(s.runs)},
                       {"usable_runs", json::Int(s.usable_runs)},
                       {"run_statuses", CountsJson(r, "status")},
                       {"idle_method", json::String(r.idle_method)},
                       {"idle_power", json::Object(idle)},
                       {"facility", FacilityJson(r)},
                       {"models", ModelsJson(r)},
                       {"stages", StagesJson(s)},
                       {"files", json::Array(files)}}) +
         "\n";
}

int RunCommand(const RunArgs& args, const Config& config, const Comm& comm, const OutputArgs& out) {
  Progress progress(comm.rank(), comm.size(), ProgressFor(out));
  const RunOptions o = OptionsFor(args, out, &progress);
  results::PipelineResults r;
  const RunSummary s = RunPipeline(config, o, comm, &r);
  if (!comm.is_root()) return 0;
  if (!args.timings.empty()) WriteTimings(args.timings, s, comm);
  if (args.json) {
    const std::string text = RunSummaryJson(o, s, r, comm.size());
    std::fwrite(text.data(), 1, text.size(), stdout);
  } else {
    PrintRunSummary(o, s, r, comm);
  }
  std::fflush(stdout);
  return 0;
}

int ReportCommand(const ReportArgs& args, const Comm& comm) {
  RunCollectively(comm, [&] {
    if (!comm.is_root()) return;
    const fs::path h5 = fs::path(args.output) / "results.h5";
    if (!fs::exists(h5)) {
      throw Error(args.output + ": no results.h5 here: not the results directory of a `wattrun run`, or the run " +
                  (fs::exists(fs::path(args.output) / "_SUCCESS") ? "lost it" : "did not finish (no _SUCCESS)"));
    }
    const auto r = results::ReadResultsH5(h5.string());
    report::WriteReport(r, (fs::path(args.output) / "report.html").string());
    std::printf("report: %s/report.html\n", args.output.c_str());
  });
  return 0;
}

}  // namespace wattrun::pipeline
