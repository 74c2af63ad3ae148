#include "stages/generate/truth.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>

#include "core/hostlist.h"
#include "core/quantile.h"
#include "stages/generate/text_format.h"
#include "stages/model/energy_model.h"

namespace wattrun::generate {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::int64_t kMsPerSecond = 1000;

// Value of the k-th (0-based) smallest reading of a histogram.
int OrderStatistic(const std::vector<std::int64_t>& hist, std::int64_t k) {
  std::int64_t seen = 0;
  for (std::size_t w = 0; w < hist.size(); ++w) {
    seen += hist[w];
    if (seen > k) return static_cast<int>(w);
  }
  return static_cast<int>(hist.size()) - 1;
}

double HistogramQuantile(const std::vector<std::int64_t>& hist, double q) {
  std::int64_t n = 0;
  for (const std::int64_t c : hist) n += c;
  return QuantileOfRanks(n, q, [&](std::int64_t k) { return static_cast<double>(OrderStatistic(hist, k)); });
}

std::string Num(double v) { return std::isnan(v) ? "" : FormatDouble(v); }
std::string Fixed(double v) { return std::isnan(v) ? "" : FormatFixed(v, 6); }
std::string Utc(TimeMs t) { return DateTime(FloorDiv(t, kMsPerSecond), ' '); }
std::string Bool(bool b) { return b ? "true" : "false"; }

// What the pipeline should conclude about one run.
struct ExpectedRun {
  const PlanRun* run = nullptr;
  std::string status;
  int node = -1;  // index of the written host, -1 if unknown
  double run_time_s = kNaN;
  std::int64_t samples = -1;
  double energy_j = kNaN;
  double std_energy_j = kNaN;
  int filter_1 = -1;  // -1: not an ok run
  int filter_3 = -1;
  double filter_3_stdevs = kNaN;
};

class TruthWriter {
 public:
  TruthWriter(const TruthInputs& in, std::string dir) : in_(in), plan_(*in.plan), dir_(std::move(dir)) {}

  std::int64_t Write() {
    std::filesystem::create_directories(dir_);
    ComputeIdle();
    ComputeRuns();
    ComputeFilters();
    WriteRuns();
    WriteIdle();
    WriteNodePower();
    WriteOverheads();
    WriteModel();
    WriteExperiments();
    WriteJobs();
    if (in_.accounting != nullptr) WriteJobsEnergy();
    WriteFiles();
    if (in_.dirt_csv != nullptr) Emit("telemetry_dirt.csv", *in_.dirt_csv);
    WriteCounts();
    WriteYaml();
    return bytes_;
  }

 private:
  void Emit(const std::string& name, const std::string& text) {
    OutputFile out(dir_ + "/" + name, false);
    out.Write(text);
    bytes_ += out.Close();
  }
  const std::string& TypeName(int type) const {
    return plan_.config.facility.node_types[static_cast<std::size_t>(type)].name;
  }

  void ComputeIdle() {
    const std::size_t n_types = plan_.config.facility.node_types.size();
    const double q = plan_.config.pipeline.idle_quantile;
    std::vector<std::vector<std::int64_t>> pooled(n_types, std::vector<std::int64_t>(kHistogramBins, 0));
    std::vector<std::vector<double>> per_node(n_types);
    node_quantile_.assign(plan_.nodes.size(), kNaN);
    node_count_.assign(plan_.nodes.size(), 0);
    type_nodes_.assign(n_types, 0);
    type_readings_.assign(n_types, 0);
    std::vector<std::int64_t> hist(kHistogramBins);
    for (std::size_t n = 0; n < plan_.nodes.size(); ++n) {
      const std::size_t t = static_cast<std::size_t>(plan_.nodes[n].type);
      std::int64_t count = 0;
      for (int w = 0; w < kHistogramBins; ++w) {
        hist[static_cast<std::size_t>(w)] = in_.histograms->counts[n * kHistogramBins + static_cast<std::size_t>(w)];
        count += hist[static_cast<std::size_t>(w)];
        pooled[t][static_cast<std::size_t>(w)] += hist[static_cast<std::size_t>(w)];
      }
      node_count_[n] = count;
      if (count == 0) continue;
      node_quantile_[n] = HistogramQuantile(hist, q);
      per_node[t].push_back(node_quantile_[n]);
      ++type_nodes_[t];
      type_readings_[t] += count;
    }
    idle_pooled_.assign(n_types, kNaN);
    idle_median_.assign(n_types, kNaN);
    for (std::size_t t = 0; t < n_types; ++t) {
      idle_pooled_[t] = HistogramQuantile(pooled[t], q);
      auto& v = per_node[t];
      std::sort(v.begin(), v.end());
      if (!v.empty()) {
        idle_median_[t] = v.size() % 2 == 1 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
      }
    }
  }

