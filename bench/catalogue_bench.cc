// The store catalogue's rewrite, which every ingest does on rank 0 with the
// whole job history in it (not run by ctest):
//   catalogue_bench STORE.h5 [REPEATS]
// reads the catalogue once, then writes it REPEATS times to STORE.h5.bench
// (atomically, fsynced, as an ingest does) and prints the best time, the
// file's size and the process's peak RSS.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/error.h"
#include "store/store.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: catalogue_bench STORE.h5 [REPEATS]\n");
    return 2;
  }
  const std::string store = argv[1];
  const int repeats = argc > 2 ? std::max(1, std::atoi(argv[2])) : 3;
  try {
    using Clock = std::chrono::steady_clock;
    auto t = Clock::now();
    const wattrun::store::Catalogue c = wattrun::store::ReadCatalogue(store);
    const double read_s = std::chrono::duration<double>(Clock::now() - t).count();
    const std::string out = store + ".bench";
    double best = 1e300;
    for (int i = 0; i < repeats; ++i) {
      t = Clock::now();
      wattrun::store::WriteCatalogue(out, c);
      best = std::min(best, std::chrono::duration<double>(Clock::now() - t).count());
    }
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    std::printf(
        "catalogue: %zu jobs, %zu runs; read %.3f s; write best of %d %.3f s, %.1f MB; held %.1f MB; peak RSS %.1f "
        "MB\n",
        c.jobs.size(), c.runs.size(), read_s, repeats, best, static_cast<double>(std::filesystem::file_size(out)) / 1e6,
        static_cast<double>(wattrun::store::HeldBytes(c)) / 1e6, static_cast<double>(ru.ru_maxrss) / 1024);
    std::filesystem::remove(out);
  } catch (const wattrun::Error& e) {
    std::fprintf(stderr, "catalogue_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
