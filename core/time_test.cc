#include "core/time.h"

#include <date/tz.h>
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "core/error.h"

namespace wattrun {
namespace {

constexpr std::int64_t kHourUs = kMicrosPerHour;

// UTC microseconds of a calendar time, computed independently of the parser.
TimeUs Utc(int y, unsigned mo, unsigned d, int h, int mi, int s, int ms = 0, int us = 0) {
  return ((DaysFromCivil(y, mo, d) * 86400 + (h * 60 + mi) * 60 + s) * 1000 + ms) * 1000 + us;
}

ParsedTimestamp Parse(std::string_view text) {
  ParsedTimestamp parsed;
  EXPECT_TRUE(ParseTimestamp(text, &parsed)) << text;
  return parsed;
}

TEST(DaysFromCivil, KnownDates) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
  EXPECT_EQ(DaysFromCivil(2021, 3, 14), 18700);
  EXPECT_EQ(DaysFromCivil(1600, 1, 1), -135140);
}

TEST(CivilFromDays, InvertsDaysFromCivilDayByDay) {
  // 1599-12-01 to 2401-01-31: negative days, century and 400-year leap rules.
  std::int64_t days = DaysFromCivil(1599, 12, 1);
  for (int year = 1599; year <= 2401; ++year) {
    for (int month = year == 1599 ? 12 : 1; month <= (year == 2401 ? 1 : 12); ++month) {
      for (int day = 1; day <= DaysInMonth(year, month); ++day, ++days) {
        const CivilDate c = CivilFromDays(days);
        ASSERT_EQ(c.year, year) << days;
        ASSERT_EQ(c.month, month) << days;
        ASSERT_EQ(c.day, day) << days;
      }
    }
  }
  EXPECT_EQ(days, DaysFromCivil(2401, 2, 1));
  EXPECT_EQ(DaysInMonth(1900, 2), 28);
  EXPECT_EQ(DaysInMonth(2000, 2), 29);
  EXPECT_EQ(FloorDiv(-1, 86400), -1);
  EXPECT_EQ(FloorDiv(-86400, 86400), -1);
  EXPECT_EQ(FloorDiv(86399, 86400), 0);
}

TEST(ParseTimestamp, Layouts) {
  const TimeUs expected = Utc(2021, 3, 4, 5, 6, 7);
  ParsedTimestamp p = Parse("2021-03-04 05:06:07");
  EXPECT_EQ(p.wall_us, expected);
  EXPECT_FALSE(p.has_offset);
  EXPECT_EQ(Parse("2021-03-04T05:06:07").wall_us, expected);
  EXPECT_EQ(Parse("  2021-03-04 05:06:07\t").wall_us, expected);
}

TEST(ParseTimestamp, FractionsKeepMicrosecondsTruncated) {
  EXPECT_EQ(Parse("2021-03-04 05:06:07.5").wall_us, Utc(2021, 3, 4, 5, 6, 7, 500));
  EXPECT_EQ(Parse("2021-03-04 05:06:07.05").wall_us, Utc(2021, 3, 4, 5, 6, 7, 50));
  EXPECT_EQ(Parse("2021-03-04 05:06:07.123").wall_us, Utc(2021, 3, 4, 5, 6, 7, 123));
  EXPECT_EQ(Parse("2021-03-04 05:06:07.000001+00:00").wall_us, Utc(2021, 3, 4, 5, 6, 7, 0, 1));
  // BUTTER-E's runs.csv: six digits, kept whole. 1615000000 s is 2021-03-06
  // 03:06:40 UTC, so this is 1615000000123456 µs.
  EXPECT_EQ(Parse("2021-03-06 03:06:40.123456").wall_us, 1615000000123456);
  EXPECT_EQ(Parse("2022-03-08 14:02:11.123456").wall_us, Utc(2022, 3, 8, 14, 2, 11, 123, 456));
  // Digits 7 to 9 are truncated (the instant rounds down), never rounded up.
  EXPECT_EQ(Parse("2022-03-08 14:02:11.1234567").wall_us, Utc(2022, 3, 8, 14, 2, 11, 123, 456));
  EXPECT_EQ(Parse("2022-03-08 14:02:11.123999999").wall_us, Utc(2022, 3, 8, 14, 2, 11, 123, 999));
  EXPECT_EQ(Parse("2022-12-31 23:59:59.9999999Z").wall_us, Utc(2022, 12, 31, 23, 59, 59, 999, 999));
  EXPECT_EQ(Parse("1969-12-31 23:59:59.9999995").wall_us, -1);  // before 1970: still toward the past
  // Ten digits and more are not a timestamp.
  ParsedTimestamp p;
  EXPECT_FALSE(ParseTimestamp("2022-03-08 14:02:11.1234567890", &p));
  EXPECT_FALSE(ParseTimestamp("2022-03-08 14:02:11.0000000000Z", &p));
}

TEST(ParseTimestamp, Offsets) {
  ParsedTimestamp z = Parse("2021-11-07 01:30:00Z");
  EXPECT_TRUE(z.has_offset);
  EXPECT_TRUE(z.is_z);
  EXPECT_EQ(z.offset_minutes, 0);

  ParsedTimestamp india = Parse("2021-03-04 05:06:07+0530");
  EXPECT_TRUE(india.has_offset);
  EXPECT_FALSE(india.is_z);
  EXPECT_EQ(india.offset_minutes, 330);

  EXPECT_EQ(Parse("2021-03-04 05:06:07+05:30").offset_minutes, 330);
  EXPECT_EQ(Parse("2021-03-04 05:06:07-06:00").offset_minutes, -360);
  EXPECT_EQ(Parse("2021-03-04 05:06:07-0600").offset_minutes, -360);
  EXPECT_EQ(Parse("2021-03-04 05:06:07-06").offset_minutes, -360);
  EXPECT_EQ(Parse("2021-03-04 05:06:07.250+00:00").offset_minutes, 0);
  EXPECT_EQ(Parse("2021-03-04 05:06:07.250+00:00").wall_us, Utc(2021, 3, 4, 5, 6, 7, 250));
}

TEST(ParseTimestamp, RejectsInvalid) {
  ParsedTimestamp p;
  for (const char* bad : {"",
                          "2021-03-04",
                          "2021-03-04 05:06",
                          "2021-13-01 00:00:00",
                          "2021-00-10 00:00:00",
                          "2021-04-31 00:00:00",
                          "2021-02-29 00:00:00",
                          "1900-02-29 00:00:00",
                          "2021-03-00 00:00:00",
                          "2021-03-04 24:00:00",
                          "2021-03-04 05:60:00",
                          "2021-03-04 05:06:60",
                          "2021-3-04 05:06:07",
                          "2021-03-04 5:06:07",
                          "2021/03/04 05:06:07",
                          "2021-03-04_05:06:07",
                          "2021-03-04 05:06:07.",
                          "2021-03-04 05:06:07x",
                          "2021-03-04 05:06:07+5",
                          "2021-03-04 05:06:07+05:3",
                          "2021-03-04 05:06:07+0530x",
                          "2021-03-04 05:06:07+24:00",
                          "2021-03-04 05:06:07+05:60",
                          "2021-03-04 05:06:07Z+01:00",
                          "2021-03-04 05:06:07 Z",
                          "2021-03-04 05:06:07z",
                          "20a1-03-04 05:06:07",
                          "2021-03-04  05:06:07",
                          "nan",
                          "Unknown"}) {
    EXPECT_FALSE(ParseTimestamp(bad, &p)) << bad;
  }
  EXPECT_TRUE(ParseTimestamp("2020-02-29 00:00:00", &p));
  EXPECT_TRUE(ParseTimestamp("2000-02-29 23:59:59", &p));
}

TEST(TimeZone, LoadAndNames) {
  EXPECT_TRUE(TimeZone::Load("").is_utc());
  EXPECT_TRUE(TimeZone::Load("UTC").is_utc());
  EXPECT_EQ(TimeZone::Utc().name(), "UTC");
  const TimeZone denver = TimeZone::Load("America/Denver");
  EXPECT_FALSE(denver.is_utc());
  EXPECT_EQ(denver.name(), "America/Denver");
  try {
    TimeZone::Load("Mars/Olympus_Mons");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Mars/Olympus_Mons"), std::string::npos);
  }
}

TEST(TimeZone, DenverSpringForwardGap) {
  const TimeZone denver = TimeZone::Load("America/Denver");
  const LocalTimeResult before = denver.FromLocal(Utc(2021, 3, 14, 1, 59, 59));
  EXPECT_EQ(before.kind, LocalTimeKind::kUnique);
  EXPECT_EQ(before.earlier, Utc(2021, 3, 14, 8, 59, 59));  // MST, UTC-7

  const LocalTimeResult gap = denver.FromLocal(Utc(2021, 3, 14, 2, 30, 0));
  EXPECT_EQ(gap.kind, LocalTimeKind::kNonexistent);
  EXPECT_EQ(gap.earlier, Utc(2021, 3, 14, 9, 0, 0));  // the transition
  EXPECT_EQ(denver.FromLocal(Utc(2021, 3, 14, 2, 0, 0)).kind, LocalTimeKind::kNonexistent);
  EXPECT_EQ(denver.FromLocal(Utc(2021, 3, 14, 2, 59, 59, 999)).kind, LocalTimeKind::kNonexistent);

  const LocalTimeResult after = denver.FromLocal(Utc(2021, 3, 14, 3, 0, 0));
  EXPECT_EQ(after.kind, LocalTimeKind::kUnique);
  EXPECT_EQ(after.earlier, Utc(2021, 3, 14, 9, 0, 0));  // MDT, UTC-6
}

TEST(TimeZone, DenverRepeatedHour) {
  const TimeZone denver = TimeZone::Load("America/Denver");
  const LocalTimeResult twice = denver.FromLocal(Utc(2021, 11, 7, 1, 30, 0));
  EXPECT_EQ(twice.kind, LocalTimeKind::kAmbiguous);
  EXPECT_EQ(twice.earlier, Utc(2021, 11, 7, 7, 30, 0));
  EXPECT_EQ(twice.later, Utc(2021, 11, 7, 8, 30, 0));

  EXPECT_EQ(denver.FromLocal(Utc(2021, 11, 7, 1, 0, 0)).kind, LocalTimeKind::kAmbiguous);
  const LocalTimeResult before = denver.FromLocal(Utc(2021, 11, 7, 0, 59, 59, 999));
  EXPECT_EQ(before.kind, LocalTimeKind::kUnique);
  EXPECT_EQ(before.earlier, before.later);
  const LocalTimeResult after = denver.FromLocal(Utc(2021, 11, 7, 2, 0, 0));
  EXPECT_EQ(after.kind, LocalTimeKind::kUnique);
  EXPECT_EQ(after.earlier, Utc(2021, 11, 7, 9, 0, 0));
}

TEST(TimeZone, HalfHourDaylightSavingOfLordHowe) {
  // Lord Howe moves by 30 minutes: +10:30 standard, +11 daylight.
  const TimeZone zone = TimeZone::Load("Australia/Lord_Howe");
  EXPECT_EQ(zone.FromLocal(Utc(2021, 10, 3, 2, 15, 0)).kind, LocalTimeKind::kNonexistent);
  EXPECT_EQ(zone.FromLocal(Utc(2021, 10, 3, 2, 30, 0)).kind, LocalTimeKind::kUnique);
  const LocalTimeResult twice = zone.FromLocal(Utc(2021, 4, 4, 1, 45, 0));
  EXPECT_EQ(twice.kind, LocalTimeKind::kAmbiguous);
  EXPECT_EQ(twice.later - twice.earlier, 30 * kMicrosPerMinute);
}

TEST(TimeZone, OffsetAt) {
  const TimeZone denver = TimeZone::Load("America/Denver");
  EXPECT_EQ(denver.OffsetAt(Utc(2021, 7, 1, 0, 0, 0)), -6 * kHourUs);
  EXPECT_EQ(denver.OffsetAt(Utc(2021, 1, 1, 0, 0, 0)), -7 * kHourUs);
  EXPECT_EQ(denver.OffsetAt(Utc(2021, 11, 7, 7, 59, 59)), -6 * kHourUs);
  EXPECT_EQ(denver.OffsetAt(Utc(2021, 11, 7, 8, 0, 0)), -7 * kHourUs);
  EXPECT_EQ(TimeZone::Utc().OffsetAt(Utc(2021, 7, 1, 0, 0, 0)), 0);
  EXPECT_EQ(TimeZone::Load("Asia/Kolkata").OffsetAt(Utc(2021, 7, 1, 0, 0, 0)), 330 * kMicrosPerMinute);
}

// FromLocal's tables agree with the tz library asked directly.
TEST(TimeZone, AgreesWithDateLibrary) {
  for (const char* name : {"America/Denver", "Europe/London", "Australia/Sydney", "America/St_Johns", "Pacific/Apia"}) {
    const TimeZone zone = TimeZone::Load(name);
    const date::time_zone* reference = date::locate_zone(name);
    std::mt19937_64 random(7);
    std::uniform_int_distribution<std::int64_t> seconds(Utc(1990, 1, 1, 0, 0, 0) / kMicrosPerSecond,
                                                        Utc(2036, 1, 1, 0, 0, 0) / kMicrosPerSecond);
    for (int i = 0; i < 20000; ++i) {
      std::int64_t wall_s = seconds(random);
      if (i % 2 == 1) wall_s = wall_s / 1800 * 1800;  // near transitions more often
      const LocalTimeResult got = zone.FromLocal(wall_s * kMicrosPerSecond);
      const auto info = reference->get_info(date::local_seconds{std::chrono::seconds{wall_s}});
      const std::int64_t first = (wall_s - info.first.offset.count()) * kMicrosPerSecond;
      switch (info.result) {
        case date::local_info::unique:
          ASSERT_EQ(got.kind, LocalTimeKind::kUnique) << name << " " << FormatWall(wall_s * kMicrosPerSecond);
          ASSERT_EQ(got.earlier, first);
          break;
        case date::local_info::ambiguous:
          ASSERT_EQ(got.kind, LocalTimeKind::kAmbiguous) << name << " " << FormatWall(wall_s * kMicrosPerSecond);
          ASSERT_EQ(got.earlier, first);
          ASSERT_EQ(got.later, (wall_s - info.second.offset.count()) * kMicrosPerSecond);
          break;
        case date::local_info::nonexistent:
          ASSERT_EQ(got.kind, LocalTimeKind::kNonexistent) << name << " " << FormatWall(wall_s * kMicrosPerSecond);
          break;
      }
      const TimeUs utc = wall_s * kMicrosPerSecond;
      const auto sys = reference->get_info(date::sys_seconds{std::chrono::seconds{wall_s}});
      ASSERT_EQ(zone.OffsetAt(utc), sys.offset.count() * kMicrosPerSecond);
    }
  }
}

TEST(TimeZone, CacheIsPerZoneAndPerThread) {
  const TimeZone denver = TimeZone::Load("America/Denver");
  const TimeZone berlin = TimeZone::Load("Europe/Berlin");
  auto check = [&] {
    for (int i = 0; i < 1000; ++i) {
      const TimeUs wall = Utc(2021, 7, 1, 12, 0, 0) + i * kMicrosPerMinute;
      if (denver.FromLocal(wall).earlier != wall + 6 * kHourUs) return false;
      if (berlin.FromLocal(wall).earlier != wall - 2 * kHourUs) return false;
      const TimeUs winter = Utc(2021, 1, 10, 12, 0, 0) + i * kMicrosPerMinute;
      if (denver.FromLocal(winter).earlier != winter + 7 * kHourUs) return false;
    }
    return true;
  };
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) threads.emplace_back([&, t] { ok[t] = check() ? 1 : 0; });
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(ok[t], 1) << "thread " << t;
}

