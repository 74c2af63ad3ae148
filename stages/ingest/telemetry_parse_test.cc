#include "stages/ingest/telemetry_parse.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace wattrun {
namespace {

TimeMs Utc(int y, unsigned mo, unsigned d, int h, int mi, int s) {
  return DaysFromCivil(y, mo, d) * 86400000 + ((h * 60 + mi) * 60 + s) * 1000;
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
  ASSERT_EQ(ParseTelemetryLine("2021-11-07 01:30:00Z,r1i0n3,231", columns, utc, &row),
            TelemetryRowError::kNone);
  EXPECT_EQ(row.node, "r1i0n3");
  EXPECT_EQ(row.utc, Utc(2021, 11, 7, 1, 30, 0));
  EXPECT_EQ(row.wall_ms, Utc(2021, 11, 7, 1, 30, 0));
  EXPECT_FALSE(row.ambiguous);
  EXPECT_EQ(row.watts, 231.0);

  ASSERT_EQ(ParseTelemetryLine("2021-11-07T01:30:00.5,n1,231.75\r", columns, utc, &row),
            TelemetryRowError::kNone);
  EXPECT_EQ(row.utc, Utc(2021, 11, 7, 1, 30, 0) + 500);
  EXPECT_EQ(row.watts, 231.75);

  ASSERT_EQ(ParseTelemetryLine("2021-11-07 01:30:00, n1 , 0 ", columns, utc, &row),
            TelemetryRowError::kNone);
  EXPECT_EQ(row.node, "n1");
  EXPECT_EQ(row.watts, 0.0);  // zero is legal (it marks a bad run later)

  ASSERT_EQ(ParseTelemetryLine("2021-11-07 01:30:00,n1,1e3", columns, utc, &row),
            TelemetryRowError::kNone);
  EXPECT_EQ(row.watts, 1000.0);
  ASSERT_EQ(ParseTelemetryLine("2021-11-07 01:30:00,n1,-0", columns, utc, &row),
            TelemetryRowError::kNone);
  ASSERT_EQ(ParseTelemetryLine("2021-11-07 01:30:00,n1,12345678901234567", columns, utc, &row),
            TelemetryRowError::kNone);
  EXPECT_EQ(row.watts, 12345678901234567.0);
}

TEST(ParseTelemetryLine, OtherColumnOrder) {
  const TelemetryColumns columns = Columns("watts,extra,node,timestamp");
  TelemetryRow row;
  ASSERT_EQ(ParseTelemetryLine("88,,gpu7,2021-07-01 12:00:00-06:00", columns, {}, &row),
            TelemetryRowError::kNone);
  EXPECT_EQ(row.node, "gpu7");
  EXPECT_EQ(row.watts, 88.0);
  EXPECT_EQ(row.utc, Utc(2021, 7, 1, 18, 0, 0));
}

TEST(ParseTelemetryLine, BadRows) {
  const TelemetryColumns columns = Columns("timestamp,node,watts");
  const TimestampPolicy utc;
  TelemetryRow row;
  const auto parse = [&](std::string_view line) {
    return ParseTelemetryLine(line, columns, utc, &row);
  };
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
  ASSERT_EQ(ParseTelemetryLine("2021-11-07 01:30:00Z,r1i0n3,231", columns, butter, &row),
            TelemetryRowError::kNone);
  EXPECT_TRUE(row.ambiguous);
  EXPECT_EQ(row.utc, Utc(2021, 11, 7, 7, 30, 0));
  EXPECT_EQ(row.wall_ms, Utc(2021, 11, 7, 1, 30, 0));
  EXPECT_EQ(butter.zone.FromLocal(row.wall_ms).later, Utc(2021, 11, 7, 8, 30, 0));

  ASSERT_EQ(ParseTelemetryLine("2021-11-07 02:30:00Z,r1i0n3,231", columns, butter, &row),
            TelemetryRowError::kNone);
  EXPECT_FALSE(row.ambiguous);
  EXPECT_EQ(row.utc, Utc(2021, 11, 7, 9, 30, 0));

  EXPECT_EQ(ParseTelemetryLine("2021-03-14 02:30:00Z,r1i0n3,231", columns, butter, &row),
            TelemetryRowError::kNonexistentTime);

  const TimestampPolicy honest_z{TimeZone::Load("America/Denver"), false};
  ASSERT_EQ(ParseTelemetryLine("2021-03-14 02:30:00Z,r1i0n3,231", columns, honest_z, &row),
            TelemetryRowError::kNone);
  EXPECT_EQ(row.utc, Utc(2021, 3, 14, 2, 30, 0));
}

TEST(ParseTelemetryLine, QuotedFields) {
  const TelemetryColumns columns = Columns("timestamp,node,watts,note");
  TelemetryRow row;
  ASSERT_EQ(ParseTelemetryLine(R"("2021-11-07 01:30:00","r1,n3","231","a ""b"" c")", columns,
                               {}, &row),
            TelemetryRowError::kNone);
  EXPECT_EQ(row.node, "r1,n3");
  EXPECT_EQ(row.watts, 231.0);
  EXPECT_EQ(ParseTelemetryLine(R"(2021-11-07 01:30:00,n1,231,"open)", columns, {}, &row),
            TelemetryRowError::kFieldCount);
  EXPECT_EQ(ParseTelemetryLine(R"(2021-11-07 01:30:00,"n1,231,x")", columns, {}, &row),
            TelemetryRowError::kFieldCount);
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
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = random() % (line.size() + 1);
      switch (random() % 3) {
        case 0:
          if (at < line.size()) line.erase(at, 1);
          break;
        case 1:
          line.insert(at, 1, noise[random() % noise.size()]);
          break;
        default:
          if (at < line.size()) line[at] = noise[random() % noise.size()];
      }
    }
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
      "2021-11-07 01:30:00Z,a,1",  "2021-11-07 01:30:00Z,b,2",  "2021-11-07 01:30:00Z,c,x",
      "2021-11-07 01:31:00Z,a,1",  "2021-13-07 01:31:00Z,a,1",  "2021-13-07 01:31:00Z,b,1",
      "2021-11-07 01:31:00Z,b,1",  "2021-03-14 02:30:00Z,a,1",  "2021-03-14 02:30:00Z,b,1",
      "2021-11-07 03:00:00,a,5",   "2021-11-07 03:00:00Z,a,5",  "\"2021-11-07 03:00:00\",a,5",
      "2021-11-07 03:00:00.5,a,5", "2021-11-07 03:00:00,a,-1",  ",a,1",
  };
  TimestampCache cache;
  for (const std::string& line : lines) {
    TelemetryRow plain, cached;
    const TelemetryRowError e1 = ParseTelemetryLine(line, columns, denver, &plain);
    const TelemetryRowError e2 = ParseTelemetryLine(line, columns, denver, &cached, &cache);
    ASSERT_EQ(e1, e2) << line;
    if (e1 != TelemetryRowError::kNone) continue;
    EXPECT_EQ(plain.utc, cached.utc) << line;
    EXPECT_EQ(plain.wall_ms, cached.wall_ms) << line;
    EXPECT_EQ(plain.ambiguous, cached.ambiguous) << line;
    EXPECT_EQ(plain.watts, cached.watts) << line;
  }
}

}  // namespace
}  // namespace wattrun
