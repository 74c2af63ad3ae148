#include "stages/generate/facility_files.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>

#include "core/hostlist.h"
#include "stages/generate/background_jobs.h"
#include "stages/generate/rng.h"
#include "stages/generate/text_format.h"

namespace wattrun::generate {
namespace {

constexpr std::int64_t kMsPerSecond = 1000;

std::string Elapsed(std::int64_t seconds) {
  std::string out;
  const std::int64_t days = seconds / 86400;
  if (days > 0) {
    AppendInt(&out, days);
    out += '-';
  }
  AppendPadded(&out, (seconds / 3600) % 24, 2);
  out += ':';
  AppendPadded(&out, (seconds / 60) % 60, 2);
  out += ':';
  AppendPadded(&out, seconds % 60, 2);
  return out;
}

}  // namespace

std::string SchedulerTime(const Plan& plan, TimeMs utc) {
  return DateTime((utc + plan.scheduler_offsets.At(utc)) / kMsPerSecond, 'T');
}

std::string RunsTime(TimeMs utc) { return DateTime(FloorDiv(utc, kMsPerSecond), ' ') + "+00:00"; }

double LossIntercept(const DatasetInfo& dataset) {
  const auto& all = ButterDatasets();
  const auto it = std::find_if(all.begin(), all.end(), [&](const DatasetInfo& d) { return d.name == dataset.name; });
  const double k = static_cast<double>(it - all.begin()) / static_cast<double>(all.size() - 1);
  return kLossIntercept * (0.85 + 0.3 * k);
}

void WriteNodesCsv(const Plan& plan, const std::string& dir, SmallFileStats* stats) {
  OutputFile out(dir + "/nodes.csv", false);
  out.Write("HOSTNAMES,PARTITION,AVAIL,STATE,CPUS,S:C:T,MEMORY,TMP_DISK,GRES,AVAIL_FEATURES\n");
  Rng rng(plan.seed, Stream::kNodes, 0);
  const auto& types = plan.config.facility.node_types;
  for (const PlanNode& node : plan.nodes) {
    const NodeTypeConfig& t = types[static_cast<std::size_t>(node.type)];
    const bool gpu = plan.classes[static_cast<std::size_t>(node.hw_class)].is_gpu;
    const double p = rng.Uniform();
    const char* state = p < 0.40 ? "idle" : p < 0.50 ? "mixed" : p < 0.96 ? "allocated" : "drained";
    std::string line = node.name;
    line += ',';
    line += CsvField(gpu ? "gpu" : "short,standard,long");
    line += ",up,";
    line += state;
    line += ',';
    AppendInt(&line, t.signature.cpus);
    line += ",2:";
    AppendInt(&line, std::max<std::int64_t>(1, t.signature.cpus / 2));
    line += ":1,";
    AppendInt(&line, t.signature.memory_mb);
    line += ',';
    AppendInt(&line, t.signature.tmp_disk_mb);
    line += ',';
    line += CsvField(t.signature.gres);
    line += ',';
    line += CsvField(t.name + ",xeon6154" + (gpu ? ",v100" : ""));
    line += '\n';
    out.Write(line);
    ++stats->nodes_rows;
  }
  if (plan.options.dirty) {
    // A service node whose signature matches no configured type.
    out.Write("el1,debug,up,idle,72,2:36:1,385000,0,(null),\"login,service\"\n");
    ++stats->nodes_rows;
    ++stats->unmatched_nodes;
  }
  stats->bytes += out.Close();
}

void WriteDatasetsCsv(const Plan& plan, const std::string& dir, SmallFileStats* stats) {
  OutputFile out(dir + "/datasets.csv", false);
  out.Write("dataset,task,n_observations,n_features,n_classes,source\n");
  for (const DatasetInfo& d : plan.datasets) {
    std::string line = d.name + "," + d.task + ",";
    AppendInt(&line, d.n_observations);
    line += ',';
    AppendInt(&line, d.n_features);
    line += ',';
    AppendInt(&line, d.n_classes);
    line += ",pmlb\n";
    out.Write(line);
  }
  stats->bytes += out.Close();
}

void WriteRunsCsv(const Plan& plan, const std::string& dir, SmallFileStats* stats) {
  std::vector<const PlanRun*> runs;
  for (const PlanRun& r : plan.runs) {
    if (!r.dropped) runs.push_back(&r);
  }
  // A database export: ordered by primary key.
  std::sort(runs.begin(), runs.end(), [](const PlanRun* a, const PlanRun* b) { return a->run_id < b->run_id; });
  OutputFile out(dir + "/runs.csv", false);
  out.Write(
      "run_id,experiment_id,slurm_job_id,start_time,update_time,host_name,size,depth,shape,dataset,"
      "learning_rate,batch_size,optimizer,is_gpu,epochs,label_noise,run_data\n");
  for (const PlanRun* r : runs) {
    Rng rng(plan.seed, Stream::kRunsFile, static_cast<std::uint64_t>(r->index) + 0x100000000ULL);
    const DatasetInfo& d = plan.datasets[static_cast<std::size_t>(r->dataset)];
    std::string line = r->run_id + ",";
    AppendInt(&line, r->experiment_id);
    line += "," + r->written_job_id + ",";
    line += r->corrupt_field == "start_time" ? "2021-13-45 99:99:99+00:00" : RunsTime(r->written_start_ms);
    line += ',';
    line += RunsTime(r->written_update_ms);
    line += ',';
    line += r->written_host;
    line += ',';
    if (r->corrupt_field == "size") {
      line += "2^";
      AppendInt(&line, std::llround(std::log2(static_cast<double>(r->size))));
    } else {
      AppendInt(&line, r->size);
    }
    line += ',';
    AppendInt(&line, r->depth);
    line += "," + r->shape + "," + d.name + ",0.001,256,Adam,";
    if (r->corrupt_field == "is_gpu") {
      line += "maybe";
    } else if (plan.options.dirty && rng.Bernoulli(0.03)) {
      line += r->is_gpu ? "true" : "false";
    } else {
      line += r->is_gpu ? "True" : "False";
    }
    line += ",3000,0.0,";
    if (rng.Bernoulli(0.25)) {
      const std::string json = "{\"epochs\": 3000, \"activation\": \"relu\", \"host\": \"" + r->written_host +
                               "\", \"python_version\": \"3.8.10\", \"tensorflow_version\": \"2.6.2\", "
                               "\"tags\": [\"butter-e\", \"primary_sweep\"]}";
      line += CsvField(json);
    }
    line += '\n';
    out.Write(line);
    ++stats->runs_rows;
  }
  stats->bytes += out.Close();
}

namespace {

// sacct --parsable2 columns as this site exports them: the required ones
// (JobID, NodeList, Start, End, State) not in the spec's order, plus the
// optional accounting columns of spec section 4.
enum SacctColumn {
  kJobId,
  kJobIdRaw,
  kJobName,
  kUser,
  kAccount,
  kPartition,
  kState,
  kAllocCpus,
  kAllocNodes,
  kNodeList,
  kSubmit,
  kStart,
  kEnd,
  kElapsed,
  kExitCode,
  kAllocTres,
  kConsumedEnergyRaw,
  kSacctColumns,
};
constexpr const char* kSacctHeader =
    "JobID|JobIDRaw|JobName|User|Account|Partition|State|AllocCPUS|AllocNodes|NodeList|Submit|Start|End|"
    "Elapsed|ExitCode|AllocTRES|ConsumedEnergyRaw\n";
using SacctLine = std::array<std::string, kSacctColumns>;

std::string Join(const SacctLine& line) {
  std::string out;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (i > 0) out += '|';
    out += line[i];
  }
  return out + "\n";
}

std::string SacctNodeList(const Plan& plan, const PlanJob& job, const std::vector<int>& nodes) {
  if (nodes.empty()) return "None assigned";
  std::vector<std::string> names;
  names.reserve(nodes.size());
  for (const int n : nodes) names.push_back(plan.nodes[static_cast<std::size_t>(n)].name);
  if (&nodes == &job.nodes) names.insert(names.end(), job.unknown_hosts.begin(), job.unknown_hosts.end());
  return CompressHostlist(names);
}

std::int64_t ElapsedSeconds(const Plan& plan, const PlanJob& j) {
  return !j.started  ? 0
         : j.running ? (plan.snapshot_ms - j.start_ms) / kMsPerSecond
                     : (j.end_ms - j.start_ms) / kMsPerSecond;
}

SacctLine AllocationLine(const Plan& plan, const PlanJob& j, const std::string& slurm_energy) {
  SacctLine f;
  f[kJobId] = j.id;
  f[kJobIdRaw] = std::to_string(j.raw_id);
  f[kJobName] = j.name;
  f[kUser] = j.user;
  f[kAccount] = j.account;
  f[kPartition] = j.partition;
  f[kState] = j.state;
  f[kAllocCpus] = std::to_string(j.alloc_cpus);
  f[kAllocNodes] = std::to_string(j.nodes.size() + j.unknown_hosts.size());
  f[kNodeList] = SacctNodeList(plan, j, j.nodes);
  f[kSubmit] = SchedulerTime(plan, j.submit_ms);
  f[kStart] = j.started ? SchedulerTime(plan, j.start_ms) : j.pending ? "Unknown" : "None";
  f[kEnd] = j.pending || j.running ? "Unknown" : SchedulerTime(plan, j.end_ms);
  f[kElapsed] = Elapsed(ElapsedSeconds(plan, j));
  f[kExitCode] = j.exit_code;
  f[kAllocTres] = AllocTres(plan, j, false);
  f[kConsumedEnergyRaw] = slurm_energy;
  return f;
}

// Steps: batch (first node), extern (all nodes), 0 (the srun step).
std::string StepLines(const Plan& plan, const PlanJob& j, SmallFileStats* stats) {
  const std::string step_state = j.running ? "RUNNING" : j.state.rfind("CANCELLED", 0) == 0 ? "CANCELLED" : j.state;
  struct Step {
    const char* suffix;
    const char* name;
    std::vector<int> nodes;
    std::int64_t start_shift_s;
    std::int64_t end_shift_s;
    std::string state;
  };
  const std::vector<Step> steps = {
      {".batch", "batch", {j.nodes.front()}, 0, 0, step_state},
      {".extern", "extern", j.nodes, 0, 0, j.running ? "RUNNING" : "COMPLETED"},
      {".0", j.butter ? "python" : "srun", j.nodes, 3, -2, step_state},
  };
  const std::int64_t elapsed_s = ElapsedSeconds(plan, j);
  std::string out;
  for (const Step& s : steps) {
    SacctLine f;
    f[kJobId] = j.id + s.suffix;
    f[kJobIdRaw] = std::to_string(j.raw_id) + s.suffix;
    f[kJobName] = s.name;
    f[kAccount] = j.account;
    f[kState] = s.state;
    f[kAllocCpus] = std::to_string(s.nodes.size() == 1 && j.nodes.size() > 1
                                       ? j.alloc_cpus / static_cast<std::int64_t>(j.nodes.size())
                                       : j.alloc_cpus);
    f[kAllocNodes] = std::to_string(s.nodes.size());
    f[kNodeList] = SacctNodeList(plan, j, s.nodes);
    f[kSubmit] = SchedulerTime(plan, j.start_ms + s.start_shift_s * kMsPerSecond);
    f[kStart] = f[kSubmit];
    f[kEnd] = j.running ? "Unknown" : SchedulerTime(plan, j.end_ms + s.end_shift_s * kMsPerSecond);
    const std::int64_t step_elapsed =
        j.running ? elapsed_s - s.start_shift_s : elapsed_s - s.start_shift_s + s.end_shift_s;
    f[kElapsed] = Elapsed(std::max<std::int64_t>(0, step_elapsed));
    f[kExitCode] = j.exit_code;
    f[kAllocTres] = s.nodes.size() == j.nodes.size() ? AllocTres(plan, j, true) : "";
    out += Join(f);
    ++stats->sacct_steps;
  }
  return out;
}

}  // namespace

