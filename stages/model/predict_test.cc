#include "stages/model/predict.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "core/error.h"
#include "stages/model/energy_model.h"
#include "stages/topology/golden_cases.h"
#include "stages/topology/topology.h"

namespace wattrun::model {
namespace {

PredictRequest MnistRectangle(bool is_gpu) {
  PredictRequest request;
  request.n_inputs = 784;
  request.n_outputs = 10;
  request.n_observations = 70000;
  request.shape = "rectangle";
  request.depth = 3;
  request.size = 1048576;
  request.memory = is_gpu ? topology::DefaultGpuHierarchy() : topology::DefaultCpuHierarchy();
  request.k = Table4Parameters(is_gpu);
  return request;
}

TEST(Predict, MatchesTheGoldenEnergies) {
  for (const topology::testing::GoldenCase& c : topology::testing::LoadGoldenCases()) {
    SCOPED_TRACE(c.dataset + " " + c.shape + " size=" + std::to_string(c.size));
    PredictRequest request;
    request.n_inputs = c.full_widths.front();
    request.n_outputs = c.full_widths.back();
    request.n_observations = topology::testing::GoldenObservations(c.dataset);
    request.shape = c.shape;
    request.depth = c.depth;
    request.size = c.size;
    request.memory = c.is_gpu ? topology::DefaultGpuHierarchy() : topology::DefaultCpuHierarchy();
    request.k = Table4Parameters(c.is_gpu);
    request.min_log2_size = 5;
    request.max_log2_size = 6;  // keep the table short here
    const Prediction prediction = PredictRun(request);
    EXPECT_EQ(prediction.network.full_widths, c.full_widths);
    EXPECT_NEAR(prediction.breakdown.total_j / c.model_energy_j, 1.0, 1e-9);
    EXPECT_NEAR(prediction.breakdown.total_j / PredictEnergy(prediction.features, request.k), 1.0, 1e-12);
  }
}

TEST(Predict, BreakdownHandWorked) {
  // n = 2, h_t = 3, h_s = 1: 14 passes; 2 layers; fwd 1 GFLOP, bwd 2 GFLOP per batch.
  topology::RunFeatures f;
  f.epochs = 2;
  f.h_t = 3;
  f.h_s = 1;
  f.fwd_ops = 1e9;
  f.bwd_ops = 2e9;
  f.n_layers = 2;
  f.t_bytes = {1048576.0, 2097152.0};
  f.t_level = {1, 2};
  f.f_bytes = 4194304.0;
  f.f_test_level = 1;
  f.f_level = 2;
  f.b_bytes = 8388608.0;
  f.b_level = 2;
  f.d_bytes = 524288.0;
  f.d_level = 2;
  //                         ke     kp    ko     kd   a1   a2   m1   m2
  const std::vector<double> k = {100.0, 10.0, 500.0, 3.0, 1.0, 2.0, 0.5, 7.0};
  const EnergyBreakdown b = BreakDownEnergy(f, k);
  EXPECT_DOUBLE_EQ(b.overhead_j, 100.0);
  EXPECT_DOUBLE_EQ(b.passes_j, 14 * 10.0e-3);
  EXPECT_DOUBLE_EQ(b.forward_ops_j, 8 * 1.0 * 500e-3);   // n (h_t + h_s) = 8 batches
  EXPECT_DOUBLE_EQ(b.backward_ops_j, 6 * 2.0 * 500e-3);  // n h_t = 6 batches
  EXPECT_DOUBLE_EQ(b.layers_j, 14 * 2 * 3.0e-3);
  ASSERT_EQ(b.working_sets.size(), 6u);
  const WorkingSetEnergy& d = b.working_sets[0];
  EXPECT_EQ(d.name, "d");
  EXPECT_EQ(d.level, 2);
  EXPECT_DOUBLE_EQ(d.accesses, 8.0);
  EXPECT_DOUBLE_EQ(d.access_j, 8 * 2.0e-3);
  EXPECT_DOUBLE_EQ(d.size_j, 8 * 7.0e-3 * 0.5);
  EXPECT_EQ(b.working_sets[1].name, "f");
  EXPECT_EQ(b.working_sets[1].level, 2);
  EXPECT_DOUBLE_EQ(b.working_sets[1].energy_j, 6 * (2.0e-3 + 7.0e-3 * 4));
  EXPECT_EQ(b.working_sets[2].name, "b");
  EXPECT_DOUBLE_EQ(b.working_sets[2].energy_j, 6 * (2.0e-3 + 7.0e-3 * 8));
  EXPECT_EQ(b.working_sets[3].name, "f'");
  EXPECT_EQ(b.working_sets[3].level, 1);
  EXPECT_DOUBLE_EQ(b.working_sets[3].energy_j, 2 * (1.0e-3 + 0.5e-3 * 4));
  EXPECT_EQ(b.working_sets[4].name, "t0");
  EXPECT_DOUBLE_EQ(b.working_sets[4].energy_j, 14 * (1.0e-3 + 0.5e-3 * 1));
  EXPECT_EQ(b.working_sets[5].name, "t1");
  EXPECT_DOUBLE_EQ(b.working_sets[5].energy_j, 14 * (2.0e-3 + 7.0e-3 * 2));
  EXPECT_NEAR(b.total_j, PredictEnergy(f, k), 1e-12);
}

TEST(Predict, SizeTableAndEfficientSizes) {
  const PredictRequest request = MnistRectangle(true);
  const Prediction prediction = PredictRun(request);
  ASSERT_EQ(prediction.sizes.size(), 21u);  // 2^5 .. 2^25
  EXPECT_NEAR(prediction.energy_per_datum_j, prediction.breakdown.total_j / (3000.0 * 0.8 * 70000.0), 1e-15);
  for (std::size_t i = 0; i < prediction.sizes.size(); ++i) {
    const SizePoint& point = prediction.sizes[i];
    EXPECT_EQ(point.size, std::int64_t{1} << (5 + i));
    EXPECT_NEAR(point.energy_j / PredictEnergy(point.features, request.k), 1.0, 1e-12);
    EXPECT_NEAR(point.energy_per_datum_j, point.energy_j / (3000.0 * 0.8 * 70000.0), 1e-15);
    // Efficient: f or b is one level up at the next size.
    const topology::RunFeatures next =
        i + 1 < prediction.sizes.size()
            ? prediction.sizes[i + 1].features
            : topology::ComputeFeatures(topology::BuildNetwork({"rectangle", 3, std::int64_t{1} << 26, 784, 10}), 70000,
                                        256, 3000, request.memory);
    const bool spills = next.f_test_level > point.features.f_test_level || next.b_level > point.features.b_level;
    EXPECT_EQ(point.efficient, spills) << point.size << ": " << point.efficient_reason;
    EXPECT_EQ(point.efficient_reason.empty(), !spills);
    std::printf("  2^%-2zu P=%-9lld E=%12.1f J  %.3g J/datum  f' L%d b L%d t L%d d L%d %s\n", 5 + i,
                static_cast<long long>(point.network.n_params), point.energy_j, point.energy_per_datum_j,
                point.features.f_test_level, point.features.b_level, point.t_max_level, point.features.d_level,
                point.efficient_reason.c_str());
  }
  // On the V100 hierarchy, f = 4 P bytes sits in L2 (6 MiB + 112 KiB) up to
  // about 1.6 M parameters: 2^20 is the last size there, 2^21 spills to VRAM.
  const SizePoint& p20 = prediction.sizes[20 - 5];
  EXPECT_EQ(p20.features.f_test_level, 2);
  EXPECT_EQ(prediction.sizes[21 - 5].features.f_test_level, 3);
  EXPECT_TRUE(p20.efficient);
  EXPECT_NE(p20.efficient_reason.find("f fills level 2"), std::string::npos) << p20.efficient_reason;
}

TEST(Predict, RejectsBadRequests) {
  PredictRequest request = MnistRectangle(false);
  request.k.pop_back();
  EXPECT_THROW(PredictRun(request), Error);
  request = MnistRectangle(false);
  request.memory = topology::DefaultGpuHierarchy();  // 3 levels, k for 4
  EXPECT_THROW(PredictRun(request), Error);
  request = MnistRectangle(false);
  request.shape = "pyramid";
  EXPECT_THROW(PredictRun(request), Error);
  request = MnistRectangle(false);
  request.min_log2_size = 10;
  request.max_log2_size = 9;
  EXPECT_THROW(PredictRun(request), Error);
}

}  // namespace
}  // namespace wattrun::model
