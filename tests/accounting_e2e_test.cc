// End to end, facility accounting (spec sections 4-5): generate a facility,
// run the pipeline with 1 and 3 ranks as a user would, and check every
// job's energy, idle energy and carbon against an independent in-test
// computation from the raw CSV files (readings, sacct lines, inventory,
// intensity series), the ledger's identities, and rank independence.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "core/config.h"
#include "core/csv.h"
#include "core/hostlist.h"
#include "core/time.h"
#include "tests/test_util.h"

namespace wattrun {
namespace {
namespace fs = std::filesystem;
using testing_util::CsvTable;
using testing_util::ReadCsvTable;
using testing_util::Slurp;

double D(const std::string& s) { return s.empty() ? std::nan("") : std::stod(s); }

// sacct --parsable2 fields ('|'-separated, no quoting).
std::vector<std::string> SplitPipes(std::string_view line) {
  std::vector<std::string> out(1);
  for (char c : line) {
    if (c == '|') {
      out.emplace_back();
    } else if (c != '\r') {
      out.back() += c;
    }
  }
  return out;
}

// One allocation line of the raw sacct files, read without wattrun's parser.
struct RawJob {
  std::string job_id;
  std::vector<std::string> nodes;
  TimeUs start = 0, end = 0;
  double cpus = 0;  // the job's CPU count (0: whole nodes)
};

class Accounting : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* src = std::getenv("WATTRUN_SOURCE_DIR");
    const char* bin = std::getenv("WATTRUN_BINARY");
    ASSERT_TRUE(src && bin) << "run through ctest";
    binary_ = bin;
    config_ = std::string(src) + "/configs/demo.yaml";
    work_ = new testing_util::ScratchDir("wattrun_accounting_e2e");
    Run(binary_ + " generate --config " + config_ + " --output " + Dir("facility") +
        " --scale 0.004 --months 2 --seed 23");
    for (int ranks : {1, 3}) {
      Run("mpirun -n " + std::to_string(ranks) + " " + binary_ + " run --config " + config_ + " --input " +
          Dir("facility") + " --output " + Dir("r" + std::to_string(ranks)));
    }
  }
  static void TearDownTestSuite() { delete work_; }
  static std::string Dir(const std::string& name) { return (work_->path() / name).string(); }
  static void Run(const std::string& command) {
    const std::string log = Dir("last.log");
    const std::string full =
        "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
        "OMPI_MCA_rmaps_base_oversubscribe=1 " +
        command + " > " + log + " 2>&1";
    ASSERT_EQ(std::system(full.c_str()), 0) << command << "\n" << Slurp(log);
  }
  static fs::path Out(const std::string& f) { return work_->path() / "r1" / f; }
  static fs::path In(const std::string& f) { return work_->path() / "facility" / f; }

  static inline std::string binary_, config_;
  static inline testing_util::ScratchDir* work_ = nullptr;
};

std::vector<RawJob> ReadRawJobs(const fs::path& sacct_dir) {
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(sacct_dir)) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  const TimestampPolicy local{TimeZone::Load("America/Denver"), false};
  std::vector<RawJob> jobs;
  for (const auto& f : files) {
    LineReader reader(f);
    std::string_view line;
    if (!reader.Next(&line)) continue;
    std::vector<std::string> header;
    header = SplitPipes(line);
    auto col = [&](const std::string& name) {
      return static_cast<std::size_t>(std::find(header.begin(), header.end(), name) - header.begin());
    };
    while (reader.Next(&line)) {
      const auto fields = SplitPipes(line);
      if (fields.size() != header.size()) continue;
      auto cell = [&](const std::string& name) {
        const std::size_t c = col(name);
        return c < fields.size() ? fields[c] : std::string();
      };
      RawJob j;
      j.job_id = cell("JobID");
      if (j.job_id.find('.') != std::string::npos) continue;
      if (ParseInstant(cell("Start"), local, &j.start) == TimeParseStatus::kBadSyntax) continue;
      if (ParseInstant(cell("End"), local, &j.end) == TimeParseStatus::kBadSyntax) continue;
      try {
        j.nodes = ExpandHostlist(cell("NodeList"));
      } catch (...) {
        continue;
      }
      const std::string tres = cell("AllocTRES");
      if (const auto p = tres.find("cpu="); p != std::string::npos && (p == 0 || tres[p - 1] == ',')) {
        j.cpus = std::stod(tres.substr(p + 4));
      } else if (!cell("AllocCPUS").empty()) {
        j.cpus = std::stod(cell("AllocCPUS"));
      }
      jobs.push_back(std::move(j));
    }
  }
  return jobs;
}

