// Tests of the synthetic facility generator on one rank: layout and
// columns, determinism, the truth against an independent reading of the
// files, and the proportions of the injected faults.
#include "stages/generate/generate.h"

#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>

#include "core/hostlist.h"
#include "core/time.h"
#include "stages/generate/generate_test_util.h"

namespace wattrun::generate {
namespace {

namespace fs = std::filesystem;
using testing::DemoConfig;
using testing::Lines;
using testing::ReadAll;
using testing::ReadCsv;
using testing::Split;
using testing::Table;

std::string TempDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "wattrun_generate_" + name;
  fs::remove_all(dir);
  return dir;
}

GenerateOptions Options(const std::string& name, double scale = 0.01, int months = 1) {
  GenerateOptions o;
  o.output_dir = TempDir(name);
  o.scale = scale;
  o.months = months;
  o.seed = 7;
  return o;
}

std::map<std::string, std::int64_t> Counts(const std::string& dir, const std::string& section) {
  std::map<std::string, std::int64_t> out;
  const Table t = ReadCsv(dir + "/truth/counts.csv");
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    if (t.At(i, "section") == section) out[t.At(i, "name")] = std::stoll(t.At(i, "count"));
  }
  return out;
}

// The facility written once for the tests below that only read it.
const std::string& DemoDir() {
  static const std::string dir = [] {
    const GenerateOptions o = Options("demo");
    GenerateFacility(DemoConfig(), o, MPI_COMM_SELF);
    return o.output_dir;
  }();
  return dir;
}

TEST(Generate, WritesEverySpecInputWithItsColumns) {
  const std::string& dir = DemoDir();
  const std::map<std::string, std::vector<std::string>> required = {
      {"nodes.csv", {"HOSTNAMES", "CPUS", "MEMORY", "TMP_DISK", "GRES"}},
      {"datasets.csv", {"dataset", "n_observations", "n_features", "n_classes", "task"}},
      {"runs.csv",
       {"run_id", "experiment_id", "slurm_job_id", "start_time", "update_time", "host_name", "size", "depth", "shape",
        "dataset", "learning_rate", "batch_size", "optimizer", "is_gpu"}},
      {"losses.csv", {"experiment_id", "epoch", "test_loss"}},
  };
  for (const auto& [file, columns] : required) {
    const Table t = ReadCsv(dir + "/" + file);
    for (const auto& c : columns) EXPECT_GE(t.Column(c), 0) << file << " lacks " << c;
    EXPECT_GT(t.rows.size(), 0u) << file;
  }
  EXPECT_EQ(ReadCsv(dir + "/datasets.csv").rows.size(), 13u);
  // sacct: one file per month of the window (2021-10-20 + 1 month).
  for (const char* month : {"2021-10", "2021-11"}) {
    const std::vector<std::string> lines = Lines(ReadAll(dir + "/sacct/" + month + ".txt"));
    ASSERT_FALSE(lines.empty());
    const std::vector<std::string> header = Split(lines[0], '|');
    for (const char* c : {"JobID", "NodeList", "Start", "End", "State"}) {
      EXPECT_NE(std::find(header.begin(), header.end(), c), header.end()) << c;
    }
    EXPECT_GT(lines.size(), 10u);
  }
  // Telemetry: some files gzipped, every real file with the three columns.
  int files = 0, gzipped = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir + "/telemetry")) {
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file() || name.rfind("part-9", 0) == 0) continue;
    ++files;
    gzipped += name.size() > 3 && name.substr(name.size() - 3) == ".gz" ? 1 : 0;
    const std::vector<std::string> header = Split(Lines(ReadAll(e.path().string()))[0], ',');
    for (const char* c : {"timestamp", "node", "watts"}) {
      EXPECT_NE(std::find(header.begin(), header.end(), c), header.end()) << name;
    }
  }
  EXPECT_EQ(files, 2);
  EXPECT_EQ(gzipped, 1);
  for (const char* f : {"truth.yaml", "runs.csv", "idle_power.csv", "counts.csv", "jobs.csv", "overheads.csv",
                        "model_parameters.csv", "telemetry_files.csv", "node_power.csv", "experiments.csv"}) {
    EXPECT_TRUE(fs::exists(dir + "/truth/" + f)) << f;
  }
}

TEST(Generate, NodesAreEagleLikeAndInterleaved) {
  const Table t = ReadCsv(DemoDir() + "/nodes.csv");
  std::vector<std::string> memory;
  bool padded = false;
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    const std::string& name = t.At(i, "HOSTNAMES");
    padded = padded || name.find("u0") != std::string::npos;
    if (i < 5) memory.push_back(t.At(i, "MEMORY"));
  }
  EXPECT_EQ(t.At(0, "HOSTNAMES"), "r1i0n0");
  EXPECT_TRUE(padded);
  // cpu1 and cpu2 alternate in the first rack, not in blocks.
  EXPECT_NE(std::set<std::string>(memory.begin(), memory.end()).size(), 1u);
}

TEST(Generate, SameSeedSameBytesOtherSeedOtherBytes) {
  GenerateOptions a = Options("det_a");
  GenerateOptions b = Options("det_b");
  GenerateFacility(DemoConfig(), a, MPI_COMM_SELF);
  GenerateFacility(DemoConfig(), b, MPI_COMM_SELF);
  const auto ta = testing::ReadTree(a.output_dir);
  const auto tb = testing::ReadTree(b.output_dir);
  ASSERT_EQ(ta.size(), tb.size());
  for (const auto& [path, bytes] : ta) {
    ASSERT_TRUE(tb.count(path)) << path;
    EXPECT_TRUE(bytes == tb.at(path)) << path << " differs";
  }
  GenerateOptions c = Options("det_c");
  c.seed = 8;
  GenerateFacility(DemoConfig(), c, MPI_COMM_SELF);
  EXPECT_NE(ReadAll(a.output_dir + "/runs.csv"), ReadAll(c.output_dir + "/runs.csv"));
  // Writing again into a generator's directory replaces it.
  GenerateFacility(DemoConfig(), a, MPI_COMM_SELF);
  EXPECT_EQ(testing::ReadTree(a.output_dir).size(), ta.size());
  for (const auto* o : {&a, &b, &c}) fs::remove_all(o->output_dir);
}

