// The telemetry pass's units of work and how they are dealt to ranks.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "core/mpi.h"
#include "core/time.h"
#include "store/store.h"

namespace wattrun::pass {

// One node over one time block. Blocks have fixed boundaries (multiples of
// kBlockUs since the epoch), so the units, and the order in which a run's
// partial integrals are added, do not depend on the number of ranks: results
// are bit-identical for any rank count. The first and last block of a node
// extend to -inf/+inf so that every window on the node falls in some unit.
inline constexpr TimeUs kBlockUs = 30 * kMicrosPerDay;

struct Unit {
  std::size_t node = 0;  // index into the reader's nodes()
  TimeUs from = 0;
  TimeUs until = 0;
  double estimated_readings = 0;
  bool first_of_node = false;
  bool last_of_node = false;
};

// Every node's blocks, in (node, time) order; readings per block estimated
// from the node's span (no I/O).
std::vector<Unit> PlanUnits(store::TelemetryReader& reader);

// The half-open range of units this rank streams: contiguous ranges balanced
// by estimated readings, so a rank streams each of its nodes' blocks once
// and in time order, and only the nodes at the edges of its range are shared
// with a neighbouring rank.
std::pair<std::size_t, std::size_t> UnitsOfRank(const std::vector<Unit>& units, int rank, int ranks);

}  // namespace wattrun::pass
