// The ingest's chunk lists: every reading appended comes back, in order,
// whether its chunk stayed in memory or was spilled; the pool keeps to its
// capacity and reuses freed chunks.
#include "stages/ingest/reading_chunks.h"

#include "core/error.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <bit>
#include <filesystem>
#include <vector>

namespace wattrun::ingest {
namespace {
namespace fs = std::filesystem;

struct Reading {
  TimeUs time;
  double watts;
  bool operator==(const Reading&) const = default;
};

std::vector<Reading> TakeAll(std::vector<ChunkRef>* refs, ChunkPool* pool) {
  std::vector<Reading> out;
  for (ChunkRef& ref : *refs) {
    std::vector<TimeUs> t(ref.count);
    std::vector<double> w(ref.count);
    pool->Take(&ref, t.data(), w.data());
    for (std::size_t k = 0; k < t.size(); ++k) out.push_back({t[k], w[k]});
  }
  return out;
}

class ReadingChunks : public ::testing::Test {
 protected:
  std::string SpillPath() const {
    return (fs::temp_directory_path() / ("wattrun_chunks_" + std::to_string(::getpid()) + ".bin")).string();
  }
};

TEST_F(ReadingChunks, ChunksAreSplitByItemRepeatedHourAndSizeAndKeepTheirFirstLine) {
  ChunkPool pool(64 * sizeof(ReadingChunk), SpillPath());
  NodeStreams streams(2, &pool);
  // Fractional watts: wide chunks (the narrow layout has its own tests below).
  for (std::uint32_t k = 0; k < kChunkReadings + 3; ++k) streams.Append(0, 0, 100 + k, false, k, 1.5);
  streams.Append(0, 0, 900, true, 5000, 2.5);  // repeated hour: a chunk of its own
  streams.Append(0, 1, 7, false, 6000, 3.5);   // next work item: another chunk
  streams.Append(1, 1, 8, false, 1, 4.5);
  streams.Close();
  const auto& refs = streams.refs(0);
  ASSERT_EQ(refs.size(), 4u);
  EXPECT_EQ(refs[0].count, kChunkReadings);
  EXPECT_EQ(refs[0].order, 100u);
  EXPECT_EQ(refs[1].count, 3u);
  EXPECT_EQ(refs[1].order, 100u + kChunkReadings);
  EXPECT_TRUE(refs[2].ambiguous);
  EXPECT_EQ(refs[2].order, 900u);
  EXPECT_EQ(refs[3].item, 1u);
  EXPECT_EQ(streams.readings(0), static_cast<std::int64_t>(kChunkReadings) + 5);
  EXPECT_EQ(streams.readings(1), 1);
}

TEST_F(ReadingChunks, APoolAtCapacitySpillsAndEveryReadingComesBackInOrder) {
  // Room for 4 chunks; 3 nodes of 2,000 readings each need ~12.
  ChunkPool pool(4 * sizeof(ReadingChunk), SpillPath());
  NodeStreams streams(3, &pool);
  std::vector<std::vector<Reading>> expected(3);
  for (int k = 0; k < 2000; ++k) {
    for (std::uint32_t node = 0; node < 3; ++node) {
      const Reading r{k * 60000LL + node, node * 1000.0 + k * 0.5};
      streams.Append(node, 0, static_cast<std::uint64_t>(k), false, r.time, r.watts);
      expected[node].push_back(r);
    }
    EXPECT_LE(pool.chunks_in_use(), 4);
  }
  streams.Close();
  EXPECT_GT(pool.spilled_bytes(), 0);
  for (std::uint32_t node = 0; node < 3; ++node) {
    EXPECT_EQ(TakeAll(&streams.refs(node), &pool), expected[node]) << node;
  }
  EXPECT_EQ(pool.chunks_in_use(), 0);
}

TEST_F(ReadingChunks, SpillingWritesOutTheLastNodesFirstAndOnlyWhatItMust) {
  ChunkPool pool(8 * sizeof(ReadingChunk), SpillPath());
  NodeStreams streams(4, &pool);
  for (std::uint32_t node = 0; node < 4; ++node) {
    for (std::uint32_t k = 0; k < 2 * kChunkReadings; ++k) streams.Append(node, 0, k, false, k, node + 0.5);
  }
  streams.Close();
  ASSERT_EQ(pool.chunks_in_use(), 8);
  streams.SpillDownTo(4);
  EXPECT_EQ(pool.chunks_in_use(), 4);
  for (std::uint32_t node = 0; node < 4; ++node) {
    for (const ChunkRef& ref : streams.refs(node)) EXPECT_EQ(ref.chunk == kNoChunk, node >= 2) << node;
  }
  // The pool full again: an append spills down to half the capacity, no more.
  for (std::uint32_t k = 0; k < 8 * kChunkReadings + 1; ++k) streams.Append(0, 1, k, false, k, 0.5);
  EXPECT_LE(pool.chunks_in_use(), 8);
  EXPECT_GE(pool.chunks_in_use(), 4);
}

TEST_F(ReadingChunks, ChunksTakenAreReusedForTheOutput) {
  ChunkPool pool(1000 * sizeof(ReadingChunk), SpillPath());
  NodeStreams streams(1, &pool);
  for (int k = 0; k < 10 * static_cast<int>(kChunkReadings); ++k) streams.Append(0, 0, 0, false, k, k + 0.5);
  streams.Close();
  EXPECT_EQ(pool.chunks_in_use(), 10);
  std::vector<TimeUs> t(10 * kChunkReadings);
  std::vector<double> w(t.size());
  std::size_t at = 0;
  for (ChunkRef& ref : streams.refs(0)) {
    const std::size_t n = ref.count;
    pool.Take(&ref, t.data() + at, w.data() + at);
    at += n;
  }
  EXPECT_EQ(pool.chunks_in_use(), 0);
  streams.AppendOutput(t.data(), w.data(), t.size());
  streams.Close();
  EXPECT_EQ(pool.chunks_in_use(), 10);  // the same ten chunks, not ten more
  const auto back = TakeAll(&streams.output_refs(), &pool);
  ASSERT_EQ(back.size(), t.size());
  for (std::size_t k = 0; k < t.size(); ++k) ASSERT_EQ(back[k], (Reading{t[k], w[k]}));
}

// A meter's readings (whole seconds, integer watts) take narrow chunks:
// twice the readings in the same memory, back to the bit from the pool and
// from the spill file.
TEST_F(ReadingChunks, NarrowChunksHoldTwiceTheReadingsAndGiveThemBackExactly) {
  ChunkPool pool(64 * sizeof(ReadingChunk), SpillPath());
  NodeStreams streams(2, &pool);
  std::vector<Reading> expected;
  const TimeUs t0 = 1633046400LL * 1000000;  // 2021-10-01
  for (int k = 0; k < 3000; ++k) {
    const Reading r{t0 + k * 60000000LL - (k % 7) * 1000, static_cast<double>(200 + k % 900)};
    streams.Append(0, 0, static_cast<std::uint64_t>(k), false, r.time, r.watts);
    expected.push_back(r);
  }
  streams.Close();
  const auto& refs = streams.refs(0);
  ASSERT_EQ(refs.size(), 3u);
  for (const ChunkRef& ref : refs) EXPECT_TRUE(ref.narrow);
  EXPECT_EQ(refs[0].count, kNarrowChunkReadings);
  EXPECT_EQ(refs[2].count, 3000 - 2 * kNarrowChunkReadings);
  EXPECT_EQ(pool.chunks_in_use(), 3);
  streams.SpillDownTo(1);  // two of them to the file
  EXPECT_GT(pool.spilled_bytes(), 0);
  EXPECT_EQ(pool.spilled_bytes() % 8, 0);
  EXPECT_EQ(TakeAll(&streams.refs(0), &pool), expected);
}

// A reading the narrow layout cannot hold exactly closes the narrow chunk;
// the node's readings go on in wide chunks, in order.
TEST_F(ReadingChunks, AReadingNoNarrowChunkHoldsSwitchesItsNodeToWideChunks) {
  const TimeUs t0 = 1633046400LL * 1000000;
  const std::vector<Reading> misfits = {
      {t0 + 1, 200},                           // not a whole ms from the base
      {t0, 231.5},                             // fractional watts
      {t0, -0.0},                              // its sign would be lost
      {t0 + 25LL * 24 * 3600 * 1000000, 200},  // 25 days past the base
      {t0, 3e9},                               // past int32
  };
  for (const Reading& misfit : misfits) {
    ChunkPool pool(64 * sizeof(ReadingChunk), SpillPath());
    NodeStreams streams(1, &pool);
    std::vector<Reading> expected;
    for (int k = 0; k < 10; ++k) expected.push_back({t0 + k * 1000LL, 100.0 + k});
    expected.push_back(misfit);
    for (int k = 0; k < 10; ++k) expected.push_back({t0 + k * 1000LL, 100.0 + k});  // narrow-able, but wide now
    for (std::size_t k = 0; k < expected.size(); ++k) {
      streams.Append(0, 0, k, false, expected[k].time, expected[k].watts);
    }
    streams.Close();
    const auto& refs = streams.refs(0);
    ASSERT_EQ(refs.size(), 2u) << misfit.time << " " << misfit.watts;
    EXPECT_TRUE(refs[0].narrow);
    EXPECT_EQ(refs[0].count, 10u);
    EXPECT_FALSE(refs[1].narrow);
    EXPECT_EQ(refs[1].order, 10u);  // the misfit's line orders the wide chunk
    const auto back = TakeAll(&streams.refs(0), &pool);
    ASSERT_EQ(back.size(), expected.size());
    for (std::size_t k = 0; k < back.size(); ++k) {
      EXPECT_EQ(back[k].time, expected[k].time) << k;
      EXPECT_EQ(std::bit_cast<std::uint64_t>(back[k].watts), std::bit_cast<std::uint64_t>(expected[k].watts)) << k;
    }
  }
}

// The exchange's received chunks and the sorted output take the narrow
// layout whenever their readings fit it.
TEST_F(ReadingChunks, ReceivedChunksAndTheOutputAreNarrowWhereTheyFit) {
  ChunkPool pool(64 * sizeof(ReadingChunk), SpillPath());
  NodeStreams streams(2, &pool);
  const TimeUs t0 = 1633046400LL * 1000000;
  std::vector<TimeUs> t;
  std::vector<double> w;
  for (std::size_t k = 0; k < kNarrowChunkReadings; ++k) {
    t.push_back(t0 + static_cast<TimeUs>(k) * 60000000);  // 17 hours
    w.push_back(static_cast<double>(k));
  }
  streams.AppendChunk(0, 5, false, static_cast<std::uint32_t>(t.size()), t.data(), w.data());
  EXPECT_TRUE(streams.refs(0).back().narrow);
  w[3] = 0.25;
  streams.AppendChunk(1, 6, false, static_cast<std::uint32_t>(kChunkReadings), t.data(), w.data());
  EXPECT_FALSE(streams.refs(1).back().narrow);
  try {  // 1,024 readings, one of them fractional: neither layout holds them
    streams.AppendChunk(1, 7, false, static_cast<std::uint32_t>(t.size()), t.data(), w.data());
    ADD_FAILURE() << "a chunk no layout holds was stored";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "ingest: a received chunk of 1024 readings fits no chunk layout");
  }
  try {  // a narrow chunk's bytes claiming more readings than a chunk holds
    const std::vector<char> raw(8 * (kNarrowChunkReadings + 1));
    streams.AppendNarrowChunk(1, 8, false, static_cast<std::uint32_t>(kNarrowChunkReadings + 1), t0, raw.data());
    ADD_FAILURE() << "an oversized narrow chunk was stored";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "ingest: a received narrow chunk of 1025 readings (at most 1024)");
  }
  w[3] = 3;
  streams.AppendOutput(t.data(), w.data(), 10);  // a node's readings
  w[3] = 0.25;
  streams.AppendOutput(t.data(), w.data(), 10);  // the next node's: 0.25 W makes its rest wide
  w[3] = 3;
  streams.AppendOutput(t.data(), w.data(), t.size());  // the next: narrow again
  streams.Close();
  const auto& out = streams.output_refs();
  ASSERT_EQ(out.size(), 4u);
  EXPECT_TRUE(out[0].narrow);
  EXPECT_EQ(out[0].count, 10u);
  EXPECT_TRUE(out[1].narrow);  // 0, 1, 2 of the second node
  EXPECT_EQ(out[1].count, 3u);
  EXPECT_FALSE(out[2].narrow);
  EXPECT_EQ(out[2].count, 7u);
  EXPECT_TRUE(out[3].narrow);
  EXPECT_EQ(out[3].count, kNarrowChunkReadings);
  const auto back = TakeAll(&streams.output_refs(), &pool);
  ASSERT_EQ(back.size(), kNarrowChunkReadings + 20);
  EXPECT_EQ(back[13].watts, 0.25);
  EXPECT_EQ(back.back().time, t.back());
}