TEST(Generate, LdmsLayoutWritesTheSameReadingsAndItsConfig) {
  GenerateOptions spec = Options("layout_spec", 0.002);
  GenerateOptions ldms = Options("layout_ldms", 0.002);
  ldms.telemetry_layout = TelemetryLayout::kLdms;
  const char* source = std::getenv("WATTRUN_SOURCE_DIR");
  const fs::path root =
      source != nullptr ? fs::path(source) : fs::path(__FILE__).parent_path().parent_path().parent_path();
  ldms.config_yaml = ReadAll((root / "configs" / "demo.yaml").string());
  GenerateFacility(DemoConfig(), spec, MPI_COMM_SELF);
  GenerateFacility(DemoConfig(), ldms, MPI_COMM_SELF);
  // Everything but telemetry is the same; every clean reading is there in both.
  EXPECT_EQ(ReadAll(spec.output_dir + "/runs.csv"), ReadAll(ldms.output_dir + "/runs.csv"));
  EXPECT_EQ(ReadAll(spec.output_dir + "/truth/counts.csv"), ReadAll(ldms.output_dir + "/truth/counts.csv"));
  const std::vector<std::string> lines = Lines(ReadAll(ldms.output_dir + "/telemetry/2021-10/part-0000.csv"));
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[0], "#Time,Time_usec,ProducerName,component_id,job_id,power");
  // The first tick, 2021-10-20 00:00 in Denver (MDT, UTC-6), is 06:00 UTC.
  const std::vector<std::string> first = Split(lines[1], ',');
  ASSERT_EQ(first.size(), 6u);
  EXPECT_EQ(first[0], std::to_string(DaysFromCivil(2021, 10, 20) * 86400 + 6 * 3600) + ".000000");
  EXPECT_EQ(first[1], "000000");
  const Config config = ParseConfig(ReadAll(ldms.output_dir + "/wattrun.yaml"), "wattrun.yaml");
  EXPECT_EQ(config.facility.telemetry_format.timestamp_column, "#Time");
  EXPECT_EQ(config.facility.telemetry_format.node_column, "ProducerName");
  EXPECT_EQ(config.facility.telemetry_format.watts_column, "power");
  EXPECT_EQ(config.facility.telemetry_format.time_format, TelemetryTimeFormat::kEpochSeconds);
  EXPECT_EQ(config.facility.telemetry.timezone, "America/Denver");  // kept from the config given
  EXPECT_TRUE(config.facility.telemetry.ignore_z);
  EXPECT_EQ(config.facility.node_types.size(), 6u);
  EXPECT_FALSE(fs::exists(spec.output_dir + "/wattrun.yaml"));
  for (const auto* o : {&spec, &ldms}) fs::remove_all(o->output_dir);
}

// "YYYY-MM-DD HH:MM:SS[Z]" as seconds of its wall clock (no zone).
std::int64_t LocalSeconds(const std::string& text) {
  const auto n = [&](std::size_t at, std::size_t len) { return std::stoi(text.substr(at, len)); };
  return DaysFromCivil(n(0, 4), n(5, 2), n(8, 2)) * 86400 + n(11, 2) * 3600 + n(14, 2) * 60 + n(17, 2);
}

// Rows of a telemetry file by node: (time text, value text), in file order.
std::map<std::string, std::vector<std::pair<std::string, std::string>>> RowsByNode(const std::string& path) {
  const std::vector<std::string> lines = Lines(ReadAll(path));
  const bool node_first = !lines.empty() && lines[0].rfind("node,", 0) == 0;
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> out;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string> f = Split(lines[i], ',');
    if (f.size() == 3) out[node_first ? f[0] : f[1]].emplace_back(node_first ? f[1] : f[0], f[2]);
  }
  return out;
}

