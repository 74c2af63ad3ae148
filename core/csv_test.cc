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
#include "tests/test_util.h"

namespace wattrun {
namespace {

namespace fs = std::filesystem;

// A fresh directory under the system temp dir, removed at the end.
class CsvFiles : public ::testing::Test {
 protected:
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

  // Removed after each test, also when it fails.
  testing_util::ScratchDir scratch_{"wattrun_csv_test_" + testing_util::CurrentTestName()};
  fs::path dir_ = scratch_.path();
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
  EXPECT_EQ(ReadAll(Write("a.csv", "h1,h2\n1,2\r\n\n3,4")), (Fields{"h1,h2", "1,2", "", "3,4"}));
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
    expected.push_back("2021-11-07 01:30:00Z,r1i0n" + std::to_string(i % 97) + "," + std::to_string(i));
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

// The inflater thread runs a few 1 MiB blocks ahead of the reader: a file
// of many blocks (the thread waits for free ones) reads whole and in order,
// lines cut by block ends included.
TEST_F(CsvFiles, GzipReadAheadKeepsEveryLineInOrder) {
  std::string content;
  Fields expected;
  for (int i = 0; i < 400000; ++i) {  // ~13 MiB inflated: 13 blocks
    expected.push_back(std::to_string(i) + ",r1i0n" + std::to_string(i % 97) + ",2021-11-07 01:30:00Z");
    content += expected.back() + "\n";
  }
  ASSERT_GT(content.size(), std::size_t{12} << 20);
  EXPECT_EQ(ReadAll(WriteGzip("ahead.csv.gz", content)), expected);
}

// Damage several blocks in: the lines before it come first, whole, then the
// error (on that and every later read); lines after it never come.
TEST_F(CsvFiles, GzipReadAheadDamageComesAfterTheLinesBeforeIt) {
  std::string content;
  for (int i = 0; i < 600000; ++i) content += std::to_string(i) + ",n1,230\n";  // ~8 MiB
  std::string bytes = ReadBytes(WriteGzip("good.csv.gz", content));
  const std::string path = Write("damaged.csv.gz", bytes.substr(0, bytes.size() * 3 / 4));  // truncated
  LineReader reader(path);
  std::string_view line;
  std::int64_t lines = 0;
  try {
    while (reader.Next(&line)) {
      ASSERT_EQ(line, std::to_string(lines) + ",n1,230");  // in order, none cut
      ++lines;
    }
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("corrupt gzip stream"), std::string::npos) << e.what();
  }
  EXPECT_GT(lines, 300000);  // most of the first three quarters
  EXPECT_LT(lines, 600000);
  EXPECT_THROW(reader.Next(&line), InputError);
}

// Bytes flipped in the middle: the reader hands out the same lines before
// the damage every time, whatever the timing of its inflater thread.
TEST_F(CsvFiles, GzipDamageReadsTheSameEveryTime) {
  std::string content;
  for (int m = 0; m < 3000; ++m) content += "2021-11-10 00:00:00Z,n" + std::to_string(m % 2) + ",250\n";
  std::string bytes = ReadBytes(WriteGzip("good.csv.gz", content));
  for (std::size_t i = bytes.size() / 4; i < bytes.size() / 4 + 64; ++i) bytes[i] ^= 0x5a;
  const std::string path = Write("flipped.csv.gz", bytes);
  auto count_lines = [&] {
    LineReader reader(path);
    std::string_view line;
    std::int64_t lines = 0;
    std::size_t sum = 0;
    try {
      while (reader.Next(&line)) {
        ++lines;
        sum += std::hash<std::string_view>()(line);
      }
    } catch (const InputError&) {
    }
    return std::pair(lines, sum);
  };
  const auto first = count_lines();
  for (int round = 0; round < 200; ++round) ASSERT_EQ(count_lines(), first) << "round " << round;
}

// A reader dropped after its first line stops its thread (which is waiting
// for a free block) without reading the rest.
TEST_F(CsvFiles, GzipReaderDroppedEarlyStopsItsThread) {
  std::string content;
  for (int i = 0; i < 400000; ++i) content += std::to_string(i) + ",n1,230,some padding to fill blocks\n";
  const std::string path = WriteGzip("early.csv.gz", content);
  for (int round = 0; round < 20; ++round) {
    LineReader reader(path);
    std::string_view line;
    ASSERT_TRUE(reader.Next(&line));
    EXPECT_EQ(line, "0,n1,230,some padding to fill blocks");
  }
}

// ---------------------------------------------------------------- gzip
// The .gz reader (ISA-L) against gzip written and read here with zlib.

// One gzip member of `text`, written by zlib's deflate.
struct GzipOptions {
  int level = Z_DEFAULT_COMPRESSION;
  int strategy = Z_DEFAULT_STRATEGY;
  bool header_fields = false;  // FNAME, FCOMMENT, FEXTRA and FHCRC set
};
std::string Gzip(const std::string& text, const GzipOptions& options = {}) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, options.level, Z_DEFLATED, 15 + 16, 8, options.strategy), Z_OK);
  gz_header header{};
  char name[] = "telemetry.csv";
  char comment[] = "a comment";
  unsigned char extra[] = {'W', 'R', 3, 0, 'a', 'b', 'c'};
  if (options.header_fields) {
    header.name = reinterpret_cast<Bytef*>(name);
    header.comment = reinterpret_cast<Bytef*>(comment);
    header.extra = extra;
    header.extra_len = sizeof extra;
    header.hcrc = 1;
    header.os = 3;
    EXPECT_EQ(deflateSetHeader(&z, &header), Z_OK);
  }
  std::string out(deflateBound(&z, static_cast<uLong>(text.size())) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// What zlib inflates from gzip bytes (all members), and whether it reached
// the clean end of the last member.
struct ZlibResult {
  std::string text;
  bool clean = false;
  std::string message;  // zlib's, when it stopped at damage in the deflate data or header
};
ZlibResult ZlibInflate(const std::string& gz) {
  ZlibResult result;
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = static_cast<uInt>(gz.size());
  std::vector<char> buffer(1 << 16);
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(buffer.data());
    z.avail_out = static_cast<uInt>(buffer.size());
    const int status = inflate(&z, Z_NO_FLUSH);
    result.text.append(buffer.data(), buffer.size() - z.avail_out);
    if (status == Z_STREAM_END) {
      // Another member if the gzip magic follows (zlib's gzread ignores
      // anything else after a member).
      if (z.avail_in >= 2 && z.next_in[0] == 0x1f && z.next_in[1] == 0x8b) {
        inflateReset(&z);
        continue;
      }
      result.clean = true;
      break;
    }
    if (status != Z_OK || (z.avail_in == 0 && z.avail_out != 0)) {
      if (z.msg != nullptr) result.message = z.msg;
      break;
    }
  }
  inflateEnd(&z);
  return result;
}

