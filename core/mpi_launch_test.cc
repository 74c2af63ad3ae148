// LaunchedOnOneNode: which launchers' environments mean "every rank is here".
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>

#include "core/mpi.h"

namespace wattrun {
namespace {

bool OneNode(const std::map<std::string, std::string>& vars) {
  return LaunchedOnOneNode([&](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

TEST(LaunchedOnOneNode, MpirunWithEveryRankLocal) {
  EXPECT_TRUE(OneNode({{"OMPI_COMM_WORLD_SIZE", "2"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}, {"PMIX_RANK", "0"}}));
}

TEST(LaunchedOnOneNode, MpirunOverTwoNodes) {
  EXPECT_FALSE(OneNode({{"OMPI_COMM_WORLD_SIZE", "8"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "4"}, {"PMIX_RANK", "0"}}));
  EXPECT_FALSE(OneNode({{"OMPI_COMM_WORLD_SIZE", "8"}}));  // no local size: not known
}

TEST(LaunchedOnOneNode, SrunByItsNodeCount) {
  EXPECT_TRUE(OneNode({{"SLURM_PROCID", "1"}, {"SLURM_STEP_NUM_NODES", "1"}, {"PMIX_RANK", "1"}}));
  EXPECT_FALSE(OneNode({{"SLURM_PROCID", "1"}, {"SLURM_STEP_NUM_NODES", "2"}, {"PMIX_RANK", "1"}}));
}

TEST(LaunchedOnOneNode, PlainProcessButNotAnUnknownLauncher) {
  EXPECT_TRUE(OneNode({}));
  EXPECT_TRUE(OneNode({{"SLURM_JOB_ID", "12"}}));  // a batch script's own process
  EXPECT_FALSE(OneNode({{"PMIX_RANK", "3"}}));
  EXPECT_FALSE(OneNode({{"PMI_RANK", "3"}}));
  EXPECT_FALSE(OneNode({{"SLURM_PROCID", "0"}}));
}

}  // namespace
}  // namespace wattrun
