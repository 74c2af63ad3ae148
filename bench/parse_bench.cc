// Micro benchmark of the hot loop of ingest: ParseTelemetryLine over a plain
// telemetry CSV file already in memory, lines split with memchr and parsed
// with a TimestampCache, as the ingest does. Prints the best of --repeat runs
// as ns per data line and MB/s (split and parse; the split alone; the parse
// alone, of lines split beforehand), the count of each row error, and a
// checksum of the results so that two builds can be compared.
//
// Usage: parse_bench FILE [--zone NAME] [--ignore-z 0|1] [--repeat N]
//                    [--no-cache] [--dump OUT]
//   defaults: --zone America/Denver --ignore-z 1 --repeat 5 (Eagle's policy)
//   --dump OUT writes one text line of results per data line (error, utc,
//   wall_us, ambiguous, watts as %a, node) for an exact diff of two builds.
// A file to run on: `wattrun generate --config configs/eagle.yaml --output
// /tmp/b/fac1 --scale 0.05 --months 1` writes
// /tmp/b/fac1/telemetry/2021-09/part-0000.csv (90 MB).
#include <algorithm>
#include <bit>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.h"
#include "stages/ingest/telemetry_parse.h"

namespace {

using wattrun::TelemetryRowError;

constexpr int kReasons = static_cast<int>(TelemetryRowError::kEmptyNode) + 1;

struct Result {
  std::int64_t lines = 0;
  std::int64_t errors[kReasons] = {};
  std::uint64_t checksum = 0;
};

bool ReadFile(const char* path, std::string* out) {
  std::FILE* f = std::fopen(path, "rb");
  if (f == nullptr) return false;
  if (std::fseek(f, 0, SEEK_END) == 0) {
    const long size = std::ftell(f);
    if (size > 0) out->reserve(static_cast<std::size_t>(size));
    std::rewind(f);
  }
  char buffer[1 << 16];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) out->append(buffer, n);
  const bool ok = std::ferror(f) == 0;
  std::fclose(f);
  return ok;
}

inline std::uint64_t Mix(std::uint64_t h, std::uint64_t v) { return (h ^ v) * 0x100000001b3ull + (h >> 29); }

// Plain sums over the rows (independent adds, so that the checksum does not
// become the loop's critical path), combined into one value at the end. The
// last one weights each row by its line number, so that a difference that
// only moves values between rows is seen too.
struct Sums {
  std::uint64_t error = 0, utc = 0, wall_us = 0, ambiguous = 0, watts = 0, node_size = 0, node_ends = 0, weighted = 0;
  std::uint64_t Combine() const {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (const std::uint64_t v : {error, utc, wall_us, ambiguous, watts, node_size, node_ends, weighted}) {
      h = Mix(h, v);
    }
    return h;
  }
};

// Calls `each(line)` for every line after the header that the ingest would
// parse (it skips blank lines and lines that are only "\r").
template <typename Each>
void ForEachDataLine(std::string_view text, Each&& each) {
  const char* p = text.data();
  const char* const end = p + text.size();
  bool header = true;
  while (p < end) {
    const void* hit = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
    const char* stop = hit != nullptr ? static_cast<const char*>(hit) : end;
    const std::string_view line(p, static_cast<std::size_t>(stop - p));
    p = stop + 1;
    if (header) {
      header = false;
      continue;
    }
    if (line.empty() || (line.size() == 1 && line[0] == '\r')) continue;
    each(line);
  }
}