TEST(Generate, EnergyCounterLayoutIntegratesTheSameReadings) {
  GenerateOptions spec = Options("layout_power", 0.002);
  GenerateOptions counter = Options("layout_counter", 0.002);
  spec.dirty = counter.dirty = false;
  counter.telemetry_layout = TelemetryLayout::kEnergyCounter;
  const char* source = std::getenv("WATTRUN_SOURCE_DIR");
  const fs::path root =
      source != nullptr ? fs::path(source) : fs::path(__FILE__).parent_path().parent_path().parent_path();
  counter.config_yaml = ReadAll((root / "configs" / "demo.yaml").string());
  GenerateFacility(DemoConfig(), spec, MPI_COMM_SELF);
  GenerateFacility(DemoConfig(), counter, MPI_COMM_SELF);
  const std::string file = "/telemetry/2021-10/part-0000.csv";
  EXPECT_EQ(Lines(ReadAll(counter.output_dir + file))[0], "timestamp,node,joules");
  const auto watts = RowsByNode(spec.output_dir + file);
  const auto joules = RowsByNode(counter.output_dir + file);
  ASSERT_EQ(watts.size(), joules.size());
  std::int64_t resets = 0;
  for (const auto& [node, w] : watts) {
    const auto& c = joules.at(node);
    ASSERT_EQ(c.size(), w.size()) << node;
    EXPECT_EQ(c[0].second, "0.0000");  // the facility's first tick
    for (std::size_t i = 1; i < c.size(); ++i) {
      ASSERT_EQ(c[i].first, w[i].first);
      // The trapezoid between consecutive readings (a minute apart, or
      // across a gap of the series); a drop only where the counter restarts,
      // to the one trapezoid since.
      const double dt = static_cast<double>(LocalSeconds(c[i].first) - LocalSeconds(c[i - 1].first));
      const double trapezoid = (std::stod(w[i - 1].second) + std::stod(w[i].second)) / 2 * dt;
      const double increment = std::stod(c[i].second) - std::stod(c[i - 1].second);
      if (increment < 0) {
        ++resets;
        EXPECT_NEAR(std::stod(c[i].second), trapezoid, 1e-6) << node << " reset at " << c[i].first;
      } else {
        EXPECT_NEAR(increment, trapezoid, 1e-4) << node << " at " << c[i].first;
      }
    }
  }
  EXPECT_GT(resets, 0);
  const Config config = ParseConfig(ReadAll(counter.output_dir + "/wattrun.yaml"), "wattrun.yaml");
  EXPECT_EQ(config.facility.telemetry_format.kind, TelemetryKind::kEnergyCounter);
  EXPECT_EQ(config.facility.telemetry_format.watts_column, "joules");
  for (const auto* o : {&spec, &counter}) fs::remove_all(o->output_dir);
}

TEST(Generate, RefusesAForeignNonEmptyDirectory) {
  const std::string dir = TempDir("foreign");
  fs::create_directories(dir);
  std::ofstream(dir + "/keep.txt") << "mine\n";
  GenerateOptions o = Options("foreign");
  o.output_dir = dir;
  fs::create_directories(dir);
  std::ofstream(dir + "/keep.txt") << "mine\n";
  EXPECT_ANY_THROW(GenerateFacility(DemoConfig(), o, MPI_COMM_SELF));
  EXPECT_TRUE(fs::exists(dir + "/keep.txt"));
}

// An independent reading of the telemetry as the spec defines it: files in
// sorted path order, bad rows dropped, first value of an instant kept, the
// repeated hour resolved by passes in each node's file order.
struct Readings {
  std::unordered_map<std::string, std::vector<std::pair<TimeUs, double>>> by_node;  // sorted
  std::int64_t bad_rows = 0;
  std::int64_t duplicates = 0;
  std::int64_t conflicts = 0;
};

Readings ReadTelemetry(const std::string& dir, const std::set<std::string>& inventory) {
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir + "/telemetry")) {
    if (e.is_regular_file()) files.push_back(fs::relative(e.path(), dir).string());
  }
  std::sort(files.begin(), files.end());
  TimestampPolicy policy;
  policy.zone = TimeZone::Load("America/Denver");
  policy.ignore_z = true;
  std::unordered_map<std::string, std::map<TimeUs, double>> first;
  std::unordered_map<std::string, std::pair<std::int64_t, int>> pass;  // last ambiguous wall, pass
  Readings out;
  for (const std::string& rel : files) {
    const std::vector<std::string> lines = Lines(ReadAll(dir + "/" + rel));
    if (lines.empty()) continue;
    const std::vector<std::string> header = Split(lines[0], ',');
    auto col = [&](const char* name) {
      return static_cast<int>(std::find(header.begin(), header.end(), name) - header.begin());
    };
    const int ct = col("timestamp"), cn = col("node"), cw = col("watts");
    if (ct == 3 || cn == 3 || cw == 3) continue;
    for (std::size_t i = 1; i < lines.size(); ++i) {
      const std::vector<std::string> f = Split(lines[i], ',');
      if (f.size() != 3) {
        ++out.bad_rows;
        continue;
      }
      const std::string& node = f[static_cast<std::size_t>(cn)];
      const std::string& w = f[static_cast<std::size_t>(cw)];
      TimeUs utc = 0;
      std::int64_t wall = 0;
      const TimeParseStatus st = ParseInstant(f[static_cast<std::size_t>(ct)], policy, &utc, &wall);
      const bool number = !w.empty() && w.find_first_not_of("0123456789") == std::string::npos;
      if (!inventory.count(node) || !number || st == TimeParseStatus::kBadSyntax ||
          st == TimeParseStatus::kNonexistent) {
        ++out.bad_rows;
        continue;
      }
      if (st == TimeParseStatus::kAmbiguous) {
        auto& p = pass[node];
        if (p.second == 0 && p.first == 0) p.second = 0;
        if (p.first != 0 && wall < p.first) ++p.second;
        p.first = wall;
        if (p.second % 2 == 1) utc = policy.zone.FromLocal(wall).later;
      }
      const double v = std::stod(w);
      auto [it, inserted] = first[node].emplace(utc, v);
      if (!inserted) ++(it->second == v ? out.duplicates : out.conflicts);
    }
  }
  for (auto& [node, m] : first) out.by_node[node].assign(m.begin(), m.end());
  return out;
}

// Spec step 3 on an independent series.
double Integrate(const std::vector<std::pair<TimeUs, double>>& s, TimeUs a, TimeUs b, int* samples) {
  const auto lo = std::lower_bound(s.begin(), s.end(), std::make_pair(a, -1e300));
  const auto hi = std::upper_bound(s.begin(), s.end(), std::make_pair(b, 1e300));
  *samples = static_cast<int>(hi - lo);
  if (lo == hi) return std::nan("");
  auto sec = [](TimeUs t) { return ToSeconds(t); };
  double ws = lo->second;
  if (lo != s.begin()) {
    const auto p = lo - 1;
    ws = p->second + (lo->second - p->second) * (sec(a) - sec(p->first)) / (sec(lo->first) - sec(p->first));
  }
  double e = 0.5 * (ws + lo->second) * (sec(lo->first) - sec(a));
  for (auto it = lo; it + 1 != hi; ++it)
    e += 0.5 * (it->second + (it + 1)->second) * (sec((it + 1)->first) - sec(it->first));
  const auto last = hi - 1;
  double wu = last->second;
  if (hi != s.end()) {
    wu = last->second + (hi->second - last->second) * (sec(b) - sec(last->first)) / (sec(hi->first) - sec(last->first));
  }
  return e + 0.5 * (last->second + wu) * (sec(b) - sec(last->first));
}

