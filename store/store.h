// The telemetry store: what `wattrun ingest` writes and every later stage reads.
//
// Layout (all HDF5, readable with h5py):
//   STORE.h5                 the catalogue, small, rewritten atomically
//                            (write STORE.h5.tmp.WRITER, fsync, rename) by each ingest
//   STORE.h5.lock            the write lock while an ingest runs (store_lock.h)
//     /manifest/{path,kind,size,mtime_ns,batch}   every input file ingested
//     /tables/runs/*, /tables/jobs/*, /tables/nodes/*, /tables/datasets/*,
//     /tables/losses/*, /tables/carbon_intensity/{time_us,g_per_kwh}
//                            the small inputs, parsed, merged by key (jobs: by
//                            attempt, in sacct order; optional job columns as
//                            value + has_<name>)
//     /quality/{stage,file,reason,count}          bad rows and dedup counts
//     /telemetry/batch_NNNNNN  external link to STORE.h5.d/batch_NNNNNN.h5
//   STORE.h5.d/batch_NNNNNN.h5   one per ingest that brought telemetry, written
//                            with parallel HDF5 (collective writes):
//     /node_names            nodes of this batch, sorted by name
//     /node_offset           CSR offsets into time/watts (n_nodes + 1)
//     /time                  int64 µs since the Unix epoch, UTC (core/time.h),
//                            or uint32 offsets from the attribute time_base_us
//                            in units of time_unit_us (batch_encoding.h)
//     /watts                 float64, or int32 codes: watts = code / watts_scale
//   Readings are sorted by (node, time) and unique on (node, instant) within
//   and across batches: each batch is deduplicated against the older ones at
//   ingest, so a reader only merges sorted runs.
//
// Crash safety: a batch file is complete before the catalogue that names it
// is renamed into place; an ingest killed at any point leaves the previous
// catalogue (and so the previous store) in force, and the next ingest
// overwrites any orphan batch file.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "core/h5.h"
#include "core/records.h"
#include "core/time.h"

