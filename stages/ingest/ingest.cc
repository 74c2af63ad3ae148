#include "stages/ingest/ingest.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <span>
#include <unordered_map>

#include "core/csv.h"
#include "core/error.h"
#include "core/fault_injection.h"
#include "core/h5.h"
#include "core/huge_pages.h"
#include "core/time.h"
#include "stages/ingest/store.h"
#include "stages/ingest/tables.h"
#include "stages/ingest/telemetry_parse.h"

namespace wattrun::ingest {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;
double SecondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// ------------------------------------------------------------ file listing

struct InputFile {
  std::string rel;  // path relative to the facility directory
  std::string kind;
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
  bool gzip = false;
  std::int64_t text_bytes = 0;  // uncompressed size (estimated for gzip): the parse work
};

std::int64_t MtimeNs(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
}

// The uncompressed size of a gzip file from its trailer (ISIZE, the size
// mod 2^32 of the last member), for balancing work between ranks; a guess
// of 5x where the trailer cannot be right (wrapped, or a damaged file).
std::int64_t GzipTextBytes(const fs::path& p, std::int64_t size) {
  const std::int64_t guess = size * 5;
  if (size < 18 || size >= (std::int64_t{1} << 29)) return guess;  // larger: ISIZE may have wrapped
  std::ifstream in(p, std::ios::binary);
  in.seekg(size - 4);
  unsigned char b[4] = {0, 0, 0, 0};
  in.read(reinterpret_cast<char*>(b), 4);
  if (in.gcount() != 4) return guess;
  const std::int64_t isize = static_cast<std::int64_t>(b[0]) | static_cast<std::int64_t>(b[1]) << 8 |
                             static_cast<std::int64_t>(b[2]) << 16 | static_cast<std::int64_t>(b[3]) << 24;
  return isize >= size && isize <= size * 1032 ? isize : guess;  // deflate expands at most ~1032x
}

bool HasGzipMagic(const fs::path& p) {
  unsigned char magic[2] = {0, 0};
  std::ifstream in(p, std::ios::binary);
  in.read(reinterpret_cast<char*>(magic), 2);
  return in.gcount() == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Lists the facility's inputs in sorted path order (the order that decides
// which of two conflicting telemetry rows is "first").
std::vector<InputFile> ListInputs(const fs::path& root, std::vector<std::string>* warnings) {
  if (!fs::is_directory(root)) throw Error(root.string() + ": facility directory does not exist");
  std::vector<InputFile> files;
  auto add = [&](const fs::path& p, const std::string& kind) {
    InputFile f;
    f.rel = fs::relative(p, root).generic_string();
    f.kind = kind;
    f.size = static_cast<std::int64_t>(fs::file_size(p));
    f.mtime_ns = MtimeNs(p);
    f.gzip = HasGzipMagic(p);
    f.text_bytes = f.gzip ? GzipTextBytes(p, f.size) : f.size;
    files.push_back(f);
  };
  for (const char* dir : {"telemetry", "sacct"}) {
    const fs::path d = root / dir;
    if (!fs::is_directory(d)) continue;
    for (const auto& e : fs::recursive_directory_iterator(d, fs::directory_options::skip_permission_denied)) {
      if (!e.is_regular_file()) continue;
      const std::string name = e.path().filename().string();
      if (std::string(dir) == "telemetry") {
        if (EndsWith(name, ".csv") || EndsWith(name, ".csv.gz")) {
          add(e.path(), "telemetry");
        } else {
          warnings->push_back(fs::relative(e.path(), root).generic_string() +
                              ": ignored (telemetry files must end in .csv or .csv.gz)");
        }
      } else if (EndsWith(name, ".txt")) {
        add(e.path(), "sacct");
      }
    }
  }
  for (const char* name : {"runs.csv", "nodes.csv", "datasets.csv", "losses.csv"}) {
    const fs::path p = root / name;
    if (fs::is_regular_file(p)) add(p, std::string(name).substr(0, std::strlen(name) - 4));
  }
  std::sort(files.begin(), files.end(), [](const InputFile& a, const InputFile& b) { return a.rel < b.rel; });
  return files;
}

// ------------------------------------------------------------ spill records

// One valid telemetry row on its way to the store. `order` encodes
// (file index in sorted path order, byte offset of the line), which is the
// spec's "files in sorted path order, then line order".
struct SpillRecord {
  std::int64_t key_ms;  // UTC instant, or the wall time when ambiguous
  double watts;
  std::uint64_t order;
  std::uint32_t node;
  std::uint32_t ambiguous;
};
static_assert(sizeof(SpillRecord) == 32);

constexpr int kOffsetBits = 40;  // 1 TiB per file; 2^24 files per ingest

struct WorkItem {
  std::uint32_t file = 0;  // index into the new telemetry files
  std::int64_t begin = 0;
  std::int64_t end = 0;
};

// Counts of bad rows and dedup outcomes per (file, reason), with the first
// example location of each, reduced to rank 0 at the end.
struct CountKey {
  std::uint32_t file;
  std::string reason;
  bool operator<(const CountKey& o) const { return file != o.file ? file < o.file : reason < o.reason; }
};
struct CountValue {
  std::int64_t count = 0;
  std::string example;
};
using Counts = std::map<CountKey, CountValue>;

std::string SerializeCounts(const Counts& counts) {
  std::string out;
  for (const auto& [k, v] : counts) {
    out += std::to_string(k.file) + "\t" + k.reason + "\t" + std::to_string(v.count) + "\t" + v.example + "\n";
  }
  return out;
}

void MergeSerializedCounts(const std::string& text, Counts* counts) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t eol = text.find('\n', pos);
    const std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    const std::size_t a = line.find('\t'), b = line.find('\t', a + 1), c = line.find('\t', b + 1);
    CountKey k{static_cast<std::uint32_t>(std::stoul(line.substr(0, a))), line.substr(a + 1, b - a - 1)};
    CountValue& v = (*counts)[k];
    v.count += std::stoll(line.substr(b + 1, c - b - 1));
    if (v.example.empty()) v.example = line.substr(c + 1);
  }
}

// Buffers spill records per partition and appends them to one file per
// (rank, partition) in the temporary directory.
class Spiller {
 public:
  // in_memory: keep every record (the ingest fits the memory budget and the
  // ranks exchange partitions with MPI instead of through files).
  Spiller(std::string dir, int rank, std::size_t partitions, std::size_t buffer_records, bool in_memory)
      : dir_(std::move(dir)), rank_(rank), buffers_(partitions), counts_(partitions, 0),
        buffer_records_(buffer_records), in_memory_(in_memory) {}
  void Add(std::size_t partition, const SpillRecord& r) {
    auto& b = buffers_[partition];
    b.push_back(r);
    if (!in_memory_ && b.size() >= buffer_records_) Flush(partition);
  }
  void FlushAll() {
    if (in_memory_) {
      for (std::size_t p = 0; p < buffers_.size(); ++p) counts_[p] = static_cast<std::int64_t>(buffers_[p].size());
      return;
    }
    for (std::size_t p = 0; p < buffers_.size(); ++p) Flush(p);
  }
  const std::vector<std::int64_t>& counts() const { return counts_; }
  HugeVector<SpillRecord>& partition(std::size_t p) { return buffers_[p]; }
  static std::string PathOf(const std::string& dir, int rank, std::size_t partition) {
    return dir + "/spill_r" + std::to_string(rank) + "_p" + std::to_string(partition) + ".bin";
  }