TimeUs ParseUtc(const std::string& text) {
  TimestampPolicy utc;
  TimeUs t = 0;
  EXPECT_EQ(ParseInstant(text, utc, &t), TimeParseStatus::kOk) << text;
  return t;
}

TEST(Generate, TruthMatchesAnIndependentReadingOfTheFiles) {
  const std::string& dir = DemoDir();
  const Table nodes = ReadCsv(dir + "/nodes.csv");
  std::set<std::string> inventory;
  std::map<std::string, std::string> memory_of;
  for (std::size_t i = 0; i < nodes.rows.size(); ++i) {
    inventory.insert(nodes.At(i, "HOSTNAMES"));
    memory_of[nodes.At(i, "HOSTNAMES")] = nodes.At(i, "MEMORY");
  }
  const Readings r = ReadTelemetry(dir, inventory);
  const auto telemetry = Counts(dir, "telemetry");
  EXPECT_EQ(r.duplicates, telemetry.at("duplicate"));
  EXPECT_EQ(r.conflicts, telemetry.at("conflict"));
  EXPECT_GT(r.duplicates, 0);
  EXPECT_GT(r.conflicts, 0);
  std::int64_t clean = 0;
  for (const auto& [node, s] : r.by_node) clean += static_cast<std::int64_t>(s.size());
  EXPECT_EQ(clean, telemetry.at("clean_rows"));
  EXPECT_EQ(r.bad_rows, telemetry.at("field_count") + telemetry.at("bad_watts") + telemetry.at("negative_watts") +
                            telemetry.at("bad_time") + telemetry.at("nonexistent_time") + telemetry.at("unknown_node") +
                            telemetry.at("empty_node"));

  // Every run whose status reaches integration: samples and energy agree.
  const Table runs = ReadCsv(dir + "/truth/runs.csv");
  int checked = 0;
  for (std::size_t i = 0; i < runs.rows.size(); ++i) {
    const std::string status = runs.At(i, "expected_status");
    if (status != "ok" && status != "missing_some" && status != "zero_watts" && status != "missing_all") continue;
    const auto& series = r.by_node.at(runs.At(i, "host_name"));
    int samples = 0;
    const double e =
        Integrate(series, ParseUtc(runs.At(i, "start_time")), ParseUtc(runs.At(i, "update_time")), &samples);
    EXPECT_EQ(std::to_string(samples), runs.At(i, "samples")) << runs.At(i, "run_id");
    if (status == "missing_all") continue;
    const double truth = std::stod(runs.At(i, "energy_j"));
    EXPECT_NEAR(e, truth, 1e-9 * truth + 1e-6) << runs.At(i, "run_id");
    ++checked;
  }
  EXPECT_GT(checked, 300);

  // Idle power: the pooled 2 % quantile of every reading of a type.
  std::map<std::string, std::vector<double>> by_memory;
  for (const auto& [node, s] : r.by_node) {
    for (const auto& [t, w] : s) by_memory[memory_of[node]].push_back(w);
  }
  const Table idle = ReadCsv(dir + "/truth/idle_power.csv");
  const std::map<std::string, std::string> memory_of_type = {{"cpu1", "85248"}, {"cpu2", "180224"}, {"gpu1", "770048"}};
  for (std::size_t i = 0; i < idle.rows.size(); ++i) {
    auto v = by_memory[memory_of_type.at(idle.At(i, "node_type"))];
    std::sort(v.begin(), v.end());
    const double h = static_cast<double>(v.size() - 1) * 0.02;
    const std::size_t lo = static_cast<std::size_t>(h);
    const double q = v[lo] + (h - static_cast<double>(lo)) * (v[lo + 1] - v[lo]);
    EXPECT_DOUBLE_EQ(q, std::stod(idle.At(i, "idle_w"))) << idle.At(i, "node_type");
    EXPECT_DOUBLE_EQ(q, std::stod(idle.At(i, "idle_w_config"))) << idle.At(i, "node_type");
    EXPECT_EQ(std::to_string(v.size()), idle.At(i, "readings"));
  }
}

TEST(Generate, DirtLogPointsAtTheDirtyLines) {
  const std::string& dir = DemoDir();
  const Table log = ReadCsv(dir + "/truth/telemetry_dirt.csv");
  std::map<std::string, std::vector<std::string>> files;
  std::map<std::string, int> kinds;
  for (std::size_t i = 0; i < log.rows.size(); ++i) {
    const std::string& file = log.At(i, "file");
    if (!files.count(file)) files[file] = Lines(ReadAll(dir + "/" + file));
    const std::vector<std::string>& lines = files[file];
    const std::size_t line = std::stoul(log.At(i, "line"));
    ASSERT_LE(line, lines.size());
    const std::string& text = lines[line - 1];
    const std::string kind = log.At(i, "kind");
    ++kinds[kind];
    const std::string& detail = log.At(i, "detail");
    if (kind == "duplicate" || kind == "conflict") {
      if (detail.rfind("lines ", 0) == 0) continue;  // the overlap block
      EXPECT_NE(text.find(log.At(i, "node")), std::string::npos) << text;
      EXPECT_NE(text.find(log.At(i, "timestamp")), std::string::npos) << text;
      const std::string watts = detail.substr(6, detail.find(',') - 6);
      EXPECT_EQ(text.substr(text.rfind(',') + 1), watts) << text;
    } else if (kind == "out_of_order") {
      EXPECT_NE(text.find(log.At(i, "timestamp")), std::string::npos) << text;
    } else {
      EXPECT_EQ(text, detail) << kind;
    }
  }
  const auto telemetry = Counts(dir, "telemetry");
  for (const char* k : {"conflict", "out_of_order", "field_count", "bad_watts", "bad_time", "unknown_node"}) {
    EXPECT_EQ(kinds[k], telemetry.at(k)) << k;
  }
}

