#include "stages/model/energy_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "stages/topology/golden_cases.h"
#include "stages/topology/topology.h"

namespace wattrun::model {
namespace {

using topology::RunFeatures;

TEST(EnergyModelGolden, ReproducesEveryModelEnergy) {
  const std::vector<topology::testing::GoldenCase> cases = topology::testing::LoadGoldenCases();
  ASSERT_EQ(cases.size(), 30u);
  for (const topology::testing::GoldenCase& c : cases) {
    SCOPED_TRACE(c.dataset + " " + c.shape + " d=" + std::to_string(c.depth) + " size=" + std::to_string(c.size) +
                 (c.is_gpu ? " gpu" : " cpu"));
    const topology::Network network =
        topology::BuildNetwork({c.shape, c.depth, c.size, c.full_widths.front(), c.full_widths.back()});
    const RunFeatures features =
        topology::ComputeFeatures(network, topology::testing::GoldenObservations(c.dataset), 256, 3000,
                                  c.is_gpu ? topology::DefaultGpuHierarchy() : topology::DefaultCpuHierarchy());
    const double energy = PredictEnergy(features, Table4Parameters(c.is_gpu));
    EXPECT_NEAR(energy / c.model_energy_j, 1.0, 1e-9) << energy << " vs " << c.model_energy_j;
  }
}

TEST(EnergyModel, NamesAndUnits) {
  EXPECT_EQ(ParameterNames(3), (std::vector<std::string>{"ke", "kp", "ko", "kd", "a1", "a2", "a3", "m1", "m2", "m3"}));
  const std::vector<std::string> units = ParameterUnits(4);
  ASSERT_EQ(units.size(), 12u);
  EXPECT_EQ(units[0], "J");
  EXPECT_EQ(units[1], "mJ/pass");
  EXPECT_EQ(units[2], "mJ/GFLOP");
  EXPECT_EQ(units[3], "mJ/layer");
  EXPECT_EQ(units[4], "mJ/access");
  EXPECT_EQ(units[11], "mJ/MiB");
  EXPECT_EQ(Table4Parameters(false).size(), 12u);
  EXPECT_EQ(Table4Parameters(true).size(), 10u);
  EXPECT_EQ(Table4Parameters(false)[7], 305.0);  // a4
  EXPECT_EQ(Table4Parameters(true)[9], 5.7);     // m3 (VRAM)
}

// A run worked by hand: n = 2 epochs, h_t = 3, h_s = 1, two layers.
RunFeatures HandRun() {
  RunFeatures f;
  f.epochs = 2;
  f.h_t = 3;
  f.h_s = 1;
  f.fwd_ops = 1e9;
  f.bwd_ops = 2e9;
  f.n_layers = 2;
  f.t_bytes = {1048576.0, 2097152.0};  // 1 MiB at L1, 2 MiB at L2
  f.t_level = {1, 2};
  f.f_bytes = 4194304.0;  // 4 MiB
  f.f_test_level = 1;
  f.f_level = 2;
  f.b_bytes = 8388608.0;  // 8 MiB
  f.b_level = 2;
  f.d_bytes = 1048576.0 * 0.5;  // 0.5 MiB
  f.d_level = 2;
  return f;
}

TEST(EnergyModel, DesignRowHandWorked) {
  const std::vector<double> row = DesignRow(HandRun(), 2);
  ASSERT_EQ(row.size(), 8u);
  const double passes = 2.0 * (2 * 3 + 1);  // 14
  EXPECT_DOUBLE_EQ(row[0], 1.0);
  EXPECT_DOUBLE_EQ(row[1], passes * 1e-3);
  // (n (h_t + h_s) fwd + n h_t bwd) / 1e9 GFLOP = (8 + 12) GFLOP, in mJ.
  EXPECT_DOUBLE_EQ(row[2], 20.0 * 1e-3);
  EXPECT_DOUBLE_EQ(row[3], passes * 2 * 1e-3);
  // a1: f' (n h_s = 2 accesses) + t_0 (14) ; a2: d (8) + f (6) + b (6) + t_1 (14).
  EXPECT_DOUBLE_EQ(row[4], (2.0 + 14.0) * 1e-3);
  EXPECT_DOUBLE_EQ(row[5], (8.0 + 6.0 + 6.0 + 14.0) * 1e-3);
  // m1: 2*4 MiB + 14*1 MiB; m2: 8*0.5 + 6*4 + 6*8 + 14*2 MiB.
  EXPECT_DOUBLE_EQ(row[6], (8.0 + 14.0) * 1e-3);
  EXPECT_DOUBLE_EQ(row[7], (4.0 + 24.0 + 48.0 + 28.0) * 1e-3);
  // E = row . k
  const std::vector<double> k = {100.0, 10.0, 500.0, 3.0, 1.0, 2.0, 0.5, 7.0};
  double expected = 0.0;
  for (std::size_t j = 0; j < k.size(); ++j) expected += row[j] * k[j];
  EXPECT_DOUBLE_EQ(PredictEnergy(HandRun(), k), expected);
  EXPECT_DOUBLE_EQ(expected, 100.0 + 0.14 + 10.0 + 0.084 + 0.016 + 0.068 + 0.011 + 0.728);
}

TEST(EnergyModel, RejectsMismatchedInputs) {
  EXPECT_THROW(PredictEnergy(HandRun(), {1.0, 2.0, 3.0}), Error);
  EXPECT_THROW(DesignRow(HandRun(), 1), Error);  // a set at level 2 with one level
  EXPECT_THROW(DesignRow(HandRun(), 0), Error);
}

}  // namespace
}  // namespace wattrun::model
