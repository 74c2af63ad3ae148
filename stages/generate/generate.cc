#include "stages/generate/generate.h"

#include <mpi.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>

#include "core/error.h"
#include "core/mpi.h"
#include "stages/generate/facility_files.h"
#include "stages/generate/job_accounting.h"
#include "stages/generate/openmetrics_writer.h"
#include "stages/generate/plan.h"
#include "stages/generate/telemetry_writer.h"
#include "stages/generate/text_format.h"
#include "stages/generate/truth.h"

namespace wattrun::generate {
namespace {

namespace fs = std::filesystem;

// Marks a directory as written by the generator, so that a later run may
// replace it without touching anything else.
constexpr const char* kMarker = ".wattrun-generate";

// Makes output_dir ready: created if absent, a previous generator output
// removed, any other non-empty directory refused.
void PrepareOutputDir(const Plan& plan, const std::string& dir) {
  if (dir.empty()) throw Error("generate: no output directory given");
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) throw Error("generate: " + dir + " exists and is not a directory");
    const bool empty = fs::is_empty(dir, ec);
    if (!empty) {
      if (!fs::exists(fs::path(dir) / kMarker)) {
        throw Error("generate: " + dir +
                    " is not empty and was not written by `wattrun generate`; choose another --output");
      }
      for (const char* name : {"nodes.csv", "datasets.csv", "runs.csv", "losses.csv", "carbon_intensity.csv", "sacct",
                               "telemetry", "truth", "wattrun.yaml", "openmetrics"}) {
        fs::remove_all(fs::path(dir) / name, ec);
        if (ec) throw Error("generate: cannot remove " + (fs::path(dir) / name).string() + ": " + ec.message());
      }
    }
  }
  fs::create_directories(fs::path(dir) / "sacct");
  fs::create_directories(fs::path(dir) / "truth");
  for (const MonthSpan& m : plan.months) fs::create_directories(fs::path(dir) / "telemetry" / m.label);
  if (plan.options.telemetry_layout == TelemetryLayout::kOpenMetrics)
    fs::create_directories(fs::path(dir) / "openmetrics");
  std::ofstream(fs::path(dir) / kMarker) << "written by wattrun generate; the directory may be replaced by it\n";
}

// Telemetry files per rank: longest first to the least loaded rank (gzip
// files cost about three plain ones; rank 0 starts with the small files).
// Which rank writes a file does not change its bytes.
std::vector<std::vector<std::size_t>> AssignFiles(const Plan& plan, int ranks) {
  std::vector<double> cost(plan.files.size());
  for (std::size_t i = 0; i < plan.files.size(); ++i) {
    const TelemetryFilePlan& f = plan.files[i];
    const MonthSpan& m = plan.months[static_cast<std::size_t>(f.month)];
    cost[i] =
        static_cast<double>(f.n_nodes) * static_cast<double>(m.last_tick - m.first_tick + 1) * (f.gzip ? 3.0 : 1.0);
  }
  std::vector<std::size_t> order(plan.files.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return cost[a] > cost[b]; });
  std::vector<double> load(static_cast<std::size_t>(ranks), 0.0);
  load[0] = 40.0 * static_cast<double>(plan.jobs.size() + plan.runs.size());
  // Rank 0 also integrates every job's node-ticks for the accounting truth
  // (measured: about 1.5 writing ticks each).
  for (const PlanJob& j : plan.jobs) {
    if (!j.started) continue;
    const TimeMs end = j.running ? plan.window_end : j.end_ms;
    load[0] += 1.5 * static_cast<double>(j.nodes.size()) * static_cast<double>(end - j.start_ms) /
               static_cast<double>(plan.step_ms);
  }
  std::vector<std::vector<std::size_t>> out(static_cast<std::size_t>(ranks));
  for (const std::size_t i : order) {
    const std::size_t r = static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    out[r].push_back(i);
    load[r] += cost[i];
  }
  for (auto& files : out) std::sort(files.begin(), files.end());
  return out;
}

// This rank's share of the OpenMetrics blocks: a contiguous range (the
// series are read sequentially), the blocks split evenly over the ranks.
OpenMetricsStats WriteRankOpenMetrics(const Plan& plan, const Comm& comm, const std::string& dir) {
  const OpenMetricsBlocks all = OpenMetricsBlocksOf(plan);
  const std::int64_t count = all.last_block - all.first_block + 1;
  const std::int64_t first = all.first_block + count * comm.rank() / comm.size();
  const std::int64_t last = all.first_block + count * (comm.rank() + 1) / comm.size() - 1;
  return WriteOpenMetricsBlocks(plan, dir, first, last);
}

