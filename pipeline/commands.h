// The subcommands of the wattrun executable: argument structs and the
// functions that run them (collective over comm; rank 0 prints).
#pragma once

#include <cstdint>
#include <string>

#include "core/config.h"
#include "core/mpi.h"
#include "pipeline/run_pipeline.h"
#include "stages/results/results.h"

namespace wattrun::pipeline {

// The global flags: --quiet (no progress lines, no warnings summary) and
// --verbose (every rank prints its progress lines).
struct OutputArgs {
  bool quiet = false;
  bool verbose = false;
};

struct GenerateArgs {
  std::string config, output;
  double scale = -1;  // < 0: from the config
  int months = -1;
  std::int64_t seed = -1;
  bool clean = false;
  std::string telemetry_format = "spec";  // spec | ldms | openmetrics
};
struct IngestArgs {
  std::string config, input, store;
  std::int64_t memory_budget_mb = 2048;
  double wait_seconds = 0;  // for another writer's lock on the store
  bool allow_other_input = false;
};
struct RunArgs {
  std::string config, input, store, output;
  double wait_seconds = 0;
  bool allow_other_input = false;
  std::int64_t memory_budget_mb = 2048;  // of the ingest, with --input
  std::string timings;                   // optional CSV of stage timings, for benchmarks
  bool no_fit = false, no_report = false;
  bool no_accounting = false;  // benchmarks: the pass without facility accounting
  std::string command_line;    // as typed, recorded in results.h5
  bool json = false;           // the end-of-run summary as one JSON object on stdout
};
struct PredictArgs {
  std::string model_dir, config, dataset, shape, hardware;
  std::string store;  // where --dataset is looked up; default: the run's store (see FindStore)
  std::int64_t inputs = 0, outputs = 0, observations = 0, depth = 0, size = 0, epochs = 3000, batch_size = 256;
  bool json = false;  // one JSON object instead of text
};
struct ReportArgs {
  std::string output;
};

int GenerateCommand(const GenerateArgs& args, const Config& config, const Comm& comm, const OutputArgs& out = {});
int IngestCommand(const IngestArgs& args, const Config& config, const Comm& comm, const OutputArgs& out = {});
int RunCommand(const RunArgs& args, const Config& config, const Comm& comm, const OutputArgs& out = {});
int PredictCommand(const PredictArgs& args, const Comm& comm);

// `wattrun run --json`'s summary: one JSON object (and a newline) with the
// run counts and the count per run status, the idle power per node type,
// the facility totals (null without accounting), the model per class, the
// stage timings and the paths of the files written.
std::string RunSummaryJson(const RunOptions& options, const RunSummary& summary,
                           const results::PipelineResults& results, int ranks);
int ReportCommand(const ReportArgs& args, const Comm& comm);

}  // namespace wattrun::pipeline