TEST(ParseInstant, Policies) {
  TimestampPolicy denver{TimeZone::Load("America/Denver"), false};
  TimeUs utc = 0;
  std::int64_t wall = 0;

  EXPECT_EQ(ParseInstant("2021-07-01 12:00:00", denver, &utc, &wall), TimeParseStatus::kOk);
  EXPECT_EQ(utc, Utc(2021, 7, 1, 18, 0, 0));
  EXPECT_EQ(wall, Utc(2021, 7, 1, 12, 0, 0));

  EXPECT_EQ(ParseInstant("2021-11-07 01:30:00", denver, &utc, &wall), TimeParseStatus::kAmbiguous);
  EXPECT_EQ(utc, Utc(2021, 11, 7, 7, 30, 0));
  EXPECT_EQ(wall, Utc(2021, 11, 7, 1, 30, 0));

  EXPECT_EQ(ParseInstant("2021-03-14 02:30:00", denver, &utc), TimeParseStatus::kNonexistent);
  EXPECT_EQ(ParseInstant("2021-03-14 02:30", denver, &utc), TimeParseStatus::kBadSyntax);

  // An explicit Z is UTC, unless the policy says it is wrong.
  EXPECT_EQ(ParseInstant("2021-11-07 01:30:00Z", denver, &utc), TimeParseStatus::kOk);
  EXPECT_EQ(utc, Utc(2021, 11, 7, 1, 30, 0));
  TimestampPolicy butter{TimeZone::Load("America/Denver"), true};
  EXPECT_EQ(ParseInstant("2021-11-07 01:30:00Z", butter, &utc), TimeParseStatus::kAmbiguous);
  EXPECT_EQ(utc, Utc(2021, 11, 7, 7, 30, 0));
  EXPECT_EQ(ParseInstant("2021-03-14T02:30:00Z", butter, &utc), TimeParseStatus::kNonexistent);
  EXPECT_EQ(ParseInstant("2021-07-01T12:00:00.250Z", butter, &utc), TimeParseStatus::kOk);
  EXPECT_EQ(utc, Utc(2021, 7, 1, 18, 0, 0, 250));

  // A numeric offset is always exact, even with ignore_z.
  EXPECT_EQ(ParseInstant("2021-03-04 05:06:07+0530", butter, &utc), TimeParseStatus::kOk);
  EXPECT_EQ(utc, Utc(2021, 3, 3, 23, 36, 7));
  EXPECT_EQ(ParseInstant("2021-03-04 05:06:07-06:00", butter, &utc), TimeParseStatus::kOk);
  EXPECT_EQ(utc, Utc(2021, 3, 4, 11, 6, 7));
  EXPECT_EQ(ParseInstant("2021-03-14 02:30:00-07:00", denver, &utc), TimeParseStatus::kOk);
  EXPECT_EQ(utc, Utc(2021, 3, 14, 9, 30, 0));

  TimestampPolicy utc_policy;
  EXPECT_EQ(ParseInstant("2021-03-14 02:30:00", utc_policy, &utc), TimeParseStatus::kOk);
  EXPECT_EQ(utc, Utc(2021, 3, 14, 2, 30, 0));
  EXPECT_EQ(ParseInstant("2021-03-04 05:06:07+00:00", utc_policy, &utc), TimeParseStatus::kOk);
  EXPECT_EQ(utc, Utc(2021, 3, 4, 5, 6, 7));
}