  void ComputeRuns() {
    std::unordered_map<std::string, int> node_index;
    for (std::size_t n = 0; n < plan_.nodes.size(); ++n) node_index[plan_.nodes[n].name] = static_cast<int>(n);
    std::unordered_map<std::string, const PlanJob*> jobs;
    for (const PlanJob& j : plan_.jobs) jobs[j.id] = &j;
    const double step_s = static_cast<double>(plan_.step_ms) / kMsPerSecond;
    const TimeMs tolerance = plan_.step_ms;
    for (const PlanRun& r : plan_.runs) {
      if (r.dropped) continue;
      ExpectedRun e;
      e.run = &r;
      const auto host = node_index.find(r.written_host);
      e.node = host == node_index.end() ? -1 : host->second;
      const TimeMs s = r.written_start_ms;
      const TimeMs u = r.written_update_ms;
      if (!r.corrupt_field.empty()) {
        e.status = "bad_run_row";
      } else if (u < s) {
        e.status = "bad_window";
      } else {
        e.run_time_s = static_cast<double>(u - s) / kMsPerSecond;
        const auto job = jobs.find(r.written_job_id);
        if (e.node < 0) {
          e.status = "unknown_node";
        } else if (job == jobs.end()) {
          e.status = "no_job";
        } else if (std::find(job->second->nodes.begin(), job->second->nodes.end(), e.node) ==
                   job->second->nodes.end()) {
          e.status = "host_not_in_job";
        } else if (s < job->second->start_ms - tolerance ||
                   (!job->second->running && u > job->second->end_ms + tolerance)) {
          e.status = "outside_job_window";
        } else if (job->second->running) {
          e.status = "job_running";
        } else {
          const NodeSeries& series = plan_.nodes[static_cast<std::size_t>(e.node)].series;
          const WindowIntegral w = IntegrateSeries(series, s, u, plan_.step_ms, plan_.first_tick, plan_.last_tick);
          e.samples = w.samples;
          if (w.samples == 0) {
            e.status = "missing_all";
          } else {
            e.status = static_cast<double>(w.samples) < e.run_time_s / step_s - 1.0 ? "missing_some"
                       : w.any_zero                                                 ? "zero_watts"
                                                                                    : "ok";
            e.energy_j = w.energy_j;
            const int type = plan_.nodes[static_cast<std::size_t>(e.node)].type;
            const int ref = plan_.classes[static_cast<std::size_t>(r.hw_class)].reference_type;
            e.std_energy_j = e.energy_j + (idle_pooled_[static_cast<std::size_t>(ref)] -
                                           idle_pooled_[static_cast<std::size_t>(type)]) *
                                              e.run_time_s;
          }
        }
      }
      ++status_counts_[e.status];
      expected_.push_back(e);
    }
    std::sort(expected_.begin(), expected_.end(),
              [](const ExpectedRun& a, const ExpectedRun& b) { return a.run->run_id < b.run->run_id; });
  }