// Parses every line that `for_each_line(callback)` hands to the callback.
template <typename ForEachLine>
Result Parse(ForEachLine&& for_each_line, const wattrun::TelemetryColumns& columns,
             const wattrun::TimestampPolicy& policy, bool use_cache, std::FILE* dump) {
  Result result;
  wattrun::TimestampCache cache;
  wattrun::TimestampCache* const cache_ptr = use_cache ? &cache : nullptr;
  Sums sums;
  std::uint64_t index = 0;
  for_each_line([&](std::string_view line) {
    wattrun::TelemetryRow row;
    const TelemetryRowError error = wattrun::ParseTelemetryLine(line, columns, policy, &row, cache_ptr);
    ++result.lines;
    ++result.errors[static_cast<int>(error)];
    ++index;
    sums.error += static_cast<std::uint64_t>(error) * index;
    if (error == TelemetryRowError::kNone) {
      const auto watts = std::bit_cast<std::uint64_t>(row.watts);
      sums.utc += static_cast<std::uint64_t>(row.utc);
      sums.wall_us += static_cast<std::uint64_t>(row.wall_us);
      sums.ambiguous += row.ambiguous ? 1 : 0;
      sums.watts += watts;
      sums.node_size += row.node.size();
      sums.node_ends += static_cast<unsigned char>(row.node.front()) |
                        static_cast<unsigned>(static_cast<unsigned char>(row.node.back())) << 8;
      sums.weighted += index * (static_cast<std::uint64_t>(row.utc) ^ watts ^ row.node.size());
    }
    if (dump != nullptr) {
      std::fprintf(dump, "%s", wattrun::ReasonName(error));
      if (error == TelemetryRowError::kNone) {
        std::fprintf(dump, " %" PRId64 " %" PRId64 " %d %a %.*s", row.utc, row.wall_us, row.ambiguous ? 1 : 0,
                     row.watts, static_cast<int>(row.node.size()), row.node.data());
      }
      std::fputc('\n', dump);
    }
  });
  result.checksum = sums.Combine();
  return result;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

int main(int argc, char** argv) {
  const char* path = nullptr;
  const char* dump_path = nullptr;
  std::string zone = "America/Denver";
  bool ignore_z = true;
  bool use_cache = true;
  int repeat = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--zone" && has_value) {
      zone = argv[++i];
    } else if (arg == "--ignore-z" && has_value) {
      ignore_z = std::atoi(argv[++i]) != 0;
    } else if (arg == "--repeat" && has_value) {
      repeat = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--dump" && has_value) {
      dump_path = argv[++i];
    } else if (arg == "--no-cache") {
      use_cache = false;
    } else if (path == nullptr && !arg.starts_with("--")) {
      path = argv[i];
    } else {
      path = nullptr;
      break;
    }
  }
  if (path == nullptr) {
    std::fprintf(stderr,
                 "usage: %s FILE [--zone NAME] [--ignore-z 0|1] [--repeat N] [--no-cache] "
                 "[--dump OUT]\n",
                 argv[0]);
    return 2;
  }
  std::string text;
  if (!ReadFile(path, &text)) {
    std::fprintf(stderr, "cannot read %s\n", path);
    return 1;
  }
  const std::string_view all(text);
  const std::string_view header = all.substr(0, std::min(all.find('\n'), all.size()));
  wattrun::TelemetryColumns columns;
  std::string missing;
  if (!wattrun::ResolveTelemetryHeader(header, &columns, &missing)) {
    std::fprintf(stderr, "%s: missing column '%s'\n", path, missing.c_str());
    return 1;
  }
  const wattrun::TimestampPolicy policy{wattrun::TimeZone::Load(zone), ignore_z};

  const auto split_and_parse = [&](auto&& callback) { ForEachDataLine(all, callback); };
  if (dump_path != nullptr) {
    std::FILE* dump = std::fopen(dump_path, "w");
    if (dump == nullptr) {
      std::fprintf(stderr, "cannot write %s\n", dump_path);
      return 1;
    }
    Parse(split_and_parse, columns, policy, use_cache, dump);
    std::fclose(dump);
  }

  // The split alone, to tell the parse's share of the loop.
  double split_best = 1e30;
  std::vector<std::string_view> lines_in_memory;
  for (int r = 0; r < repeat; ++r) {
    std::uint64_t sink = 0;
    const auto t0 = std::chrono::steady_clock::now();
    ForEachDataLine(all, [&](std::string_view line) { sink += line.size(); });
    split_best = std::min(split_best, Seconds(t0));
    if (sink == 1) std::printf(" ");  // keep the loop
  }
  ForEachDataLine(all, [&](std::string_view line) { lines_in_memory.push_back(line); });

  // Best of `repeat` runs, checking that every run gives the same checksum.
  const auto time_parse = [&](auto&& for_each_line, Result* result) {
    double best = 1e30;
    for (int r = 0; r < repeat; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      const Result run = Parse(for_each_line, columns, policy, use_cache, nullptr);
      best = std::min(best, Seconds(t0));
      if (r > 0 && run.checksum != result->checksum) {
        std::fprintf(stderr, "checksum differs between runs\n");
        std::exit(1);
      }
      *result = run;
    }
    return best;
  };
  Result result;
  const double best = time_parse(split_and_parse, &result);
  Result presplit_result;
  const double presplit_best = time_parse(
      [&](auto&& callback) {
        for (const std::string_view line : lines_in_memory) callback(line);
      },
      &presplit_result);
  if (presplit_result.checksum != result.checksum) {
    std::fprintf(stderr, "checksum of the pre-split lines differs\n");
    return 1;
  }

  const double lines = static_cast<double>(std::max<std::int64_t>(result.lines, 1));
  std::printf("file %s: %zu bytes, %" PRId64 " data lines, zone %s, ignore_z %d, cache %d\n", path, text.size(),
              result.lines, zone.c_str(), ignore_z ? 1 : 0, use_cache ? 1 : 0);
  std::printf("split+parse: %.2f ns/line  %.1f MB/s  (best of %d: %.4f s)\n", best * 1e9 / lines,
              static_cast<double>(text.size()) / best / 1e6, repeat, best);
  std::printf("split only:  %.2f ns/line  %.1f MB/s\n", split_best * 1e9 / lines,
              static_cast<double>(text.size()) / split_best / 1e6);
  std::printf("parse only:  %.2f ns/line  %.1f MB/s  (lines split beforehand)\n", presplit_best * 1e9 / lines,
              static_cast<double>(text.size()) / presplit_best / 1e6);
  std::printf("errors:");
  for (int e = 0; e < kReasons; ++e) {
    std::printf(" %s=%" PRId64, wattrun::ReasonName(static_cast<TelemetryRowError>(e)), result.errors[e]);
  }
  std::printf("\nchecksum %016" PRIx64 "\n", result.checksum);
  return 0;
}
