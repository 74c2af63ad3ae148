// One node's readings of an ingest, hand-computed: line order from chunks
// in any order, out-of-order rows sorted stably, duplicates and conflicts
// counted against the file of the row dropped, the first kept, and the
// repeated hour resolved by pass.
#include "stages/ingest/dedup.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace wattrun::ingest {
namespace {
namespace fs = std::filesystem;

constexpr TimeUs kMinute = kMicrosPerMinute;

std::uint64_t Order(std::uint32_t file, std::uint64_t offset) {
  return (std::uint64_t{file} << kOrderOffsetBits) | offset;
}

class Dedup : public ::testing::Test {
 protected:
  Dedup()
      : pool_(1000 * sizeof(ReadingChunk),
              (fs::temp_directory_path() / ("wattrun_dedup_" + std::to_string(::getpid()) + ".bin")).string()),
        streams_(1, &pool_) {}

  void Add(std::uint32_t item, std::uint32_t file, std::uint64_t offset, TimeUs t, double w, bool ambiguous = false) {
    streams_.Append(0, item, Order(file, offset), ambiguous, t, w);
  }
  // Loads the node, then drops what `stored_*` already holds (if anything).
  void Run(const TimeZone& zone, std::vector<TimeUs> stored_time = {}, std::vector<double> stored_watts = {}) {
    streams_.Close();
    NodeDeduplicator dedup(zone);
    const DropCounter count = [this](std::uint32_t file, const char* reason) { ++dropped_[{file, reason}]; };
    dedup.Load(&streams_.refs(0), &pool_, count);
    dedup.DropStored(&stored_time, &stored_watts, count);
    time_.assign(dedup.time().begin(), dedup.time().end());
    watts_.assign(dedup.watts().begin(), dedup.watts().end());
    first_file_ = dedup.first_file();
  }

  ChunkPool pool_;
  NodeStreams streams_;
  std::map<std::pair<std::uint32_t, std::string>, int> dropped_;
  std::vector<TimeUs> time_;
  std::vector<double> watts_;
  std::uint32_t first_file_ = 99;
};

TEST_F(Dedup, FirstInFileThenLineOrderWinsWhicheverChunkCameFirst) {
  const TimeZone utc = TimeZone::Load("UTC");
  // File 1 parsed (as item 0) before file 0 (item 1): line order must still put file 0 first.
  Add(0, 1, 10, 1 * kMinute, 500);  // conflict with file 0's reading: dropped, counted for file 1
  Add(0, 1, 40, 2 * kMinute, 200);  // duplicate of file 0's reading: dropped, counted for file 1
  Add(1, 0, 10, 1 * kMinute, 100);
  Add(1, 0, 40, 2 * kMinute, 200);
  Add(1, 0, 70, 3 * kMinute, 300);
  Run(utc);
  EXPECT_EQ(time_, (std::vector<TimeUs>{1 * kMinute, 2 * kMinute, 3 * kMinute}));
  EXPECT_EQ(watts_, (std::vector<double>{100, 200, 300}));
  EXPECT_EQ(dropped_,
            (std::map<std::pair<std::uint32_t, std::string>, int>{{{1, "conflict"}, 1}, {{1, "duplicate"}, 1}}));
  EXPECT_EQ(first_file_, 0u);
}

TEST_F(Dedup, RowsOutOfOrderAreSortedAndTheEarlierLineOfAnInstantIsKept) {
  const TimeZone utc = TimeZone::Load("UTC");
  Add(0, 0, 10, 5 * kMinute, 50);
  Add(0, 0, 20, 3 * kMinute, 30);
  Add(0, 0, 30, 4 * kMinute, 40);
  Add(0, 0, 40, 3 * kMinute, 31);  // same instant as line 20, later line: the conflict dropped
  Add(0, 0, 50, 1 * kMinute, 10);
  Run(utc);
  EXPECT_EQ(time_, (std::vector<TimeUs>{1 * kMinute, 3 * kMinute, 4 * kMinute, 5 * kMinute}));
  EXPECT_EQ(watts_, (std::vector<double>{10, 30, 40, 50}));
  EXPECT_EQ(dropped_.at({0, "conflict"}), 1);
  EXPECT_EQ(dropped_.size(), 1u);
}

TEST_F(Dedup, TheRepeatedHourIsDaylightTimeOnTheFirstPassAndStandardTimeOnTheSecond) {
  // America/Denver, 2021-11-07: 01:00-01:59 local happens twice (MDT, UTC-6, then MST, UTC-7).
  const TimeZone denver = TimeZone::Load("America/Denver");
  const TimeUs wall_0130 = FromSeconds(1636248600);  // 2021-11-07 01:30 as wall time (µs since the local epoch)
  const TimeUs utc_0130_mdt = wall_0130 + 6 * kMicrosPerHour;
  const TimeUs utc_0130_mst = wall_0130 + 7 * kMicrosPerHour;
  Add(0, 0, 10, utc_0130_mdt - 31 * kMinute, 1);    // 00:59 MDT, not ambiguous
  Add(0, 0, 20, wall_0130, 2, /*ambiguous=*/true);  // first pass
  Add(0, 0, 30, wall_0130 + kMinute, 3, true);
  Add(0, 0, 40, wall_0130, 4, true);  // wall time went back: second pass
  Add(0, 0, 50, wall_0130 + kMinute, 5, true);
  Run(denver);
  EXPECT_EQ(time_, (std::vector<TimeUs>{utc_0130_mdt - 31 * kMinute, utc_0130_mdt, utc_0130_mdt + kMinute, utc_0130_mst,
                                        utc_0130_mst + kMinute}));
  EXPECT_EQ(watts_, (std::vector<double>{1, 2, 3, 4, 5}));
  EXPECT_TRUE(dropped_.empty());
}

TEST_F(Dedup, ReadingsAlreadyStoredWinAndAreCountedForTheNodesFirstFile) {
  const TimeZone utc = TimeZone::Load("UTC");
  Add(0, 2, 10, 1 * kMinute, 10);
  Add(0, 2, 20, 2 * kMinute, 20);
  Add(0, 2, 30, 3 * kMinute, 30);
  Add(0, 3, 10, 4 * kMinute, 40);
  // Two stored batches, each sorted, not sorted together: 3 min (other
  // watts: a conflict), then 2 min (same watts: a duplicate) and 9 min.
  Run(utc, {3 * kMinute, 2 * kMinute, 9 * kMinute}, {31, 20, 90});
  EXPECT_EQ(time_, (std::vector<TimeUs>{1 * kMinute, 4 * kMinute}));
  EXPECT_EQ(watts_, (std::vector<double>{10, 40}));
  EXPECT_EQ(dropped_, (std::map<std::pair<std::uint32_t, std::string>, int>{{{2, "conflict_with_stored"}, 1},
                                                                            {{2, "duplicate_of_stored"}, 1}}));
}

TEST_F(Dedup, SpilledChunksGiveTheSameResult) {
  const TimeZone utc = TimeZone::Load("UTC");
  for (int k = 0; k < 3000; ++k) Add(0, 0, static_cast<std::uint64_t>(k), (k % 1500) * kMinute, k % 1500);
  streams_.SpillDownTo(0);
  Run(utc);
  ASSERT_EQ(time_.size(), 1500u);
  EXPECT_EQ(time_.back(), 1499 * kMinute);
  EXPECT_EQ(dropped_.at({0, "duplicate"}), 1500);
  EXPECT_EQ(pool_.chunks_in_use(), 0);
}

}  // namespace
}  // namespace wattrun::ingest