  void ComputeFilters() {
    const PipelineConfig& p = plan_.config.pipeline;
    std::map<std::tuple<bool, int, std::int64_t>, std::vector<ExpectedRun*>> groups;
    for (ExpectedRun& e : expected_) {
      if (e.status != "ok") continue;
      e.filter_1 = e.run_time_s > p.filter_max_run_time_s ? 1 : 0;
      groups[{e.run->is_gpu, e.run->dataset, e.run->size}].push_back(&e);
    }
    for (auto& [key, members] : groups) {
      const double n = static_cast<double>(members.size());
      double mean = 0.0;
      for (const ExpectedRun* e : members) mean += std::log(e->run_time_s);
      mean /= n;
      double var = 0.0;
      for (const ExpectedRun* e : members) var += (std::log(e->run_time_s) - mean) * (std::log(e->run_time_s) - mean);
      const double sd = std::sqrt(var / n);
      for (ExpectedRun* e : members) {
        if (members.size() < 2 || !(sd > 0.0)) {
          e->filter_3 = 0;
          continue;
        }
        e->filter_3_stdevs = std::fabs(std::log(e->run_time_s) - mean) / sd;
        e->filter_3 = e->filter_3_stdevs > p.filter_max_stdevs ? 1 : 0;
      }
    }
    for (const ExpectedRun& e : expected_) {
      if (e.filter_1 < 0) continue;
      filter_counts_["filter_1"] += e.filter_1;
      filter_counts_["filter_3"] += e.filter_3;
      filter_counts_["filter"] += (e.filter_1 || e.filter_3) ? 1 : 0;
      filter_counts_["filter_3_not_filter_1"] += (e.filter_3 && !e.filter_1) ? 1 : 0;
      filter_counts_["usable"] += (e.filter_1 || e.filter_3) ? 0 : 1;
    }
  }

  void WriteRuns() {
    std::string t =
        "run_id,experiment_id,slurm_job_id,host_name,node,node_type,is_gpu,dataset,shape,depth,size,n_params,"
        "fault,expected_status,run_time_s,samples,energy_j,model_energy_j,std_energy_j,expected_std_energy_j,"
        "filter_1,filter_3,filter_3_stdevs,filter,start_time,update_time,level_w\n";
    for (const ExpectedRun& e : expected_) {
      const PlanRun& r = *e.run;
      t += r.run_id + "," + std::to_string(r.experiment_id) + "," + r.written_job_id + "," + r.written_host + ",";
      t += plan_.nodes[static_cast<std::size_t>(r.node)].name + ",";
      t += (e.node >= 0 ? TypeName(plan_.nodes[static_cast<std::size_t>(e.node)].type) : std::string()) + ",";
      t += Bool(r.is_gpu) + "," + plan_.datasets[static_cast<std::size_t>(r.dataset)].name + "," + r.shape + ",";
      t += std::to_string(r.depth) + "," + std::to_string(r.size) + "," + std::to_string(r.n_params) + ",";
      t += std::string(ToString(r.fault)) + "," + e.status + "," + Num(e.run_time_s) + ",";
      t += (e.samples >= 0 ? std::to_string(e.samples) : std::string()) + ",";
      t += Fixed(e.energy_j) + "," + Fixed(r.model_energy_j) + "," + Fixed(r.std_energy_j) + ",";
      t += Fixed(e.std_energy_j) + ",";
      if (e.filter_1 >= 0) {
        t += Bool(e.filter_1) + "," + Bool(e.filter_3) + "," + Num(e.filter_3_stdevs) + "," +
             Bool(e.filter_1 || e.filter_3) + ",";
      } else {
        t += ",,,,";
      }
      t += Utc(r.written_start_ms) + "," + Utc(r.written_update_ms) + "," + FormatFixed(r.level_w, 3) + "\n";
    }
    Emit("runs.csv", t);
  }

  void WriteIdle() {
    std::string t = "node_type,hardware_class,nodes,readings,idle_w_config,idle_w,idle_w_median_of_nodes\n";
    const auto& types = plan_.config.facility.node_types;
    for (std::size_t k = 0; k < types.size(); ++k) {
      t += types[k].name + "," + types[k].hardware_class + "," + std::to_string(type_nodes_[k]) + "," +
           std::to_string(type_readings_[k]) + "," + Num(types[k].idle_w) + "," + Num(idle_pooled_[k]) + "," +
           Num(idle_median_[k]) + "\n";
    }
    Emit("idle_power.csv", t);
  }

