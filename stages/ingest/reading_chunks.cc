#include "stages/ingest/reading_chunks.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "core/file_io.h"
#include "core/huge_pages.h"

namespace wattrun::ingest {

namespace {

// 16 MiB slabs: few allocations, and a whole number of 2 MiB huge pages.
constexpr std::size_t kSlabChunks = 2048;

}  // namespace

ChunkPool::ChunkPool(std::int64_t capacity_bytes, std::string spill_path)
    : max_chunks_(std::max<std::int64_t>(capacity_bytes / static_cast<std::int64_t>(sizeof(ReadingChunk)), 1)),
      spill_path_(std::move(spill_path)) {}

ChunkPool::~ChunkPool() {
  HugePageAllocator<ReadingChunk> allocator;
  for (ReadingChunk* slab : slabs_) allocator.deallocate(slab, kSlabChunks);
  if (spill_fd_ >= 0) {
    ::close(spill_fd_);
    ::unlink(spill_path_.c_str());
  }
}

std::uint32_t ChunkPool::TryAllocate() {
  if (free_.empty()) {
    if (static_cast<std::int64_t>(chunk_address_.size()) >= max_chunks_) return kNoChunk;
    // A new slab: only the chunks within the capacity are handed out.
    ReadingChunk* slab = HugePageAllocator<ReadingChunk>().allocate(kSlabChunks);
    slabs_.push_back(slab);
    const auto room = static_cast<std::size_t>(max_chunks_) - chunk_address_.size();
    const std::size_t n = std::min(kSlabChunks, room);
    for (std::size_t i = 0; i < n; ++i) {
      free_.push_back(static_cast<std::uint32_t>(chunk_address_.size()));
      chunk_address_.push_back(slab + i);
    }
    // Hand out low addresses first, so pages are touched in order.
    std::reverse(free_.end() - static_cast<std::ptrdiff_t>(n), free_.end());
  }
  const std::uint32_t chunk = free_.back();
  free_.pop_back();
  ++in_use_;
  return chunk;
}

void ChunkPool::Free(std::uint32_t chunk) {
  free_.push_back(chunk);
  --in_use_;
}

void ChunkPool::Spill(ChunkRef* ref) {
  if (ref->chunk == kNoChunk) return;
  if (spill_fd_ < 0) {
    spill_fd_ = ::open(spill_path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (spill_fd_ < 0) throw Error(spill_path_ + ": cannot create the ingest's spill file: " + std::strerror(errno));
  }
  const ReadingChunk& c = at(ref->chunk);
  // Two arrays of count elements, as the chunk holds them.
  const std::size_t bytes = ref->count * (ref->narrow ? sizeof(std::int32_t) : sizeof(TimeUs));
  PwriteAll(spill_fd_, spill_path_, spill_end_, bytes,
            ref->narrow ? static_cast<const void*>(c.narrow.offset_ms) : c.wide.time);
  PwriteAll(spill_fd_, spill_path_, spill_end_ + static_cast<std::int64_t>(bytes), bytes,
            ref->narrow ? static_cast<const void*>(c.narrow.watts) : c.wide.watts);
  ref->spill_offset = spill_end_;
  spill_end_ += static_cast<std::int64_t>(2 * bytes);
  Free(ref->chunk);
  ref->chunk = kNoChunk;
}

namespace {

void DecodeNarrow(const ChunkRef& ref, const std::int32_t* offset_ms, const std::int32_t* codes, TimeUs* time,
                  double* watts) {
  for (std::uint32_t i = 0; i < ref.count; ++i) {
    time[i] = ref.base + TimeUs{1000} * offset_ms[i];
    watts[i] = static_cast<double>(codes[i]);
  }
}

}  // namespace

void ChunkPool::Take(ChunkRef* ref, TimeUs* time, double* watts) {
  if (ref->narrow) {
    const std::size_t bytes = ref->count * sizeof(std::int32_t);
    if (ref->chunk != kNoChunk) {
      const ReadingChunk& c = at(ref->chunk);
      DecodeNarrow(*ref, c.narrow.offset_ms, c.narrow.watts, time, watts);
      Free(ref->chunk);
    } else if (ref->count > 0) {
      PreadAll(spill_fd_, spill_path_, ref->spill_offset, bytes, spill_scratch_.narrow.offset_ms);
      PreadAll(spill_fd_, spill_path_, ref->spill_offset + static_cast<std::int64_t>(bytes), bytes,
               spill_scratch_.narrow.watts);
      DecodeNarrow(*ref, spill_scratch_.narrow.offset_ms, spill_scratch_.narrow.watts, time, watts);
    }
    *ref = ChunkRef{};
    return;
  }
  const std::size_t bytes = ref->count * sizeof(TimeUs);
  if (ref->chunk != kNoChunk) {
    const ReadingChunk& c = at(ref->chunk);
    std::memcpy(time, c.wide.time, bytes);
    std::memcpy(watts, c.wide.watts, bytes);
    Free(ref->chunk);
  } else if (ref->count > 0) {
    PreadAll(spill_fd_, spill_path_, ref->spill_offset, bytes, time);
    PreadAll(spill_fd_, spill_path_, ref->spill_offset + static_cast<std::int64_t>(bytes), bytes, watts);
  }
  *ref = ChunkRef{};
}

void ChunkPool::TakeRaw(ChunkRef* ref, char* out) {
  const std::size_t half = RawBytes(*ref) / 2;
  if (ref->chunk != kNoChunk) {
    const ReadingChunk& c = at(ref->chunk);
    std::memcpy(out, ref->narrow ? static_cast<const void*>(c.narrow.offset_ms) : c.wide.time, half);
    std::memcpy(out + half, ref->narrow ? static_cast<const void*>(c.narrow.watts) : c.wide.watts, half);
    Free(ref->chunk);
  } else if (ref->count > 0) {
    PreadAll(spill_fd_, spill_path_, ref->spill_offset, 2 * half, out);  // spilled in the same layout
  }
  *ref = ChunkRef{};
}

NodeStreams::NodeStreams(std::size_t nodes, ChunkPool* pool)
    : pool_(pool), refs_(nodes + 1), tails_(nodes + 1), wide_only_(nodes + 1, 0) {}

std::uint32_t NodeStreams::AllocateOrSpill() {
  std::uint32_t chunk = pool_->TryAllocate();
  if (chunk == kNoChunk) {
    SpillDownTo(pool_->capacity_chunks() / 2);
    chunk = pool_->TryAllocate();
  }
  if (chunk == kNoChunk) throw Error("ingest: memory budget too small for one chunk of readings");
  return chunk;
}

void NodeStreams::Open(std::uint32_t list, std::uint32_t item, std::uint64_t order, bool ambiguous, TimeUs time,
                       double watts) {
  CloseTail(list);
  const std::uint32_t chunk = AllocateOrSpill();
  std::int32_t offset = 0, code = 0;
  const bool narrow = wide_only_[list] == 0 && NarrowCodes(time, time, watts, &offset, &code);
  refs_[list].push_back(ChunkRef{order, -1, chunk, 0, item, ambiguous, narrow, narrow ? time : 0});
  tails_[list] = Tail{&pool_->at(chunk),
                      0,
                      static_cast<std::uint32_t>(narrow ? kNarrowChunkReadings : kChunkReadings),
                      item,
                      ambiguous,
                      narrow,
                      narrow ? time : 0};
}

void NodeStreams::CloseTail(std::uint32_t list) {
  Tail& tail = tails_[list];
  if (tail.data == nullptr) return;
  refs_[list].back().count = tail.count;
  tail = Tail{};
}

void NodeStreams::AppendChunk(std::uint32_t node, std::uint64_t order, bool ambiguous, std::uint32_t count,
                              const TimeUs* time, const double* watts) {
  CloseTail(node);
  const std::uint32_t chunk = AllocateOrSpill();
  ReadingChunk& c = pool_->at(chunk);
  // Narrow chunks arrive through AppendNarrowChunk; a wide one (its node's
  // list went wide after a misfit at the sender) is stored narrow if every
  // reading fits against its first after all.
  bool narrow = count > 0 && count <= kNarrowChunkReadings;
  for (std::uint32_t i = 0; narrow && i < count; ++i) {
    narrow = NarrowCodes(time[0], time[i], watts[i], &c.narrow.offset_ms[i], &c.narrow.watts[i]);
  }
  if (!narrow) {
    if (count > kChunkReadings) {
      throw Error("ingest: a received chunk of " + std::to_string(count) + " readings fits no chunk layout");
    }
    std::memcpy(c.wide.time, time, count * sizeof(TimeUs));
    std::memcpy(c.wide.watts, watts, count * sizeof(double));
  }
  refs_[node].push_back(ChunkRef{order, -1, chunk, count, kNoItem, ambiguous, narrow, narrow ? time[0] : 0});
}

void NodeStreams::AppendNarrowChunk(std::uint32_t node, std::uint64_t order, bool ambiguous, std::uint32_t count,
                                    TimeUs base, const char* raw) {
  if (count > kNarrowChunkReadings) {
    throw Error("ingest: a received narrow chunk of " + std::to_string(count) + " readings (at most " +
                std::to_string(kNarrowChunkReadings) + ")");
  }
  CloseTail(node);
  const std::uint32_t chunk = AllocateOrSpill();
  ReadingChunk& c = pool_->at(chunk);
  const std::size_t half = std::size_t{count} * sizeof(std::int32_t);
  std::memcpy(c.narrow.offset_ms, raw, half);
  std::memcpy(c.narrow.watts, raw + half, half);
  refs_[node].push_back(ChunkRef{order, -1, chunk, count, kNoItem, ambiguous, true, base});
}

void NodeStreams::AppendOutput(const TimeUs* time, const double* watts, std::size_t count) {
  const auto list = static_cast<std::uint32_t>(refs_.size() - 1);
  Tail& tail = tails_[list];
  // One call a node: its readings start a chunk of their own, narrow if
  // they can (the last node's chunk is based days away).
  CloseTail(list);
  wide_only_[list] = 0;
  while (count > 0) {
    if (tail.data == nullptr || tail.count == tail.capacity) Open(list, kNoItem, 0, false, *time, *watts);
    if (tail.narrow) {
      std::size_t n = 0;
      const std::size_t room = std::min<std::size_t>(count, tail.capacity - tail.count);
      while (n < room && NarrowCodes(tail.base, time[n], watts[n], &tail.data->narrow.offset_ms[tail.count + n],
                                     &tail.data->narrow.watts[tail.count + n])) {
        ++n;
      }
      tail.count += static_cast<std::uint32_t>(n);
      time += n;
      watts += n;
      count -= n;
      if (n < room) {  // a reading that does not fit: wide chunks for the rest of the node's
        wide_only_[list] = 1;
        Open(list, kNoItem, 0, false, *time, *watts);
      }
      continue;
    }
    const std::size_t n = std::min<std::size_t>(count, tail.capacity - tail.count);
    std::memcpy(tail.data->wide.time + tail.count, time, n * sizeof(TimeUs));
    std::memcpy(tail.data->wide.watts + tail.count, watts, n * sizeof(double));
    tail.count += static_cast<std::uint32_t>(n);
    time += n;
    watts += n;
    count -= n;
  }
}

void NodeStreams::Close() {
  for (std::uint32_t list = 0; list < refs_.size(); ++list) CloseTail(list);
}

void NodeStreams::SpillDownTo(std::int64_t max_chunks_in_use) {
  auto spill_list = [&](std::uint32_t list) {
    CloseTail(list);
    for (ChunkRef& ref : refs_[list]) pool_->Spill(&ref);
  };
  const auto output = static_cast<std::uint32_t>(refs_.size() - 1);
  for (std::uint32_t list = output; list-- > 0;) {
    if (pool_->chunks_in_use() <= max_chunks_in_use) return;
    spill_list(list);
  }
  // The output list last: it is the first to be written to the batch.
  if (pool_->chunks_in_use() > max_chunks_in_use) spill_list(output);
}

std::int64_t NodeStreams::readings(std::uint32_t node) const {
  std::int64_t n = 0;
  for (const ChunkRef& ref : refs_[node]) n += ref.count;
  return n;
}

}  // namespace wattrun::ingest
