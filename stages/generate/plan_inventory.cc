// The plan builder (stages/generate/plan_builder.h): nodes and hardware classes.

#include "stages/generate/plan_builder.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "stages/generate/text_format.h"
#include "stages/model/energy_model.h"
#include "stages/topology/topology.h"

namespace wattrun::generate::plan_internal {

void PlanBuilder::BuildNodes() {
  const auto& types = facility().node_types;
  std::vector<std::int64_t> count(types.size(), 0);
  std::vector<int> regular, special;
  for (std::size_t t = 0; t < types.size(); ++t) {
    if (types[t].count > 0) {
      count[t] = std::max<std::int64_t>(1, std::llround(static_cast<double>(types[t].count) * plan_.options.scale));
    }
    const HardwareClassConfig* hc = facility().FindClass(types[t].hardware_class);
    const bool gpu = hc != nullptr && hc->is_gpu;
    // GPU and the rare big-memory types sit in Eagle's "u" racks (r103u01 ...).
    (gpu || types[t].count < 50 ? special : regular).push_back(static_cast<int>(t));
  }
  auto interleave = [&](const std::vector<int>& members) {
    // Smooth weighted round robin: types spread evenly over the slots.
    std::vector<int> order;
    std::int64_t total = 0;
    for (const int t : members) total += count[static_cast<std::size_t>(t)];
    std::vector<std::int64_t> current(members.size(), 0);
    for (std::int64_t slot = 0; slot < total; ++slot) {
      std::size_t best = 0;
      for (std::size_t i = 0; i < members.size(); ++i) {
        current[i] += count[static_cast<std::size_t>(members[i])];
        if (current[i] > current[best]) best = i;
      }
      current[best] -= total;
      order.push_back(members[best]);
    }
    return order;
  };
  const std::vector<int> regular_order = interleave(regular);
  const std::vector<int> special_order = interleave(special);
  auto add = [&](int type, std::string name) {
    PlanNode node;
    node.name = std::move(name);
    node.type = type;
    node.series.idle_w = static_cast<int>(std::lround(types[static_cast<std::size_t>(type)].idle_w));
    node.series.key = StreamKey(seed(), static_cast<std::uint64_t>(Stream::kNodeNoise), plan_.nodes.size());
    plan_.nodes.push_back(std::move(node));
  };
  for (std::size_t k = 0; k < regular_order.size(); ++k) {
    // Eagle-like r<rack>i<iru>n<node>: 4 IRUs of 36 nodes per rack.
    std::string name = "r";
    AppendInt(&name, 1 + static_cast<std::int64_t>(k / 144));
    name += "i";
    AppendInt(&name, static_cast<std::int64_t>((k % 144) / 36));
    name += "n";
    AppendInt(&name, static_cast<std::int64_t>(k % 36));
    add(regular_order[k], std::move(name));
  }
  for (std::size_t k = 0; k < special_order.size(); ++k) {
    std::string name = "r";
    AppendInt(&name, 103 + static_cast<std::int64_t>(k / 32));
    name += "u";
    AppendPadded(&name, static_cast<std::int64_t>(k % 32) + 1, 2);
    add(special_order[k], std::move(name));
  }
}

void PlanBuilder::BuildClasses() {
  for (const HardwareClassConfig& hc : facility().hardware_classes) {
    PlanClass c;
    c.name = hc.name;
    c.is_gpu = hc.is_gpu;
    const NodeTypeConfig* ref = facility().FindType(hc.reference_type);
    if (ref == nullptr) {
      throw Error("facility.hardware_classes." + hc.name + ".reference_type: unknown type '" + hc.reference_type + "'");
    }
    c.reference_type = static_cast<int>(ref - facility().node_types.data());
    c.memory = hc.memory_levels.empty()
                   ? (hc.is_gpu ? topology::DefaultGpuHierarchy() : topology::DefaultCpuHierarchy())
                   : hc.memory_levels;
    c.parameters = model::Table4Parameters(hc.is_gpu);
    if (c.parameters.size() != 4 + 2 * c.memory.size()) {
      throw Error("facility.hardware_classes." + hc.name + ".memory_levels: " + std::to_string(c.memory.size()) +
                  " levels, but the paper's Table 4 has " + std::to_string((c.parameters.size() - 4) / 2) +
                  " for this class");
    }
    c.sigma = hc.is_gpu ? plan_.config.generator.sigma_gpu : plan_.config.generator.sigma_cpu;
    // Dynamic power above idle, smallest to largest networks (Table 2 TDPs:
    // two 200 W Xeons; two 250 W V100s).
    c.dyn_lo_w = hc.is_gpu ? 90.0 : 60.0;
    c.dyn_hi_w = hc.is_gpu ? 420.0 : 260.0;
    plan_.classes.push_back(std::move(c));
  }
  for (std::size_t n = 0; n < plan_.nodes.size(); ++n) {
    PlanNode& node = plan_.nodes[n];
    const std::string& cls = facility().node_types[static_cast<std::size_t>(node.type)].hardware_class;
    for (std::size_t c = 0; c < plan_.classes.size(); ++c) {
      if (plan_.classes[c].name == cls) {
        node.hw_class = static_cast<int>(c);
        plan_.classes[c].nodes.push_back(static_cast<int>(n));
      }
    }
  }
}

int PlanBuilder::IdleW(int type) const {
  return static_cast<int>(std::lround(facility().node_types[static_cast<std::size_t>(type)].idle_w));
}

bool PlanBuilder::ClassActive(const PlanClass& c) const {
  return !c.nodes.empty() && facility().node_types[static_cast<std::size_t>(c.reference_type)].count > 0;
}

double PlanBuilder::DynamicW(const PlanClass& c, std::int64_t size, double factor) const {
  const double x = std::clamp((std::log2(static_cast<double>(size)) - 5.0) / 19.0, 0.0, 1.0);
  return (c.dyn_lo_w + (c.dyn_hi_w - c.dyn_lo_w) * x) * factor;
}

}  // namespace wattrun::generate::plan_internal
