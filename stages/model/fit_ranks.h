// The hardware classes' fits spread over the ranks (spec step 12). After
// the telemetry pass every rank but 0 is idle, and each class's fit is a
// single-threaded solve independent of the others (one core per rank: the
// launcher binds each rank to its own), so class c is fitted on rank
// c mod P: the results are the same bits as fitting one class after the
// other on one rank, in a fraction of the time.
#pragma once

#include <vector>

#include "core/mpi.h"
#include "core/pack.h"
#include "stages/model/fit.h"

namespace wattrun::model {

// One hardware class's samples and number of memory levels.
struct FitTask {
  std::vector<FitSample> samples;
  int n_levels = 0;
};

struct TimedFit {
  FitResult result;
  double seconds = 0;  // the fit's own time, on the rank that did it
};

// Collective. Rank 0 gives every class's task (the other ranks' `tasks`
// are not read); each rank fits its classes with FitEnergyModel; rank 0
// returns every class's result in task order, the others an empty vector.
// A failure on any rank is a CollectiveError on all.
std::vector<TimedFit> FitOnRanks(const std::vector<FitTask>& tasks, const FitOptions& options, const Comm& comm);

// What travels between ranks: samples to the rank that fits them, results
// back. Exposed for the round-trip test; the bytes are nobody else's.
void PutFitTask(ByteWriter* w, const FitTask& task);
FitTask GetFitTask(ByteReader* r);
void PutFitResult(ByteWriter* w, const FitResult& fit);
FitResult GetFitResult(ByteReader* r);

}  // namespace wattrun::model