// Eq. 10: the test loss is lowest near the epoch the law gives, and that
// epoch falls as networks grow.
TEST(Generate, LossCurvesFollowEquation10) {
  const std::string& dir = DemoDir();
  const Table experiments = ReadCsv(dir + "/truth/experiments.csv");
  const Table losses = ReadCsv(dir + "/losses.csv");
  std::map<std::string, std::pair<double, double>> best;  // id -> (loss, epoch)
  for (std::size_t i = 0; i < losses.rows.size(); ++i) {
    const double loss = std::stod(losses.At(i, "test_loss"));
    auto [it, inserted] = best.emplace(losses.At(i, "experiment_id"), std::make_pair(loss, 0.0));
    if (inserted || loss < it->second.first) it->second = {loss, std::stod(losses.At(i, "epoch"))};
  }
  ASSERT_EQ(best.size(), experiments.rows.size());
  int checked = 0;
  std::vector<std::pair<double, double>> params_epoch;
  for (std::size_t i = 0; i < experiments.rows.size(); ++i) {
    const double min_epoch = std::stod(experiments.At(i, "min_epoch"));
    params_epoch.emplace_back(std::stod(experiments.At(i, "n_params")), min_epoch);
    if (min_epoch > 2000) continue;
    const double found = best.at(experiments.At(i, "experiment_id")).second;
    EXPECT_LT(std::fabs(std::log(found / min_epoch)), std::log(2.5)) << experiments.At(i, "experiment_id");
    ++checked;
  }
  EXPECT_GT(checked, 100);
  std::sort(params_epoch.begin(), params_epoch.end());
  EXPECT_GT(params_epoch.front().second, params_epoch.back().second);
}

TEST(Generate, MeasuredStandardizedEnergyFollowsTheModel) {
  const Table runs = ReadCsv(DemoDir() + "/truth/runs.csv");
  int n = 0;
  double sum_log = 0.0;
  for (std::size_t i = 0; i < runs.rows.size(); ++i) {
    if (runs.At(i, "expected_status") != "ok" || runs.At(i, "filter") == "true") continue;
    const double measured = std::stod(runs.At(i, "expected_std_energy_j"));
    const double intended = std::stod(runs.At(i, "std_energy_j"));
    // Short runs share edge samples with their neighbours: only longer
    // runs are held to the model tightly.
    if (std::stod(runs.At(i, "run_time_s")) >= 600) {
      EXPECT_NEAR(measured / intended, 1.0, 0.02) << runs.At(i, "run_id");
    }
    if (runs.At(i, "is_gpu") == "true") {
      sum_log += std::log(measured / std::stod(runs.At(i, "model_energy_j")));
      ++n;
    }
  }
  ASSERT_GT(n, 50);
  EXPECT_NEAR(sum_log / n, 0.0, 0.05);  // GPU noise is centred on the model
}

TEST(Generate, SacctAndRunsJoin) {
  const std::string& dir = DemoDir();
  std::map<std::string, std::vector<std::string>> job_nodes;
  std::set<std::string> steps;
  bool array = false, zero_padded = false, unknown_end = false, het = false;
  for (const auto& e : fs::directory_iterator(dir + "/sacct")) {
    const std::vector<std::string> lines = Lines(ReadAll(e.path().string()));
    const std::vector<std::string> header = Split(lines[0], '|');
    auto col = [&](const char* name) {
      return static_cast<std::size_t>(std::find(header.begin(), header.end(), name) - header.begin());
    };
    const std::size_t job_id = col("JobID"), node_list = col("NodeList"), end = col("End");
    ASSERT_LT(std::max({job_id, node_list, end}), header.size());
    for (std::size_t i = 1; i < lines.size(); ++i) {
      const std::vector<std::string> f = Split(lines[i], '|');
      if (f.size() != header.size()) continue;  // an injected bad line
      const std::string& id = f[job_id];
      if (id.find('.') != std::string::npos) {
        steps.insert(id.substr(0, id.find('.')));
        continue;
      }
      array = array || id.find('_') != std::string::npos;
      het = het || id.find('+') != std::string::npos;
      zero_padded = zero_padded || f[node_list].find("u0") != std::string::npos;
      unknown_end = unknown_end || f[end] == "Unknown";
      job_nodes[id] = ExpandHostlist(f[node_list]);
    }
  }
  EXPECT_TRUE(array);
  EXPECT_TRUE(het);
  EXPECT_TRUE(zero_padded);
  EXPECT_TRUE(unknown_end);
  const Table runs = ReadCsv(dir + "/truth/runs.csv");
  for (std::size_t i = 0; i < runs.rows.size(); ++i) {
    if (runs.At(i, "expected_status") != "ok") continue;
    const auto it = job_nodes.find(runs.At(i, "slurm_job_id"));
    ASSERT_NE(it, job_nodes.end()) << runs.At(i, "slurm_job_id");
    EXPECT_NE(std::find(it->second.begin(), it->second.end(), runs.At(i, "host_name")), it->second.end());
    EXPECT_TRUE(steps.count(runs.At(i, "slurm_job_id")));
  }
}

