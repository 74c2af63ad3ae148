#include "stages/generate/facility_files.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>

#include "core/hostlist.h"
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

std::string NodeListOf(const Plan& plan, const std::vector<int>& nodes) {
  if (nodes.empty()) return "None assigned";
  std::vector<std::string> names;
  for (const int n : nodes) names.push_back(plan.nodes[static_cast<std::size_t>(n)].name);
  return CompressHostlist(names);
}

// The month file (scheduler local calendar) a job is listed in.
std::string MonthOf(const Plan& plan, TimeMs utc) {
  const std::int64_t local = utc + plan.scheduler_offsets.At(utc);
  return MonthLabel(FloorDiv(local, 86400 * kMsPerSecond));
}

}  // namespace

std::string SchedulerTime(const Plan& plan, TimeMs utc) {
  return DateTime((utc + plan.scheduler_offsets.At(utc)) / kMsPerSecond, 'T');
}

std::string RunsTime(TimeMs utc) { return DateTime(FloorDiv(utc, kMsPerSecond), ' ') + "+00:00"; }

double LossIntercept(const DatasetInfo& dataset) {
  const auto& all = ButterDatasets();
  const auto it =
      std::find_if(all.begin(), all.end(), [&](const DatasetInfo& d) { return d.name == dataset.name; });
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
  std::sort(
      runs.begin(), runs.end(), [](const PlanRun* a, const PlanRun* b) { return a->run_id < b->run_id; });
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

void WriteSacct(const Plan& plan, const std::string& dir, SmallFileStats* stats) {
  // Allocation lines in JobIDRaw order, each followed by its steps.
  std::vector<const PlanJob*> jobs;
  for (const PlanJob& j : plan.jobs) jobs.push_back(&j);
  std::stable_sort(jobs.begin(), jobs.end(), [](const PlanJob* a, const PlanJob* b) {
    if (a->raw_id != b->raw_id) return a->raw_id < b->raw_id;
    return a->het_offset < b->het_offset;
  });
  std::map<std::string, std::string> text;  // month -> lines
  for (const MonthSpan& m : plan.months) text[m.label];
  auto field = [](std::string* line, const std::string& value) {
    if (!line->empty()) *line += '|';
    *line += value;
  };
  for (const PlanJob* j : jobs) {
    const std::string month = MonthOf(plan, j->started ? j->start_ms : j->submit_ms);
    std::string& out = text[month];
    const std::string raw = std::to_string(j->raw_id);
    const std::string nodelist = NodeListOf(plan, j->nodes);
    const std::string submit = SchedulerTime(plan, j->submit_ms);
    const std::string start = j->started ? SchedulerTime(plan, j->start_ms) : j->pending ? "Unknown" : "None";
    const std::string end = j->pending || j->running ? "Unknown"
                            : j->started             ? SchedulerTime(plan, j->end_ms)
                                                     : SchedulerTime(plan, j->end_ms);
    const std::int64_t elapsed_s = !j->started  ? 0
                                   : j->running ? (plan.snapshot_ms - j->start_ms) / kMsPerSecond
                                                : (j->end_ms - j->start_ms) / kMsPerSecond;
    std::string line;
    field(&line, j->id);
    field(&line, raw);
    field(&line, j->name);
    field(&line, j->partition);
    field(&line, j->account);
    field(&line, j->user);
    field(&line, std::to_string(j->nodes.size()));
    field(&line, nodelist);
    field(&line, submit);
    field(&line, start);
    field(&line, end);
    field(&line, Elapsed(elapsed_s));
    field(&line, j->state);
    field(&line, j->exit_code);
    out += line + "\n";
    ++stats->sacct_allocations;
    if (j->butter) ++stats->butter_jobs;
    if (!j->started) continue;
    // Steps: batch (first node), extern (all nodes), 0 (the srun step).
    const std::string step_state = j->running                            ? "RUNNING"
                                   : j->state.rfind("CANCELLED", 0) == 0 ? "CANCELLED"
                                                                         : j->state;
    struct Step {
      const char* suffix;
      const char* name;
      std::vector<int> nodes;
      std::int64_t start_shift_s;
      std::int64_t end_shift_s;
      std::string state;
    };
    const std::vector<Step> steps = {
        {".batch", "batch", {j->nodes.front()}, 0, 0, step_state},
        {".extern", "extern", j->nodes, 0, 0, j->running ? "RUNNING" : "COMPLETED"},
        {".0", j->butter ? "python" : "srun", j->nodes, 3, -2, step_state},
    };
    for (const Step& s : steps) {
      std::string step_line;
      field(&step_line, j->id + s.suffix);
      field(&step_line, raw + s.suffix);
      field(&step_line, s.name);
      field(&step_line, "");
      field(&step_line, j->account);
      field(&step_line, "");
      field(&step_line, std::to_string(s.nodes.size()));
      field(&step_line, NodeListOf(plan, s.nodes));
      field(&step_line, SchedulerTime(plan, j->start_ms + s.start_shift_s * kMsPerSecond));
      field(&step_line, SchedulerTime(plan, j->start_ms + s.start_shift_s * kMsPerSecond));
      field(&step_line,
            j->running ? "Unknown" : SchedulerTime(plan, j->end_ms + s.end_shift_s * kMsPerSecond));
      const std::int64_t step_elapsed =
          j->running ? elapsed_s - s.start_shift_s : elapsed_s - s.start_shift_s + s.end_shift_s;
      field(&step_line, Elapsed(std::max<std::int64_t>(0, step_elapsed)));
      field(&step_line, s.state);
      field(&step_line, j->exit_code);
      out += step_line + "\n";
      ++stats->sacct_steps;
    }
  }
  if (plan.options.dirty && !plan.months.empty()) {
    // Two broken lines in the middle month: a truncated line and a bad time.
    std::string& out = text[plan.months[plan.months.size() / 2].label];
    out += "6099991|6099991|broken|short|proj01|u001|1|r1i0n0\n";
    out +=
        "6099992|6099992|bad_time|short|proj01|u001|1|r1i0n1|2021-13-01T00:00:00|2021-13-01T00:00:00|"
        "2021-13-01T01:00:00|01:00:00|COMPLETED|0:0\n";
    stats->sacct_bad_rows["field_count"] += 1;
    stats->sacct_bad_rows["bad_time"] += 1;
  }
  std::filesystem::create_directories(dir + "/sacct");
  for (const auto& [month, body] : text) {
    OutputFile out(dir + "/sacct/" + month + ".txt", false);
    out.Write(
        "JobID|JobIDRaw|JobName|Partition|Account|User|AllocNodes|NodeList|Submit|Start|End|Elapsed|State|"
        "ExitCode\n");
    out.Write(body);
    stats->bytes += out.Close();
  }
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
    out.Write("timestamp,node,watts\n");
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
    for (int k = 0; k < 3; ++k) {
      std::string line = DateTime(
          (plan.window_start + plan.telemetry_offsets.At(plan.window_start)) / kMsPerSecond + 60 * k, ' ');
      line += "," + node + ",250\n";
      out.Write(line);
    }
    stats->bad_header_lines += 3;
    stats->bytes += out.Close();
    stats->broken_telemetry_files.emplace_back(base + "part-9003.csv", "bad_header");
  }
}

}  // namespace wattrun::generate
