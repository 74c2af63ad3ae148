#include "stages/ingest/ingest.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <future>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "core/csv.h"
#include "core/error.h"
#include "core/fault_injection.h"
#include "core/file_io.h"
#include "core/h5.h"
#include "core/hostlist.h"
#include "core/huge_pages.h"
#include "core/pack.h"
#include "core/time.h"
#include "stages/ingest/dedup.h"
#include "stages/ingest/prometheus.h"
#include "stages/ingest/prometheus_json.h"
#include "stages/ingest/reading_chunks.h"
#include "stages/ingest/tables.h"
#include "stages/ingest/telemetry_parse.h"
#include "store/batch_encoding.h"
#include "store/store.h"
#include "store/store_lock.h"

namespace wattrun::ingest {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;
double SecondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

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

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// What the walk of telemetry/ and sacct/ found besides files: links and
// directories it could not follow, by path (counted as unreadable_link).
struct Skipped {
  std::vector<BadRowCount> links;  // stage = telemetry or sacct, file = path
  std::vector<std::string>* warnings;
};

// Files under dir, recursively, following symbolic links; a link that
// cannot be followed (a loop, a dangling target) and a directory reached
// twice (a directory loop) are skipped, each named and counted.
template <typename AddFile>
void WalkInputs(const fs::path& root, const fs::path& dir, const std::string& stage,
                std::set<std::pair<dev_t, ino_t>>* visited, Skipped* skipped, AddFile&& add_file) {
  std::error_code ec;
  std::vector<fs::path> entries;
  for (const auto& e : fs::directory_iterator(dir, fs::directory_options::skip_permission_denied, ec)) {
    entries.push_back(e.path());
  }
  std::sort(entries.begin(), entries.end());
  for (const fs::path& p : entries) {
    const std::string rel = p.lexically_relative(root).generic_string();
    auto skip = [&](const std::string& why) {
      skipped->warnings->push_back(rel + ": skipped (" + why + "), counted as unreadable_link");
      skipped->links.push_back(BadRowCount{stage, rel, "unreadable_link", 1});
    };
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) {
      const int err = errno;
      skip(err == ELOOP    ? "symbolic link loop"
           : err == ENOENT ? "dangling symbolic link: its target does not exist"
                           : std::string("cannot follow: ") + std::strerror(err));
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      if (!visited->insert({st.st_dev, st.st_ino}).second) {
        skip("directory loop: links to a directory already listed");
        continue;
      }
      WalkInputs(root, p, stage, visited, skipped, add_file);
    } else if (S_ISREG(st.st_mode)) {
      add_file(p);
    }
  }
}

// Lists the facility's inputs in sorted path order (the order that decides
// which of two conflicting telemetry rows is "first"). Telemetry names are
// matched in any case (.csv, .CSV, .csv.gz, .CSV.GZ).
std::vector<InputFile> ListInputs(const fs::path& root, std::vector<std::string>* warnings,
                                  std::vector<BadRowCount>* unreadable_links) {
  if (!fs::is_directory(root)) throw Error(root.string() + ": facility directory does not exist");
  std::vector<InputFile> files;
  auto add = [&](const fs::path& p, const std::string& kind) {
    InputFile f;
    // Lexically, so that a symlinked file keeps the name it has in the facility directory.
    f.rel = p.lexically_relative(root).generic_string();
    f.kind = kind;
    f.size = static_cast<std::int64_t>(fs::file_size(p));
    f.mtime_ns = MtimeNs(p);
    f.gzip = HasGzipMagic(p);
    f.text_bytes = f.gzip ? GzipTextBytes(p, f.size) : f.size;
    files.push_back(f);
  };
  Skipped skipped{{}, warnings};
  for (const std::string dir : {"telemetry", "sacct"}) {
    const fs::path d = root / dir;
    struct stat st {};
    if (::stat(d.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    std::set<std::pair<dev_t, ino_t>> visited{{st.st_dev, st.st_ino}};
    WalkInputs(root, d, dir, &visited, &skipped, [&](const fs::path& p) {
      const std::string name = Lower(p.filename().string());
      if (dir == "telemetry") {
        if (EndsWith(name, ".csv") || EndsWith(name, ".csv.gz")) {
          add(p, "telemetry");
        } else {
          warnings->push_back(p.lexically_relative(root).generic_string() +
                              ": ignored (telemetry files must end in .csv or .csv.gz)");
        }
      } else if (EndsWith(p.filename().string(), ".txt")) {
        add(p, "sacct");
      }
    });
  }
  *unreadable_links = std::move(skipped.links);
  for (const char* name : {"runs.csv", "nodes.csv", "datasets.csv", "losses.csv", "carbon_intensity.csv"}) {
    const fs::path p = root / name;
    if (fs::is_regular_file(p)) add(p, std::string(name).substr(0, std::strlen(name) - 4));
  }
  std::sort(files.begin(), files.end(), [](const InputFile& a, const InputFile& b) { return a.rel < b.rel; });
  return files;
}

// ------------------------------------------------------------ work items and counts

// A plain file's byte range [begin, end), or for a gzip file a range of
// offsets in its uncompressed text (every piece inflates the stream from the
// start and parses the lines that start in its range; the last ends at
// kGzipTextEnd, as the whole file's one item does).
struct WorkItem {
  std::uint32_t file = 0;  // index into the new telemetry files
  std::int64_t begin = 0;
  std::int64_t end = 0;
};
constexpr std::int64_t kGzipTextEnd = std::numeric_limits<std::int64_t>::max();
// A gzip file split across ranks is parsed by at most this many of them:
// each piece inflates the text before it again (ISA-L inflates ~5x
// faster than the lines parse), so more pieces would cost more than they save.
constexpr std::int64_t kMaxGzipPieces = 4;

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

// Per-rank counts and file records travel as length-prefixed binary
// (core/pack.h): a file name or an example line may hold any byte.
std::string SerializeCounts(const Counts& counts) {
  ByteWriter w;
  w.Put<std::uint64_t>(counts.size());
  for (const auto& [k, v] : counts) {
    w.Put(k.file);
    w.PutString(k.reason);
    w.Put(v.count);
    w.PutString(v.example);
  }
  return std::string(w.bytes().begin(), w.bytes().end());
}

void MergeSerializedCounts(const std::string& bytes, Counts* counts) {
  ByteReader r(bytes.data(), bytes.size());
  for (auto n = r.Get<std::uint64_t>(); n > 0; --n) {
    CountKey k;
    k.file = r.Get<std::uint32_t>();
    k.reason = r.GetString();
    CountValue& v = (*counts)[k];
    v.count += r.Get<std::int64_t>();
    std::string example = r.GetString();
    if (v.example.empty()) v.example = std::move(example);
  }
}

// Reads lines of [begin, end) of a plain file: the lines whose first byte
// lies in the range (the line that straddles `end` belongs to this range).
// The buffer is the caller's, reused from one work item to the next (fresh
// memory for every item would cost more than reading it).
class RangeLineReader {
 public:
  RangeLineReader(const std::string& path, std::int64_t begin, std::int64_t end, HugeVector<char>* buffer)
      : path_(path), end_(end), file_pos_(begin), buffer_(*buffer) {
    fd_ = ::open(path.c_str(), O_RDONLY);
    if (fd_ < 0) throw InputError(path, 0, std::string("cannot open: ") + std::strerror(errno));
    ::posix_fadvise(fd_, begin, end - begin, POSIX_FADV_SEQUENTIAL);
    if (buffer_.size() < (4 << 20)) buffer_.resize(4 << 20);
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
  HugeVector<char>& buffer_;
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

// facility.telemetry.source: prometheus: what a rank needs to fetch units.
struct PrometheusFetch {
  const PrometheusConfig* config;
  const std::vector<std::string>* node_names;
  const std::vector<PrometheusUnit>* units;          // one per "file" of the new telemetry
  const std::vector<TimeUs>* first_wanted;           // per node: readings before it are stored already
  std::unique_ptr<PrometheusPrefetcher> prefetcher;  // this rank's units, fetched one ahead
  // Where this rank's time went: waiting for responses, scanning their
  // JSON, streaming their samples into the ingest.
  double http_seconds = 0;
  double json_seconds = 0;
  double ingest_seconds = 0;
};

struct ParseContext {
  const std::vector<InputFile>* files;  // new telemetry files
  const fs::path* root;
  TimestampPolicy policy;
  const TelemetryFormatConfig* format;  // the config's column names, time format, unit
  NodeIndex* nodes;
  NodeStreams* streams;
  Counts* counts;
  std::int64_t rows = 0;
  std::int64_t bad = 0;
  std::vector<std::string>* warnings;
  TimestampCache timestamp_cache{};
  std::uint32_t item = 0;                          // index of the work item being parsed
  HugeVector<char> read_buffer{};                  // plain files' text, reused between items
  std::vector<std::int64_t>* file_rows = nullptr;  // rows per new telemetry file, this rank's
  PrometheusFetch* prometheus = nullptr;           // set: the items are Prometheus units, not files
};

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
    if (offset == 0) continue;                                            // the header line is not a row
    if (line.empty() || (line.size() == 1 && line[0] == '\r')) continue;  // blank lines are not rows
    ++ctx.rows;
    ++(*ctx.file_rows)[file_index];
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
    const std::uint64_t order =
        (static_cast<std::uint64_t>(file_index) << kOrderOffsetBits) | static_cast<std::uint64_t>(offset);
    ctx.streams->Append(node, ctx.item, order, row.ambiguous, row.ambiguous ? row.wall_us : row.utc, row.watts);
  }
}

// One sample of a unit's response into its node's stream; false for a bad
// value (counted).
bool AddSample(ParseContext& ctx, const WorkItem& item, std::uint64_t sequence, std::uint32_t node, TimeUs time,
               std::string_view label, std::string_view value) {
  double watts = 0;
  const char* bad = !ParseDouble(value, &watts) || !std::isfinite(watts) ? "bad_watts"
                    : watts < 0                                          ? "negative_watts"
                                                                         : nullptr;
  if (bad) {
    CountBad(ctx, item.file, bad,
             (*ctx.files)[item.file].rel + ": " + std::string(label) + " at " + FormatUtcIso(time) + " (" +
                 std::string(value) + ")");
    return false;
  }
  const std::uint64_t order = (static_cast<std::uint64_t>(item.file) << kOrderOffsetBits) | sequence;
  ctx.streams->Append(node, ctx.item, order, false, time, watts);
  return true;
}

// A Prometheus unit fetched and its samples streamed like a file's rows:
// those in (after, until] (Prometheus 2's range selectors include t - Δ,
// the previous unit's last instant) and not before their node's first
// wanted instant. An error names the URL and the query.
void FetchUnit(ParseContext& ctx, const WorkItem& item) {
  PrometheusFetch& fetch = *ctx.prometheus;
  const PrometheusUnit& unit = (*fetch.units)[item.file];
  const std::vector<std::string_view> nodes = UnitNodes(unit, *fetch.node_names, *fetch.first_wanted);
  if (nodes.empty()) return;  // its nodes are stored up to a later instant
  const auto t0 = std::chrono::steady_clock::now();
  PrometheusResponse response;
  if (!fetch.prefetcher->Next(&response) || response.unit != item.file) {
    throw Error("internal: Prometheus responses out of step with the units (unit " + std::to_string(item.file) + ")");
  }
  const std::string& query = response.query;
  const std::string& body = response.body;
  const auto t1 = std::chrono::steady_clock::now();
  std::uint64_t sequence = 0;
  const auto add = [&](std::string_view label, TimeUs time, std::string_view value) {
    if (time <= unit.after || time > unit.until) return;
    std::uint32_t node = 0;
    const bool known = ctx.nodes->Find(NodeFromLabel(label), &node);
    if (known && time < (*fetch.first_wanted)[node]) return;
    ++ctx.rows;
    if (!known) {
      CountBad(ctx, item.file, "unknown_node", (*ctx.files)[item.file].rel + ": " + std::string(label));
      return;
    }
    AddSample(ctx, item, sequence++, node, time, label, value);
  };
  // The server's compact form scanned in one pass (timed apart from the
  // ingest); anything else through ForEachSample's general parser.
  std::vector<std::string_view> labels;
  std::vector<MatrixSample> samples;
  samples.reserve(body.size() / 24);
  const bool compact = ScanCompactMatrix(body, fetch.config->node_label, &labels, &samples);
  const auto t2 = std::chrono::steady_clock::now();
  try {
    if (compact) {
      for (const MatrixSample& sample : samples) {
        add(labels[sample.series], InstantFromEpochMs(sample.epoch_ms), sample.value);
      }
    } else {
      ForEachSample(body, fetch.config->node_label, add);
    }
  } catch (const Error& e) {
    throw Error(fetch.prefetcher->endpoint() + ": " + DescribeQuery(query, unit.until) + ": " + e.what());
  }
  const auto t3 = std::chrono::steady_clock::now();
  fetch.http_seconds += std::chrono::duration<double>(t1 - t0).count();
  fetch.json_seconds += std::chrono::duration<double>(t2 - t1).count();
  fetch.ingest_seconds += std::chrono::duration<double>(t3 - t2).count();
}

void ParseWorkItem(ParseContext& ctx, const WorkItem& item) {
  if (ctx.prometheus) {
    FetchUnit(ctx, item);
    return;
  }
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
      if (item.begin > 0) return;  // the first piece counts it
      CountBad(ctx, item.file, "corrupt_gzip", e.what());
      ctx.warnings->push_back(f.rel + ": " + e.what());
      return;
    }
    header_ok = !header.empty() && ResolveTelemetryHeader(header, *ctx.format, &columns, &missing);
    if (!header_ok && item.begin == 0) {
      ctx.warnings->push_back(f.rel + ": telemetry header lacks column '" + missing +
                              "'; every line of the file is counted as a bad row (bad_header)");
    }
    std::int64_t offset = static_cast<std::int64_t>(header.size()) + 1;
    try {
      ParseLines(
          ctx, item.file, columns, header_ok,
          [&](std::string_view* line, std::int64_t* line_offset, std::int64_t* line_number) {
            for (;;) {
              if (!reader.Next(line)) return false;
              const std::int64_t at = offset;  // offset in the uncompressed stream
              offset += static_cast<std::int64_t>(line->size()) + 1;
              if (at < item.begin) continue;  // an earlier piece's line
              if (at >= item.end) return false;
              *line_offset = at;
              *line_number = reader.line_number();
              return true;
            }
          },
          true);
    } catch (const InputError& e) {
      if (offset < item.begin) return;  // the damage is in an earlier piece, which counts it
      // Rows before the damage are kept; the damage is counted and reported.
      CountBad(ctx, item.file, "corrupt_gzip", e.what());
      ctx.warnings->push_back(f.rel + ": " + e.what() + " (rows before the damage were kept)");
    }
    return;
  }
  header = FirstLine(path);
  header_ok = !header.empty() && ResolveTelemetryHeader(header, *ctx.format, &columns, &missing);
  if (!header_ok && item.begin == 0 && f.size > 0) {
    ctx.warnings->push_back(f.rel + ": telemetry header lacks column '" +
                            (missing.empty() ? ctx.format->timestamp_column : missing) +
                            "' (not a telemetry CSV?); every line is counted as a bad row (bad_header)");
  }
  RangeLineReader reader(path, item.begin, item.end, &ctx.read_buffer);
  std::int64_t line_number = 0;
  ParseLines(
      ctx, item.file, columns, header_ok,
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

// Fails early and clearly when the file system cannot hold what is about to
// be written (a write that fails halfway on a full disk is harder to report).
void RequireFreeSpace(const std::string& dir, std::int64_t bytes, const char* what) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return;  // cannot tell: let the writes report
  const auto available = static_cast<std::int64_t>(st.f_bavail) * static_cast<std::int64_t>(st.f_frsize);
  if (available < bytes) {
    throw Error(dir + ": not enough disk space for " + what + ": need " + std::to_string(bytes >> 20) + " MiB, " +
                std::to_string(available >> 20) + " MiB available (disk full?)");
  }
}

}  // namespace

