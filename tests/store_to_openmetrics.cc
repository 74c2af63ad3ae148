// Writes a store's telemetry as OpenMetrics text files, one per 2-hour
// TSDB block (DIR/BLOCK.om), for `promtool tsdb create-blocks-from
// openmetrics` (tests/prometheus_test.sh; promtool 2.42 reads its whole
// input once for every 2-hour block, so one file of months takes hours):
// the readings the file route kept, with their UTC instants, so that a
// Prometheus loaded with them must give the file route's results. Node
// labels get a ":9290" or ".cluster" suffix on every second and third
// node, as exporters write them. Prints "FIRST LAST" (ISO UTC) to stdout.
// Usage: test_store_to_openmetrics STORE.h5 DIR METRIC LABEL
#include <mpi.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <string>

#include "core/time.h"
#include "store/store.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s STORE.h5 DIR METRIC LABEL\n", argv[0]);
    return 2;
  }
  MPI_Init(&argc, &argv);  // the store's HDF5 is the MPI build
  wattrun::store::TelemetryReader reader(argv[1]);
  constexpr wattrun::TimeUs kBlock = 2 * wattrun::kMicrosPerHour;  // promtool's block boundaries
  wattrun::TimeUs first = std::numeric_limits<wattrun::TimeUs>::max(),
                  last = std::numeric_limits<wattrun::TimeUs>::min();
  for (std::size_t n = 0; n < reader.nodes().size(); ++n) {
    if (reader.ReadingCount(n) == 0) continue;
    const auto [a, b] = reader.TimeSpan(n);
    first = std::min(first, a);
    last = std::max(last, b);
  }
  for (wattrun::TimeUs block = wattrun::FloorDiv(first, kBlock) * kBlock; block <= last; block += kBlock) {
    const std::string path = std::string(argv[2]) + "/" + std::to_string(block / kBlock) + ".om";
    std::FILE* out = std::fopen(path.c_str(), "w");
    if (!out) {
      std::perror(path.c_str());
      return 1;
    }
    std::fprintf(out, "# TYPE %s gauge\n", argv[3]);
    for (std::size_t n = 0; n < reader.nodes().size(); ++n) {
      const std::string label = reader.nodes()[n] + (n % 3 == 1 ? ":9290" : n % 3 == 2 ? ".cluster" : "");
      reader.ForEachChunkInRange(
          n, block, block + kBlock, 1 << 16, [&](const wattrun::TimeUs* time, const double* watts, std::size_t count) {
            for (std::size_t i = 0; i < count; ++i) {
              // Seconds with milliseconds, Prometheus's resolution (the
              // instants are µs; the test's readings are whole seconds);
              // %.17g gives the double back exactly.
              const std::int64_t s = wattrun::FloorDiv(time[i], wattrun::kMicrosPerSecond);
              const std::int64_t ms = (time[i] - s * wattrun::kMicrosPerSecond) / wattrun::kMicrosPerMilli;
              std::fprintf(out, "%s{%s=\"%s\"} %.17g %" PRId64 ".%03" PRId64 "\n", argv[3], argv[4], label.c_str(),
                           watts[i], s, ms);
            }
          });
    }
    std::fprintf(out, "# EOF\n");
    std::fclose(out);
  }
  std::printf("%s %s\n", wattrun::FormatUtcIso(first).c_str(), wattrun::FormatUtcIso(last).c_str());
  MPI_Finalize();
  return 0;
}
