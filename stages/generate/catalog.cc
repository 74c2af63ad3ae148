#include "stages/generate/catalog.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace wattrun::generate {

const std::vector<DatasetInfo>& ButterDatasets() {
  // PMLB summaries (n_observations, n_features, n_classes; regression sets
  // carry n_classes 0). Batches per epoch derived from these match the
  // spec's golden_topology.csv.
  static const std::vector<DatasetInfo> kDatasets = {
      {"201_pol", 15000, 48, 0, "regression", 0.020, 0.60},
      {"294_satellite_image", 6435, 36, 0, "regression", 0.080, 0.70},
      {"505_tecator", 240, 124, 0, "regression", 0.010, 0.50},
      {"529_pollen", 3848, 4, 0, "regression", 0.250, 0.40},
      {"537_houses", 20640, 8, 0, "regression", 0.180, 0.50},
      {"adult", 48842, 14, 2, "classification", 0.300, 0.35},
      {"banana", 5300, 2, 2, "classification", 0.250, 0.45},
      {"connect_4", 67557, 42, 3, "classification", 0.350, 0.60},
      {"mnist", 70000, 784, 10, "classification", 0.070, 1.20},
      {"nursery", 12958, 8, 4, "classification", 0.010, 0.70},
      {"sleep", 105908, 13, 5, "classification", 0.550, 0.60},
      {"splice", 3188, 60, 3, "classification", 0.150, 0.80},
      {"wine_quality_white", 4898, 11, 7, "classification", 1.000, 0.50},
  };
  return kDatasets;
}

std::vector<DatasetInfo> SelectDatasets(const std::vector<std::string>& names) {
  const auto& all = ButterDatasets();
  if (names.empty()) return all;
  std::vector<DatasetInfo> out;
  for (const auto& d : all) {
    if (std::find(names.begin(), names.end(), d.name) != names.end()) out.push_back(d);
  }
  for (const auto& name : names) {
    const bool known = std::any_of(all.begin(), all.end(), [&](const DatasetInfo& d) { return d.name == name; });
    if (!known) throw Error("generator.datasets: unknown data set '" + name + "'");
  }
  return out;
}

const std::vector<std::string>& SweepShapes() {
  static const std::vector<std::string> kShapes = {"rectangle",     "rectangle_residual", "trapezoid",
                                                   "exponential",   "wide_first_2x",      "wide_first_4x",
                                                   "wide_first_8x", "wide_first_16x"};
  return kShapes;
}

const std::vector<int>& SweepDepths() {
  static const std::vector<int> kDepths = {2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16, 18, 20};
  return kDepths;
}

std::vector<std::int64_t> SweepSizes() {
  std::vector<std::int64_t> sizes;
  for (int e = 5; e <= 24; ++e) sizes.push_back(std::int64_t{1} << e);
  return sizes;
}

double MinimizingEpoch(std::int64_t n_params, double intercept) {
  const double x = kLossSlope * std::log(static_cast<double>(std::max<std::int64_t>(2, n_params))) + intercept;
  return std::pow(std::max(x, 1e-3), -3.0);
}

double TestLoss(const DatasetInfo& dataset, std::int64_t n_params, double min_epoch, double epoch) {
  // Minimum loss falls slowly with capacity.
  const double p = static_cast<double>(std::max<std::int64_t>(1, n_params));
  const double min_loss = dataset.loss_floor + dataset.loss_scale * std::pow(p / 32.0, -0.2);
  // g(x) = x^-gamma - 1 + gamma ln x: >= 0, zero only at x = 1.
  constexpr double kGamma = 0.5;
  constexpr double kAmplitude = 0.5;
  constexpr double kOverfit = 0.3;
  const double x = epoch / min_epoch;
  const double g = std::pow(x, -kGamma) - 1.0 + kGamma * std::log(x);
  return min_loss * (1.0 + kAmplitude * (x < 1.0 ? g : kOverfit * g));
}

std::vector<std::int64_t> LossEpochs(std::int64_t epochs) {
  static const std::int64_t kLadder[] = {1,   2,    3,    4,    5,    6,    8,    10,   12,   15,   20,   25,   30,
                                         40,  50,   60,   80,   100,  120,  150,  200,  250,  300,  400,  500,  600,
                                         800, 1000, 1200, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000, 10000};
  std::vector<std::int64_t> out;
  for (const std::int64_t e : kLadder) {
    if (e <= epochs) out.push_back(e);
  }
  if (out.empty() || out.back() != epochs) out.push_back(epochs);
  return out;
}

}  // namespace wattrun::generate
