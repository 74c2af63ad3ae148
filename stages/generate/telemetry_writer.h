// Writes one telemetry file of the plan: 64 nodes x one local month, every
// tick of every node, time-major, streaming through a large buffer (plain
// or gzip). When the plan is dirty, the file also carries the dirt of a
// real export: exact duplicates, conflicting later rows, rows out of order,
// malformed rows, and a copy of the next month's first ticks (an export
// that overlapped its neighbour). Every reading that is written once as its
// first occurrence is counted into per-node histograms for the truth.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "stages/generate/plan.h"

namespace wattrun::generate {

// Kinds of dirt, named as the ingest stage counts them (bad-row reasons),
// plus duplicate/conflict (dedup counts) and out_of_order (valid rows).
enum class Dirt {
  kDuplicate,
  kConflict,
  kOutOfOrder,
  kFieldCount,
  kBadWatts,
  kNegativeWatts,
  kBadTime,
  kNonexistentTime,
  kUnknownNode,
  kEmptyNode,
  kCount,
};
inline constexpr int kDirtKinds = static_cast<int>(Dirt::kCount);
const char* ToString(Dirt dirt);

struct TelemetryFileStats {
  std::int64_t rows = 0;                // data lines (header excluded), dirt included
  std::int64_t clean_rows = 0;          // readings of the series written in this file
  std::int64_t overlap_duplicates = 0;  // of which: next month's copied ticks
  std::int64_t bytes_uncompressed = 0;
  std::int64_t bytes_on_disk = 0;
  std::array<std::int64_t, kDirtKinds> dirt{};
  // One CSV line per injected dirty line: index,file,line,kind,node,timestamp,detail.
  std::string dirt_log;
};

// Per-node reading histograms (watts 0 .. kHistogramBins-1, last bin open)
// with exact minimum and maximum; mergeable by summing over ranks.
struct NodeHistograms {
  explicit NodeHistograms(std::size_t n_nodes)
      : counts(n_nodes * kHistogramBins, 0), min_w(n_nodes, INT32_MAX), max_w(n_nodes, -1) {}
  std::vector<std::uint32_t> counts;
  std::vector<std::int32_t> min_w;
  std::vector<std::int32_t> max_w;
};

TelemetryFileStats WriteTelemetryFile(const Plan& plan, const TelemetryFilePlan& file, const std::string& output_dir,
                                      NodeHistograms* histograms);

// Local-time text of ticks, with a cached date prefix ("YYYY-MM-DD HH:MM:SS"
// plus "Z" when asked); or, `epoch`, UTC epoch seconds with six decimals as
// LDMS writes them ("1646748131.000000").
class TickFormatter {
 public:
  TickFormatter(const ZoneOffsets& offsets, std::int64_t step_ms, bool z_suffix, bool epoch = false)
      : offsets_(offsets), step_ms_(step_ms), z_suffix_(z_suffix), epoch_(epoch) {}
  std::string_view Format(std::int64_t tick);

 private:
  const ZoneOffsets& offsets_;
  std::int64_t step_ms_;
  bool z_suffix_;
  bool epoch_;
  std::size_t zone_index_ = 0;
  bool zone_valid_ = false;
  std::int64_t cached_day_ = INT64_MIN;
  char text_[24] = {};
};

}  // namespace wattrun::generate