namespace {

template <typename Record, typename Key>
void MergeByKey(std::vector<Record>* stored, const std::vector<Record>& fresh, Key key) {
  // Newer rows replace stored rows with the same key; order is first-seen.
  // Each key is made and hashed once, the index sized once (losses.csv:
  // 10^5 rows and more).
  std::unordered_map<std::string, std::size_t> index;
  index.reserve(stored->size() + fresh.size());
  for (std::size_t i = 0; i < stored->size(); ++i) index[key((*stored)[i])] = i;
  stored->reserve(stored->size() + fresh.size());
  for (const Record& r : fresh) {
    const auto [it, added] = index.try_emplace(key(r), stored->size());
    if (added) {
      stored->push_back(r);
    } else {
      (*stored)[it->second] = r;
    }
  }
}

void ReplaceQuality(store::Catalogue* c, const std::string& stage, const std::string& file,
                    const std::vector<BadRowCount>& fresh) {
  auto& q = c->quality;
  q.erase(std::remove_if(q.begin(), q.end(), [&](const BadRowCount& b) { return b.stage == stage && b.file == file; }),
          q.end());
  for (BadRowCount b : fresh) {
    b.stage = stage;
    b.file = file;
    q.push_back(b);
  }
}

// A file most of whose rows are bad is named (source_totals.h).
void WarnIfMostlyBad(const std::string& file, std::int64_t rows, const std::vector<BadRowCount>& counts,
                     std::vector<std::string>* warnings) {
  if (auto w = MostlyBadWarning(file, rows, counts)) warnings->push_back(std::move(*w));
}

// States after which an attempt's line no longer changes (Slurm's job
// states less the pending, running and transitional ones).
bool IsFinalState(std::string_view state) {
  static const std::unordered_set<std::string_view> kNotFinal = {
      "PENDING",    "RUNNING",     "REQUEUED",  "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING",    "SUSPENDED",
      "COMPLETING", "CONFIGURING", "SIGNALING", "STAGE_OUT",    "STOPPED",     "SPECIAL_EXIT"};
  const std::string_view word = state.substr(0, state.find(' '));  // "CANCELLED by 123"
  return !word.empty() && kNotFinal.count(word) == 0;
}

// sacct order: sorted relative path, then line.
bool ComesFirst(const JobRecord& a, const JobRecord& b) { return a.file != b.file ? a.file < b.file : a.line < b.line; }

// Of two lines of one attempt, whether `a` wins: a final state, then an End
// (not Unknown), then the latest End, then the earlier line. A total order,
// so the merged attempt does not depend on the order files are read in.
bool LineWins(const JobRecord& a, const JobRecord& b) {
  const bool a_final = IsFinalState(a.state.view()), b_final = IsFinalState(b.state.view());
  if (a_final != b_final) return a_final;
  if (a.end.has_value() != b.end.has_value()) return a.end.has_value();
  if (a.end && *a.end != *b.end) return *a.end > *b.end;
  return ComesFirst(a, b);
}

// An attempt is (JobID, Start): a requeued job's or a cron job's attempts
// each keep their row. A line without a Start (pending, or cancelled before
// it ran) is keyed by its JobID alone: all such lines of one JobID are one
// attempt, the line that never started.
bool SameAttempt(const JobRecord& a, const JobRecord& b) {
  return a.has_start == b.has_start && (!a.has_start || a.start == b.start) && a.job_id == b.job_id;
}

// The attempt's hash: the index of MergeAttempts keeps 8 bytes a key, not
// the key as a string (~100 bytes an allocation with its node, at millions
// of allocations on rank 0); equal hashes are told apart by SameAttempt.
std::uint64_t AttemptHash(const JobRecord& j) {
  const std::uint64_t id = std::hash<std::string_view>{}(j.job_id);
  const std::uint64_t start = j.has_start ? static_cast<std::uint64_t>(j.start) : 0x9e3779b97f4a7c15ULL;
  return id ^ (start * 0xff51afd7ed558ccdULL + (id << 6) + (id >> 2));
}

// Merges fresh sacct lines into the stored attempts: each attempt takes the
// winning line's fields and the position of its first line; the result is in
// sacct order. Rank 0 holds the facility's whole job history here, so the
// merge adds little to it: an 8-byte key a job, no second copy of the table
// when it grows into the room ReadCatalogue left (JobTable::kReadWithRoom),
// and no sort when the new lines come after the stored ones (a new month's
// file), which is the usual case.
void MergeAttempts(std::vector<JobRecord>* stored, const std::vector<JobRecord>& fresh) {
  std::unordered_multimap<std::uint64_t, std::size_t> index;
  index.reserve(stored->size() + fresh.size());
  for (std::size_t i = 0; i < stored->size(); ++i) index.emplace(AttemptHash((*stored)[i]), i);
  stored->reserve(stored->size() + fresh.size());  // a no-op within the room
  for (const JobRecord& line : fresh) {
    const std::uint64_t hash = AttemptHash(line);
    auto [it, end] = index.equal_range(hash);
    while (it != end && !SameAttempt((*stored)[it->second], line)) ++it;
    if (it == end) {
      index.emplace(hash, stored->size());
      stored->push_back(line);
      continue;
    }
    JobRecord& attempt = (*stored)[it->second];
    const JobRecord& first = ComesFirst(line, attempt) ? line : attempt;
    const Symbol file = first.file;
    const std::int64_t first_line = first.line;
    if (LineWins(line, attempt)) attempt = line;
    attempt.file = file;
    attempt.line = first_line;
  }
  // Stable: stores written before `file` and `line` were kept hold them
  // empty, and their rows keep the order they were stored in.
  if (!std::is_sorted(stored->begin(), stored->end(), ComesFirst)) {
    std::stable_sort(stored->begin(), stored->end(), ComesFirst);
  }
}

// A rewritten sacct file's old lines cannot be taken out of the merged
// attempts (an attempt holds the winner of every file's lines), so when one
// was rewritten, the jobs are emptied and every sacct file is parsed again
// (into `changed`); files that are only new merge into the stored jobs.
void PlanSacctReparse(const std::vector<InputFile>& all_files, const std::map<std::string, store::ManifestEntry>& known,
                      std::vector<InputFile>* changed, store::Catalogue* c) {
  bool rewritten = false;
  std::set<std::string> listed;
  for (const auto& f : *changed) {
    listed.insert(f.rel);
    rewritten = rewritten || (f.kind == "sacct" && known.count(f.rel) > 0);
  }
  if (!rewritten) return;
  c->jobs.clear();
  for (const auto& f : all_files) {
    if (f.kind == "sacct" && listed.count(f.rel) == 0) changed->push_back(f);
  }
}

// Parses the new or changed small tables into the catalogue (rank 0 only);
// warnings about whole files go to *warnings.
void IngestSmallTables(const Config& config, const fs::path& root, const std::vector<InputFile>& changed,
                       store::Catalogue* c, std::vector<std::string>* warnings) {
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
      WarnIfMostlyBad(f.rel, parsed.rows, parsed.bad_rows, warnings);
    } else if (f.kind == "datasets") {
      auto parsed = ParseDatasetsFile(path);
      MergeByKey(&c->datasets, parsed.records, [](const DatasetRecord& d) { return d.name; });
      ReplaceQuality(c, "datasets", f.rel, parsed.bad_rows);
      WarnIfMostlyBad(f.rel, parsed.rows, parsed.bad_rows, warnings);
    } else if (f.kind == "runs") {
      auto parsed = ParseRunsFile(path);
      // Rows without a run_id cannot be merged by key: key them by line.
      MergeByKey(&c->runs, parsed.records,
                 [](const RunRecord& r) { return r.run_id.empty() ? "#line" + std::to_string(r.line) : r.run_id; });
      ReplaceQuality(c, "runs", f.rel, parsed.bad_rows);
      WarnIfMostlyBad(f.rel, parsed.rows, parsed.bad_rows, warnings);
      for (const auto& w : parsed.warnings) {  // named by the relative path, as the manifest names it
        warnings->push_back(w.rfind(path, 0) == 0 ? f.rel + w.substr(path.size()) : w);
      }
    } else if (f.kind == "sacct") {
      auto parsed = ParseSacctFile(path, sacct_policy, f.rel);
      MergeAttempts(&c->jobs, parsed.records);
      ReplaceQuality(c, "sacct", f.rel, parsed.bad_rows);
      WarnIfMostlyBad(f.rel, parsed.rows, parsed.bad_rows, warnings);
      warnings->insert(warnings->end(), parsed.warnings.begin(), parsed.warnings.end());
    } else if (f.kind == "carbon_intensity") {
      auto parsed = ParseCarbonIntensityFile(path);
      c->carbon_intensity = std::move(parsed.records);  // one file: a changed one replaces it
      ReplaceQuality(c, "carbon_intensity", f.rel, parsed.bad_rows);
      WarnIfMostlyBad(f.rel, parsed.rows, parsed.bad_rows, warnings);
    } else if (f.kind == "losses") {
      auto parsed = ParseLossesFile(path);
      MergeByKey(&c->losses, parsed.records,
                 [](const LossRecord& l) { return l.experiment_id + "\t" + std::to_string(l.epoch); });
      ReplaceQuality(c, "losses", f.rel, parsed.bad_rows);
      WarnIfMostlyBad(f.rel, parsed.rows, parsed.bad_rows, warnings);
    }
  }
  // Types are re-matched with the current config, so a config fix applies
  // without re-ingesting nodes.csv.
  for (NodeRecord& n : c->nodes) {
    const NodeTypeConfig* t = config.facility.MatchSignature({n.cpus, n.memory_mb, n.tmp_disk_mb, n.gres});
    n.node_type = t ? t->name : std::string();
  }
}

