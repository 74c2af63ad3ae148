#include "core/time.h"

#include <date/tz.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "core/error.h"

namespace wattrun {

namespace {

constexpr std::int64_t kMinTime = std::numeric_limits<std::int64_t>::min();
constexpr std::size_t kMaxFractionDigits = 9;
constexpr std::size_t kKeptFractionDigits = 6;  // microseconds

inline bool IsDigit(char c) { return static_cast<unsigned char>(c - '0') <= 9; }

inline bool ReadDigits(const char* p, int count, int* value) {
  int v = 0;
  for (int i = 0; i < count; ++i) {
    if (!IsDigit(p[i])) return false;
    v = v * 10 + (p[i] - '0');
  }
  *value = v;
  return true;
}

inline bool IsLeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

void AppendPadded(std::string* out, std::int64_t value, int width) {
  char buffer[24];
  int n = 0;
  std::uint64_t v = value < 0 ? static_cast<std::uint64_t>(-(value + 1)) + 1 : static_cast<std::uint64_t>(value);
  do {
    buffer[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  if (value < 0) out->push_back('-');
  for (int i = n; i < width; ++i) out->push_back('0');
  while (n > 0) out->push_back(buffer[--n]);
}

// "YYYY-MM-DD<sep>HH:MM:SS[.mmm|.uuuuuu]" of local microseconds.
std::string FormatMicros(std::int64_t us, char separator, bool with_fraction) {
  const std::int64_t days = FloorDiv(us, kMicrosPerDay);
  std::int64_t rest = us - days * kMicrosPerDay;
  const CivilDate date = CivilFromDays(days);
  const std::int64_t micros = rest % kMicrosPerSecond;
  rest /= kMicrosPerSecond;
  std::string out;
  out.reserve(27);
  AppendPadded(&out, date.year, 4);
  out.push_back('-');
  AppendPadded(&out, date.month, 2);
  out.push_back('-');
  AppendPadded(&out, date.day, 2);
  out.push_back(separator);
  AppendPadded(&out, rest / 3600, 2);
  out.push_back(':');
  AppendPadded(&out, rest / 60 % 60, 2);
  out.push_back(':');
  AppendPadded(&out, rest % 60, 2);
  if (with_fraction && micros != 0) {
    out.push_back('.');
    if (micros % kMicrosPerMilli == 0) {
      AppendPadded(&out, micros / kMicrosPerMilli, 3);
    } else {
      AppendPadded(&out, micros, kKeptFractionDigits);
    }
  }
  return out;
}

std::uint64_t NextZoneId() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

int DaysInMonth(int year, int month) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

CivilDate CivilFromDays(std::int64_t days) {
  days += 719468;
  const std::int64_t era = FloorDiv(days, 146097);
  const std::int64_t doe = days - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return {static_cast<int>(year), static_cast<int>(month), static_cast<int>(day)};
}

std::int64_t DaysFromCivil(int year, unsigned month, unsigned day) {
  const std::int64_t m = month;
  const std::int64_t y = static_cast<std::int64_t>(year) - (m <= 2 ? 1 : 0);
  const std::int64_t era = FloorDiv(y, 400);
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + day - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool ParseTimestamp(std::string_view text, ParsedTimestamp* out) {
  const char* p = text.data();
  std::size_t n = text.size();
  while (n > 0 && (*p == ' ' || *p == '\t')) {
    ++p;
    --n;
  }
  while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) --n;
  if (n < 19) return false;
  int year, month, day, hour, minute, second;
  if (!ReadDigits(p, 4, &year) || p[4] != '-' || !ReadDigits(p + 5, 2, &month) || p[7] != '-' ||
      !ReadDigits(p + 8, 2, &day) || (p[10] != ' ' && p[10] != 'T') || !ReadDigits(p + 11, 2, &hour) || p[13] != ':' ||
      !ReadDigits(p + 14, 2, &minute) || p[16] != ':' || !ReadDigits(p + 17, 2, &second)) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) {
    return false;
  }
  std::size_t i = 19;
  int micros = 0;
  if (i < n && p[i] == '.') {
    ++i;
    const std::size_t first = i;
    while (i < n && IsDigit(p[i])) {
      if (i - first < kKeptFractionDigits) micros = micros * 10 + (p[i] - '0');
      ++i;
    }
    if (i == first || i - first > kMaxFractionDigits) return false;
    for (std::size_t k = i - first; k < kKeptFractionDigits; ++k) micros *= 10;
  }
  ParsedTimestamp result;
  if (i < n) {
    if (p[i] == 'Z') {
      result.has_offset = true;
      result.is_z = true;
      ++i;
    } else if (p[i] == '+' || p[i] == '-') {
      const int sign = p[i] == '-' ? -1 : 1;
      ++i;
      int off_h = 0, off_m = 0;
      if (i + 2 > n || !ReadDigits(p + i, 2, &off_h)) return false;
      i += 2;
      if (i < n) {
        if (p[i] == ':') ++i;
        if (i + 2 > n || !ReadDigits(p + i, 2, &off_m)) return false;
        i += 2;
      }
      if (off_h > 23 || off_m > 59) return false;
      result.has_offset = true;
      result.offset_minutes = sign * (off_h * 60 + off_m);
    }
    if (i != n) return false;
  }
  const std::int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  result.wall_us = days * kMicrosPerDay +
                   FromSeconds(static_cast<std::int64_t>(hour) * 3600 + std::int64_t{minute} * 60 + second) + micros;
  *out = result;
  return true;
}

// The whole offset history of a zone, precomputed once, as two sorted
// tables: UTC periods of constant offset (for OffsetAt) and local-time
// segments that are unique, skipped or repeated (for FromLocal).
struct TimeZone::Impl {
  // A stretch of local time with one way of mapping to UTC.
  struct LocalSegment {
    LocalTimeKind kind = LocalTimeKind::kUnique;
    std::int64_t earlier_offset_us = 0;  // offset giving the earlier instant
    std::int64_t later_offset_us = 0;    // offset giving the later instant
    TimeUs transition = 0;               // the instant of a gap (kNonexistent)
  };

  std::string name;
  bool utc = false;
  std::uint64_t id = 0;
  std::vector<TimeUs> period_begin;  // UTC begin of each period, ascending
  std::vector<std::int64_t> period_offset_us;
  std::vector<std::int64_t> segment_begin;  // local begin of each segment
  std::vector<LocalSegment> segments;

  void AddSegment(std::int64_t begin, const LocalSegment& segment) {
    if (!segment_begin.empty() && begin <= segment_begin.back()) {
      // A degenerate (empty) previous segment: the new one replaces it.
      segment_begin.back() = std::max(begin, segment_begin.back());
      segments.back() = segment;
      return;
    }
    segment_begin.push_back(begin);
    segments.push_back(segment);
  }

  void BuildSegments() {
    LocalSegment unique;
    unique.earlier_offset_us = unique.later_offset_us = period_offset_us.front();
    std::int64_t start = kMinTime;
    for (std::size_t i = 1; i < period_begin.size(); ++i) {
      const std::int64_t before = period_offset_us[i - 1];
      const std::int64_t after = period_offset_us[i];
      if (before == after) continue;
      const TimeUs t = period_begin[i];
      const std::int64_t old_end = t + before;   // local end of the old offset
      const std::int64_t new_start = t + after;  // local start of the new one
      unique.earlier_offset_us = unique.later_offset_us = before;
      AddSegment(start, unique);
      LocalSegment change;
      change.earlier_offset_us = before;
      change.later_offset_us = after;
      change.transition = t;
      if (new_start > old_end) {
        change.kind = LocalTimeKind::kNonexistent;
        AddSegment(old_end, change);
        start = new_start;
      } else {
        change.kind = LocalTimeKind::kAmbiguous;
        AddSegment(std::max(new_start, start), change);
        start = old_end;
      }
    }
    unique.earlier_offset_us = unique.later_offset_us = period_offset_us.back();
    AddSegment(start, unique);
  }
};

namespace {

using ImplPtr = std::shared_ptr<const TimeZone::Impl>;

ImplPtr MakeUtcImpl() {
  auto impl = std::make_shared<TimeZone::Impl>();
  impl->name = "UTC";
  impl->utc = true;
  impl->id = NextZoneId();
  impl->period_begin = {kMinTime};
  impl->period_offset_us = {0};
  impl->BuildSegments();
  return impl;
}

ImplPtr MakeZoneImpl(const std::string& name) {
  const date::time_zone* zone = nullptr;
  try {
    zone = date::locate_zone(name);
  } catch (const std::exception& e) {
    throw Error("unknown time zone '" + name + "': " + e.what());
  }
  auto impl = std::make_shared<TimeZone::Impl>();
  impl->name = name;
  impl->id = NextZoneId();
  using Seconds = std::chrono::seconds;
  // Well inside the tz database's range (years -32767 to 32767).
  const Seconds far{std::int64_t{1} << 39};
  date::sys_info info = zone->get_info(date::sys_seconds{-far});
  impl->period_begin.push_back(kMinTime);
  impl->period_offset_us.push_back(info.offset.count() * kMicrosPerSecond);
  const date::sys_seconds horizon{far};
  while (info.end < horizon) {
    const date::sys_seconds t = info.end;
    info = zone->get_info(t);
    impl->period_begin.push_back(t.time_since_epoch().count() * kMicrosPerSecond);
    impl->period_offset_us.push_back(info.offset.count() * kMicrosPerSecond);
  }
  impl->BuildSegments();
  return impl;
}

// Per-thread memo of the last segment (or period) found for each of a few
// zones, keyed by the zone's unique id.
struct SegmentMemo {
  std::uint64_t id = 0;
  std::int64_t begin = 0;
  std::int64_t end = 0;
  std::size_t index = 0;
};
constexpr std::size_t kMemoSlots = 4;
thread_local SegmentMemo local_memo[kMemoSlots];
thread_local SegmentMemo utc_memo[kMemoSlots];

std::size_t FindIndex(const std::vector<std::int64_t>& begins, std::int64_t value, std::uint64_t id,
                      SegmentMemo* memos) {
  SegmentMemo& memo = memos[id % kMemoSlots];
  if (memo.id == id && value >= memo.begin && value < memo.end) return memo.index;
  const auto it = std::upper_bound(begins.begin(), begins.end(), value);
  const std::size_t index = static_cast<std::size_t>(it - begins.begin()) - 1;
  memo.id = id;
  memo.begin = begins[index];
  memo.end = index + 1 < begins.size() ? begins[index + 1] : std::numeric_limits<std::int64_t>::max();
  memo.index = index;
  return index;
}

}  // namespace

TimeZone TimeZone::Utc() {
  static const ImplPtr utc = MakeUtcImpl();
  return TimeZone(utc);
}

TimeZone TimeZone::Load(const std::string& name) {
  if (name.empty() || name == "UTC") return Utc();
  static std::mutex mutex;
  static std::map<std::string, ImplPtr> loaded;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = loaded.find(name);
  if (it == loaded.end()) it = loaded.emplace(name, MakeZoneImpl(name)).first;
  return TimeZone(it->second);
}

const std::string& TimeZone::name() const { return impl_->name; }

bool TimeZone::is_utc() const { return impl_->utc; }

LocalTimeResult TimeZone::FromLocal(std::int64_t wall_us) const {
  LocalTimeResult result;
  if (impl_->utc) {
    result.earlier = result.later = wall_us;
    return result;
  }
  const std::size_t index = FindIndex(impl_->segment_begin, wall_us, impl_->id, local_memo);
  const Impl::LocalSegment& segment = impl_->segments[index];
  result.kind = segment.kind;
  if (segment.kind == LocalTimeKind::kNonexistent) {
    result.earlier = result.later = segment.transition;
  } else {
    result.earlier = wall_us - segment.earlier_offset_us;
    result.later = wall_us - segment.later_offset_us;
  }
  return result;
}

std::int64_t TimeZone::OffsetAt(TimeUs utc) const {
  if (impl_->utc) return 0;
  const std::size_t index = FindIndex(impl_->period_begin, utc, impl_->id, utc_memo);
  return impl_->period_offset_us[index];
}

TimeParseStatus ParseInstant(std::string_view text, const TimestampPolicy& policy, TimeUs* utc, std::int64_t* wall_us) {
  ParsedTimestamp parsed;
  if (!ParseTimestamp(text, &parsed)) return TimeParseStatus::kBadSyntax;
  if (wall_us != nullptr) *wall_us = parsed.wall_us;
  if (parsed.has_offset && !(parsed.is_z && policy.ignore_z)) {
    *utc = parsed.wall_us - static_cast<std::int64_t>(parsed.offset_minutes) * kMicrosPerMinute;
    return TimeParseStatus::kOk;
  }
  const LocalTimeResult local = policy.zone.FromLocal(parsed.wall_us);
  *utc = local.earlier;
  switch (local.kind) {
    case LocalTimeKind::kUnique:
      return TimeParseStatus::kOk;
    case LocalTimeKind::kAmbiguous:
      return TimeParseStatus::kAmbiguous;
    case LocalTimeKind::kNonexistent:
      return TimeParseStatus::kNonexistent;
  }
  return TimeParseStatus::kBadSyntax;
}

std::string FormatUtc(TimeUs utc) { return FormatMicros(utc, ' ', true); }

std::string FormatUtcIso(TimeUs utc) { return FormatMicros(utc, 'T', true) + "Z"; }

std::string FormatWall(std::int64_t wall_us) { return FormatMicros(wall_us, ' ', true); }

std::string FormatLocal(TimeUs utc, const TimeZone& zone) { return FormatMicros(utc + zone.OffsetAt(utc), ' ', false); }

}  // namespace wattrun
