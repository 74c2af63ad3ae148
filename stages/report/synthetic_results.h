// A synthetic PipelineResults for the report's tests: cpu and gpu runs over
// a BUTTER-like sweep (data sets × shapes × depths × sizes), with features,
// idle power, node quantiles, quality counts, fitted models, predictions and
// loss curves that behave roughly like the paper's (energy per datum rising
// where the working sets leave the caches), and facility accounting: six
// months of jobs on three partitions with their nodes, usage, ledger and an
// hourly-ish carbon-intensity series. Header-only: tests include it.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "stages/results/results.h"

namespace wattrun::report::testing {

// Deterministic random numbers (splitmix64).
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  double Uniform() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) * 0x1.0p-53;
  }
  double Normal() {
    const double u = std::max(Uniform(), 1e-300), v = Uniform();
    return std::sqrt(-2 * std::log(u)) * std::cos(6.283185307179586 * v);
  }

 private:
  std::uint64_t state_;
};

struct SyntheticOptions {
  int repeats = 1;               // runs per (experiment, class)
  bool losses = true;            // loss curves for every experiment
  bool memory_levels = false;    // carry memory levels in the results
  bool facility = true;          // jobs, job_nodes, usage, ledger, carbon_intensity
  bool intensity_series = true;  // carbon_intensity.csv was given
  bool provenance = true;        // command, config, creation time, readings per day
  int facility_jobs = 600;
  std::uint64_t seed = 7;
};

// usage.csv and ledger.csv from the jobs (a job counts in its start's month):
// the ledger meters 15-40 % more than the jobs received.
inline void AddSyntheticUsageAndLedger(results::PipelineResults* r) {
  std::map<std::tuple<std::string, std::string, std::string, std::string>, results::UsageRow> usage;
  std::map<std::pair<std::string, std::string>, results::LedgerRow> ledger;
  std::vector<std::string> type_of_job(r->jobs.size());
  for (const auto& n : r->job_nodes) type_of_job[n.job] = n.node_type;
  for (std::size_t i = 0; i < r->jobs.size(); ++i) {
    const auto& j = r->jobs[i];
    if (!j.energy_j) continue;
    const std::string month = FormatUtcIso(*j.start).substr(0, 7);
    auto& u = usage[{month, j.partition, j.account, j.user}];
    u.month = month;
    u.partition = j.partition;
    u.account = j.account;
    u.user = j.user;
    u.jobs += 1;
    u.node_hours += *j.node_hours;
    u.energy_j += *j.energy_j;
    u.idle_energy_j += *j.idle_energy_j;
    u.dynamic_energy_j += *j.dynamic_energy_j;
    u.carbon_g += *j.carbon_g;
    const std::string type = type_of_job[i].empty() ? "cpu1" : type_of_job[i];
    auto& l = ledger[{month, type}];
    l.month = month;
    l.node_type = type;
    l.nodes = 7;
    l.readings += *j.samples;
    l.job_energy_j += *j.energy_j;
  }
  for (auto& [key, u] : usage) r->usage.push_back(u);
  double k = 0;
  for (auto& [key, l] : ledger) {
    l.metered_energy_j = l.job_energy_j * (1.15 + 0.25 * std::fmod(k += 0.37, 1.0));
    l.unallocated_energy_j = l.metered_energy_j - l.job_energy_j;
    l.missing_s = 3600 * std::fmod(k * 7, 5.0);
    l.readings += static_cast<std::int64_t>((l.metered_energy_j - l.job_energy_j) / 250 / 60);
    r->ledger.push_back(l);
  }
}