TEST(Format, Utc) {
  EXPECT_EQ(FormatUtc(Utc(2021, 3, 4, 5, 6, 7)), "2021-03-04 05:06:07");
  EXPECT_EQ(FormatUtc(Utc(2021, 3, 4, 5, 6, 7, 8)), "2021-03-04 05:06:07.008");
  EXPECT_EQ(FormatUtcIso(Utc(2021, 3, 4, 5, 6, 7)), "2021-03-04T05:06:07Z");
  EXPECT_EQ(FormatUtc(0), "1970-01-01 00:00:00");
  EXPECT_EQ(FormatUtc(-1000), "1969-12-31 23:59:59.999");
  EXPECT_EQ(FormatUtc(Utc(2000, 2, 29, 23, 59, 59)), "2000-02-29 23:59:59");
  EXPECT_EQ(FormatWall(Utc(2021, 11, 7, 1, 30, 0)), "2021-11-07 01:30:00");
}

// A fraction only when not zero; three digits for whole ms (as before µs),
// else six.
TEST(Format, Microseconds) {
  EXPECT_EQ(FormatUtc(1615000000123456), "2021-03-06 03:06:40.123456");
  EXPECT_EQ(FormatUtcIso(Utc(2022, 3, 8, 14, 2, 11, 123, 456)), "2022-03-08T14:02:11.123456Z");
  EXPECT_EQ(FormatUtc(Utc(2022, 3, 8, 14, 2, 11, 0, 1)), "2022-03-08 14:02:11.000001");
  EXPECT_EQ(FormatUtc(Utc(2022, 3, 8, 14, 2, 11, 120)), "2022-03-08 14:02:11.120");
  EXPECT_EQ(FormatUtc(Utc(2022, 3, 8, 14, 2, 11, 120, 500)), "2022-03-08 14:02:11.120500");
  EXPECT_EQ(FormatUtc(-1), "1969-12-31 23:59:59.999999");
  EXPECT_EQ(FormatWall(Utc(2021, 11, 7, 1, 30, 0, 0, 7)), "2021-11-07 01:30:00.000007");
  EXPECT_EQ(FormatLocal(Utc(2021, 11, 7, 7, 30, 0, 0, 7), TimeZone::Utc()), "2021-11-07 07:30:00");
}