namespace wattrun::store {

// The catalogue's `wattrun_store_version`. 2: instants in µs (1: ms, refused
// with "re-ingest", as its numbers would be read 1000 times too small).
// 3: the job table's repeated texts (user, account, partition, state, file)
// as codes into a dictionary. 4: a batch may hold its readings compact
// (batch_encoding.h: uint32 time offsets, int32 watts codes, 8 bytes a
// reading). Versions 2 and 3 still read (and are written as 4 at their next
// ingest; their batches stay as they are); a newer store is refused by a
// wattrun that does not know its version, which would misread compact batches.
inline constexpr std::int64_t kStoreVersion = 4;
inline constexpr std::int64_t kOldestReadableStoreVersion = 2;

struct ManifestEntry {
  std::string path;  // relative to the facility directory
  std::string kind;  // telemetry, sacct, runs, nodes, datasets, losses, carbon_intensity
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t batch = -1;  // telemetry batch the file went into
};

struct FacilityFingerprint {
  std::string input_root;                  // absolute, as first ingested
  std::string first_telemetry_file;        // relative path of the first telemetry file (sorted order)
  std::uint64_t first_telemetry_hash = 0;  // of its first 4 KiB
  std::uint64_t inventory_hash = 0;        // of nodes.csv's sorted node names
  bool empty() const { return first_telemetry_file.empty(); }
};

// The configuration a store was ingested with (recorded by every ingest;
// empty in older stores). Its time zones decide every instant in the store,
// so a run must read the store with the same ones.
struct IngestedConfig {
  std::string source_path;  // the config file as given to the ingest
  std::string yaml_text;
  std::string telemetry_timezone;  // facility.telemetry.timezone
  std::string scheduler_timezone;  // facility.scheduler.timezone
  // facility.telemetry.kind: what the readings' values are (power, or
  // energy_counter joules); empty in stores older than the key (power).
  std::string telemetry_kind;
  bool empty() const { return telemetry_timezone.empty() && scheduler_timezone.empty(); }
  static IngestedConfig Of(const Config& config);
};

// The small tables and bookkeeping held in the catalogue.
struct Catalogue {
  std::vector<ManifestEntry> manifest;
  std::vector<RunRecord> runs;
  std::vector<JobRecord> jobs;
  std::vector<NodeRecord> nodes;
  std::vector<DatasetRecord> datasets;
  std::vector<LossRecord> losses;
  std::vector<CarbonIntensityRecord> carbon_intensity;  // carbon_intensity.csv, in time order
  std::vector<BadRowCount> quality;                     // telemetry bad rows, duplicates, ...
  std::vector<std::string> batch_files;                 // relative to the catalogue's directory
  std::string config_facility;                          // facility name of the config that ingested
  // Which facility directory the store was made from (recorded at the first
  // ingest that brought telemetry; empty in older stores): a later ingest of
  // another facility into it is refused unless allowed.
  FacilityFingerprint fingerprint;
  IngestedConfig ingested_config;
};

// Throws Error when `config` reads time in other zones than the store was
// ingested with, or its readings as another kind (facility.telemetry.kind:
// watts against energy counters), naming each key path and both values:
//   facility.scheduler.timezone: store S was ingested with 'America/Denver' (from F0), F says 'UTC'
// A store that recorded no config (older stores) passes.
void CheckZones(const Catalogue& catalogue, const Config& config, const std::string& store_path);

// Whether ReadCatalogue reads the job table: it holds every sacct line of the
// facility's history (the largest table by far), and only the rank that
// joins and finalizes needs it whole.
// kReadWithRoom reads it with a quarter more capacity, for the ingest: a
// month's new sacct lines then merge in without the vector moving (which
// holds the table twice, three times with the doubling, at that moment).
enum class JobTable { kRead, kReadWithRoom, kSkip };
Catalogue ReadCatalogue(const std::string& store_path, JobTable jobs = JobTable::kRead);
// About how many bytes of memory the catalogue's tables hold (records and
// the strings beyond their inline buffers), for a rank's memory budget.
std::int64_t HeldBytes(const Catalogue& catalogue);

// Atomic: writes store_path + ".tmp." + writer_tag (".tmp" without a tag),
// fsyncs, renames over store_path.
void WriteCatalogue(const std::string& store_path, const Catalogue& catalogue, const std::string& writer_tag = "");

// Reopens a batch file and checks it is whole: node_names sorted and
// unique, node_offset = those of `expected_names`/`expected_offsets`, and
// time and watts as long as the offsets say. Throws naming the file.
void VerifyBatch(const std::string& batch_path, const std::vector<std::string>& expected_names,
                 const std::vector<std::int64_t>& expected_offsets);

std::string BatchDirectory(const std::string& store_path);
// The file name of telemetry batch `batch` (1, 2, ...): batch_NNNNNN.h5.
std::string BatchFileName(std::int64_t batch);

// The datasets of a batch file (see the layout above): written by ingest,
// read by VerifyBatch and TelemetryReader.
namespace batch_file {
inline constexpr char kNodeNames[] = "node_names";
inline constexpr char kNodeOffset[] = "node_offset";
inline constexpr char kTime[] = "time";
inline constexpr char kWatts[] = "watts";
}  // namespace batch_file

// fsync of a file or a directory (after a rename into it); throws naming the path.
void FsyncPath(const std::string& path, bool directory);

// One node's slice of one batch.
struct NodeSlice {
  int batch = 0;
  std::int64_t offset = 0;
  std::int64_t count = 0;
};

// Reads readings of one node, merged across batches in time order, in chunks
// of bounded size so that memory does not grow with the months of telemetry.
class TelemetryReader {
 public:
  explicit TelemetryReader(const std::string& store_path);
  ~TelemetryReader();
  TelemetryReader(const TelemetryReader&) = delete;
  TelemetryReader& operator=(const TelemetryReader&) = delete;

  // Every node with readings in any batch, sorted by name.
  const std::vector<std::string>& nodes() const { return node_names_; }
  std::int64_t ReadingCount(std::size_t node) const;
  std::int64_t TotalReadings() const;
  std::int64_t bytes_read() const { return bytes_read_; }
  // Batches whose readings are read directly, with pread or (WATTRUN_MMAP=1)
  // through memory maps; the others through HDF5.
  std::size_t DirectBatches() const;