// What one rank wrote in the telemetry phase.
struct RankTelemetry {
  std::int64_t rows = 0;
  std::int64_t bytes = 0;
  std::int64_t openmetrics_bytes = 0;  // of which OpenMetrics blocks
  double seconds = 0.0;
};

// Rank 0's small files: everything but telemetry and the truth.
void WriteSmallFiles(const Plan& plan, const std::string& dir, SmallFileStats* small, JobAccounting* accounting) {
  WriteNodesCsv(plan, dir, small);
  WriteDatasetsCsv(plan, dir, small);
  WriteRunsCsv(plan, dir, small);
  *accounting = ComputeJobAccounting(plan);
  WriteSacct(plan, *accounting, dir, small);
  WriteCarbonIntensityCsv(plan, dir, small);
  WriteLossesCsv(plan, dir, small);
  WriteBrokenTelemetryFiles(plan, dir, small);
  if (plan.options.telemetry_layout != TelemetryLayout::kSpec && !plan.options.config_yaml.empty()) {
    OutputFile out(dir + "/wattrun.yaml", false);
    out.Write(plan.options.telemetry_layout == TelemetryLayout::kOpenMetrics
                  ? OpenMetricsConfigYaml(plan, plan.options.config_yaml)
                  : ConfigYamlForLayout(plan.options.config_yaml, plan.options.telemetry_layout));
    small->bytes += out.Close();
  }
}

// This rank's share of the telemetry files, ticking `progress` per file.
RankTelemetry WriteRankTelemetry(const Plan& plan, const Comm& comm, const std::string& dir, Progress* progress,
                                 NodeHistograms* histograms, std::vector<TelemetryFileStats>* file_stats) {
  RankTelemetry mine;
  const double t1 = MPI_Wtime();
  const std::vector<std::vector<std::size_t>> assignment = AssignFiles(plan, comm.size());
  const auto& my_files = assignment[static_cast<std::size_t>(comm.rank())];
  if (progress) {
    progress->Begin("generate: telemetry", static_cast<std::int64_t>(my_files.size()),
                    static_cast<std::int64_t>(plan.files.size()), "files");
  }
  for (const std::size_t i : my_files) {
    (*file_stats)[i] = WriteTelemetryFile(plan, plan.files[i], dir, histograms);
    mine.rows += (*file_stats)[i].rows;
    mine.bytes += (*file_stats)[i].bytes_on_disk;
    AddProgress(progress, 1);
  }
  if (progress) progress->End();
  if (plan.options.telemetry_layout == TelemetryLayout::kOpenMetrics) {
    mine.openmetrics_bytes = WriteRankOpenMetrics(plan, comm, dir).bytes;
    mine.bytes += mine.openmetrics_bytes;
  }
  mine.seconds = MPI_Wtime() - t1;
  return mine;
}

// MPI_Reduce onto rank 0 in place, in chunks that fit an int count.
void ReduceToRoot(const Comm& comm, void* data, std::size_t count, MPI_Datatype type, MPI_Op op) {
  constexpr std::size_t kChunk = std::size_t{1} << 26;
  int type_size = 0;
  MPI_Type_size(type, &type_size);
  char* bytes = static_cast<char*>(data);
  for (std::size_t done = 0; done < count; done += kChunk) {
    const int n = static_cast<int>(std::min(kChunk, count - done));
    void* p = bytes + done * static_cast<std::size_t>(type_size);
    CheckMpi(comm.is_root() ? MPI_Reduce(MPI_IN_PLACE, p, n, type, op, 0, comm.get())
                            : MPI_Reduce(p, nullptr, n, type, op, 0, comm.get()),
             "MPI_Reduce");
  }
}