// The exchange sends a chunk's bytes as they lie (TakeRaw), from the pool
// or the spill file, and the receiver stores them as the same chunk.
TEST_F(ReadingChunks, AChunkSentRawArrivesAsTheSameReadings) {
  ChunkPool pool(64 * sizeof(ReadingChunk), SpillPath());
  NodeStreams streams(2, &pool);
  const TimeUs t0 = 1633046400LL * 1000000;
  std::vector<Reading> expected;
  for (int k = 0; k < 1500; ++k) expected.push_back({t0 + k * 60000000LL, static_cast<double>(k % 300)});
  expected.push_back({t0 + 5, 1.5});  // the rest wide
  for (int k = 0; k < 10; ++k) expected.push_back({t0 + k, k + 0.25});
  for (std::size_t k = 0; k < expected.size(); ++k) streams.Append(0, 0, k, false, expected[k].time, expected[k].watts);
  streams.Close();
  streams.SpillDownTo(2);  // node 0's chunks to the file but what fits
  std::vector<ChunkRef>& sent = streams.refs(0);
  ASSERT_EQ(sent.size(), 3u);  // narrow 1024, narrow 476, wide 11
  for (ChunkRef& ref : sent) {
    std::vector<char> wire(ChunkPool::RawBytes(ref));
    const ChunkRef header = ref;
    pool.TakeRaw(&ref, wire.data());
    if (header.narrow) {
      streams.AppendNarrowChunk(1, header.order, false, header.count, header.base, wire.data());
    } else {
      const auto* t = reinterpret_cast<const TimeUs*>(wire.data());
      streams.AppendChunk(1, header.order, false, header.count, t, reinterpret_cast<const double*>(t + header.count));
    }
  }
  const auto back = TakeAll(&streams.refs(1), &pool);
  ASSERT_EQ(back.size(), expected.size());
  for (std::size_t k = 0; k < back.size(); ++k) {
    EXPECT_EQ(back[k].time, expected[k].time) << k;
    EXPECT_EQ(back[k].watts, expected[k].watts) << k;
  }
  EXPECT_EQ(pool.chunks_in_use(), 0);
}

TEST_F(ReadingChunks, AnUnwritableSpillFileIsAnErrorNamingIt) {
  ChunkPool pool(sizeof(ReadingChunk), "/proc/wattrun_no_such_dir/chunks.bin");
  NodeStreams streams(2, &pool);
  streams.Append(0, 0, 0, false, 1, 1.0);
  try {
    streams.Append(1, 0, 1, false, 1, 1.0);  // needs a second chunk: spills the first
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("/proc/wattrun_no_such_dir/chunks.bin"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace wattrun::ingest