// Console warnings about the node inventory (the rows are counted by the
// parser; this names the nodes): a node listed with two signatures that
// match different types, and nodes whose signature matches no type (their
// runs become unknown_node). A light re-read of the (small) file.
void NodeInventoryWarnings(const Config& config, const fs::path& root, const InputFile& f,
                           std::vector<std::string>* warnings) {
  LineReader reader((root / f.rel).string());
  std::string_view line;
  std::vector<std::string_view> fields;
  std::string storage;
  if (!reader.Next(&line) || !SplitCsvLine(line, ',', &fields, &storage)) return;
  const CsvHeader header(fields);
  const int c_host = header.Find("HOSTNAMES"), c_cpus = header.Find("CPUS"), c_mem = header.Find("MEMORY"),
            c_disk = header.Find("TMP_DISK"), c_gres = header.Find("GRES");
  if (c_host < 0 || c_cpus < 0 || c_mem < 0 || c_disk < 0 || c_gres < 0) return;  // the parser reports it
  std::map<std::string, std::string> type_of;                                     // node -> first type ("" if none)
  std::vector<std::string> untyped, two_types;
  while (reader.Next(&line)) {
    if (!SplitCsvLine(line, ',', &fields, &storage) || fields.size() != header.size()) continue;
    NodeSignature sig;
    if (!ParseInt64(Trim(fields[c_cpus]), &sig.cpus) || !ParseInt64(Trim(fields[c_mem]), &sig.memory_mb) ||
        !ParseInt64(Trim(fields[c_disk]), &sig.tmp_disk_mb)) {
      continue;
    }
    sig.gres = std::string(Trim(fields[c_gres]));
    const NodeTypeConfig* t = config.facility.MatchSignature(sig);
    const std::string type = t ? t->name : std::string();
    std::vector<std::string> names;
    try {
      names = ExpandHostlist(fields[c_host]);
    } catch (const Error&) {
      continue;
    }
    for (const auto& name : names) {
      const auto [it, fresh] = type_of.emplace(name, type);
      if (fresh && type.empty())
        untyped.push_back(name + " (cpus " + std::to_string(sig.cpus) + ", memory " + std::to_string(sig.memory_mb) +
                          " MB, tmp disk " + std::to_string(sig.tmp_disk_mb) + " MB, gres " + sig.gres + ")");
      if (!fresh && it->second != type) {
        two_types.push_back(name + " as " + (it->second.empty() ? "no type" : it->second) + " and as " +
                            (type.empty() ? "no type" : type) + " (line " + std::to_string(reader.line_number()) +
                            "; the first is kept)");
      }
    }
  }
  auto list = [](const std::vector<std::string>& items) {
    std::string out;
    for (std::size_t i = 0; i < items.size() && i < 5; ++i) out += (i ? "; " : "") + items[i];
    if (items.size() > 5) out += "; and " + std::to_string(items.size() - 5) + " more";
    return out;
  };
  if (!two_types.empty()) {
    warnings->push_back(f.rel + ": " + std::to_string(two_types.size()) +
                        " node(s) listed with two types: " + list(two_types));
  }
  if (!untyped.empty()) {
    warnings->push_back(f.rel + ": " + std::to_string(untyped.size()) +
                        " node(s) match no node type of the config (their runs are unknown_node): " + list(untyped));
  }
}

std::string SerializeFiles(const std::vector<InputFile>& files) {
  ByteWriter w;
  w.Put<std::uint64_t>(files.size());
  for (const auto& f : files) {
    w.PutString(f.rel);
    w.Put(f.size);
    w.Put<std::uint8_t>(f.gzip ? 1 : 0);
    w.Put(f.text_bytes);
  }
  return std::string(w.bytes().begin(), w.bytes().end());
}

std::vector<InputFile> DeserializeFiles(const std::string& bytes) {
  ByteReader r(bytes.data(), bytes.size());
  std::vector<InputFile> files(r.Get<std::uint64_t>());
  for (InputFile& f : files) {
    f.rel = r.GetString();
    f.size = r.Get<decltype(f.size)>();
    f.gzip = r.Get<std::uint8_t>() != 0;
    f.text_bytes = r.Get<decltype(f.text_bytes)>();
    f.kind = "telemetry";
  }
  return files;
}

std::string JoinLines(const std::vector<std::string>& names) {
  ByteWriter w;
  w.Put<std::uint64_t>(names.size());
  for (const auto& n : names) w.PutString(n);
  return std::string(w.bytes().begin(), w.bytes().end());
}

std::vector<std::string> SplitLines(const std::string& bytes) {
  ByteReader r(bytes.data(), bytes.size());
  std::vector<std::string> out(r.Get<std::uint64_t>());
  for (auto& n : out) n = r.GetString();
  return out;
}

// A gzip file whose parse alone is more than a rank's fair share of the work
// (its text by the trailer's estimate, plus a third for inflating, against
// all files' over the ranks) in up to min(ranks, kMaxGzipPieces) pieces of
// more than split_bytes of text, so that its lines are not all parsed by one
// rank while the others wait. Below that share the ranks balance it with the
// other files, and a piece's inflating of the text before it would be waste.
void AddGzipItems(std::uint32_t file, const InputFile& f, std::int64_t split_bytes, int ranks, std::int64_t fair_share,
                  std::vector<WorkItem>* items) {
  if (f.text_bytes + f.text_bytes / 3 <= fair_share) {
    items->push_back({file, 0, kGzipTextEnd});
    return;
  }
  const std::int64_t wanted = (f.text_bytes + split_bytes - 1) / std::max<std::int64_t>(split_bytes, 1);
  const std::int64_t pieces = std::clamp<std::int64_t>(std::min<std::int64_t>(wanted, ranks), 1, kMaxGzipPieces);
  const std::int64_t piece_bytes = (f.text_bytes + pieces - 1) / pieces;
  for (std::int64_t k = 0; k < pieces; ++k) {
    items->push_back({file, k * piece_bytes, k + 1 == pieces ? kGzipTextEnd : (k + 1) * piece_bytes});
  }
}

std::vector<WorkItem> MakeWorkItems(const std::vector<InputFile>& files, std::int64_t split_bytes, int ranks) {
  std::int64_t total = 0;
  for (const InputFile& f : files) total += f.gzip ? f.text_bytes + f.text_bytes / 3 : f.size;
  const std::int64_t fair_share = total / std::max(ranks, 1);
  std::vector<WorkItem> items;
  for (std::uint32_t i = 0; i < files.size(); ++i) {
    const InputFile& f = files[i];
    if (f.gzip) {
      AddGzipItems(i, f, split_bytes, ranks, fair_share, &items);
      continue;
    }
    if (f.size <= split_bytes) {
      items.push_back({i, 0, f.size});
      continue;
    }
    for (std::int64_t b = 0; b < f.size; b += split_bytes) items.push_back({i, b, std::min(f.size, b + split_bytes)});
  }
  return items;
}

// The bytes of text a work item parses, plus for a gzip piece a third of the
// text it inflates (all of it up to its end).
std::int64_t ItemCost(const WorkItem& w, const InputFile& f) {
  if (!f.gzip) return w.end - w.begin;
  const std::int64_t end = std::min(w.end, std::max(f.text_bytes, w.begin));
  return end - w.begin + end / 3;
}

// The compressed bytes of a work item (its share of a gzip file, the pieces'
// shares adding up to the file's size): progress.
std::int64_t ItemFileBytes(const WorkItem& w, const InputFile& f) {
  if (!f.gzip) return w.end - w.begin;
  if (f.text_bytes <= 0) return w.begin == 0 ? f.size : 0;
  auto file_bytes_before = [&](std::int64_t text_offset) {
    if (text_offset >= f.text_bytes) return f.size;
    return static_cast<std::int64_t>(static_cast<double>(text_offset) / static_cast<double>(f.text_bytes) *
                                     static_cast<double>(f.size));
  };
  return file_bytes_before(w.end) - file_bytes_before(w.begin);
}

