// The plan builder (stages/generate/plan_builder.h): the window, the
// months, the clock changes and the bad day.

#include "stages/generate/plan_builder.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "core/error.h"
#include "core/time.h"
#include "stages/generate/text_format.h"

namespace wattrun::generate::plan_internal {
namespace {

constexpr TimeMs kGuardMs = 3 * kMsPerHour;  // around daylight-saving changes

void ParseDate(const std::string& text, int* y, int* m, int* d) {
  int year = 0, month = 0, day = 0;
  char dash1 = 0, dash2 = 0;
  bool ok = text.size() == 10 && std::sscanf(text.c_str(), "%4d%c%2d%c%2d", &year, &dash1, &month, &dash2, &day) == 5;
  ok = ok && dash1 == '-' && dash2 == '-' && month >= 1 && month <= 12 && day >= 1 && day <= DaysInMonth(year, month);
  if (!ok) throw Error("generator.start_date: expected YYYY-MM-DD, got '" + text + "'");
  *y = year;
  *m = month;
  *d = day;
}

// Days since the epoch of (year, month + add, day), the day clamped to the month.
std::int64_t AddMonths(int year, int month, int day, int add) {
  const int total = (year * 12 + (month - 1)) + add;
  const int y = total / 12;
  const int m = total % 12 + 1;
  return DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(std::min(day, DaysInMonth(y, m))));
}

ZoneOffsets ScanOffsets(const TimeZone& zone, TimeMs from, TimeMs to) {
  ZoneOffsets out;
  std::int64_t current = FromCoreTime(zone.OffsetAt(ToCoreTime(from)));
  out.offset_ms.push_back(current);
  for (TimeMs t = from + kMsPerHour; t <= to; t += kMsPerHour) {
    const std::int64_t offset = FromCoreTime(zone.OffsetAt(ToCoreTime(t)));
    if (offset == current) continue;
    TimeMs lo = t - kMsPerHour;
    TimeMs hi = t;
    while (hi - lo > 1) {
      const TimeMs mid = lo + (hi - lo) / 2;
      (FromCoreTime(zone.OffsetAt(ToCoreTime(mid))) == current ? lo : hi) = mid;
    }
    out.change_at.push_back(hi);
    out.offset_ms.push_back(offset);
    current = offset;
  }
  return out;
}

}  // namespace

bool PlanBuilder::SchedulerTimeOk(TimeMs t) const {
  // A local time read back as a different instant (the second pass of a
  // repeated hour reads as the first) would move a job: avoid such times.
  const std::int64_t wall = t + plan_.scheduler_offsets.At(t);
  const LocalTimeResult r = plan_.scheduler_zone.FromLocal(ToCoreTime(wall));
  return r.kind != LocalTimeKind::kNonexistent && r.earlier == ToCoreTime(t);
}

bool PlanBuilder::NearTransition(TimeMs from, TimeMs to) const {
  for (const auto& [lo, hi] : plan_.guards) {
    if (from < hi && to > lo) return true;
  }
  return false;
}

void PlanBuilder::SetUpTime() {
  plan_.telemetry_zone = TimeZone::Load(facility().telemetry.timezone);
  plan_.scheduler_zone = TimeZone::Load(facility().scheduler.timezone);
  plan_.telemetry_z_suffix = facility().telemetry.ignore_z || plan_.telemetry_zone.is_utc();
  int y = 0, m = 0, d = 0;
  ParseDate(plan_.config.generator.start_date, &y, &m, &d);
  const std::int64_t start_day = DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  const std::int64_t end_day = AddMonths(y, m, d, plan_.options.months);
  const TimeZone& tz = plan_.telemetry_zone;
  plan_.window_start = FromCoreTime(tz.FromLocal(ToCoreTime(start_day * kMsPerDay)).earlier);
  plan_.window_end = FromCoreTime(tz.FromLocal(ToCoreTime(end_day * kMsPerDay)).earlier);
  plan_.snapshot_ms = plan_.window_end - std::int64_t{2} * 60 * kMsPerSecond;
  plan_.first_tick = CeilTick(plan_.window_start);
  plan_.last_tick = CeilTick(plan_.window_end) - 1;
  // Months of the telemetry's local calendar.
  for (int k = 0;; ++k) {
    const std::int64_t lo_day = k == 0 ? start_day : AddMonths(y, m, 1, k);
    if (lo_day >= end_day) break;
    const std::int64_t hi_day = std::min(end_day, AddMonths(y, m, 1, k + 1));
    MonthSpan span;
    span.label = MonthLabel(lo_day);
    span.first_tick = CeilTick(FromCoreTime(tz.FromLocal(ToCoreTime(lo_day * kMsPerDay)).earlier));
    span.last_tick = CeilTick(FromCoreTime(tz.FromLocal(ToCoreTime(hi_day * kMsPerDay)).earlier)) - 1;
    plan_.months.push_back(span);
  }
  const TimeMs scan_from = plan_.window_start - 2 * kMsPerDay;
  const TimeMs scan_to = plan_.window_end + 2 * kMsPerDay;
  plan_.telemetry_offsets = ScanOffsets(plan_.telemetry_zone, scan_from, scan_to);
  plan_.scheduler_offsets = ScanOffsets(plan_.scheduler_zone, scan_from, scan_to);
  std::set<TimeMs> transitions;
  for (const ZoneOffsets* z : {&plan_.telemetry_offsets, &plan_.scheduler_offsets}) {
    for (const TimeMs t : z->change_at) {
      if (t >= plan_.window_start && t < plan_.window_end) transitions.insert(t);
    }
  }
  for (const TimeMs t : transitions) {
    plan_.transitions.push_back(t);
    plan_.guards.emplace_back(t - kGuardMs, t + kGuardMs);
  }
  // The bad day of the long runs: 40 % into the window, a day without a
  // clock change (scheduler's local calendar).
  const TimeMs probe = plan_.window_start + (plan_.window_end - plan_.window_start) * 2 / 5;
  std::int64_t day = FloorDivTicks(probe + plan_.scheduler_offsets.At(probe), kMsPerDay);
  for (int tries = 0; tries < 5; ++tries, ++day) {
    plan_.bad_day_start = FromCoreTime(plan_.scheduler_zone.FromLocal(ToCoreTime(day * kMsPerDay)).earlier);
    plan_.bad_day_end = FromCoreTime(plan_.scheduler_zone.FromLocal(ToCoreTime((day + 1) * kMsPerDay)).earlier);
    if (!NearTransition(plan_.bad_day_start, plan_.bad_day_end)) break;
  }
  if (plan_.bad_day_end > plan_.window_end - 2 * kMsPerHour) {
    plan_.bad_day_start = plan_.window_start;
    plan_.bad_day_end = std::min(plan_.window_end, plan_.window_start + kMsPerDay);
  }
}

}  // namespace wattrun::generate::plan_internal
