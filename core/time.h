// Timestamps: parsing the formats of the spec, time zones, and formatting.
//
// All instants inside wattrun are int64 milliseconds since the Unix epoch,
// UTC (`TimeMs`). Local wall-clock times are int64 milliseconds since the
// epoch of the local calendar ("local milliseconds", no zone applied).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace wattrun {

using TimeMs = std::int64_t;
inline constexpr TimeMs kMsPerSecond = 1000;
inline constexpr TimeMs kMsPerMinute = 60 * kMsPerSecond;

// What the text of a timestamp says, before any zone is applied.
struct ParsedTimestamp {
  std::int64_t wall_ms = 0;  // the written date and time as local ms
  bool has_offset = false;   // an explicit `Z` or `+HH:MM`/`+HHMM`
  bool is_z = false;         // the offset was written as `Z`
  int offset_minutes = 0;    // east of UTC, valid if has_offset
};

// Parses `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DDTHH:MM:SS`, an optional fraction
// (any digits, kept to the millisecond, truncated), then optionally `Z`,
// `±HH:MM` or `±HHMM` (and `±HH`). Leading/trailing spaces are allowed.
// Returns false for anything else, including out-of-range fields
// (month 13, day 31 in April, hour 24, minute 60; second 60 is rejected).
bool ParseTimestamp(std::string_view text, ParsedTimestamp* out);

// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's algorithm).
std::int64_t DaysFromCivil(int year, unsigned month, unsigned day);

// A proleptic Gregorian calendar date.
struct CivilDate {
  int year = 1970;
  int month = 1;
  int day = 1;
};
// Inverse of DaysFromCivil (Hinnant's civil_from_days).
CivilDate CivilFromDays(std::int64_t days);
// Days in a month (1-12) of a proleptic Gregorian year.
int DaysInMonth(int year, int month);

// a / b rounded toward negative infinity (days and seconds before 1970).
inline std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// How a local wall time maps onto UTC in a zone.
enum class LocalTimeKind {
  kUnique,       // exactly one instant: earlier == later
  kAmbiguous,    // repeated hour: earlier (daylight) and later (standard)
  kNonexistent,  // skipped by a spring-forward gap
};

// For kNonexistent, earlier == later == the instant of the gap's transition.
struct LocalTimeResult {
  LocalTimeKind kind = LocalTimeKind::kUnique;
  TimeMs earlier = 0;  // the first instant with this wall time
  TimeMs later = 0;    // the second one (== earlier unless ambiguous)
};

// An IANA time zone (from the system tz database), with a per-thread cache
// of the current offset period so that converting millions of nearby wall
// times costs a comparison each. Cheap to copy (shared implementation).
class TimeZone {
 public:
  // "UTC" and "" give UTC. Throws wattrun::Error naming the zone if unknown.
  static TimeZone Load(const std::string& name);
  static TimeZone Utc();

  const std::string& name() const;
  bool is_utc() const;

  LocalTimeResult FromLocal(std::int64_t wall_ms) const;
  // Offset east of UTC at an instant, in ms (e.g. -6 h in MDT).
  std::int64_t OffsetAt(TimeMs utc) const;

  struct Impl;

 private:
  explicit TimeZone(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// How a source's timestamps are read (spec section 1).
struct TimestampPolicy {
  TimeZone zone = TimeZone::Utc();
  // BUTTER-E power files carry a `Z` that is wrong: their times are local.
  bool ignore_z = false;
};

enum class TimeParseStatus { kOk, kBadSyntax, kNonexistent, kAmbiguous };

// Parses text and maps it to UTC under the policy. An ambiguous local time
// returns kAmbiguous with *utc set to the earlier instant and *wall_ms set,
// so that callers who resolve by order (telemetry) can do so, and callers
// that take the earlier instant (sacct) can just accept it.
TimeParseStatus ParseInstant(std::string_view text, const TimestampPolicy& policy, TimeMs* utc,
                             std::int64_t* wall_ms = nullptr);

// "2021-03-04 05:06:07" (UTC, no suffix) or with ".123" when ms != 0.
std::string FormatUtc(TimeMs utc);
// ISO 8601 with Z: "2021-03-04T05:06:07Z".
std::string FormatUtcIso(TimeMs utc);
// Local wall time without offset: "2021-03-04 05:06:07" (and ".123" if needed).
std::string FormatWall(std::int64_t wall_ms);
// The local wall time of an instant in a zone (seconds resolution text).
std::string FormatLocal(TimeMs utc, const TimeZone& zone);

}  // namespace wattrun