// One synthetic job: started at `start` (UTC ms) on `nodes` nodes of one type
// for `hours`, drawing `watts` per node.
inline results::JobRow SyntheticJob(std::size_t index, TimeUs start, double hours, int nodes, double watts,
                                    Random& rng) {
  static const char* kAccounts[] = {"climate", "ml-lab", "bio",  "materials", "csc000", "wind",
                                    "hpc-ops", "astro",  "chem", "grid",      "fusion", "vision"};
  results::JobRow j;
  j.job_id = std::to_string(500000 + index);
  if (index % 37 == 5) j.job_id += "_" + std::to_string(index % 7);  // an array task
  if (index % 53 == 9) j.job_id += "+1";                             // a het component
  const std::size_t a = static_cast<std::size_t>(std::floor(12 * std::pow(rng.Uniform(), 1.8)));
  j.account = kAccounts[a];
  j.user = "u" + std::to_string(a * 3 + static_cast<std::size_t>(3 * rng.Uniform()));
  j.state = rng.Uniform() < 0.85 ? "COMPLETED" : (rng.Uniform() < 0.5 ? "FAILED" : "CANCELLED by 1234");
  j.status = rng.Uniform() < 0.06 ? "missing_some" : "ok";
  j.start = start;
  j.end = start + static_cast<TimeUs>(hours * 3.6e6);
  j.nodes = nodes;
  j.alloc_cpus = 36 * nodes;
  j.run_time_s = hours * 3600;
  j.node_hours = hours * nodes;
  j.samples = static_cast<std::int64_t>(hours * 60) * nodes;
  j.missing_s = j.status == "ok" ? 0.0 : 600.0 * rng.Uniform();
  j.energy_j = watts * nodes * *j.run_time_s;
  return j;
}

// Jobs on the partitions standard (cpu1, cpu2), gpu (gpu1) and debug (cpu2),
// their per-node parts, usage by month, the ledger and the intensity series.
inline void AddSyntheticFacility(const SyntheticOptions& options, Random& rng, results::PipelineResults* r) {
  const TimeUs t0 = DaysFromCivil(2021, 1, 1) * kMicrosPerDay;
  const double span_h = 181 * 24.0;  // January to June
  if (options.intensity_series) {
    for (int h = 0; h < 181 * 24; h += 6) {
      const double day = h / 24.0;
      r->carbon_intensity.emplace_back(t0 + static_cast<TimeUs>(h) * kMicrosPerHour,
                                       420 + 90 * std::sin(day / 29.0) + 60 * std::cos(6.2832 * h / 24.0));
    }
  }
  auto intensity_at = [&](TimeUs t) {
    double g = r->carbon_g_per_kwh;
    for (const auto& [from, v] : r->carbon_intensity) {
      if (from <= t) g = v;
    }
    return g;
  };
  const double idle[] = {220.4, 230.0, 374.25};
  const char* types[] = {"cpu1", "cpu2", "gpu1"};
  for (int i = 0; i < options.facility_jobs; ++i) {
    const double u = rng.Uniform();
    const int type = u < 0.55 ? 0 : u < 0.85 ? 1 : 2;
    const char* partition = type == 2 ? "gpu" : (type == 1 && rng.Uniform() < 0.3 ? "debug" : "standard");
    const double hours =
        std::string(partition) == "debug" ? 0.1 + 0.4 * rng.Uniform() : 0.2 + 20 * std::pow(rng.Uniform(), 2.5);
    const int nodes = 1 + static_cast<int>(4 * std::pow(rng.Uniform(), 3));
    const double watts = idle[type] * (1.3 + 0.8 * rng.Uniform());
    const TimeUs start = t0 + static_cast<TimeUs>(rng.Uniform() * (span_h - hours) * 3.6e6);
    results::JobRow j = SyntheticJob(r->jobs.size(), start, hours, nodes, watts, rng);
    j.partition = partition;
    j.idle_energy_j = idle[type] * nodes * *j.run_time_s;
    j.dynamic_energy_j = *j.energy_j - *j.idle_energy_j;
    j.carbon_g = *j.energy_j / 3.6e6 * intensity_at(start) * r->pue;
    // Slurm's counter where the energy plugin ran (cpu nodes), a little low.
    if (type != 2 && rng.Uniform() < 0.7) j.slurm_energy_j = *j.energy_j * 0.93 * std::exp(0.08 * rng.Normal());
    std::string list = std::string(types[type]) + "n[";
    for (int n = 0; n < nodes; ++n) {
      const int node = (i + n) % 7;
      list += (n ? "," : "") + std::to_string(node);
      r->job_nodes.push_back({r->jobs.size(), std::string(types[type]) + "n" + std::to_string(node), types[type], 36,
                              36, *j.samples / nodes, *j.missing_s / nodes, *j.energy_j / nodes,
                              *j.idle_energy_j / nodes});
    }
    j.node_list = list + "]";
    r->jobs.push_back(j);
  }
  // A job that never ran and one still running.
  results::JobRow pending;
  pending.job_id = "599998";
  pending.user = "u1";
  pending.account = "climate";
  pending.partition = "standard";
  pending.state = "PENDING";
  pending.status = "not_started";
  pending.node_list = "None assigned";
  r->jobs.push_back(pending);
  results::JobRow running =
      SyntheticJob(r->jobs.size(), t0 + static_cast<TimeUs>((span_h - 5) * 3.6e6), 5, 2, 300, rng);
  running.partition = "standard";
  running.state = "RUNNING";
  running.status = "running";
  running.idle_energy_j = 220.4 * 2 * *running.run_time_s;
  running.dynamic_energy_j = *running.energy_j - *running.idle_energy_j;
  running.carbon_g = *running.energy_j / 3.6e6 * intensity_at(*running.start) * r->pue;
  running.node_list = "cpu1n[1-2]";
  r->jobs.push_back(running);
  AddSyntheticUsageAndLedger(r);
}

