#include "core/hostlist.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "core/error.h"
#include "tests/test_util.h"

namespace wattrun {
namespace {

using Names = std::vector<std::string>;

TEST(ExpandHostlist, Ranges) {
  EXPECT_EQ(ExpandHostlist("r1i0n[1-3,5]"), (Names{"r1i0n1", "r1i0n2", "r1i0n3", "r1i0n5"}));
  EXPECT_EQ(ExpandHostlist("n[08-10]"), (Names{"n08", "n09", "n10"}));
  EXPECT_EQ(ExpandHostlist("a[001-003],b7"), (Names{"a001", "a002", "a003", "b7"}));
  EXPECT_EQ(ExpandHostlist("n[9-11]"), (Names{"n9", "n10", "n11"}));
  EXPECT_EQ(ExpandHostlist("n[099-101]"), (Names{"n099", "n100", "n101"}));
  EXPECT_EQ(ExpandHostlist("n[1-03]"), (Names{"n1", "n2", "n3"}));  // width of the start
  EXPECT_EQ(ExpandHostlist("n[5]"), (Names{"n5"}));
  EXPECT_EQ(ExpandHostlist("n[1,02,003]"), (Names{"n1", "n02", "n003"}));
  EXPECT_EQ(ExpandHostlist("n[1-2,4-5,3]"), (Names{"n1", "n2", "n4", "n5", "n3"}));
  EXPECT_EQ(ExpandHostlist("n[1,1]"), (Names{"n1", "n1"}));
  EXPECT_EQ(ExpandHostlist("n[1-]"), (Names{"n1"}));  // as Slurm reads it
  EXPECT_EQ(ExpandHostlist("[1-2]"), (Names{"1", "2"}));
}

TEST(ExpandHostlist, SeveralGroupsInScontrolOrder) {
  EXPECT_EQ(ExpandHostlist("r1i[0-1]n[2,4]"), (Names{"r1i0n2", "r1i0n4", "r1i1n2", "r1i1n4"}));
  EXPECT_EQ(ExpandHostlist("n[0-1][2-3]"), (Names{"n02", "n03", "n12", "n13"}));
  EXPECT_EQ(ExpandHostlist("n[1-2]-[3-4]"), (Names{"n1-3", "n1-4", "n2-3", "n2-4"}));
  // With three groups or more, the last varies fastest, then the first.
  EXPECT_EQ(ExpandHostlist("a[1-2]b[3-4]c[5-6]"),
            (Names{"a1b3c5", "a1b3c6", "a2b3c5", "a2b3c6", "a1b4c5", "a1b4c6", "a2b4c5", "a2b4c6"}));
  const Names four = ExpandHostlist("a[1-2]b[3-4]c[5-6]d[7-8]");
  ASSERT_EQ(four.size(), 16u);
  EXPECT_EQ(four[0], "a1b3c5d7");
  EXPECT_EQ(four[2], "a2b3c5d7");
  EXPECT_EQ(four[4], "a1b4c5d7");
  EXPECT_EQ(four[8], "a1b3c6d7");
  EXPECT_EQ(four[15], "a2b4c6d8");
}

TEST(ExpandHostlist, Separators) {
  EXPECT_EQ(ExpandHostlist("x[1-2],y[3],z"), (Names{"x1", "x2", "y3", "z"}));
  EXPECT_EQ(ExpandHostlist("n1,,n2"), (Names{"n1", "n2"}));
  EXPECT_EQ(ExpandHostlist(" n1 , n2 "), (Names{"n1", "n2"}));
  EXPECT_EQ(ExpandHostlist("n1 n2\tn3"), (Names{"n1", "n2", "n3"}));
  EXPECT_EQ(ExpandHostlist("n[1-2],n[2-3]"), (Names{"n1", "n2", "n2", "n3"}));
  EXPECT_EQ(ExpandHostlist("n1-2"), (Names{"n1-2"}));
  EXPECT_EQ(ExpandHostlist("gpu-node.cluster"), (Names{"gpu-node.cluster"}));
}

TEST(ExpandHostlist, Empty) {
  EXPECT_TRUE(ExpandHostlist("").empty());
  EXPECT_TRUE(ExpandHostlist("   ").empty());
  EXPECT_TRUE(ExpandHostlist("None assigned").empty());
  EXPECT_TRUE(ExpandHostlist("(null)").empty());
}

TEST(ExpandHostlist, Malformed) {
  for (const char* bad :
       {"n[1-3", "n[1-2]]", "n]1", "n[[1-2]]", "n[3-1]", "n[]", "[]", "n[a-b]", "n[1x]", "n[1-2,]", "n[,1]", "n[-1]",
        "n[1--2]", "n[1-2-3]", "n[0-70000]", "n[1, 2]", "n[99999999999999999999]"}) {
    try {
      ExpandHostlist(bad);
      ADD_FAILURE() << "no error for " << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
}

// Slurm 23.11 and later write a suffix after the last bracket (spec
// section 1): it is appended to every name.
TEST(ExpandHostlist, SuffixAfterTheLastBracket) {
  EXPECT_EQ(ExpandHostlist("r1i[0,2]n2"), (Names{"r1i0n2", "r1i2n2"}));
  EXPECT_EQ(ExpandHostlist("node[1-2]-ib"), (Names{"node1-ib", "node2-ib"}));
  EXPECT_EQ(ExpandHostlist("x[1-2]y,z[3-4]"), (Names{"x1y", "x2y", "z3", "z4"}));
  EXPECT_EQ(ExpandHostlist("a[1-2]b[3]c"), (Names{"a1b3c", "a2b3c"}));
}

TEST(ExpandHostlist, RandomInputEitherExpandsOrThrows) {
  const std::string alphabet = "n1-0[],9 x";
  std::mt19937 random(11);
  for (int i = 0; i < 20000; ++i) {
    std::string expression;
    const std::size_t length = random() % 14;
    for (std::size_t k = 0; k < length; ++k) expression.push_back(alphabet[random() % alphabet.size()]);
    try {
      for (const auto& name : ExpandHostlist(expression)) {
        EXPECT_FALSE(name.empty()) << expression;
        EXPECT_EQ(name.find_first_of("[], "), std::string::npos) << expression;
      }
    } catch (const Error&) {
    }
  }
}

TEST(CompressHostlist, RoundTrips) {
  EXPECT_EQ(CompressHostlist({"n1", "n2", "n3", "n5"}), "n[1-3,5]");
  EXPECT_EQ(CompressHostlist({"n08", "n09", "n10"}), "n[08-10]");
  EXPECT_EQ(CompressHostlist({"n9", "n10"}), "n[9-10]");
  EXPECT_EQ(CompressHostlist({"n8", "n09"}), "n[8,09]");
  EXPECT_EQ(CompressHostlist({"a001", "a002", "a003", "b7"}), "a[001-003],b7");
  EXPECT_EQ(CompressHostlist({"login", "n1"}), "login,n1");
  EXPECT_EQ(CompressHostlist({"n1"}), "n1");
  EXPECT_EQ(CompressHostlist({}), "");
  for (const Names& names :
       {Names{"r1i0n1", "r1i0n2", "r1i1n1", "r1i1n2"}, Names{"n3", "n1", "n2"}, Names{"a1", "b1", "a2"},
        Names{"n099", "n100", "n0100"}, Names{"1", "2", "x"}, Names{"n1", "n1"}, Names{"gpu-a01", "gpu-a02", "cpu"}}) {
    EXPECT_EQ(ExpandHostlist(CompressHostlist(names)), names) << CompressHostlist(names);
  }
}

// Runs a command, returning its standard output and exit status.
std::pair<std::string, int> RunCommand(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return {"", -1};
  std::array<char, 4096> buffer;
  std::size_t got;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), got);
  const int status = ::pclose(pipe);
  return {output, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

std::string ShellQuote(const std::string& text) {
  std::string quoted = "'";
  for (const char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted.push_back(c);
    }
  }
  return quoted + "'";
}

// Compares with Slurm's own expansion (Debian package slurm-client), which
// runs offline given a minimal slurm.conf.
TEST(ExpandHostlist, MatchesScontrol) {
  if (RunCommand("command -v scontrol").first.empty()) GTEST_SKIP() << "scontrol is not installed";
  namespace fs = std::filesystem;
  const testing_util::ScratchDir scratch("wattrun_scontrol");
  const fs::path& dir = scratch.path();
  {
    std::ofstream conf(dir / "slurm.conf");
    conf << "ClusterName=x\nSlurmctldHost=localhost\nNodeName=n1\nPartitionName=p Nodes=n1\n";
  }
  const std::string env = "SLURM_CONF=" + ShellQuote((dir / "slurm.conf").string()) + " ";
  const std::vector<std::string> expressions = {"r1i0n[1-3,5]",
                                                "r1i[0-1]n[2,4]",
                                                "a[001-003],b7",
                                                "n[08-10]",
                                                "n[9-11]",
                                                "n[099-101]",
                                                "n[1-03]",
                                                "n[01-3]",
                                                "n[5]",
                                                "n[007]",
                                                "n[1,02,003]",
                                                "n[1-2,4-5,3]",
                                                "n[1,1]",
                                                "n[1-2],n[2-3]",
                                                "x[1-2],y[3],z",
                                                "n1,,n2",
                                                "n1 n2",
                                                "[1-2]",
                                                "n[0-1][2-3]",
                                                "n[1-2]-[3-4]",
                                                "a[1-2]b[3-4]c[5-6]",
                                                "a[1-2]b[3-4]c[5-6]d[7-8]",
                                                "a[1,3]b[5-6]",
                                                "n[1-2]x[3]",
                                                "r[1-2]i[0-1]n[0-2,7]",
                                                "n1-2",
                                                "n[1-]",
                                                "gpu[01-04],cpu[1-2,10]",
                                                "n[0]",
                                                "n[000-002]",
                                                "node-[1-3].cluster[1-2]"};
  for (const std::string& expression : expressions) {
    const auto [output, status] =
        RunCommand(env + "scontrol show hostnames " + ShellQuote(expression) + " 2>/dev/null");
    ASSERT_EQ(status, 0) << expression;
    Names expected;
    std::istringstream lines(output);
    for (std::string line; std::getline(lines, line);) expected.push_back(line);
    EXPECT_EQ(ExpandHostlist(expression), expected) << expression;
  }
}

}  // namespace
}  // namespace wattrun