 private:
  void Flush(std::size_t p) {
    auto& b = buffers_[p];
    if (b.empty()) return;
    const std::string path = PathOf(dir_, rank_, p);
    std::FILE* f = std::fopen(path.c_str(), "ab");
    if (!f) throw Error(path + ": cannot open spill file: " + std::strerror(errno));
    const std::size_t written = std::fwrite(b.data(), sizeof(SpillRecord), b.size(), f);
    const bool closed = std::fclose(f) == 0;
    if (written != b.size() || !closed) throw Error(path + ": write failed (disk full?): " + std::strerror(errno));
    counts_[p] += static_cast<std::int64_t>(b.size());
    b.clear();
  }
  std::string dir_;
  int rank_;
  std::vector<HugeVector<SpillRecord>> buffers_;
  std::vector<std::int64_t> counts_;
  std::size_t buffer_records_;
  bool in_memory_;
};

// Reads lines of [begin, end) of a plain file: the lines whose first byte
// lies in the range (the line that straddles `end` belongs to this range).
class RangeLineReader {
 public:
  RangeLineReader(const std::string& path, std::int64_t begin, std::int64_t end)
      : path_(path), end_(end), file_pos_(begin) {
    fd_ = ::open(path.c_str(), O_RDONLY);
    if (fd_ < 0) throw InputError(path, 0, std::string("cannot open: ") + std::strerror(errno));
    ::posix_fadvise(fd_, begin, end - begin, POSIX_FADV_SEQUENTIAL);
    buffer_.resize(4 << 20);
    if (begin > 0) {
      // Start after the first newline at or after begin - 1.
      file_pos_ = begin - 1;
      std::string_view skipped;
      std::int64_t at = 0;
      Next(&skipped, &at, /*skip_mode=*/true);
    }
  }
  ~RangeLineReader() {
    if (fd_ >= 0) ::close(fd_);
  }
  RangeLineReader(const RangeLineReader&) = delete;
  RangeLineReader& operator=(const RangeLineReader&) = delete;

  // Next line and the byte offset where it starts.
  bool Next(std::string_view* line, std::int64_t* line_offset, bool skip_mode = false) {
    const std::int64_t start = file_pos_ - static_cast<std::int64_t>(size_ - pos_);
    if (!skip_mode && start >= end_) return false;
    while (true) {
      const char* base = buffer_.data() + pos_;
      const void* nl = std::memchr(base, '\n', size_ - pos_);
      if (nl) {
        const std::size_t len = static_cast<const char*>(nl) - base;
        *line = std::string_view(base, len);
        *line_offset = start;
        pos_ += len + 1;
        return true;
      }
      if (eof_) {
        if (pos_ == size_) return false;
        *line = std::string_view(base, size_ - pos_);
        *line_offset = start;
        pos_ = size_;
        return true;
      }
      Refill();
    }
  }

 private:
  void Refill() {
    // Keep the partial line, read more after it.
    const std::size_t keep = size_ - pos_;
    if (keep == buffer_.size()) buffer_.resize(buffer_.size() * 2);
    std::memmove(buffer_.data(), buffer_.data() + pos_, keep);
    pos_ = 0;
    size_ = keep;
    const ssize_t n = ::pread(fd_, buffer_.data() + size_, buffer_.size() - size_, file_pos_);
    if (n < 0) throw InputError(path_, 0, std::string("read failed: ") + std::strerror(errno));
    if (n == 0) eof_ = true;
    size_ += static_cast<std::size_t>(n);
    file_pos_ += n;
  }
  std::string path_;
  int fd_ = -1;
  std::int64_t end_;
  std::int64_t file_pos_;  // file offset of buffer_[size_]
  std::vector<char> buffer_;
  std::size_t pos_ = 0;
  std::size_t size_ = 0;
  bool eof_ = false;
};

std::string FirstLine(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string line;
  std::getline(in, line);
  return line;
}

// Node name -> id, with heterogeneous lookup so that parsing a row does not
// allocate. Files list one minute's nodes in the same order minute after
// minute, so the node that followed the previous row's node last time is
// tried first: one string compare instead of a hash lookup.
class NodeIndex {
 public:
  explicit NodeIndex(const std::vector<std::string>& sorted_names)
      : names_(sorted_names), successor_(sorted_names.size(), kNone) {
    for (std::size_t i = 0; i < names_.size(); ++i) map_.emplace(names_[i], static_cast<std::uint32_t>(i));
  }
  bool Find(std::string_view name, std::uint32_t* id) {
    if (last_ != kNone) {
      const std::uint32_t guess = successor_[last_];
      if (guess != kNone && names_[guess] == name) {
        *id = last_ = guess;
        return true;
      }
    }
    const auto it = map_.find(name);
    if (it == map_.end()) return false;
    if (last_ != kNone) successor_[last_] = it->second;
    *id = last_ = it->second;
    return true;
  }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  static constexpr std::uint32_t kNone = ~0u;
  std::vector<std::string> names_;
  std::vector<std::uint32_t> successor_;
  std::unordered_map<std::string, std::uint32_t, Hash, std::equal_to<>> map_;
  std::uint32_t last_ = kNone;
};

struct ParseContext {
  const std::vector<InputFile>* files;  // new telemetry files
  const fs::path* root;
  TimestampPolicy policy;
  NodeIndex* nodes;
  const std::vector<std::uint32_t>* partition_of_node;
  Spiller* spiller;
  Counts* counts;
  std::int64_t rows = 0;
  std::int64_t bad = 0;
  std::vector<std::string>* warnings;
  TimestampCache timestamp_cache;
};

std::size_t PartitionOf(std::uint32_t node, std::size_t n_nodes, std::size_t partitions) {
  return static_cast<std::size_t>(static_cast<std::uint64_t>(node) * partitions / n_nodes);
}

void CountBad(ParseContext& ctx, std::uint32_t file, const char* reason, const std::string& where) {
  CountValue& v = (*ctx.counts)[CountKey{file, reason}];
  if (v.count == 0) v.example = where;
  ++v.count;
  ++ctx.bad;
}

template <typename NextLine>
void ParseLines(ParseContext& ctx, std::uint32_t file_index, const TelemetryColumns& columns, bool header_ok,
                NextLine&& next_line, bool exact_line_numbers) {
  const std::string& rel = (*ctx.files)[file_index].rel;
  std::string_view line;
  std::int64_t offset = 0;
  std::int64_t line_number = 0;
  while (next_line(&line, &offset, &line_number)) {
    if (offset == 0) continue;  // the header line is not a row
    if (line.empty() || (line.size() == 1 && line[0] == '\r')) continue;  // blank lines are not rows
    ++ctx.rows;
    auto where = [&]() {
      return exact_line_numbers ? rel + ":" + std::to_string(line_number) : rel + " at byte " + std::to_string(offset);
    };
    if (!header_ok) {
      CountBad(ctx, file_index, "bad_header", where());
      continue;
    }
    TelemetryRow row;
    const TelemetryRowError err = ParseTelemetryLine(line, columns, ctx.policy, &row, &ctx.timestamp_cache);
    if (err != TelemetryRowError::kNone) {
      CountBad(ctx, file_index, ReasonName(err), where());
      continue;
    }
    std::uint32_t node = 0;
    if (!ctx.nodes->Find(row.node, &node)) {
      CountBad(ctx, file_index, "unknown_node", where());
      continue;
    }
    SpillRecord r{};
    r.key_ms = row.ambiguous ? row.wall_ms : row.utc;
    r.watts = row.watts;
    r.order = (static_cast<std::uint64_t>(file_index) << kOffsetBits) | static_cast<std::uint64_t>(offset);
    r.node = node;
    r.ambiguous = row.ambiguous ? 1 : 0;
    ctx.spiller->Add((*ctx.partition_of_node)[node], r);
  }
}