// The complete ('\n'-terminated) lines of text, as LineReader hands them out.
Fields CompleteLines(const std::string& text) {
  Fields lines;
  std::size_t begin = 0;
  for (std::size_t at; (at = text.find('\n', begin)) != std::string::npos; begin = at + 1) {
    std::size_t stop = at;
    if (stop > begin && text[stop - 1] == '\r') --stop;
    lines.push_back(text.substr(begin, stop - begin));
  }
  return lines;
}

// Telemetry-like text: `lines` lines, random enough that it compresses ~4x.
std::string Telemetry(int lines, unsigned seed) {
  std::mt19937 random(seed);
  std::string text;
  for (int i = 0; i < lines; ++i) {
    text += "2021-09-" + std::to_string(10 + i % 20) + " " + std::to_string(10 + random() % 14) + ":" +
            std::to_string(10 + random() % 50) + ":00Z,r" + std::to_string(random() % 9) + "i" +
            std::to_string(random() % 7) + "n" + std::to_string(random() % 36) + "," + std::to_string(random() % 600) +
            (random() % 5 == 0 ? ".5" : "") + "\n";
  }
  return text;
}

// Reads lines until the end or an InputError, whose text goes to *error.
Fields ReadUntilError(const std::string& path, std::string* error) {
  error->clear();
  Fields lines;
  try {
    LineReader reader(path);
    std::string_view line;
    while (reader.Next(&line)) lines.emplace_back(line);
  } catch (const InputError& e) {
    EXPECT_EQ(e.file(), path);
    *error = e.what();
  }
  return lines;
}

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST_F(CsvFiles, LargeGzipEqualsTheOriginalForEveryKindOfDeflateBlock) {
  // ~10 MB of text: many times the 256 KiB input and 1 MiB line buffers.
  const std::string text = Telemetry(300000, 7);
  const Fields expected = CompleteLines(text);
  ASSERT_GT(text.size(), 9u << 20);
  struct Kind {
    const char* name;
    GzipOptions options;
  };
  const std::vector<Kind> kinds = {
      {"default", {}},
      {"level1", {1, Z_DEFAULT_STRATEGY, false}},
      {"level9", {9, Z_DEFAULT_STRATEGY, false}},
      {"stored", {0, Z_DEFAULT_STRATEGY, false}},
      {"huffman_only", {6, Z_HUFFMAN_ONLY, false}},
      {"rle", {6, Z_RLE, false}},
      {"fixed", {6, Z_FIXED, false}},
      {"header_fields", {6, Z_DEFAULT_STRATEGY, true}},
  };
  for (const Kind& kind : kinds) {
    const std::string gz = Gzip(text, kind.options);
    ASSERT_EQ(ZlibInflate(gz).text, text) << kind.name;
    const std::string path = Write(std::string(kind.name) + ".csv.gz", gz);
    LineReader reader(path);
    EXPECT_TRUE(reader.is_gzip());
    std::string_view line;
    std::size_t n = 0;
    while (reader.Next(&line)) {
      ASSERT_LT(n, expected.size()) << kind.name;
      ASSERT_EQ(line, expected[n]) << kind.name << " line " << n + 1;
      ++n;
      ASSERT_EQ(reader.line_number(), static_cast<std::int64_t>(n));
    }
    EXPECT_EQ(n, expected.size()) << kind.name;
  }
}

