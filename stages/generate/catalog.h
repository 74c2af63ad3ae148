// What BUTTER-E trained: the 13 PMLB data sets, the primary sweep's shapes,
// depths and sizes, and the test-loss law of the paper's section 8 (eq. 10)
// that the synthetic losses.csv follows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wattrun::generate {

struct DatasetInfo {
  std::string name;
  std::int64_t n_observations = 0;
  std::int64_t n_features = 0;
  std::int64_t n_classes = 0;  // 0 for regression
  std::string task;            // classification or regression
  // Loss law: the floor the test loss approaches with size, and its scale.
  double loss_floor = 0.0;
  double loss_scale = 0.0;
  std::int64_t n_outputs() const { return (task == "classification" && n_classes > 2) ? n_classes : 1; }
};

// The 13 data sets of BUTTER-E (paper section 3 and the overhead set
// 505_tecator), with PMLB's sizes.
const std::vector<DatasetInfo>& ButterDatasets();
// The named subset, in the catalogue's order; throws wattrun::Error for an
// unknown name. An empty list gives all 13.
std::vector<DatasetInfo> SelectDatasets(const std::vector<std::string>& names);

// The primary sweep: 8 shapes, 14 depths, sizes 2^5 .. 2^24.
const std::vector<std::string>& SweepShapes();
const std::vector<int>& SweepDepths();
std::vector<std::int64_t> SweepSizes();

// Eq. 10: (test-loss minimizing epoch)^(-1/3) = kLossSlope * ln(P) + c.
inline constexpr double kLossSlope = 0.0111;
inline constexpr double kLossIntercept = 0.0308;
// Epoch of minimal test loss for a network of n_params parameters.
double MinimizingEpoch(std::int64_t n_params, double intercept);
// The noise-free test-loss curve: decreasing to its minimum at
// MinimizingEpoch, then rising slowly (overfitting).
double TestLoss(const DatasetInfo& dataset, std::int64_t n_params, double min_epoch, double epoch);
// Epochs written to losses.csv for each experiment (log-spaced, 1 .. epochs).
std::vector<std::int64_t> LossEpochs(std::int64_t epochs);

}  // namespace wattrun::generate
