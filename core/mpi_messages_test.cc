// CombineRankMessages: one copy of an error however many ranks saw it.
#include <gtest/gtest.h>

#include "core/mpi.h"

namespace wattrun {
namespace {

TEST(CombineRankMessages, SameErrorOnEveryRankPrintedOnce) {
  EXPECT_EQ(CombineRankMessages({"bad.yaml: x", "bad.yaml: x", "bad.yaml: x"}), "all 3 ranks: bad.yaml: x");
}

TEST(CombineRankMessages, OneRankNoPrefix) { EXPECT_EQ(CombineRankMessages({"boom"}), "boom"); }

TEST(CombineRankMessages, GroupsRanksIntoRanges) {
  EXPECT_EQ(CombineRankMessages({"a", "a", "a", "", "b", "a"}), "ranks 0-2,5: a\nrank 4: b");
  EXPECT_EQ(CombineRankMessages({"", "a", "", "a"}), "ranks 1,3: a");
  EXPECT_EQ(CombineRankMessages({"a", "a", ""}), "ranks 0-1: a");
}

}  // namespace
}  // namespace wattrun
