// One node's readings of an ingest, from its chunks to the rows it stores
// (spec section 1): the repeated daylight-saving hour resolved by order,
// sorted by instant with file order breaking ties, and deduplicated on the
// instant, the first kept ("first": files in sorted path order, then line
// order).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/huge_pages.h"
#include "core/time.h"
#include "stages/ingest/reading_chunks.h"

namespace wattrun::ingest {

// Called for each row dropped: the file it came from (index in sorted path
// order) and "duplicate" (same watts as the row kept) or "conflict".
using DropCounter = std::function<void(std::uint32_t file, const char* reason)>;

class NodeDeduplicator {
 public:
  explicit NodeDeduplicator(const TimeZone& zone) : zone_(zone) {}

  // Takes the node's chunks (any order; their memory returns to the pool,
  // the refs are cleared) and leaves its deduplicated readings in time()
  // and watts(). The vectors are reused from node to node.
  void Load(std::vector<ChunkRef>* refs, ChunkPool* pool, const DropCounter& count);

  // Drops the loaded readings whose instant the store already holds (stored
  // readings win), counted for first_file() as "duplicate_of_stored" or
  // "conflict_with_stored". `stored_*`: the node's stored readings over the
  // loaded time range, sorted per batch (sorted here when several batches
  // interleave).
  void DropStored(std::vector<TimeUs>* stored_time, std::vector<double>* stored_watts, const DropCounter& count);

  const HugeVector<TimeUs>& time() const { return time_; }
  const HugeVector<double>& watts() const { return watts_; }
  // File of the node's earliest reading (for counts against the store).
  std::uint32_t first_file() const { return first_file_; }

 private:
  struct Segment {
    std::size_t begin;  // first row of a chunk, in line order
    std::uint32_t file;
    bool ambiguous;
  };
  void ResolveRepeatedHour();
  std::uint32_t FileOfRow(std::size_t row) const;  // row in line order

  const TimeZone& zone_;
  // Not zeroed on resize: every element is written before it is read.
  HugeVector<TimeUs> time_;
  HugeVector<double> watts_;
  std::vector<Segment> segments_;
  std::vector<std::size_t> permutation_;  // only when rows are out of time order
  HugeVector<TimeUs> sorted_time_;
  HugeVector<double> sorted_watts_;
  std::uint32_t first_file_ = 0;
};

}  // namespace wattrun::ingest