// Every node's readings, first per instant in sorted file order, skipping
// the repeated hour's readings (this simple reader does not resolve it:
// jobs near it are not checked).
std::map<std::string, std::map<TimeUs, double>> ReadRawTelemetry(const fs::path& dir, std::set<std::string>* dst) {
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.path().string().find(".csv") != std::string::npos) files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  const TimestampPolicy policy{TimeZone::Load("America/Denver"), true};
  std::map<std::string, std::map<TimeUs, double>> readings;
  for (const auto& f : files) {
    if (f.find("part-9") != std::string::npos) continue;  // the generator's broken files
    LineReader reader(f);
    std::string_view line;
    std::vector<std::string_view> fields;
    std::string storage;
    if (!reader.Next(&line)) continue;
    // Columns in any order (spec section 1).
    SplitCsvLine(line, ',', &fields, &storage);
    std::size_t c_time = 9, c_node = 9, c_watts = 9;
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (fields[i] == "timestamp") c_time = i;
      if (fields[i] == "node") c_node = i;
      if (fields[i] == "watts") c_watts = i;
    }
    if (c_time == 9 || c_node == 9 || c_watts == 9) continue;
    while (reader.Next(&line)) {
      if (!SplitCsvLine(line, ',', &fields, &storage) || fields.size() != 3) continue;
      TimeUs t = 0;
      double w = 0;
      const auto status = ParseInstant(fields[c_time], policy, &t);
      if (status == TimeParseStatus::kAmbiguous) dst->insert(std::string(fields[c_node]));
      if (status != TimeParseStatus::kOk || !ParseDouble(fields[c_watts], &w) || w < 0) continue;
      readings[std::string(fields[c_node])].emplace(t, w);
    }
  }
  return readings;
}

struct Expected {
  double energy = 0, share_s = 0, carbon = 0;
};

// ∫ W·share dt over [s, e] ∩ [first, last reading] on one node, cut at every
// reading, every start and end of a job on the node and every intensity
// change; on each piece the share is constant and W linear.
Expected IntegrateShare(const std::map<TimeUs, double>& r, const std::vector<const RawJob*>& on_node, const RawJob& job,
                        double node_cpus, const std::vector<std::pair<TimeUs, double>>& g) {
  Expected out;
  if (r.empty()) return out;
  const TimeUs lo = std::max(job.start, r.begin()->first), hi = std::min(job.end, r.rbegin()->first);
  if (lo >= hi) return out;
  std::set<TimeUs> cuts{lo, hi};
  for (auto it = r.lower_bound(lo); it != r.end() && it->first < hi; ++it) cuts.insert(it->first);
  for (const RawJob* k : on_node) {
    for (TimeUs t : {k->start, k->end}) {
      if (t > lo && t < hi) cuts.insert(t);
    }
  }
  for (const auto& [t, v] : g) {
    if (t > lo && t < hi) cuts.insert(t);
  }
  auto w_at = [&](TimeUs t) {
    auto up = r.lower_bound(t);
    if (up->first == t) return up->second;
    auto down = std::prev(up);
    return down->second + (up->second - down->second) * double(t - down->first) / double(up->first - down->first);
  };
  auto weight = [&](const RawJob& k) { return k.cpus > 0 ? k.cpus / double(k.nodes.size()) : node_cpus; };
  for (auto a = cuts.begin(), b = std::next(a); b != cuts.end(); ++a, ++b) {
    const TimeUs mid = *a + (*b - *a) / 2;
    double sum = 0;
    for (const RawJob* k : on_node) {
      if (k->start <= mid && mid < k->end) sum += weight(*k);
    }
    const double share = weight(job) / std::max(node_cpus, sum);
    const double piece = share * (w_at(*a) + w_at(*b)) / 2 * ToSeconds(*b - *a);
    // Each value holds from its time on; the first also before it.
    const auto next = std::upper_bound(g.begin(), g.end(), mid, [](TimeUs x, const auto& p) { return x < p.first; });
    const double g_per_kwh = g.empty() ? 475.0 : (next == g.begin() ? g.front().second : std::prev(next)->second);
    out.energy += piece;
    out.share_s += share * ToSeconds(*b - *a);
    out.carbon += piece * g_per_kwh / 3.6e6;
  }
  return out;
}