TEST_F(CsvFiles, ManyGzipMembersOfEverySize) {
  // Thousands of members, empty ones among them, so that the reads of the
  // compressed file end inside headers, deflate data and trailers alike; a
  // member may end in the middle of a line.
  for (unsigned seed = 1; seed <= 3; ++seed) {
    std::mt19937 random(seed);
    std::string text;
    std::string gz;
    while (gz.size() < (3u << 20)) {
      std::string part;
      switch (random() % 4) {
        case 0:
          break;  // an empty member
        case 1:
          part = Telemetry(1 + static_cast<int>(random() % 3), static_cast<unsigned>(random()));
          break;
        case 2:
          part = "cut " + std::to_string(random());  // no newline: the line goes on in the next member
          break;
        default:
          part = Telemetry(static_cast<int>(random() % 400), static_cast<unsigned>(random()));
          break;
      }
      text += part;
      gz += Gzip(part, {static_cast<int>(random() % 10), Z_DEFAULT_STRATEGY, random() % 2 == 0});
    }
    ASSERT_EQ(ZlibInflate(gz).text, text);
    Fields expected = CompleteLines(text);
    if (!text.empty() && text.back() != '\n') expected.push_back(text.substr(text.rfind('\n') + 1));
    EXPECT_EQ(ReadAll(Write("members" + std::to_string(seed) + ".csv.gz", gz)), expected) << seed;
  }
}

TEST_F(CsvFiles, ReadsOfTheFileEndingAtEveryByteOfAMember) {
  // The same two small members over and over, one with every optional
  // header field and a header CRC. The reader reads the file in pieces of a
  // power of two; as the pair's size is odd, the pieces end at every byte
  // offset of the pair: inside the headers, the deflate data and the
  // trailers, and one byte into the next member.
  const std::string a = Gzip("2021-09-01 00:00:00Z,r1i0n1,231\n", {6, Z_DEFAULT_STRATEGY, true});
  std::string b_line = "n2,7\n";
  std::string b = Gzip(b_line);
  if ((a.size() + b.size()) % 2 == 0) {
    b_line = "n2,77\n";
    b = Gzip(b_line);
  }
  ASSERT_EQ((a.size() + b.size()) % 2, 1u);
  const std::size_t pairs = ((a.size() + b.size() + 2) << 18) / (a.size() + b.size());
  std::string gz;
  gz.reserve(pairs * (a.size() + b.size()));
  for (std::size_t i = 0; i < pairs; ++i) gz += a + b;
  LineReader reader(Write("pairs.csv.gz", gz));
  std::string_view line;
  std::size_t n = 0;
  while (reader.Next(&line)) {
    ASSERT_EQ(line, n % 2 == 0 ? "2021-09-01 00:00:00Z,r1i0n1,231" : b_line.substr(0, b_line.size() - 1))
        << "line " << n + 1;
    ++n;
  }
  EXPECT_EQ(n, 2 * pairs);
}

TEST_F(CsvFiles, AnythingButAMemberAfterAGzipMemberIsIgnored) {
  // As zlib's gzread: trailing zeros or garbage after a member end the file.
  const std::string gz = Gzip("a\nb\n") + Gzip("c\n");
  EXPECT_EQ(ReadAll(Write("zeros.csv.gz", gz + std::string(1000, '\0'))), (Fields{"a", "b", "c"}));
  EXPECT_EQ(ReadAll(Write("garbage.csv.gz", gz + "not gzip\n")), (Fields{"a", "b", "c"}));
  EXPECT_EQ(ReadAll(Write("one_byte.csv.gz", gz + "\x1f")), (Fields{"a", "b", "c"}));
}

