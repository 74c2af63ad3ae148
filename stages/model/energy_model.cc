#include "stages/model/energy_model.h"

#include <cstddef>
#include <utility>

#include "core/error.h"

namespace wattrun::model {
namespace {

// Adds `accesses` accesses of a working set of `bytes` at `level` to the a_c
// and m_c columns of `row`.
void AddAccess(std::vector<double>& row, int n_levels, int level, double accesses, double bytes) {
  if (level < 1 || level > n_levels) {
    throw Error("working set at memory level " + std::to_string(level) + " outside 1.." + std::to_string(n_levels));
  }
  const std::size_t a = kFixedParameters + static_cast<std::size_t>(level - 1);
  const std::size_t m = a + static_cast<std::size_t>(n_levels);
  row[a] += accesses * kJoulesPerMilliJoule;
  row[m] += accesses * (bytes / kBytesPerMiB) * kJoulesPerMilliJoule;
}

}  // namespace

std::vector<std::string> ParameterNames(int n_levels) {
  std::vector<std::string> names = {"ke", "kp", "ko", "kd"};
  // Appending (rather than "a" + to_string) avoids a GCC 12 -Wrestrict false positive.
  for (const char prefix : {'a', 'm'}) {
    for (int c = 1; c <= n_levels; ++c) {
      std::string name(1, prefix);
      name += std::to_string(c);
      names.push_back(std::move(name));
    }
  }
  return names;
}

std::vector<std::string> ParameterUnits(int n_levels) {
  std::vector<std::string> units = {"J", "mJ/pass", "mJ/GFLOP", "mJ/layer"};
  for (int c = 1; c <= n_levels; ++c) units.push_back("mJ/access");
  for (int c = 1; c <= n_levels; ++c) units.push_back("mJ/MiB");
  return units;
}

std::vector<double> DesignRow(const topology::RunFeatures& features, int n_levels) {
  if (n_levels < 1) {
    throw Error("energy model needs at least one memory level");
  }
  if (features.t_bytes.size() != features.t_level.size()) {
    throw Error("run features: t_bytes and t_level differ in length");
  }
  const double n = static_cast<double>(features.epochs);
  const double h_t = static_cast<double>(features.h_t);
  const double h_s = static_cast<double>(features.h_s);
  const double passes = n * (2.0 * h_t + h_s);
  const double forward_batches = n * (h_t + h_s);  // training and test forward passes
  const double training_batches = n * h_t;
  const double test_batches = n * h_s;

  std::vector<double> row(kFixedParameters + 2 * static_cast<std::size_t>(n_levels), 0.0);
  row[0] = 1.0;
  row[1] = passes * kJoulesPerMilliJoule;
  row[2] = (forward_batches * features.fwd_ops + training_batches * features.bwd_ops) / kFlopsPerGflop *
           kJoulesPerMilliJoule;
  row[3] = passes * static_cast<double>(features.n_layers) * kJoulesPerMilliJoule;

  AddAccess(row, n_levels, features.d_level, forward_batches, features.d_bytes);
  AddAccess(row, n_levels, features.f_level, training_batches, features.f_bytes);
  AddAccess(row, n_levels, features.b_level, training_batches, features.b_bytes);
  AddAccess(row, n_levels, features.f_test_level, test_batches, features.f_bytes);
  for (std::size_t l = 0; l < features.t_bytes.size(); ++l) {
    AddAccess(row, n_levels, features.t_level[l], passes, features.t_bytes[l]);
  }
  return row;
}

double PredictEnergy(const topology::RunFeatures& features, const std::vector<double>& k) {
  if (k.size() < kFixedParameters + 2 || (k.size() - kFixedParameters) % 2 != 0) {
    throw Error("energy model parameters: expected 4 + 2C values, got " + std::to_string(k.size()));
  }
  const int n_levels = static_cast<int>((k.size() - kFixedParameters) / 2);
  const std::vector<double> row = DesignRow(features, n_levels);
  double energy = 0.0;
  for (std::size_t j = 0; j < row.size(); ++j) energy += row[j] * k[j];
  return energy;
}

std::vector<double> Table4Parameters(bool is_gpu) {
  if (is_gpu) {
    //       ke       kp      ko     kd    a1    a2    a3   m1   m2   m3
    return {272000.0, 3080.0, 890.0, 33.0, 16.4, 19.8, 0.0, 0.0, 0.0, 5.7};
  }
  //       ke       kp      ko     kd   a1   a2    a3     a4     m1   m2    m3    m4
  return {10200.0, 1460.0, 744.0, 0.0, 0.0, 59.3, 215.0, 305.0, 0.0, 23.0, 22.5, 36.3};
}

}  // namespace wattrun::model
