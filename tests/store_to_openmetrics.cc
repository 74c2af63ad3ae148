// Writes a store's telemetry as OpenMetrics text files, one a UTC day
// (DIR/DAY.om), for `promtool tsdb create-blocks-from openmetrics`
// (tests/prometheus_test.sh; promtool 2.42 reads its whole input once for
// every 2-hour block, so one file of months would take hours):
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
  std::map<std::int64_t, std::FILE*> days;
  auto file_of = [&](wattrun::TimeMs t) {
    const std::int64_t day = wattrun::FloorDiv(t, 86400000);
    std::FILE*& f = days[day];
    if (!f) {
      const std::string path = std::string(argv[2]) + "/" + std::to_string(day) + ".om";
      f = std::fopen(path.c_str(), "w");
      if (!f) {
        std::perror(path.c_str());
        std::exit(1);
      }
      std::fprintf(f, "# TYPE %s gauge\n", argv[3]);
    }
    return f;
  };
  wattrun::TimeMs first = std::numeric_limits<wattrun::TimeMs>::max(),
                  last = std::numeric_limits<wattrun::TimeMs>::min();
  for (std::size_t n = 0; n < reader.nodes().size(); ++n) {
    const std::string label = reader.nodes()[n] + (n % 3 == 1 ? ":9290" : n % 3 == 2 ? ".cluster" : "");
    reader.ForEachChunk(n, 1 << 16, [&](const wattrun::TimeMs* time, const double* watts, std::size_t count) {
      for (std::size_t i = 0; i < count; ++i) {
        // Seconds with milliseconds; %.17g gives the double back exactly.
        std::fprintf(file_of(time[i]), "%s{%s=\"%s\"} %.17g %" PRId64 ".%03" PRId64 "\n", argv[3], argv[4],
                     label.c_str(), watts[i], time[i] / 1000, time[i] % 1000);
        first = std::min(first, time[i]);
        last = std::max(last, time[i]);
      }
    });
  }
  for (const auto& [day, f] : days) {
    std::fprintf(f, "# EOF\n");
    std::fclose(f);
  }
  std::printf("%s %s\n", wattrun::FormatUtcIso(first).c_str(), wattrun::FormatUtcIso(last).c_str());
  MPI_Finalize();
  return 0;
}