void ParseWorkItem(ParseContext& ctx, const WorkItem& item) {
  const InputFile& f = (*ctx.files)[item.file];
  const std::string path = (*ctx.root / f.rel).string();
  TelemetryColumns columns;
  std::string missing;
  bool header_ok = true;
  std::string header;
  if (f.gzip) {
    LineReader reader(path);
    std::string_view first;
    try {
      if (reader.Next(&first)) header = std::string(first);
    } catch (const InputError& e) {
      CountBad(ctx, item.file, "corrupt_gzip", e.what());
      ctx.warnings->push_back(f.rel + ": " + e.what());
      return;
    }
    header_ok = !header.empty() && ResolveTelemetryHeader(header, &columns, &missing);
    if (!header_ok && item.begin == 0) {
      ctx.warnings->push_back(f.rel + ": telemetry header lacks column '" + missing +
                              "'; every line of the file is counted as a bad row (bad_header)");
    }
    std::int64_t offset = static_cast<std::int64_t>(header.size()) + 1;
    try {
      ParseLines(ctx, item.file, columns, header_ok,
                 [&](std::string_view* line, std::int64_t* line_offset, std::int64_t* line_number) {
                   if (!reader.Next(line)) return false;
                   *line_offset = offset;  // offset in the uncompressed stream
                   *line_number = reader.line_number();
                   offset += static_cast<std::int64_t>(line->size()) + 1;
                   return true;
                 },
                 true);
    } catch (const InputError& e) {
      // Rows before the damage are kept; the damage is counted and reported.
      CountBad(ctx, item.file, "corrupt_gzip", e.what());
      ctx.warnings->push_back(f.rel + ": " + e.what() + " (rows before the damage were kept)");
    }
    return;
  }
  header = FirstLine(path);
  header_ok = !header.empty() && ResolveTelemetryHeader(header, &columns, &missing);
  if (!header_ok && item.begin == 0 && f.size > 0) {
    ctx.warnings->push_back(f.rel + ": telemetry header lacks column '" + (missing.empty() ? "timestamp" : missing) +
                            "' (not a telemetry CSV?); every line is counted as a bad row (bad_header)");
  }
  RangeLineReader reader(path, item.begin, item.end);
  std::int64_t line_number = 0;
  ParseLines(ctx, item.file, columns, header_ok,
             [&](std::string_view* line, std::int64_t* line_offset, std::int64_t* number) {
               if (!reader.Next(line, line_offset)) return false;
               *number = ++line_number;
               return true;
             },
             item.begin == 0);
}

// ------------------------------------------------------------ sort and dedup

struct NodeCount {
  std::uint32_t node;
  std::int64_t count;
};

// Resolves the repeated hour by order (spec section 1): a node's ambiguous
// rows, taken in file order, form passes through the repeated hour; a pass
// ends where the wall time goes back. Even passes are daylight time (the
// earlier instant), odd passes standard time. Passes are counted separately
// for each repeated hour (they are years apart).
void ResolveAmbiguous(std::span<SpillRecord> records, const TimeZone& zone) {
  std::vector<std::size_t> amb;
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (records[i].ambiguous) amb.push_back(i);
  }
  if (amb.empty()) return;
  std::sort(amb.begin(), amb.end(), [&](std::size_t a, std::size_t b) {
    const auto& x = records[a];
    const auto& y = records[b];
    return x.node != y.node ? x.node < y.node : x.order < y.order;
  });
  std::uint32_t node = ~0u;
  std::map<TimeMs, std::pair<std::int64_t, int>> state;  // transition -> (last wall, pass)
  for (std::size_t i : amb) {
    SpillRecord& r = records[i];
    if (r.node != node) {
      node = r.node;
      state.clear();
    }
    const LocalTimeResult lt = zone.FromLocal(r.key_ms);
    // The local day identifies the repeated hour (there is one per day at most).
    const TimeMs transition = r.key_ms >= 0 ? r.key_ms / 86400000 : (r.key_ms - 86399999) / 86400000;
    auto it = state.find(transition);
    int pass = 0;
    if (it == state.end()) {
      state[transition] = {r.key_ms, 0};
    } else {
      pass = it->second.second;
      if (r.key_ms < it->second.first) ++pass;
      it->second = {r.key_ms, pass};
    }
    r.key_ms = (pass % 2 == 0) ? lt.earlier : lt.later;
    r.ambiguous = 0;
  }
}

// Sorts [first, last). The slice is usually a few sorted runs (one per rank
// that parsed the node's rows, each in file order): those are merged in
// linear time; anything else is sorted.
template <typename Less>
void SortRuns(SpillRecord* first, SpillRecord* last, Less less) {
  constexpr std::size_t kMaxRuns = 16;
  std::vector<SpillRecord*> run_starts{first};
  for (SpillRecord* p = first + 1; p < last; ++p) {
    if (less(*p, *(p - 1))) {
      run_starts.push_back(p);
      if (run_starts.size() > kMaxRuns) {
        std::sort(first, last, less);
        return;
      }
    }
  }
  // Merge the first run with each next one.
  for (std::size_t k = 1; k < run_starts.size(); ++k) {
    SpillRecord* const end = k + 1 < run_starts.size() ? run_starts[k + 1] : last;
    std::inplace_merge(first, run_starts[k], end, less);
  }
}

// Sorts by (node, instant, file order) into `sorted` (reused between
// partitions, so its pages are faulted in once): a counting sort by node
// (linear), then each node's slice by SortRuns.
void SortByNodeTimeOrder(std::span<const SpillRecord> records, HugeVector<SpillRecord>* sorted) {
  sorted->resize(records.size());
  if (records.empty()) return;
  std::uint32_t lo = ~0u, hi = 0;
  for (const auto& r : records) {
    lo = std::min(lo, r.node);
    hi = std::max(hi, r.node);
  }
  std::vector<std::size_t> start(static_cast<std::size_t>(hi - lo) + 2, 0);
  for (const auto& r : records) ++start[r.node - lo + 1];
  for (std::size_t i = 1; i < start.size(); ++i) start[i] += start[i - 1];
  std::vector<std::size_t> next(start.begin(), start.end() - 1);
  SpillRecord* out = sorted->data();
  for (const auto& r : records) out[next[r.node - lo]++] = r;
  auto less = [](const SpillRecord& a, const SpillRecord& b) {
    return a.key_ms != b.key_ms ? a.key_ms < b.key_ms : a.order < b.order;
  };
  for (std::size_t n = 0; n + 1 < start.size(); ++n) {
    SpillRecord* first = out + start[n];
    SpillRecord* last = out + start[n + 1];
    SortRuns(first, last, less);
  }
}