// Statuses and filters in the paper's proportions (per 41,129 runs), at a
// scale with a few thousand runs.
TEST(Generate, FaultProportionsFollowThePaper) {
  const GenerateOptions o = Options("proportions", 0.05, 2);
  const GenerateSummary s = GenerateFacility(DemoConfig(), o, MPI_COMM_SELF);
  const auto status = Counts(o.output_dir, "status");
  const auto filter = Counts(o.output_dir, "filter");
  const double runs = static_cast<double>(s.runs);
  ASSERT_GT(runs, 1800);
  auto expect_share = [&](std::int64_t count, double paper, const char* what) {
    const double want = paper / 41129.0 * runs;
    EXPECT_NEAR(static_cast<double>(count), want, std::max(2.0, 0.3 * want)) << what;
  };
  auto get = [](const std::map<std::string, std::int64_t>& m, const char* k) {
    return m.count(k) ? m.at(k) : std::int64_t{0};
  };
  expect_share(get(status, "missing_all"), 44, "missing_all");
  expect_share(get(status, "missing_some"), 137 + 14, "missing_some");
  expect_share(get(status, "zero_watts"), 470, "zero_watts");
  expect_share(get(filter, "filter_1"), 163, "filter_1");
  expect_share(get(filter, "filter_3_not_filter_1"), 78, "filter_3 beyond filter_1");
  // Most long runs started on the bad day.
  const auto fault = Counts(o.output_dir, "fault");
  EXPECT_GE(fault.at("long_run_bad_day"), 3 * fault.at("long_run"));
  // Join and row faults are rare but present.
  for (const char* k : {"unknown_node", "no_job", "host_not_in_job", "outside_job_window", "bad_run_row", "bad_window",
                        "job_running"}) {
    EXPECT_GE(get(status, k), 1) << k;
    EXPECT_LE(get(status, k), std::max(12.0, runs / 500)) << k;
  }
  fs::remove_all(o.output_dir);
}

// ---- facility accounting (spec section 4) ----------------------------------

// sacct allocation lines in sacct order (sorted paths, then lines), as
// column -> value; steps and lines of the wrong width are left out.
std::vector<std::map<std::string, std::string>> SacctAllocations(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir + "/sacct")) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  std::vector<std::map<std::string, std::string>> out;
  for (const std::string& file : files) {
    const std::vector<std::string> lines = Lines(ReadAll(file));
    const std::vector<std::string> header = Split(lines[0], '|');
    for (std::size_t i = 1; i < lines.size(); ++i) {
      const std::vector<std::string> f = Split(lines[i], '|');
      if (f.size() != header.size() || f[0].find('.') != std::string::npos) continue;
      std::map<std::string, std::string> row;
      for (std::size_t k = 0; k < f.size(); ++k) row[header[k]] = f[k];
      out.push_back(std::move(row));
    }
  }
  return out;
}

TimeUs DenverTime(const std::string& text) {
  TimestampPolicy policy;
  policy.zone = TimeZone::Load("America/Denver");
  TimeUs t = 0;
  const TimeParseStatus status = ParseInstant(text, policy, &t);
  // A single ambiguous sacct time is the earlier instant (spec section 1).
  EXPECT_TRUE(status == TimeParseStatus::kOk || status == TimeParseStatus::kAmbiguous) << text;
  return t;
}

// cpu= of an AllocTRES text, or -1 when the text is empty; fails the test on
// a malformed text.
std::int64_t TresCpus(const std::string& tres) {
  if (tres.empty()) return -1;
  std::int64_t cpus = -1;
  for (const std::string& item : Split(tres, ',')) {
    const std::size_t eq = item.find('=');
    EXPECT_NE(eq, std::string::npos) << tres;
    if (eq == std::string::npos) continue;
    const std::string value = item.substr(eq + 1);
    EXPECT_FALSE(value.empty()) << tres;
    if (item.substr(0, eq) == "cpu") cpus = std::stoll(value);
  }
  EXPECT_GT(cpus, 0) << tres;
  return cpus;
}

TEST(GenerateAccounting, OptionalSacctColumnsArePresentAndParseable) {
  const std::string& dir = DemoDir();
  const std::vector<std::string> header = Split(Lines(ReadAll(dir + "/sacct/2021-10.txt"))[0], '|');
  auto at = [&](const char* c) { return std::find(header.begin(), header.end(), c) - header.begin(); };
  for (const char* c : {"User", "Account", "Partition", "AllocCPUS", "AllocTRES", "ConsumedEnergyRaw"}) {
    EXPECT_LT(at(c), static_cast<std::ptrdiff_t>(header.size())) << c;
  }
  EXPECT_LT(at("State"), at("Start"));  // not the spec's order of the required columns
  std::set<std::string> users, accounts, partitions;
  int gpu_tres = 0, energies = 0, tres_only_cpus = 0;
  for (const auto& row : SacctAllocations(dir)) {
    if (row.at("JobIDRaw") == "6099992") continue;  // the injected bad time
    users.insert(row.at("User"));
    accounts.insert(row.at("Account"));
    partitions.insert(row.at("Partition"));
    const std::int64_t alloc = std::stoll(row.at("AllocCPUS"));
    const std::int64_t tres = TresCpus(row.at("AllocTRES"));
    if (tres > 0) {
      EXPECT_EQ(tres, alloc) << row.at("JobID");
    }
    if (tres < 0 && alloc > 0) ++tres_only_cpus;
    if (row.at("AllocTRES").find("gres/gpu:v100=") != std::string::npos) {
      ++gpu_tres;
      EXPECT_NE(row.at("AllocTRES").find(",gres/gpu="), std::string::npos);
      EXPECT_EQ(row.at("Partition"), "gpu");
    }
    const std::string& energy = row.at("ConsumedEnergyRaw");
    if (!energy.empty()) {
      EXPECT_EQ(energy.find_first_not_of("0123456789"), std::string::npos) << energy;
      energies += std::stoll(energy) > 0 ? 1 : 0;
    }
  }
  EXPECT_GE(users.size(), 10u);
  EXPECT_LE(users.size(), 21u);
  EXPECT_GE(accounts.size(), 5u);
  EXPECT_LE(accounts.size(), 9u);
  for (const char* p : {"short", "standard", "gpu", "debug", "shared"}) EXPECT_TRUE(partitions.count(p)) << p;
  EXPECT_GT(gpu_tres, 5);
  EXPECT_GT(energies, 5);
  EXPECT_GT(tres_only_cpus, 0);
}

