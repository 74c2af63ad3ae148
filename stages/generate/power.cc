#include "stages/generate/power.h"

#include <cmath>

namespace wattrun::generate {
namespace {

// Acklam's rational approximation of the standard normal quantile
// (relative error below 1.2e-9, plenty for noise).
double NormalQuantile(double p) {
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,  -2.759285104469687e+02,
                                 1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                 6.680131188771972e+01, -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                 -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                 3.754408661907416e+00};
  constexpr double kLow = 0.02425;
  if (p < kLow) {
    const double q = std::sqrt(-2 * std::log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - kLow) {
    const double q = std::sqrt(-2 * std::log(1 - p));
    return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const double q = p - 0.5;
  const double r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

NoiseTables MakeTables() {
  NoiseTables t{};
  constexpr int kIdle = 1 << NoiseTables::kIdleBits;
  constexpr double kIdleMeanW = 3.0;
  for (int i = 0; i < kIdle; ++i) {
    const double p = (i + 0.5) / kIdle;
    t.idle[i] = static_cast<int>(std::floor(-kIdleMeanW * std::log(1.0 - p)));
  }
  constexpr int kNormal = 1 << NoiseTables::kNormalBits;
  for (int i = 0; i < kNormal; ++i) t.normal[i] = NormalQuantile((i + 0.5) / kNormal);
  return t;
}

}  // namespace

const NoiseTables& NoiseTables::Get() {
  static const NoiseTables tables = MakeTables();
  return tables;
}

std::int64_t PrevReadingTick(const NodeSeries& node, std::int64_t tick, std::int64_t lo) {
  // Skip lost ticks, which come in override intervals.
  std::size_t hint = node.overrides.size();
  while (tick >= lo) {
    const ReadingOverride* o = FindSegment(node.overrides, tick, &hint);
    if (o == nullptr || o->zero) return tick;
    tick = o->first_tick - 1;
  }
  return lo - 1;
}

std::int64_t NextReadingTick(const NodeSeries& node, std::int64_t tick, std::int64_t hi) {
  std::size_t hint = 0;
  while (tick <= hi) {
    const ReadingOverride* o = FindSegment(node.overrides, tick, &hint);
    if (o == nullptr || o->zero) return tick;
    tick = o->last_tick + 1;
  }
  return hi + 1;
}

WindowIntegral IntegrateSeries(const NodeSeries& node, std::int64_t s_ms, std::int64_t u_ms, std::int64_t step_ms,
                               std::int64_t lo_tick, std::int64_t hi_tick) {
  SeriesCursor cursor;
  return IntegrateLinear(
      s_ms, u_ms, step_ms, lo_tick, hi_tick,
      [&](std::int64_t t) { return static_cast<double>(Reading(node, t, &cursor)); },
      [&](std::int64_t t) { return NextReadingTick(node, t, hi_tick); },
      [&](std::int64_t t) { return PrevReadingTick(node, t, lo_tick); });
}

}  // namespace wattrun::generate
