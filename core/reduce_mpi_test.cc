// ReduceToRoot under mpiexec -n 2: a partial's records reach rank 0 in rank
// order, whether they travel packed or, as bulk records, as they lie.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdint>
#include <span>
#include <vector>

#include "core/mpi.h"
#include "core/pack.h"

namespace wattrun {
namespace {

struct Record {
  std::int64_t rank = 0;
  double value = 0;
};

// A small count and a vector of records: packed (Pack / MergePacked).
struct PackedPartial {
  std::int64_t count = 0;
  std::vector<Record> records;

  std::vector<char> Pack() const {
    ByteWriter w;
    w.Put(count);
    w.PutVector(records);
    return std::move(w.bytes());
  }
  void MergePacked(const char* data, std::size_t size) {
    ByteReader r(data, size);
    count += r.Get<std::int64_t>();
    r.AppendVector(&records);
  }
};

// The same, its records as bulk records (HasBulkRecords).
struct BulkPartial : PackedPartial {
  std::vector<char> Pack(BulkRecords bulk) const {
    ByteWriter w;
    w.Put(count);
    if (bulk == BulkRecords::kPacked) w.PutVector(records);
    return std::move(w.bytes());
  }
  void MergePacked(const char* data, std::size_t size, BulkRecords bulk) {
    ByteReader r(data, size);
    count += r.Get<std::int64_t>();
    if (bulk == BulkRecords::kPacked) r.AppendVector(&records);
    if (!r.done()) throw Error("leftover bytes");
  }
  std::span<const char> BulkBytes() const {
    return {reinterpret_cast<const char*>(records.data()), records.size() * sizeof(Record)};
  }
  char* BulkRoom(std::size_t bytes) {
    const std::size_t at = records.size();
    records.resize(at + bytes / sizeof(Record));
    return reinterpret_cast<char*>(records.data() + at);
  }
};
static_assert(HasBulkRecords<BulkPartial>);
static_assert(!HasBulkRecords<PackedPartial>);

// Rank r holds r + 2 records (rank 0 two, rank 1 three), and a count of r + 1.
template <typename Partial>
Partial RankPartial(int rank) {
  Partial p;
  p.count = rank + 1;
  for (int k = 0; k < rank + 2; ++k) p.records.push_back({rank, rank * 10.0 + k});
  return p;
}

template <typename Partial>
void ExpectRecordsInRankOrderOnRoot() {
  const Comm comm(MPI_COMM_WORLD);
  ASSERT_EQ(comm.size(), 2);
  const Partial merged = ReduceToRoot(comm, RankPartial<Partial>(comm.rank()));
  if (!comm.is_root()) {
    EXPECT_TRUE(merged.records.empty());  // the other ranks get an empty partial
    EXPECT_EQ(merged.count, 0);
    return;
  }
  EXPECT_EQ(merged.count, 3);
  ASSERT_EQ(merged.records.size(), 5u);
  const std::vector<double> values = {0, 1, 10, 11, 12};
  for (std::size_t k = 0; k < values.size(); ++k) {
    EXPECT_EQ(merged.records[k].rank, k < 2 ? 0 : 1) << k;
    EXPECT_EQ(merged.records[k].value, values[k]) << k;
  }
}

TEST(ReduceToRoot, PackedRecordsArriveInRankOrder) { ExpectRecordsInRankOrderOnRoot<PackedPartial>(); }

TEST(ReduceToRoot, BulkRecordsArriveInRankOrderAfterTheRootsOwn) { ExpectRecordsInRankOrderOnRoot<BulkPartial>(); }

// A rank with no bulk records at all (a rank whose nodes ran no job).
TEST(ReduceToRoot, ARankWithoutBulkRecordsSendsNone) {
  const Comm comm(MPI_COMM_WORLD);
  BulkPartial local = RankPartial<BulkPartial>(comm.rank());
  if (comm.rank() == 1) local.records.clear();
  const BulkPartial merged = ReduceToRoot(comm, std::move(local));
  if (comm.is_root()) {
    EXPECT_EQ(merged.records.size(), 2u);
    EXPECT_EQ(merged.count, 3);
  }
}

TEST(GatherBytesInto, WritesEveryRanksBytesWhereRootSays) {
  const Comm comm(MPI_COMM_WORLD);
  const std::vector<char> mine(static_cast<std::size_t>(comm.rank() + 1), static_cast<char>('a' + comm.rank()));
  const std::vector<std::int64_t> counts = {1, 2};
  std::vector<char> into(comm.is_root() ? 3 : 0);
  comm.GatherBytesInto(mine.data(), mine.size(), counts, comm.is_root() ? into.data() : nullptr);
  if (comm.is_root()) {
    EXPECT_EQ(std::string(into.begin(), into.end()), "abb");
  }
}

}  // namespace
}  // namespace wattrun
