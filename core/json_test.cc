#include "core/json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace wattrun::json {
namespace {

TEST(Json, StringsEscapeQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(String("plain"), "\"plain\"");
  EXPECT_EQ(String("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(String("line\nnext\ttab\r"), "\"line\\nnext\\ttab\\r\"");
  EXPECT_EQ(String(std::string("\x01\x1f", 2)), "\"\\u0001\\u001f\"");
  EXPECT_EQ(String("µs"), "\"µs\"");  // UTF-8 as is
}

TEST(Json, NumbersRoundTripAndNonFiniteIsNull) {
  EXPECT_EQ(Number(0.1), "0.1");
  EXPECT_EQ(Number(1800000.0), "1800000");
  EXPECT_EQ(Number(-2.5e-7), "-2.5e-07");
  EXPECT_EQ(Number(std::nan("")), "null");
  EXPECT_EQ(Number(std::numeric_limits<double>::infinity()), "null");
  EXPECT_EQ(Number(std::optional<double>()), "null");
  EXPECT_EQ(Number(std::optional<double>(3.0)), "3");
  EXPECT_EQ(Int(std::int64_t{-42}), "-42");
  EXPECT_EQ(Int(std::optional<std::int64_t>()), "null");
  EXPECT_EQ(Bool(true), "true");
  EXPECT_EQ(Bool(false), "false");
}

TEST(Json, ObjectsAndArraysKeepTheOrderGiven) {
  EXPECT_EQ(Object({}), "{}");
  EXPECT_EQ(Object({{"b", "1"}, {"a", String("x")}}), "{\"b\": 1, \"a\": \"x\"}");
  EXPECT_EQ(Array({}), "[]");
  EXPECT_EQ(Array({"1", "2", Object({{"k", "null"}})}), "[1, 2, {\"k\": null}]");
  EXPECT_EQ(Array({"1", "2"}, ",\n "), "[1,\n 2]");
}

}  // namespace
}  // namespace wattrun::json
