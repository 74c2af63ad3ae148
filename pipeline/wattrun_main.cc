// wattrun: per-run energy from facility power telemetry and Slurm logs, and a
// fitted, hardware-aware energy model of neural-network training.
//
// Every subcommand runs as a plain process (one rank) or under mpirun.
#include <mpi.h>

#include <ceres/version.h>
#include <hdf5.h>
#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <limits>
#include <string>

#include "core/config.h"
#include "core/error.h"
#include "core/mpi.h"
#include "core/progress.h"
#include "core/version.h"
#include "pipeline/commands.h"
#include "pipeline/job_command.h"

namespace {

// Reads the YAML on rank 0 and broadcasts the text, so that thousands of
// ranks do not all open the same small file.
wattrun::Config LoadConfig(const std::string& path, const wattrun::Comm& comm) {
  std::string text;
  wattrun::RunCollectively(comm, [&] {
    if (!comm.is_root()) return;
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) throw wattrun::Error(path + ": cannot open configuration file");
    char buf[65536];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    std::fclose(f);
  });
  text = comm.BroadcastString(text);
  wattrun::Config config;
  wattrun::RunCollectively(comm, [&] { config = wattrun::ParseConfig(text, path); });
  return config;
}

// Parse-time ranges (CLI11 names the range in its message).
constexpr double kMinScale = 1e-4;  // below it the facility has no node
constexpr double kMaxScale = 100;
constexpr std::int64_t kMinWidth = 1;
constexpr std::int64_t kMaxCount = 1000000000000;  // 1e12
// The ingest keeps up to 384 MB of each rank's budget for the libraries, the
// catalogue and its buffers, and needs two 8 KiB chunks a node in its pool:
// 64 MB holds ~2,900 nodes; below it every chunk would go to the spill file.
constexpr std::int64_t kMinMemoryBudgetMb = 64;
constexpr std::int64_t kMaxMemoryBudgetMb = std::int64_t{1} << 24;  // 16 TB

void AddMemoryBudget(CLI::App* command, std::int64_t* budget_mb) {
  command
      ->add_option("--memory-budget-mb", *budget_mb,
                   "Memory per rank for the readings being ingested (MB); beyond it they are spilled to disk "
                   "beside the store")
      ->capture_default_str()
      ->check(CLI::Range(kMinMemoryBudgetMb, kMaxMemoryBudgetMb));
}

// `wattrun --version`: this build and the libraries it runs with.
std::string VersionText() {
  char mpi[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int mpi_length = 0;
  MPI_Get_library_version(mpi, &mpi_length);
  std::string mpi_line(mpi, static_cast<std::size_t>(mpi_length));
  if (const auto nl = mpi_line.find_first_of("\r\n,"); nl != std::string::npos) mpi_line.resize(nl);
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  return std::string("wattrun ") + wattrun::kWattrunVersion + "\n  MPI: " + mpi_line +
         "\n  HDF5: " + std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release) +
         " (parallel)\n  Ceres: " + CERES_VERSION_STRING;
}

constexpr const char kExitCodes[] =
    "Exit codes: 0 success; 1 error in the inputs, the configuration or at run time (message on stderr, "
    "printed once by rank 0 when all ranks know it; a failure of one rank alone aborts the MPI job with 1); "
    "2 usage error (unknown option, missing or out-of-range value).\n";

// The footer of each subcommand's --help: an example, the exit codes.
void AddFooter(CLI::App* command, const std::string& example) {
  command->footer(std::string("Example:\n  ") + example + "\n\n" + kExitCodes);
}