void WriteSacct(const Plan& plan, const JobAccounting& accounting, const std::string& dir, SmallFileStats* stats) {
  std::map<std::string, std::string> text;  // month -> lines
  for (const MonthSpan& m : plan.months) text[m.label];
  for (const int index : SacctOrder(plan)) {
    const PlanJob& j = plan.jobs[static_cast<std::size_t>(index)];
    const int row = accounting.row_of_job[static_cast<std::size_t>(index)];
    std::string& out = text[SacctMonth(plan, j)];
    out += Join(AllocationLine(plan, j, accounting.rows[static_cast<std::size_t>(row)].slurm_energy));
    ++stats->sacct_allocations;
    if (j.butter) ++stats->butter_jobs;
    if (j.started) out += StepLines(plan, j, stats);
  }
  if (plan.options.dirty && !plan.months.empty()) {
    // Two broken lines in the middle month: a truncated line and a bad time.
    std::string& out = text[plan.months[plan.months.size() / 2].label];
    out += "6099991|6099991|broken|u001|proj01|short|COMPLETED|36\n";
    SacctLine f;
    f[kJobId] = f[kJobIdRaw] = "6099992";
    f[kJobName] = "bad_time";
    f[kUser] = "jsmith";
    f[kAccount] = "hpcapps";
    f[kPartition] = "short";
    f[kState] = "COMPLETED";
    f[kAllocCpus] = "36";
    f[kAllocNodes] = "1";
    f[kNodeList] = plan.nodes.front().name;
    f[kSubmit] = f[kStart] = "2021-13-01T00:00:00";
    f[kEnd] = "2021-13-01T01:00:00";
    f[kElapsed] = "01:00:00";
    f[kExitCode] = "0:0";
    out += Join(f);
    stats->sacct_bad_rows["field_count"] += 1;
    stats->sacct_bad_rows["bad_time"] += 1;
  }
  std::filesystem::create_directories(dir + "/sacct");
  for (const auto& [month, body] : text) {
    OutputFile out(dir + "/sacct/" + month + ".txt", false);
    out.Write(kSacctHeader);
    out.Write(body);
    stats->bytes += out.Close();
  }
}

