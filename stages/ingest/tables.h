// Parsers of the small input tables of a facility directory (spec section 1):
// sacct logs, runs.csv, nodes.csv, datasets.csv, losses.csv and
// carbon_intensity.csv. Each returns its records and the bad rows it counted
// by reason; a missing required column (or an unreadable file) throws
// InputError naming the file, except in sacct (spec section 1: a warning,
// and every line counted as `bad_header`).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/records.h"
#include "core/time.h"

namespace wattrun {

// What one table file held: its good records (for runs.csv, every row) and
// its bad rows counted per reason, in the order of the reasons' names.
template <typename Record>
struct TableParseResult {
  std::vector<Record> records;
  std::vector<BadRowCount> bad_rows;
  std::vector<std::string> warnings;  // about the whole file, naming it
  std::int64_t rows = 0;              // data lines read as rows (not the header, blank lines or sacct steps)
};

// `sacct --parsable2` output (`|`-separated, header line). Allocation lines
// only: steps (`123.batch`, `123.0`, `123_4.extern`, `123+0.0`) are skipped
// and not counted. Start `Unknown`/`None` gives has_start = false; End
// `Unknown` (or `None`) gives a running job. Times are local in the policy's
// zone, or epoch seconds (UTC) when all digits (SLURM_TIME_FORMAT=%s); an
// ambiguous time is read as the earlier instant, except an End whose earlier
// reading falls before Start, which takes the later one.
// Bad rows (stage `sacct`): field_count, bad_job_id, bad_hostlist, bad_time,
// nonexistent_time, negative_window (End before Start). A repeated header
// line is skipped.
// Optional columns User, Account, Partition, AllocCPUS, AllocTRES,
// ConsumedEnergyRaw fill their fields; an unreadable value is counted
// (bad_alloc_cpus, bad_alloc_tres, bad_consumed_energy), leaves its field
// absent, and the row is kept.
// A header that lacks a required column (an export without `-o`, or with
// `--noheader`) gives one warning naming the file and the sacct command
// that writes the columns, and every line counts as `bad_header` (a first
// line that is not a job line is taken as a header and not counted).
// `file` is the path the records and warnings name (relative to the
// facility directory); empty: `path`. Records carry their 1-based line.
TableParseResult<JobRecord> ParseSacctFile(const std::string& path, const TimestampPolicy& policy,
                                           const std::string& file = "");

// The sacct command line that writes every column ParseSacctFile reads.
std::string SacctCommandLine();

// AllocTRES as Slurm writes it (`billing=36,cpu=36,mem=85G,node=1,gres/gpu=2`,
// `gres/gpu:v100=2`): cpu= into *cpus (when > 0), the GPUs into *gpus (the
// untyped `gres/gpu=` when present, else the typed `gres/gpu:TYPE=` summed).
// Empty text leaves both absent; false (both absent) if unreadable.
bool ParseAllocTres(std::string_view text, std::optional<std::int64_t>* cpus, std::optional<std::int64_t>* gpus);

// runs.csv (BUTTER-E metadata layout; times UTC unless they carry an offset).
// Every row is kept, in input order; a row that does not parse keeps the
// first failing reason in bad_reason and is counted (stage `runs`):
// field_count, bad_time, bad_number, bad_is_gpu, negative_window. Integer
// columns also accept integral decimals such as `1024.0`. Quoted fields
// may span lines (a JSON `run_data` column, for instance). A run_id seen
// again is counted as `duplicate_run_id` and not kept (the first row wins),
// and a warning names up to 10 of them.
TableParseResult<RunRecord> ParseRunsFile(const std::string& path);

// Maps a node's hardware signature to its configured type name; returns ""
// when no type matches.
using NodeTypeMatcher = std::function<std::string(const NodeSignature&)>;

// nodes.csv (`sinfo` export). HOSTNAMES may be a hostlist: each name becomes
// a NodeRecord. A name listed again with the same signature (sinfo prints a
// node once per partition) is merged silently; with a different signature
// it is counted as `conflicting_node` and the first kept. Bad rows (stage
// `nodes`): field_count, bad_hostlist, bad_number. A null matcher leaves
// node_type empty.
TableParseResult<NodeRecord> ParseNodesFile(const std::string& path, const NodeTypeMatcher& matcher);

// datasets.csv (PMLB summary). n_classes may be empty or `nan` for a
// regression task (read as 0). Bad rows (stage `datasets`): field_count,
// bad_number, bad_task (neither classification nor regression),
// duplicate_dataset (first kept).
TableParseResult<DatasetRecord> ParseDatasetsFile(const std::string& path);

// losses.csv. Bad rows (stage `losses`): field_count, bad_number.
TableParseResult<LossRecord> ParseLossesFile(const std::string& path);

// carbon_intensity.csv (`timestamp,g_per_kwh`; times UTC unless they carry
// an offset), in time order (rows with equal times keep file order). Bad rows
// (stage `carbon_intensity`): field_count, bad_time, bad_number (negative or
// not a number).
TableParseResult<CarbonIntensityRecord> ParseCarbonIntensityFile(const std::string& path);

}  // namespace wattrun