// `wattrun generate`
CLI::App* AddGenerate(CLI::App* app, wattrun::pipeline::GenerateArgs* gen) {
  CLI::App* generate = app->add_subcommand("generate", "Write a synthetic facility (inputs of the spec plus truth/)");
  generate->add_option("--config", gen->config, "Facility configuration (YAML)")->required()->check(CLI::ExistingFile);
  generate->add_option("--output", gen->output, "Directory to write the facility into")->required();
  generate
      ->add_option("--scale", gen->scale,
                   "Size relative to Eagle/BUTTER-E (1 = 2,600 nodes, 41,129 runs); default: generator.scale")
      ->check(CLI::Range(kMinScale, kMaxScale));
  generate->add_option("--months", gen->months, "Months of telemetry; default: generator.months")
      ->check(CLI::Range(1, 240));
  generate->add_option("--seed", gen->seed, "Random seed (output is deterministic for a seed); default: generator.seed")
      ->check(CLI::Range(std::int64_t{0}, std::numeric_limits<std::int64_t>::max()));
  AddFooter(generate,
            "mpirun -n 4 wattrun generate --config configs/demo.yaml --output demo/facility --scale 0.05 --months 2");
  generate->add_flag("--clean", gen->clean, "No dirt (bad rows, duplicates, ...): faults of the paper only");
  generate
      ->add_option("--telemetry-format", gen->telemetry_format,
                   "Layout of the telemetry files: spec (timestamp,node,watts) or ldms (an LDMS CSV store's "
                   "#Time,Time_usec,ProducerName,component_id,job_id,power), openmetrics (spec files plus "
                   "OUTPUT/openmetrics/*.om for promtool tsdb create-blocks-from openmetrics) or energy-counter "
                   "(timestamp,node,joules: each node's cumulative energy); the last three also write "
                   "OUTPUT/wattrun.yaml, the config that reads them")
      ->check(CLI::IsMember({"spec", "ldms", "openmetrics", "energy-counter"}))
      ->capture_default_str();
  return generate;
}

// `wattrun ingest`
CLI::App* AddIngest(CLI::App* app, wattrun::pipeline::IngestArgs* ing) {
  CLI::App* ingest =
      app->add_subcommand("ingest", "Ingest a facility directory into the telemetry store (again: new files only)");
  ingest->add_option("--config", ing->config, "Facility configuration (YAML)")->required()->check(CLI::ExistingFile);
  ingest->add_option("--input", ing->input, "Facility directory (telemetry/, sacct/, runs.csv, ...)")
      ->required()
      ->check(CLI::ExistingDirectory);
  ingest->add_option("--store", ing->store, "Store file (created if missing)")->required();
  ingest->add_option("--wait", ing->wait_seconds,
                     "Seconds to wait for another ingest's write lock on the store (default 0: fail at once)");
  ingest->add_flag("--allow-other-input", ing->allow_other_input,
                   "Ingest even if the store was made from another facility directory");
  AddMemoryBudget(ingest, &ing->memory_budget_mb);
  AddFooter(ingest, "mpirun -n 4 wattrun ingest --config configs/eagle.yaml --input /projects/eagle --store eagle.h5");
  return ingest;
}

// `wattrun run`
CLI::App* AddRun(CLI::App* app, wattrun::pipeline::RunArgs* run) {
  CLI::App* run_cmd =
      app->add_subcommand("run", "The main job: ingest (if --input), energies, idle powers, model, report");
  run_cmd->add_option("--config", run->config, "Facility configuration (YAML)")->required()->check(CLI::ExistingFile);
  run_cmd->add_option("--input", run->input, "Facility directory to ingest first")->check(CLI::ExistingDirectory);
  run_cmd->add_option("--store", run->store, "Telemetry store (default OUTPUT/store.h5)");
  run_cmd->add_option("--wait", run->wait_seconds,
                      "With --input: seconds to wait for another ingest's write lock on the store (default 0)");
  run_cmd->add_flag("--allow-other-input", run->allow_other_input,
                    "With --input: ingest even if the store was made from another facility directory");
  run_cmd->add_option("--output", run->output, "Results directory")->required();
  AddMemoryBudget(run_cmd, &run->memory_budget_mb);
  AddFooter(run_cmd, "mpirun -n 4 wattrun run --config configs/demo.yaml --input demo/facility --output demo/results");
  run_cmd->add_flag("--no-fit", run->no_fit, "Skip the model fit");
  run_cmd->add_flag("--no-report", run->no_report, "Skip report.html");
  run_cmd->add_flag("--no-accounting", run->no_accounting,
                    "Skip facility accounting (jobs_energy/usage/ledger stay empty): for benchmarks of its cost");
  run_cmd->add_option("--timings", run->timings, "Write stage timings (CSV) to this file, for benchmarks");
  run_cmd->add_flag("--json", run->json,
                    "Print the end-of-run summary as one JSON object on stdout (progress and warnings stay on stderr)");
  return run_cmd;
}

