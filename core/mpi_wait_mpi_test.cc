// The waits of Comm under mpiexec -n 2: a rank that waits for a slower one
// sleeps instead of spinning, and the collectives still give their results.
#include <gtest/gtest.h>
#include <mpi.h>

#include <chrono>
#include <ctime>
#include <thread>
#include <vector>

#include "core/mpi.h"

namespace wattrun {
namespace {

// CPU seconds of the calling thread so far.
double ThreadCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

constexpr auto kLateBy = std::chrono::milliseconds(300);

TEST(CommWaits, AnyTrueSeesTheLateRanksFlagAndWaitsAsleep) {
  const Comm comm(MPI_COMM_WORLD);
  ASSERT_EQ(comm.size(), 2);
  comm.Barrier();
  const double cpu0 = ThreadCpuSeconds();
  if (comm.rank() == 1) std::this_thread::sleep_for(kLateBy);
  const bool any = comm.AnyTrue(comm.rank() == 1);
  const double cpu = ThreadCpuSeconds() - cpu0;
  EXPECT_TRUE(any);
  // Spinning for 300 ms would cost about 0.3 s of CPU; asleep it is a few ms.
  if (comm.rank() == 0) {
    EXPECT_LT(cpu, 0.1);
  }
  EXPECT_FALSE(comm.AnyTrue(false));
}

TEST(CommWaits, BarrierWaitsForTheLateRankAsleep) {
  const Comm comm(MPI_COMM_WORLD);
  comm.Barrier();
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = ThreadCpuSeconds();
  if (comm.rank() == 0) std::this_thread::sleep_for(kLateBy);
  comm.Barrier();
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(waited, 0.29);  // nobody leaves before the late rank arrives
  if (comm.rank() == 1) {
    EXPECT_LT(ThreadCpuSeconds() - cpu0, 0.1);
  }
}

TEST(CommWaits, ReductionsAndBroadcastWaitForALateRootAsleep) {
  const Comm comm(MPI_COMM_WORLD);
  comm.Barrier();
  const double cpu0 = ThreadCpuSeconds();
  if (comm.is_root()) std::this_thread::sleep_for(kLateBy);
  std::vector<std::int64_t> values;
  if (comm.is_root()) values = {7, -2, 40};
  comm.Broadcast(&values);  // rank 1 waits here for the late root
  const double cpu = ThreadCpuSeconds() - cpu0;
  EXPECT_EQ(values, (std::vector<std::int64_t>{7, -2, 40}));
  if (comm.rank() == 1) {
    EXPECT_LT(cpu, 0.1);
  }
  EXPECT_EQ(comm.AllSum(comm.rank() + 1), 3);
  EXPECT_EQ(comm.AllMax(10 - comm.rank()), 10);
  EXPECT_EQ(comm.AllMaxDouble(comm.rank() * 0.5), 0.5);
  EXPECT_EQ(comm.AllSumEach({comm.rank(), 2}), (std::vector<std::int64_t>{1, 4}));
}

TEST(CommWaits, WaitWithoutSpinningCompletesARequest) {
  const Comm comm(MPI_COMM_WORLD);
  const int mine = comm.rank() + 1;
  int sum = 0;
  MPI_Request request = MPI_REQUEST_NULL;
  ASSERT_EQ(MPI_Iallreduce(&mine, &sum, 1, MPI_INT, MPI_SUM, comm.get(), &request), MPI_SUCCESS);
  WaitWithoutSpinning(&request, "MPI_Iallreduce");
  EXPECT_EQ(sum, 3);
  EXPECT_EQ(request, MPI_REQUEST_NULL);
}

}  // namespace
}  // namespace wattrun