  void WriteNodePower() {
    std::string t = "node,node_type,count,min,idle_quantile_w,max\n";
    for (std::size_t n = 0; n < plan_.nodes.size(); ++n) {
      const bool any = node_count_[n] > 0;
      t += plan_.nodes[n].name + "," + TypeName(plan_.nodes[n].type) + "," + std::to_string(node_count_[n]) + "," +
           (any ? std::to_string(in_.histograms->min_w[n]) : "") + "," + Num(node_quantile_[n]) + "," +
           (any ? std::to_string(in_.histograms->max_w[n]) : "") + "\n";
    }
    Emit("node_power.csv", t);
  }

  void WriteOverheads() {
    const PipelineConfig& p = plan_.config.pipeline;
    std::string t = "is_gpu,runs,energy_overhead,runtime_overhead\n";
    for (const bool gpu : {false, true}) {
      std::vector<double> energy, runtime;
      for (const ExpectedRun& e : expected_) {
        if (e.status != "ok" || e.filter_1 || e.filter_3 || e.run->is_gpu != gpu) continue;
        if (plan_.datasets[static_cast<std::size_t>(e.run->dataset)].name != p.overhead_dataset) continue;
        if (e.run->size > p.overhead_max_size) continue;
        energy.push_back(e.std_energy_j);
        runtime.push_back(e.run_time_s);
      }
      std::sort(energy.begin(), energy.end());
      std::sort(runtime.begin(), runtime.end());
      t += Bool(gpu) + "," + std::to_string(energy.size()) + "," + Num(QuantileSorted(energy, p.overhead_quantile)) +
           "," + Num(QuantileSorted(runtime, p.overhead_quantile)) + "\n";
    }
    Emit("overheads.csv", t);
  }

  void WriteModel() {
    std::string t = "hardware_class,is_gpu,reference_type,parameter,value,unit\n";
    for (const PlanClass& c : plan_.classes) {
      const int levels = static_cast<int>(c.memory.size());
      const auto names = model::ParameterNames(levels);
      const auto units = model::ParameterUnits(levels);
      for (std::size_t k = 0; k < c.parameters.size(); ++k) {
        t += c.name + "," + Bool(c.is_gpu) + "," + TypeName(c.reference_type) + "," + names[k] + "," +
             Num(c.parameters[k]) + "," + units[k] + "\n";
      }
    }
    Emit("model_parameters.csv", t);
  }

  void WriteExperiments() {
    std::map<std::int64_t, const PlanRun*> experiments;
    for (const PlanRun& r : plan_.runs) {
      if (!r.dropped) experiments.emplace(r.experiment_id, &r);
    }
    std::string t = "experiment_id,dataset,shape,depth,size,n_params,min_epoch,min_loss\n";
    for (const auto& [id, r] : experiments) {
      const DatasetInfo& d = plan_.datasets[static_cast<std::size_t>(r->dataset)];
      const double e = MinimizingEpoch(r->n_params, LossIntercept(d));
      t += std::to_string(id) + "," + d.name + "," + r->shape + "," + std::to_string(r->depth) + "," +
           std::to_string(r->size) + "," + std::to_string(r->n_params) + "," + Num(e) + "," +
           Num(TestLoss(d, r->n_params, e, e)) + "\n";
    }
    Emit("experiments.csv", t);
  }

  void WriteJobs() {
    std::string t =
        "job_id,raw_id,butter,hardware_class,node_list,n_nodes,submit_utc,start_utc,end_utc,running,state,"
        "runs\n";
    std::vector<const PlanJob*> jobs;
    for (const PlanJob& j : plan_.jobs) jobs.push_back(&j);
    std::stable_sort(jobs.begin(), jobs.end(),
                     [](const PlanJob* a, const PlanJob* b) { return a->raw_id < b->raw_id; });
    for (const PlanJob* j : jobs) {
      std::vector<std::string> names;
      for (const int n : j->nodes) names.push_back(plan_.nodes[static_cast<std::size_t>(n)].name);
      t += j->id + "," + std::to_string(j->raw_id) + "," + Bool(j->butter) + "," +
           plan_.classes[static_cast<std::size_t>(j->hw_class)].name + "," +
           CsvField(names.empty() ? "None assigned" : CompressHostlist(names)) + "," + std::to_string(names.size()) +
           "," + Utc(j->submit_ms) + "," + (j->started ? Utc(j->start_ms) : "") + "," +
           (j->started && !j->running ? Utc(j->end_ms) : "") + "," + Bool(j->running) + "," + CsvField(j->state) + "," +
           std::to_string(j->runs.size()) + "\n";
    }
    Emit("jobs.csv", t);
  }

