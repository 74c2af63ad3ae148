#include "stages/standardize/standardize.h"

#include <algorithm>
#include <limits>

#include "core/quantile.h"

namespace wattrun::standardize {

double StandardizedEnergy(double energy_j, double run_time_s, double idle_reference_w, double idle_type_w) {
  return energy_j + (idle_reference_w - idle_type_w) * run_time_s;
}

std::vector<Overhead> ComputeOverheads(const std::vector<OverheadInput>& runs, const OverheadOptions& options) {
  std::vector<Overhead> out;
  for (bool gpu : {false, true}) {
    std::vector<double> energy, runtime;
    bool class_present = false;
    for (const auto& r : runs) {
      if (r.is_gpu != gpu) continue;
      class_present = true;
      if (!r.usable || r.dataset != options.dataset || r.size > options.max_size) continue;
      energy.push_back(r.std_energy_j);
      runtime.push_back(r.run_time_s);
    }
    if (!class_present) continue;
    std::sort(energy.begin(), energy.end());
    std::sort(runtime.begin(), runtime.end());
    Overhead o;
    o.is_gpu = gpu;
    o.runs = static_cast<std::int64_t>(energy.size());
    o.energy_overhead_j = QuantileSorted(energy, options.quantile);
    o.runtime_overhead_s = QuantileSorted(runtime, options.quantile);
    out.push_back(o);
  }
  return out;
}

}  // namespace wattrun::standardize