TEST_F(CsvFiles, FlippedByteInTheDeflateDataIsReportedAfterTheLinesBeforeIt) {
  const std::string text = Telemetry(60000, 3);
  const std::string good = Gzip(text);
  ASSERT_GT(good.size(), 400000u);  // the flips land in different reads of the file
  // The first bytes of the deflate data (block header, codes, first
  // symbols), then bytes all over it.
  std::vector<std::size_t> positions;
  for (std::size_t at = 10; at < 74; ++at) positions.push_back(at);
  for (std::size_t k = 1; k <= 24; ++k) positions.push_back(10 + (good.size() - 18) * k / 25);
  for (const std::size_t at : positions) {
    std::string bad = good;
    bad[at] = static_cast<char>(~bad[at]);
    const ZlibResult zlib = ZlibInflate(bad);
    ASSERT_FALSE(zlib.clean) << at;
    const std::string path = Write("flip" + std::to_string(at) + ".csv.gz", bad);
    std::string error;
    const Fields lines = ReadUntilError(path, &error);
    EXPECT_TRUE(Contains(error, path + ": corrupt gzip stream: ")) << at << ": " << error;
    // Exactly the complete lines zlib decompresses before it gives up (at
    // bad deflate data, or at the CRC when the flip still decodes).
    EXPECT_EQ(lines, CompleteLines(zlib.text))
        << "flipped byte " << at << ": " << error << " (zlib: " << zlib.message << ")";
  }
}

TEST_F(CsvFiles, InvalidDeflateBlockMidStreamHandsOutExactlyTheLinesBefore) {
  // Two halves with a full flush between them, so that the second half's
  // first block header starts at a known byte; it is made a reserved block
  // type (3).
  const std::string first = Telemetry(40000, 8);
  const std::string second = Telemetry(10000, 9);
  z_stream z{};
  ASSERT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string gz(deflateBound(&z, static_cast<uLong>(first.size() + second.size())) + 64, '\0');
  z.next_out = reinterpret_cast<Bytef*>(gz.data());
  z.avail_out = static_cast<uInt>(gz.size());
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(first.data()));
  z.avail_in = static_cast<uInt>(first.size());
  ASSERT_EQ(deflate(&z, Z_FULL_FLUSH), Z_OK);
  const std::size_t block_at = z.total_out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(second.data()));
  z.avail_in = static_cast<uInt>(second.size());
  ASSERT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  gz.resize(z.total_out);
  deflateEnd(&z);
  ASSERT_EQ(ZlibInflate(gz).text, first + second);
  ASSERT_GT(block_at, 300000u);  // past the first read of the file

  gz[block_at] = static_cast<char>(gz[block_at] | 0x06);
  const ZlibResult zlib = ZlibInflate(gz);
  EXPECT_EQ(zlib.text, first);
  EXPECT_EQ(zlib.message, "invalid block type");
  const std::string path = Write("bad_block.csv.gz", gz);
  std::string error;
  EXPECT_EQ(ReadUntilError(path, &error), CompleteLines(first));
  EXPECT_EQ(error, path + ": corrupt gzip stream: invalid deflate block");
}

TEST_F(CsvFiles, WrongCrcOrLengthInTheTrailerIsReportedAfterEveryLine) {
  const std::string text = Telemetry(30000, 4);
  const Fields all = CompleteLines(text);
  const std::string good = Gzip(text);
  for (const std::size_t from_end : {8u, 5u, 4u, 1u}) {  // CRC-32 bytes 0 and 3, ISIZE bytes 0 and 3
    std::string bad = good;
    bad[bad.size() - from_end] = static_cast<char>(bad[bad.size() - from_end] ^ 0x01);
    ASSERT_FALSE(ZlibInflate(bad).clean);
    const std::string path = Write("trailer" + std::to_string(from_end) + ".csv.gz", bad);
    std::string error;
    EXPECT_EQ(ReadUntilError(path, &error), all) << from_end;
    const std::string wanted = from_end > 4 ? "incorrect data check" : "incorrect length check";
    EXPECT_EQ(error, path + ": corrupt gzip stream: " + wanted) << from_end;
  }
  // A bad CRC in the first of two members: its lines, the error, nothing of the second.
  std::string first = Gzip("a\nb\n");
  first[first.size() - 6] = static_cast<char>(first[first.size() - 6] ^ 0x40);
  const std::string path = Write("first_bad.csv.gz", first + Gzip("c\nd\n"));
  std::string error;
  EXPECT_EQ(ReadUntilError(path, &error), (Fields{"a", "b"}));
  EXPECT_EQ(error, path + ": corrupt gzip stream: incorrect data check");
}

