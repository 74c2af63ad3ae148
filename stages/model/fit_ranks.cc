#include "stages/model/fit_ranks.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

#include "core/error.h"

namespace wattrun::model {
namespace {

void PutFeatures(ByteWriter* w, const topology::RunFeatures& f) {
  for (const std::int64_t v : {f.batch_size, f.h_t, f.h_s, f.epochs, f.n_layers, f.n_params}) w->Put(v);
  for (const double v : {f.fwd_ops, f.bwd_ops, f.f_bytes, f.b_bytes, f.d_bytes}) w->Put(v);
  for (const int v : {f.f_level, f.f_test_level, f.b_level, f.d_level}) w->Put<std::int32_t>(v);
  w->PutVector(f.t_bytes);
  w->PutVector(f.t_level);
}

topology::RunFeatures GetFeatures(ByteReader* r) {
  topology::RunFeatures f;
  for (std::int64_t* v : {&f.batch_size, &f.h_t, &f.h_s, &f.epochs, &f.n_layers, &f.n_params})
    *v = r->Get<std::int64_t>();
  for (double* v : {&f.fwd_ops, &f.bwd_ops, &f.f_bytes, &f.b_bytes, &f.d_bytes}) *v = r->Get<double>();
  for (int* v : {&f.f_level, &f.f_test_level, &f.b_level, &f.d_level}) *v = r->Get<std::int32_t>();
  f.t_bytes = r->GetVector<double>();
  f.t_level = r->GetVector<int>();
  return f;
}

void PutSolver(ByteWriter* w, const SolverReport& s) {
  w->Put<std::uint8_t>(s.usable ? 1 : 0);
  for (const int v : {s.iterations, s.active_set_rounds, s.starts}) w->Put<std::int32_t>(v);
  w->PutString(s.termination);
  w->PutString(s.brief_report);
  w->Put(s.initial_cost);
  w->Put(s.final_cost);
}

SolverReport GetSolver(ByteReader* r) {
  SolverReport s;
  s.usable = r->Get<std::uint8_t>() != 0;
  for (int* v : {&s.iterations, &s.active_set_rounds, &s.starts}) *v = r->Get<std::int32_t>();
  s.termination = r->GetString();
  s.brief_report = r->GetString();
  s.initial_cost = r->Get<double>();
  s.final_cost = r->Get<double>();
  return s;
}

// RatioDistribution is plain numbers: it travels as its bytes.
static_assert(std::is_trivially_copyable_v<RatioDistribution>);

void PutCrossValidation(ByteWriter* w, const CrossValidation& cv) {
  w->Put<std::uint8_t>(cv.available ? 1 : 0);
  w->Put<std::int32_t>(cv.folds);
  w->Put(cv.held_out);
  w->PutString(cv.message);
}

CrossValidation GetCrossValidation(ByteReader* r) {
  CrossValidation cv;
  cv.available = r->Get<std::uint8_t>() != 0;
  cv.folds = r->Get<std::int32_t>();
  cv.held_out = r->Get<RatioDistribution>();
  cv.message = r->GetString();
  return cv;
}

// Class c's rank.
int RankOfClass(std::size_t c, int ranks) { return static_cast<int>(c % static_cast<std::size_t>(ranks)); }

TimedFit FitTimed(const FitTask& task, const FitOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  TimedFit out{FitEnergyModel(task.samples, task.n_levels, options), 0};
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace

void PutFitTask(ByteWriter* w, const FitTask& task) {
  w->Put<std::int32_t>(task.n_levels);
  w->Put<std::uint64_t>(task.samples.size());
  for (const FitSample& s : task.samples) {
    PutFeatures(w, s.features);
    w->Put(s.energy_j);
    w->PutString(s.group);
  }
}

FitTask GetFitTask(ByteReader* r) {
  FitTask task;
  task.n_levels = r->Get<std::int32_t>();
  const auto n = r->Get<std::uint64_t>();
  for (std::uint64_t i = 0; i < n; ++i) {
    FitSample s;
    s.features = GetFeatures(r);
    s.energy_j = r->Get<double>();
    s.group = r->GetString();
    task.samples.push_back(std::move(s));
  }
  return task;
}

void PutFitResult(ByteWriter* w, const FitResult& fit) {
  w->Put<std::int32_t>(fit.n_levels);
  w->Put<std::uint64_t>(fit.parameters.size());
  for (const FittedParameter& p : fit.parameters) {
    w->PutString(p.name);
    w->PutString(p.unit);
    w->Put(p.value);
    w->Put(p.std_error);
    w->Put<std::uint8_t>(p.determined ? 1 : 0);
    w->PutString(p.reason);
    w->Put(p.max_energy_share);
  }
  w->PutVector(fit.k);
  PutSolver(w, fit.solver);
  w->Put(fit.in_sample);
  PutCrossValidation(w, fit.cross_validation);
  const BaselineFit& b = fit.flops_baseline;
  w->Put(b.c0_j);
  w->Put(b.c1_j_per_flop);
  PutSolver(w, b.solver);
  w->Put(b.in_sample);
  PutCrossValidation(w, b.cross_validation);
  w->PutVector(fit.predicted_j);
  w->Put(fit.used_samples);
  w->Put(fit.skipped_samples);
  w->PutString(fit.message);
}

FitResult GetFitResult(ByteReader* r) {
  FitResult fit;
  fit.n_levels = r->Get<std::int32_t>();
  const auto n = r->Get<std::uint64_t>();
  for (std::uint64_t i = 0; i < n; ++i) {
    FittedParameter p;
    p.name = r->GetString();
    p.unit = r->GetString();
    p.value = r->Get<double>();
    p.std_error = r->Get<double>();
    p.determined = r->Get<std::uint8_t>() != 0;
    p.reason = r->GetString();
    p.max_energy_share = r->Get<double>();
    fit.parameters.push_back(std::move(p));
  }
  fit.k = r->GetVector<double>();
  fit.solver = GetSolver(r);
  fit.in_sample = r->Get<RatioDistribution>();
  fit.cross_validation = GetCrossValidation(r);
  BaselineFit& b = fit.flops_baseline;
  b.c0_j = r->Get<double>();
  b.c1_j_per_flop = r->Get<double>();
  b.solver = GetSolver(r);
  b.in_sample = r->Get<RatioDistribution>();
  b.cross_validation = GetCrossValidation(r);
  fit.predicted_j = r->GetVector<double>();
  fit.used_samples = r->Get<std::int64_t>();
  fit.skipped_samples = r->Get<std::int64_t>();
  fit.message = r->GetString();
  return fit;
}

std::vector<TimedFit> FitOnRanks(const std::vector<FitTask>& tasks, const FitOptions& options, const Comm& comm) {
  const int ranks = comm.size();
  // Rank 0's tasks for the other ranks, every one to every rank (a few MB:
  // one broadcast, which the others wait for asleep).
  std::vector<char> sent;
  if (comm.is_root()) {
    ByteWriter w;
    w.Put<std::uint64_t>(tasks.size());
    for (std::size_t c = 0; c < tasks.size(); ++c) {
      if (RankOfClass(c, ranks) != 0) PutFitTask(&w, tasks[c]);
    }
    sent = std::move(w.bytes());
  }
  comm.Broadcast(&sent);
  std::vector<char> mine;  // this rank's results: class, seconds, result
  RunCollectively(comm, [&] {
    ByteWriter w;
    const auto fit = [&](std::size_t c, const FitTask& task) {
      const TimedFit timed = FitTimed(task, options);
      w.Put<std::uint64_t>(c);
      w.Put(timed.seconds);
      PutFitResult(&w, timed.result);
    };
    if (comm.is_root()) {
      for (std::size_t c = 0; c < tasks.size(); ++c) {
        if (RankOfClass(c, ranks) == 0) fit(c, tasks[c]);
      }
    } else {  // the bytes hold every other rank's tasks, in class order
      ByteReader r(sent.data(), sent.size());
      const auto count = static_cast<std::size_t>(r.Get<std::uint64_t>());
      for (std::size_t c = 0; c < count; ++c) {
        if (RankOfClass(c, ranks) == 0) continue;
        const FitTask task = GetFitTask(&r);
        if (RankOfClass(c, ranks) == comm.rank()) fit(c, task);
      }
    }
    mine = std::move(w.bytes());
  });
  const std::vector<char> all = comm.GatherToRoot(mine);
  if (!comm.is_root()) return {};
  std::vector<TimedFit> out(tasks.size());
  std::vector<bool> have(tasks.size(), false);
  ByteReader r(all.data(), all.size());
  while (!r.done()) {
    const auto c = static_cast<std::size_t>(r.Get<std::uint64_t>());
    if (c >= out.size() || have[c])
      throw Error("model fits: class " + std::to_string(c) + " came back twice or unasked");
    out[c].seconds = r.Get<double>();
    out[c].result = GetFitResult(&r);
    have[c] = true;
  }
  for (std::size_t c = 0; c < have.size(); ++c) {
    if (!have[c]) throw Error("model fits: no result for class " + std::to_string(c));
  }
  return out;
}

}  // namespace wattrun::model
