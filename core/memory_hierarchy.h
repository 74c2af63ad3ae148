// A hardware class's memory hierarchy, as the config describes it.
#pragma once

#include <cstdint>
#include <vector>

namespace wattrun {

// One level of a memory hierarchy: `units` copies of `bytes_per_unit`
// (e.g. 36 L1 caches of 32 KiB).
struct MemoryLevel {
  int level = 0;
  double bytes_per_unit = 0.0;
  std::int64_t units = 1;
};
using MemoryHierarchy = std::vector<MemoryLevel>;  // ascending levels

}  // namespace wattrun