// Longest-processing-time assignment by the bytes of text to parse (a gzip
// file's uncompressed size, plus a third for inflating it), rank 0 starting
// with `root_load` (the small tables its thread parses meanwhile): the same
// on every rank, so no communication is needed.
std::vector<std::vector<WorkItem>> AssignItems(const std::vector<WorkItem>& items, const std::vector<InputFile>& files,
                                               int ranks, std::int64_t root_load) {
  std::vector<std::size_t> order(items.size());
  std::iota(order.begin(), order.end(), 0);
  auto cost = [&](const WorkItem& w) { return ItemCost(w, files[w.file]); };
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return cost(items[a]) > cost(items[b]); });
  std::vector<std::vector<WorkItem>> per_rank(static_cast<std::size_t>(ranks));
  std::vector<std::int64_t> load(static_cast<std::size_t>(ranks), 0);
  if (ranks > 1) load[0] = root_load;
  for (std::size_t i : order) {
    const auto r = static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    per_rank[r].push_back(items[i]);
    load[r] += cost(items[i]);
  }
  // Each rank parses its items in file order: a node's chunks then hold its
  // rows in time order (files are written in time order), and sorting a
  // node after the exchange moves nothing.
  for (auto& mine : per_rank) {
    std::sort(mine.begin(), mine.end(), [](const WorkItem& a, const WorkItem& b) {
      return a.file != b.file ? a.file < b.file : a.begin < b.begin;
    });
  }
  return per_rank;
}

// Contiguous node ranges, one per rank, balanced by readings: rank r owns
// nodes [first[r], first[r + 1]). Rank order is node order, so the ranks'
// slices of the batch follow each other.
std::vector<std::uint32_t> OwnerRanges(const std::vector<std::int64_t>& readings_per_node, int ranks) {
  const auto n_nodes = static_cast<std::uint32_t>(readings_per_node.size());
  const std::int64_t total = std::accumulate(readings_per_node.begin(), readings_per_node.end(), std::int64_t{0});
  std::vector<std::uint32_t> first(static_cast<std::size_t>(ranks) + 1, n_nodes);
  first[0] = 0;
  std::int64_t cum = 0;
  int r = 1;
  for (std::uint32_t n = 0; n < n_nodes && r < ranks; ++n) {
    cum += readings_per_node[n];
    while (r < ranks && cum * ranks >= total * r) first[static_cast<std::size_t>(r++)] = n + 1;
  }
  return first;
}

// A chunk on the wire: this header, then its two arrays as the chunk holds
// them (ChunkPool::TakeRaw): `count` times then `count` watts, int32 ms
// offsets and int32 watts for a narrow chunk, int64 µs and float64 for a
// wide one.
struct WireChunk {
  std::uint64_t order;
  std::uint32_t node;
  std::uint32_t count;
  std::uint32_t ambiguous;
  std::uint32_t narrow;
  TimeUs base;  // a narrow chunk's
};
static_assert(sizeof(WireChunk) % 8 == 0);

// Bytes in flight per round and rank, whatever the number of ranks: the
// send and receive buffers are touched once (huge pages, not zeroed) and
// reused, so rounds cost a few collectives each, not fresh memory.
constexpr std::size_t kExchangeRoundBytes = std::size_t{4} << 20;

// Where the exchange has got to towards one destination rank: its nodes
// still to send, [node, end), and the next chunk of `node`.
struct ExchangeCursor {
  std::uint32_t node;
  std::uint32_t end;
  std::size_t ref = 0;
};

// Packs the chunks owed to one destination, from its cursor on, into
// `base` (at most `per_dest` bytes), each chunk freed as it is taken and
// each node's list once it is sent whole; returns the bytes packed.
std::size_t PackChunks(NodeStreams* streams, ExchangeCursor* c, char* base, std::size_t per_dest) {
  std::size_t at = 0;
  while (c->node < c->end) {
    std::vector<ChunkRef>& refs = streams->refs(c->node);
    if (c->ref == refs.size()) {
      std::vector<ChunkRef>().swap(refs);
      ++c->node;
      c->ref = 0;
      continue;
    }
    ChunkRef& ref = refs[c->ref];
    const std::size_t bytes = sizeof(WireChunk) + ChunkPool::RawBytes(ref);
    if (at + bytes > per_dest) break;
    const WireChunk header{ref.order, c->node, ref.count, ref.ambiguous ? 1u : 0u, ref.narrow ? 1u : 0u, ref.base};
    std::memcpy(base + at, &header, sizeof header);
    streams->pool().TakeRaw(&ref, base + at + sizeof header);
    at += bytes;
    ++c->ref;
  }
  return at;
}

// Stores the chunks of one round's receive buffer (`total` bytes of wire
// chunks) in their nodes' streams.
void UnpackChunks(NodeStreams* streams, const char* data, std::size_t total) {
  for (std::size_t at = 0; at < total;) {
    WireChunk header;
    std::memcpy(&header, data + at, sizeof header);
    const char* arrays = data + at + sizeof header;
    if (header.narrow != 0) {
      streams->AppendNarrowChunk(header.node, header.order, header.ambiguous != 0, header.count, header.base, arrays);
      at += sizeof header + 8 * std::size_t{header.count};
      continue;
    }
    const auto* time = reinterpret_cast<const TimeUs*>(arrays);
    streams->AppendChunk(header.node, header.order, header.ambiguous != 0, header.count, time,
                         reinterpret_cast<const double*>(time + header.count));
    at += sizeof header + 16 * std::size_t{header.count};
  }
}