void WriteCarbonIntensityCsv(const Plan& plan, const std::string& dir, SmallFileStats* stats) {
  // UTC with "Z"; a dirty facility's feed writes "+00:00" instead.
  OutputFile out(dir + "/carbon_intensity.csv", false);
  out.Write("timestamp,g_per_kwh\n");
  std::string body;
  for (const auto& [t, g] : plan.carbon_intensity) {
    body += DateTime(FloorDiv(t, kMsPerSecond), 'T');
    body += plan.options.dirty ? "+00:00," : "Z,";
    body += FormatFixed(g, 1);
    body += '\n';
    ++stats->carbon_rows;
  }
  out.Write(body);
  stats->bytes += out.Close();
}

void WriteLossesCsv(const Plan& plan, const std::string& dir, SmallFileStats* stats) {
  std::map<std::int64_t, const PlanRun*> experiments;
  for (const PlanRun& r : plan.runs) {
    if (!r.dropped) experiments.emplace(r.experiment_id, &r);
  }
  OutputFile out(dir + "/losses.csv", false);
  out.Write("experiment_id,epoch,test_loss\n");
  const std::vector<std::int64_t> epochs = LossEpochs(plan.config.pipeline.epochs);
  for (const auto& [id, run] : experiments) {
    const DatasetInfo& d = plan.datasets[static_cast<std::size_t>(run->dataset)];
    const double min_epoch = MinimizingEpoch(run->n_params, LossIntercept(d));
    Rng rng(plan.seed, Stream::kLosses, static_cast<std::uint64_t>(id));
    std::string body;
    for (const std::int64_t e : epochs) {
      const double loss =
          TestLoss(d, run->n_params, min_epoch, static_cast<double>(e)) * std::exp(0.005 * rng.Normal());
      AppendInt(&body, id);
      body += ',';
      AppendInt(&body, e);
      body += ',';
      char buffer[32];
      std::snprintf(buffer, sizeof(buffer), "%.6g", loss);
      body += buffer;
      body += '\n';
      ++stats->losses_rows;
    }
    out.Write(body);
    ++stats->experiments;
  }
  stats->bytes += out.Close();
}

