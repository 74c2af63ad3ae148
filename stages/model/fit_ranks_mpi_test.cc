// The classes' fits spread over mpiexec -n 2: every class's result on rank 0
// is the very result of fitting it alone on one rank, in class order.
#include <gtest/gtest.h>
#include <mpi.h>

#include <vector>

#include "core/mpi.h"
#include "stages/model/fit_ranks.h"
#include "stages/model/fit_test_util.h"

namespace wattrun::model {
namespace {

TEST(FitOnRanks, EachClassIsTheFitOfItAloneInClassOrder) {
  const Comm comm(MPI_COMM_WORLD);
  ASSERT_EQ(comm.size(), 2);
  // Classes 0 and 2 are rank 0's, class 1 rank 1's; the third is a class
  // too small to determine its terms, which is a result like any other.
  std::vector<FitTask> tasks = {{MakeSweep(false, 300, 0.05, 11).samples, 4},
                                {MakeSweep(true, 300, 0.05, 7).samples, 3},
                                {MakeSweep(false, 4, 0.05, 5).samples, 4}};
  const std::vector<TimedFit> fits = FitOnRanks(comm.is_root() ? tasks : std::vector<FitTask>{}, FitOptions{}, comm);
  if (!comm.is_root()) {
    EXPECT_TRUE(fits.empty());
    return;
  }
  ASSERT_EQ(fits.size(), tasks.size());
  for (std::size_t c = 0; c < tasks.size(); ++c) {
    const FitResult alone = FitEnergyModel(tasks[c].samples, tasks[c].n_levels, FitOptions{});
    EXPECT_EQ(ResultBytes(fits[c].result), ResultBytes(alone)) << "class " << c;
    EXPECT_GT(fits[c].seconds, 0.0);
  }
  EXPECT_TRUE(fits[1].result.solver.usable);  // the GPU class, fitted on rank 1
  EXPECT_EQ(fits[1].result.n_levels, 3);
}

TEST(FitOnRanks, NoClassAtAll) {
  const Comm comm(MPI_COMM_WORLD);
  EXPECT_TRUE(FitOnRanks({}, FitOptions{}, comm).empty());
}

}  // namespace
}  // namespace wattrun::model
