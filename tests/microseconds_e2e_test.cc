// End to end with microsecond run times (BUTTER-E's runs.csv writes
// `2022-03-08 14:02:11.123456`): a generated facility's runs.csv gets a
// different six-digit fraction on every start and update time, the pipeline
// runs, and each ok run's run time and energy are checked against the exact
// µs window and an independent trapezoid integration of the raw telemetry
// (spec section 2, step 3), to 1e-9 relative.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "core/csv.h"
#include "core/time.h"
#include "tests/test_util.h"

namespace wattrun {
namespace {
namespace fs = std::filesystem;

using Table = testing_util::CsvTable;
using testing_util::Slurp;

struct Window {
  std::string node;
  TimeUs start = 0, update = 0;  // exact, from the whole seconds and the added µs
};

// The fraction added to line k's time: six digits, never a whole ms for the
// start, so that ms truncation would show.
TimeUs StartFraction(int k) { return (k * 7919 + 1) % 999 * kMicrosPerMilli + 1 + k % 997; }
TimeUs UpdateFraction(int k) { return (k * 104729 + 12345) % 999999; }

std::string WithFraction(const std::string& text, TimeUs micros) {
  char digits[8];
  std::snprintf(digits, sizeof digits, ".%06lld", static_cast<long long>(micros));
  // "YYYY-MM-DD HH:MM:SS+00:00": the fraction goes after the seconds.
  return text.substr(0, 19) + digits + text.substr(19);
}

TimeUs WholeSeconds(const std::string& text) {
  TimeUs t = 0;
  EXPECT_EQ(ParseInstant(text, {TimeZone::Utc(), false}, &t), TimeParseStatus::kOk) << text;
  EXPECT_EQ(t % kMicrosPerSecond, 0) << text;
  return t;
}

// Rewrites runs.csv with fractions and returns every run's exact window.
std::map<std::string, Window> AddFractions(const fs::path& runs_csv) {
  std::istringstream in(Slurp(runs_csv));
  std::string header, line, out;
  std::getline(in, header);
  out = header + "\n";
  std::vector<std::string_view> fields;
  std::string storage;
  SplitCsvLine(header, ',', &fields, &storage);
  const std::vector<std::string> names(fields.begin(), fields.end());
  auto column = [&](const std::string& name) {
    return static_cast<std::size_t>(std::find(names.begin(), names.end(), name) - names.begin());
  };
  const std::size_t c_id = column("run_id"), c_start = column("start_time"), c_update = column("update_time"),
                    c_host = column("host_name");
  std::map<std::string, Window> windows;
  for (int k = 0; std::getline(in, line); ++k) {
    SplitCsvLine(line, ',', &fields, &storage);
    const std::vector<std::string> f(fields.begin(), fields.end());
    // The two times stand side by side, unquoted (run_data, quoted, comes later).
    const std::string times = "," + f[c_start] + "," + f[c_update] + ",";
    const std::size_t at = line.find(times);
    if (f.size() > c_host && c_update == c_start + 1 && f[c_start].size() == 25 && f[c_update].size() == 25 &&
        at != std::string::npos) {
      windows[f[c_id]] = {f[c_host], WholeSeconds(f[c_start]) + StartFraction(k),
                          WholeSeconds(f[c_update]) + UpdateFraction(k)};
      line.replace(
          at, times.size(),
          "," + WithFraction(f[c_start], StartFraction(k)) + "," + WithFraction(f[c_update], UpdateFraction(k)) + ",");
    }
    out += line + "\n";
  }
  std::ofstream(runs_csv, std::ios::binary) << out;
  return windows;
}

// Every node's readings from the raw CSVs (first per instant wins, files in
// sorted order), and the span of the repeated-hour readings, which this
// simple reader drops (it does not resolve them by order).
struct Telemetry {
  std::map<std::string, std::map<TimeUs, double>> by_node;
  TimeUs ambiguous_first = std::numeric_limits<TimeUs>::max();
  TimeUs ambiguous_last = std::numeric_limits<TimeUs>::min();
  bool NearRepeatedHour(TimeUs s, TimeUs u) const {
    return u > ambiguous_first - 2 * kMicrosPerHour && s < ambiguous_last + 3 * kMicrosPerHour;
  }
};

Telemetry ReadTelemetry(const fs::path& dir) {
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.path().string().find(".csv") != std::string::npos) files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  const TimestampPolicy policy{TimeZone::Load("America/Denver"), true};
  Telemetry t;
  for (const auto& f : files) {
    LineReader reader(f);
    std::string_view line;
    std::vector<std::string_view> fields;
    std::string storage;
    if (!reader.Next(&line) || line.substr(0, 9) != "timestamp") continue;  // the dirty layouts: not here
    while (reader.Next(&line)) {
      if (!SplitCsvLine(line, ',', &fields, &storage) || fields.size() != 3) continue;
      TimeUs at = 0;
      double w = 0;
      const auto status = ParseInstant(fields[0], policy, &at);
      if (status == TimeParseStatus::kAmbiguous) {
        t.ambiguous_first = std::min(t.ambiguous_first, at);
        t.ambiguous_last = std::max(t.ambiguous_last, at);
      }
      if (status != TimeParseStatus::kOk || !ParseDouble(fields[2], &w) || w < 0) continue;
      t.by_node[std::string(fields[1])].emplace(at, w);
    }
  }
  return t;
}

// ∫ W dt over [s, u], W linear between readings and held beyond the first
// and last (spec section 2, step 3).
double Trapezoid(const std::map<TimeUs, double>& readings, TimeUs s, TimeUs u) {
  const std::vector<std::pair<TimeUs, double>> v(readings.begin(), readings.end());
  auto w_at = [&](TimeUs x) {
    if (x <= v.front().first) return v.front().second;
    if (x >= v.back().first) return v.back().second;
    const auto hi = std::lower_bound(v.begin(), v.end(), std::make_pair(x, -1.0));
    const auto lo = hi - 1;
    return lo->second + (hi->second - lo->second) * (ToSeconds(x - lo->first) / ToSeconds(hi->first - lo->first));
  };
  std::vector<TimeUs> knots{s};
  for (const auto& [t, w] : v) {
    if (t > s && t < u) knots.push_back(t);
  }
  knots.push_back(u);
  long double energy = 0;
  for (std::size_t k = 0; k + 1 < knots.size(); ++k) {
    energy += static_cast<long double>(ToSeconds(knots[k + 1] - knots[k])) * (w_at(knots[k]) + w_at(knots[k + 1])) / 2;
  }
  return static_cast<double>(energy);
}

void RunCommand(const fs::path& work, const std::string& command) {
  const std::string full =
      "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 " + command +
      " > " + (work / "last.log").string() + " 2>&1";
  ASSERT_EQ(std::system(full.c_str()), 0) << command << "\n" << Slurp(work / "last.log");
}

TEST(Microseconds, RunTimesAndEnergiesUseTheExactMicrosecondWindow) {
  const char* src = std::getenv("WATTRUN_SOURCE_DIR");
  const char* bin = std::getenv("WATTRUN_BINARY");
  ASSERT_TRUE(src && bin) << "run through ctest";
  testing_util::ScratchDir work("wattrun_us_e2e");
  const std::string config = std::string(src) + "/configs/demo.yaml";
  const fs::path facility = work.path() / "facility";
  RunCommand(work.path(), std::string(bin) + " generate --config " + config + " --output " + facility.string() +
                              " --seed 7 --scale 0.002 --months 1 --clean");
  const std::map<std::string, Window> windows = AddFractions(facility / "runs.csv");
  ASSERT_GT(windows.size(), 20u);
  RunCommand(work.path(), "mpirun -n 2 " + std::string(bin) + " run --config " + config + " --input " +
                              facility.string() + " --output " + (work.path() / "out").string());
  const Telemetry telemetry = ReadTelemetry(facility / "telemetry");
  int checked = 0, ms_would_fail = 0;
  for (const auto& r : testing_util::ReadCsvTable(work.path() / "out" / "runs_energy.csv")) {
    const auto it = windows.find(r.at("run_id"));
    if (r.at("status") != "ok" || it == windows.end() ||
        telemetry.NearRepeatedHour(it->second.start, it->second.update)) {
      continue;
    }
    const Window& w = it->second;
    ASSERT_EQ(r.at("node"), w.node);
    EXPECT_EQ(std::stod(r.at("run_time")), ToSeconds(w.update - w.start)) << r.at("run_id");
    const double expected = Trapezoid(telemetry.by_node.at(w.node), w.start, w.update);
    const double energy = std::stod(r.at("energy"));
    EXPECT_NEAR(energy, expected, 1e-9 * expected) << r.at("run_id");
    // The window truncated to ms (what wattrun did before) is measurably off.
    const double truncated =
        Trapezoid(telemetry.by_node.at(w.node), FloorDiv(w.start, kMicrosPerMilli) * kMicrosPerMilli,
                  FloorDiv(w.update, kMicrosPerMilli) * kMicrosPerMilli);
    if (std::abs(truncated - expected) > 1e-9 * expected) ++ms_would_fail;
    ++checked;
  }
  EXPECT_GE(checked, 10);
  EXPECT_GE(ms_would_fail, checked / 2);
}

}  // namespace
}  // namespace wattrun
