// A synthetic PipelineResults for the report's tests: cpu and gpu runs over
// a BUTTER-like sweep (data sets × shapes × depths × sizes), with features,
// idle power, node quantiles, quality counts, fitted models, predictions and
// loss curves that behave roughly like the paper's (energy per datum rising
// where the working sets leave the caches). Header-only: tests include it.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
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
  int repeats = 1;          // runs per (experiment, class)
  bool losses = true;       // loss curves for every experiment
  bool memory_levels = false;  // carry memory levels in the results
  std::uint64_t seed = 7;
};

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
  const Dataset datasets[] = {{"505_tecator", 240, 124, 1},
                              {"201_pol", 15000, 48, 11},
                              {"banana", 5300, 2, 1},
                              {"mnist", 70000, 784, 10}};
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
              if (u < 0.01) status = "no_job";
              else if (u < 0.02) status = "missing_some";
              else if (u < 0.03) status = "zero_watts";
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
  r.quality = {{"telemetry", "bad_number", 17},   {"telemetry", "duplicate", 230},
               {"sacct", "bad_time", 3},          {"status", "bad_run_row", 0},
               {"status", "no_job", by_status[1]}, {"status", "missing_all", 0},
               {"status", "missing_some", by_status[2]}, {"status", "zero_watts", by_status[3]},
               {"status", "ok", by_status[0]},     {"filter", "filter_1", f1},
               {"filter", "filter_3", f3},         {"filter", "filter_3_not_filter_1", f3_only},
               {"filter", "filter", filtered},     {"filter", "usable", usable}};
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
  return r;
}

}  // namespace wattrun::report::testing
