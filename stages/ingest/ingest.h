// Parallel ingest of a facility directory into the telemetry store.
//
// Ranks split the new telemetry files (large plain files into byte ranges)
// and parse them into per-node chunk lists; nodes then go to their owners
// (contiguous node ranges, one per rank) in fixed-size exchange rounds; each
// rank resolves repeated daylight-saving hours by order, sorts and
// deduplicates its nodes (within the new files and against the store), and
// all ranks write one new batch with collective parallel-HDF5 writes.
// Memory per rank is bounded by `memory_budget_bytes`, not by the months:
// chunks beyond it are spilled to a file beside the store.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/mpi.h"
#include "core/progress.h"
#include "core/records.h"
#include "stages/ingest/source_totals.h"

namespace wattrun::ingest {

struct IngestOptions {
  std::string input_dir;
  std::string store_path;
  std::int64_t memory_budget_bytes = 2048ll << 20;  // a month of Eagle on 2 ranks fits
  std::int64_t split_bytes = 64ll << 20;            // plain files larger than this are split
  bool verbose = true;                              // rank 0 prints the summary
  double wait_seconds = 0;                          // for another writer's lock; 0: fail at once
  bool allow_other_input = false;                   // ingest another facility into this store
  Progress* progress = nullptr;                     // parse, sort and write phases; null: no progress lines
};

struct IngestSummary {
  std::int64_t files_new = 0;
  std::int64_t files_unchanged = 0;
  std::int64_t telemetry_files_new = 0;
  std::int64_t telemetry_bytes = 0;
  std::int64_t rows_read = 0;    // data lines seen in new telemetry
  std::int64_t rows_stored = 0;  // readings added to the store
  std::int64_t bad_rows = 0;
  std::int64_t duplicates = 0;
  std::int64_t conflicts = 0;
  std::int64_t batch = 0;  // batch written, 0 if none
  double parse_seconds = 0;
  double sort_seconds = 0;
  double write_seconds = 0;
  double seconds = 0;
  // facility.telemetry.source: prometheus, of parse_seconds (slowest rank
  // each): waiting for the server's responses, scanning their JSON,
  // streaming their samples into the ingest.
  double prometheus_http_seconds = 0;
  double prometheus_json_seconds = 0;
  double prometheus_ingest_seconds = 0;
  std::int64_t peak_rss_bytes = 0;  // max over ranks
  // Max over the ranks but 0, which alone holds the catalogue (the job
  // history): these stay flat as months are added; 0 with one rank.
  std::int64_t peak_rss_bytes_other_ranks = 0;
  std::int64_t spilled_bytes = 0;  // readings written to spill files, all ranks (0: it fitted the budget)
  // Writes of the batch that HDF5 did not do collectively (H5Pget_mpio_no_collective_cause), summed over ranks.
  std::int64_t non_collective_writes = 0;
  std::vector<std::string> warnings;  // files reported by name
  std::vector<SourceTotals> sources;  // rank 0: each kind of input in the store after the ingest
};

// Collective over comm. Creates the store if it does not exist. Rank 0
// holds the store's write lock (store_lock.h) throughout; a failed ingest
// removes its temporary files and leaves the previous store in force.
IngestSummary Ingest(const Config& config, const IngestOptions& options, const Comm& comm);

}  // namespace wattrun::ingest
