// LineReader throughput: reads every line of FILE (plain or .gz) through
// wattrun::LineReader, REPEAT times (default 3), and prints per run the
// seconds, MB/s of uncompressed text handed out (line bytes plus one per
// newline) and the line count, then the best run.
// Usage: wattrun_linereader_bench FILE [REPEAT]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include "core/csv.h"

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s FILE [REPEAT]\n", argv[0]);
    return 2;
  }
  const std::string path = argv[1];
  const int repeat = argc == 3 ? std::max(1, std::atoi(argv[2])) : 3;
  double best = 1e300;
  std::uint64_t bytes = 0;
  std::uint64_t lines = 0;
  try {
    for (int r = 0; r < repeat; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      wattrun::LineReader reader(path);
      std::string_view line;
      std::uint64_t b = 0;
      std::uint64_t n = 0;
      std::uint64_t check = 0;  // touches the text, so the loop is not only memchr
      while (reader.Next(&line)) {
        b += line.size() + 1;
        ++n;
        if (!line.empty()) check += static_cast<unsigned char>(line.back());
      }
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("run %d: %.3f s  %.1f MB/s  %llu lines  %llu bytes  (%s, check %llu)\n", r + 1, s,
                  static_cast<double>(b) / s / 1e6, static_cast<unsigned long long>(n),
                  static_cast<unsigned long long>(b), reader.is_gzip() ? "gzip" : "plain",
                  static_cast<unsigned long long>(check % 1000));
      best = std::min(best, s);
      bytes = b;
      lines = n;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  std::printf("best: %.3f s  %.1f MB/s  %llu lines\n", best, static_cast<double>(bytes) / best / 1e6,
              static_cast<unsigned long long>(lines));
  return 0;
}
