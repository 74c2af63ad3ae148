// Ingest under mpiexec -n 2: the store holds exactly the valid, deduplicated
// readings (repeated hour resolved by order, first row kept on conflicts),
// is the same whether written by 1 or 2 ranks, and re-ingestion changes
// nothing unless new files arrive.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "core/config.h"
#include "core/error.h"
#include "core/h5.h"
#include "core/mpi.h"
#include "stages/ingest/ingest.h"
#include "store/batch_encoding.h"
#include "store/store.h"

namespace wattrun::ingest {
namespace {
namespace fs = std::filesystem;

const char* kConfig = R"yaml(
facility:
  name: t
  telemetry: {timezone: America/Denver, ignore_z: true}
  scheduler: {timezone: America/Denver}
  hardware_classes:
    cpu:
      reference_type: cpu1
      memory_levels: [{level: 1, bytes_per_unit: 32KiB, units: 36}]
  node_types:
    - {name: cpu1, hardware_class: cpu, signature: {cpus: 36, memory_mb: 85248, tmp_disk_mb: 900000, gres: "(null)"}}
)yaml";

void Write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

void WriteGz(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  gzFile f = gzopen(p.c_str(), "wb");
  gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
  gzclose(f);
}

// A small facility: 2021-11-07 is the end of daylight time in Denver; the
// hour 01:00-01:59 local happens twice (07:00Z-07:59Z, then 08:00Z-08:59Z).
void WriteFacility(const fs::path& dir) {
  Write(dir / "nodes.csv",
        "HOSTNAMES,CPUS,MEMORY,TMP_DISK,GRES\nn1,36,85248,900000,(null)\nn2,36,85248,900000,(null)\n");
  Write(dir / "datasets.csv", "dataset,n_observations,n_features,n_classes,task\nwine,100,11,7,classification\n");
  Write(dir / "runs.csv",
        "run_id,experiment_id,slurm_job_id,start_time,update_time,host_name,size,depth,shape,dataset,"
        "learning_rate,batch_size,optimizer,is_gpu\n"
        "r1,e1,7,2021-11-07 07:00:00+00:00,2021-11-07 09:00:00+00:00,n1,1024,3,rectangle,wine,0.001,256,adam,False\n");
  Write(dir / "sacct" / "2021-11.txt",
        "JobID|NodeList|Start|End|State\n7|n[1-2]|2021-11-07T00:00:00|2021-11-07T03:00:00|COMPLETED\n7.batch|n1|"
        "2021-11-07T00:00:00|2021-11-07T03:00:00|COMPLETED\n");
  std::string a = "timestamp,node,watts\n";
  // n1 through the repeated hour, in order: 00:58, 00:59, 01:00..01:02 (daylight), 01:00..01:02 (standard), 02:00.
  for (const char* t : {"00:58", "00:59", "01:00", "01:01", "01:02", "01:00", "01:01", "01:02", "02:00"}) {
    a += std::string("2021-11-07 ") + t + ":00Z,n1,300\n";
  }
  a += "2021-11-07 00:58:00Z,n1,300\n";  // exact duplicate
  a += "2021-11-07 00:59:00Z,n1,999\n";  // conflict: the first (300) is kept
  a += "2021-11-07 00:57:00Z,n1,-5\n";   // negative watts
  a += "2021-11-07 00:57:00Z,n9,100\n";  // unknown node
  a += "2021-03-14 02:30:00Z,n1,100\n";  // does not exist (spring forward)
  a += "garbage\n";                      // field count
  Write(dir / "telemetry" / "a.csv", a);
  // b.csv.gz sorts after a.csv: its conflicting value for n1 at 00:59 loses.
  WriteGz(
      dir / "telemetry" / "b.csv.gz",
      "node,watts,timestamp\nn2,210,2021-11-07 00:00:00Z\nn2,220,2021-11-07 00:01:00Z\nn1,777,2021-11-07 00:59:00Z\n");
  Write(dir / "telemetry" / "notes.txt", "not telemetry\n");
}

struct StoreContents {
  std::vector<std::string> nodes;
  std::vector<std::vector<TimeUs>> time;
  std::vector<std::vector<double>> watts;
  bool operator==(const StoreContents&) const = default;
};

StoreContents ReadAll(const std::string& store) {
  store::TelemetryReader reader(store);
  StoreContents c;
  c.nodes = reader.nodes();
  for (std::size_t n = 0; n < reader.nodes().size(); ++n) {
    c.time.emplace_back();
    c.watts.emplace_back();
    reader.ForEachChunk(n, 3, [&](const TimeUs* t, const double* w, std::size_t k) {
      c.time.back().insert(c.time.back().end(), t, t + k);
      c.watts.back().insert(c.watts.back().end(), w, w + k);
    });
  }
  return c;
}

std::int64_t Quality(const store::Catalogue& c, const std::string& reason) {
  std::int64_t n = 0;
  for (const auto& q : c.quality) n += q.reason == reason ? q.count : 0;
  return n;
}

TimeUs Utc(int hour, int minute) {
  // 2021-11-07 is day 18938 since the epoch.
  return FromSeconds(18938LL * 86400 + hour * 3600 + minute * 60);
}

class IngestMpi : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir;
    if (comm_.comm().is_root()) {
      dir = (fs::temp_directory_path() / ("wattrun_ingest_" + std::to_string(::getpid()))).string();
      fs::remove_all(dir);
      WriteFacility(fs::path(dir) / "facility");
    }
    root_ = comm_.comm().BroadcastString(dir);
    config_ = ParseConfig(kConfig, "test.yaml");
  }
  void TearDown() override {
    comm_.comm().Barrier();
    if (comm_.comm().is_root()) fs::remove_all(root_);
  }
  IngestOptions Options(const std::string& store) {
    IngestOptions o;
    o.input_dir = root_ + "/facility";
    o.store_path = root_ + "/" + store;
    o.split_bytes = 64;  // split a.csv into many byte ranges
    return o;
  }
  OwnedComm comm_;
  std::string root_;
  Config config_;
};

