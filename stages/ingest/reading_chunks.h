// The ingest's working set of parsed readings: fixed-size chunks, each
// holding one node's readings from one work item in line order, kept in a
// pool that stays within the memory budget by spilling chunks to a file.
//
// Why chunks: on the machines this runs on, memory touched for the first
// time costs far more than parsing (first touch ~1 GB/s, reused memory
// ~10 GB/s and more), so each reading is written once, 16 bytes, into a
// chunk, and the memory of chunks already consumed is reused by the next
// step (the exchange's receives, the sorted output) instead of allocating
// new arrays for each step. The same lists serve an ingest that fits in
// memory and one that does not: a chunk is either in the pool or in the
// spill file, and the readers below do not care which.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/time.h"

namespace wattrun::ingest {

inline constexpr std::size_t kChunkReadings = 512;
inline constexpr std::uint32_t kNoChunk = ~0u;

struct ReadingChunk {
  TimeUs time[kChunkReadings];
  double watts[kChunkReadings];
};
static_assert(sizeof(ReadingChunk) == 8192);

// Where one chunk's readings are, and where they came from.
struct ChunkRef {
  // (file index in sorted path order << 40) | byte offset of the chunk's
  // first line: sorting a node's chunks by it gives the spec's "files in
  // sorted path order, then line order".
  std::uint64_t order = 0;
  std::int64_t spill_offset = -1;  // byte offset in the spill file; -1 while in the pool
  std::uint32_t chunk = kNoChunk;  // pool index while in the pool
  std::uint32_t count = 0;
  std::uint32_t item = 0;  // work item parsed from (a chunk never spans two)
  bool ambiguous = false;  // wall times of a repeated hour, resolved later
};

inline constexpr int kOrderOffsetBits = 40;  // 1 TiB per file; 2^24 files per ingest
inline std::uint32_t FileOfOrder(std::uint64_t order) { return static_cast<std::uint32_t>(order >> kOrderOffsetBits); }

// Chunks in slabs of huge pages, reused through a free list. Capacity is a
// soft limit that the callers keep by spilling (NodeStreams::SpillDownTo).
class ChunkPool {
 public:
  ChunkPool(std::int64_t capacity_bytes, std::string spill_path);
  ~ChunkPool();
  ChunkPool(const ChunkPool&) = delete;
  ChunkPool& operator=(const ChunkPool&) = delete;

  // A free chunk, or kNoChunk when the pool is at its capacity.
  std::uint32_t TryAllocate();
  ReadingChunk& at(std::uint32_t chunk) { return *chunk_address_[chunk]; }

  // Writes a pooled chunk's readings to the spill file and frees its memory.
  void Spill(ChunkRef* ref);
  // Appends the ref's readings to time/watts (from the pool or the spill
  // file) and frees its memory; the ref is empty afterwards.
  void Take(ChunkRef* ref, TimeUs* time, double* watts);

  std::int64_t chunks_in_use() const { return in_use_; }
  std::int64_t capacity_chunks() const { return max_chunks_; }
  std::int64_t spilled_bytes() const { return spill_end_; }

 private:
  void Free(std::uint32_t chunk);
  std::int64_t max_chunks_;
  std::string spill_path_;
  int spill_fd_ = -1;
  std::int64_t spill_end_ = 0;
  std::vector<ReadingChunk*> slabs_;
  std::vector<ReadingChunk*> chunk_address_;
  std::vector<std::uint32_t> free_;
  std::int64_t in_use_ = 0;
};

// One chunk list per node, plus one for this rank's sorted output, filled
// a reading at a time. A list's last chunk stays open for appends until
// the next chunk is opened, the lists are spilled or Close() is called.
class NodeStreams {
 public:
  // The `item` of chunks not parsed here: received from another rank, or output.
  static constexpr std::uint32_t kNoItem = ~0u;

  NodeStreams(std::size_t nodes, ChunkPool* pool);

  void Append(std::uint32_t node, std::uint32_t item, std::uint64_t order, bool ambiguous, TimeUs time, double watts) {
    Tail& tail = tails_[node];
    if (tail.data == nullptr || tail.count == kChunkReadings || tail.item != item || tail.ambiguous != ambiguous)
        [[unlikely]] {
      Open(node, item, order, ambiguous);
    }
    tail.data->time[tail.count] = time;
    tail.data->watts[tail.count] = watts;
    ++tail.count;
  }
  // A whole chunk received from another rank.
  void AppendChunk(std::uint32_t node, std::uint64_t order, bool ambiguous, std::uint32_t count, const TimeUs* time,
                   const double* watts);
  // Readings of the sorted output (the list after the nodes').
  void AppendOutput(const TimeUs* time, const double* watts, std::size_t count);

  // Closes every open chunk, so that refs() holds every reading.
  void Close();
  // Spills whole lists, the last nodes' first (they are sorted last), until
  // at most `max_chunks_in_use` chunks remain in the pool (0: all of them):
  // a pool just over its capacity writes out only what it must, not
  // everything it holds.
  void SpillDownTo(std::int64_t max_chunks_in_use);

  std::vector<ChunkRef>& refs(std::uint32_t node) { return refs_[node]; }
  std::vector<ChunkRef>& output_refs() { return refs_.back(); }
  std::int64_t readings(std::uint32_t node) const;  // after Close()
  ChunkPool& pool() { return *pool_; }

 private:
  struct Tail {
    ReadingChunk* data = nullptr;
    std::uint32_t count = 0;
    std::uint32_t item = 0;
    bool ambiguous = false;
  };
  void Open(std::uint32_t list, std::uint32_t item, std::uint64_t order, bool ambiguous);
  void CloseTail(std::uint32_t list);
  std::uint32_t AllocateOrSpill();

  ChunkPool* pool_;
  std::vector<std::vector<ChunkRef>> refs_;
  std::vector<Tail> tails_;
};

}  // namespace wattrun::ingest