// Histograms and per-file counts onto rank 0 (each file has one writer,
// so summing gives its counts).
void MergeOntoRoot(const Comm& comm, NodeHistograms* histograms, std::vector<TelemetryFileStats>* file_stats) {
  ReduceToRoot(comm, histograms->counts.data(), histograms->counts.size(), MPI_UINT32_T, MPI_SUM);
  ReduceToRoot(comm, histograms->min_w.data(), histograms->min_w.size(), MPI_INT32_T, MPI_MIN);
  ReduceToRoot(comm, histograms->max_w.data(), histograms->max_w.size(), MPI_INT32_T, MPI_MAX);
  constexpr std::size_t kFields = 6 + kDirtKinds;
  std::vector<std::int64_t> flat(file_stats->size() * kFields, 0);
  for (std::size_t i = 0; i < file_stats->size(); ++i) {
    std::int64_t* f = &flat[i * kFields];
    const TelemetryFileStats& s = (*file_stats)[i];
    f[0] = s.rows;
    f[1] = s.clean_rows;
    f[2] = s.overlap_duplicates;
    f[3] = s.bytes_uncompressed;
    f[4] = s.bytes_on_disk;
    f[5] = 0;
    for (int k = 0; k < kDirtKinds; ++k) f[6 + k] = s.dirt[static_cast<std::size_t>(k)];
  }
  ReduceToRoot(comm, flat.data(), flat.size(), MPI_INT64_T, MPI_SUM);
  for (std::size_t i = 0; i < file_stats->size(); ++i) {
    const std::int64_t* f = &flat[i * kFields];
    TelemetryFileStats& s = (*file_stats)[i];
    s.rows = f[0];
    s.clean_rows = f[1];
    s.overlap_duplicates = f[2];
    s.bytes_uncompressed = f[3];
    s.bytes_on_disk = f[4];
    for (int k = 0; k < kDirtKinds; ++k) s.dirt[static_cast<std::size_t>(k)] = f[6 + k];
  }
}

// truth/telemetry_dirt.csv: every rank's dirt logs on rank 0, in file and
// line order.
std::string GatherDirtCsv(const Comm& comm, const std::vector<TelemetryFileStats>& file_stats) {
  std::string local_log;
  for (const TelemetryFileStats& st : file_stats) local_log += st.dirt_log;
  const std::vector<std::string> logs = comm.GatherStringsToRoot(local_log);
  std::vector<std::string> dirt_lines;
  for (const std::string& text : logs) {
    std::size_t begin = 0;
    while (begin < text.size()) {
      const std::size_t end = text.find('\n', begin);
      dirt_lines.push_back(text.substr(begin, end - begin));
      begin = end + 1;
    }
  }
  auto key = [](const std::string& line) {
    const std::size_t a = line.find(',');
    const std::size_t b = line.find(',', a + 1);
    const std::size_t c = line.find(',', b + 1);
    return std::make_pair(std::stoll(line.substr(0, a)), std::stoll(line.substr(b + 1, c - b - 1)));
  };
  std::sort(dirt_lines.begin(), dirt_lines.end(),
            [&](const std::string& x, const std::string& y) { return key(x) < key(y); });
  std::string dirt_csv = "file,line,kind,node,timestamp,detail\n";
  for (const std::string& line : dirt_lines) dirt_csv += line.substr(line.find(',') + 1) + "\n";
  return dirt_csv;
}

// The summary, the same on every rank (rank 0 holds the merged counts).
GenerateSummary Summarize(const Comm& comm, const Plan& plan, const std::vector<TelemetryFileStats>& file_stats,
                          std::int64_t other_bytes, const RankTelemetry& mine, double t0) {
  GenerateSummary summary;
  std::int64_t rows = 0, clean = 0, bytes = 0;
  for (const TelemetryFileStats& s : file_stats) {
    rows += s.rows;
    clean += s.clean_rows;
    bytes += s.bytes_on_disk;
  }
  summary.telemetry_rows = comm.AllMax(comm.is_root() ? rows : 0);
  summary.telemetry_clean_rows = comm.AllMax(comm.is_root() ? clean : 0);
  summary.telemetry_files = static_cast<std::int64_t>(plan.files.size());
  summary.bytes_written = comm.AllMax(comm.is_root() ? bytes + other_bytes : 0) + comm.AllSum(mine.openmetrics_bytes);
  std::int64_t runs = 0;
  for (const PlanRun& r : plan.runs) runs += r.dropped ? 0 : 1;
  summary.runs = runs;
  summary.jobs = static_cast<std::int64_t>(plan.jobs.size());
  for (const PlanJob& j : plan.jobs) summary.butter_jobs += j.butter ? 1 : 0;
  summary.nodes = static_cast<std::int64_t>(plan.nodes.size());
  summary.rank_rows = comm.AllGather(std::vector<std::int64_t>{mine.rows});
  summary.rank_bytes = comm.AllGather(std::vector<std::int64_t>{mine.bytes});
  summary.rank_seconds = comm.AllGather(std::vector<double>{mine.seconds});
  summary.telemetry_seconds = comm.AllMaxDouble(mine.seconds);
  summary.seconds = comm.AllMaxDouble(MPI_Wtime() - t0);
  return summary;
}