  // Spec section 5's jobs_energy.csv as the pipeline should write it.
  void WriteJobsEnergy() {
    const bool median = plan_.config.pipeline.idle_method == IdleMethod::kMedianOfNodes;
    std::string t =
        "job_id,user,account,partition,state,status,start,end,nodes,alloc_cpus,run_time,node_hours,samples,"
        "missing_s,energy,idle_energy,dynamic_energy,carbon_g,slurm_energy,shared,unknown_nodes\n";
    auto iso = [](TimeMs ms) { return DateTime(FloorDiv(ms, kMsPerSecond), 'T') + "Z"; };
    for (const JobTruth& r : in_.accounting->rows) {
      const PlanJob& j = plan_.jobs[static_cast<std::size_t>(r.job)];
      ++job_status_counts_[r.status];
      t += j.id + "," + CsvField(j.user) + "," + CsvField(j.account) + "," + CsvField(j.partition) + "," +
           CsvField(j.state) + "," + r.status + "," + (r.has_start ? iso(r.start_ms) : "") + "," +
           (r.has_end ? iso(r.end_ms) : "") + "," + std::to_string(r.nodes) + ",";
      if (r.has_numbers) {
        double idle = 0.0;
        for (std::size_t k = 0; k < r.share_s_by_type.size(); ++k) {
          const double p = median ? idle_median_[k] : idle_pooled_[k];
          if (r.share_s_by_type[k] > 0.0 && !std::isnan(p)) idle += p * r.share_s_by_type[k];
        }
        t += std::to_string(r.alloc_cpus) + "," + Num(r.run_time_s) + "," +
             Fixed(r.run_time_s * static_cast<double>(r.nodes) / 3600.0) + "," + std::to_string(r.samples) + "," +
             Num(r.missing_s) + "," + Fixed(r.energy_j) + "," + Fixed(idle) + "," + Fixed(r.energy_j - idle) + "," +
             Fixed(r.carbon_g) + ",";
      } else {
        t += ",,,,,,,,,";
      }
      t += r.slurm_energy + "," + Bool(j.shared) + "," + std::to_string(j.unknown_hosts.size()) + "\n";
    }
    Emit("jobs_energy.csv", t);
  }

  void WriteFiles() {
    std::string t = "file,gzip,rows,clean_rows,bytes_uncompressed,bytes_on_disk,overlap_duplicates";
    for (int k = 0; k < kDirtKinds; ++k) t += std::string(",") + ToString(static_cast<Dirt>(k));
    t += "\n";
    for (std::size_t i = 0; i < plan_.files.size(); ++i) {
      const TelemetryFileStats& s = (*in_.files)[i];
      t += plan_.files[i].rel_path + "," + Bool(plan_.files[i].gzip) + "," + std::to_string(s.rows) + "," +
           std::to_string(s.clean_rows) + "," + std::to_string(s.bytes_uncompressed) + "," +
           std::to_string(s.bytes_on_disk) + "," + std::to_string(s.overlap_duplicates);
      for (int k = 0; k < kDirtKinds; ++k) {
        t += ',';
        t += std::to_string(s.dirt[static_cast<std::size_t>(k)]);
      }
      t += "\n";
      totals_.rows += s.rows;
      totals_.clean_rows += s.clean_rows;
      totals_.bytes_on_disk += s.bytes_on_disk;
      totals_.bytes_uncompressed += s.bytes_uncompressed;
      totals_.overlap_duplicates += s.overlap_duplicates;
      for (int k = 0; k < kDirtKinds; ++k)
        totals_.dirt[static_cast<std::size_t>(k)] += s.dirt[static_cast<std::size_t>(k)];
      gzip_files_ += plan_.files[i].gzip ? 1 : 0;
      gzip_bytes_ += plan_.files[i].gzip ? s.bytes_uncompressed : 0;
    }
    Emit("telemetry_files.csv", t);
  }

