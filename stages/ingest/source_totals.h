// What each kind of input holds, for the ingest's console summary, and the
// warning about a file most of whose rows are bad.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/records.h"
#include "store/store.h"

namespace wattrun::ingest {

// One kind of input in the store after an ingest (all its files, not only
// the new ones).
struct SourceTotals {
  std::string kind;             // telemetry, sacct, runs, nodes, datasets, losses, carbon_intensity
  std::int64_t files = 0;       // in the manifest
  std::int64_t records = -1;    // sacct allocations (every attempt), runs, nodes, ...; -1: not held (telemetry)
  std::int64_t bad_rows = 0;    // rows set aside, duplicates and row-keeping reasons not counted
  std::int64_t duplicates = 0;  // duplicate, duplicate_of_stored
  std::vector<std::pair<std::string, std::int64_t>> reasons;  // every counted reason, by name; count > 0
};

// Reasons that count a row that is still used (a reading kept once, a
// conflict resolved to the first value, a sacct line kept without an
// unreadable optional field): not bad rows.
bool RowStillUsed(const std::string& reason);

// Per kind, in the order telemetry, sacct, runs, nodes, datasets, losses,
// carbon_intensity; kinds with no file and no count are left out.
std::vector<SourceTotals> SourceTotalsOf(const store::Catalogue& catalogue);

// One console line per kind, e.g.
// "sacct: 2 files, 140 allocations, 12 bad rows (bad_time 12)".
std::vector<std::string> SourceTotalsLines(const std::vector<SourceTotals>& totals);

// When more than half of a file's rows are bad (RowStillUsed not counted),
// a one-line warning naming the file, its bad and total rows and the reason
// with most rows; none when that reason is bad_header (the file was named
// already by the header warning). `rows`: the file's data lines (for sacct:
// allocation lines and unreadable lines; steps are not rows).
std::optional<std::string> MostlyBadWarning(const std::string& file, std::int64_t rows,
                                            const std::vector<BadRowCount>& counts);

}  // namespace wattrun::ingest
