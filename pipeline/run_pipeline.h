// The main job: optional ingest, then the parallel telemetry pass (join,
// integrate, per-node distributions, exact idle quantiles), the reduction to
// rank 0, and the final steps there (statuses, filters, standardization,
// overheads, topology, model fit, outputs).
#pragma once

#include <string>

#include "core/config.h"
#include "core/mpi.h"
#include "core/progress.h"
#include "stages/results/results.h"

namespace wattrun::pipeline {

struct RunOptions {
  std::string input_dir;   // empty: use an existing store
  std::string store_path;  // default: OUTPUT/store.h5
  std::string output_dir;
  double wait_seconds = 0;               // ingest: for another writer's lock on the store
  bool allow_other_input = false;        // ingest: another facility into this store
  std::size_t chunk_readings = 1 << 20;  // telemetry streamed per node in chunks of this size
  bool fit_model = true;
  bool write_report = true;
  bool account_jobs = true;  // facility accounting (spec section 4) in the same pass
  std::string command_line;  // recorded in results.h5 (provenance)
  bool verbose = true;
  bool summary_to_stderr = false;  // the ingest's line on stderr: stdout holds only `run --json`'s object
  bool quiet = false;              // no warnings summary (--quiet)
  std::int64_t memory_budget_bytes = 2048ll << 20;  // the ingest's (--memory-budget-mb)
  Progress* progress = nullptr;                     // ingest and telemetry pass lines; null: none
};

struct StageTiming {
  std::string stage;
  double seconds = 0;
  std::int64_t readings = 0;
  std::int64_t bytes = 0;
  std::int64_t peak_rss_bytes = 0;  // max over ranks
};

struct RunSummary {
  std::vector<StageTiming> stages;
  std::int64_t runs = 0;
  std::int64_t usable_runs = 0;
};

// Collective. Rank 0 writes the results and returns them in *results if given.
RunSummary RunPipeline(const Config& config, const RunOptions& options, const Comm& comm,
                       results::PipelineResults* results = nullptr);

// Only the telemetry pass and the rank-0 computations (no files written);
// used by tests and benchmarks.
results::PipelineResults ComputeResults(const Config& config, const std::string& store_path, const RunOptions& options,
                                        const Comm& comm, RunSummary* summary);

}  // namespace wattrun::pipeline