// carbon_intensity.csv in time order (empty when there is none).
std::vector<std::pair<TimeUs, double>> ReadIntensity(const fs::path& file) {
  std::vector<std::pair<TimeUs, double>> intensity;
  if (!fs::exists(file)) return intensity;
  for (const auto& row : ReadCsvTable(file)) {
    TimeUs t = 0;
    ParseInstant(row.at("timestamp"), {TimeZone::Utc(), false}, &t);
    intensity.emplace_back(t, D(row.at("g_per_kwh")));
  }
  std::stable_sort(intensity.begin(), intensity.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return intensity;
}

// Near the repeated hour of 2021-11-07 the raw reader skips readings.
bool NearDst(TimeUs start, TimeUs end) {
  const TimeUs dst_end = FromSeconds(1636275600);  // 2021-11-07 09:00 UTC (02:00 MST)
  return std::llabs(start - dst_end) < 2 * kMicrosPerDay || std::llabs(end - dst_end) < 2 * kMicrosPerDay ||
         (start < dst_end && end > dst_end);
}

TEST_F(Accounting, TheNewTablesAreWrittenAndIdenticalOnOneAndThreeRanks) {
  for (const char* f : {"jobs_energy.csv", "usage.csv", "ledger.csv", "quality.csv", "runs_energy.csv"}) {
    const std::string one = Slurp(Out(f));
    EXPECT_FALSE(one.empty()) << f;
    EXPECT_EQ(one, Slurp(work_->path() / "r3" / f)) << f;
  }
}

TEST_F(Accounting, JobEnergiesAgreeWithAnIndependentComputationFromTheRawFiles) {
  const std::vector<RawJob> raw = ReadRawJobs(In("sacct"));
  std::set<std::string> dst_nodes;
  const auto telemetry = ReadRawTelemetry(In("telemetry"), &dst_nodes);
  // The inventory, typed by the config's signatures (CPUS MEMORY TMP_DISK GRES).
  const Config config = LoadConfigFile(config_);
  std::map<std::string, double> cpus;
  std::map<std::string, std::string> node_type;
  for (const auto& n : ReadCsvTable(In("nodes.csv"))) {
    cpus[n.at("HOSTNAMES")] = D(n.at("CPUS"));
    const NodeTypeConfig* t = config.facility.MatchSignature(
        {std::stoll(n.at("CPUS")), std::stoll(n.at("MEMORY")), std::stoll(n.at("TMP_DISK")), n.at("GRES")});
    if (t) node_type[n.at("HOSTNAMES")] = t->name;
  }
  std::map<std::string, double> idle_w;
  for (const auto& row : ReadCsvTable(Out("idle_power.csv"))) idle_w[row.at("node_type")] = D(row.at("idle_w"));
  const std::vector<std::pair<TimeUs, double>> intensity = ReadIntensity(In("carbon_intensity.csv"));
  std::map<std::string, std::vector<const RawJob*>> jobs_on_node;
  for (const auto& j : raw) {
    for (const auto& n : j.nodes) jobs_on_node[n].push_back(&j);
  }
  // An attempt is (JobID, Start): requeued jobs have several.
  std::map<std::string, const RawJob*> raw_by_id;
  for (const auto& j : raw) raw_by_id.emplace(j.job_id + "@" + FormatUtcIso(j.start), &j);
  int checked = 0, shared = 0, multi = 0;
  for (const auto& row : ReadCsvTable(Out("jobs_energy.csv"))) {
    if (row.at("status") != "ok") continue;
    const auto it = raw_by_id.find(row.at("job_id") + "@" + row.at("start"));
    ASSERT_NE(it, raw_by_id.end()) << row.at("job_id");
    const RawJob& job = *it->second;
    bool near_dst = false, overlap = false;
    Expected sum;
    double idle = 0;
    for (const auto& n : job.nodes) {
      near_dst = near_dst || dst_nodes.count(n);
      const auto tel = telemetry.find(n);
      if (tel == telemetry.end() || !cpus.count(n)) continue;
      for (const RawJob* k : jobs_on_node[n])
        overlap = overlap || (k != &job && k->start < job.end && job.start < k->end);
      const Expected e = IntegrateShare(tel->second, jobs_on_node[n], job, cpus.at(n), intensity);
      sum.energy += e.energy;
      sum.carbon += e.carbon;
      const auto type = node_type.find(n);
      if (type != node_type.end() && idle_w.count(type->second)) idle += idle_w[type->second] * e.share_s;
    }
    // The repeated hour's readings were skipped above: compare only jobs far from it.
    if (near_dst && (job.end - job.start) > 0 && NearDst(job.start, job.end)) continue;
    const double tol = 1e-9 * std::max(1.0, sum.energy);
    EXPECT_NEAR(D(row.at("energy")), sum.energy, tol) << row.at("job_id");
    EXPECT_NEAR(D(row.at("idle_energy")), idle, 1e-9 * std::max(1.0, idle)) << row.at("job_id");
    EXPECT_NEAR(D(row.at("dynamic_energy")), D(row.at("energy")) - D(row.at("idle_energy")), tol);
    EXPECT_NEAR(D(row.at("carbon_g")), sum.carbon, 1e-9 * std::max(1.0, sum.carbon)) << row.at("job_id");
    ++checked;
    shared += overlap;
    multi += job.nodes.size() > 1;
  }
  EXPECT_GE(checked, 20);
  std::printf("checked %d ok jobs (%d sharing a node, %d multi-node)\n", checked, shared, multi);
}

// A run is a job of its own over its window: its carbon_g follows every
// intensity step inside the window as a job's does, and its start_time and
// end_time are the window in ISO 8601 UTC.
TEST_F(Accounting, RunCarbonFollowsTheIntensityOverTheRunsWindowAsForJobs) {
  std::set<std::string> dst_nodes;
  const auto telemetry = ReadRawTelemetry(In("telemetry"), &dst_nodes);
  const auto intensity = ReadIntensity(In("carbon_intensity.csv"));
  ASSERT_FALSE(intensity.empty()) << "the demo facility has an intensity series";
  int checked = 0, crossing = 0;
  for (const auto& row : ReadCsvTable(Out("runs_energy.csv"))) {
    if (row.at("status") != "ok") continue;
    RawJob run;
    ASSERT_EQ(ParseInstant(row.at("start_time"), {TimeZone::Utc(), false}, &run.start), TimeParseStatus::kOk)
        << row.at("run_id") << " " << row.at("start_time");
    ASSERT_EQ(ParseInstant(row.at("end_time"), {TimeZone::Utc(), false}, &run.end), TimeParseStatus::kOk);
    EXPECT_EQ(row.at("start_time").back(), 'Z');
    EXPECT_NEAR(ToSeconds(run.end - run.start), D(row.at("run_time")), 1e-3) << row.at("run_id");
    const auto tel = telemetry.find(row.at("node"));
    if (tel == telemetry.end() || (dst_nodes.count(row.at("node")) && NearDst(run.start, run.end))) continue;
    // Readings on both sides of the window: no value held beyond the data.
    if (tel->second.begin()->first > run.start || tel->second.rbegin()->first < run.end) continue;
    run.nodes = {row.at("node")};
    const Expected e = IntegrateShare(tel->second, {&run}, run, 1.0, intensity);  // the whole node
    EXPECT_NEAR(D(row.at("energy")), e.energy, 1e-9 * std::max(1.0, e.energy)) << row.at("run_id");
    EXPECT_NEAR(D(row.at("carbon_g")), e.carbon, 1e-9 * std::max(1.0, e.carbon)) << row.at("run_id");
    ++checked;
    crossing += std::any_of(intensity.begin(), intensity.end(),
                            [&](const auto& g) { return g.first > run.start && g.first < run.end; });
  }
  EXPECT_GE(checked, 20);
  EXPECT_GE(crossing, 5) << "runs whose window crosses an intensity step";
  std::printf("checked %d ok runs (%d crossing an intensity step)\n", checked, crossing);
}

TEST_F(Accounting, StatusesAndEnergiesMatchTheGeneratorsTruth) {
  const CsvTable truth = ReadCsvTable(In("truth/jobs_energy.csv"));
  const CsvTable out = ReadCsvTable(Out("jobs_energy.csv"));
  ASSERT_EQ(out.size(), truth.size());  // one row per allocation, in sacct order
  std::map<std::string, int> statuses;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto& r = out[i];
    const auto& t = truth[i];
    ASSERT_EQ(r.at("job_id"), t.at("job_id")) << i;
    EXPECT_EQ(r.at("status"), t.at("status")) << r.at("job_id");
    EXPECT_EQ(r.at("user"), t.at("user"));
    EXPECT_EQ(r.at("partition"), t.at("partition"));
    EXPECT_EQ(r.at("alloc_cpus"), t.at("alloc_cpus")) << r.at("job_id");
    ++statuses[r.at("status")];
    if (r.at("status") != "ok") continue;
    EXPECT_EQ(r.at("samples"), t.at("samples")) << r.at("job_id");
    EXPECT_NEAR(D(r.at("energy")), D(t.at("energy")), 1e-9 * D(t.at("energy")) + 1e-6) << r.at("job_id");
    EXPECT_NEAR(D(r.at("carbon_g")), D(t.at("carbon_g")), 1e-9 * D(t.at("carbon_g")) + 1e-6)
        << r.at("job_id");  // truth has 6 decimals
    if (!t.at("slurm_energy").empty()) {
      EXPECT_EQ(D(r.at("slurm_energy")), D(t.at("slurm_energy")));
    }
  }
  for (const char* s : {"not_started", "running", "ok"}) EXPECT_GT(statuses[s], 0) << s;
}

