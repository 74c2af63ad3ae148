// Spec step 12: the energy model per hardware class, on usable runs.
#include <cmath>

#include "stages/model/energy_model.h"
#include "stages/model/fit_ranks.h"
#include "stages/runs/runs.h"

namespace wattrun::runs {
namespace {

results::ModelResult NotFitted(const ModelOptions::Class& cls, std::size_t runs) {
  results::ModelResult m;
  m.hardware_class = cls.name;
  m.runs = static_cast<std::int64_t>(runs);
  m.message = "not fitted: " + std::to_string(runs) + " usable runs";
  const auto names = model::ParameterNames(cls.levels);
  const auto units = model::ParameterUnits(cls.levels);
  for (std::size_t p = 0; p < names.size(); ++p) {
    m.parameters.push_back({names[p], std::nan(""), std::nullopt, units[p], false, "no fit"});
  }
  return m;
}

results::ModelResult Describe(const ModelOptions::Class& cls, std::size_t runs, const model::FitResult& fit) {
  results::ModelResult m;
  m.hardware_class = cls.name;
  m.runs = static_cast<std::int64_t>(runs);
  m.fitted = fit.solver.usable;
  m.message = fit.message.empty() ? fit.solver.brief_report : fit.message;
  for (const auto& p : fit.parameters) {
    results::ModelParameterRow pr{p.name, p.value, std::nullopt, p.unit, p.determined, p.reason};
    if (!std::isnan(p.std_error)) pr.std_error = p.std_error;
    m.parameters.push_back(pr);
  }
  m.median_ratio = fit.in_sample.median_ratio;
  m.sigma_log_ratio = fit.in_sample.log_sigma;
  m.median_abs_log_error = fit.in_sample.median_abs_log_error;
  m.cv_median_abs_log_error =
      fit.cross_validation.available ? fit.cross_validation.held_out.median_abs_log_error : std::nan("");
  m.ratio_quantiles = {{0.05, fit.in_sample.q05},
                       {0.25, fit.in_sample.q25},
                       {0.5, fit.in_sample.q50},
                       {0.75, fit.in_sample.q75},
                       {0.95, fit.in_sample.q95}};
  const auto& base = fit.flops_baseline;
  m.baseline_c0 = base.c0_j;
  m.baseline_c1 = base.c1_j_per_flop;
  m.baseline_median_abs_log_error = base.in_sample.median_abs_log_error;
  m.baseline_sigma_log_ratio = base.in_sample.log_sigma;
  m.baseline_cv_median_abs_log_error =
      base.cross_validation.available ? base.cross_validation.held_out.median_abs_log_error : std::nan("");
  return m;
}

}  // namespace

ModelOptions ModelOptions::FromConfig(const Config& config) {
  ModelOptions o;
  for (const auto& c : config.facility.hardware_classes) {
    o.classes.push_back({c.name, c.is_gpu, static_cast<int>(c.memory_levels.size())});
  }
  o.fit = model::FitOptions::FromConfig(config.pipeline.fit);
  return o;
}

// Rank 0 builds each class's samples; the classes with enough of them are
// fitted on the ranks (FitOnRanks: class after class, one per rank at once);
// rank 0 describes them in class order.
Models FitModels(const std::vector<results::RunRow>& rows, const RunFeatures& features, const ModelOptions& options,
                 const Comm& comm) {
  std::vector<model::FitTask> tasks;
  std::vector<std::vector<std::size_t>> task_runs;             // each task's sample -> row
  std::vector<int> task_of_class(options.classes.size(), -1);  // -1: too few samples
  std::vector<std::size_t> class_samples(options.classes.size(), 0);
  for (std::size_t c = 0; c < options.classes.size() && comm.is_root(); ++c) {
    const auto& cls = options.classes[c];
    model::FitTask task;
    task.n_levels = cls.levels;
    std::vector<std::size_t> sample_run;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto& row = rows[i];
      if (row.is_gpu != cls.is_gpu || !row.usable || !features.per_run[i] || !row.std_energy_j) continue;
      task.samples.push_back({*features.per_run[i], *row.std_energy_j, row.dataset});
      sample_run.push_back(i);
    }
    class_samples[c] = task.samples.size();
    if (task.samples.size() < 3) continue;
    task_of_class[c] = static_cast<int>(tasks.size());
    tasks.push_back(std::move(task));
    task_runs.push_back(std::move(sample_run));
  }
  const std::vector<model::TimedFit> fits = model::FitOnRanks(tasks, options.fit, comm);
  Models out;
  if (!comm.is_root()) return out;
  for (std::size_t c = 0; c < options.classes.size(); ++c) {
    const auto& cls = options.classes[c];
    if (task_of_class[c] < 0) {
      out.models.push_back(NotFitted(cls, class_samples[c]));
      continue;
    }
    const auto t = static_cast<std::size_t>(task_of_class[c]);
    const model::FitResult& fit = fits[t].result;
    const std::vector<model::FitSample>& samples = tasks[t].samples;
    results::ModelResult m = Describe(cls, samples.size(), fit);
    for (std::size_t s = 0; s < samples.size(); ++s) {
      if (std::isnan(fit.predicted_j[s])) continue;
      const auto& row = rows[task_runs[t][s]];
      const double baseline =
          fit.flops_baseline.c0_j + fit.flops_baseline.c1_j_per_flop * model::TotalFlops(samples[s].features);
      out.predictions.push_back({row.run_id, row.is_gpu, samples[s].energy_j, fit.predicted_j[s], baseline});
    }
    m.fit_seconds = fits[t].seconds;
    out.models.push_back(std::move(m));
  }
  return out;
}

}  // namespace wattrun::runs