// `wattrun predict`
CLI::App* AddPredict(CLI::App* app, wattrun::pipeline::PredictArgs* pred) {
  CLI::App* predict = app->add_subcommand("predict", "Predict a network's training energy with a fitted model");
  predict->add_option("--model", pred->model_dir, "Results directory of a run (model_cpu.csv, model_gpu.csv)")
      ->required()
      ->check(CLI::ExistingDirectory);
  predict->add_option("--config", pred->config, "Configuration with the hardware's memory levels (default: Eagle's)");
  predict->add_option("--dataset", pred->dataset, "Data set name (from the run's store/datasets) ...");
  predict->add_option("--store", pred->store,
                      "Store to look --dataset up in (default: the store the run recorded in results.h5, "
                      "else MODEL/store.h5)");
  predict->add_option("--inputs", pred->inputs, "... or its input width")->check(CLI::Range(kMinWidth, kMaxCount));
  predict->add_option("--outputs", pred->outputs, "output width")->check(CLI::Range(kMinWidth, kMaxCount));
  predict->add_option("--observations", pred->observations, "number of observations")
      ->check(CLI::Range(kMinWidth, kMaxCount));
  predict->add_option("--shape", pred->shape, "rectangle, trapezoid, exponential, wide_first_Nx, *_residual")
      ->required();
  predict->add_option("--depth", pred->depth, "Number of layers")->required()->check(CLI::Range(1, 1000));
  predict->add_option("--size", pred->size, "Target number of parameters")
      ->required()
      ->check(CLI::Range(kMinWidth, kMaxCount));
  predict->add_option("--hardware", pred->hardware, "cpu or gpu")->required()->check(CLI::IsMember({"cpu", "gpu"}));
  predict->add_option("--epochs", pred->epochs, "Training epochs")
      ->capture_default_str()
      ->check(CLI::Range(kMinWidth, kMaxCount));
  AddFooter(predict,
            "wattrun predict --model demo/results --dataset mnist --shape rectangle --depth 4 --size 65536 "
            "--hardware cpu");
  predict->add_option("--batch-size", pred->batch_size, "Batch size")
      ->capture_default_str()
      ->check(CLI::Range(kMinWidth, kMaxCount));
  predict->add_flag("--json", pred->json, "Print the prediction as one JSON object instead of text");
  return predict;
}

// `wattrun report`
CLI::App* AddReport(CLI::App* app, wattrun::pipeline::ReportArgs* rep) {
  CLI::App* report = app->add_subcommand("report", "Rebuild report.html from results.h5");
  report->add_option("--output", rep->output, "Results directory of a run")->required()->check(CLI::ExistingDirectory);
  AddFooter(report, "wattrun report --output demo/results");
  return report;
}

// `wattrun job`
CLI::App* AddJob(CLI::App* app, wattrun::pipeline::JobArgs* job) {
  CLI::App* job_cmd = app->add_subcommand("job", "One Slurm job's energy from a run's results (like seff, for energy)");
  job_cmd->add_option("--output", job->output, "Results directory of a run")->required()->check(CLI::ExistingDirectory);
  job_cmd->add_option("job_ids", job->job_ids, "sacct job ids: 123, array task 123_4, het component 123+0")->required();
  AddFooter(job_cmd, "wattrun job --output demo/results 123 123_4 --json");
  job_cmd->add_flag("--json", job->json, "Print a JSON array (one object per job attempt) instead of text");
  return job_cmd;
}

// The subcommands' arguments, filled by the parse, and which one was given.
struct Commands {
  wattrun::pipeline::OutputArgs out;
  wattrun::pipeline::GenerateArgs gen;
  wattrun::pipeline::IngestArgs ing;
  wattrun::pipeline::RunArgs run;
  wattrun::pipeline::PredictArgs pred;
  wattrun::pipeline::ReportArgs rep;
  wattrun::pipeline::JobArgs job;
  CLI::App* generate = nullptr;
  CLI::App* ingest = nullptr;
  CLI::App* run_cmd = nullptr;
  CLI::App* predict = nullptr;
  CLI::App* report = nullptr;
  CLI::App* job_cmd = nullptr;
};