TEST_F(Accounting, TheLedgerClosesAndAgreesWithUsage) {
  std::map<std::string, double> job_by_month, usage_by_month;
  for (const auto& row : ReadCsvTable(Out("ledger.csv"))) {
    const double metered = D(row.at("metered_energy"));
    const double job = D(row.at("job_energy"));
    EXPECT_NEAR(job + D(row.at("unallocated_energy")), metered, 1e-9 * metered) << row.at("month");
    EXPECT_LE(job, metered * (1 + 1e-12)) << row.at("month") << " " << row.at("node_type");
    EXPECT_GE(D(row.at("missing_s")), 0.0);
    job_by_month[row.at("month")] += job;
  }
  for (const auto& row : ReadCsvTable(Out("usage.csv"))) usage_by_month[row.at("month")] += D(row.at("energy"));
  ASSERT_FALSE(job_by_month.empty());
  for (const auto& [month, energy] : usage_by_month) {
    // Usage sums the jobs' energy by month; the ledger the shares the node
    // types' meters gave jobs: the same energy, summed in another order.
    EXPECT_NEAR(energy, job_by_month[month], 1e-9 * energy) << month;
  }
}

TEST_F(Accounting, EveryJobStatusIsCountedInQuality) {
  std::map<std::string, std::int64_t> statuses;
  for (const auto& row : ReadCsvTable(Out("jobs_energy.csv"))) ++statuses[row.at("status")];
  std::map<std::string, std::int64_t> counted;
  for (const auto& row : ReadCsvTable(Out("quality.csv"))) {
    if (row.at("stage") == "jobs") counted[row.at("reason")] = std::stoll(row.at("count"));
  }
  for (const char* s : {"not_started", "unknown_node", "running", "missing_all", "missing_some", "zero_watts", "ok"}) {
    EXPECT_TRUE(counted.count(s)) << s;
    EXPECT_EQ(counted[s], statuses[s]) << s;
  }
  EXPECT_GT(statuses["ok"], 20);
}

}  // namespace
}  // namespace wattrun