TEST_F(IngestMpi, StoresValidDeduplicatedReadingsAndCountsTheRest) {
  const Comm comm = comm_.comm();
  const auto s = Ingest(config_, Options("store.h5"), comm);
  EXPECT_EQ(s.rows_read, 18);
  EXPECT_EQ(s.bad_rows, 4);
  EXPECT_EQ(s.duplicates, 1);
  EXPECT_EQ(s.conflicts, 2);
  EXPECT_EQ(s.rows_stored, 11);
  EXPECT_EQ(s.non_collective_writes, 0);  // the big transfers really were collective
  if (!comm.is_root()) return;
  const StoreContents c = ReadAll(Options("store.h5").store_path);
  ASSERT_EQ(c.nodes, (std::vector<std::string>{"n1", "n2"}));
  // n1: 06:58Z, 06:59Z (MDT, UTC-6), 07:00-07:02Z (first pass), 08:00-08:02Z (second pass), 09:00Z (MST).
  const std::vector<TimeUs> expected{Utc(6, 58), Utc(6, 59), Utc(7, 0), Utc(7, 1), Utc(7, 2),
                                     Utc(8, 0),  Utc(8, 1),  Utc(8, 2), Utc(9, 0)};
  EXPECT_EQ(c.time[0], expected);
  EXPECT_EQ(c.watts[0][1], 300);  // the conflict kept the first file's value
  EXPECT_EQ(c.time[1], (std::vector<TimeUs>{Utc(6, 0), Utc(6, 1)}));
  const auto cat = store::ReadCatalogue(Options("store.h5").store_path);
  EXPECT_EQ(Quality(cat, "negative_watts"), 1);
  EXPECT_EQ(Quality(cat, "unknown_node"), 1);
  EXPECT_EQ(Quality(cat, "nonexistent_time"), 1);
  EXPECT_EQ(Quality(cat, "field_count"), 1);
  EXPECT_EQ(Quality(cat, "duplicate"), 1);
  EXPECT_EQ(Quality(cat, "conflict"), 2);
  ASSERT_EQ(cat.jobs.size(), 1u);
  EXPECT_EQ(cat.runs.size(), 1u);
  EXPECT_EQ(cat.nodes[0].node_type, "cpu1");
}

TEST_F(IngestMpi, OneAndTwoRanksWriteTheSameStore) {
  const Comm comm = comm_.comm();
  Ingest(config_, Options("two.h5"), comm);
  MPI_Comm self_comm;
  MPI_Comm_split(comm.get(), comm.rank(), 0, &self_comm);
  if (comm.is_root()) {
    Ingest(config_, Options("one.h5"), Comm(self_comm));
    EXPECT_EQ(ReadAll(Options("one.h5").store_path), ReadAll(Options("two.h5").store_path));
  }
  MPI_Comm_free(&self_comm);
}

