// The plan builder (stages/generate/plan_builder.h): a dirty facility's
// series dirt away from the BUTTER jobs.

#include "stages/generate/plan_builder.h"

#include <algorithm>

namespace wattrun::generate::plan_internal {

bool PlanBuilder::OverrideFree(int node, std::int64_t first, std::int64_t last) const {
  for (const auto& o : plan_.nodes[static_cast<std::size_t>(node)].series.overrides) {
    if (o.first_tick <= last && o.last_tick >= first) return false;
  }
  return true;
}

// Lost hours and 0 W glitches away from every BUTTER job.
void PlanBuilder::InjectSeriesDirt() {
  Rng rng(seed(), Stream::kTelemetryFaults, 1);
  const std::int64_t nodes = static_cast<std::int64_t>(plan_.nodes.size());
  const TimeMs pad = std::int64_t{10} * 60 * kMsPerSecond;
  auto clear_of_butter = [&](int node, TimeMs lo, TimeMs hi) {
    for (const auto& [s, e] : butter_windows_[static_cast<std::size_t>(node)]) {
      if (lo < e + pad && hi > s - pad) return false;
    }
    return !NearTransition(lo - pad, hi + pad);
  };
  auto inject = [&](std::int64_t want, bool zero, const char* name) {
    std::int64_t made = 0;
    for (int tries = 0; tries < 1000 && made < want; ++tries) {
      const int node = static_cast<int>(rng.Int(0, nodes - 1));
      const std::int64_t len = zero ? 1 : rng.Int(120, 720) * 60000 / plan_.step_ms;
      if (plan_.last_tick - plan_.first_tick < len + 20) break;
      const std::int64_t first = rng.Int(plan_.first_tick + 10, plan_.last_tick - len - 10);
      const std::int64_t last = first + len - 1;
      if (!clear_of_butter(node, first * plan_.step_ms, (last + 1) * plan_.step_ms)) continue;
      if (!OverrideFree(node, first - 2, last + 2)) continue;
      AddOverride(node, first, last, zero);
      plan_.notes[std::string(name) + "_ticks"] += len;
      ++made;
    }
    plan_.intended[name] = made;
  };
  inject(std::max<std::int64_t>(1, nodes / 800), false, "node_gap");
  inject(std::max<std::int64_t>(1, nodes / 400), true, "zero_glitch");
}

}  // namespace wattrun::generate::plan_internal