  std::vector<std::tuple<std::string, std::string, std::int64_t>> Counts() const {
    std::vector<std::tuple<std::string, std::string, std::int64_t>> c;
    const SmallFileStats& s = *in_.small;
    for (const auto& [k, v] : plan_.intended) c.emplace_back("fault", k, v);
    for (const auto& [k, v] : status_counts_) c.emplace_back("status", k, v);
    for (const auto& [k, v] : filter_counts_) c.emplace_back("filter", k, v);
    for (const auto& [k, v] : job_status_counts_) c.emplace_back("jobs", k, v);
    for (int k = 0; k < kDirtKinds; ++k)
      c.emplace_back("telemetry", ToString(static_cast<Dirt>(k)), totals_.dirt[static_cast<std::size_t>(k)]);
    c.emplace_back("telemetry", "overlap_duplicates", totals_.overlap_duplicates);
    c.emplace_back("telemetry", "bad_header", s.bad_header_lines);
    c.emplace_back("telemetry", "rows", totals_.rows);
    c.emplace_back("telemetry", "clean_rows", totals_.clean_rows);
    c.emplace_back("telemetry", "files", static_cast<std::int64_t>(plan_.files.size()));
    c.emplace_back("telemetry", "gzip_files", gzip_files_);
    c.emplace_back("telemetry", "broken_files", static_cast<std::int64_t>(s.broken_telemetry_files.size()));
    for (const auto& [k, v] : plan_.notes) c.emplace_back("plan", k, v);
    c.emplace_back("sacct", "allocations", s.sacct_allocations);
    c.emplace_back("sacct", "steps", s.sacct_steps);
    c.emplace_back("sacct", "butter_jobs", s.butter_jobs);
    for (const auto& [k, v] : s.sacct_bad_rows) c.emplace_back("sacct", k, v);
    c.emplace_back("runs", "rows", s.runs_rows);
    c.emplace_back("nodes", "rows", s.nodes_rows);
    c.emplace_back("nodes", "unmatched", s.unmatched_nodes);
    c.emplace_back("losses", "rows", s.losses_rows);
    c.emplace_back("losses", "experiments", s.experiments);
    c.emplace_back("carbon_intensity", "rows", s.carbon_rows);
    c.emplace_back("sweep", "points", plan_.sweep_points);
    c.emplace_back("sweep", "skipped_absurd_runtime", plan_.sweep_points_skipped);
    c.emplace_back("sweep", "groups_used", plan_.groups_used);
    return c;
  }

  void WriteCounts() {
    std::string t = "section,name,count\n";
    for (const auto& [section, name, count] : Counts()) t += section + "," + name + "," + std::to_string(count) + "\n";
    Emit("counts.csv", t);
  }

