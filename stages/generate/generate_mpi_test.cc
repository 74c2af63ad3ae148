// The generator under mpiexec -n 2: the files do not depend on the number of
// ranks, and both ranks write telemetry.
#include <gtest/gtest.h>
#include <mpi.h>

#include "stages/generate/generate.h"
#include "stages/generate/generate_test_util.h"

namespace wattrun::generate {
namespace {

namespace fs = std::filesystem;

TEST(GenerateMpi, TwoRanksWriteTheSameBytesAsOne) {
  int rank = 0, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  ASSERT_EQ(size, 2);
  const std::string base = ::testing::TempDir() + "wattrun_generate_mpi_";
  if (rank == 0) {
    fs::remove_all(base + "two");
    fs::remove_all(base + "one");
  }
  MPI_Barrier(MPI_COMM_WORLD);

  GenerateOptions o;
  o.scale = 0.03;  // 77 nodes: 2 files per month, 4 in all
  o.months = 1;
  o.seed = 11;
  o.output_dir = base + "two";
  const GenerateSummary two = GenerateFacility(testing::DemoConfig(), o, MPI_COMM_WORLD);
  ASSERT_EQ(two.rank_rows.size(), 2u);
  EXPECT_GT(two.rank_rows[0], 0);
  EXPECT_GT(two.rank_rows[1], 0);
  EXPECT_EQ(two.rank_rows[0] + two.rank_rows[1], two.telemetry_rows);
  EXPECT_EQ(two.telemetry_files, 4);

  // The same facility on rank 0 alone.
  MPI_Comm solo = MPI_COMM_NULL;
  MPI_Comm_split(MPI_COMM_WORLD, rank == 0 ? 0 : MPI_UNDEFINED, 0, &solo);
  if (rank == 0) {
    o.output_dir = base + "one";
    const GenerateSummary one = GenerateFacility(testing::DemoConfig(), o, solo);
    EXPECT_EQ(one.telemetry_rows, two.telemetry_rows);
    EXPECT_EQ(one.runs, two.runs);
    const auto a = testing::ReadTree(base + "two");
    const auto b = testing::ReadTree(base + "one");
    ASSERT_EQ(a.size(), b.size());
    for (const auto& [path, bytes] : a) {
      ASSERT_TRUE(b.count(path)) << path;
      EXPECT_TRUE(bytes == b.at(path)) << path << " differs between 2 ranks and 1";
    }
    MPI_Comm_free(&solo);
    fs::remove_all(base + "two");
    fs::remove_all(base + "one");
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

}  // namespace
}  // namespace wattrun::generate
