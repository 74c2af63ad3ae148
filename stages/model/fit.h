// Fitting the energy model (spec step 12): k >= 0 minimizing
// sum_i rho(log(E_hat_i / E_i)^2) with E_hat_i = q_i . k, plus what a reader
// needs to trust the result: standard errors, which parameters the sweep
// cannot determine, the distribution of E_hat / E, a cross-validated error by
// group, and a FLOPs-only baseline to compare against.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ceres/ceres.h>

#include "core/config.h"
#include "stages/topology/topology.h"

namespace wattrun::model {

// One usable run: its features, its measured (standardized) energy, and the
// key that keeps related runs in one cross-validation fold (e.g. the dataset).
struct FitSample {
  topology::RunFeatures features;
  double energy_j = 0.0;
  std::string group;
};

// How the fit runs: the configuration's pipeline.fit section as it is, and
// the settings that are not configurable.
struct FitOptions {
  // loss, loss_scale, max_iterations, cross_validation_folds (0: off) and the
  // limits of a determined parameter: its term carries at least
  // min_energy_share of some run's predicted energy and its relative
  // standard error is at most max_relative_std_error.
  FitConfig config;
  int restarts = 3;     // starting points of the full fit (>= 1)
  int num_threads = 1;  // Ceres threads
  // Singular values of the scaled Jacobian below sqrt(this) * the largest
  // span its null space (Ceres Covariance's min_reciprocal_condition_number).
  double min_reciprocal_condition_number = 1e-14;

  // Empty when valid, else a message naming the broken option ("fit.<key>:
  // reason"); the configured part is checked by FitConfig::Problems, as the
  // config reader checks it.
  std::string Validate() const;
  // The configuration's fit section, the other settings at their defaults.
  static FitOptions FromConfig(const FitConfig& config);
};

// One fitted parameter in the units of ParameterUnits.
struct FittedParameter {
  std::string name;
  std::string unit;
  double value = 0.0;
  double std_error = 0.0;  // NaN when the covariance is unavailable
  bool determined = false;
  std::string reason;  // why (not) determined, for the report
  // Largest share of one run's predicted energy carried by this term.
  double max_energy_share = 0.0;
};

// What the solver did (the best of the restarts). Each start runs Ceres in
// active-set rounds (parameters pressed against 0 are held there, see
// fit.cc); `iterations` counts all rounds, the report is the last round's.
struct SolverReport {
  bool usable = false;
  int iterations = 0;
  int active_set_rounds = 0;
  std::string termination;   // Ceres TerminationType of the last round, e.g. CONVERGENCE
  std::string brief_report;  // Ceres Summary::BriefReport() of the last round
  double initial_cost = 0.0;
  double final_cost = 0.0;
  int starts = 0;  // starting points tried
};

// Distribution of E_hat / E over a set of runs.
struct RatioDistribution {
  std::int64_t count = 0;
  double median_ratio = 0.0;
  double log_sigma = 0.0;  // standard deviation of log(E_hat / E)
  double q05 = 0.0;
  double q25 = 0.0;
  double q50 = 0.0;
  double q75 = 0.0;
  double q95 = 0.0;
  double median_abs_log_error = 0.0;  // median |log(E_hat / E)|
};

// k-fold cross-validation with folds made of whole groups.
struct CrossValidation {
  bool available = false;  // false with fewer than two groups or folds
  int folds = 0;
  RatioDistribution held_out;  // E_hat from the fold's fit over held-out runs
  std::string message;
};

// E = c0 + c1 * FLOPs_total, fitted with the same loss, the "FLOPs are
// energy" assumption the paper argues against.
struct BaselineFit {
  double c0_j = 0.0;
  double c1_j_per_flop = 0.0;
  SolverReport solver;
  RatioDistribution in_sample;
  CrossValidation cross_validation;
};

struct FitResult {
  int n_levels = 0;
  std::vector<FittedParameter> parameters;  // in k's order
  std::vector<double> k;                    // the values, for PredictEnergy
  SolverReport solver;
  RatioDistribution in_sample;
  CrossValidation cross_validation;
  BaselineFit flops_baseline;
  std::vector<double> predicted_j;  // per input sample (NaN for skipped ones)
  std::int64_t used_samples = 0;
  std::int64_t skipped_samples = 0;  // energy not positive and finite
  std::string message;               // empty, or what went wrong
};

// Fits per hardware class; n_levels is the class's number of memory levels.
// Never throws for data problems: they come back in `message` and
// `solver.usable`.
FitResult FitEnergyModel(const std::vector<FitSample>& samples, int n_levels, const FitOptions& options);

// n (h_t (fwd + bwd) + h_s fwd): all operations of a run.
double TotalFlops(const topology::RunFeatures& features);

RatioDistribution DescribeRatios(const std::vector<double>& predicted, const std::vector<double>& measured);

// The residual of one run in scaled parameters theta (k_j = scale_j theta_j):
// r = log(sum_j q_j scale_j theta_j) - log(E). Analytic Jacobian; the fit
// works in scaled units because k spans 1e-3..1e5 and the solver needs
// comparable columns.
class LogRatioCost final : public ceres::CostFunction {
 public:
  LogRatioCost(std::vector<double> scaled_row, double energy_j);
  // row: the design row q (J per unit of k); scale: k_j = scale_j theta_j.
  static ceres::CostFunction* Create(const std::vector<double>& row, const std::vector<double>& scale, double energy_j);
  bool Evaluate(double const* const* parameters, double* residuals, double** jacobians) const override;

 private:
  const std::vector<double> scaled_row_;
  const double log_energy_;
};

}  // namespace wattrun::model