// Moves every chunk of a node this rank does not own to the node's owner.
// Rounds of a fixed size keep the memory in flight constant; chunks sent
// are freed before the received ones are stored, so received readings
// reuse the pool's memory instead of touching new pages. Each reading
// crosses the network once. A failure on one rank (a spill file that
// cannot be written) does not leave the others waiting: the rank goes on
// joining rounds with nothing to send, all stop together, and the failure
// is rethrown (RunCollectively around the call makes it everyone's).
void ExchangeChunks(NodeStreams* streams, const std::vector<std::uint32_t>& first_node, const Comm& comm) {
  const auto ranks = static_cast<std::size_t>(comm.size());
  const auto me = static_cast<std::size_t>(comm.rank());
  constexpr std::size_t kMaxWire = sizeof(WireChunk) + sizeof(ReadingChunk);
  const std::size_t per_dest = std::max(kExchangeRoundBytes / ranks / 8 * 8, kMaxWire);
  std::vector<ExchangeCursor> cursors;
  for (std::size_t d = 0; d < ranks; ++d) {
    cursors.push_back(d == me ? ExchangeCursor{first_node[d + 1], first_node[d + 1]}
                              : ExchangeCursor{first_node[d], first_node[d + 1]});
  }
  HugeVector<char> send(ranks * per_dest), recv;
  std::vector<int> send_bytes(ranks), send_displs(ranks), recv_bytes(ranks), recv_displs(ranks);
  for (std::size_t d = 0; d < ranks; ++d) send_displs[d] = static_cast<int>(d * per_dest);
  std::exception_ptr failure;
  for (;;) {
    bool more = false;
    std::fill(send_bytes.begin(), send_bytes.end(), 0);
    if (!failure) {
      try {
        for (std::size_t d = 0; d < ranks; ++d) {
          send_bytes[d] = static_cast<int>(PackChunks(streams, &cursors[d], send.data() + d * per_dest, per_dest));
          more = more || cursors[d].node < cursors[d].end;
        }
      } catch (...) {
        failure = std::current_exception();
        std::fill(send_bytes.begin(), send_bytes.end(), 0);
      }
    }
    CheckMpi(MPI_Alltoall(send_bytes.data(), 1, MPI_INT, recv_bytes.data(), 1, MPI_INT, comm.get()), "MPI_Alltoall");
    std::size_t total = 0;
    for (std::size_t s = 0; s < ranks; ++s) {
      recv_displs[s] = static_cast<int>(total);
      total += static_cast<std::size_t>(recv_bytes[s]);
    }
    if (recv.size() < total) recv.resize(total);
    CheckMpi(MPI_Alltoallv(send.data(), send_bytes.data(), send_displs.data(), MPI_BYTE, recv.data(), recv_bytes.data(),
                           recv_displs.data(), MPI_BYTE, comm.get()),
             "MPI_Alltoallv");
    if (!failure) {
      try {
        UnpackChunks(streams, recv.data(), total);
      } catch (...) {
        failure = std::current_exception();
      }
    }
    if (comm.AllMax(failure ? 2 : more ? 1 : 0) != 1) break;
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace

namespace {

std::string WriterTmpDir(const std::string& store_path, const std::string& tag) {
  return store::BatchDirectory(store_path) + "/ingest-tmp." + tag;
}

bool StartsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// Temporary files of writers that were killed (the lock holder calls this:
// no other writer is at work): spill directories, unfinished batches and
// catalogues, under their old fixed names too.
void RemoveLeftovers(const std::string& store_path) {
  std::error_code ec;
  const fs::path batch_dir = store::BatchDirectory(store_path);
  for (const auto& e : fs::directory_iterator(batch_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (StartsWith(name, "ingest-tmp") || (StartsWith(name, "batch_") && name.find(".h5.tmp") != std::string::npos)) {
      fs::remove_all(e.path(), ec);
    }
  }
  const fs::path store = fs::absolute(store_path);
  const std::string prefix = store.filename().string() + ".tmp";
  for (const auto& e : fs::directory_iterator(store.parent_path(), ec)) {
    if (StartsWith(e.path().filename().string(), prefix)) fs::remove(e.path(), ec);
  }
}

// This writer's temporary files, after a failure.
void RemoveWriterTemporaries(const std::string& store_path, const std::string& tag) {
  std::error_code ec;
  fs::remove_all(WriterTmpDir(store_path, tag), ec);
  for (const auto& e : fs::directory_iterator(store::BatchDirectory(store_path), ec)) {
    if (EndsWith(e.path().filename().string(), ".tmp." + tag)) fs::remove(e.path(), ec);
  }
  fs::remove(store_path + ".tmp." + tag, ec);
}

std::uint64_t Fnv1a(std::string_view bytes, std::uint64_t h = 1469598103934665603ULL) {
  for (const unsigned char c : bytes) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// Of a file's first 4 KiB (its header and first rows: they differ between
// facilities even where the file names are the same).
std::uint64_t HeadHash(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::string head(4096, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  return Fnv1a(head);
}

std::uint64_t InventoryHash(const std::vector<NodeRecord>& nodes) {
  std::vector<std::string> names;
  names.reserve(nodes.size());
  for (const auto& n : nodes) names.push_back(n.name);
  std::sort(names.begin(), names.end());
  std::uint64_t h = Fnv1a("");
  for (const auto& n : names) h = Fnv1a(n + "\n", h);
  return h;
}

// Records which facility the store is made from, at its first ingest with
// telemetry; later, refuses input from another facility unless allowed:
// the first telemetry file ingested is there with other contents, or the
// new nodes.csv brings mostly nodes the store does not know, and it comes
// from another directory. A moved facility directory (same fingerprint) is
// fine; a changed fingerprint in the same directory is a rewrite, warned.
void CheckFacility(const IngestOptions& options, const fs::path& root, const std::vector<InputFile>& all_files,
                   std::size_t nodes_before, store::Catalogue* c, std::vector<std::string>* warnings) {
  const std::string abs_root = fs::absolute(root).lexically_normal().string();
  store::FacilityFingerprint& fp = c->fingerprint;
  if (fp.empty()) {
    for (const InputFile& f : all_files) {
      if (f.kind != "telemetry") continue;
      fp = {abs_root, f.rel, HeadHash(root / f.rel), InventoryHash(c->nodes)};
      break;
    }
    return;
  }
  std::string differs;
  const fs::path first = root / fp.first_telemetry_file;
  const std::size_t nodes_added = c->nodes.size() - nodes_before;
  if (fs::is_regular_file(first) && HeadHash(first) != fp.first_telemetry_hash) {
    differs = "its " + fp.first_telemetry_file + " is not the file of that name first ingested";
  } else if (nodes_before > 0 && nodes_added * 2 > nodes_before) {
    differs = "its nodes.csv lists " + std::to_string(nodes_added) + " nodes the store does not know (it knew " +
              std::to_string(nodes_before) + ")";
  }
  if (!differs.empty() && abs_root == fp.input_root) {
    // The same directory: its files were rewritten (the rows that conflict
    // with the store are warned about), not another facility.
    warnings->push_back("the facility at " + abs_root + " changed since the store was made from it (" + differs + ")");
    return;
  }
  if (differs.empty()) {
    if (abs_root != fp.input_root) {
      warnings->push_back("the store was made from " + fp.input_root + ", now ingesting " + abs_root +
                          ": the same facility (its first telemetry file matches)");
    }
    return;
  }
  const std::string what = options.store_path + " was made from the facility at " + fp.input_root + ", and " +
                           abs_root + " is another facility (" + differs + ")";
  if (options.allow_other_input) {
    warnings->push_back(what + "; ingested anyway (--allow-other-input)");
    return;
  }
  throw Error(what + "; not merged: use another store, or --allow-other-input to ingest it into this one anyway");
}

// New telemetry whose rows mostly conflict with readings already stored
// (another facility's files, or files rewritten with other values) is
// named: the stored values are kept. Dedup counts a node's conflicts
// against the first new file of that node, so the files are named by those
// counts, largest first.
void WarnConflictingRows(const std::vector<InputFile>& files, std::int64_t rows_read, const Counts& counts,
                         std::vector<std::string>* warnings) {
  std::int64_t conflicts = 0;
  std::vector<std::pair<std::int64_t, std::string>> by_file;
  for (const auto& [key, value] : counts) {
    if (key.reason != "conflict_with_stored" || key.file >= files.size()) continue;
    conflicts += value.count;
    by_file.push_back({value.count, files[key.file].rel});
  }
  if (rows_read < 10 || conflicts * 2 <= rows_read) return;
  std::sort(by_file.rbegin(), by_file.rend());
  std::string named;
  for (std::size_t i = 0; i < by_file.size() && i < 3; ++i) named += (i ? ", " : "") + by_file[i].second;
  warnings->push_back(std::to_string(conflicts) + " of the " + std::to_string(rows_read) +
                      " new telemetry rows conflict with readings already in the store (the stored values are kept; "
                      "mostly in " +
                      named + "): another facility's files, or rewritten ones?");
}

// Bytes of rank 0's memory a byte of a changed small table takes while it
// is parsed and merged (measured at scale 1: a month's 57 MB of sacct text,
// its steps' lines included, took 72 MB beside the catalogue).
constexpr std::int64_t kSmallTableHeldPerByte = 2;

// What the phases of one ingest hand on to the next. Rank 0 alone holds
// the catalogue and the full file list; the rest is the same on every
// rank once phase A has broadcast it.
struct IngestState {
  fs::path root;  // the facility directory
  std::string store_path;
  std::string batch_dir;             // STORE.h5.d
  std::string tmp_dir;               // this writer's spill directory
  std::string tag;                   // unique to this writer, in every temporary file's name
  store::Catalogue catalogue;        // rank 0
  std::vector<InputFile> all_files;  // rank 0
  std::vector<InputFile> new_telemetry;
  std::vector<std::string> node_names;  // sorted, unique
  std::int64_t next_batch = 0;
  std::int64_t small_table_bytes = 0;  // of the changed small tables but nodes.csv
  std::int64_t catalogue_bytes = 0;    // rank 0: its catalogue's memory once the small tables are in (estimated)
  Counts counts;  // telemetry rows dropped, by (file, reason): this rank's, after phase D all on rank 0
  std::vector<std::int64_t> telemetry_file_rows;       // rows of each new telemetry file, all ranks
  std::map<std::string, std::int64_t> new_file_batch;  // new telemetry file -> its batch
  std::int64_t spilled_bytes = 0;                      // this rank's
  store::EncodingScan batch_scan;                      // this rank's readings of the new batch
  std::vector<std::string> small_table_warnings;       // written by the small tables' thread only
  // facility.telemetry.source: prometheus: the units to fetch (one a
  // "file" of new_telemetry), and each node's first instant wanted.
  std::vector<PrometheusUnit> prometheus_units;
  std::vector<TimeUs> first_wanted;
  // Last, so destroyed first: waits for the thread that writes the
  // catalogue and small_table_warnings.
  std::future<void> small_tables;  // rank 0: the small tables but nodes.csv
};

// The changed small tables: nodes.csv now (the telemetry needs the node
// names), the others in a thread while the ranks parse telemetry.
struct ChangedTables {
  std::vector<InputFile> nodes;
  std::vector<InputFile> other;
};

// A grown telemetry file was appended to; one that is not was rewritten.
std::string RewrittenWarning(const InputFile& f, std::int64_t stored_size) {
  return f.rel +
         (f.size < stored_size ? ": shrank since it was ingested (" + std::to_string(stored_size) + " -> " +
                                     std::to_string(f.size) + " bytes)"
                               : ": rewritten since it was ingested (same size, new mtime)") +
         "; parsed again, and readings already stored from it keep their stored values";
}

// With the Prometheus source, files under telemetry/ are not read (they are
// not in the manifest either, so a later run from files reads them).
void DropTelemetryFiles(IngestState* s, IngestSummary* summary) {
  const auto telemetry = std::remove_if(s->all_files.begin(), s->all_files.end(),
                                        [](const InputFile& f) { return f.kind == "telemetry"; });
  const auto dropped = std::distance(telemetry, s->all_files.end());
  s->all_files.erase(telemetry, s->all_files.end());
  if (dropped > 0) {
    summary->warnings.push_back(std::to_string(dropped) +
                                " files under telemetry/ ignored: facility.telemetry.source is prometheus");
  }
}

// Phase A on rank 0: the inputs listed and held against the catalogue's
// manifest. Unchanged files are counted and skipped; the changed ones are
// new telemetry or changed small tables.
ChangedTables PlanInputs(const Config& config, IngestState* s, IngestSummary* summary) {
  std::vector<BadRowCount> unreadable_links;
  s->all_files = ListInputs(s->root, &summary->warnings, &unreadable_links);
  if (config.facility.telemetry_source == TelemetrySource::kPrometheus) DropTelemetryFiles(s, summary);
  store::Catalogue& catalogue = s->catalogue;
  if (fs::exists(s->store_path)) catalogue = store::ReadCatalogue(s->store_path, store::JobTable::kReadWithRoom);
  for (const BadRowCount& b : unreadable_links) {
    ReplaceQuality(&catalogue, b.stage, b.file, {b});
  }
  store::CheckZones(catalogue, config, s->store_path);  // one store, one reading of its times
  catalogue.config_facility = config.facility.name;
  catalogue.ingested_config = store::IngestedConfig::Of(config);
  std::map<std::string, store::ManifestEntry> known;
  for (const auto& m : catalogue.manifest) known[m.path] = m;
  ChangedTables changed;
  for (const auto& f : s->all_files) {
    const auto it = known.find(f.rel);
    const bool unchanged = it != known.end() && it->second.size == f.size && it->second.mtime_ns == f.mtime_ns;
    if (unchanged) {
      ++summary->files_unchanged;
      continue;
    }
    if (it != known.end() && f.kind == "telemetry" && f.size <= it->second.size) {
      summary->warnings.push_back(RewrittenWarning(f, it->second.size));
    }
    ++summary->files_new;
    if (f.kind == "telemetry") {
      s->new_telemetry.push_back(f);
    } else {
      (f.kind == "nodes" ? changed.nodes : changed.other).push_back(f);
    }
  }
  PlanSacctReparse(s->all_files, known, &changed.other, &catalogue);
  return changed;
}

// nodes.csv, runs.csv and datasets.csv: in the store already, or listed now.
void RequireTables(const fs::path& root, const std::vector<InputFile>& all_files, const store::Catalogue& catalogue) {
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
}

// Phase A, rank 0: list and plan the inputs, load the catalogue, parse
// nodes.csv, and start the other small tables in a thread.
void PlanOnRoot(const Config& config, const IngestOptions& options, IngestState* s, IngestSummary* summary) {
  ChangedTables changed = PlanInputs(config, s, summary);
  store::Catalogue& catalogue = s->catalogue;
  const std::size_t nodes_before = catalogue.nodes.size();
  IngestSmallTables(config, s->root, changed.nodes, &catalogue, &summary->warnings);
  CheckFacility(options, s->root, s->all_files, nodes_before, &catalogue, &summary->warnings);
  for (const auto& f : changed.nodes) NodeInventoryWarnings(config, s->root, f, &summary->warnings);
  RequireTables(s->root, s->all_files, catalogue);
  for (const auto& n : catalogue.nodes) s->node_names.push_back(n.name);
  std::sort(s->node_names.begin(), s->node_names.end());
  s->node_names.erase(std::unique(s->node_names.begin(), s->node_names.end()), s->node_names.end());
  RemoveLeftovers(s->store_path);  // of interrupted ingests: the lock says no other writer is at work
  if (!s->new_telemetry.empty()) fs::create_directories(s->tmp_dir);
  s->next_batch = static_cast<std::int64_t>(catalogue.batch_files.size()) + 1;
  for (const auto& f : changed.other) s->small_table_bytes += f.size;
  s->catalogue_bytes = store::HeldBytes(catalogue) + kSmallTableHeldPerByte * s->small_table_bytes;
  // Until it is joined, only this thread touches the catalogue's tables
  // (it uses no MPI and no HDF5).
  s->small_tables = std::async(std::launch::async, [&config, s, other = std::move(changed.other)] {
    IngestSmallTables(config, s->root, other, &s->catalogue, &s->small_table_warnings);
  });
}

// Phase A: planned on rank 0, the plan (new telemetry, node names, next
// batch) to every rank.
void PlanIngest(const Config& config, const IngestOptions& options, const Comm& comm, IngestState* s,
                IngestSummary* summary) {
  RunCollectively(comm, [&] {
    if (comm.is_root()) PlanOnRoot(config, options, s, summary);
  });
  s->new_telemetry = DeserializeFiles(comm.BroadcastString(SerializeFiles(s->new_telemetry)));
  s->node_names = SplitLines(comm.BroadcastString(JoinLines(s->node_names)));
  summary->telemetry_files_new = static_cast<std::int64_t>(s->new_telemetry.size());
  summary->files_new = comm.AllSum(summary->files_new);  // only rank 0 counted
  summary->files_unchanged = comm.AllSum(summary->files_unchanged);
  std::vector<std::int64_t> b{s->next_batch, s->small_table_bytes};
  comm.Broadcast(&b);
  s->next_batch = b[0];
  s->small_table_bytes = b[1];
}

// Rank 0: the small tables' thread joined (its errors thrown), and the
// strict check on what it found. Once joined, a no-op.
void JoinSmallTables(const Config& config, const Comm& comm, IngestState* s, IngestSummary* summary) {
  RunCollectively(comm, [&] {
    if (!s->small_tables.valid()) return;
    s->small_tables.get();
    summary->warnings.insert(summary->warnings.end(), s->small_table_warnings.begin(), s->small_table_warnings.end());
    if (!config.pipeline.strict) return;
    for (const auto& q : s->catalogue.quality) {
      if (q.stage != "telemetry" && q.count > 0) {
        throw Error(q.file + ": " + std::to_string(q.count) + " bad rows (" + q.reason +
                    "), and pipeline.strict is set");
      }
    }
  });
}

// A unit as the "file" its rows are counted by in quality.csv.
InputFile UnitAsFile(const PrometheusConfig& p, const std::vector<std::string>& nodes, const PrometheusUnit& u,
                     double sampling_interval_s) {
  InputFile f;
  f.rel = "prometheus:" + p.metric + "{" + p.node_label + "=" + nodes[u.first_node] +
          (u.last_node - u.first_node > 1 ? ".." + nodes[u.last_node - 1] : "") + "}(" + FormatUtcIso(u.after) + "," +
          FormatUtcIso(u.until) + "]";
  f.kind = "telemetry";
  const auto span_ms = static_cast<double>(EpochMsFromInstant(u.until) - EpochMsFromInstant(u.after));
  const double samples = static_cast<double>(u.last_node - u.first_node) * span_ms / (sampling_interval_s * 1000);
  f.size = f.text_bytes = static_cast<std::int64_t>(samples * 30);  // ~30 bytes of JSON a sample
  return f;
}

// With the Prometheus source: each node's first wanted instant (the
// window's start, or after its last stored reading), the units that fetch
// them, as the new telemetry "files"; the same on every rank.
void PlanPrometheus(const Config& config, const Comm& comm, IngestState* s, IngestSummary* summary) {
  // Sample counts per unit keep a response to a few MB; node sets keep the query short.
  constexpr std::size_t kNodesPerSet = 64;
  constexpr std::int64_t kSamplesPerUnit = 100000;
  const PrometheusConfig& p = config.facility.prometheus;
  if (!p.start || !p.end) JoinSmallTables(config, comm, s, summary);  // the window's defaults are in sacct
  std::vector<TimeUs> plan;                                           // end, then each node's first wanted instant
  RunCollectively(comm, [&] {
    if (!comm.is_root()) return;
    const TimeUs now = InstantFromEpochMs(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
    const auto [start, end] = PrometheusWindow(p, s->catalogue.jobs, now);
    plan.push_back(end);
    std::unique_ptr<store::TelemetryReader> stored;
    if (s->next_batch > 1) stored = std::make_unique<store::TelemetryReader>(s->store_path);
    for (const auto& name : s->node_names) {
      const std::int64_t node = stored ? stored->FindNode(name) : -1;
      const bool any = node >= 0 && stored->ReadingCount(static_cast<std::size_t>(node)) > 0;
      plan.push_back(any ? std::max(start, stored->TimeSpan(static_cast<std::size_t>(node)).second + 1) : start);
    }
  });
  comm.Broadcast(&plan);
  s->first_wanted.assign(plan.begin() + 1, plan.end());
  s->prometheus_units =
      PlanPrometheusUnits(s->first_wanted, plan[0], config.facility.sampling_interval_s, kNodesPerSet, kSamplesPerUnit);
  for (const PrometheusUnit& u : s->prometheus_units) {
    s->new_telemetry.push_back(UnitAsFile(p, s->node_names, u, config.facility.sampling_interval_s));
  }
  summary->telemetry_files_new = static_cast<std::int64_t>(s->new_telemetry.size());
  RunCollectively(comm, [&] {
    if (comm.is_root() && !s->new_telemetry.empty()) fs::create_directories(s->tmp_dir);
  });
}

// The readings' chunk pool: the budget but for what else a rank holds (the
// libraries ~60 MB, the exchange and write buffers ~30 MB, the small
// tables' parse, and on rank 0 the catalogue, which grows with the
// facility's job history: ~0.28 KB an sacct allocation with its room); beyond it chunks
// are spilled to a file beside the store, so the budget holds at any month.
std::int64_t ChunkPoolBytes(const IngestOptions& options, const Comm& comm, const IngestState& s,
                            IngestSummary* summary) {
  const std::int64_t fixed_bytes = std::min<std::int64_t>(384ll << 20, options.memory_budget_bytes / 4);
  const std::int64_t pool_bytes = options.memory_budget_bytes - fixed_bytes - (comm.is_root() ? s.catalogue_bytes : 0);
  // Below two chunks a node every chunk would be spilled as soon as it is
  // started (tiny writes, > 100x slower): raise the pool and say so.
  const auto min_pool_bytes = static_cast<std::int64_t>(2 * s.node_names.size() * sizeof(ReadingChunk));
  if (pool_bytes >= min_pool_bytes) return pool_bytes;
  if (comm.is_root()) {
    summary->warnings.push_back("memory budget " + std::to_string(options.memory_budget_bytes >> 20) + " MB leaves " +
                                std::to_string(pool_bytes >> 20) + " MB for readings, below the " +
                                std::to_string((min_pool_bytes + (1 << 20) - 1) >> 20) + " MB that " +
                                std::to_string(s.node_names.size()) +
                                " nodes need (two 8 KiB chunks each): raised to that");
  }
  return min_pool_bytes;
}

// Where the readings will not fit the pool, room for the spill files.
void RequireSpillSpace(const Comm& comm, const IngestState& s, std::int64_t pool_bytes) {
  std::int64_t estimated_bytes = 0;
  for (const auto& f : s.new_telemetry) estimated_bytes += f.text_bytes;
  // 16 bytes a reading of ~30 bytes of CSV, and as much again spilled for the sorted output.
  const std::int64_t estimated_bytes_per_rank = estimated_bytes * 16 / 30 / comm.size();
  RunCollectively(comm, [&] {
    if (comm.is_root() && estimated_bytes_per_rank > pool_bytes) {
      RequireFreeSpace(s.tmp_dir, estimated_bytes * 32 / 30 + (1 << 20), "the ingest's spill files");
    }
  });
}

// This rank's work items parsed, with progress.
void ParseItems(ParseContext* ctx, const std::vector<WorkItem>& mine, const IngestOptions& options,
                std::int64_t telemetry_bytes) {
  std::uint32_t item_index = 0;
  std::int64_t my_bytes = 0;
  for (const WorkItem& item : mine) my_bytes += ItemFileBytes(item, (*ctx->files)[item.file]);
  if (options.progress) {
    options.progress->Begin("ingest: parse", my_bytes, telemetry_bytes, "bytes", ProgressUnit::kBytes);
  }
  for (const WorkItem& item : mine) {
    ctx->item = item_index++;
    ParseWorkItem(*ctx, item);
    AddProgress(options.progress, ItemFileBytes(item, (*ctx->files)[item.file]));
  }
  ctx->streams->Close();
  if (options.progress) options.progress->End();
}

// Phase B with the Prometheus source: unit i fetched by rank i mod ranks
// (each rank's in unit order, so a node's chunks are in time order).
void FetchUnits(ParseContext* ctx, const IngestOptions& options, const Comm& comm, IngestSummary* summary) {
  std::vector<WorkItem> mine;
  for (std::uint32_t i = static_cast<std::uint32_t>(comm.rank()); i < ctx->files->size();
       i += static_cast<std::uint32_t>(comm.size())) {
    mine.push_back(WorkItem{i, 0, (*ctx->files)[i].size});
  }
  std::vector<std::string>& warnings = *ctx->warnings;
  PrometheusFetch& fetch = *ctx->prometheus;
  RunCollectively(comm, [&] {
    MaybeInjectFault("ingest", comm.rank());
    std::vector<std::uint32_t> order;
    order.reserve(mine.size());
    for (const WorkItem& item : mine) order.push_back(item.file);
    fetch.prefetcher = std::make_unique<PrometheusPrefetcher>(*fetch.config, *fetch.node_names, *fetch.units,
                                                              *fetch.first_wanted, std::move(order));
    ParseItems(ctx, mine, options, summary->telemetry_bytes);
  });
  fetch.prefetcher.reset();
  summary->rows_read = comm.AllSum(ctx->rows);
  summary->bad_rows = comm.AllSum(ctx->bad);
  summary->prometheus_http_seconds = comm.AllMaxDouble(ctx->prometheus->http_seconds);
  summary->prometheus_json_seconds = comm.AllMaxDouble(ctx->prometheus->json_seconds);
  summary->prometheus_ingest_seconds = comm.AllMaxDouble(ctx->prometheus->ingest_seconds);
  for (const auto& w : comm.GatherStringsToRoot(JoinLines(warnings))) {
    for (const auto& line : SplitLines(w)) summary->warnings.push_back(line);
  }
}

// Phase B: the new telemetry split into work items, shared out, and parsed
// into per-node chunk lists; rows and bad rows counted, warnings to rank 0.
void ParseTelemetry(const Config& config, const IngestOptions& options, const Comm& comm, const TimestampPolicy& policy,
                    IngestState* s, NodeStreams* streams, IngestSummary* summary) {
  const TelemetryFormatConfig& format = config.facility.telemetry_format;
  NodeIndex node_index(s->node_names);
  std::vector<std::string> warnings;
  ParseContext ctx{.files = &s->new_telemetry,
                   .root = &s->root,
                   .policy = policy,
                   .format = &format,
                   .nodes = &node_index,
                   .streams = streams,
                   .counts = &s->counts,
                   .warnings = &warnings};
  std::vector<std::int64_t> file_rows(s->new_telemetry.size(), 0);
  ctx.file_rows = &file_rows;
  if (!s->prometheus_units.empty()) {
    std::unique_ptr<PrometheusFetch> fetch;
    RunCollectively(comm, [&] {
      fetch.reset(new PrometheusFetch{&config.facility.prometheus, &s->node_names, &s->prometheus_units,
                                      &s->first_wanted, nullptr});
    });
    ctx.prometheus = fetch.get();
    FetchUnits(&ctx, options, comm, summary);
    return;
  }
  // Small enough pieces that every rank gets a fair share, large enough to stream.
  const std::int64_t split = std::clamp<std::int64_t>(summary->telemetry_bytes / (std::int64_t{8} * comm.size()),
                                                      4ll << 20, options.split_bytes);
  // The small tables' weight on rank 0, in telemetry bytes. Their thread
  // takes ~10x a telemetry byte's time a byte (rows of many strings, merged
  // by key), but beside the rank's own parse it only takes part of a core:
  // with as many ranks as cores, the two ranks' parse ends together at about
  // 5x (compare facility: 9 MB of small tables in 0.16-0.2 s on the thread;
  // at 12x rank 0 ended 0.06 s before rank 1, at 4x and 6x within 0.02 s).
  constexpr std::int64_t kSmallTableCostFactor = 5;
  const auto items = AssignItems(MakeWorkItems(s->new_telemetry, std::min(split, options.split_bytes), comm.size()),
                                 s->new_telemetry, comm.size(), s->small_table_bytes * kSmallTableCostFactor);
  RunCollectively(comm, [&] {
    MaybeInjectFault("ingest", comm.rank());
    ParseItems(&ctx, items[static_cast<std::size_t>(comm.rank())], options, summary->telemetry_bytes);
  });
  summary->rows_read = comm.AllSum(ctx.rows);
  summary->bad_rows = comm.AllSum(ctx.bad);
  s->telemetry_file_rows = comm.AllSumEach(file_rows);
  for (const auto& w : comm.GatherStringsToRoot(JoinLines(warnings))) {
    for (const auto& line : SplitLines(w)) summary->warnings.push_back(line);
  }
}

// With pipeline.strict, bad telemetry rows fail the ingest, naming the
// first example of each (file, reason) from every rank.
[[noreturn]] void ThrowStrictBadRows(const Comm& comm, const Counts& counts, std::int64_t bad_rows) {
  std::string examples;
  for (const auto& [k, v] : counts) examples += "\n  " + v.example + ": " + k.reason;
  const auto all = comm.GatherStringsToRoot(examples);
  std::string text;
  for (const auto& e : all) text += e;
  throw CollectiveError(
      std::to_string(bad_rows) +
      " bad telemetry rows and pipeline.strict is set; first of each kind:" + comm.BroadcastString(text));
}

// Phase C, the exchange: nodes to their owners, contiguous ranges balanced
// by readings; rank r owns nodes [first[r], first[r + 1]).
std::vector<std::uint32_t> ExchangeToOwners(const IngestState& s, NodeStreams* streams, const Comm& comm) {
  std::vector<std::int64_t> readings(s.node_names.size(), 0);
  for (std::uint32_t n = 0; n < s.node_names.size(); ++n) readings[n] = streams->readings(n);
  std::vector<std::uint32_t> first_node = OwnerRanges(comm.AllSumEach(readings), comm.size());
  if (comm.size() > 1) RunCollectively(comm, [&] { ExchangeChunks(streams, first_node, comm); });
  return first_node;
}

// Phase C: each owned node's readings resolved, sorted and deduplicated,
// within the new files and against the store (readings already stored
// win), into the sorted output; returns the readings stored per node.
std::vector<NodeCount> SortAndDeduplicate(const IngestOptions& options, const Comm& comm, const TimestampPolicy& policy,
                                          const std::vector<std::uint32_t>& first_node, IngestState* s,
                                          NodeStreams* streams, ChunkPool* pool, IngestSummary* summary) {
  std::vector<NodeCount> node_counts;  // node id, readings stored
  std::int64_t duplicates = 0, conflicts = 0;
  RunCollectively(comm, [&] {
    std::unique_ptr<store::TelemetryReader> old_store;
    if (s->next_batch > 1) old_store = std::make_unique<store::TelemetryReader>(s->store_path);
    const DropCounter count = [&](std::uint32_t file, const char* reason) {
      ++s->counts[CountKey{file, reason}].count;
    };
    const DropCounter count_in_ingest = [&](std::uint32_t file, const char* reason) {
      count(file, reason);
      ++(std::strcmp(reason, "duplicate") == 0 ? duplicates : conflicts);
    };
    NodeDeduplicator node_rows(policy.zone);
    std::vector<TimeUs> old_t;
    std::vector<double> old_w;
    const auto r = static_cast<std::size_t>(comm.rank());
    if (options.progress) {
      options.progress->Begin("ingest: sort and deduplicate", first_node[r + 1] - first_node[r],
                              static_cast<std::int64_t>(s->node_names.size()), "nodes");
    }
    for (std::uint32_t node = first_node[r]; node < first_node[r + 1]; ++node) {
      AddProgress(options.progress, 1);
      if (streams->refs(node).empty()) continue;
      node_rows.Load(&streams->refs(node), pool, count_in_ingest);
      const HugeVector<TimeUs>& t = node_rows.time();
      const std::int64_t old_node = old_store ? old_store->FindNode(s->node_names[node]) : -1;
      if (old_node >= 0 && !t.empty()) {
        old_store->ReadRange(static_cast<std::size_t>(old_node), t.front(), t.back(), &old_t, &old_w);
        node_rows.DropStored(&old_t, &old_w, count);
      }
      if (t.empty()) continue;
      streams->AppendOutput(t.data(), node_rows.watts().data(), t.size());
      s->batch_scan.Add(t.data(), node_rows.watts().data(), t.size());
      node_counts.push_back(NodeCount{node, static_cast<std::int64_t>(t.size())});
    }
    streams->Close();
    if (options.progress) options.progress->End();
  });
  s->spilled_bytes = pool->spilled_bytes();
  summary->duplicates = comm.AllSum(duplicates);
  summary->conflicts = comm.AllSum(conflicts);
  return node_counts;
}

// The new batch file: its name, and where this rank's rows go in it.
struct BatchLayout {
  std::string path;
  std::string tmp;  // written there, renamed to path once whole
  std::int64_t my_offset = 0;
  std::int64_t total_rows = 0;
  store::BatchEncoding encoding;  // the same on every rank
};

BatchLayout LayOutBatch(const IngestState& s, const std::vector<NodeCount>& node_counts, const Comm& comm) {
  BatchLayout layout;
  std::vector<std::int64_t> local_total{0};
  for (const auto& [node, n] : node_counts) local_total[0] += n;
  const auto totals = comm.AllGather(local_total);
  for (int q = 0; q < comm.size(); ++q) {
    if (q < comm.rank()) layout.my_offset += totals[static_cast<std::size_t>(q)];
    layout.total_rows += totals[static_cast<std::size_t>(q)];
  }
  // WATTRUN_PLAIN_BATCHES=1: int64 and float64 columns whatever the
  // readings allow (for comparisons, and readers that know no attributes).
  const bool plain = comm.AnyTrue(std::getenv("WATTRUN_PLAIN_BATCHES") != nullptr);
  layout.encoding = plain ? store::BatchEncoding{} : s.batch_scan.AllChoose(comm);
  layout.path = s.batch_dir + "/" + store::BatchFileName(s.next_batch);
  layout.tmp = layout.path + ".tmp." + s.tag;
  return layout;
}

// The readings per collective write round and rank.
constexpr std::size_t kWriteRound = std::size_t{1} << 20;

// Rounds of at most kWriteRound readings that whole chunks of `out` take.
std::int64_t CountWriteRounds(const std::vector<ChunkRef>& out) {
  std::int64_t rounds = 0;
  for (std::size_t k = 0, n = 0; k < out.size(); ++k) {
    if (n == 0 || n + out[k].count > kWriteRound) {
      ++rounds;
      n = 0;
    }
    n += out[k].count;
  }
  return rounds;
}

// One column of a write round, collectively at `at`: encoded into `codes`
// first when the batch holds the column compact. Returns WriteSlice's
// cause of a non-collective write (0: collective).
template <typename Value, typename Code, typename Encode>
std::uint32_t WriteColumn(hid_t dataset, std::int64_t at, std::size_t n, const Value* values, bool compact,
                          std::vector<Code>* codes, Encode encode) {
  const auto rows = static_cast<std::int64_t>(n);
  if (!compact) return h5::WriteSlice(dataset, at, rows, values, true);
  encode(values, n, codes->data());
  return h5::WriteSlice(dataset, at, rows, codes->data(), true);
}

// Phase D's data: the sorted output written collectively into the batch
// file's time and watts at this rank's offset, in rounds taken from the
// output's chunks into two reused buffers. Every rank joins every round;
// a rank out of data (or failed) writes nothing. Returns the writes that
// were not collective.
std::int64_t WriteBatchRows(const IngestOptions& options, const Comm& comm, const BatchLayout& layout,
                            std::int64_t my_rows, NodeStreams* streams, ChunkPool* pool) {
  const store::BatchEncoding& encoding = layout.encoding;
  h5::File file = h5::File::Open(layout.tmp, h5::Mode::kCreate, comm.get());
  h5::H5Id time = encoding.compact_time()
                      ? h5::CreateDataset<std::uint32_t>(file.id(), store::batch_file::kTime, layout.total_rows)
                      : h5::CreateDataset<TimeUs>(file.id(), store::batch_file::kTime, layout.total_rows);
  h5::H5Id watts = encoding.compact_watts()
                       ? h5::CreateDataset<std::int32_t>(file.id(), store::batch_file::kWatts, layout.total_rows)
                       : h5::CreateDataset<double>(file.id(), store::batch_file::kWatts, layout.total_rows);
  std::vector<ChunkRef>& out = streams->output_refs();
  const std::int64_t rounds = comm.AllMax(CountWriteRounds(out));
  HugeVector<TimeUs> t_buf(std::min<std::size_t>(kWriteRound, static_cast<std::size_t>(layout.total_rows)));
  HugeVector<double> w_buf(t_buf.size());
  std::vector<std::uint32_t> t_codes(encoding.compact_time() ? t_buf.size() : 0);
  std::vector<std::int32_t> w_codes(encoding.compact_watts() ? t_buf.size() : 0);
  std::exception_ptr failure;
  std::size_t next = 0;
  std::int64_t written = 0, non_collective = 0;
  const EarlyWriteback writeback(layout.tmp);  // the disk writes each round while the next is gathered
  const auto bytes = static_cast<std::int64_t>(encoding.bytes_per_reading());
  if (options.progress) {
    options.progress->Begin("ingest: write batch", my_rows * bytes, layout.total_rows * bytes, "bytes",
                            ProgressUnit::kBytes);
  }
  for (std::int64_t round = 0; round < rounds; ++round) {
    std::size_t n = 0;
    try {
      while (!failure && next < out.size() && n + out[next].count <= kWriteRound) {
        const std::size_t c = out[next].count;
        pool->Take(&out[next++], t_buf.data() + n, w_buf.data() + n);
        n += c;
      }
    } catch (...) {
      failure = std::current_exception();
      n = 0;
    }
    const auto rows = static_cast<std::int64_t>(n);
    const std::int64_t at = layout.my_offset + written;
    non_collective +=
        WriteColumn(time.get(), at, n, t_buf.data(), encoding.compact_time(), &t_codes,
                    [&](const TimeUs* t, std::size_t k, std::uint32_t* c) { encoding.EncodeTimes(t, k, c); }) != 0;
    non_collective +=
        WriteColumn(watts.get(), at, n, w_buf.data(), encoding.compact_watts(), &w_codes,
                    [&](const double* w, std::size_t k, std::int32_t* c) { encoding.EncodeWatts(w, k, c); }) != 0;
    written += rows;
    writeback.Start();
    AddProgress(options.progress, rows * bytes);
  }
  if (options.progress) options.progress->End();
  if (failure) std::rethrow_exception(failure);
  time.Close();
  watts.Close();
  // On disk before any catalogue names it (collective MPI_File_sync: each
  // rank's writes, also where ranks do not share a page cache).
  file.Flush();
  file.Close();
  return non_collective;
}

// Phase D on rank 0: the batch's small metadata (variable-length strings
// cannot be written collectively), then the file renamed into place and
// read back whole: the catalogue never names a batch that cannot be.
void FinishBatch(const IngestState& s, const BatchLayout& layout, const std::vector<NodeCount>& all_node_counts) {
  h5::File file = h5::File::Open(layout.tmp, h5::Mode::kReadWrite);
  std::vector<std::string> names;
  std::vector<std::int64_t> offsets{0};
  for (const auto& [node, n] : all_node_counts) {
    names.push_back(s.node_names[node]);
    offsets.push_back(offsets.back() + n);
  }
  h5::WriteStrings(file.id(), store::batch_file::kNodeNames, names);
  h5::WriteVector(file.id(), store::batch_file::kNodeOffset, offsets);
  h5::SetAttribute(file.id(), "rows", layout.total_rows);
  h5::SetAttribute(file.id(), "batch", s.next_batch);
  layout.encoding.WriteAttributes(file.id());
  file.Close();
  store::FsyncPath(layout.tmp, false);
  if (std::rename(layout.tmp.c_str(), layout.path.c_str()) != 0) {
    throw Error(layout.path + ": cannot rename into place: " + std::strerror(errno));
  }
  store::FsyncPath(s.batch_dir, true);
  store::VerifyBatch(layout.path, names, offsets);
}

// Phase D: one batch file, collective writes at each rank's offset, then
// its metadata and the check that it reads back.
void WriteBatch(const IngestOptions& options, const Comm& comm, const std::vector<NodeCount>& node_counts,
                IngestState* s, NodeStreams* streams, ChunkPool* pool, IngestSummary* summary) {
  const auto t_write = Clock::now();
  const auto all_node_counts = comm.AllGather(node_counts);  // rank order == node order
  const BatchLayout layout = LayOutBatch(*s, node_counts, comm);
  summary->rows_stored = layout.total_rows;
  std::int64_t non_collective = 0;
  RunCollectively(comm, [&] {
    if (comm.is_root()) {
      const auto bytes = static_cast<std::int64_t>(layout.encoding.bytes_per_reading());
      RequireFreeSpace(s->batch_dir, layout.total_rows * bytes + (4 << 20), "the new telemetry batch");
    }
  });
  RunCollectively(comm, [&] {
    std::int64_t my_rows = 0;
    for (const auto& [node, n] : node_counts) my_rows += n;
    non_collective = WriteBatchRows(options, comm, layout, my_rows, streams, pool);
  });
  RunCollectively(comm, [&] {
    if (comm.is_root()) FinishBatch(*s, layout, all_node_counts);
  });
  summary->write_seconds = SecondsSince(t_write);
  summary->non_collective_writes = comm.AllSum(non_collective);
  summary->batch = s->next_batch;
  for (const auto& f : s->new_telemetry) s->new_file_batch[f.rel] = s->next_batch;
}

// Phases B to D, for new telemetry: parse, exchange, sort and deduplicate,
// write the batch; the drop counts end up on rank 0.
void IngestTelemetry(const Config& config, const IngestOptions& options, const Comm& comm, IngestState* s,
                     IngestSummary* summary) {
  if (s->node_names.empty()) throw Error("nodes.csv lists no nodes: telemetry cannot be assigned to nodes");
  for (const auto& f : s->new_telemetry) summary->telemetry_bytes += f.size;
  const TimestampPolicy policy{TimeZone::Load(config.facility.telemetry.timezone), config.facility.telemetry.ignore_z};
  const auto t_parse = Clock::now();
  const std::int64_t pool_bytes = ChunkPoolBytes(options, comm, *s, summary);
  RequireSpillSpace(comm, *s, pool_bytes);
  ChunkPool pool(pool_bytes, s->tmp_dir + "/chunks_r" + std::to_string(comm.rank()) + ".bin");
  NodeStreams streams(s->node_names.size(), &pool);
  ParseTelemetry(config, options, comm, policy, s, &streams, summary);
  JoinSmallTables(config, comm, s, summary);
  summary->parse_seconds = SecondsSince(t_parse);
  if (config.pipeline.strict && summary->bad_rows > 0) ThrowStrictBadRows(comm, s->counts, summary->bad_rows);
  // Nothing newer on the server (a re-ingest of an unchanged window): no
  // empty batch, and the catalogue stays as it is.
  if (!s->prometheus_units.empty() && summary->rows_read == 0) return;

  const auto t_sort = Clock::now();
  const std::vector<std::uint32_t> first_node = ExchangeToOwners(*s, &streams, comm);
  const std::vector<NodeCount> node_counts =
      SortAndDeduplicate(options, comm, policy, first_node, s, &streams, &pool, summary);
  summary->sort_seconds = SecondsSince(t_sort);

  WriteBatch(options, comm, node_counts, s, &streams, &pool, summary);
  // Counts to rank 0.
  const auto serialized = comm.GatherStringsToRoot(SerializeCounts(s->counts));
  s->counts.clear();
  for (const auto& text : serialized) MergeSerializedCounts(text, &s->counts);
}

// Phase E on rank 0: the new telemetry's quality, and every listed file in
// the manifest (with its batch, if telemetry new in this one).
void UpdateCatalogue(IngestState* s, IngestSummary* summary) {
  store::Catalogue& catalogue = s->catalogue;
  std::map<std::string, std::vector<BadRowCount>> telemetry_quality;
  for (const auto& [k, v] : s->counts) {
    telemetry_quality[s->new_telemetry[k.file].rel].push_back(BadRowCount{"telemetry", "", k.reason, v.count});
  }
  for (std::size_t i = 0; i < s->new_telemetry.size(); ++i) {
    const std::string& rel = s->new_telemetry[i].rel;
    ReplaceQuality(&catalogue, "telemetry", rel, telemetry_quality[rel]);
    if (i < s->telemetry_file_rows.size())
      WarnIfMostlyBad(rel, s->telemetry_file_rows[i], telemetry_quality[rel], &summary->warnings);
  }
  WarnConflictingRows(s->new_telemetry, summary->rows_read, s->counts, &summary->warnings);
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < catalogue.manifest.size(); ++i) index[catalogue.manifest[i].path] = i;
  for (const auto& f : s->all_files) {
    store::ManifestEntry m{f.rel, f.kind, f.size, f.mtime_ns, -1};
    const auto b = s->new_file_batch.find(f.rel);
    if (b != s->new_file_batch.end()) m.batch = b->second;
    const auto it = index.find(f.rel);
    if (it == index.end()) {
      catalogue.manifest.push_back(m);
    } else if (catalogue.manifest[it->second].size != f.size || catalogue.manifest[it->second].mtime_ns != f.mtime_ns) {
      catalogue.manifest[it->second] = m;
    }
  }
  if (summary->batch > 0) {
    catalogue.batch_files.push_back(fs::path(s->store_path).filename().string() + ".d/" +
                                    store::BatchFileName(summary->batch));
  }
}

// Phase E, rank 0: the new catalogue replaces the old one atomically.
void WriteNewCatalogue(const Comm& comm, IngestState* s, IngestSummary* summary) {
  RunCollectively(comm, [&] {
    if (!comm.is_root()) return;
    if (summary->files_new == 0 && summary->batch == 0 && fs::exists(s->store_path)) return;  // nothing changed
    UpdateCatalogue(s, summary);
    fs::create_directories(fs::absolute(s->store_path).parent_path());
    store::WriteCatalogue(s->store_path, s->catalogue, s->tag);
  });
}

// The ingest, with the store's write lock held by rank 0. Every temporary
// file carries `tag` (unique to this writer): the spill directory
// ingest-tmp.TAG, batch_NNNNNN.h5.tmp.TAG and STORE.h5.tmp.TAG.
IngestSummary IngestUnderLock(const Config& config, const IngestOptions& options, const Comm& comm,
                              const std::string& tag) {
  const auto t0 = Clock::now();
  IngestSummary summary;
  IngestState s;
  s.root = fs::path(options.input_dir);
  s.store_path = options.store_path;
  s.batch_dir = store::BatchDirectory(s.store_path);
  s.tmp_dir = WriterTmpDir(s.store_path, tag);
  s.tag = tag;
  PlanIngest(config, options, comm, &s, &summary);
  if (config.facility.telemetry_source == TelemetrySource::kPrometheus) PlanPrometheus(config, comm, &s, &summary);
  if (!s.new_telemetry.empty()) {
    IngestTelemetry(config, options, comm, &s, &summary);
    // The readings' memory, freed, goes back to the system before rank 0
    // builds the new catalogue (else glibc keeps the chunks' slabs, which
    // came from its heap, and the two add up at the ingest's peak).
    ::malloc_trim(0);
  }
  JoinSmallTables(config, comm, &s, &summary);  // if there was no telemetry to overlap it with
  WriteNewCatalogue(comm, &s, &summary);
  if (comm.is_root()) summary.sources = SourceTotalsOf(s.catalogue);
  comm.Barrier();
  if (comm.is_root() && fs::exists(s.tmp_dir)) fs::remove_all(s.tmp_dir);
  summary.seconds = SecondsSince(t0);
  const std::int64_t peak_rss = PeakRssBytes();
  summary.peak_rss_bytes = comm.AllMax(peak_rss);
  summary.peak_rss_bytes_other_ranks = comm.AllMax(comm.is_root() ? 0 : peak_rss);
  summary.spilled_bytes = comm.AllSum(s.spilled_bytes);
  return summary;
}

}  // namespace

IngestSummary Ingest(const Config& config, const IngestOptions& options, const Comm& comm) {
  store::StoreLock lock;  // rank 0's, released on return and on failure
  std::vector<std::string> notes;
  std::string tag;
  RunCollectively(comm, [&] {
    if (!comm.is_root()) return;
    fs::create_directories(fs::absolute(options.store_path).parent_path());
    lock = store::StoreLock::Acquire(options.store_path, options.wait_seconds, &notes);
    tag = store::UniqueWriterTag();
  });
  tag = comm.BroadcastString(tag);
  try {
    IngestSummary summary = IngestUnderLock(config, options, comm, tag);
    summary.warnings.insert(summary.warnings.begin(), notes.begin(), notes.end());
    return summary;
  } catch (const CollectiveError&) {
    comm.Barrier();  // every rank is here: no rank still writes a spill file
    if (comm.is_root()) RemoveWriterTemporaries(options.store_path, tag);
    throw;
  } catch (...) {
    if (comm.is_root()) RemoveWriterTemporaries(options.store_path, tag);
    throw;
  }
}

}  // namespace wattrun::ingest
