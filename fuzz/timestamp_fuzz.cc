// Fuzzes the timestamp parser (ParseTimestamp) and its mapping to UTC
// (ParseInstant) in UTC and America/Denver, with and without ignore_z.
// Checks what the parser promises: a parsed time formats back to text that
// parses to the same wall time; an instant from a local time maps back to
// that local time (both instants of a repeated hour); only a time without an
// offset can be ambiguous or nonexistent.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/time.h"
#include "fuzz/fuzz_support.h"

namespace {

using wattrun::fuzz::AsText;

void CheckInstant(std::string_view text, const wattrun::ParsedTimestamp& parsed,
                  const wattrun::TimestampPolicy& policy) {
  wattrun::TimeUs utc = 0;
  std::int64_t wall_us = -1;
  const wattrun::TimeParseStatus status = wattrun::ParseInstant(text, policy, &utc, &wall_us);
  WATTRUN_FUZZ_CHECK(status != wattrun::TimeParseStatus::kBadSyntax);
  WATTRUN_FUZZ_CHECK(wall_us == parsed.wall_us);
  const bool local = !parsed.has_offset || (parsed.is_z && policy.ignore_z);
  if (!local) {
    WATTRUN_FUZZ_CHECK(status == wattrun::TimeParseStatus::kOk);
    WATTRUN_FUZZ_CHECK(utc == parsed.wall_us - std::int64_t{parsed.offset_minutes} * wattrun::kMicrosPerMinute);
    return;
  }
  const wattrun::TimeZone& zone = policy.zone;
  if (zone.is_utc()) WATTRUN_FUZZ_CHECK(status == wattrun::TimeParseStatus::kOk && utc == wall_us);
  const wattrun::LocalTimeResult result = zone.FromLocal(wall_us);
  WATTRUN_FUZZ_CHECK(result.earlier == utc);
  switch (status) {
    case wattrun::TimeParseStatus::kOk:
      WATTRUN_FUZZ_CHECK(result.kind == wattrun::LocalTimeKind::kUnique);
      WATTRUN_FUZZ_CHECK(utc + zone.OffsetAt(utc) == wall_us);
      break;
    case wattrun::TimeParseStatus::kAmbiguous:
      WATTRUN_FUZZ_CHECK(result.kind == wattrun::LocalTimeKind::kAmbiguous);
      WATTRUN_FUZZ_CHECK(result.earlier < result.later);
      WATTRUN_FUZZ_CHECK(result.earlier + zone.OffsetAt(result.earlier) == wall_us);
      WATTRUN_FUZZ_CHECK(result.later + zone.OffsetAt(result.later) == wall_us);
      break;
    case wattrun::TimeParseStatus::kNonexistent:
      WATTRUN_FUZZ_CHECK(result.kind == wattrun::LocalTimeKind::kNonexistent);
      // The wall time lies in the gap that opens at the transition instant.
      WATTRUN_FUZZ_CHECK(wall_us >= result.earlier + zone.OffsetAt(result.earlier - 1));
      WATTRUN_FUZZ_CHECK(wall_us < result.earlier + zone.OffsetAt(result.earlier));
      break;
    case wattrun::TimeParseStatus::kBadSyntax:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const wattrun::TimeZone denver = wattrun::TimeZone::Load("America/Denver");
  static const wattrun::TimestampPolicy kPolicies[] = {
      {wattrun::TimeZone::Utc(), false},
      {denver, false},
      {denver, true},
  };
  const std::string_view text = AsText(data, size);
  wattrun::ParsedTimestamp parsed;
  if (!wattrun::ParseTimestamp(text, &parsed)) {
    for (const auto& policy : kPolicies) {
      wattrun::TimeUs utc = 0;
      WATTRUN_FUZZ_CHECK(wattrun::ParseInstant(text, policy, &utc) == wattrun::TimeParseStatus::kBadSyntax);
    }
    return 0;
  }
  WATTRUN_FUZZ_CHECK(!parsed.is_z || (parsed.has_offset && parsed.offset_minutes == 0));
  WATTRUN_FUZZ_CHECK(parsed.offset_minutes > -24 * 60 && parsed.offset_minutes < 24 * 60);

  // The wall time formats to text that reads back as the same wall time.
  const std::string formatted = wattrun::FormatWall(parsed.wall_us);
  wattrun::ParsedTimestamp again;
  WATTRUN_FUZZ_CHECK(wattrun::ParseTimestamp(formatted, &again));
  WATTRUN_FUZZ_CHECK(again.wall_us == parsed.wall_us && !again.has_offset);

  for (const auto& policy : kPolicies) CheckInstant(text, parsed, policy);
  return 0;
}
