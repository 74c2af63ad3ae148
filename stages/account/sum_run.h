// The accounting's hot loop: what a run of readings between two change points
// adds to a segment. Two implementations, SSE2 (every x86-64) and AVX2 (taken
// when the CPU has it), that add in the same order — four lanes, the lanes
// summed as (l0 + l1) + (l2 + l3) — so a result does not depend on the
// machine, nor on the number of ranks.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/time.h"

namespace wattrun::account {

struct RunSums {
  double energy = 0;   // Σ (w_{k-1} + w_k)·dt (linear) or Σ w_{k-1}·dt (step), W·ms
  double missing = 0;  // Σ max(dt − 2Δ, 0), ms (whole ms: exact in a double)
  std::int64_t zeros = 0;
};

enum class SumRunPath { kBest, kSse2, kAvx2 };

// The sums of readings [begin, end) (begin < end) after the one at (prev_t,
// prev_w), 0 < dt < 2^52 µs, by the method (linear or step) and path chosen
// once, for a loop that calls it per run. kBest takes AVX2 when the CPU has it.
using SumRunFunction = RunSums (*)(const TimeUs* t, const double* w, std::size_t begin, std::size_t end, TimeUs prev_t,
                                   double prev_w, TimeUs two_intervals);
SumRunFunction SumRunFor(bool linear, SumRunPath path = SumRunPath::kBest);

bool CpuHasAvx2();

}  // namespace wattrun::account