TEST(GenerateAccounting, JobsOfEveryKindExist) {
  const std::string& dir = DemoDir();
  const std::vector<std::string> steps_state = {"TIMEOUT", "FAILED", "COMPLETED", "RUNNING"};
  std::map<std::string, int> kinds;
  for (const auto& row : SacctAllocations(dir)) {
    const std::string& list = row.at("NodeList");
    const std::string& state = row.at("State");
    if (list.find('[') != std::string::npos && ExpandHostlist(list).size() > 1) ++kinds["multi_node"];
    if (row.at("Start") == "Unknown" && list == "None assigned") ++kinds["pending"];
    if (row.at("End") == "Unknown" && state == "RUNNING") ++kinds["running"];
    if (state.rfind("CANCELLED by ", 0) == 0 && row.at("Start") == "None") ++kinds["cancelled_unstarted"];
    if (state == "TIMEOUT" || state == "FAILED") ++kinds[state];
  }
  for (const char* k : {"multi_node", "pending", "running", "cancelled_unstarted", "TIMEOUT", "FAILED"}) {
    EXPECT_GT(kinds[k], 0) << k;
  }
  const auto jobs = Counts(dir, "jobs");
  for (const char* s : {"not_started", "running", "unknown_node", "ok"})
    EXPECT_GT(jobs.count(s) ? jobs.at(s) : 0, 0) << s;
  EXPECT_GT(jobs.at("ok"), 300);  // a few hundred background jobs at least
}

TEST(GenerateAccounting, SharedNodesOverlapBelowAndAboveTheirCpus) {
  std::map<std::string, std::vector<std::tuple<TimeUs, TimeUs, std::int64_t>>> by_node;
  for (const auto& row : SacctAllocations(DemoDir())) {
    if (row.at("Partition") != "shared") continue;
    if (row.at("Start") == "Unknown" || row.at("Start") == "None") continue;
    by_node[row.at("NodeList")].emplace_back(DenverTime(row.at("Start")), DenverTime(row.at("End")),
                                             std::stoll(row.at("AllocCPUS")));
  }
  ASSERT_GT(by_node.size(), 3u);
  int over = 0, under_with_two = 0;
  for (const auto& [node, jobs] : by_node) {
    for (const auto& [s, e, c] : jobs) {  // the CPU sum just after each start
      std::int64_t sum = 0;
      int running = 0;
      for (const auto& [s2, e2, c2] : jobs) {
        if (s2 <= s && e2 > s) {
          sum += c2;
          ++running;
        }
      }
      over += sum > 36 ? 1 : 0;
      under_with_two += running >= 2 && sum < 36 ? 1 : 0;
    }
  }
  EXPECT_GT(over, 0);
  EXPECT_GT(under_with_two, 10);
}

TEST(GenerateAccounting, CarbonIntensityIsHourlyAndSorted) {
  const Table t = ReadCsv(DemoDir() + "/carbon_intensity.csv");
  ASSERT_GT(t.rows.size(), 24u * 30);
  TimeUs previous = 0;
  double lo = 1e9, hi = 0;
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    const std::string& ts = t.At(i, "timestamp");
    EXPECT_TRUE(ts.find('Z') != std::string::npos || ts.find("+00:00") != std::string::npos) << ts;
    const TimeUs at = ParseUtc(ts);
    if (i > 0) {
      EXPECT_EQ(at - previous, kMicrosPerHour) << ts;
    }
    previous = at;
    const double g = std::stod(t.At(i, "g_per_kwh"));
    lo = std::min(lo, g);
    hi = std::max(hi, g);
  }
  EXPECT_GE(lo, 300.0);
  EXPECT_LE(hi, 600.0);
  EXPECT_GT(hi - lo, 150.0);  // a daily cycle
  EXPECT_LE(ParseUtc(t.At(0, "timestamp")), ParseUtc("2021-10-20 06:00:00"));
}

// The share rule computed here from the files alone: node power linear
// between the readings, split at every reading and job boundary.
double SharedEnergy(const std::vector<std::pair<TimeUs, double>>& series,
                    const std::vector<std::tuple<TimeUs, TimeUs, double>>& jobs, std::size_t which, double cpus) {
  std::vector<TimeUs> cuts;
  for (const auto& [s, e, w] : jobs) {
    cuts.push_back(s);
    cuts.push_back(e);
  }
  for (const auto& [t, w] : series) cuts.push_back(t);
  std::sort(cuts.begin(), cuts.end());
  auto power = [&](TimeUs t) {
    const auto hi = std::lower_bound(series.begin(), series.end(), std::make_pair(t, -1e300));
    if (hi->first == t || hi == series.begin()) return hi->second;
    const auto lo = hi - 1;
    return lo->second +
           (hi->second - lo->second) * static_cast<double>(t - lo->first) / static_cast<double>(hi->first - lo->first);
  };
  const auto [s, e, w] = jobs[which];
  double energy = 0.0;
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
    const TimeUs p = cuts[i], q = cuts[i + 1];
    if (q <= p || p < s || q > e) continue;
    double total = 0.0;
    for (const auto& [s2, e2, w2] : jobs) total += s2 <= p && e2 >= q ? w2 : 0.0;
    energy += w / std::max(cpus, total) * 0.5 * (power(p) + power(q)) * ToSeconds(q - p);
  }
  return energy;
}

