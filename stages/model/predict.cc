#include "stages/model/predict.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>

#include "core/error.h"
#include "stages/model/energy_model.h"

namespace wattrun::model {
namespace {

constexpr double kTrainingShare = 0.8;  // the 80/20 split

int LevelCount(const std::vector<double>& k) {
  if (k.size() < kFixedParameters + 2 || (k.size() - kFixedParameters) % 2 != 0) {
    throw Error("energy model parameters: expected 4 + 2C values, got " + std::to_string(k.size()));
  }
  return static_cast<int>((k.size() - kFixedParameters) / 2);
}

WorkingSetEnergy Access(std::string name, int level, double bytes, double accesses, const std::vector<double>& k,
                        int n_levels) {
  if (level < 1 || level > n_levels) {
    throw Error("working set " + name + " at memory level " + std::to_string(level) + " outside 1.." +
                std::to_string(n_levels));
  }
  const std::size_t a = kFixedParameters + static_cast<std::size_t>(level - 1);
  const std::size_t m = a + static_cast<std::size_t>(n_levels);
  WorkingSetEnergy set;
  set.name = std::move(name);
  set.level = level;
  set.bytes = bytes;
  set.accesses = accesses;
  set.access_j = accesses * k[a] * kJoulesPerMilliJoule;
  set.size_j = accesses * k[m] * (bytes / kBytesPerMiB) * kJoulesPerMilliJoule;
  set.energy_j = set.access_j + set.size_j;
  return set;
}

double EnergyPerDatum(double energy_j, std::int64_t epochs, std::int64_t n_observations) {
  const double data = static_cast<double>(epochs) * kTrainingShare * static_cast<double>(n_observations);
  return data > 0.0 ? energy_j / data : 0.0;
}

// Built by appending: `"literal" + std::to_string(...)` trips a GCC 12
// -Wrestrict false positive.
std::string Numbered(const char* prefix, std::size_t number) {
  std::string name(prefix);
  name += std::to_string(number);
  return name;
}

std::string LevelName(int level) { return Numbered("level ", static_cast<std::size_t>(level)); }

}  // namespace

EnergyBreakdown BreakDownEnergy(const topology::RunFeatures& features, const std::vector<double>& k) {
  const int n_levels = LevelCount(k);
  if (features.t_bytes.size() != features.t_level.size()) {
    throw Error("run features: t_bytes and t_level differ in length");
  }
  const double n = static_cast<double>(features.epochs);
  const double h_t = static_cast<double>(features.h_t);
  const double h_s = static_cast<double>(features.h_s);
  const double passes = n * (2.0 * h_t + h_s);

  EnergyBreakdown out;
  out.overhead_j = k[0];
  out.passes_j = passes * k[1] * kJoulesPerMilliJoule;
  out.forward_ops_j = n * (h_t + h_s) * features.fwd_ops / kFlopsPerGflop * k[2] * kJoulesPerMilliJoule;
  out.backward_ops_j = n * h_t * features.bwd_ops / kFlopsPerGflop * k[2] * kJoulesPerMilliJoule;
  out.layers_j = passes * static_cast<double>(features.n_layers) * k[3] * kJoulesPerMilliJoule;

  out.working_sets.push_back(Access("d", features.d_level, features.d_bytes, n * (h_t + h_s), k, n_levels));
  out.working_sets.push_back(Access("f", features.f_level, features.f_bytes, n * h_t, k, n_levels));
  out.working_sets.push_back(Access("b", features.b_level, features.b_bytes, n * h_t, k, n_levels));
  out.working_sets.push_back(Access("f'", features.f_test_level, features.f_bytes, n * h_s, k, n_levels));
  for (std::size_t l = 0; l < features.t_bytes.size(); ++l) {
    out.working_sets.push_back(Access(Numbered("t", l), features.t_level[l], features.t_bytes[l], passes, k, n_levels));
  }
  for (const WorkingSetEnergy& set : out.working_sets) out.working_sets_j += set.energy_j;
  out.total_j =
      out.overhead_j + out.passes_j + out.forward_ops_j + out.backward_ops_j + out.layers_j + out.working_sets_j;
  return out;
}

Prediction PredictRun(const PredictRequest& request) {
  const int n_levels = LevelCount(request.k);
  if (static_cast<std::size_t>(n_levels) != request.memory.size()) {
    throw Error("energy model parameters are for " + std::to_string(n_levels) + " memory levels, the hierarchy has " +
                std::to_string(request.memory.size()));
  }
  if (request.n_observations < 1) {
    throw Error("predict: the data set needs at least one observation");
  }
  if (request.min_log2_size < 0 || request.max_log2_size > 61 || request.min_log2_size > request.max_log2_size) {
    throw Error("predict: size table bounds must satisfy 0 <= min <= max <= 61");
  }
  auto evaluate = [&](std::int64_t size, topology::Network& network, topology::RunFeatures& features) {
    network = topology::BuildNetwork({request.shape, request.depth, size, request.n_inputs, request.n_outputs});
    features =
        topology::ComputeFeatures(network, request.n_observations, request.batch_size, request.epochs, request.memory);
  };

  Prediction out;
  evaluate(request.size, out.network, out.features);
  out.breakdown = BreakDownEnergy(out.features, request.k);
  out.energy_per_datum_j = EnergyPerDatum(out.breakdown.total_j, request.epochs, request.n_observations);

  // The table, plus one size beyond it to tell whether its last row is efficient.
  std::vector<SizePoint> points;
  for (int i = request.min_log2_size; i <= request.max_log2_size + 1; ++i) {
    SizePoint point;
    point.size = std::int64_t{1} << i;
    evaluate(point.size, point.network, point.features);
    point.energy_j = BreakDownEnergy(point.features, request.k).total_j;
    point.energy_per_datum_j = EnergyPerDatum(point.energy_j, request.epochs, request.n_observations);
    for (std::size_t l = 0; l < point.features.t_bytes.size(); ++l) {
      if (point.features.t_bytes[l] > point.t_max_bytes) {
        point.t_max_bytes = point.features.t_bytes[l];
        point.t_max_level = point.features.t_level[l];
      }
    }
    points.push_back(std::move(point));
  }
  for (std::size_t i = 0; i + 1 < points.size(); ++i) {
    const topology::RunFeatures& here = points[i].features;
    const topology::RunFeatures& next = points[i + 1].features;
    std::string reason;
    if (next.f_test_level > here.f_test_level) {
      reason = "f fills " + LevelName(here.f_test_level) + " (" + LevelName(next.f_test_level) + " at the next size)";
    }
    if (next.b_level > here.b_level) {
      reason += std::string(reason.empty() ? "" : "; ") + "b fills " + LevelName(here.b_level) + " (" +
                LevelName(next.b_level) + " at the next size)";
    }
    points[i].efficient = !reason.empty();
    points[i].efficient_reason = std::move(reason);
  }
  points.pop_back();
  out.sizes = std::move(points);
  return out;
}

}  // namespace wattrun::model