// What the driver records: the command, the config, when, and the readings
// per day: 30 days from 2024-01-01 (day 19723); cpu2 lost day 10 and half
// of day 11; a node not in nodes.csv reported on the first day.
inline void AddSyntheticProvenance(results::PipelineResults* r) {
  r->created_utc = "2024-02-01T08:30:00.000Z";
  r->command_line = "wattrun run --config eagle.yaml --input /scratch/eagle/in --output out";
  r->config_yaml = "facility:\n  name: synthetic-eagle\n  time_zone: America/Denver\npipeline:\n  pue: 1.1\n";
  r->slurm_job_id = "4242";
  r->store_path = "/scratch/eagle/store.h5";
  for (std::int64_t d = 0; d < 30; ++d) {
    const std::int64_t day = 19723 + d;
    if (d == 0) r->coverage.push_back({day, "", 12});
    r->coverage.push_back({day, "cpu1", 34560});
    if (d != 10) r->coverage.push_back({day, "cpu2", d == 11 ? 8640 : 17280});
    r->coverage.push_back({day, "gpu1", 8640});
  }
}

inline results::PipelineResults MakeSyntheticResults(const SyntheticOptions& options = {}) {
  using results::RunRow;
  results::PipelineResults r;
  r.facility = "synthetic-eagle";
  r.integration = "linear";
  r.idle_method = "pooled";
  r.carbon_g_per_kwh = 475;
  r.pue = 1.1;
  r.telemetry_seconds = 12.5;
  r.telemetry_readings = 1234567;
  r.telemetry_bytes = 98765432;
  Random rng(options.seed);

  struct Dataset {
    const char* name;
    std::int64_t n_obs, n_in, n_out;
  };
  const Dataset datasets[] = {
      {"505_tecator", 240, 124, 1}, {"201_pol", 15000, 48, 11}, {"banana", 5300, 2, 1}, {"mnist", 70000, 784, 10}};
  const char* shapes[] = {"rectangle", "trapezoid"};
  const std::int64_t depths[] = {2, 4, 8};
  const double idle_w[] = {220.4, 230.0, 374.25};  // cpu1, cpu2, gpu1
  const char* types[] = {"cpu1", "cpu2", "gpu1"};
  int experiment = 0;
  for (const auto& ds : datasets) {
    for (const char* shape : shapes) {
      for (std::int64_t depth : depths) {
        for (int k = 5; k <= 23; k += 2) {
          ++experiment;
          const std::string exp_id = "e" + std::to_string(experiment);
          const double size = std::ldexp(1.0, k);
          const double width = std::sqrt(size / static_cast<double>(depth));
          const double p = std::round(size * (1 + 0.02 * rng.Normal()));
          for (int gpu = 0; gpu < 2; ++gpu) {
            for (int rep = 0; rep < options.repeats; ++rep) {
              RunRow run;
              run.run_id = "r" + std::to_string(r.runs.size());
              run.experiment_id = exp_id;
              run.slurm_job_id = std::to_string(1000 + r.runs.size());
              const int type = gpu ? 2 : (experiment + rep) % 2;
              run.node = std::string(types[type]) + "n" + std::to_string(r.runs.size() % 7);
              run.node_type = types[type];
              run.is_gpu = gpu == 1;
              run.dataset = ds.name;
              run.shape = shape;
              run.depth = depth;
              run.size = static_cast<std::int64_t>(size);
              run.batch_size = 256;
              // Energy per datum: a floor plus steps where f = 4P spills a cache.
              const double f_bytes = 4 * p;
              double per_datum = gpu ? 6e-3 : 2e-3;
              per_datum += (gpu ? 2e-9 : 6e-9) * p * (f_bytes > (gpu ? 6.0 * 1048576 : 1048576.0) ? 3 : 1);
              per_datum *= 1 + 0.08 * static_cast<double>(depth);
              const double train = std::floor(4.0 * static_cast<double>(ds.n_obs) / 5);
              const double overhead = gpu ? 27200 : 14000;
              const double sigma = gpu ? 0.07 : 0.3;
              const double energy = overhead + 3000 * train * per_datum * std::exp(sigma * rng.Normal());
              double run_time = energy / (gpu ? 450.0 : 300.0);
              std::string status = "ok";
              const double u = rng.Uniform();
              if (u < 0.01)
                status = "no_job";
              else if (u < 0.02)
                status = "missing_some";
              else if (u < 0.03)
                status = "zero_watts";
              run.status = status;
              if (status != "no_job") {
                run.run_time_s = run_time;
                run.samples = static_cast<std::int64_t>(run_time / 60);
                run.energy_j = energy;
              }
              if (status == "ok") {
                const bool long_run = rng.Uniform() < 0.01;
                if (long_run) {
                  run.run_time_s = 80000 + 10000 * rng.Uniform();
                  run.energy_j = *run.run_time_s * 300;
                }
                const double z = std::abs(rng.Normal());
                const bool outlier = !long_run && rng.Uniform() < 0.01;
                run.filter_1 = long_run;
                run.filter_3_stdevs = outlier ? 4.5 + rng.Uniform() : z;
                run.filter_3 = outlier;
                run.filter = long_run || outlier;
                const double ref_idle = gpu ? idle_w[2] : idle_w[0];
                run.std_energy_j = *run.energy_j + (ref_idle - idle_w[type]) * *run.run_time_s;
                run.non_overhead_energy_j = *run.std_energy_j - overhead;
                run.non_overhead_run_time_s = *run.run_time_s - (gpu ? 656 : 52.9);
                run.usable = !*run.filter;
              }
              const std::size_t index = r.runs.size();
              r.runs.push_back(run);

              results::FeatureRow f;
              f.run = index;
              f.n_params = static_cast<std::int64_t>(p);
              f.depth = depth;
              f.n_observations = ds.n_obs;
              f.train_observations = static_cast<std::int64_t>(train);
              f.fwd_ops = 256 * 2 * p;
              f.bwd_ops = 256 * 4 * p;
              f.h_t = static_cast<std::int64_t>(std::ceil(train / 256));
              f.h_s = static_cast<std::int64_t>(std::ceil(static_cast<double>(ds.n_obs) / (5 * 256.0)));
              f.epochs = 3000;
              f.total_flops = 3000 * (static_cast<double>(f.h_t) * (f.fwd_ops + f.bwd_ops) +
                                      static_cast<double>(f.h_s) * f.fwd_ops);
              f.t_max_bytes = 4 * 256 * (2 * width + static_cast<double>(ds.n_in));
              f.t_max_level = 1;
              f.f_bytes = f_bytes;
              f.f_level = f_bytes > 1048576 ? 3 : 2;
              f.f_test_level = f.f_level;
              f.b_bytes = 8 * p + 4 * 256 * width * static_cast<double>(depth);
              f.b_level = f.f_level;
              f.d_bytes = static_cast<double>(ds.n_obs) * 4 * static_cast<double>(ds.n_in + ds.n_out);
              f.d_level = 3;
              r.features.push_back(f);

              if (run.usable) {
                const double measured = *run.std_energy_j;
                const double predicted = measured * std::exp((gpu ? 0.05 : 0.25) * rng.Normal());
                const double baseline = measured * std::exp((gpu ? 0.4 : 0.6) * rng.Normal());
                r.predictions.push_back({run.run_id, run.is_gpu, measured, predicted, baseline});
              }
            }
          }
          if (options.losses) {
            // Bigger networks learn faster and reach lower losses.
            const double floor = 0.05 + 0.6 / (1 + std::pow(size / 4096, 0.5));
            const double rate = 0.3 + 0.05 * k;
            for (std::int64_t epoch : {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 3000}) {
              r.loss_experiment.push_back(exp_id);
              r.loss_epoch.push_back(epoch);
              r.loss_value.push_back(floor + 1.5 / std::pow(static_cast<double>(epoch), rate * 0.5));
            }
          }
        }
      }
    }
  }

  // Idle power, the low end of each type's readings, per-node quantiles.
  r.node_quantile_names = {"p1", "p2", "p50"};
  r.node_quantile_levels = {0.01, 0.02, 0.5};
  for (int t = 0; t < 3; ++t) {
    idle::IdlePower ip;
    ip.node_type = types[t];
    ip.nodes = 7;
    results::TypeDistribution dist;
    dist.node_type = types[t];
    std::int64_t total = 0;
    if (t == 0) dist.values.emplace_back(0.0, 12);  // a few 0 W readings
    for (int w = static_cast<int>(idle_w[t]) - 25; w < static_cast<int>(idle_w[t]) + 400; ++w) {
      const double x = (w - idle_w[t]) / 12.0;
      const auto n = static_cast<std::int64_t>(4000 * std::exp(-0.5 * x * x) + 300.0 / (1 + std::exp(-x + 3)));
      if (n > 0) dist.values.emplace_back(static_cast<double>(w), n);
    }
    for (const auto& [v, n] : dist.values) total += n;
    ip.readings = total;
    ip.idle_w = idle_w[t];
    r.idle.push_back(ip);
    r.type_low_end.push_back(dist);
    for (int n = 0; n < 7; ++n) {
      idle::NodeDistribution nd;
      nd.node = std::string(types[t]) + "n" + std::to_string(n);
      nd.node_type = types[t];
      nd.count = 1000 + n;
      nd.min = idle_w[t] - 30;
      nd.max = idle_w[t] + 500;
      const double p2 = idle_w[t] + 6 * rng.Normal();
      nd.quantiles = {p2 - 3, p2, p2 + 150};
      nd.idle_quantile = p2;
      r.nodes.push_back(nd);
    }
  }

  // Quality counts, as the pipeline writes them.
  std::int64_t by_status[4] = {0, 0, 0, 0};  // ok, no_job, missing_some, zero_watts
  std::int64_t f1 = 0, f3 = 0, f3_only = 0, filtered = 0, usable = 0;
  for (const auto& run : r.runs) {
    by_status[run.status == "ok" ? 0 : run.status == "no_job" ? 1 : run.status == "missing_some" ? 2 : 3] += 1;
    f1 += run.filter_1.value_or(false);
    f3 += run.filter_3.value_or(false);
    f3_only += run.filter_3.value_or(false) && !run.filter_1.value_or(false);
    filtered += run.filter.value_or(false);
    usable += run.usable;
  }
  r.quality = {{"telemetry", "bad_number", 17},
               {"telemetry", "duplicate", 230},
               {"sacct", "bad_time", 3},
               {"status", "bad_run_row", 0},
               {"status", "no_job", by_status[1]},
               {"status", "missing_all", 0},
               {"status", "missing_some", by_status[2]},
               {"status", "zero_watts", by_status[3]},
               {"status", "ok", by_status[0]},
               {"filter", "filter_1", f1},
               {"filter", "filter_3", f3},
               {"filter", "filter_3_not_filter_1", f3_only},
               {"filter", "filter", filtered},
               {"filter", "usable", usable}};
  r.overheads = {{false, 40, 14012.5, 52.9}, {true, 40, 27213.0, 656.0}};

  // Models: cpu with four memory levels, gpu with three.
  auto model = [&](bool gpu) {
    results::ModelResult m;
    m.hardware_class = gpu ? "gpu" : "cpu";
    m.fitted = true;
    m.message = "CONVERGENCE: function tolerance reached";
    m.runs = 0;
    for (const auto& p : r.predictions) m.runs += p.is_gpu == gpu;
    const int levels = gpu ? 3 : 4;
    std::vector<std::string> names = {"ke", "kp", "ko", "kd"};
    std::vector<std::string> units = {"J", "mJ/pass", "mJ/GFLOP", "mJ/layer"};
    for (const char* prefix : {"a", "m"}) {
      for (int c = 1; c <= levels; ++c) {
        names.push_back(prefix + std::to_string(c));
        units.push_back(prefix[0] == 'a' ? "mJ/access" : "mJ/MiB");
      }
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
      results::ModelParameterRow row;
      row.parameter = names[i];
      row.unit = units[i];
      row.value = (gpu ? 272345.6 : 10234.5) / std::pow(3.0, static_cast<double>(i));
      row.std_error = row.value * 0.05;
      row.determined = true;
      if (names[i] == "kd" || names[i] == "a1") {
        row.determined = false;
        row.reason = "moves with kp and a_c (rank-deficient Jacobian)";
        row.std_error.reset();
      }
      m.parameters.push_back(row);
    }
    m.median_ratio = gpu ? 1.002 : 0.991;
    m.sigma_log_ratio = gpu ? 0.0712 : 0.2987;
    m.median_abs_log_error = gpu ? 0.0271 : 0.201;
    m.cv_median_abs_log_error = gpu ? 0.0293 : 0.214;
    m.ratio_quantiles = {{0.05, 0.7}, {0.25, 0.85}, {0.5, 0.99}, {0.75, 1.15}, {0.95, 1.5}};
    m.baseline_c0 = gpu ? 300000 : 12000;
    m.baseline_c1 = 1.2e-9;
    m.baseline_median_abs_log_error = gpu ? 0.27 : 0.4;
    m.baseline_sigma_log_ratio = gpu ? 0.4 : 0.6;
    m.baseline_cv_median_abs_log_error = gpu ? 0.28 : 0.41;
    m.fit_seconds = 1.25;
    return m;
  };
  r.models = {model(false), model(true)};
  if (options.memory_levels) {
    r.memory_levels = {{"cpu", false, {{1, 32768, 36}, {2, 1048576, 36}, {3, 25952256, 2}, {4, 103079215104.0, 1}}},
                       {"gpu", true, {{1, 114688, 168}, {2, 6291456, 2}, {3, 17179869184.0, 2}}}};
  }
  if (options.facility) AddSyntheticFacility(options, rng, &r);
  if (options.provenance) AddSyntheticProvenance(&r);
  return r;
}

}  // namespace wattrun::report::testing