  // Index of a node in nodes(), or -1.
  std::int64_t FindNode(const std::string& name) const;
  // Readings of a node with time in [t_min, t_max], from every batch (sorted
  // per batch, not merged); found by the slices' spans and a search of the
  // overlapping ones, so re-ingesting one month reads only that month of the
  // old store.
  void ReadRange(std::size_t node, TimeUs t_min, TimeUs t_max, std::vector<TimeUs>* time, std::vector<double>* watts);

  // Streams node's readings in time order: calls visit(time, watts, n) on
  // consecutive chunks of at most chunk_size readings (the pointers are
  // valid during the call only).
  template <typename Visit>
  void ForEachChunk(std::size_t node, std::size_t chunk_size, Visit&& visit) {
    ForEachChunkOf(SubSlices(node, std::numeric_limits<TimeUs>::min(), std::numeric_limits<TimeUs>::max()),
                   Disjoint(node), chunk_size, std::forward<Visit>(visit));
  }
  // The same for the readings with time in [from, until).
  template <typename Visit>
  void ForEachChunkInRange(std::size_t node, TimeUs from, TimeUs until, std::size_t chunk_size, Visit&& visit) {
    ForEachChunkOf(SubSlices(node, from, until), Disjoint(node), chunk_size, std::forward<Visit>(visit));
  }
  // First and last reading time of a node (over all batches).
  std::pair<TimeUs, TimeUs> TimeSpan(std::size_t node);
  // Readings in [from, until) (by binary search, without reading them).
  std::int64_t CountInRange(std::size_t node, TimeUs from, TimeUs until);
  // The last reading before `from` and the first at or after `until`, if any.
  bool ReadingBefore(std::size_t node, TimeUs from, TimeUs* time, double* watts);
  bool ReadingFrom(std::size_t node, TimeUs until, TimeUs* time, double* watts);

 private:
  // First and last time of one slice.
  struct SliceSpan {
    TimeUs first = 0;
    TimeUs last = 0;
  };
  // The node's slices' spans, read once (two readings a slice) and cached:
  // a batch a month means a node has as many slices as months. The first
  // call also puts the node's slices in order of their first time.
  const std::vector<SliceSpan>& Spans(std::size_t node);
  // True if the node's slices do not overlap in time (batches of different
  // months): they are then streamed one after the other instead of merged
  // reading by reading.
  bool Disjoint(std::size_t node);
  template <typename Visit>
  void ForEachChunkOf(const std::vector<NodeSlice>& slices, bool disjoint, std::size_t chunk_size, Visit&& visit);
  // Index of the first reading of the slice with time >= t: interpolation
  // search, with the last few answers remembered (consecutive units of the
  // pass ask for the same boundaries).
  std::int64_t LowerBound(const NodeSlice& slice, const SliceSpan& span, TimeUs t);
  // Sub-slices with time in [from, until), in order of the slices' first time.
  std::vector<NodeSlice> SubSlices(std::size_t node, TimeUs from, TimeUs until);
  struct Batch;
  // Readings [offset, offset + count) of a batch mapped into memory for as
  // long as the object lives.
  class MappedReadings {
   public:
    MappedReadings() = default;
    ~MappedReadings();
    MappedReadings(const MappedReadings&) = delete;
    MappedReadings& operator=(const MappedReadings&) = delete;
    const TimeUs* time() const { return time_; }
    const double* watts() const { return watts_; }