HugeVector<SpillRecord> LoadPartition(const std::string& dir, int ranks, std::size_t partition) {
  HugeVector<SpillRecord> records;
  for (int r = 0; r < ranks; ++r) {
    const std::string path = Spiller::PathOf(dir, r, partition);
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) continue;  // that rank had no rows for this partition
    std::fseek(f, 0, SEEK_END);
    const long bytes = std::ftell(f);
    std::fseek(f, 0, SEEK_SET);
    const std::size_t old = records.size();
    records.resize(old + static_cast<std::size_t>(bytes) / sizeof(SpillRecord));
    const std::size_t got = std::fread(records.data() + old, sizeof(SpillRecord), records.size() - old, f);
    std::fclose(f);
    if (got != records.size() - old) throw Error(path + ": short read of spill file");
  }
  return records;
}

// Fails early and clearly when the file system cannot hold what is about to
// be written (a write that fails halfway on a full disk is harder to report).
void RequireFreeSpace(const std::string& dir, std::int64_t bytes, const char* what) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return;  // cannot tell: let the writes report
  const auto available = static_cast<std::int64_t>(st.f_bavail) * static_cast<std::int64_t>(st.f_frsize);
  if (available < bytes) {
    throw Error(dir + ": not enough disk space for " + what + ": need " + std::to_string(bytes >> 20) +
                " MiB, " + std::to_string(available >> 20) + " MiB available (disk full?)");
  }
}

}  // namespace

std::int64_t PeakRssBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return 0;
}

namespace {

template <typename Record, typename Key>
void MergeByKey(std::vector<Record>* stored, const std::vector<Record>& fresh, Key key) {
  // Newer rows replace stored rows with the same key; order is first-seen.
  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < stored->size(); ++i) index[key((*stored)[i])] = i;
  for (const Record& r : fresh) {
    const auto it = index.find(key(r));
    if (it != index.end()) {
      (*stored)[it->second] = r;
    } else {
      index[key(r)] = stored->size();
      stored->push_back(r);
    }
  }
}

void ReplaceQuality(store::Catalogue* c, const std::string& stage, const std::string& file,
                    const std::vector<BadRowCount>& fresh) {
  auto& q = c->quality;
  q.erase(std::remove_if(q.begin(), q.end(),
                         [&](const BadRowCount& b) { return b.stage == stage && b.file == file; }),
          q.end());
  for (BadRowCount b : fresh) {
    b.stage = stage;
    b.file = file;
    q.push_back(b);
  }
}

// Parses the new or changed small tables into the catalogue (rank 0 only).
void IngestSmallTables(const Config& config, const fs::path& root, const std::vector<InputFile>& changed,
                       store::Catalogue* c) {
  const TimestampPolicy sacct_policy{TimeZone::Load(config.facility.scheduler.timezone),
                                     config.facility.scheduler.ignore_z};
  const NodeTypeMatcher matcher = [&config](const NodeSignature& s) {
    const NodeTypeConfig* t = config.facility.MatchSignature(s);
    return t ? t->name : std::string();
  };
  for (const InputFile& f : changed) {
    const std::string path = (root / f.rel).string();
    if (f.kind == "nodes") {
      auto parsed = ParseNodesFile(path, matcher);
      MergeByKey(&c->nodes, parsed.records, [](const NodeRecord& n) { return n.name; });
      ReplaceQuality(c, "nodes", f.rel, parsed.bad_rows);
    } else if (f.kind == "datasets") {
      auto parsed = ParseDatasetsFile(path);
      MergeByKey(&c->datasets, parsed.records, [](const DatasetRecord& d) { return d.name; });
      ReplaceQuality(c, "datasets", f.rel, parsed.bad_rows);
    } else if (f.kind == "runs") {
      auto parsed = ParseRunsFile(path);
      // Rows without a run_id cannot be merged by key: key them by line.
      MergeByKey(&c->runs, parsed.records, [](const RunRecord& r) {
        return r.run_id.empty() ? "#line" + std::to_string(r.line) : r.run_id;
      });
      ReplaceQuality(c, "runs", f.rel, parsed.bad_rows);
    } else if (f.kind == "sacct") {
      auto parsed = ParseSacctFile(path, sacct_policy);
      MergeByKey(&c->jobs, parsed.records, [](const JobRecord& j) { return j.job_id; });
      ReplaceQuality(c, "sacct", f.rel, parsed.bad_rows);
    } else if (f.kind == "losses") {
      auto parsed = ParseLossesFile(path);
      MergeByKey(&c->losses, parsed.records,
                 [](const LossRecord& l) { return l.experiment_id + "\t" + std::to_string(l.epoch); });
      ReplaceQuality(c, "losses", f.rel, parsed.bad_rows);
    }
  }
  // Types are re-matched with the current config, so a config fix applies
  // without re-ingesting nodes.csv.
  for (NodeRecord& n : c->nodes) {
    const NodeTypeConfig* t = config.facility.MatchSignature({n.cpus, n.memory_mb, n.tmp_disk_mb, n.gres});
    n.node_type = t ? t->name : std::string();
  }
}

std::string SerializeFiles(const std::vector<InputFile>& files) {
  std::string out;
  for (const auto& f : files) {
    out += f.rel + "\t" + std::to_string(f.size) + "\t" + (f.gzip ? "1" : "0") + "\t" + std::to_string(f.text_bytes) +
           "\n";
  }
  return out;
}

std::vector<InputFile> DeserializeFiles(const std::string& text) {
  std::vector<InputFile> files;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t eol = text.find('\n', pos);
    const std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    const std::size_t c = line.rfind('\t'), b = line.rfind('\t', c - 1), a = line.rfind('\t', b - 1);
    InputFile f;
    f.rel = line.substr(0, a);
    f.size = std::stoll(line.substr(a + 1, b - a - 1));
    f.gzip = line.substr(b + 1, c - b - 1) == "1";
    f.text_bytes = std::stoll(line.substr(c + 1));
    f.kind = "telemetry";
    files.push_back(f);
  }
  return files;
}

std::string JoinLines(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += n + "\n";
  return out;
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t eol = text.find('\n', pos);
    out.push_back(text.substr(pos, eol - pos));
    pos = eol + 1;
  }
  return out;
}

std::vector<WorkItem> MakeWorkItems(const std::vector<InputFile>& files, std::int64_t split_bytes) {
  std::vector<WorkItem> items;
  for (std::uint32_t i = 0; i < files.size(); ++i) {
    const InputFile& f = files[i];
    if (f.gzip || f.size <= split_bytes) {
      items.push_back({i, 0, f.size});
      continue;
    }
    for (std::int64_t b = 0; b < f.size; b += split_bytes) items.push_back({i, b, std::min(f.size, b + split_bytes)});
  }
  return items;
}