void WriteBrokenTelemetryFiles(const Plan& plan, const std::string& dir, SmallFileStats* stats) {
  if (!plan.options.dirty || plan.months.empty()) return;
  const std::string base = "telemetry/" + plan.months.front().label + "/";
  {
    OutputFile out(dir + "/" + base + "part-9000.csv", false);
    out.Write(plan.options.telemetry_layout == TelemetryLayout::kLdms
                  ? "#Time,Time_usec,ProducerName,component_id,job_id,power\n"
              : plan.options.telemetry_layout == TelemetryLayout::kEnergyCounter ? "timestamp,node,joules\n"
                                                                                 : "timestamp,node,watts\n");
    stats->bytes += out.Close();
    stats->broken_telemetry_files.emplace_back(base + "part-9000.csv", "header_only");
  }
  {
    OutputFile out(dir + "/" + base + "part-9001.csv", false);
    stats->bytes += out.Close();
    stats->broken_telemetry_files.emplace_back(base + "part-9001.csv", "empty");
  }
  {
    OutputFile out(dir + "/" + base + "part-9002.csv.gz", false);
    out.Write("this file claims to be gzip but is plain text\n");
    stats->bytes += out.Close();
    stats->broken_telemetry_files.emplace_back(base + "part-9002.csv.gz", "corrupt_gzip");
  }
  {
    // A header without the required columns: each line is a bad_header row.
    OutputFile out(dir + "/" + base + "part-9003.csv", false);
    out.Write("time,host,power\n");
    const std::string& node = plan.nodes.front().name;
    const std::int64_t local_s = (plan.window_start + plan.telemetry_offsets.At(plan.window_start)) / kMsPerSecond;
    for (int k = 0; k < 3; ++k) {
      std::string line = DateTime(local_s + std::int64_t{60} * k, ' ');
      line += "," + node + ",250\n";
      out.Write(line);
    }
    stats->bad_header_lines += 3;
    stats->bytes += out.Close();
    stats->broken_telemetry_files.emplace_back(base + "part-9003.csv", "bad_header");
  }
}

}  // namespace wattrun::generate
