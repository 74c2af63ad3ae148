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

// The same sums for the usual run, faster: every interval after the first
// equally long (at most two_intervals) and no reading after the first 0, so
// that missing time and zeros after the first are known to be 0 and no
// interval needs converting. Adds the energy in SumRunFunction's order, so
// the result is the same to the bit. Returns false when the run is not such
// a run; *out is then unspecified and the caller sums it with SumRunFunction.
using UniformRunFunction = bool (*)(const TimeUs* t, const double* w, std::size_t begin, std::size_t end, TimeUs prev_t,
                                    double prev_w, TimeUs two_intervals, RunSums* out);
UniformRunFunction UniformRunFor(bool linear, SumRunPath path = SumRunPath::kBest);

// The usual stretch under an hourly carbon intensity series: readings one
// step apart (at most two_intervals), none 0, with a reading exactly on each
// intensity change. From reading b, for each cut in turn that falls on a
// reading j of [b + 2, n): pieces[h] = the energy (W·ms) from reading b to
// j, to the bit as NodeAccountant sums it reading by reading (0.5·SumRun of
// (b, j) plus the last trapezoid, or SumRun's step energy plus the last
// step), then b = j. Stops at the first cut where that does not hold.
// Returns the pieces written (at most cut_count) and the last reading taken
// in *last (b when none).
using UniformPiecesFunction = std::size_t (*)(const TimeUs* t, const double* w, std::size_t b, std::size_t n,
                                              const TimeUs* cuts, std::size_t cut_count, TimeUs two_intervals,
                                              double* pieces, std::size_t* last);
UniformPiecesFunction UniformPiecesFor(bool linear, SumRunPath path = SumRunPath::kBest);

bool CpuHasAvx2();

}  // namespace wattrun::account
