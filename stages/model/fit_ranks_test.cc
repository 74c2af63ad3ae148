// What travels between ranks for the model fits: a class's samples and a
// fit's result come back from their bytes exactly (the same bytes again).
#include "stages/model/fit_ranks.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "stages/model/fit_test_util.h"

namespace wattrun::model {
namespace {

std::vector<char> TaskBytes(const FitTask& task) {
  ByteWriter w;
  PutFitTask(&w, task);
  return std::move(w.bytes());
}

TEST(FitRanksBytes, ATaskComesBackAsItWent) {
  const FitTask task{MakeSweep(true, 40, 0.05, 3).samples, 3};
  const std::vector<char> bytes = TaskBytes(task);
  ByteReader r(bytes.data(), bytes.size());
  const FitTask back = GetFitTask(&r);
  EXPECT_TRUE(r.done());
  EXPECT_EQ(back.n_levels, 3);
  ASSERT_EQ(back.samples.size(), 40u);
  EXPECT_EQ(back.samples[7].group, task.samples[7].group);
  EXPECT_EQ(back.samples[7].energy_j, task.samples[7].energy_j);
  EXPECT_EQ(back.samples[7].features.t_bytes, task.samples[7].features.t_bytes);
  EXPECT_EQ(back.samples[7].features.n_params, task.samples[7].features.n_params);
  EXPECT_EQ(TaskBytes(back), bytes);
}

TEST(FitRanksBytes, AFitsResultComesBackToTheBit) {
  const Synthetic data = MakeSweep(false, 400, 0.05, 11);
  const FitResult fit = FitEnergyModel(data.samples, 4, FitOptions{});
  ASSERT_TRUE(fit.solver.usable) << fit.message;
  const std::vector<char> bytes = ResultBytes(fit);
  ByteReader r(bytes.data(), bytes.size());
  const FitResult back = GetFitResult(&r);
  EXPECT_TRUE(r.done());
  EXPECT_EQ(ResultBytes(back), bytes);  // every field, NaNs included, as their bytes
  ASSERT_EQ(back.parameters.size(), fit.parameters.size());
  EXPECT_EQ(back.parameters[2].name, fit.parameters[2].name);
  EXPECT_EQ(back.parameters[2].reason, fit.parameters[2].reason);
  EXPECT_EQ(back.k, fit.k);
  EXPECT_EQ(back.solver.brief_report, fit.solver.brief_report);
  EXPECT_EQ(back.cross_validation.held_out.median_abs_log_error, fit.cross_validation.held_out.median_abs_log_error);
  EXPECT_EQ(back.flops_baseline.c1_j_per_flop, fit.flops_baseline.c1_j_per_flop);
  EXPECT_EQ(back.predicted_j, fit.predicted_j);
}

TEST(FitRanksBytes, TruncatedBytesAreAnErrorNotACrash) {
  const std::vector<char> bytes = TaskBytes({MakeSweep(false, 5, 0.05, 1).samples, 4});
  for (const std::size_t cut : {std::size_t{0}, std::size_t{3}, bytes.size() / 2, bytes.size() - 1}) {
    ByteReader r(bytes.data(), cut);
    EXPECT_THROW(GetFitTask(&r), Error) << cut;
  }
}

}  // namespace
}  // namespace wattrun::model
