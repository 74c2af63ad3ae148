// The memory-bandwidth limit for the benchmarks: a single-threaded scan that
// sums N bytes already in memory (as 8-byte words). Prints seconds and GB/s.
// Usage: wattrun_memscan BYTES
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s BYTES\n", argv[0]);
    return 2;
  }
  const std::uint64_t bytes = std::strtoull(argv[1], nullptr, 10);
  // Scan a buffer of at most 1 GiB repeatedly until BYTES have been read.
  const std::size_t words = static_cast<std::size_t>(std::min<std::uint64_t>(bytes, 1ull << 30) / 8);
  std::vector<std::uint64_t> buffer(words);
  for (std::size_t i = 0; i < words; ++i) buffer[i] = i * 2654435761u;
  std::uint64_t sum = 0, done = 0;
  const auto t0 = std::chrono::steady_clock::now();
  while (done < bytes) {
    for (std::size_t i = 0; i < words; ++i) sum += buffer[i];
    done += words * 8;
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%.6f %.3f %llu\n", s, static_cast<double>(done) / s / 1e9, static_cast<unsigned long long>(sum & 1));
  return 0;
}
