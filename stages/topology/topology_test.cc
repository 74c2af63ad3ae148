#include "stages/topology/topology.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "stages/topology/golden_cases.h"

namespace wattrun::topology {
namespace {

using Widths = std::vector<std::int64_t>;

constexpr std::int64_t kBatch = 256;
constexpr std::int64_t kEpochs = 3000;

Network Build(const std::string& shape, std::int64_t depth, std::int64_t size, std::int64_t n_in, std::int64_t n_out) {
  return BuildNetwork({shape, depth, size, n_in, n_out});
}

TEST(TopologyGolden, ReproducesEveryRow) {
  const std::vector<testing::GoldenCase> cases = testing::LoadGoldenCases();
  ASSERT_EQ(cases.size(), 30u);
  for (const testing::GoldenCase& c : cases) {
    SCOPED_TRACE(c.dataset + " " + c.shape + " d=" + std::to_string(c.depth) + " size=" + std::to_string(c.size) +
                 (c.is_gpu ? " gpu" : " cpu"));
    const Network network = Build(c.shape, c.depth, c.size, c.full_widths.front(), c.full_widths.back());
    EXPECT_EQ(network.full_widths, c.full_widths);
    EXPECT_EQ(network.n_params, c.n_params);
    EXPECT_EQ(network.num_nodes, c.num_nodes);
    EXPECT_EQ(network.residual, c.shape.ends_with("_residual"));

    const RunFeatures f = ComputeFeatures(network, testing::GoldenObservations(c.dataset), kBatch, kEpochs,
                                          c.is_gpu ? DefaultGpuHierarchy() : DefaultCpuHierarchy());
    EXPECT_EQ(f.fwd_ops, static_cast<double>(c.fwd_ops));
    EXPECT_EQ(f.bwd_ops, static_cast<double>(c.bwd_ops));
    EXPECT_EQ(f.h_t, c.h_t);
    EXPECT_EQ(f.h_s, c.h_s);
    EXPECT_EQ(f.t_level, c.level_t);
    EXPECT_EQ(f.f_test_level, c.level_f_test);
    EXPECT_EQ(f.b_level, c.level_b);
    EXPECT_EQ(f.f_level, c.level_b);  // f sits at b's level
    EXPECT_EQ(f.d_level, c.level_d);
    EXPECT_EQ(f.n_layers, c.depth);
    EXPECT_EQ(f.n_params, c.n_params);
  }
}

TEST(TopologyWidths, Rectangle) {
  EXPECT_EQ(WidthsForFirstWidth("rectangle", 3, 4, 1), (Widths{4, 4, 1}));
  EXPECT_EQ(WidthsForFirstWidth("rectangle", 2, 7, 3), (Widths{7, 3}));
  // (2+1)*4 + (4+1)*4 + (4+1)*1
  EXPECT_EQ(CountParameters(2, {4, 4, 1}), 37);
}

TEST(TopologyWidths, TrapezoidRoundsHalfToEvenOnTheRational) {
  // 10 - k*9/3: 10, 7, 4, 1
  EXPECT_EQ(WidthsForFirstWidth("trapezoid", 4, 10, 1), (Widths{10, 7, 4, 1}));
  // 4 - 3/2 = 2.5 -> 2 (even)
  EXPECT_EQ(WidthsForFirstWidth("trapezoid", 3, 4, 1), (Widths{4, 2, 1}));
  // 6 - 5/2 = 3.5 -> 4 (even)
  EXPECT_EQ(WidthsForFirstWidth("trapezoid", 3, 6, 1), (Widths{6, 4, 1}));
  // Widening towards a wide output: 2 + k*(8-2)/4 = 2, 3.5->4, 5, 6.5->6, 8
  EXPECT_EQ(WidthsForFirstWidth("trapezoid", 5, 2, 8), (Widths{2, 4, 5, 6, 8}));
}

TEST(TopologyWidths, Exponential) {
  // beta = (1/16)^(1/2) = 1/4
  EXPECT_EQ(WidthsForFirstWidth("exponential", 3, 16, 1), (Widths{16, 4, 1}));
  // beta = (1/78)^(1/6): 78, 37.75, 18.27, 8.85, 4.28, 2.07, 1
  EXPECT_EQ(WidthsForFirstWidth("exponential", 7, 78, 1), (Widths{78, 38, 18, 9, 4, 2, 1}));
  // No width below the output width.
  EXPECT_EQ(WidthsForFirstWidth("exponential", 3, 1, 4), (Widths{4, 4, 4}));
}

TEST(TopologyWidths, WideFirst) {
  EXPECT_EQ(WidthsForFirstWidth("wide_first_2x", 4, 5, 1), (Widths{5, 2, 2, 1}));     // 2.5 -> 2
  EXPECT_EQ(WidthsForFirstWidth("wide_first_2x", 4, 7, 1), (Widths{7, 4, 4, 1}));     // 3.5 -> 4
  EXPECT_EQ(WidthsForFirstWidth("wide_first_3x", 3, 10, 2), (Widths{10, 3, 2}));      // 3.33
  EXPECT_EQ(WidthsForFirstWidth("wide_first_16x", 3, 8, 2), (Widths{8, 1, 2}));       // 0.5 -> 0 -> 1
  EXPECT_EQ(WidthsForFirstWidth("wide_first_16x", 3, 24, 2), (Widths{24, 2, 2}));     // 1.5 -> 2
  EXPECT_EQ(WidthsForFirstWidth("wide_first_100x", 3, 250, 2), (Widths{250, 2, 2}));  // 2.5 -> 2
  EXPECT_EQ(WidthsForFirstWidth("wide_first_2x", 2, 9, 3), (Widths{9, 3}));
}

TEST(TopologyWidths, ResidualAddsNoParameters) {
  for (const std::string shape : {"rectangle", "trapezoid", "exponential", "wide_first_4x"}) {
    const Network plain = Build(shape, 6, 5000, 13, 5);
    const Network residual = Build(shape + "_residual", 6, 5000, 13, 5);
    EXPECT_EQ(plain.full_widths, residual.full_widths) << shape;
    EXPECT_EQ(plain.n_params, residual.n_params) << shape;
    EXPECT_FALSE(plain.residual);
    EXPECT_TRUE(residual.residual);
  }
}

TEST(TopologyWidths, RejectsBadShapesAndDepths) {
  EXPECT_THROW(Build("triangle", 3, 100, 2, 1), Error);
  EXPECT_THROW(Build("wide_first_x", 3, 100, 2, 1), Error);
  EXPECT_THROW(Build("wide_first_0x", 3, 100, 2, 1), Error);
  EXPECT_THROW(Build("wide_first_2", 3, 100, 2, 1), Error);
  EXPECT_THROW(Build("_residual", 3, 100, 2, 1), Error);
  EXPECT_THROW(Build("rectangle", 1, 100, 2, 1), Error);
  EXPECT_THROW(WidthsForFirstWidth("rectangle", 1, 4, 1), Error);
}

TEST(TopologySearch, ClosestCountTiesGoToTheSmallerWidth) {
  // rectangle, depth 2, n_in 2, n_out 1: P(w0) = 3 w0 + (w0 + 1) = 4 w0 + 1.
  EXPECT_EQ(Build("rectangle", 2, 10, 2, 1).full_widths, (Widths{2, 2, 1}));  // 9 vs 13
  EXPECT_EQ(Build("rectangle", 2, 12, 2, 1).full_widths, (Widths{2, 3, 1}));  // 13 vs 9
  EXPECT_EQ(Build("rectangle", 2, 11, 2, 1).full_widths, (Widths{2, 2, 1}));  // tie 9/13
  EXPECT_EQ(Build("rectangle", 2, 13, 2, 1).n_params, 13);
  // A target below the smallest network gives w0 = 1.
  EXPECT_EQ(Build("rectangle", 2, 0, 2, 1).full_widths, (Widths{2, 1, 1}));
  // Exponential with w0 <= n_out: every width is n_out, the smallest such w0 wins.
  const Network flat = Build("exponential", 3, 1, 13, 5);
  EXPECT_EQ(flat.full_widths, (Widths{13, 5, 5, 5}));
}

TEST(TopologySearch, AgreesWithExhaustiveSearchOnSmallSizes) {
  for (const std::string shape : {"rectangle", "trapezoid", "exponential", "wide_first_2x", "wide_first_5x"}) {
    for (const std::int64_t depth : {2, 3, 7}) {
      for (std::int64_t size = 8; size <= 4096; size *= 2) {
        std::int64_t best_w0 = 1;
        std::int64_t best_diff = std::numeric_limits<std::int64_t>::max();
        for (std::int64_t w0 = 1; w0 <= 2000; ++w0) {
          const std::int64_t diff = std::abs(CountParameters(4, WidthsForFirstWidth(shape, depth, w0, 3)) - size);
          if (diff < best_diff) {
            best_diff = diff;
            best_w0 = w0;
          }
        }
        Widths expected = {4};
        const Widths widths = WidthsForFirstWidth(shape, depth, best_w0, 3);
        expected.insert(expected.end(), widths.begin(), widths.end());
        EXPECT_EQ(Build(shape, depth, size, 4, 3).full_widths, expected) << shape << " d=" << depth << " size=" << size;
      }
    }
  }
}

TEST(TopologySearch, HugeSizesDoNotOverflow) {
  // 19 hidden-to-hidden layers of w0^2: near 2^62 parameters at w0 ~ 4.9e8.
  const std::int64_t target = std::int64_t{1} << 62;
  const Network big = Build("rectangle", 20, target, 1000, 10);
  EXPECT_NEAR(static_cast<double>(big.n_params) / static_cast<double>(target), 1.0, 1e-8);
  // The first width is capped at 2^30: P(w0) = 3 w0 + 1 for (1 -> w0 -> 1).
  const Network capped = Build("rectangle", 2, std::numeric_limits<std::int64_t>::max(), 1, 1);
  EXPECT_EQ(capped.full_widths[1], std::int64_t{1} << 30);
  EXPECT_EQ(capped.n_params, 3 * (std::int64_t{1} << 30) + 1);
  // A target whose closest network has more than 2^63 parameters is an error,
  // not undefined behaviour.
  try {
    const Network huge = Build("rectangle", 20, std::numeric_limits<std::int64_t>::max(), 1000, 10);
    EXPECT_GT(huge.n_params, std::int64_t{1} << 62);
  } catch (const Error&) {
  }
  // Counting the widths w0 = 2^30 of depth 20 exceeds int64: reported, not wrapped.
  EXPECT_THROW(CountParameters(1000, Widths(19, std::int64_t{1} << 30)), Error);
}

TEST(TopologyFeatures, OperationsAndBatches) {
  // 2 -> 3 -> 1, batch 4, 100 observations.
  Network network;
  network.full_widths = {2, 3, 1};
  network.n_params = (2 + 1) * 3 + (3 + 1) * 1;  // 13
  network.num_nodes = 6;
  const RunFeatures f = ComputeFeatures(network, 100, 4, 10, DefaultCpuHierarchy());
  EXPECT_EQ(f.fwd_ops, 4.0 * ((2 * 3 + 3) + (3 * 1 + 1)));                           // 52
  EXPECT_EQ(f.bwd_ops, 4.0 * ((2 * 3 + 2 * 3) + (2 * 1 + 3 * 1 + 3 * 1)) + 13 * 5);  // 145
  EXPECT_EQ(f.h_t, 20);                                                              // ceil(400 / 20)
  EXPECT_EQ(f.h_s, 5);                                                               // ceil(100 / 20)
  EXPECT_EQ(f.n_layers, 2);
  EXPECT_EQ(f.epochs, 10);
  const RunFeatures g = ComputeFeatures(network, 101, 4, 10, DefaultCpuHierarchy());
  EXPECT_EQ(g.h_t, 21);  // ceil(404 / 20)
  EXPECT_EQ(g.h_s, 6);   // ceil(101 / 20)
}

TEST(TopologyFeatures, PlacementHandWorked) {
  // 1 -> 2 -> 1, batch 1: P = 2*2 + 3*1 = 7, num_nodes = 4.
  Network network;
  network.full_widths = {1, 2, 1};
  network.n_params = 7;
  network.num_nodes = 4;
  // Levels: 4 units of 10 B, then 100 B, then 150 B (cumulative caps 10, 110, 260).
  const MemoryHierarchy memory = {{1, 10.0, 4}, {2, 100.0, 1}, {3, 150.0, 1}};
  // t_0, t_1: 4*(1+2) = 12 B distributed over 4 units = 3 <= 10: L1, occupancy 3.
  // f: 28 B replicated from 3: 31 > 10; L2: 10 + 28 = 38 <= 110: L2.
  // b: 56 B replicated + (16 - 12) B distributed: L1: 3 + 56 + 1 > 10; L2: 10 + 60 = 70: L2.
  // d (10 obs): 10*4*2 = 80 B from 70: skip L1 (cap 10 <= 70); L2: 70 + 80 > 110;
  //   L3: 110 + 80 = 190 <= 260: L3.
  const RunFeatures f = ComputeFeatures(network, 10, 1, 1, memory);
  EXPECT_EQ(f.t_bytes, (std::vector<double>{12.0, 12.0}));
  EXPECT_EQ(f.t_level, (std::vector<int>{1, 1}));
  EXPECT_EQ(f.f_bytes, 28.0);
  EXPECT_EQ(f.f_test_level, 2);
  EXPECT_EQ(f.b_bytes, 60.0);
  EXPECT_EQ(f.b_level, 2);
  EXPECT_EQ(f.f_level, 2);
  EXPECT_EQ(f.d_bytes, 80.0);
  EXPECT_EQ(f.d_level, 3);
  // 100 obs: d = 800 B fits nowhere (L2: 870 > 110, L3: 910 > 260): the last level.
  const RunFeatures g = ComputeFeatures(network, 100, 1, 1, memory);
  EXPECT_EQ(g.d_level, 3);
  // With a fourth level the same set lands there.
  MemoryHierarchy four = memory;
  four.push_back({4, 1e6, 1});
  EXPECT_EQ(ComputeFeatures(network, 100, 1, 1, four).d_level, 4);
}

TEST(TopologyFeatures, WideLayerSpillsTheInterLayerSet) {
  // A 784 -> 4096 -> 10 network, batch 256 on the CPU hierarchy:
  // t_0 = 4*256*(784+4096) = 4,997,120 B; /36 = 138,809 B > 32 KiB, so L2
  // (32 KiB + 138,809 B <= 32 KiB + 1 MiB); t_1 = 4*256*4106/36 = 116,793 B: L2.
  const Network network{{784, 4096, 10}, 785 * 4096 + 4097 * 10, 784 + 4096 + 10, false};
  const RunFeatures f = ComputeFeatures(network, 1000, 256, 1, DefaultCpuHierarchy());
  EXPECT_EQ(f.t_level, (std::vector<int>{2, 2}));
}

TEST(TopologyHierarchy, Defaults) {
  const MemoryHierarchy cpu = DefaultCpuHierarchy();
  ASSERT_EQ(cpu.size(), 4u);
  EXPECT_EQ(cpu[0].bytes_per_unit, 32.0 * 1024);
  EXPECT_EQ(cpu[0].units, 36);
  EXPECT_EQ(cpu[1].bytes_per_unit, 1024.0 * 1024);
  EXPECT_EQ(cpu[2].bytes_per_unit, 24.75 * 1024 * 1024);
  EXPECT_EQ(cpu[2].units, 2);
  EXPECT_EQ(cpu[3].bytes_per_unit, 96.0 * 1024 * 1024 * 1024);
  EXPECT_EQ(cpu[3].level, 4);
  const MemoryHierarchy gpu = DefaultGpuHierarchy();
  ASSERT_EQ(gpu.size(), 3u);
  EXPECT_EQ(gpu[0].bytes_per_unit, 112.0 * 1024);
  EXPECT_EQ(gpu[0].units, 168);
  EXPECT_EQ(gpu[1].bytes_per_unit, 6.0 * 1024 * 1024);
  EXPECT_EQ(gpu[2].bytes_per_unit, 16.0 * 1024 * 1024 * 1024);
  EXPECT_EQ(gpu[2].units, 2);
}

}  // namespace
}  // namespace wattrun::topology