// A gzip file of more text than a work item is parsed in pieces by both
// ranks (each inflates from the start, parses the lines starting in its
// range): the same store as one rank parsing it whole, and its damage (in
// the first half: the second piece meets it while skipping) counted once,
// the rows before it kept.
TEST_F(IngestMpi, AGzipFileSplitAcrossRanksIsParsedOnceAndItsDamageCountedOnce) {
  const Comm comm = comm_.comm();
  if (comm.is_root()) {
    std::string text = "timestamp,node,watts\n";
    for (int m = 0; m < 3000; ++m) {
      text += "2021-11-10 " + std::string(m / 60 < 10 ? "0" : "") + std::to_string(m / 60 % 24) + ":" +
              (m % 60 < 10 ? "0" : "") + std::to_string(m % 60) + ":00Z," + (m % 2 ? "n1" : "n2") + ",250\n";
    }
    const fs::path full = fs::path(root_) / "full.gz";
    WriteGz(full, text);
    std::ifstream in(full, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::string damaged = bytes;  // the trailer (ISIZE) intact: the pieces split the text in halves
    for (std::size_t i = damaged.size() / 4; i < damaged.size() / 4 + 64; ++i) damaged[i] ^= 0x5a;
    Write(fs::path(root_) / "facility" / "telemetry" / "c.csv.gz", damaged);
  }
  comm.Barrier();
  const auto two = Ingest(config_, Options("two.h5"), comm);
  MPI_Comm self_comm;
  MPI_Comm_split(comm.get(), comm.rank(), 0, &self_comm);
  if (comm.is_root()) {
    const auto one = Ingest(config_, Options("one.h5"), Comm(self_comm));
    EXPECT_EQ(ReadAll(Options("one.h5").store_path), ReadAll(Options("two.h5").store_path));
    EXPECT_EQ(one.rows_read, two.rows_read);
    EXPECT_GT(two.rows_stored, 11 + 300);  // the rows before the damage
    EXPECT_LT(two.rows_stored, 11 + 1500);
    EXPECT_EQ(Quality(store::ReadCatalogue(Options("two.h5").store_path), "corrupt_gzip"), 1);
    EXPECT_EQ(Quality(store::ReadCatalogue(Options("one.h5").store_path), "corrupt_gzip"), 1);
  }
  MPI_Comm_free(&self_comm);
}

TEST_F(IngestMpi, AnIngestOverItsMemoryBudgetSpillsAndWritesTheSameStore) {
  const Comm comm = comm_.comm();
  Ingest(config_, Options("in_memory.h5"), comm);
  IngestOptions tight = Options("spilled.h5");
  tight.memory_budget_bytes = 64 << 10;  // a few chunks: nearly every chunk goes to the spill file
  const auto s = Ingest(config_, tight, comm);
  EXPECT_EQ(s.rows_stored, 11);
  EXPECT_GT(s.spilled_bytes, 0);
  if (comm.is_root()) {
    EXPECT_EQ(ReadAll(tight.store_path), ReadAll(Options("in_memory.h5").store_path));
    EXPECT_FALSE(fs::exists(store::BatchDirectory(tight.store_path) + "/ingest-tmp"));  // spill files removed
  }
}

TEST_F(IngestMpi, ABrokenSmallTableEndsTheIngestOnEveryRankNamingTheFile) {
  // runs.csv is parsed by a thread of rank 0 while the ranks parse
  // telemetry: its error must still end every rank cleanly, and no store is written.
  const Comm comm = comm_.comm();
  if (comm.is_root()) Write(fs::path(root_) / "facility" / "runs.csv", "id,when\n1,2\n");
  comm.Barrier();
  std::string message;
  try {
    Ingest(config_, Options("broken.h5"), comm);
  } catch (const std::exception& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("runs.csv"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(Options("broken.h5").store_path));
}

TEST_F(IngestMpi, ReingestChangesNothingAndANewMonthAppends) {
  const Comm comm = comm_.comm();
  Ingest(config_, Options("store.h5"), comm);
  std::string before;
  if (comm.is_root())
    before = std::to_string(fs::last_write_time(Options("store.h5").store_path).time_since_epoch().count());
  const auto again = Ingest(config_, Options("store.h5"), comm);
  EXPECT_EQ(again.files_new, 0);
  EXPECT_EQ(again.rows_stored, 0);
  if (comm.is_root()) {
    EXPECT_EQ(before, std::to_string(fs::last_write_time(Options("store.h5").store_path).time_since_epoch().count()));
    Write(
        fs::path(root_) / "facility" / "telemetry" / "c.csv",
        "timestamp,node,watts\n2021-11-07 02:00:00Z,n1,300\n2021-11-07 02:01:00Z,n1,310\n2021-11-07 03:00:00Z,n2,5\n");
  }
  comm.Barrier();
  const auto month = Ingest(config_, Options("store.h5"), comm);
  EXPECT_EQ(month.files_new, 1);
  EXPECT_EQ(month.rows_stored, 2);  // 02:00 local was already stored
  if (comm.is_root()) {
    const auto cat = store::ReadCatalogue(Options("store.h5").store_path);
    EXPECT_EQ(cat.batch_files.size(), 2u);
    EXPECT_EQ(Quality(cat, "duplicate_of_stored"), 1);
    const StoreContents c = ReadAll(Options("store.h5").store_path);
    EXPECT_EQ(c.time[0].size(), 10u);
    EXPECT_EQ(c.time[0].back(), Utc(9, 1));
    EXPECT_EQ(c.time[1].size(), 3u);
  }
}

// Late data (a file with readings between stored ones) makes a node's
// batches overlap in time; a new month makes them disjoint. Either way the
// reader streams one series in time order, and its range, neighbour and
// count queries agree with a plain scan of that series.
TEST_F(IngestMpi, ReaderQueriesAgreeWithAScanAcrossOverlappingAndDisjointBatches) {
  const Comm comm = comm_.comm();
  Ingest(config_, Options("store.h5"), comm);
  if (comm.is_root()) {
    Write(fs::path(root_) / "facility" / "telemetry" / "late.csv",
          "timestamp,node,watts\n2021-11-07 00:58:30Z,n1,1\n2021-11-07 02:00:30Z,n1,2\n");
  }
  comm.Barrier();
  Ingest(config_, Options("store.h5"), comm);
  if (comm.is_root()) {
    Write(fs::path(root_) / "facility" / "telemetry" / "next_month.csv",
          "timestamp,node,watts\n2021-12-01 00:00:00Z,n1,3\n2021-12-01 00:01:00Z,n1,4\n");
  }
  comm.Barrier();
  Ingest(config_, Options("store.h5"), comm);
  if (!comm.is_root()) return;
  const StoreContents all = ReadAll(Options("store.h5").store_path);
  const std::vector<TimeUs>& t = all.time[0];  // n1
  ASSERT_EQ(t.size(), 9u + 2u + 2u);
  EXPECT_TRUE(std::is_sorted(t.begin(), t.end()));
  EXPECT_EQ(std::adjacent_find(t.begin(), t.end()), t.end());
  // Read directly with pread (the default), in place through memory maps
  // (WATTRUN_MMAP=1), and through HDF5 (WATTRUN_NO_MMAP=1).
  for (const std::string mode : {"pread", "mmap", "hdf5"}) {
    ::unsetenv("WATTRUN_NO_MMAP");
    ::unsetenv("WATTRUN_MMAP");
    if (mode == "mmap") ::setenv("WATTRUN_MMAP", "1", 1);
    if (mode == "hdf5") ::setenv("WATTRUN_NO_MMAP", "1", 1);
    SCOPED_TRACE(mode);
    store::TelemetryReader reader(Options("store.h5").store_path);
    EXPECT_EQ(reader.DirectBatches(), mode == "hdf5" ? 0u : 3u);
    std::vector<TimeUs> probes;
    for (const TimeUs x : t) probes.insert(probes.end(), {x - 1, x, x + 1});
    probes.push_back(std::numeric_limits<TimeUs>::min());
    probes.push_back(std::numeric_limits<TimeUs>::max());
    for (const TimeUs from : probes) {
      for (const TimeUs until : probes) {
        if (until < from) continue;
        std::vector<TimeUs> expected, got;
        for (const TimeUs x : t) {
          if (x >= from && x < until) expected.push_back(x);
        }
        reader.ForEachChunkInRange(0, from, until, 2, [&](const TimeUs* tt, const double*, std::size_t k) {
          got.insert(got.end(), tt, tt + k);
        });
        ASSERT_EQ(got, expected) << from << " " << until;
        ASSERT_EQ(reader.CountInRange(0, from, until), static_cast<std::int64_t>(expected.size()));
        // ReadRange's bounds are both inclusive; its batches come unmerged.
        std::vector<TimeUs> ranged, range_expected;
        std::vector<double> ranged_w;
        for (const TimeUs x : t) {
          if (x >= from && x <= until) range_expected.push_back(x);
        }
        reader.ReadRange(0, from, until, &ranged, &ranged_w);
        std::sort(ranged.begin(), ranged.end());
        ASSERT_EQ(ranged, range_expected) << from << " " << until;
      }
      TimeUs found = 0;
      double w = 0;
      const auto before = std::lower_bound(t.begin(), t.end(), from);
      ASSERT_EQ(reader.ReadingBefore(0, from, &found, &w), before != t.begin()) << from;
      if (before != t.begin()) {
        EXPECT_EQ(found, *(before - 1));
      }
      ASSERT_EQ(reader.ReadingFrom(0, from, &found, &w), before != t.end()) << from;
      if (before != t.end()) {
        EXPECT_EQ(found, *before);
      }
    }
  }
  ::unsetenv("WATTRUN_NO_MMAP");
  ::unsetenv("WATTRUN_MMAP");
}

// The batch's encoding (store/batch_encoding.h): the sizes of its time and
// watts types, and its watts scale.
struct BatchTypes {
  std::size_t time_bytes = 0;
  std::size_t watts_bytes = 0;
  std::int64_t watts_scale = 0;
  std::int64_t time_unit_us = 0;
};

BatchTypes TypesOf(const fs::path& batch) {
  h5::File file = h5::File::Open(batch.string(), h5::Mode::kReadOnly);
  const auto size_of = [&](const char* name) {
    const h5::H5Id d(H5Dopen2(file.id(), name, H5P_DEFAULT));
    const h5::H5Id type(H5Dget_type(d.get()));
    return H5Tget_size(type.get());
  };
  const store::BatchEncoding e = store::BatchEncoding::ReadAttributes(file.id(), batch.string());
  return {size_of("time"), size_of("watts"), e.watts_scale, e.time_unit_us};
}

// Each batch is as compact as its readings allow (here: whole seconds and
// integer watts, then ms and two decimals, then a value only float64
// holds), and reads back the very readings a plain store holds, through
// every read path, on 2 ranks that chose the encoding together.
TEST_F(IngestMpi, CompactBatchesHoldTheReadingsOfPlainOnesBitForBit) {
  const Comm comm = comm_.comm();
  const fs::path telemetry = fs::path(root_) / "facility" / "telemetry";
  const std::vector<std::string> later = {
      "timestamp,node,watts\n2021-11-07 03:00:00.250Z,n1,231.45\n2021-11-07 03:01:00Z,n2,0.5\n",
      "timestamp,node,watts\n2021-11-08 00:00:00Z,n1,0.30000000000000004\n2021-11-08 00:01:00Z,n2,7\n"};
  for (std::size_t round = 0; round <= later.size(); ++round) {
    if (round > 0 && comm.is_root()) Write(telemetry / ("later" + std::to_string(round) + ".csv"), later[round - 1]);
    comm.Barrier();
    Ingest(config_, Options("compact.h5"), comm);
    ::setenv("WATTRUN_PLAIN_BATCHES", "1", 1);
    Ingest(config_, Options("plain.h5"), comm);
    ::unsetenv("WATTRUN_PLAIN_BATCHES");
  }
  if (!comm.is_root()) return;
  const std::string compact = Options("compact.h5").store_path;
  const std::string plain = Options("plain.h5").store_path;
  const auto batch = [](const std::string& store, std::size_t b) {
    return fs::path(store).parent_path() / store::ReadCatalogue(store).batch_files.at(b);
  };
  const BatchTypes first = TypesOf(batch(compact, 0));
  EXPECT_EQ(first.time_bytes, 4u);
  EXPECT_EQ(first.watts_bytes, 4u);
  EXPECT_EQ(first.watts_scale, 1);
  EXPECT_EQ(first.time_unit_us, kMicrosPerSecond);
  const BatchTypes second = TypesOf(batch(compact, 1));
  EXPECT_EQ(second.time_unit_us, 1000);
  EXPECT_EQ(second.watts_scale, 100);
  const BatchTypes third = TypesOf(batch(compact, 2));
  EXPECT_EQ(third.time_bytes, 4u);
  EXPECT_EQ(third.watts_bytes, 8u);  // 0.30000000000000004
  for (std::size_t b = 0; b < 3; ++b) {
    const BatchTypes p = TypesOf(batch(plain, b));
    EXPECT_EQ(p.time_bytes, 8u);
    EXPECT_EQ(p.watts_bytes, 8u);
  }
  EXPECT_LT(fs::file_size(batch(compact, 0)), fs::file_size(batch(plain, 0)));
  const StoreContents expected = ReadAll(plain);
  ASSERT_EQ(expected.time[0].size(), 9u + 2u);
  for (const std::string mode : {"pread", "mmap", "hdf5"}) {
    ::unsetenv("WATTRUN_NO_MMAP");
    ::unsetenv("WATTRUN_MMAP");
    if (mode == "mmap") ::setenv("WATTRUN_MMAP", "1", 1);
    if (mode == "hdf5") ::setenv("WATTRUN_NO_MMAP", "1", 1);
    const StoreContents got = ReadAll(compact);
    EXPECT_EQ(got.nodes, expected.nodes) << mode;
    EXPECT_EQ(got.time, expected.time) << mode;
    ASSERT_EQ(got.watts.size(), expected.watts.size()) << mode;
    for (std::size_t n = 0; n < got.watts.size(); ++n) {
      ASSERT_EQ(got.watts[n].size(), expected.watts[n].size()) << mode;
      for (std::size_t i = 0; i < got.watts[n].size(); ++i) {
        EXPECT_EQ(std::bit_cast<std::uint64_t>(got.watts[n][i]), std::bit_cast<std::uint64_t>(expected.watts[n][i]))
            << mode << " node " << n << " reading " << i << ": " << got.watts[n][i];
      }
    }
  }
  ::unsetenv("WATTRUN_NO_MMAP");
  ::unsetenv("WATTRUN_MMAP");
}

// A batch whose attributes do not name its columns' types (damaged, or
// edited by hand) is refused naming the file, not decoded into wrong times.
TEST_F(IngestMpi, ABatchWhoseAttributesContradictItsTypesIsRefusedNamingIt) {
  const Comm comm = comm_.comm();
  Ingest(config_, Options("store.h5"), comm);
  if (!comm.is_root()) return;
  const std::string store_path = Options("store.h5").store_path;
  const fs::path batch = fs::path(store_path).parent_path() / store::ReadCatalogue(store_path).batch_files[0];
  {
    h5::File file = h5::File::Open(batch.string(), h5::Mode::kReadWrite);
    ASSERT_EQ(store::BatchEncoding::ReadAttributes(file.id(), batch.string()).time_unit_us, kMicrosPerSecond);
    h5::SetAttribute(file.id(), "time_unit_us", std::int64_t{0});  // "int64 µs", over uint32 offsets
  }
  try {
    store::TelemetryReader reader(store_path);
    FAIL() << "a batch with contradicting attributes was opened";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(batch.filename().string() + ": batch is damaged: its time and watts types"),
              std::string::npos)
        << message;
  }
}

// A batch cut short after the reader opened it (batches are never modified
// in place, but a disk or a user can still do it) is a clear error naming
// the file when its readings are read directly, not a wrong answer.
TEST_F(IngestMpi, ABatchTruncatedUnderTheReaderIsAnErrorNamingTheFile) {
  const Comm comm = comm_.comm();
  Ingest(config_, Options("store.h5"), comm);
  if (!comm.is_root()) return;
  const std::string store_path = Options("store.h5").store_path;
  store::TelemetryReader reader(store_path);
  ASSERT_EQ(reader.DirectBatches(), 1u);
  const fs::path batch = fs::path(store_path).parent_path() / store::ReadCatalogue(store_path).batch_files[0];
  fs::resize_file(batch, 64);
  try {
    reader.TimeSpan(0);
    FAIL() << "no error for a truncated batch";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(batch.filename().string()), std::string::npos) << message;
    EXPECT_NE(message.find("file is truncated"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace wattrun::ingest