// The keys that read --telemetry-format energy-counter: the spec's layout
// with the counter in `joules`.
std::string CounterConfigYaml(YAML::Node root) {
  YAML::Node telemetry = root["facility"]["telemetry"];
  YAML::Node columns;
  columns["watts"] = "joules";
  telemetry["columns"] = columns;
  telemetry["kind"] = "energy_counter";
  YAML::Emitter out;
  out << root;
  return std::string(
             "# written by `wattrun generate --telemetry-format energy-counter`: the generator's config "
             "with the facility.telemetry keys that read its energy counters\n") +
         out.c_str() + "\n";
}

}  // namespace

const char* ToString(TelemetryLayout layout) {
  switch (layout) {
    case TelemetryLayout::kSpec:
      return "spec";
    case TelemetryLayout::kLdms:
      return "ldms";
    case TelemetryLayout::kOpenMetrics:
      return "openmetrics";
    case TelemetryLayout::kEnergyCounter:
      return "energy-counter";
  }
  return "?";
}

bool ParseTelemetryLayout(const std::string& name, TelemetryLayout* layout) {
  for (const TelemetryLayout l : {TelemetryLayout::kSpec, TelemetryLayout::kLdms, TelemetryLayout::kOpenMetrics,
                                  TelemetryLayout::kEnergyCounter}) {
    if (name == ToString(l)) {
      *layout = l;
      return true;
    }
  }
  return false;
}

std::string ConfigYamlForLayout(const std::string& yaml_text, TelemetryLayout layout) {
  if (layout == TelemetryLayout::kSpec) return yaml_text;
  YAML::Node root = YAML::Load(yaml_text);
  YAML::Node telemetry = root["facility"]["telemetry"];
  if (layout == TelemetryLayout::kEnergyCounter) return CounterConfigYaml(root);
  YAML::Node columns;
  columns["timestamp"] = "#Time";
  columns["node"] = "ProducerName";
  columns["watts"] = "power";
  telemetry["columns"] = columns;
  telemetry["time_format"] = "epoch_s";
  telemetry["watts_unit"] = "W";
  telemetry["kind"] = "power";
  YAML::Emitter out;
  out << root;
  return std::string("# written by `wattrun generate --telemetry-format ") + ToString(layout) +
         "`: the generator's config with the facility.telemetry keys that read its telemetry\n" + out.c_str() + "\n";
}

GenerateSummary GenerateFacility(const Config& config, const GenerateOptions& options, MPI_Comm mpi_comm) {
  const double t0 = MPI_Wtime();
  const Comm comm(mpi_comm);

  // Every rank builds the same plan: it is small (runs, jobs, segments).
  Plan plan;
  RunCollectively(comm, [&] { plan = BuildPlan(config, options); });
  const std::string& dir = options.output_dir;
  RunCollectively(comm, [&] {
    if (comm.is_root()) PrepareOutputDir(plan, dir);
  });

  // Rank 0 writes the small files; all ranks write telemetry, files
  // dealt by AssignFiles (the files' bytes do not depend on who writes them).
  SmallFileStats small;
  JobAccounting accounting;  // rank 0: the expected section-4 numbers
  NodeHistograms histograms(plan.nodes.size());
  std::vector<TelemetryFileStats> file_stats(plan.files.size());
  RankTelemetry mine;
  RunCollectively(comm, [&] {
    if (comm.is_root()) WriteSmallFiles(plan, dir, &small, &accounting);
    mine = WriteRankTelemetry(plan, comm, dir, options.progress, &histograms, &file_stats);
  });

  MergeOntoRoot(comm, &histograms, &file_stats);
  const std::string dirt_csv = GatherDirtCsv(comm, file_stats);

  std::int64_t truth_bytes = 0;
  RunCollectively(comm, [&] {
    if (!comm.is_root()) return;
    TruthInputs in;
    in.plan = &plan;
    in.histograms = &histograms;
    in.files = &file_stats;
    in.small = &small;
    in.dirt_csv = &dirt_csv;
    in.accounting = &accounting;
    truth_bytes = WriteTruth(in, dir);
  });
  return Summarize(comm, plan, file_stats, small.bytes + truth_bytes, mine, t0);
}

}  // namespace wattrun::generate