// Whole-ms durations give the doubles that ms / 1e3 gave.
TEST(Durations, SecondsAreTheMillisecondValues) {
  EXPECT_EQ(ToSeconds(FromSeconds(3600)), 3600.0);
  EXPECT_EQ(ToSeconds(1), 1e-6);
  EXPECT_EQ(ToSeconds(-2500000), -2.5);
  for (std::int64_t ms : {1LL, 7LL, 123LL, 999LL, 86399999LL, 7776000001LL, 123456789012LL}) {
    EXPECT_EQ(ToSeconds(ms * kMicrosPerMilli), static_cast<double>(ms) / 1000.0) << ms;
    EXPECT_EQ(ToMillis(ms * kMicrosPerMilli), static_cast<double>(ms)) << ms;
  }
  EXPECT_EQ(ToMillis(1500), 1.5);
}

TEST(Format, LocalAndRoundTrip) {
  const TimeZone denver = TimeZone::Load("America/Denver");
  EXPECT_EQ(FormatLocal(Utc(2021, 11, 7, 7, 30, 0), denver), "2021-11-07 01:30:00");
  EXPECT_EQ(FormatLocal(Utc(2021, 11, 7, 8, 30, 0), denver), "2021-11-07 01:30:00");
  EXPECT_EQ(FormatLocal(Utc(2021, 3, 14, 9, 0, 0), denver), "2021-03-14 03:00:00");
  EXPECT_EQ(FormatLocal(Utc(2021, 3, 14, 9, 0, 0, 999), denver), "2021-03-14 03:00:00");
  std::mt19937_64 random(3);
  std::uniform_int_distribution<TimeUs> instants(Utc(1950, 1, 1, 0, 0, 0), Utc(2100, 1, 1, 0, 0, 0));
  for (int i = 0; i < 10000; ++i) {
    const TimeUs t = instants(random);
    ParsedTimestamp parsed;
    ASSERT_TRUE(ParseTimestamp(FormatUtc(t), &parsed));
    ASSERT_EQ(parsed.wall_us, t);
    ASSERT_TRUE(ParseTimestamp(FormatUtcIso(t), &parsed));
    ASSERT_EQ(parsed.wall_us, t);
  }
}

}  // namespace
}  // namespace wattrun
