#include "stages/generate/generate.h"

#include <mpi.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/mpi.h"
#include "stages/generate/facility_files.h"
#include "stages/generate/plan.h"
#include "stages/generate/telemetry_writer.h"
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
      for (const char* name : {"nodes.csv", "datasets.csv", "runs.csv", "losses.csv", "sacct", "telemetry", "truth"}) {
        fs::remove_all(fs::path(dir) / name, ec);
        if (ec) throw Error("generate: cannot remove " + (fs::path(dir) / name).string() + ": " + ec.message());
      }
    }
  }
  fs::create_directories(fs::path(dir) / "sacct");
  fs::create_directories(fs::path(dir) / "truth");
  for (const MonthSpan& m : plan.months) fs::create_directories(fs::path(dir) / "telemetry" / m.label);
  std::ofstream(fs::path(dir) / kMarker) << "written by wattrun generate; the directory may be replaced by it\n";
}

}  // namespace

GenerateSummary GenerateFacility(const Config& config, const GenerateOptions& options, MPI_Comm mpi_comm) {
  const double t0 = MPI_Wtime();
  const Comm comm(mpi_comm);
  GenerateSummary summary;

  // Every rank builds the same plan: it is small (runs, jobs, segments).
  Plan plan;
  RunCollectively(comm, [&] { plan = BuildPlan(config, options); });
  const std::string& dir = options.output_dir;
  RunCollectively(comm, [&] {
    if (comm.is_root()) PrepareOutputDir(plan, dir);
  });

  // Rank 0 writes the small files; all ranks write telemetry, files
  // dealt round-robin (the files' bytes do not depend on who writes them).
  SmallFileStats small;
  NodeHistograms histograms(plan.nodes.size());
  std::vector<TelemetryFileStats> file_stats(plan.files.size());
  std::int64_t local_rows = 0, local_bytes = 0;
  double telemetry_seconds = 0.0;
  RunCollectively(comm, [&] {
    if (comm.is_root()) {
      WriteNodesCsv(plan, dir, &small);
      WriteDatasetsCsv(plan, dir, &small);
      WriteRunsCsv(plan, dir, &small);
      WriteSacct(plan, dir, &small);
      WriteLossesCsv(plan, dir, &small);
      WriteBrokenTelemetryFiles(plan, dir, &small);
    }
    const double t1 = MPI_Wtime();
    for (std::size_t i = static_cast<std::size_t>(comm.rank()); i < plan.files.size();
         i += static_cast<std::size_t>(comm.size())) {
      file_stats[i] = WriteTelemetryFile(plan, plan.files[i], dir, &histograms);
      local_rows += file_stats[i].rows;
      local_bytes += file_stats[i].bytes_on_disk;
    }
    telemetry_seconds = MPI_Wtime() - t1;
  });

  // Merge: histograms and per-file statistics onto rank 0.
  auto reduce = [&](void* data, std::size_t count, MPI_Datatype type, MPI_Op op) {
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
  };
  reduce(histograms.counts.data(), histograms.counts.size(), MPI_UINT32_T, MPI_SUM);
  reduce(histograms.min_w.data(), histograms.min_w.size(), MPI_INT32_T, MPI_MIN);
  reduce(histograms.max_w.data(), histograms.max_w.size(), MPI_INT32_T, MPI_MAX);
  constexpr std::size_t kFields = 6 + kDirtKinds;
  std::vector<std::int64_t> flat(plan.files.size() * kFields, 0);
  for (std::size_t i = 0; i < plan.files.size(); ++i) {
    std::int64_t* f = &flat[i * kFields];
    const TelemetryFileStats& s = file_stats[i];
    f[0] = s.rows;
    f[1] = s.clean_rows;
    f[2] = s.overlap_duplicates;
    f[3] = s.bytes_uncompressed;
    f[4] = s.bytes_on_disk;
    f[5] = 0;
    for (int k = 0; k < kDirtKinds; ++k) f[6 + k] = s.dirt[static_cast<std::size_t>(k)];
  }
  reduce(flat.data(), flat.size(), MPI_INT64_T, MPI_SUM);
  for (std::size_t i = 0; i < plan.files.size(); ++i) {
    const std::int64_t* f = &flat[i * kFields];
    TelemetryFileStats& s = file_stats[i];
    s.rows = f[0];
    s.clean_rows = f[1];
    s.overlap_duplicates = f[2];
    s.bytes_uncompressed = f[3];
    s.bytes_on_disk = f[4];
    for (int k = 0; k < kDirtKinds; ++k) s.dirt[static_cast<std::size_t>(k)] = f[6 + k];
  }

  std::int64_t truth_bytes = 0;
  RunCollectively(comm, [&] {
    if (!comm.is_root()) return;
    TruthInputs in;
    in.plan = &plan;
    in.histograms = &histograms;
    in.files = &file_stats;
    in.small = &small;
    truth_bytes = WriteTruth(in, dir);
  });

  // The summary, the same on every rank.
  std::int64_t rows = 0, clean = 0, bytes = 0;
  for (const TelemetryFileStats& s : file_stats) {
    rows += s.rows;
    clean += s.clean_rows;
    bytes += s.bytes_on_disk;
  }
  summary.telemetry_rows = comm.AllMax(comm.is_root() ? rows : 0);
  summary.telemetry_clean_rows = comm.AllMax(comm.is_root() ? clean : 0);
  summary.telemetry_files = static_cast<std::int64_t>(plan.files.size());
  summary.bytes_written = comm.AllMax(comm.is_root() ? bytes + small.bytes + truth_bytes : 0);
  std::int64_t runs = 0;
  for (const PlanRun& r : plan.runs) runs += r.dropped ? 0 : 1;
  summary.runs = runs;
  summary.jobs = static_cast<std::int64_t>(plan.jobs.size());
  for (const PlanJob& j : plan.jobs) summary.butter_jobs += j.butter ? 1 : 0;
  summary.nodes = static_cast<std::int64_t>(plan.nodes.size());
  summary.rank_rows = comm.AllGather(std::vector<std::int64_t>{local_rows});
  summary.rank_bytes = comm.AllGather(std::vector<std::int64_t>{local_bytes});
  summary.rank_seconds = comm.AllGather(std::vector<double>{telemetry_seconds});
  summary.telemetry_seconds = comm.AllMaxDouble(telemetry_seconds);
  summary.seconds = comm.AllMaxDouble(MPI_Wtime() - t0);
  return summary;
}

}  // namespace wattrun::generate
