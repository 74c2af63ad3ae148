// Spec steps 9-11: network sizing, operations and working sets of each run.
#include <unordered_map>

#include "core/error.h"
#include "stages/model/energy_model.h"
#include "stages/runs/runs.h"

namespace wattrun::runs {
namespace {

results::FeatureRow FeatureRowOf(std::size_t run, const RunRecord& rec, const DatasetRecord& dataset,
                                 const topology::RunFeatures& fe) {
  results::FeatureRow fr;
  fr.run = run;
  fr.n_params = fe.n_params;
  fr.depth = rec.depth;
  fr.n_observations = dataset.n_observations;
  fr.train_observations = (4 * dataset.n_observations) / 5;
  fr.fwd_ops = fe.fwd_ops;
  fr.bwd_ops = fe.bwd_ops;
  fr.total_flops = model::TotalFlops(fe);
  fr.h_t = fe.h_t;
  fr.h_s = fe.h_s;
  fr.epochs = fe.epochs;
  for (std::size_t l = 0; l < fe.t_bytes.size(); ++l) {
    if (fe.t_bytes[l] > fr.t_max_bytes) {
      fr.t_max_bytes = fe.t_bytes[l];
      fr.t_max_level = fe.t_level[l];
    }
  }
  fr.f_bytes = fe.f_bytes;
  fr.f_level = fe.f_level;
  fr.f_test_level = fe.f_test_level;
  fr.b_bytes = fe.b_bytes;
  fr.b_level = fe.b_level;
  fr.d_bytes = fe.d_bytes;
  fr.d_level = fe.d_level;
  return fr;
}

}  // namespace

FeatureOptions FeatureOptions::FromConfig(const Config& config) {
  FeatureOptions o;
  for (const auto& c : config.facility.hardware_classes) o.memory_levels.emplace(c.is_gpu, c.memory_levels);
  o.epochs = config.pipeline.epochs;
  return o;
}

RunFeatures ComputeRunFeatures(const std::vector<RunRecord>& runs, const std::vector<results::RunRow>& rows,
                               const std::vector<DatasetRecord>& datasets, const FeatureOptions& options) {
  std::unordered_map<std::string, const DatasetRecord*> by_name;
  for (const auto& d : datasets) by_name[d.name] = &d;
  RunFeatures out;
  out.per_run.resize(runs.size());
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const RunRecord& rec = runs[i];
    if (rows[i].status == join::StatusName(join::RunStatus::kBadRunRow)) continue;
    const auto d = by_name.find(rec.dataset);
    if (d == by_name.end()) {
      ++out.unknown_dataset;
      continue;
    }
    const auto levels = options.memory_levels.find(rec.is_gpu);
    try {
      if (levels == options.memory_levels.end()) throw Error("no hardware class");
      const DatasetRecord& dataset = *d->second;
      const topology::Network net =
          topology::BuildNetwork({rec.shape, rec.depth, rec.size, dataset.n_features, dataset.n_outputs()});
      out.per_run[i] = topology::ComputeFeatures(net, dataset.n_observations, rec.batch_size > 0 ? rec.batch_size : 256,
                                                 options.epochs, levels->second);
      out.rows.push_back(FeatureRowOf(i, rec, dataset, *out.per_run[i]));
    } catch (const Error&) {
      ++out.bad_network;
    }
  }
  return out;
}

}  // namespace wattrun::runs