  void WriteYaml() {
    const Config& cfg = plan_.config;
    const GenerateOptions& o = plan_.options;
    std::string y = "# Truth of a synthetic facility written by `wattrun generate`.\n";
    y += "seed: " + std::to_string(o.seed) + "\nscale: " + Num(o.scale) + "\nmonths: " + std::to_string(o.months) +
         "\ndirty: " + Bool(o.dirty) + "\nstart_date: \"" + cfg.generator.start_date + "\"\n";
    y += "window:\n  start_utc: \"" + Utc(plan_.window_start) + "\"\n  end_utc: \"" + Utc(plan_.window_end) +
         "\"\n  sacct_snapshot_utc: \"" + Utc(plan_.snapshot_ms) + "\"\n";
    y += "telemetry:\n  timezone: " + cfg.facility.telemetry.timezone +
         "\n  ignore_z: " + Bool(cfg.facility.telemetry.ignore_z) +
         "\n  trailing_z_written: " + Bool(plan_.telemetry_z_suffix) +
         "\n  sampling_interval_s: " + Num(cfg.facility.sampling_interval_s) +
         "\n  files: " + std::to_string(plan_.files.size()) + "\n  gzip_files: " + std::to_string(gzip_files_) +
         "\n  gzip_share_of_bytes: " +
         Num(totals_.bytes_uncompressed > 0
                 ? static_cast<double>(gzip_bytes_) / static_cast<double>(totals_.bytes_uncompressed)
                 : 0.0) +
         "\n  rows: " + std::to_string(totals_.rows) + "\n  clean_rows: " + std::to_string(totals_.clean_rows) +
         "\n  bytes_on_disk: " + std::to_string(totals_.bytes_on_disk) + "\n";
    y += "scheduler:\n  timezone: " + cfg.facility.scheduler.timezone + "\n";
    y += "daylight_saving_transitions_utc: [";
    for (std::size_t i = 0; i < plan_.transitions.size(); ++i) {
      y += i ? ", \"" : "\"";
      y += Utc(plan_.transitions[i]);
      y += "\"";
    }
    y += "]\nbad_day_utc: {start: \"" + Utc(plan_.bad_day_start) + "\", end: \"" + Utc(plan_.bad_day_end) + "\"}\n";
    y += "unknown_node_name: " + plan_.unknown_node_name + "\n";
    y += "noise:\n  sigma_cpu: " + Num(cfg.generator.sigma_cpu) + "\n  sigma_gpu: " + Num(cfg.generator.sigma_gpu) +
         "\n  law: \"std_energy = model_energy * exp(sigma * z), z ~ N(0,1), redrawn so that 65 s <= "
         "run_time <= 60000 s\"\n";
    y += "node_types:\n";
    const auto& types = cfg.facility.node_types;
    for (std::size_t k = 0; k < types.size(); ++k) {
      std::int64_t count = 0;
      for (const PlanNode& n : plan_.nodes) count += n.type == static_cast<int>(k) ? 1 : 0;
      y += "  " + types[k].name + ": {hardware_class: " + types[k].hardware_class +
           ", nodes: " + std::to_string(count) + ", idle_w_config: " + Num(types[k].idle_w) +
           ", idle_w_pooled: " + (std::isnan(idle_pooled_[k]) ? std::string("null") : Num(idle_pooled_[k])) +
           ", idle_w_median_of_nodes: " + (std::isnan(idle_median_[k]) ? std::string("null") : Num(idle_median_[k])) +
           "}\n";
    }
    y += "model_parameters:  # spec step 12, Table 4 read as mJ per event (ke in J)\n";
    for (const PlanClass& c : plan_.classes) {
      const auto names = model::ParameterNames(static_cast<int>(c.memory.size()));
      y += "  " + c.name + ": {reference_type: " + TypeName(c.reference_type) + ", sigma: " + Num(c.sigma);
      for (std::size_t k = 0; k < c.parameters.size(); ++k) y += ", " + names[k] + ": " + Num(c.parameters[k]);
      y += "}\n";
    }
    y += "loss_law:  # eq. 10: epoch_min^(-1/3) = slope * ln(n_params) + intercept\n  slope: " + Num(kLossSlope) +
         "\n  intercept:\n";
    for (const DatasetInfo& d : plan_.datasets) y += "    " + d.name + ": " + Num(LossIntercept(d)) + "\n";
    std::string section;
    for (const auto& [sec, name, count] : Counts()) {
      if (sec != section) {
        y += "counts_" + sec + ":\n";
        section = sec;
      }
      y += "  " + name + ": " + std::to_string(count) + "\n";
    }
    y += "broken_telemetry_files:\n";
    for (const auto& [path, what] : in_.small->broken_telemetry_files)
      y += "  - {path: " + path + ", problem: " + what + "}\n";
    Emit("truth.yaml", y);
  }

  const TruthInputs& in_;
  const Plan& plan_;
  std::string dir_;
  std::int64_t bytes_ = 0;
  std::vector<double> node_quantile_;
  std::vector<std::int64_t> node_count_;
  std::vector<std::int64_t> type_nodes_, type_readings_;
  std::vector<double> idle_pooled_, idle_median_;
  std::vector<ExpectedRun> expected_;
  std::map<std::string, std::int64_t> status_counts_;
  std::map<std::string, std::int64_t> filter_counts_;
  std::map<std::string, std::int64_t> job_status_counts_;
  TelemetryFileStats totals_;
  std::int64_t gzip_files_ = 0;
  std::int64_t gzip_bytes_ = 0;
};

}  // namespace

std::int64_t WriteTruth(const TruthInputs& in, const std::string& output_dir) {
  return TruthWriter(in, output_dir + "/truth").Write();
}

}  // namespace wattrun::generate
