// The synthetic power series of one node: what the node reads at each
// sampling tick. One function, Reading(), decides every value; the
// telemetry writer calls it tick by tick, the truth calls it to integrate
// runs, so the truth is by construction the series that was written.
//
// A node is idle (its type's idle watts plus a small non-negative noise),
// busy in a segment (a run or another user's job: a level plus Gaussian
// noise, never below idle), or overridden (no reading: a lost minute; or a 0 W reading).
// Noise is a hash of (node key, tick): no state, any tick on its own.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "stages/generate/rng.h"

namespace wattrun::generate {

// Readings at or above this go to the last histogram bin.
inline constexpr int kHistogramBins = 4096;

struct BusySegment {
  std::int64_t first_tick = 0;  // inclusive
  std::int64_t last_tick = 0;   // inclusive
  double level_w = 0.0;
  double noise_w = 0.0;
};

struct ReadingOverride {
  std::int64_t first_tick = 0;
  std::int64_t last_tick = 0;
  bool zero = false;  // true: reads 0 W; false: no reading at all
};

struct NodeSeries {
  int idle_w = 0;
  std::uint64_t key = 0;
  std::vector<BusySegment> busy;           // sorted, disjoint
  std::vector<ReadingOverride> overrides;  // sorted, disjoint
};

// Lookup tables for the noise: idle excess (floor of an exponential with
// mean 3 W, so about 28 % of idle readings are exactly the idle power) and
// standard normal quantiles.
struct NoiseTables {
  static constexpr int kIdleBits = 10;
  static constexpr int kNormalBits = 12;
  int idle[1 << kIdleBits];
  double normal[1 << kNormalBits];
  static const NoiseTables& Get();
};

inline std::uint64_t TickHash(std::uint64_t key, std::int64_t tick) {
  return SplitMix64(key + static_cast<std::uint64_t>(tick) * 0xD6E8FEB86659FD93ULL);
}

// Sequential-access hint into a node's segment lists.
struct SeriesCursor {
  std::size_t busy = 0;
  std::size_t over = 0;
};

inline std::int64_t FloorDivTicks(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}
inline std::int64_t CeilDivTicks(std::int64_t a, std::int64_t b) { return -FloorDivTicks(-a, b); }

// The segment covering tick, or nullptr; *hint makes sequential access O(1).
template <typename Segment>
inline const Segment* FindSegment(const std::vector<Segment>& segments, std::int64_t tick, std::size_t* hint) {
  std::size_t i = std::min(*hint, segments.size());
  if (i > 0 && segments[i - 1].last_tick >= tick) {  // moved backwards
    i = static_cast<std::size_t>(std::partition_point(segments.begin(),
                                                      segments.begin() + static_cast<std::ptrdiff_t>(i),
                                                      [tick](const Segment& s) { return s.last_tick < tick; }) -
                                 segments.begin());
  } else if (i + 8 < segments.size() && segments[i + 8].last_tick < tick) {  // far ahead
    i = static_cast<std::size_t>(std::partition_point(segments.begin() + static_cast<std::ptrdiff_t>(i), segments.end(),
                                                      [tick](const Segment& s) { return s.last_tick < tick; }) -
                                 segments.begin());
  }
  while (i < segments.size() && segments[i].last_tick < tick) ++i;
  *hint = i;
  if (i < segments.size() && segments[i].first_tick <= tick) return &segments[i];
  return nullptr;
}

// The busy-or-idle value before rounding; no overrides.
inline double ContinuousReading(const NodeSeries& node, std::int64_t tick, SeriesCursor* cursor) {
  const NoiseTables& tables = NoiseTables::Get();
  const std::uint64_t h = TickHash(node.key, tick);
  if (const BusySegment* s = FindSegment(node.busy, tick, &cursor->busy)) {
    return s->level_w +
           s->noise_w * tables.normal[(h >> NoiseTables::kIdleBits) & ((1u << NoiseTables::kNormalBits) - 1)];
  }
  return node.idle_w + tables.idle[h & ((1u << NoiseTables::kIdleBits) - 1)];
}

// The integer watts a node reads at `tick`, or -1 for no reading.
inline int Reading(const NodeSeries& node, std::int64_t tick, SeriesCursor* cursor) {
  if (const ReadingOverride* o = FindSegment(node.overrides, tick, &cursor->over)) {
    return o->zero ? 0 : -1;
  }
  const NoiseTables& tables = NoiseTables::Get();
  const std::uint64_t h = TickHash(node.key, tick);
  if (const BusySegment* s = FindSegment(node.busy, tick, &cursor->busy)) {
    const double v =
        s->level_w + s->noise_w * tables.normal[(h >> NoiseTables::kIdleBits) & ((1u << NoiseTables::kNormalBits) - 1)];
    const long r = std::lround(v);
    return r < node.idle_w ? std::max(node.idle_w, 1) : static_cast<int>(r);  // never below idle, never 0 W
  }
  return node.idle_w + tables.idle[h & ((1u << NoiseTables::kIdleBits) - 1)];
}

// Nearest tick <= tick that has a reading (>= lo), or lo - 1.
std::int64_t PrevReadingTick(const NodeSeries& node, std::int64_t tick, std::int64_t lo);
// Nearest tick >= tick that has a reading (<= hi), or hi + 1.
std::int64_t NextReadingTick(const NodeSeries& node, std::int64_t tick, std::int64_t hi);

// A run window integrated as spec step 3 (linear interpolation, nearest
// value held at an end with no sample beyond it).
struct WindowIntegral {
  std::int64_t samples = 0;  // readings with s <= t <= u
  bool any_zero = false;
  bool has_energy = false;  // false when samples == 0
  double energy_j = 0.0;
};

// Ticks are multiples of step_ms; the series exists on [lo_tick, hi_tick].
// `value(tick)` returns the reading (>= 0) of a tick that has one;
// `next(tick)`/`prev(tick)` find ticks with readings as the functions above.
template <typename Value, typename Next, typename Prev>
WindowIntegral IntegrateLinear(std::int64_t s_ms, std::int64_t u_ms, std::int64_t step_ms, std::int64_t lo_tick,
                               std::int64_t hi_tick, Value value, Next next, Prev prev) {
  WindowIntegral out;
  const std::int64_t first = std::max(lo_tick, CeilDivTicks(s_ms, step_ms));
  const std::int64_t last_bound = std::min(hi_tick, FloorDivTicks(u_ms, step_ms));
  std::int64_t t = next(first);
  if (t > last_bound) return out;
  const double s = static_cast<double>(s_ms) / 1000.0;
  const double u = static_cast<double>(u_ms) / 1000.0;
  const double step = static_cast<double>(step_ms) / 1000.0;
  auto seconds = [&](std::int64_t tick) { return static_cast<double>(tick) * step; };

  double w = value(t);
  // Left end.
  const std::int64_t before = prev(t - 1);
  double w_s = w;
  if (before >= lo_tick) {
    const double wb = value(before);
    const double tb = seconds(before);
    w_s = wb + (w - wb) * (s - tb) / (seconds(t) - tb);
  }
  double energy = 0.5 * (w_s + w) * (seconds(t) - s);
  out.samples = 1;
  out.any_zero = (w == 0.0);
  for (;;) {
    const std::int64_t t_next = next(t + 1);
    if (t_next > last_bound) break;
    const double w_next = value(t_next);
    energy += 0.5 * (w + w_next) * (seconds(t_next) - seconds(t));
    out.samples += 1;
    out.any_zero = out.any_zero || (w_next == 0.0);
    t = t_next;
    w = w_next;
  }
  // Right end.
  const std::int64_t after = next(t + 1);
  double w_u = w;
  if (after <= hi_tick) {
    const double wa = value(after);
    const double ta = seconds(after);
    w_u = w + (wa - w) * (u - seconds(t)) / (ta - seconds(t));
  }
  energy += 0.5 * (w + w_u) * (u - seconds(t));
  out.energy_j = energy;
  out.has_energy = true;
  return out;
}

// Integral of the series as written (overrides applied).
WindowIntegral IntegrateSeries(const NodeSeries& node, std::int64_t s_ms, std::int64_t u_ms, std::int64_t step_ms,
                               std::int64_t lo_tick, std::int64_t hi_tick);

}  // namespace wattrun::generate
