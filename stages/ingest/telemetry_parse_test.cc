#include "stages/ingest/telemetry_parse.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/csv.h"

namespace wattrun {
namespace {

// `edits` random byte deletions, insertions and replacements (from `noise`).
void MutateRandomly(int edits, const std::string& noise, std::mt19937* random, std::string* line) {
  for (int e = 0; e < edits; ++e) {
    const std::size_t at = (*random)() % (line->size() + 1);
    switch ((*random)() % 3) {
      case 0:
        if (at < line->size()) line->erase(at, 1);
        break;
      case 1:
        line->insert(at, 1, noise[(*random)() % noise.size()]);
        break;
      default:
        if (at < line->size()) (*line)[at] = noise[(*random)() % noise.size()];
    }
  }
}

TimeUs Utc(int y, unsigned mo, unsigned d, int h, int mi, int s) {
  return (DaysFromCivil(y, mo, d) * 86400 + (h * 60 + mi) * 60 + s) * kMicrosPerSecond;
}

TelemetryColumns Columns(std::string_view header) {
  TelemetryColumns columns;
  std::string missing;
  EXPECT_TRUE(ResolveTelemetryHeader(header, &columns, &missing)) << missing;
  return columns;
}

TEST(ResolveTelemetryHeader, AnyOrderAndExtraColumns) {
  TelemetryColumns c = Columns("timestamp,node,watts");
  EXPECT_EQ(c.timestamp, 0);
  EXPECT_EQ(c.node, 1);
  EXPECT_EQ(c.watts, 2);
  EXPECT_EQ(c.n_fields, 3u);

  c = Columns("\xEF\xBB\xBFwatts, job ,node,timestamp\r");
  EXPECT_EQ(c.watts, 0);
  EXPECT_EQ(c.node, 2);
  EXPECT_EQ(c.timestamp, 3);
  EXPECT_EQ(c.n_fields, 4u);

  TelemetryColumns tabs;
  tabs.delimiter = '\t';
  std::string missing;
  EXPECT_TRUE(ResolveTelemetryHeader("node\ttimestamp\twatts", &tabs, &missing));
  EXPECT_EQ(tabs.timestamp, 1);
}

TEST(ResolveTelemetryHeader, ReportsFirstMissingColumn) {
  TelemetryColumns columns;
  std::string missing;
  EXPECT_FALSE(ResolveTelemetryHeader("timestamp,host,power", &columns, &missing));
  EXPECT_EQ(missing, "node");
  EXPECT_FALSE(ResolveTelemetryHeader("node,watts", &columns, &missing));
  EXPECT_EQ(missing, "timestamp");
  EXPECT_FALSE(ResolveTelemetryHeader("timestamp,node", &columns, &missing));
  EXPECT_EQ(missing, "watts");
  EXPECT_FALSE(ResolveTelemetryHeader("\x1f\x8b\x08garbage", &columns, &missing));
  EXPECT_FALSE(ResolveTelemetryHeader("", &columns, &missing));
}

TEST(ParseTelemetryLine, GoodRows) {
  const TelemetryColumns columns = Columns("timestamp,node,watts");
  const TimestampPolicy utc;
  TelemetryRow row;
  ASSERT_EQ(ParseTelemetryLine("2021-11-07 01:30:00Z,r1i0n3,231", columns, utc, &row), TelemetryRowError::kNone);
  EXPECT_EQ(row.node, "r1i0n3");
  EXPECT_EQ(row.utc, Utc(2021, 11, 7, 1, 30, 0));
  EXPECT_EQ(row.wall_us, Utc(2021, 11, 7, 1, 30, 0));
  EXPECT_FALSE(row.ambiguous);
  EXPECT_EQ(row.watts, 231.0);

  ASSERT_EQ(ParseTelemetryLine("2021-11-07T01:30:00.5,n1,231.75\r", columns, utc, &row), TelemetryRowError::kNone);
  EXPECT_EQ(row.utc, Utc(2021, 11, 7, 1, 30, 0) + 500 * kMicrosPerMilli);
  EXPECT_EQ(row.watts, 231.75);

  ASSERT_EQ(ParseTelemetryLine("2021-11-07 01:30:00, n1 , 0 ", columns, utc, &row), TelemetryRowError::kNone);
  EXPECT_EQ(row.node, "n1");
  EXPECT_EQ(row.watts, 0.0);  // zero is legal (it marks a bad run later)

  ASSERT_EQ(ParseTelemetryLine("2021-11-07 01:30:00,n1,1e3", columns, utc, &row), TelemetryRowError::kNone);
  EXPECT_EQ(row.watts, 1000.0);
  ASSERT_EQ(ParseTelemetryLine("2021-11-07 01:30:00,n1,-0", columns, utc, &row), TelemetryRowError::kNone);
  ASSERT_EQ(ParseTelemetryLine("2021-11-07 01:30:00,n1,12345678901234567", columns, utc, &row),
            TelemetryRowError::kNone);
  EXPECT_EQ(row.watts, 12345678901234567.0);
}

TEST(ParseTelemetryLine, OtherColumnOrder) {
  const TelemetryColumns columns = Columns("watts,extra,node,timestamp");
  TelemetryRow row;
  ASSERT_EQ(ParseTelemetryLine("88,,gpu7,2021-07-01 12:00:00-06:00", columns, {}, &row), TelemetryRowError::kNone);
  EXPECT_EQ(row.node, "gpu7");
  EXPECT_EQ(row.watts, 88.0);
  EXPECT_EQ(row.utc, Utc(2021, 7, 1, 18, 0, 0));
}

TEST(ParseTelemetryLine, BadRows) {
  const TelemetryColumns columns = Columns("timestamp,node,watts");
  const TimestampPolicy utc;
  TelemetryRow row;
  const auto parse = [&](std::string_view line) { return ParseTelemetryLine(line, columns, utc, &row); };
  EXPECT_EQ(parse(""), TelemetryRowError::kFieldCount);
  EXPECT_EQ(parse("2021-11-07 01:30:00,n1"), TelemetryRowError::kFieldCount);
  EXPECT_EQ(parse("2021-11-07 01:30:00,n1,2,3"), TelemetryRowError::kFieldCount);
  EXPECT_EQ(parse("2021-11-07 01:30:00,n1,2,"), TelemetryRowError::kFieldCount);
  EXPECT_EQ(parse("2021-11-31 01:30:00,n1,2"), TelemetryRowError::kBadTime);
  EXPECT_EQ(parse("yesterday,n1,2"), TelemetryRowError::kBadTime);
  EXPECT_EQ(parse(",n1,2"), TelemetryRowError::kBadTime);
  EXPECT_EQ(parse("2021-11-07 01:30:00,,2"), TelemetryRowError::kEmptyNode);
  EXPECT_EQ(parse("2021-11-07 01:30:00,  ,2"), TelemetryRowError::kEmptyNode);
  EXPECT_EQ(parse("2021-11-07 01:30:00,n1,"), TelemetryRowError::kBadWatts);
  EXPECT_EQ(parse("2021-11-07 01:30:00,n1,abc"), TelemetryRowError::kBadWatts);
  EXPECT_EQ(parse("2021-11-07 01:30:00,n1,nan"), TelemetryRowError::kBadWatts);
  EXPECT_EQ(parse("2021-11-07 01:30:00,n1,inf"), TelemetryRowError::kBadWatts);
  EXPECT_EQ(parse("2021-11-07 01:30:00,n1,12W"), TelemetryRowError::kBadWatts);
  EXPECT_EQ(parse("2021-11-07 01:30:00,n1,-5"), TelemetryRowError::kNegativeWatts);
  EXPECT_EQ(parse("2021-11-07 01:30:00,n1,-0.5"), TelemetryRowError::kNegativeWatts);
  // The first failing check wins: time before node before watts.
  EXPECT_EQ(parse("bad,,-1"), TelemetryRowError::kBadTime);
  EXPECT_EQ(parse("2021-11-07 01:30:00,,-1"), TelemetryRowError::kEmptyNode);
}

TEST(ParseTelemetryLine, DaylightSavingWithIgnoredZ) {
  const TelemetryColumns columns = Columns("timestamp,node,watts");
  const TimestampPolicy butter{TimeZone::Load("America/Denver"), true};
  TelemetryRow row;
  ASSERT_EQ(ParseTelemetryLine("2021-11-07 01:30:00Z,r1i0n3,231", columns, butter, &row), TelemetryRowError::kNone);
  EXPECT_TRUE(row.ambiguous);
  EXPECT_EQ(row.utc, Utc(2021, 11, 7, 7, 30, 0));
  EXPECT_EQ(row.wall_us, Utc(2021, 11, 7, 1, 30, 0));
  EXPECT_EQ(butter.zone.FromLocal(row.wall_us).later, Utc(2021, 11, 7, 8, 30, 0));

  ASSERT_EQ(ParseTelemetryLine("2021-11-07 02:30:00Z,r1i0n3,231", columns, butter, &row), TelemetryRowError::kNone);
  EXPECT_FALSE(row.ambiguous);
  EXPECT_EQ(row.utc, Utc(2021, 11, 7, 9, 30, 0));

  EXPECT_EQ(ParseTelemetryLine("2021-03-14 02:30:00Z,r1i0n3,231", columns, butter, &row),
            TelemetryRowError::kNonexistentTime);

  const TimestampPolicy honest_z{TimeZone::Load("America/Denver"), false};
  ASSERT_EQ(ParseTelemetryLine("2021-03-14 02:30:00Z,r1i0n3,231", columns, honest_z, &row), TelemetryRowError::kNone);
  EXPECT_EQ(row.utc, Utc(2021, 3, 14, 2, 30, 0));
}

TEST(ParseTelemetryLine, QuotedFields) {
  const TelemetryColumns columns = Columns("timestamp,node,watts,note");
  TelemetryRow row;
  ASSERT_EQ(ParseTelemetryLine(R"("2021-11-07 01:30:00","r1,n3","231","a ""b"" c")", columns, {}, &row),
            TelemetryRowError::kNone);
  EXPECT_EQ(row.node, "r1,n3");
  EXPECT_EQ(row.watts, 231.0);
  EXPECT_EQ(ParseTelemetryLine(R"(2021-11-07 01:30:00,n1,231,"open)", columns, {}, &row),
            TelemetryRowError::kFieldCount);
  EXPECT_EQ(ParseTelemetryLine(R"(2021-11-07 01:30:00,"n1,231,x")", columns, {}, &row), TelemetryRowError::kFieldCount);
}

TEST(ParseTelemetryLine, RandomBytesNeverCrash) {
  const TelemetryColumns columns = Columns("timestamp,node,watts");
  const TimestampPolicy butter{TimeZone::Load("America/Denver"), true};
  const std::string base = "2021-11-07 01:30:00Z,r1i0n3,231";
  const std::string noise = "0123456789-:.,\"Z+ T\r";
  std::mt19937 random(13);
  TelemetryRow row;
  for (int i = 0; i < 100000; ++i) {
    std::string line = base;
    const int edits = 1 + static_cast<int>(random() % 4);
    MutateRandomly(edits, noise, &random, &line);
    const TelemetryRowError error = ParseTelemetryLine(line, columns, butter, &row);
    if (error == TelemetryRowError::kNone) {
      EXPECT_FALSE(row.node.empty()) << line;
      EXPECT_GE(row.watts, 0.0) << line;
    }
  }
}

// The ingest parses with a cache of the previous timestamp: every row must
// come out exactly as without it, whatever the sequence (repeats, bad times,
// the repeated and the missing hour, a timestamp after a bad one).
TEST(ParseTelemetryLine, TimestampCacheGivesTheSameRows) {
  const TelemetryColumns columns = Columns("timestamp,node,watts");
  const TimestampPolicy denver{TimeZone::Load("America/Denver"), true};
  const std::vector<std::string> lines = {
      "2021-11-07 01:30:00Z,a,1",  "2021-11-07 01:30:00Z,b,2", "2021-11-07 01:30:00Z,c,x",
      "2021-11-07 01:31:00Z,a,1",  "2021-13-07 01:31:00Z,a,1", "2021-13-07 01:31:00Z,b,1",
      "2021-11-07 01:31:00Z,b,1",  "2021-03-14 02:30:00Z,a,1", "2021-03-14 02:30:00Z,b,1",
      "2021-11-07 03:00:00,a,5",   "2021-11-07 03:00:00Z,a,5", "\"2021-11-07 03:00:00\",a,5",
      "2021-11-07 03:00:00.5,a,5", "2021-11-07 03:00:00,a,-1", ",a,1",
  };
  TimestampCache cache;
  for (const std::string& line : lines) {
    TelemetryRow plain, cached;
    const TelemetryRowError e1 = ParseTelemetryLine(line, columns, denver, &plain);
    const TelemetryRowError e2 = ParseTelemetryLine(line, columns, denver, &cached, &cache);
    ASSERT_EQ(e1, e2) << line;
    if (e1 != TelemetryRowError::kNone) continue;
    EXPECT_EQ(plain.utc, cached.utc) << line;
    EXPECT_EQ(plain.wall_us, cached.wall_us) << line;
    EXPECT_EQ(plain.ambiguous, cached.ambiguous) << line;
    EXPECT_EQ(plain.watts, cached.watts) << line;
  }
}

// The parse written plainly (strip one '\r', split, then time, node, watts),
// for the tests below to compare the fast paths of ParseTelemetryLine with.
TelemetryRowError ReferenceParse(std::string_view line, const TelemetryColumns& columns, const TimestampPolicy& policy,
                                 TelemetryRow* row) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) return TelemetryRowError::kFieldCount;
  std::vector<std::string_view> fields;
  std::string storage;
  if (line.find('"') != std::string_view::npos) {
    if (!SplitCsvLine(line, columns.delimiter, &fields, &storage)) {
      return TelemetryRowError::kFieldCount;
    }
  } else {
    for (std::size_t i = 0;;) {
      const std::size_t j = line.find(columns.delimiter, i);
      fields.push_back(line.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
      if (j == std::string_view::npos) break;
      i = j + 1;
    }
  }
  if (fields.size() != columns.n_fields) return TelemetryRowError::kFieldCount;
  switch (ParseInstant(fields[static_cast<std::size_t>(columns.timestamp)], policy, &row->utc, &row->wall_us)) {
    case TimeParseStatus::kOk:
      row->ambiguous = false;
      break;
    case TimeParseStatus::kAmbiguous:
      row->ambiguous = true;
      break;
    case TimeParseStatus::kNonexistent:
      return TelemetryRowError::kNonexistentTime;
    case TimeParseStatus::kBadSyntax:
      return TelemetryRowError::kBadTime;
  }
  row->node = Trim(fields[static_cast<std::size_t>(columns.node)]);
  if (row->node.empty()) return TelemetryRowError::kEmptyNode;
  if (!ParseDouble(Trim(fields[static_cast<std::size_t>(columns.watts)]), &row->watts)) {
    return TelemetryRowError::kBadWatts;
  }
  if (row->watts < 0) return TelemetryRowError::kNegativeWatts;
  return TelemetryRowError::kNone;
}

// Parses `line` with and without `cache` and with ReferenceParse; all three
// must agree on the error and, for a good row, on every field.
void ExpectSameAsReference(std::string_view text, const TelemetryColumns& columns, const TimestampPolicy& policy,
                           TimestampCache* cache) {
  // In a buffer of exactly its size, so that a sanitizer build sees any read
  // past the end of the line.
  const std::vector<char> bytes(text.begin(), text.end());
  const std::string_view line(bytes.data(), bytes.size());
  TelemetryRow expected, plain, cached;
  const TelemetryRowError e0 = ReferenceParse(line, columns, policy, &expected);
  const TelemetryRowError e1 = ParseTelemetryLine(line, columns, policy, &plain);
  const TelemetryRowError e2 = ParseTelemetryLine(line, columns, policy, &cached, cache);
  const std::string shown = "line '" + std::string(line) + "' (" + std::to_string(line.size()) + " bytes)";
  ASSERT_EQ(ReasonName(e0), std::string(ReasonName(e1))) << shown;
  ASSERT_EQ(ReasonName(e0), std::string(ReasonName(e2))) << shown;
  if (e0 != TelemetryRowError::kNone) return;
  for (const TelemetryRow* row : {&plain, &cached}) {
    EXPECT_EQ(row->utc, expected.utc) << shown;
    EXPECT_EQ(row->wall_us, expected.wall_us) << shown;
    EXPECT_EQ(row->ambiguous, expected.ambiguous) << shown;
    EXPECT_EQ(row->node, expected.node) << shown;
    EXPECT_EQ(std::signbit(row->watts), std::signbit(expected.watts)) << shown;
    EXPECT_EQ(row->watts, expected.watts) << shown;
  }
}

// The cache compares timestamps as 8-byte words (overlapping at the end):
// a timestamp of the same length that differs in any one byte, the last
// included, is a miss.
TEST(ParseTelemetryLine, TimestampCacheSeesEveryByte) {
  const TelemetryColumns columns = Columns("timestamp,node,watts");
  const TimestampPolicy denver{TimeZone::Load("America/Denver"), true};
  TimestampCache cache;
  TelemetryRow row;
  ASSERT_EQ(ParseTelemetryLine("2021-09-01 00:00:00Z,r1i0n0,221", columns, denver, &row, &cache),
            TelemetryRowError::kNone);
  const TimeUs first = row.utc;
  ASSERT_EQ(ParseTelemetryLine("2021-09-01 00:00:01Z,r1i0n1,222", columns, denver, &row, &cache),
            TelemetryRowError::kNone);
  EXPECT_EQ(row.utc, first + kMicrosPerSecond);
  ASSERT_EQ(ParseTelemetryLine("2021-09-01 00:00:01Z,r1i0n2,223", columns, denver, &row, &cache),
            TelemetryRowError::kNone);
  EXPECT_EQ(row.utc, first + kMicrosPerSecond);
  ASSERT_EQ(ParseTelemetryLine("2021-09-01 00:00:01,r1i0n3,224", columns, denver, &row, &cache),
            TelemetryRowError::kNone);
  EXPECT_EQ(row.utc, first + kMicrosPerSecond);
  EXPECT_EQ(ParseTelemetryLine("2021-09-01 00:00:0Z,r1i0n3,224", columns, denver, &row, &cache),
            TelemetryRowError::kBadTime);

  // Every byte of timestamps of the lengths the word compare treats apart
  // (short ones go to memcmp, 17 to 24 bytes take three words, longer ones a
  // loop), changed one at a time after the original filled the cache.
  const std::vector<std::string> timestamps = {
      "2021",  // below 8 bytes
      "2021-09-01 00:00:0",
      "2021-09-01 00:00:00",
      "2021-09-01 00:00:00Z",
      "2021-09-01 00:00:00.5Z",
      "2021-09-01 00:00:00.123Z",
      "2021-09-01 00:00:00-06:00",
      "2021-09-01 00:00:00.123-06:00",
      "2021-09-01T00:00:00.123456789+01:00",
  };
  for (const std::string& ts : timestamps) {
    for (std::size_t i = 0; i < ts.size(); ++i) {
      for (const char c : std::string("019:- TZ+.x")) {
        if (c == ts[i]) continue;
        std::string other = ts;
        other[i] = c;
        ExpectSameAsReference(ts + ",n1,5", columns, denver, &cache);
        ExpectSameAsReference(other + ",n1,5", columns, denver, &cache);
        ExpectSameAsReference(other + ",n2,6", columns, denver, &cache);
      }
    }
  }
}

// Lines that the one-pass split must treat as the general code does.
TEST(ParseTelemetryLine, FastPathEdgeCases) {
  const TelemetryColumns columns = Columns("timestamp,node,watts");
  const TimestampPolicy utc;
  TelemetryRow row;
  std::string line;  // row.node may point into it
  const auto parse = [&](std::string text) {
    line = std::move(text);
    return ParseTelemetryLine(line, columns, utc, &row);
  };
  const std::string ts = "2021-11-07 01:30:00";
  // Spaces and tabs around fields.
  ASSERT_EQ(parse(" " + ts + " ,\tn1\t, 5\t"), TelemetryRowError::kNone);
  EXPECT_EQ(row.node, "n1");
  EXPECT_EQ(row.watts, 5.0);
  ASSERT_EQ(parse(ts + ",n 1,5"), TelemetryRowError::kNone);
  EXPECT_EQ(row.node, "n 1");
  EXPECT_EQ(parse(ts + ",n1,5 5"), TelemetryRowError::kBadWatts);
  EXPECT_EQ(parse(ts + ",\t,5"), TelemetryRowError::kEmptyNode);
  // A quote anywhere sends the line to the CSV splitter, in each 16-byte
  // part of a line of up to 64 bytes and beyond.
  ASSERT_EQ(parse(ts + ",n1,\"5\""), TelemetryRowError::kNone);
  EXPECT_EQ(row.watts, 5.0);
  EXPECT_EQ(parse(ts + ",n1,5\""), TelemetryRowError::kBadWatts);
  EXPECT_EQ(parse(ts + ",n1,\"5"), TelemetryRowError::kFieldCount);  // unterminated
  ASSERT_EQ(parse(ts + ",\"r1,n3\",7"), TelemetryRowError::kNone);
  EXPECT_EQ(row.node, "r1,n3");
  for (const std::size_t node_size : {1, 8, 12, 20, 30, 40, 50}) {
    const std::string node(node_size, 'n');
    ASSERT_EQ(parse(ts + ",\"" + node + "\",7"), TelemetryRowError::kNone) << node_size;
    EXPECT_EQ(row.node, node);
    ASSERT_EQ(parse(ts + "," + node + ",7"), TelemetryRowError::kNone) << node_size;
    EXPECT_EQ(row.node, node);
    EXPECT_EQ(parse(ts + "," + node + "\",7"), TelemetryRowError::kNone) << node_size;
    EXPECT_EQ(row.node, node + "\"");  // a quote inside a field is kept
  }
  // More or fewer fields than the header, empty ones included.
  EXPECT_EQ(parse(ts + ",n1"), TelemetryRowError::kFieldCount);
  EXPECT_EQ(parse(ts + ",n1,5,"), TelemetryRowError::kFieldCount);
  EXPECT_EQ(parse(ts + ",n1,5,6"), TelemetryRowError::kFieldCount);
  EXPECT_EQ(parse(ts + ",,5,6"), TelemetryRowError::kFieldCount);
  EXPECT_EQ(parse(ts + ",,,"), TelemetryRowError::kFieldCount);
  EXPECT_EQ(parse(ts + ",,"), TelemetryRowError::kEmptyNode);
  EXPECT_EQ(parse(ts + ",n1,"), TelemetryRowError::kBadWatts);
  EXPECT_EQ(parse(",,,,,,,,,,,,,,,,,,,,,"), TelemetryRowError::kFieldCount);
  EXPECT_EQ(parse(",,"), TelemetryRowError::kBadTime);
  EXPECT_EQ(parse(ts + ts + ts), TelemetryRowError::kFieldCount);  // 57 bytes, no delimiter
  // '\r' endings: one is the line ending, a second one is in the last field.
  ASSERT_EQ(parse(ts + ",n1,5\r"), TelemetryRowError::kNone);
  EXPECT_EQ(row.watts, 5.0);
  ASSERT_EQ(parse(ts + ",n1,5\r\r"), TelemetryRowError::kNone);
  EXPECT_EQ(row.watts, 5.0);
  EXPECT_EQ(parse(ts + ",n1\r,5\r"), TelemetryRowError::kNone);
  EXPECT_EQ(row.node, "n1");
  EXPECT_EQ(parse("\r"), TelemetryRowError::kFieldCount);
  // Plain integers: the 8-byte conversion (1 to 8 digits) and the loop.
  for (const std::string watts : {"0", "7", "42", "221", "1234", "00000000", "00000007", "99999999", "12345678",
                                  "123456789", "999999999999999"}) {
    ASSERT_EQ(parse(ts + ",n1," + watts), TelemetryRowError::kNone) << watts;
    EXPECT_EQ(row.watts, std::stod(watts)) << watts;
  }
  for (const std::string watts : {"1/", "1:", "/1", ":1", "1a", "a1", "1 2", "+1", "0x1", "1\t2"}) {
    EXPECT_EQ(parse(ts + ",n1," + watts), TelemetryRowError::kBadWatts) << watts;
  }
}

// Random lines around the common one, in several column layouts, line
// lengths across the fast path's bounds (16 and 64 bytes), two delimiters
// and three policies: ParseTelemetryLine (with and without the cache) gives
// what ReferenceParse gives.
TEST(ParseTelemetryLine, MatchesPlainParseOnRandomLines) {
  struct Layout {
    std::string header;
    char delimiter;
  };
  const std::vector<Layout> layouts = {
      {"timestamp,node,watts", ','},       {"watts,node,timestamp", ','},         {"node,timestamp,watts", ','},
      {"timestamp,node,watts,extra", ','}, {"a,b,timestamp,c,node,d,watts", ','}, {"timestamp\tnode\twatts", '\t'},
  };
  const std::vector<TimestampPolicy> policies = {
      {TimeZone::Load("America/Denver"), true}, {}, {TimeZone::Load("America/Denver"), false}};
  const std::vector<std::string> times = {"2021-09-01 00:00:00Z",
                                          "2021-09-01 00:01:00Z",
                                          "2021-11-07 01:30:00Z",
                                          "2021-03-14 02:30:00",
                                          "2021-09-01T00:00:00.25",
                                          "2021-09-01 00:00:00-06:00",
                                          " 2021-09-01 00:00:00 ",
                                          "2021-02-29 00:00:00",
                                          "2021-09-01 00:00:00.123456+0530",
                                          "2021-09-01 00:00",
                                          "",
                                          "x"};
  const std::vector<std::string> nodes = {"r1i0n0", "r1i0n17", "n", " n1 ", "", "\t", "gpu-node-with-a-long-name-0001"};
  const std::vector<std::string> watts = {"221", "0",  "7",  "1234", "12345678", "123456789", "1e3",   "1.5", "-5",
                                          "-0",  " 5", "5 ", "",     "nan",      "12W",       "\"5\"", "5\r"};
  const std::string noise = "0123456789-:.,\"Z+ T\r\t";
  std::mt19937 random(20210901);
  const auto pick = [&](const std::vector<std::string>& from) -> const std::string& {
    return from[random() % from.size()];
  };
  for (const Layout& layout : layouts) {
    TelemetryColumns columns;
    columns.delimiter = layout.delimiter;
    std::string missing;
    ASSERT_TRUE(ResolveTelemetryHeader(layout.header, &columns, &missing)) << layout.header;
    for (const TimestampPolicy& policy : policies) {
      TimestampCache cache;
      std::string time = pick(times);
      for (int i = 0; i < 20000; ++i) {
        if (random() % 8 == 0) time = pick(times);
        std::vector<std::string> fields(columns.n_fields, "x");
        fields[static_cast<std::size_t>(columns.timestamp)] = time;
        fields[static_cast<std::size_t>(columns.node)] = pick(nodes);
        fields[static_cast<std::size_t>(columns.watts)] = pick(watts);
        std::string line;
        for (std::size_t f = 0; f < fields.size(); ++f) {
          if (f > 0) line += layout.delimiter;
          line += fields[f];
        }
        const int edits = static_cast<int>(random() % 6) - 3;  // half the lines are kept
        MutateRandomly(edits, noise, &random, &line);
        if (random() % 4 == 0) line += "\r";
        ExpectSameAsReference(line, columns, policy, &cache);
        if (HasFatalFailure()) return;
      }
    }
  }
}

TelemetryFormatConfig LdmsFormat(TelemetryTimeFormat time_format, int watts_exponent) {
  TelemetryFormatConfig f;
  f.timestamp_column = "#Time";
  f.node_column = "ProducerName";
  f.watts_column = "power";
  f.time_format = time_format;
  f.watts_exponent = watts_exponent;
  return f;
}

constexpr std::string_view kLdmsHeader = "#Time,Time_usec,ProducerName,component_id,job_id,power";

TEST(ResolveTelemetryHeader, ConfiguredColumnNames) {
  TelemetryColumns c;
  std::string missing;
  ASSERT_TRUE(ResolveTelemetryHeader(kLdmsHeader, LdmsFormat(TelemetryTimeFormat::kEpochSeconds, 3), &c, &missing));
  EXPECT_EQ(c.timestamp, 0);
  EXPECT_EQ(c.node, 2);
  EXPECT_EQ(c.watts, 5);
  EXPECT_EQ(c.n_fields, 6u);
  EXPECT_EQ(c.time_format, TelemetryTimeFormat::kEpochSeconds);
  EXPECT_EQ(c.watts_exponent, 3);
  // The spec's names are not found under an LDMS config, and vice versa.
  EXPECT_FALSE(ResolveTelemetryHeader("timestamp,node,watts", LdmsFormat(TelemetryTimeFormat::kIso, 0), &c, &missing));
  EXPECT_EQ(missing, "#Time");
  EXPECT_FALSE(
      ResolveTelemetryHeader("#Time,ProducerName,watts", LdmsFormat(TelemetryTimeFormat::kIso, 0), &c, &missing));
  EXPECT_EQ(missing, "power");
  EXPECT_FALSE(ResolveTelemetryHeader(kLdmsHeader, &c, &missing));
  EXPECT_EQ(missing, "timestamp");
}

TEST(InstantFromEpoch, TruncatesToTheInstantsResolution) {
  TimeUs t = 0;
  ASSERT_TRUE(InstantFromEpoch(1646748131, 1239999, 7, 1, &t));  // 1646748131.1239999 s
  EXPECT_EQ(t, 1646748131123999);
  ASSERT_TRUE(InstantFromEpoch(1646748131123, 9, 1, 1000, &t));  // 1646748131123.9 ms
  EXPECT_EQ(t, 1646748131123900);
  ASSERT_TRUE(InstantFromEpoch(1646748131123999, 9, 1, 1000000, &t));  // 1646748131123999.9 µs
  EXPECT_EQ(t, 1646748131123999);
  ASSERT_TRUE(InstantFromEpoch(0, 5, 1, 1, &t));
  EXPECT_EQ(t, 500000);
  EXPECT_FALSE(InstantFromEpoch(999999999999999999, 0, 0, 1, &t));  // 1e18 s: no instant holds it
}

TEST(ParseEpochInstant, FormatsAndBadText) {
  TimeUs t = 0;
  ASSERT_TRUE(ParseEpochInstant("1646748131.000123", TelemetryTimeFormat::kEpochSeconds, &t));
  EXPECT_EQ(t, Utc(2022, 3, 8, 14, 2, 11) + 123);
  ASSERT_TRUE(ParseEpochInstant(" 1646748131 ", TelemetryTimeFormat::kEpochSeconds, &t));
  EXPECT_EQ(t, Utc(2022, 3, 8, 14, 2, 11));
  ASSERT_TRUE(ParseEpochInstant("1646748131250", TelemetryTimeFormat::kEpochMillis, &t));
  EXPECT_EQ(t, Utc(2022, 3, 8, 14, 2, 11) + 250 * kMicrosPerMilli);
  ASSERT_TRUE(ParseEpochInstant("1646748131250999.5", TelemetryTimeFormat::kEpochMicros, &t));
  EXPECT_EQ(t, Utc(2022, 3, 8, 14, 2, 11) + 250999);
  ASSERT_TRUE(ParseEpochInstant("1.9999999999999", TelemetryTimeFormat::kEpochSeconds, &t));  // > 9 digits
  EXPECT_EQ(t, 1999999);
  for (const char* bad : {"", ".5", "1.", "-1", "+1", "1e9", "1646748131.0x", "2022-03-08 14:02:11", "1 2", "1.2.3",
                          "1234567890123456789"}) {
    EXPECT_FALSE(ParseEpochInstant(bad, TelemetryTimeFormat::kEpochSeconds, &t)) << bad;
  }
}

TEST(ParseTelemetryLine, LdmsExportGivesTheSpecsRows) {
  TelemetryColumns ldms;
  std::string missing;
  ASSERT_TRUE(ResolveTelemetryHeader(kLdmsHeader, LdmsFormat(TelemetryTimeFormat::kEpochSeconds, 0), &ldms, &missing));
  const TelemetryColumns spec = Columns("timestamp,node,watts");
  const TimestampPolicy denver{TimeZone::Load("America/Denver"), true};  // ignored by epoch times
  TimestampCache cache;
  TelemetryRow a, b;
  ASSERT_EQ(ParseTelemetryLine("1636273800.000000,0,r1i0n3,17,0,231", ldms, denver, &a, &cache),
            TelemetryRowError::kNone);
  ASSERT_EQ(ParseTelemetryLine("2021-11-07 08:30:00+00:00,r1i0n3,231", spec, {}, &b), TelemetryRowError::kNone);
  EXPECT_EQ(a.utc, b.utc);
  EXPECT_EQ(a.wall_us, a.utc);
  EXPECT_FALSE(a.ambiguous);  // 01:30 MST/MDT repeats in Denver, not in UTC
  EXPECT_EQ(a.node, "r1i0n3");
  EXPECT_EQ(a.watts, 231.0);
  // The cached timestamp, a long line through the general path, bad times.
  ASSERT_EQ(ParseTelemetryLine("1636273800.000000,0,r1i0n4,18,0,230", ldms, denver, &a, &cache),
            TelemetryRowError::kNone);
  EXPECT_EQ(a.utc, b.utc);
  ASSERT_EQ(ParseTelemetryLine("1636273800.000000,0,a-very-long-node-name-beyond-the-fast-path-r1i0n4,18,0,230", ldms,
                               denver, &a, &cache),
            TelemetryRowError::kNone);
  EXPECT_EQ(a.utc, b.utc);
  EXPECT_EQ(ParseTelemetryLine("2021-11-07 08:30:00,0,r1i0n3,17,0,231", ldms, denver, &a, &cache),
            TelemetryRowError::kBadTime);
  EXPECT_EQ(ParseTelemetryLine("N/A,0,r1i0n3,17,0,231", ldms, denver, &a, &cache), TelemetryRowError::kBadTime);
  EXPECT_EQ(ParseTelemetryLine("1636273800,0,r1i0n3,17,231", ldms, denver, &a, &cache), TelemetryRowError::kFieldCount);
}

TEST(ParseTelemetryLine, WattsUnitsScaleAsTheSameNumberInWatts) {
  TelemetryColumns kw = Columns("timestamp,node,watts");
  kw.watts_exponent = 3;
  TelemetryColumns mw = kw;
  mw.watts_exponent = -3;
  const TelemetryColumns w = Columns("timestamp,node,watts");
  TelemetryRow row, same;
  const auto watts_of = [&](const TelemetryColumns& c, const std::string& text, TelemetryRow* r) {
    return ParseTelemetryLine("2021-11-07 01:30:00Z,n1," + text, c, {}, r);
  };
  // Each pair: the reading in kW or mW, and the same reading in W.
  const std::pair<const char*, const char*> kilo[] = {{"0.231", "231"},   {"0.2315", "231.5"},   {"2", "2000"},
                                                      {"2.31e-1", "231"}, {"2.31E+2", "231000"}, {" 0.1 ", "100"}};
  for (const auto& [text, watts] : kilo) {
    ASSERT_EQ(watts_of(kw, text, &row), TelemetryRowError::kNone) << text;
    ASSERT_EQ(watts_of(w, watts, &same), TelemetryRowError::kNone) << watts;
    EXPECT_EQ(row.watts, same.watts) << text;
  }
  const std::pair<const char*, const char*> milli[] = {
      {"231000", "231"}, {"231500", "231.5"}, {"1", "0.001"}, {"7.5", "0.0075"}, {"1e3", "1"}};
  for (const auto& [text, watts] : milli) {
    ASSERT_EQ(watts_of(mw, text, &row), TelemetryRowError::kNone) << text;
    ASSERT_EQ(watts_of(w, watts, &same), TelemetryRowError::kNone) << watts;
    EXPECT_EQ(row.watts, same.watts) << text;
  }
  EXPECT_EQ(watts_of(kw, "-0.2", &row), TelemetryRowError::kNegativeWatts);
  for (const char* bad : {"n/a", "", "1e", "e3", "0.2kW", "1e3e3", "inf", "nan"}) {
    EXPECT_EQ(watts_of(kw, bad, &row), TelemetryRowError::kBadWatts) << bad;
  }
}

}  // namespace
}  // namespace wattrun