// Longest-processing-time assignment by the bytes of text to parse (a gzip
// file's uncompressed size, plus a third for inflating it): the same on
// every rank, so no communication is needed.
std::vector<std::vector<WorkItem>> AssignItems(const std::vector<WorkItem>& items,
                                               const std::vector<InputFile>& files, int ranks) {
  std::vector<std::size_t> order(items.size());
  std::iota(order.begin(), order.end(), 0);
  auto cost = [&](const WorkItem& w) {
    const InputFile& f = files[w.file];
    return f.gzip ? f.text_bytes + f.text_bytes / 3 : w.end - w.begin;
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return cost(items[a]) > cost(items[b]); });
  std::vector<std::vector<WorkItem>> per_rank(static_cast<std::size_t>(ranks));
  std::vector<std::int64_t> load(static_cast<std::size_t>(ranks), 0);
  for (std::size_t i : order) {
    const auto r = static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    per_rank[r].push_back(items[i]);
    load[r] += cost(items[i]);
  }
  // Each rank parses its items in file order: a node's rows then arrive in
  // time order from each rank (files are written in time order), and the
  // sort after the exchange only merges a few sorted runs.
  for (auto& mine : per_rank) {
    std::sort(mine.begin(), mine.end(), [](const WorkItem& a, const WorkItem& b) {
      return a.file != b.file ? a.file < b.file : a.begin < b.begin;
    });
  }
  return per_rank;
}

// An MPI datatype freed when it goes out of scope.
class OwnedType {
 public:
  OwnedType() = default;
  ~OwnedType() {
    if (type_ != MPI_DATATYPE_NULL) MPI_Type_free(&type_);
  }
  OwnedType(const OwnedType&) = delete;
  OwnedType& operator=(const OwnedType&) = delete;
  MPI_Datatype* out() { return &type_; }
  MPI_Datatype get() const { return type_; }
  void Commit() { CheckMpi(MPI_Type_commit(&type_), "MPI_Type_commit"); }

 private:
  MPI_Datatype type_ = MPI_DATATYPE_NULL;
};

// Blocks of records at absolute addresses, as one datatype (for MPI_BOTTOM).
void MakeBlocksType(MPI_Datatype record, const std::vector<std::pair<const SpillRecord*, std::int64_t>>& blocks,
                    OwnedType* type) {
  std::vector<int> lengths;
  std::vector<MPI_Aint> addresses;
  for (const auto& [data, n] : blocks) {
    if (n > std::numeric_limits<int>::max()) throw Error("ingest: a partition exceeds 2^31 rows; lower --memory-budget-mb");
    MPI_Aint address = 0;
    CheckMpi(MPI_Get_address(data, &address), "MPI_Get_address");
    lengths.push_back(static_cast<int>(n));
    addresses.push_back(address);
  }
  CheckMpi(MPI_Type_create_hindexed(static_cast<int>(lengths.size()), lengths.data(), addresses.data(), record,
                                    type->out()),
           "MPI_Type_create_hindexed");
  type->Commit();
}

// The records of the partitions this rank owns, each contiguous (sources in
// rank order). With one rank they are the parse buffers themselves; else one
// MPI_Alltoallw reads straight from every rank's parse buffers (no packing
// copy) and writes each partition contiguously into `received`. The parse
// buffers are released afterwards.
std::vector<std::span<SpillRecord>> ExchangePartitions(Spiller* spiller, const std::vector<std::int64_t>& all_counts,
                                                       const std::vector<std::size_t>& first_partition,
                                                       std::size_t partitions, const Comm& comm,
                                                       HugeVector<SpillRecord>* received) {
  const auto ranks = static_cast<std::size_t>(comm.size());
  const auto me = static_cast<std::size_t>(comm.rank());
  const std::size_t mine = first_partition[me], mine_end = first_partition[me + 1];
  std::vector<std::span<SpillRecord>> owned;
  if (ranks == 1) {
    for (std::size_t p = mine; p < mine_end; ++p) owned.emplace_back(spiller->partition(p));
    return owned;
  }
  std::size_t total = 0;
  for (std::size_t p = mine; p < mine_end; ++p) {
    for (std::size_t src = 0; src < ranks; ++src) total += static_cast<std::size_t>(all_counts[src * partitions + p]);
  }
  received->resize(total);
  // Layout of `received`: owned partitions in order, each from every source in rank order.
  std::vector<std::vector<std::pair<const SpillRecord*, std::int64_t>>> recv_blocks(ranks);
  std::size_t at = 0;
  for (std::size_t p = mine; p < mine_end; ++p) {
    const std::size_t partition_begin = at;
    for (std::size_t src = 0; src < ranks; ++src) {
      const std::int64_t n = all_counts[src * partitions + p];
      recv_blocks[src].emplace_back(received->data() + at, n);
      at += static_cast<std::size_t>(n);
    }
    owned.emplace_back(received->data() + partition_begin, at - partition_begin);
  }

  OwnedType record;
  CheckMpi(MPI_Type_contiguous(sizeof(SpillRecord), MPI_BYTE, record.out()), "MPI_Type_contiguous");
  record.Commit();
  std::vector<OwnedType> send_types(ranks), recv_types(ranks);
  std::vector<MPI_Datatype> send_handles, recv_handles;
  for (std::size_t d = 0; d < ranks; ++d) {
    std::vector<std::pair<const SpillRecord*, std::int64_t>> blocks;
    for (std::size_t p = first_partition[d]; p < first_partition[d + 1]; ++p) {
      blocks.emplace_back(spiller->partition(p).data(), static_cast<std::int64_t>(spiller->partition(p).size()));
    }
    MakeBlocksType(record.get(), blocks, &send_types[d]);
    send_handles.push_back(send_types[d].get());
  }
  for (std::size_t src = 0; src < ranks; ++src) {
    MakeBlocksType(record.get(), recv_blocks[src], &recv_types[src]);
    recv_handles.push_back(recv_types[src].get());
  }
  const std::vector<int> ones(ranks, 1), zeros(ranks, 0);
  CheckMpi(MPI_Alltoallw(MPI_BOTTOM, ones.data(), zeros.data(), send_handles.data(), MPI_BOTTOM, ones.data(),
                         zeros.data(), recv_handles.data(), comm.get()),
           "MPI_Alltoallw");
  for (std::size_t p = 0; p < partitions; ++p) HugeVector<SpillRecord>().swap(spiller->partition(p));
  return owned;
}

}  // namespace

