#include "core/symbol.h"

#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace wattrun {
namespace {

TEST(Symbol, EqualTextsAreOneSymbolAndReadBackAsThemselves) {
  const std::string built = std::string("acc") + "ount_7";
  const Symbol a("account_7"), b(built), c(std::string_view("account_8"));
  EXPECT_EQ(a, b);
  EXPECT_EQ(&a.str(), &b.str());  // one text, held once
  EXPECT_NE(a, c);
  EXPECT_EQ(a, "account_7");
  EXPECT_EQ(a, built);
  EXPECT_EQ(a.size(), 9U);
  EXPECT_STREQ(a.c_str(), "account_7");
  const std::string& as_string = a;
  EXPECT_EQ(as_string, "account_7");
  EXPECT_EQ(sizeof(Symbol), sizeof(void*));
}

TEST(Symbol, EmptyIsTheDefaultAndOrderIsTheTexts) {
  EXPECT_TRUE(Symbol().empty());
  EXPECT_EQ(Symbol(), Symbol(""));
  EXPECT_LT(Symbol("a"), Symbol("b"));
  EXPECT_LT(Symbol(""), Symbol("a"));
  EXPECT_GT(Symbol("sacct/2021-10.txt"), Symbol("sacct/2021-09.txt"));
  std::map<Symbol, int> by_text{{Symbol("zeta"), 1}, {Symbol("alpha"), 2}};
  EXPECT_EQ(by_text.begin()->first, "alpha");
  std::ostringstream out;
  out << Symbol("user_3") << "|" << (Symbol("x") + "y");
  EXPECT_EQ(out.str(), "user_3|xy");
}

TEST(Symbol, ThreadsMakingTheSameTextsGetTheSameSymbols) {
  std::vector<std::vector<Symbol>> made(4);
  std::vector<std::thread> threads;
  threads.reserve(made.size());
  for (auto& m : made) {
    threads.emplace_back([&m] {
      for (int i = 0; i < 2000; ++i) m.emplace_back("thread_text_" + std::to_string(i % 97));
    });
  }
  for (auto& t : threads) t.join();
  std::unordered_set<Symbol> distinct;
  for (const auto& m : made) distinct.insert(m.begin(), m.end());
  EXPECT_EQ(distinct.size(), 97U);
  for (std::size_t i = 0; i < made[0].size(); ++i) EXPECT_EQ(made[0][i], made[3][i]);
}

}  // namespace
}  // namespace wattrun