// The top-level options and every subcommand.
void Declare(CLI::App* app, Commands* c) {
  app->require_subcommand(1);
  app->fallthrough();  // --quiet/--verbose also after the subcommand
  app->set_version_flag("--version", VersionText());
  app->footer(
      std::string("Examples:\n"
                  "  wattrun generate --config configs/demo.yaml --output demo/facility\n"
                  "  mpirun -n 4 wattrun run --config configs/demo.yaml --input demo/facility --output demo/results\n"
                  "  wattrun SUBCOMMAND --help\n\n") +
      kExitCodes);
  app->add_flag("-q,--quiet", c->out.quiet,
                "No progress lines and no warnings summary (results summaries still on stdout)");
  app->add_flag("-v,--verbose", c->out.verbose, "Progress lines from every rank, not only rank 0");
  c->generate = AddGenerate(app, &c->gen);
  c->ingest = AddIngest(app, &c->ing);
  c->run_cmd = AddRun(app, &c->run);
  c->predict = AddPredict(app, &c->pred);
  c->report = AddReport(app, &c->rep);
  c->job_cmd = AddJob(app, &c->job);
}

// Runs the subcommand the parse selected; its exit code.
int Dispatch(const Commands& c, const wattrun::Comm& comm) {
  namespace p = wattrun::pipeline;
  if (*c.generate) return p::GenerateCommand(c.gen, LoadConfig(c.gen.config, comm), comm, c.out);
  if (*c.ingest) return p::IngestCommand(c.ing, LoadConfig(c.ing.config, comm), comm, c.out);
  if (*c.run_cmd) return p::RunCommand(c.run, LoadConfig(c.run.config, comm), comm, c.out);
  if (*c.predict) return p::PredictCommand(c.pred, comm);
  if (*c.report) return p::ReportCommand(c.rep, comm);
  if (*c.job_cmd) return p::JobCommand(c.job, comm);
  return 0;
}

// Parses and runs; every failure becomes an exit code (spec: 1 error, 2 usage).
int ParseAndRun(int argc, char** argv, const wattrun::Comm& comm, int world_rank, int world_size) {
  CLI::App app{"wattrun: per-run energy from facility power telemetry and Slurm logs, and the BUTTER-E energy model",
               "wattrun"};  // named: usage lines and man pages say "wattrun", not the build path
  Commands c;
  Declare(&app, &c);
  int exit_code = 0;
  try {
    app.parse(argc, argv);
    for (int a = 0; a < argc; ++a) c.run.command_line += (a ? " " : "") + std::string(argv[a]);
    exit_code = Dispatch(c, comm);
  } catch (const CLI::ParseError& e) {
    exit_code = world_rank == 0 ? app.exit(e) : (e.get_exit_code() != 0 ? 2 : 0);
    if (e.get_exit_code() != 0) exit_code = 2;
  } catch (const wattrun::CollectiveError& e) {
    // Every rank knows: rank 0 prints, all end cleanly.
    if (world_rank == 0) std::fprintf(stderr, "wattrun: error: %s\n", e.what());
    exit_code = 1;
  } catch (const std::exception& e) {
    // Only this rank failed: say so and end the whole job now, so that the
    // other ranks cannot wait forever in a collective.
    std::fprintf(stderr, "wattrun: error%s: %s\n",
                 world_size > 1 ? (" on rank " + std::to_string(world_rank)).c_str() : "", e.what());
    std::fflush(stderr);
    if (world_size > 1) MPI_Abort(MPI_COMM_WORLD, 1);
    exit_code = 1;
  }
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  wattrun::MakeOutputLineBuffered();       // before any output: `tail -f` of a Slurm output file sees each line
  wattrun::PreferSharedMemoryOnOneNode();  // 0.2 s less start-up for a job on one node
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int exit_code = 0;
  int world_rank = 0, world_size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world_size);
  {
    wattrun::OwnedComm owned;
    exit_code = ParseAndRun(argc, argv, owned.comm(), world_rank, world_size);
  }
  MPI_Finalize();
  return exit_code;
}