IngestSummary Ingest(const Config& config, const IngestOptions& options, const Comm& comm) {
  const auto t0 = Clock::now();
  IngestSummary summary;
  const fs::path root(options.input_dir);
  const std::string store_path = options.store_path;
  const std::string batch_dir = store::BatchDirectory(store_path);
  const std::string tmp_dir = batch_dir + "/ingest-tmp";

  // --- Phase A, rank 0: list inputs, load the catalogue, parse small tables.
  store::Catalogue catalogue;
  std::vector<InputFile> all_files;
  std::vector<InputFile> new_telemetry;
  std::vector<std::string> node_names;
  RunCollectively(comm, [&] {
    if (!comm.is_root()) return;
    all_files = ListInputs(root, &summary.warnings);
    if (fs::exists(store_path)) catalogue = store::ReadCatalogue(store_path);
    catalogue.config_facility = config.facility.name;
    std::map<std::string, store::ManifestEntry> known;
    for (const auto& m : catalogue.manifest) known[m.path] = m;
    std::vector<InputFile> changed_small;
    for (const auto& f : all_files) {
      const auto it = known.find(f.rel);
      const bool unchanged = it != known.end() && it->second.size == f.size && it->second.mtime_ns == f.mtime_ns;
      if (unchanged) {
        ++summary.files_unchanged;
        continue;
      }
      ++summary.files_new;
      if (f.kind == "telemetry") {
        new_telemetry.push_back(f);
      } else {
        changed_small.push_back(f);
      }
    }
    IngestSmallTables(config, root, changed_small, &catalogue);
    if (config.pipeline.strict) {
      for (const auto& q : catalogue.quality) {
        if (q.stage != "telemetry" && q.count > 0) {
          throw Error(q.file + ": " + std::to_string(q.count) + " bad rows (" + q.reason +
                      "), and pipeline.strict is set");
        }
      }
    }
    for (const char* required : {"nodes", "runs", "datasets"}) {
      const bool have = std::string(required) == "nodes"  ? !catalogue.nodes.empty()
                        : std::string(required) == "runs" ? !catalogue.runs.empty()
                                                          : !catalogue.datasets.empty();
      bool listed = false;
      for (const auto& f : all_files) listed = listed || f.kind == required;
      for (const auto& m : catalogue.manifest) listed = listed || m.kind == required;
      if (!have && !listed) {
        throw Error(root.string() + ": " + required + ".csv is missing (required, spec section 1)");
      }
    }
    for (const auto& n : catalogue.nodes) node_names.push_back(n.name);
    std::sort(node_names.begin(), node_names.end());
    node_names.erase(std::unique(node_names.begin(), node_names.end()), node_names.end());
    if (!new_telemetry.empty()) {
      fs::remove_all(tmp_dir);  // leftovers of an interrupted ingest
      fs::create_directories(tmp_dir);
    }
  });
  new_telemetry = DeserializeFiles(comm.BroadcastString(SerializeFiles(new_telemetry)));
  node_names = SplitLines(comm.BroadcastString(JoinLines(node_names)));
  summary.telemetry_files_new = static_cast<std::int64_t>(new_telemetry.size());
  summary.files_new = comm.AllSum(summary.files_new);  // only rank 0 counted
  summary.files_unchanged = comm.AllSum(summary.files_unchanged);
  std::int64_t next_batch = comm.is_root() ? static_cast<std::int64_t>(catalogue.batch_files.size()) + 1 : 0;
  {
    std::vector<std::int64_t> b{next_batch};
    comm.Broadcast(&b);
    next_batch = b[0];
  }

  std::map<std::string, std::int64_t> new_file_batch;
  Counts counts;
  if (!new_telemetry.empty()) {
    if (node_names.empty()) throw Error("nodes.csv lists no nodes: telemetry cannot be assigned to nodes");
    for (const auto& f : new_telemetry) summary.telemetry_bytes += f.size;
    const TimestampPolicy policy{TimeZone::Load(config.facility.telemetry.timezone),
                                 config.facility.telemetry.ignore_z};

    // --- Phase B: parse work items into node-range partitions on disk.
    const auto t_parse = Clock::now();
    std::int64_t estimated_bytes = 0;
    for (const auto& f : new_telemetry) estimated_bytes += f.text_bytes;
    // Spill (32 B a row) and sorted staging (16 B a row) of ~30-byte CSV rows.
    RunCollectively(comm, [&] {
      if (comm.is_root()) RequireFreeSpace(tmp_dir, estimated_bytes * 48 / 30 + (1 << 20), "the ingest's temporary files");
    });
    // Records of this ingest (32 B a row of ~30 B of CSV), held up to three
    // times (parse buffers, received, sort) around the exchange: in memory
    // when that fits the budget, else spilled to disk.
    const bool in_memory = estimated_bytes * 32 / 30 * 3 / comm.size() <= options.memory_budget_bytes;
    // In memory, partitions of ~16 MiB of records (the sort's scratch is one
    // partition); spilled, as few as let a loaded partition and its sorted
    // copy fit the budget with room to spare.
    const std::int64_t partition_bytes = in_memory ? (16 << 20) : options.memory_budget_bytes / 3;
    const std::size_t max_partitions = std::min<std::size_t>(node_names.size(), 1024);
    std::size_t partitions = static_cast<std::size_t>((estimated_bytes * 12 / 10 + partition_bytes - 1) /
                                                      std::max<std::int64_t>(partition_bytes, 1));
    partitions = std::clamp<std::size_t>(std::max<std::size_t>(partitions, static_cast<std::size_t>(comm.size()) * 2),
                                         1, max_partitions);
    const std::size_t buffer_records = std::clamp<std::size_t>(
        static_cast<std::size_t>(options.memory_budget_bytes) / (4 * partitions * sizeof(SpillRecord)), 1024, 1 << 16);
    Spiller spiller(tmp_dir, comm.rank(), partitions, buffer_records, in_memory);
    if (in_memory) {
      // About this rank's share of rows per partition (30-byte rows), so the
      // buffers do not grow by copying.
      const auto expected = static_cast<std::size_t>(estimated_bytes / 30 / comm.size() / static_cast<std::int64_t>(partitions));
      for (std::size_t p = 0; p < partitions; ++p) spiller.partition(p).reserve(expected + expected / 8);
    }
    NodeIndex node_index(node_names);
    std::vector<std::uint32_t> partition_of_node(node_names.size());
    for (std::uint32_t n = 0; n < node_names.size(); ++n) {
      partition_of_node[n] = static_cast<std::uint32_t>(PartitionOf(n, node_names.size(), partitions));
    }
    std::vector<std::string> warnings;
    ParseContext ctx{&new_telemetry, &root, policy, &node_index, &partition_of_node, &spiller, &counts, 0, 0,
                     &warnings, {}};
    // Small enough pieces that every rank gets a fair share, large enough to stream.
    const std::int64_t split = std::clamp<std::int64_t>(summary.telemetry_bytes / (8 * comm.size()), 4ll << 20,
                                                        options.split_bytes);
    const auto items = AssignItems(MakeWorkItems(new_telemetry, std::min(split, options.split_bytes)), new_telemetry,
                                   comm.size());
    RunCollectively(comm, [&] {
      MaybeInjectFault("ingest", comm.rank());
      for (const WorkItem& item : items[static_cast<std::size_t>(comm.rank())]) ParseWorkItem(ctx, item);
      spiller.FlushAll();
    });
    summary.rows_read = comm.AllSum(ctx.rows);
    summary.bad_rows = comm.AllSum(ctx.bad);
    for (const auto& w : comm.GatherStringsToRoot(JoinLines(warnings))) {
      for (const auto& line : SplitLines(w)) summary.warnings.push_back(line);
    }
    summary.parse_seconds = SecondsSince(t_parse);
    if (config.pipeline.strict && summary.bad_rows > 0) {
      // The first example of each (file, reason), from every rank.
      std::string examples;
      for (const auto& [k, v] : counts) examples += "\n  " + v.example + ": " + k.reason;
      const auto all = comm.GatherStringsToRoot(examples);
      std::string text;
      for (const auto& e : all) text += e;
      throw CollectiveError(std::to_string(summary.bad_rows) +
                            " bad telemetry rows and pipeline.strict is set; first of each kind:" +
                            comm.BroadcastString(text));
    }

    // --- Phase C: whole partitions per rank (contiguous, balanced by rows),
    // sort, resolve the repeated hour, deduplicate, stage sorted output.
    const auto t_sort = Clock::now();
    const std::vector<std::int64_t> all_counts = comm.AllGather(spiller.counts());
    std::vector<std::int64_t> per_partition(partitions, 0);
    for (std::size_t i = 0; i < all_counts.size(); ++i) per_partition[i % partitions] += all_counts[i];
    const std::int64_t total_records = std::accumulate(per_partition.begin(), per_partition.end(), std::int64_t{0});
    std::vector<std::size_t> first_partition(static_cast<std::size_t>(comm.size()) + 1, partitions);
    {
      std::int64_t cum = 0;
      int r = 1;
      first_partition[0] = 0;
      for (std::size_t p = 0; p < partitions && r < comm.size(); ++p) {
        cum += per_partition[p];
        while (r < comm.size() && cum * comm.size() >= total_records * r) first_partition[static_cast<std::size_t>(r++)] = p + 1;
      }
    }
    HugeVector<SpillRecord> received;
    std::vector<std::span<SpillRecord>> owned;  // in memory: this rank's partitions
    if (in_memory) {
      RunCollectively(comm, [&] {
        owned = ExchangePartitions(&spiller, all_counts, first_partition, partitions, comm, &received);
      });
    }
    HugeVector<SpillRecord> loaded;  // spilled: the partition being sorted
    auto partition_records = [&](std::size_t p) -> std::span<SpillRecord> {
      if (in_memory) return owned[p - first_partition[static_cast<std::size_t>(comm.rank())]];
      loaded = LoadPartition(tmp_dir, comm.size(), p);
      return loaded;
    };
    // The sorted, deduplicated readings of this rank's nodes: in memory when
    // the ingest fits the budget, else staged in a file.
    HugeVector<TimeMs> staged_time;
    HugeVector<double> staged_watts;
    if (in_memory) {
      std::size_t mine = 0;
      for (const auto& part : owned) mine += part.size();
      staged_time.reserve(mine);
      staged_watts.reserve(mine);
    }
    const std::string sorted_path = tmp_dir + "/sorted_r" + std::to_string(comm.rank()) + ".bin";
    std::vector<NodeCount> node_counts;  // node id, readings
    std::int64_t duplicates = 0, conflicts = 0;
    RunCollectively(comm, [&] {
      std::unique_ptr<store::TelemetryReader> old_store;
      if (next_batch > 1) old_store = std::make_unique<store::TelemetryReader>(store_path);
      std::FILE* out = in_memory ? nullptr : std::fopen(sorted_path.c_str(), "wb");
      if (!in_memory && !out) throw Error(sorted_path + ": cannot create: " + std::strerror(errno));
      std::vector<TimeMs> t_out, old_t;
      std::vector<double> w_out, old_w;
      auto count = [&](std::uint64_t order, const char* reason) {
        CountValue& v = counts[CountKey{static_cast<std::uint32_t>(order >> kOffsetBits), reason}];
        ++v.count;
      };
      HugeVector<SpillRecord> records;  // one partition, sorted
      const auto r = static_cast<std::size_t>(comm.rank());
      for (std::size_t p = first_partition[r]; p < first_partition[r + 1]; ++p) {
        const std::span<SpillRecord> unsorted = partition_records(p);
        ResolveAmbiguous(unsorted, policy.zone);
        SortByNodeTimeOrder(unsorted, &records);
        for (std::size_t i = 0; i < records.size();) {
          const std::uint32_t node = records[i].node;
          std::size_t j = i;
          while (j < records.size() && records[j].node == node) ++j;
          t_out.clear();
          w_out.clear();
          for (std::size_t k = i; k < j; ++k) {
            if (!t_out.empty() && records[k].key_ms == t_out.back()) {
              if (records[k].watts == w_out.back()) {
                count(records[k].order, "duplicate");
                ++duplicates;
              } else {
                count(records[k].order, "conflict");
                ++conflicts;
              }
              continue;
            }
            t_out.push_back(records[k].key_ms);
            w_out.push_back(records[k].watts);
          }
          // Against the store: readings already stored win.
          if (old_store) {
            const std::int64_t old_node = old_store->FindNode(node_names[node]);
            if (old_node >= 0) {
              old_store->ReadRange(static_cast<std::size_t>(old_node), t_out.front(), t_out.back(), &old_t, &old_w);
              if (!old_t.empty()) {
                std::vector<std::pair<TimeMs, double>> old;
                for (std::size_t k = 0; k < old_t.size(); ++k) old.emplace_back(old_t[k], old_w[k]);
                std::sort(old.begin(), old.end());
                std::size_t kept = 0;
                for (std::size_t k = 0; k < t_out.size(); ++k) {
                  const auto it = std::lower_bound(old.begin(), old.end(), std::make_pair(t_out[k], -1e300));
                  if (it != old.end() && it->first == t_out[k]) {
                    // Attribute to the first file of this node in this ingest.
                    count(records[i].order, it->second == w_out[k] ? "duplicate_of_stored" : "conflict_with_stored");
                    continue;
                  }
                  t_out[kept] = t_out[k];
                  w_out[kept] = w_out[k];
                  ++kept;
                }
                t_out.resize(kept);
                w_out.resize(kept);
              }
            }
          }
          if (!t_out.empty()) {
            const auto n = static_cast<std::int64_t>(t_out.size());
            if (in_memory) {
              staged_time.insert(staged_time.end(), t_out.begin(), t_out.end());
              staged_watts.insert(staged_watts.end(), w_out.begin(), w_out.end());
            } else if (std::fwrite(t_out.data(), sizeof(TimeMs), t_out.size(), out) != t_out.size() ||
                       std::fwrite(w_out.data(), sizeof(double), w_out.size(), out) != w_out.size()) {
              std::fclose(out);
              throw Error(sorted_path + ": write failed (disk full?)");
            }
            node_counts.push_back(NodeCount{node, n});
          }
          i = j;
        }
        HugeVector<SpillRecord>().swap(loaded);  // spilled: free it before the next partition is loaded
      }
      HugeVector<SpillRecord>().swap(received);
      for (std::size_t q = 0; q < partitions; ++q) HugeVector<SpillRecord>().swap(spiller.partition(q));
      if (out && std::fclose(out) != 0) throw Error(sorted_path + ": write failed (disk full?)");
    });
    summary.duplicates = comm.AllSum(duplicates);
    summary.conflicts = comm.AllSum(conflicts);
    summary.sort_seconds = SecondsSince(t_sort);

    // --- Phase D: one batch file, collective writes at each rank's offset.
    const auto t_write = Clock::now();
    const auto all_node_counts = comm.AllGather(node_counts);  // rank order == node order
    std::int64_t my_offset = 0, total_rows = 0;
    {
      std::vector<std::int64_t> local_total{0};
      for (const auto& [node, n] : node_counts) local_total[0] += n;
      const auto totals = comm.AllGather(local_total);
      for (int q = 0; q < comm.size(); ++q) {
        if (q < comm.rank()) my_offset += totals[static_cast<std::size_t>(q)];
        total_rows += totals[static_cast<std::size_t>(q)];
      }
    }
    summary.rows_stored = total_rows;
    char batch_name[64];
    std::snprintf(batch_name, sizeof batch_name, "batch_%06lld.h5", static_cast<long long>(next_batch));
    const std::string batch_path = batch_dir + "/" + batch_name;
    const std::string batch_tmp = batch_path + ".tmp";
    std::int64_t non_collective = 0;
    RunCollectively(comm, [&] {
      if (comm.is_root()) RequireFreeSpace(batch_dir, total_rows * 16 + (4 << 20), "the new telemetry batch");
    });
    RunCollectively(comm, [&] {
      h5::File file = h5::File::Open(batch_tmp, h5::Mode::kCreate, comm.get());
      h5::H5Id time = h5::CreateDataset<TimeMs>(file.id(), "time", total_rows);
      h5::H5Id watts = h5::CreateDataset<double>(file.id(), "watts", total_rows);
      if (in_memory) {
        // Collective rounds straight from memory.
        constexpr std::int64_t kRound = 1 << 22;
        const auto local_rows = static_cast<std::int64_t>(staged_time.size());
        const std::int64_t rounds = comm.AllMax((local_rows + kRound - 1) / kRound);
        for (std::int64_t round = 0; round < rounds; ++round) {
          const std::int64_t at = std::min(round * kRound, local_rows);
          const std::int64_t n = std::min(kRound, local_rows - at);
          non_collective += h5::WriteSlice(time.get(), my_offset + at, n, staged_time.data() + at, true) != 0;
          non_collective += h5::WriteSlice(watts.get(), my_offset + at, n, staged_watts.data() + at, true) != 0;
        }
        time.Close();
        watts.Close();
        file.Close();
        return;
      }
      const int in = ::open(sorted_path.c_str(), O_RDONLY);
      if (in < 0) throw Error(sorted_path + ": cannot reopen: " + std::strerror(errno));
      auto read_at = [&](void* dst, std::int64_t elements, std::int64_t byte_offset) {
        const auto bytes = static_cast<std::size_t>(elements) * 8;
        if (::pread(in, dst, bytes, byte_offset) != static_cast<ssize_t>(bytes)) {
          throw Error(sorted_path + ": short read");
        }
      };
      // Every rank joins every collective round; a rank out of data writes nothing.
      constexpr std::int64_t kRound = 1 << 22;
      std::int64_t local_rows = 0;
      for (const auto& [node, n] : node_counts) local_rows += n;
      const std::int64_t rounds = comm.AllMax((local_rows + kRound - 1) / kRound);
      std::vector<TimeMs> t_buf;
      std::vector<double> w_buf;
      std::size_t node_pos = 0;
      std::int64_t node_done = 0;   // readings of node_counts[node_pos] already taken
      std::int64_t node_base = 0;   // byte offset of that node's block: times, then watts
      std::int64_t written = 0;
      for (std::int64_t round = 0; round < rounds; ++round) {
        t_buf.clear();
        w_buf.clear();
        while (node_pos < node_counts.size() && static_cast<std::int64_t>(t_buf.size()) < kRound) {
          const std::int64_t n = node_counts[node_pos].count;
          const std::int64_t take =
              std::min<std::int64_t>(n - node_done, kRound - static_cast<std::int64_t>(t_buf.size()));
          const std::size_t old = t_buf.size();
          t_buf.resize(old + static_cast<std::size_t>(take));
          w_buf.resize(old + static_cast<std::size_t>(take));
          read_at(t_buf.data() + old, take, node_base + node_done * 8);
          read_at(w_buf.data() + old, take, node_base + (n + node_done) * 8);
          node_done += take;
          if (node_done == n) {
            node_base += 2 * n * 8;
            ++node_pos;
            node_done = 0;
          }
        }
        const auto n = static_cast<std::int64_t>(t_buf.size());
        non_collective += h5::WriteSlice(time.get(), my_offset + written, n, t_buf.data(), true) != 0;
        non_collective += h5::WriteSlice(watts.get(), my_offset + written, n, w_buf.data(), true) != 0;
        written += n;
      }
      ::close(in);
      time.Close();
      watts.Close();
      file.Close();
    });
    // Small metadata (variable-length strings cannot be written collectively).
    RunCollectively(comm, [&] {
      if (!comm.is_root()) return;
      h5::File file = h5::File::Open(batch_tmp, h5::Mode::kReadWrite);
      std::vector<std::string> names;
      std::vector<std::int64_t> offsets{0};
      for (const auto& [node, n] : all_node_counts) {
        names.push_back(node_names[node]);
        offsets.push_back(offsets.back() + n);
      }
      h5::WriteStrings(file.id(), "node_names", names);
      h5::WriteVector(file.id(), "node_offset", offsets);
      h5::SetAttribute(file.id(), "rows", total_rows);
      h5::SetAttribute(file.id(), "batch", next_batch);
      file.Flush();
      file.Close();
      if (std::rename(batch_tmp.c_str(), batch_path.c_str()) != 0) {
        throw Error(batch_path + ": cannot rename into place: " + std::strerror(errno));
      }
    });
    summary.write_seconds = SecondsSince(t_write);
    summary.non_collective_writes = comm.AllSum(non_collective);
    summary.batch = next_batch;
    for (const auto& f : new_telemetry) new_file_batch[f.rel] = next_batch;

    // Counts to rank 0.
    const auto serialized = comm.GatherStringsToRoot(SerializeCounts(counts));
    counts.clear();
    for (const auto& s : serialized) MergeSerializedCounts(s, &counts);
  }

  // --- Phase E, rank 0: the new catalogue replaces the old one atomically.
  RunCollectively(comm, [&] {
    if (!comm.is_root()) return;
    if (summary.files_new == 0 && fs::exists(store_path)) return;  // nothing changed: store untouched
    std::map<std::string, std::vector<BadRowCount>> telemetry_quality;
    for (const auto& [k, v] : counts) {
      telemetry_quality[new_telemetry[k.file].rel].push_back(BadRowCount{"telemetry", "", k.reason, v.count});
    }
    for (const auto& f : new_telemetry) ReplaceQuality(&catalogue, "telemetry", f.rel, telemetry_quality[f.rel]);
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < catalogue.manifest.size(); ++i) index[catalogue.manifest[i].path] = i;
    for (const auto& f : all_files) {
      store::ManifestEntry m{f.rel, f.kind, f.size, f.mtime_ns, -1};
      const auto b = new_file_batch.find(f.rel);
      if (b != new_file_batch.end()) m.batch = b->second;
      const auto it = index.find(f.rel);
      if (it == index.end()) {
        catalogue.manifest.push_back(m);
      } else if (catalogue.manifest[it->second].size != f.size || catalogue.manifest[it->second].mtime_ns != f.mtime_ns) {
        catalogue.manifest[it->second] = m;
      }
    }
    if (summary.batch > 0) {
      char name[64];
      std::snprintf(name, sizeof name, "batch_%06lld.h5", static_cast<long long>(summary.batch));
      catalogue.batch_files.push_back(fs::path(store_path).filename().string() + ".d/" + name);
    }
    fs::create_directories(fs::absolute(store_path).parent_path());
    store::WriteCatalogue(store_path, catalogue);
  });
  comm.Barrier();
  if (comm.is_root() && fs::exists(tmp_dir)) fs::remove_all(tmp_dir);
  summary.seconds = SecondsSince(t0);
  summary.peak_rss_bytes = comm.AllMax(PeakRssBytes());
  return summary;
}

}  // namespace wattrun::ingest