   private:
    friend class TelemetryReader;
    struct Region {
      void* base = nullptr;
      std::size_t bytes = 0;
    };
    std::array<Region, 2> regions_{};
    const TimeUs* time_ = nullptr;
    const double* watts_ = nullptr;
  };
  // False if the batch is read through HDF5 only (or mapping fails).
  bool MapReadings(std::size_t batch, std::int64_t offset, std::int64_t count, MappedReadings* out);
  TimeUs TimeAt(std::size_t batch, std::int64_t index);
  void ReadTimes(std::size_t batch, std::int64_t offset, std::int64_t count, TimeUs* time);
  void ReadChunk(std::size_t batch, std::int64_t offset, std::int64_t count, TimeUs* time, double* watts);
  std::vector<std::unique_ptr<Batch>> batches_;
  std::vector<std::string> node_names_;
  std::vector<std::vector<NodeSlice>> slices_;  // per node
  std::vector<std::vector<SliceSpan>> spans_;   // per node, filled on first use
  struct BoundMemo {
    int batch = -1;
    std::int64_t offset = 0;
    TimeUs t = 0;
    std::int64_t index = 0;
  };
  std::array<BoundMemo, 4> bound_memo_{};
  std::vector<TimeUs> probe_window_;
  std::size_t bound_memo_next_ = 0;
  std::int64_t bytes_read_ = 0;
  std::vector<TimeUs> buffer_time_;
  std::vector<double> buffer_watts_;
  // Compact columns as read, before decoding (batch_encoding.h).
  std::vector<std::uint32_t> time_codes_;
  std::vector<std::int32_t> watts_codes_;
};

template <typename Visit>
void TelemetryReader::ForEachChunkOf(const std::vector<NodeSlice>& slices, bool disjoint, std::size_t chunk_size,
                                     Visit&& visit) {
  if (slices.empty()) return;
  if (slices.size() == 1 || disjoint) {  // the common case: no merge needed
    for (const NodeSlice& s : slices) {
      const auto batch = static_cast<std::size_t>(s.batch);
      std::int64_t done = 0;
      while (done < s.count) {  // in place, no copy
        const std::int64_t n = std::min<std::int64_t>(static_cast<std::int64_t>(chunk_size), s.count - done);
        MappedReadings mapped;
        if (!MapReadings(batch, s.offset + done, n, &mapped)) break;
        visit(mapped.time(), mapped.watts(), static_cast<std::size_t>(n));
        bytes_read_ += n * static_cast<std::int64_t>(sizeof(TimeUs) + sizeof(double));
        done += n;
      }
      if (done == s.count) continue;
      // Buffers are reused from node to node: allocating (and zeroing) fresh
      // megabytes per node would cost more than reading the readings.
      const auto size =
          static_cast<std::size_t>(std::min<std::int64_t>(static_cast<std::int64_t>(chunk_size), s.count));
      if (buffer_time_.size() < size) {
        buffer_time_.resize(size);
        buffer_watts_.resize(size);
      }
      while (done < s.count) {
        const std::int64_t n = std::min<std::int64_t>(static_cast<std::int64_t>(size), s.count - done);
        ReadChunk(static_cast<std::size_t>(s.batch), s.offset + done, n, buffer_time_.data(), buffer_watts_.data());
        visit(buffer_time_.data(), buffer_watts_.data(), static_cast<std::size_t>(n));
        done += n;
      }
    }
    return;
  }
  // k-way merge of the batches' sorted slices, each buffered in pieces.
  struct Cursor {
    NodeSlice slice;
    std::int64_t consumed = 0;  // from the slice
    std::vector<TimeUs> t;
    std::vector<double> w;
    std::size_t pos = 0;
  };
  const std::size_t piece = std::max<std::size_t>(chunk_size / slices.size(), 4096);
  std::vector<Cursor> cursors;
  for (const auto& s : slices) cursors.push_back(Cursor{s, 0, {}, {}, 0});
  auto refill = [&](Cursor& c) {
    if (c.pos < c.t.size() || c.consumed >= c.slice.count) return;
    const std::int64_t n = std::min<std::int64_t>(static_cast<std::int64_t>(piece), c.slice.count - c.consumed);
    c.t.resize(static_cast<std::size_t>(n));
    c.w.resize(static_cast<std::size_t>(n));
    ReadChunk(static_cast<std::size_t>(c.slice.batch), c.slice.offset + c.consumed, n, c.t.data(), c.w.data());
    c.consumed += n;
    c.pos = 0;
  };
  std::vector<TimeUs> out_t;
  std::vector<double> out_w;
  out_t.reserve(chunk_size);
  out_w.reserve(chunk_size);
  while (true) {
    Cursor* best = nullptr;
    for (auto& c : cursors) {
      refill(c);
      if (c.pos < c.t.size() && (!best || c.t[c.pos] < best->t[best->pos])) best = &c;
    }
    if (!best) break;
    out_t.push_back(best->t[best->pos]);
    out_w.push_back(best->w[best->pos]);
    ++best->pos;
    if (out_t.size() == chunk_size) {
      visit(out_t.data(), out_w.data(), out_t.size());
      out_t.clear();
      out_w.clear();
    }
  }
  if (!out_t.empty()) visit(out_t.data(), out_w.data(), out_t.size());
}

}  // namespace wattrun::store