TEST_F(CsvFiles, BadHeaderCrcIsReported) {
  std::string gz = Gzip("a\n", {6, Z_DEFAULT_STRATEGY, true});
  const std::size_t name_at = gz.find("telemetry.csv");
  ASSERT_NE(name_at, std::string::npos);
  gz[name_at] = 'T';  // covered by the header CRC
  ASSERT_FALSE(ZlibInflate(gz).clean);
  const std::string path = Write("hcrc.csv.gz", Gzip("x\n") + gz);
  std::string error;
  EXPECT_EQ(ReadUntilError(path, &error), (Fields{"x"}));
  EXPECT_EQ(error, path + ": corrupt gzip stream: header crc mismatch");
}

TEST_F(CsvFiles, TruncatedGzipHandsOutTheCompleteLinesBeforeTheCut) {
  const std::string text = Telemetry(40000, 5);
  const std::string good = Gzip(text) + Gzip("second member\n");
  const std::size_t first_size = good.size() - Gzip("second member\n").size();
  std::vector<std::size_t> cuts = {1,
                                   2,
                                   5,
                                   10,
                                   11,
                                   12,
                                   13,
                                   first_size - 8,
                                   first_size - 7,
                                   first_size - 1,
                                   first_size + 1,
                                   first_size + 10,
                                   good.size() - 8,
                                   good.size() - 1};
  for (int k = 1; k < 16; ++k) cuts.push_back(first_size * k / 16 + k);
  for (const std::size_t cut : cuts) {
    const std::string bytes = good.substr(0, cut);
    const ZlibResult zlib = ZlibInflate(bytes);
    const std::string path = Write("cut" + std::to_string(cut) + ".csv.gz", bytes);
    std::string error;
    const Fields lines = ReadUntilError(path, &error);
    if (cut == 1) {
      // One byte: not the 2-byte magic, so a plain file named .gz.
      EXPECT_EQ(error, path + ": named .gz but is not a gzip file");
      continue;
    }
    if (cut == first_size + 1) {
      // One byte after a member is not a member (as zlib's gzread has it).
      ASSERT_TRUE(zlib.clean);
      EXPECT_EQ(error, "");
      EXPECT_EQ(lines, CompleteLines(text));
      continue;
    }
    ASSERT_FALSE(zlib.clean) << cut;
    EXPECT_EQ(error, path + ": corrupt gzip stream: unexpected end of file") << cut;
    EXPECT_EQ(lines, CompleteLines(zlib.text)) << cut;
  }
}

TEST_F(CsvFiles, UnknownCompressionMethodIsReported) {
  std::string gz = Gzip("a\n");
  gz[2] = 7;  // CM: not deflate
  const std::string path = Write("method.csv.gz", gz);
  std::string error;
  EXPECT_TRUE(ReadUntilError(path, &error).empty());
  EXPECT_EQ(error, path + ": corrupt gzip stream: unknown compression method");
}

TEST_F(CsvFiles, NamedGzButPlainThrows) {
  const std::string path = Write("fake.csv.gz", "timestamp,node,watts\n");
  EXPECT_THROW(ReadAll(path), InputError);
  std::string error;
  EXPECT_TRUE(ReadUntilError(path, &error).empty());
  EXPECT_EQ(error, path + ": named .gz but is not a gzip file");
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

TEST_F(CsvFiles, MissingFileThrows) { EXPECT_THROW(LineReader((dir_ / "nope.csv").string()), InputError); }

TEST(ParseFields, Int64) {
  std::int64_t v = 0;
  EXPECT_TRUE(ParseInt64("42", &v));
  EXPECT_EQ(v, 42);
  EXPECT_TRUE(ParseInt64("-7", &v));
  EXPECT_EQ(v, -7);
  EXPECT_TRUE(ParseInt64("9223372036854775807", &v));
  EXPECT_EQ(v, INT64_MAX);
  v = 5;
  for (const char* bad : {"", " 1", "1 ", "1.0", "1e3", "+1", "0x10", "abc", "12a", "9223372036854775808"}) {
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
  for (const char* bad : {"", "nan", "NaN", "inf", "-inf", "Infinity", "1e999", "1.2.3", "12W", " 1", "0x1p3", "+1"}) {
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
