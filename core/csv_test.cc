#include "core/csv.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"

namespace wattrun {
namespace {

namespace fs = std::filesystem;

// A fresh directory under the system temp dir, removed at the end.
class CsvFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("wattrun_csv_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& bytes) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  std::string WriteGzip(const std::string& name, const std::string& bytes) {
    const std::string path = (dir_ / name).string();
    gzFile out = gzopen(path.c_str(), "wb");
    EXPECT_NE(out, nullptr);
    gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(out);
    return path;
  }
  static std::string ReadBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  // All lines, or throws what the reader throws.
  static std::vector<std::string> ReadAll(const std::string& path) {
    LineReader reader(path);
    std::vector<std::string> lines;
    std::string_view line;
    while (reader.Next(&line)) {
      lines.emplace_back(line);
      EXPECT_EQ(reader.line_number(), static_cast<std::int64_t>(lines.size()));
    }
    EXPECT_FALSE(reader.Next(&line));  // stays at end
    return lines;
  }

  fs::path dir_;
};

std::vector<std::string> Split(std::string_view line, char delimiter = ',') {
  std::vector<std::string_view> fields;
  std::string storage;
  EXPECT_TRUE(SplitCsvLine(line, delimiter, &fields, &storage)) << line;
  return std::vector<std::string>(fields.begin(), fields.end());
}

using Fields = std::vector<std::string>;

TEST(SplitCsvLine, Plain) {
  EXPECT_EQ(Split("a,b,c"), (Fields{"a", "b", "c"}));
  EXPECT_EQ(Split(""), (Fields{""}));
  EXPECT_EQ(Split(",,"), (Fields{"", "", ""}));
  EXPECT_EQ(Split("a,b,"), (Fields{"a", "b", ""}));
  EXPECT_EQ(Split("a,b\r"), (Fields{"a", "b"}));
  EXPECT_EQ(Split(" a , b "), (Fields{" a ", " b "}));
  EXPECT_EQ(Split("1|r1i0n[1-3,5]|x", '|'), (Fields{"1", "r1i0n[1-3,5]", "x"}));
}

TEST(SplitCsvLine, Quotes) {
  EXPECT_EQ(Split(R"("a,b",c)"), (Fields{"a,b", "c"}));
  EXPECT_EQ(Split(R"(x,"say ""hi""",y)"), (Fields{"x", R"(say "hi")", "y"}));
  EXPECT_EQ(Split(R"("",a,"")"), (Fields{"", "a", ""}));
  EXPECT_EQ(Split("\"a\",\"b\"\r"), (Fields{"a", "b"}));
  EXPECT_EQ(Split(R"(ab"c,d)"), (Fields{R"(ab"c)", "d"}));  // a quote inside is text
  EXPECT_EQ(Split(R"("ab"c,d)"), (Fields{"abc", "d"}));     // lenient after the close
  EXPECT_EQ(Split(R"(a,"b",)"), (Fields{"a", "b", ""}));
  EXPECT_EQ(Split("\"multi\nline\",z"), (Fields{"multi\nline", "z"}));

  std::vector<std::string_view> fields;
  std::string storage;
  EXPECT_FALSE(SplitCsvLine(R"(a,"open)", ',', &fields, &storage));
  EXPECT_FALSE(SplitCsvLine(R"(")", ',', &fields, &storage));
  EXPECT_FALSE(SplitCsvLine(R"("a"",b)", ',', &fields, &storage));
}

TEST(SplitCsvLine, HugeQuotedJson) {
  std::string json = "{";
  for (int i = 0; i < 20000; ++i) json += "\"\"k" + std::to_string(i) + "\"\": [1, 2, 3], ";
  json += "\"\"end\"\": 0}";
  const std::string line = "7,\"" + json + "\",tail";
  const Fields fields = Split(line);
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[0], "7");
  EXPECT_EQ(fields[2], "tail");
  EXPECT_EQ(fields[1].substr(0, 8), "{\"k0\": [");
  EXPECT_EQ(fields[1].substr(fields[1].size() - 9), "\"end\": 0}");
}

TEST(CsvHeader, TrimsAndStripsBom) {
  const std::vector<std::string_view> names = {"\xEF\xBB\xBFtimestamp", " node ", "watts\t"};
  const CsvHeader header(names);
  EXPECT_EQ(header.size(), 3u);
  EXPECT_EQ(header.Find("timestamp"), 0);
  EXPECT_EQ(header.Find("node"), 1);
  EXPECT_EQ(header.Find("watts"), 2);
  EXPECT_EQ(header.Find("Watts"), -1);
  EXPECT_EQ(header.Require("watts", "f.csv"), 2);
  try {
    header.Require("job", "dir/f.csv");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(e.file(), "dir/f.csv");
    EXPECT_EQ(e.line(), 1);
    EXPECT_EQ(std::string(e.what()), "dir/f.csv:1: missing required column 'job'");
  }
}

TEST_F(CsvFiles, PlainLines) {
  EXPECT_EQ(ReadAll(Write("a.csv", "h1,h2\n1,2\r\n\n3,4")),
            (Fields{"h1,h2", "1,2", "", "3,4"}));
  EXPECT_EQ(ReadAll(Write("b.csv", "x\n")), (Fields{"x"}));
  EXPECT_EQ(ReadAll(Write("c.csv", "")), Fields{});
  EXPECT_EQ(ReadAll(Write("d.csv", "\n\n")), (Fields{"", ""}));
  EXPECT_EQ(ReadAll(Write("e.csv", "last\r")), (Fields{"last"}));
  LineReader reader(Write("f.csv", "x"));
  EXPECT_FALSE(reader.is_gzip());
}

TEST_F(CsvFiles, LinesLongerThanTheBuffer) {
  const std::string big(3 << 20, 'x');
  const std::string content = "a\n" + big + "\nb\n" + big + "y";
  EXPECT_EQ(ReadAll(Write("big.csv", content)), (Fields{"a", big, "b", big + "y"}));
  EXPECT_EQ(ReadAll(WriteGzip("big.csv.gz", content)), (Fields{"a", big, "b", big + "y"}));
}

TEST_F(CsvFiles, ManyLinesAcrossBufferBoundaries) {
  std::string content;
  Fields expected;
  for (int i = 0; i < 200000; ++i) {
    expected.push_back("2021-11-07 01:30:00Z,r1i0n" + std::to_string(i % 97) + "," +
                       std::to_string(i));
    content += expected.back() + (i % 3 == 0 ? "\r\n" : "\n");
  }
  EXPECT_EQ(ReadAll(Write("many.csv", content)), expected);
  EXPECT_EQ(ReadAll(WriteGzip("many.csv.gz", content)), expected);
}

TEST_F(CsvFiles, GzipDetectedByMagicNotName) {
  const std::string path = WriteGzip("looks_plain.csv", "timestamp,node,watts\n1,2,3\n");
  LineReader reader(path);
  EXPECT_TRUE(reader.is_gzip());
  EXPECT_EQ(ReadAll(path), (Fields{"timestamp,node,watts", "1,2,3"}));
}

TEST_F(CsvFiles, ConcatenatedGzipMembers) {
  const std::string first = ReadBytes(WriteGzip("1.gz", "a\nb\n"));
  const std::string second = ReadBytes(WriteGzip("2.gz", "c\n"));
  EXPECT_EQ(ReadAll(Write("both.csv.gz", first + second)), (Fields{"a", "b", "c"}));
}

TEST_F(CsvFiles, CorruptGzipThrowsNamingTheFile) {
  std::string content;
  std::mt19937 random(1);
  for (int i = 0; i < 50000; ++i) content += std::to_string(random()) + ",n1,230\n";
  std::string bytes = ReadBytes(WriteGzip("good.csv.gz", content));
  ASSERT_GT(bytes.size(), 1000u);
  for (std::size_t i = bytes.size() / 2; i < bytes.size() / 2 + 64; ++i) bytes[i] ^= 0x5a;
  const std::string path = Write("corrupt.csv.gz", bytes);
  try {
    ReadAll(path);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(e.file(), path);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
  }
}

TEST_F(CsvFiles, TruncatedGzipThrows) {
  std::string content;
  for (int i = 0; i < 20000; ++i) content += "2021-01-01 00:00:00,n" + std::to_string(i) + ",1\n";
  const std::string bytes = ReadBytes(WriteGzip("full.gz", content));
  const std::string path = Write("truncated.csv.gz", bytes.substr(0, bytes.size() / 2));
  EXPECT_THROW(ReadAll(path), InputError);
  const std::string header_only = Write("header_only.csv.gz", bytes.substr(0, 12));
  EXPECT_THROW(ReadAll(header_only), InputError);
}

TEST_F(CsvFiles, GzipMagicFollowedByGarbageThrows) {
  std::string bytes(100000, '\0');
  std::mt19937 random(9);
  for (auto& c : bytes) c = static_cast<char>(random());
  bytes[0] = '\x1f';
  bytes[1] = '\x8b';
  EXPECT_THROW(ReadAll(Write("garbage.csv.gz", bytes)), InputError);
  EXPECT_THROW(ReadAll(Write("magic_only.csv", "\x1f\x8b")), InputError);
}

TEST_F(CsvFiles, NamedGzButPlainThrows) {
  const std::string path = Write("fake.csv.gz", "timestamp,node,watts\n");
  EXPECT_THROW(ReadAll(path), InputError);
  EXPECT_EQ(ReadAll(Write("empty.csv.gz", "")), Fields{});
}

TEST_F(CsvFiles, BinaryGarbageDoesNotCrash) {
  std::string bytes(1 << 20, '\0');
  std::mt19937 random(5);
  for (auto& c : bytes) c = static_cast<char>(random());
  bytes[0] = 'x';  // not the gzip magic
  const Fields lines = ReadAll(Write("garbage.csv", bytes));
  std::size_t total = 0;
  for (const auto& line : lines) total += line.size() + 1;
  EXPECT_GE(total, bytes.size() - lines.size());
}

TEST_F(CsvFiles, MissingFileThrows) {
  EXPECT_THROW(LineReader((dir_ / "nope.csv").string()), InputError);
}

TEST(ParseFields, Int64) {
  std::int64_t v = 0;
  EXPECT_TRUE(ParseInt64("42", &v));
  EXPECT_EQ(v, 42);
  EXPECT_TRUE(ParseInt64("-7", &v));
  EXPECT_EQ(v, -7);
  EXPECT_TRUE(ParseInt64("9223372036854775807", &v));
  EXPECT_EQ(v, INT64_MAX);
  v = 5;
  for (const char* bad : {"", " 1", "1 ", "1.0", "1e3", "+1", "0x10", "abc", "12a",
                          "9223372036854775808"}) {
    EXPECT_FALSE(ParseInt64(bad, &v)) << bad;
  }
  EXPECT_EQ(v, 5);
}

TEST(ParseFields, Double) {
  double v = 0;
  EXPECT_TRUE(ParseDouble("231", &v));
  EXPECT_EQ(v, 231.0);
  EXPECT_TRUE(ParseDouble("0", &v));
  EXPECT_EQ(v, 0.0);
  EXPECT_TRUE(ParseDouble("231.5", &v));
  EXPECT_EQ(v, 231.5);
  EXPECT_TRUE(ParseDouble("-1.25e-3", &v));
  EXPECT_EQ(v, -1.25e-3);
  EXPECT_TRUE(ParseDouble(".5", &v));
  EXPECT_EQ(v, 0.5);
  for (const char* bad : {"", "nan", "NaN", "inf", "-inf", "Infinity", "1e999", "1.2.3",
                          "12W", " 1", "0x1p3", "+1"}) {
    EXPECT_FALSE(ParseDouble(bad, &v)) << bad;
  }
}

TEST(ParseFields, BoolAndTrim) {
  bool b = false;
  for (const char* yes : {"True", "true", "TRUE", "1"}) {
    b = false;
    EXPECT_TRUE(ParseBool(yes, &b));
    EXPECT_TRUE(b);
  }
  for (const char* no : {"False", "false", "FALSE", "0"}) {
    b = true;
    EXPECT_TRUE(ParseBool(no, &b));
    EXPECT_FALSE(b);
  }
  for (const char* bad : {"", "yes", "tRue", "2", " true"}) EXPECT_FALSE(ParseBool(bad, &b));
  EXPECT_EQ(Trim("  a b \t\r\n"), "a b");
  EXPECT_EQ(Trim(""), "");
  EXPECT_EQ(Trim("   "), "");
}

}  // namespace
}  // namespace wattrun