TEST(GenerateAccounting, JobsEnergyTruthMatchesTheFiles) {
  const std::string& dir = DemoDir();
  const Table truth = ReadCsv(dir + "/truth/jobs_energy.csv");
  std::vector<std::map<std::string, std::string>> sacct;
  for (auto& row : SacctAllocations(dir)) {
    if (row.at("JobIDRaw") != "6099992") sacct.push_back(std::move(row));
  }
  ASSERT_EQ(truth.rows.size(), sacct.size());
  const Table nodes = ReadCsv(dir + "/nodes.csv");
  std::set<std::string> inventory;
  for (std::size_t i = 0; i < nodes.rows.size(); ++i) inventory.insert(nodes.At(i, "HOSTNAMES"));
  const Readings r = ReadTelemetry(dir, inventory);
  // Every started single-node job, by node, with its sacct weight.
  std::map<std::string, std::vector<std::tuple<TimeUs, TimeUs, double>>> on_node;
  std::map<std::string, std::vector<std::size_t>> rows_on_node;
  int exclusive = 0, shared = 0;
  for (std::size_t i = 0; i < truth.rows.size(); ++i) {
    EXPECT_EQ(truth.At(i, "job_id"), sacct[i].at("JobID"));
    const std::string status = truth.At(i, "status");
    if (status == "not_started") continue;
    const double energy = std::stod(truth.At(i, "energy"));
    EXPECT_NEAR(std::stod(truth.At(i, "idle_energy")) + std::stod(truth.At(i, "dynamic_energy")), energy,
                1e-5 * energy + 1e-5);
    if (status == "running" || status == "unknown_node") continue;
    EXPECT_EQ(ParseUtc(truth.At(i, "start")), DenverTime(sacct[i].at("Start")));
    EXPECT_EQ(ParseUtc(truth.At(i, "end")), DenverTime(sacct[i].at("End")));
    const std::string& node = sacct[i].at("NodeList");
    if (node.find_first_of(",[") != std::string::npos) continue;
    const std::int64_t tres = TresCpus(sacct[i].at("AllocTRES"));
    const std::int64_t alloc = std::stoll(sacct[i].at("AllocCPUS"));
    const double w = static_cast<double>(tres > 0 ? tres : alloc > 0 ? alloc : 36);
    on_node[node].emplace_back(ParseUtc(truth.At(i, "start")), ParseUtc(truth.At(i, "end")), w);
    rows_on_node[node].push_back(i);
    if (truth.At(i, "shared") == "false" && status == "ok") {
      // Exclusive: the whole node's power over the window, as for a run.
      int samples = 0;
      const double e =
          Integrate(r.by_node.at(node), ParseUtc(truth.At(i, "start")), ParseUtc(truth.At(i, "end")), &samples);
      EXPECT_NEAR(energy, e, 1e-9 * e) << truth.At(i, "job_id");
      EXPECT_EQ(std::to_string(samples), truth.At(i, "samples")) << truth.At(i, "job_id");
      ++exclusive;
    }
  }
  for (const auto& [node, jobs] : on_node) {
    for (std::size_t k = 0; k < jobs.size(); ++k) {
      const std::size_t i = rows_on_node[node][k];
      if (truth.At(i, "shared") != "true") continue;
      const double e = SharedEnergy(r.by_node.at(node), jobs, k, 36.0);
      EXPECT_NEAR(std::stod(truth.At(i, "energy")), e, 1e-9 * e + 1e-6) << truth.At(i, "job_id");
      ++shared;
    }
  }
  EXPECT_GT(exclusive, 50);
  EXPECT_GT(shared, 200);
}

TEST(Generate, CleanFacilityHasNoDirt) {
  GenerateOptions o = Options("clean");
  o.dirty = false;
  GenerateFacility(DemoConfig(), o, MPI_COMM_SELF);
  const auto telemetry = Counts(o.output_dir, "telemetry");
  for (const char* k : {"duplicate", "conflict", "out_of_order", "field_count", "bad_watts", "negative_watts",
                        "bad_time", "unknown_node", "empty_node", "broken_files"}) {
    EXPECT_EQ(telemetry.at(k), 0) << k;
  }
  EXPECT_EQ(telemetry.at("rows"), telemetry.at("clean_rows"));
  const auto status = Counts(o.output_dir, "status");
  for (const char* k :
       {"unknown_node", "no_job", "host_not_in_job", "outside_job_window", "bad_run_row", "bad_window"}) {
    EXPECT_EQ(status.count(k), 0u) << k;
  }
  EXPECT_GE(status.at("missing_all"), 1);  // the paper's faults stay
}

TEST(Generate, RejectsBadOptions) {
  GenerateOptions o = Options("bad");
  o.scale = 0;
  EXPECT_ANY_THROW(GenerateFacility(DemoConfig(), o, MPI_COMM_SELF));
  o.scale = 0.01;
  o.months = 0;
  EXPECT_ANY_THROW(GenerateFacility(DemoConfig(), o, MPI_COMM_SELF));
}

}  // namespace
}  // namespace wattrun::generate
