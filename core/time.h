// Timestamps: parsing the formats of the spec, time zones, and formatting.
//
// All instants inside wattrun are int64 microseconds since the Unix epoch,
// UTC (`TimeUs`; enough for ±292,000 years). Local wall-clock times are int64
// microseconds since the epoch of the local calendar ("local microseconds",
// no zone applied). The unit is said here once: code converts with the
// constants and helpers below, never with a literal 1000 or 1e6.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace wattrun {

using TimeUs = std::int64_t;
inline constexpr TimeUs kMicrosPerMilli = 1000;
inline constexpr TimeUs kMicrosPerSecond = 1000 * kMicrosPerMilli;
inline constexpr TimeUs kMicrosPerMinute = 60 * kMicrosPerSecond;
inline constexpr TimeUs kMicrosPerHour = 60 * kMicrosPerMinute;
inline constexpr TimeUs kMicrosPerDay = 24 * kMicrosPerHour;

// A duration in seconds: one correctly rounded division of the exact integer
// (|d| < 2^53 µs, 285 years), so a whole-millisecond duration gives exactly
// the double that ms / 1e3 gave.
inline double ToSeconds(TimeUs d) { return static_cast<double>(d) / static_cast<double>(kMicrosPerSecond); }
// A duration in milliseconds as a double (exact for whole milliseconds), for
// sums kept in W·ms whose rounding must not change with the unit.
inline double ToMillis(TimeUs d) { return static_cast<double>(d) / static_cast<double>(kMicrosPerMilli); }
// Whole seconds (epoch seconds, offsets) as an instant or a duration.
inline constexpr TimeUs FromSeconds(std::int64_t s) { return s * kMicrosPerSecond; }

// What the text of a timestamp says, before any zone is applied.
struct ParsedTimestamp {
  std::int64_t wall_us = 0;  // the written date and time as local µs
  bool has_offset = false;   // an explicit `Z` or `+HH:MM`/`+HHMM`
  bool is_z = false;         // the offset was written as `Z`
  int offset_minutes = 0;    // east of UTC, valid if has_offset
};

// Parses `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DDTHH:MM:SS`, an optional fraction
// (1 to 9 digits, kept to the microsecond: digits 7-9 are truncated, i.e.
// the instant is rounded down; 10 or more digits are bad syntax), then
// optionally `Z`,
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
  TimeUs earlier = 0;  // the first instant with this wall time
  TimeUs later = 0;    // the second one (== earlier unless ambiguous)
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

  LocalTimeResult FromLocal(std::int64_t wall_us) const;
  // Offset east of UTC at an instant, in µs (e.g. -6 h in MDT).
  std::int64_t OffsetAt(TimeUs utc) const;

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
// returns kAmbiguous with *utc set to the earlier instant and *wall_us set,
// so that callers who resolve by order (telemetry) can do so, and callers
// that take the earlier instant (sacct) can just accept it.
TimeParseStatus ParseInstant(std::string_view text, const TimestampPolicy& policy, TimeUs* utc,
                             std::int64_t* wall_us = nullptr);

// "2021-03-04 05:06:07" (UTC, no suffix); a fraction only when it is not
// zero: ".123" for whole milliseconds, else ".123456" (so times read with
// whole seconds or milliseconds print as they always did).
std::string FormatUtc(TimeUs utc);
// ISO 8601 with Z: "2021-03-04T05:06:07Z" (fraction as in FormatUtc).
std::string FormatUtcIso(TimeUs utc);
// Local wall time without offset: "2021-03-04 05:06:07" (fraction as in
// FormatUtc).
std::string FormatWall(std::int64_t wall_us);
// The local wall time of an instant in a zone (seconds resolution text).
std::string FormatLocal(TimeUs utc, const TimeZone& zone);

}  // namespace wattrun
