// The ingest's working set of parsed readings: fixed-size chunks, each
// holding one node's readings from one work item in line order, kept in a
// pool that stays within the memory budget by spilling chunks to a file.
//
// Why chunks: on the machines this runs on, memory touched for the first
// time costs far more than parsing (first touch ~1 GB/s, reused memory
// ~10 GB/s and more), so each reading is written once, in 8 bytes where it
// can be (narrow chunks, below), into a chunk, and the memory of chunks
// already consumed is reused by the next
// step (the exchange's receives, the sorted output) instead of allocating
// new arrays for each step. The same lists serve an ingest that fits in
// memory and one that does not: a chunk is either in the pool or in the
// spill file, and the readers below do not care which.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/time.h"

namespace wattrun::ingest {

// A chunk is 8 KiB, in one of two layouts. Narrow, 1024 readings: each
// time as int32 ms from the chunk's base (its first reading's time, within
// ±24 days of it) and each watts an int32 integer, both exact. Wide, 512
// readings: int64 µs and float64. A chunk is narrow when its first reading
// fits; a later reading that does not closes it, and its node's list
// takes wide chunks from then on (in the sorted output, where each node's
// readings start a chunk, for the rest of that node's readings). So a
// list's chunks are never cut short more than once. Meters report whole seconds and integer
// watts, so most readings cost 8 bytes of memory, not 16: half the fresh
// memory the parse touches (the ingest's largest cost on VMs, where first
// touch is slow) and half the bytes each later step copies.
inline constexpr std::size_t kChunkReadings = 512;         // wide
inline constexpr std::size_t kNarrowChunkReadings = 1024;  // narrow
inline constexpr std::uint32_t kNoChunk = ~0u;

union ReadingChunk {
  struct {
    TimeUs time[kChunkReadings];
    double watts[kChunkReadings];
  } wide;
  struct {
    std::int32_t offset_ms[kNarrowChunkReadings];
    std::int32_t watts[kNarrowChunkReadings];
  } narrow;
};
static_assert(sizeof(ReadingChunk) == 8192);

// The narrow codes of a reading against a chunk's base, if it has them:
// the time a whole number of ms from the base within int32, the watts an
// int32 integer to the bit (not -0.0, NaN, a fraction or past int32).
inline bool NarrowCodes(TimeUs base, TimeUs time, double watts, std::int32_t* offset_ms, std::int32_t* code) {
  if (!(watts >= -2147483647.0 && watts <= 2147483647.0)) return false;
  const auto c = static_cast<std::int32_t>(watts);
  if (std::bit_cast<std::uint64_t>(static_cast<double>(c)) != std::bit_cast<std::uint64_t>(watts)) return false;
  TimeUs d = 0;
  if (__builtin_sub_overflow(time, base, &d)) return false;
  const TimeUs ms = d / 1000;
  if (ms * 1000 != d || ms < std::numeric_limits<std::int32_t>::min() || ms > std::numeric_limits<std::int32_t>::max())
    return false;
  *offset_ms = static_cast<std::int32_t>(ms);
  *code = c;
  return true;
}

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
  bool narrow = false;     // the layout of the chunk (and of its spilled bytes)
  TimeUs base = 0;         // a narrow chunk's times are base + 1000 · offset_ms
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
  // The ref's two arrays as its chunk holds them (narrow: int32 offsets,
  // then int32 watts; wide: int64 times, then float64 watts), RawBytes(ref)
  // bytes at `out`, and frees its memory; the ref is empty afterwards.
  void TakeRaw(ChunkRef* ref, char* out);
  static std::size_t RawBytes(const ChunkRef& ref) { return std::size_t{ref.count} * (ref.narrow ? 8 : 16); }

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
  ReadingChunk spill_scratch_{};  // a spilled narrow chunk's codes, read back
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
    if (tail.data == nullptr || tail.count == tail.capacity || tail.item != item || tail.ambiguous != ambiguous)
        [[unlikely]] {
      Open(node, item, order, ambiguous, time, watts);
    }
    if (tail.narrow) {
      std::int32_t offset = 0, code = 0;
      if (NarrowCodes(tail.base, time, watts, &offset, &code)) [[likely]] {
        tail.data->narrow.offset_ms[tail.count] = offset;
        tail.data->narrow.watts[tail.count] = code;
        ++tail.count;
        return;
      }
      wide_only_[node] = 1;
      Open(node, item, order, ambiguous, time, watts);
    }
    tail.data->wide.time[tail.count] = time;
    tail.data->wide.watts[tail.count] = watts;
    ++tail.count;
  }
  // A whole wide chunk received from another rank (at most kChunkReadings
  // readings unless they fit a narrow chunk, else wattrun::Error).
  void AppendChunk(std::uint32_t node, std::uint64_t order, bool ambiguous, std::uint32_t count, const TimeUs* time,
                   const double* watts);
  // A whole narrow chunk received from another rank: TakeRaw's bytes.
  void AppendNarrowChunk(std::uint32_t node, std::uint64_t order, bool ambiguous, std::uint32_t count, TimeUs base,
                         const char* raw);
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
    std::uint32_t capacity = 0;
    std::uint32_t item = 0;
    bool ambiguous = false;
    bool narrow = false;
    TimeUs base = 0;
  };
  // A new tail chunk for `list`, narrow if the list may still take narrow
  // chunks and its first reading (time, watts) fits one.
  void Open(std::uint32_t list, std::uint32_t item, std::uint64_t order, bool ambiguous, TimeUs time, double watts);
  void CloseTail(std::uint32_t list);
  std::uint32_t AllocateOrSpill();

  ChunkPool* pool_;
  std::vector<std::vector<ChunkRef>> refs_;
  std::vector<Tail> tails_;
  std::vector<std::uint8_t> wide_only_;  // per list: a reading did not fit a narrow chunk
};

}  // namespace wattrun::ingest
