#include "stages/model/fit.h"

#include "core/quantile.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <utility>

#include <Eigen/Dense>

#include "stages/model/energy_model.h"

namespace wattrun::model {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// A null-space direction claims a parameter when it holds this much of the
// parameter's unit vector (sum of squared components).
constexpr double kNullSpaceShare = 0.01;
// Parameters this correlated with a poorly determined one are named with it.
constexpr double kPartnerCorrelation = 0.9;
// Scaled parameters below this count as sitting on the bound 0.
constexpr double kAtBound = 1e-9;
// Iterations of the first active-set round, which only finds the bound set.
constexpr int kFirstRoundIterations = 10;

using RowMajorMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

std::string Percent(double fraction) {
  std::ostringstream out;
  out.precision(3);
  out << 100.0 * fraction << "%";
  return out.str();
}

std::string TerminationName(ceres::TerminationType type) {
  switch (type) {
    case ceres::CONVERGENCE:
      return "CONVERGENCE";
    case ceres::NO_CONVERGENCE:
      return "NO_CONVERGENCE";
    case ceres::FAILURE:
      return "FAILURE";
    case ceres::USER_SUCCESS:
      return "USER_SUCCESS";
    case ceres::USER_FAILURE:
      return "USER_FAILURE";
  }
  return "UNKNOWN";
}

std::unique_ptr<ceres::LossFunction> MakeLoss(const FitOptions& options) {
  switch (options.config.loss) {
    case RobustLoss::kNone:
      return nullptr;
    case RobustLoss::kHuber:
      return std::make_unique<ceres::HuberLoss>(options.config.loss_scale);
    case RobustLoss::kCauchy:
      return std::make_unique<ceres::CauchyLoss>(options.config.loss_scale);
    case RobustLoss::kSoftL1:
      return std::make_unique<ceres::SoftLOneLoss>(options.config.loss_scale);
  }
  return nullptr;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return QuantileSorted(values, 0.5);
}

// Lawson-Hanson non-negative least squares on the normal equations
// G x = h (G = A'A, h = A'b): the starting point of the fit.
Eigen::VectorXd NonNegativeLeastSquares(const Eigen::MatrixXd& gram, const Eigen::VectorXd& rhs) {
  const Eigen::Index p = gram.rows();
  Eigen::VectorXd x = Eigen::VectorXd::Zero(p);
  if (p == 0) return x;
  const double ridge = 1e-12 * std::max(1.0, gram.diagonal().maxCoeff());
  const double tolerance = 1e-12 * std::max(1.0, rhs.cwiseAbs().maxCoeff());
  std::vector<bool> passive(static_cast<std::size_t>(p), false);
  auto solve_passive = [&](Eigen::VectorXd& z) {
    std::vector<Eigen::Index> index;
    for (Eigen::Index j = 0; j < p; ++j) {
      if (passive[static_cast<std::size_t>(j)]) index.push_back(j);
    }
    const auto n = static_cast<Eigen::Index>(index.size());
    Eigen::MatrixXd g(n, n);
    Eigen::VectorXd h(n);
    for (Eigen::Index a = 0; a < n; ++a) {
      h(a) = rhs(index[static_cast<std::size_t>(a)]);
      for (Eigen::Index b = 0; b < n; ++b) {
        g(a, b) = gram(index[static_cast<std::size_t>(a)], index[static_cast<std::size_t>(b)]);
      }
      g(a, a) += ridge;
    }
    const Eigen::VectorXd solution = g.ldlt().solve(h);
    z = Eigen::VectorXd::Zero(p);
    for (Eigen::Index a = 0; a < n; ++a) z(index[static_cast<std::size_t>(a)]) = solution(a);
  };
  for (Eigen::Index outer = 0; outer < 3 * p; ++outer) {
    const Eigen::VectorXd gradient = rhs - gram * x;
    Eigen::Index entering = -1;
    double best = tolerance;
    for (Eigen::Index j = 0; j < p; ++j) {
      if (!passive[static_cast<std::size_t>(j)] && gradient(j) > best) {
        best = gradient(j);
        entering = j;
      }
    }
    if (entering < 0) break;
    passive[static_cast<std::size_t>(entering)] = true;
    for (Eigen::Index inner = 0; inner < 3 * p; ++inner) {
      Eigen::VectorXd z;
      solve_passive(z);
      bool feasible = true;
      double alpha = 1.0;
      for (Eigen::Index j = 0; j < p; ++j) {
        if (passive[static_cast<std::size_t>(j)] && z(j) <= 0.0) {
          feasible = false;
          const double denominator = x(j) - z(j);
          if (denominator > 0.0) alpha = std::min(alpha, x(j) / denominator);
        }
      }
      if (feasible) {
        x = z;
        break;
      }
      x += alpha * (z - x);
      for (Eigen::Index j = 0; j < p; ++j) {
        if (passive[static_cast<std::size_t>(j)] && x(j) <= 1e-15) {
          passive[static_cast<std::size_t>(j)] = false;
          x(j) = 0.0;
        }
      }
    }
  }
  return x.cwiseMax(0.0);
}

// The fit of E_hat = Q k >= 0 to E in log ratio on a subset of rows (all
// runs, a cross-validation fold, or the FLOPs baseline's design): column
// scaling, NNLS start, restarts, and the Ceres problem the covariance uses.
class LogLinearFit {
 public:
  LogLinearFit(const RowMajorMatrix& design, const std::vector<double>& energy, std::vector<std::size_t> rows,
               const FitOptions& options)
      : design_(design), energy_(energy), rows_(std::move(rows)), options_(options) {
    const Eigen::Index p = design_.cols();
    for (Eigen::Index j = 0; j < p; ++j) {
      double sum_squares = 0.0;
      for (const std::size_t i : rows_) {
        const double relative = design_(static_cast<Eigen::Index>(i), j) / energy_[i];
        sum_squares += relative * relative;
      }
      if (sum_squares > 0.0 && std::isfinite(sum_squares)) {
        active_.push_back(j);
        scale_.push_back(1.0 / std::sqrt(sum_squares / static_cast<double>(rows_.size())));
      }
    }
  }

  const std::vector<Eigen::Index>& active() const { return active_; }
  const std::vector<double>& scale() const { return scale_; }
  const std::vector<double>& theta() const { return theta_; }
  ceres::Problem* problem() { return problem_.get(); }

  // Runs the solver from `starts` starting points; keeps the best usable one.
  SolverReport Solve(int starts) {
    SolverReport report;
    const std::size_t pa = active_.size();
    if (rows_.empty() || pa == 0) {
      report.brief_report = "no data";
      return report;
    }
    // Scaled, relative design A_ij = q_ij s_j / E_i, and its NNLS solution
    // of A theta = 1 (relative least squares, close to the log fit).
    Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(pa), static_cast<Eigen::Index>(pa));
    Eigen::VectorXd rhs = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(pa));
    Eigen::VectorXd a(static_cast<Eigen::Index>(pa));
    for (const std::size_t i : rows_) {
      for (std::size_t c = 0; c < pa; ++c) {
        a(static_cast<Eigen::Index>(c)) = design_(static_cast<Eigen::Index>(i), active_[c]) * scale_[c] / energy_[i];
      }
      gram.selfadjointView<Eigen::Lower>().rankUpdate(a);
      rhs += a;
    }
    gram = gram.selfadjointView<Eigen::Lower>();
    const Eigen::VectorXd nnls = NonNegativeLeastSquares(gram, rhs);

    std::vector<std::vector<double>> start_points;
    start_points.emplace_back(nnls.data(), nnls.data() + nnls.size());
    // Every term at an equal share of a typical run's energy.
    start_points.emplace_back(pa, 1.0 / static_cast<double>(pa));
    std::mt19937_64 random(20240611);
    std::uniform_real_distribution<double> factor(0.25, 4.0);
    while (static_cast<int>(start_points.size()) < std::max(1, starts)) {
      std::vector<double> point(nnls.data(), nnls.data() + nnls.size());
      for (double& value : point) value = (value + 0.05) * factor(random);
      start_points.push_back(std::move(point));
    }
    start_points.resize(static_cast<std::size_t>(std::max(1, starts)));

    BuildProblem();
    ceres::Solver::Options solver_options;
    solver_options.linear_solver_type = ceres::DENSE_NORMAL_CHOLESKY;
    solver_options.max_num_iterations = options_.config.max_iterations;
    solver_options.num_threads = std::max(1, options_.num_threads);
    solver_options.function_tolerance = 1e-10;
    solver_options.gradient_tolerance = 1e-14;
    solver_options.parameter_tolerance = 1e-12;
    solver_options.logging_type = ceres::SILENT;

    double best_cost = std::numeric_limits<double>::infinity();
    std::vector<double> best_theta;
    for (std::vector<double>& point : start_points) {
      MakePositive(point);
      std::copy(point.begin(), point.end(), theta_.begin());  // the block's address stays
      const ActiveSetOutcome outcome = SolveWithActiveSet(solver_options);
      ++report.starts;
      if (outcome.usable && outcome.final_cost < best_cost) {
        best_cost = outcome.final_cost;
        best_theta = theta_;
        report.usable = true;
        report.iterations = outcome.iterations;
        report.active_set_rounds = outcome.rounds;
        report.termination = outcome.termination;
        report.brief_report = outcome.brief_report;
        report.initial_cost = outcome.initial_cost;
        report.final_cost = outcome.final_cost;
      } else if (!report.usable) {
        report.termination = outcome.termination;
        report.brief_report = outcome.brief_report;
      }
    }
    if (report.usable) {
      std::copy(best_theta.begin(), best_theta.end(), theta_.begin());
    } else {
      std::fill(theta_.begin(), theta_.end(), 0.0);
    }
    return report;
  }

 private:
  struct ActiveSetOutcome {
    bool usable = false;
    int iterations = 0;
    int rounds = 0;
    std::string termination;
    std::string brief_report;
    double initial_cost = 0.0;
    double final_cost = 0.0;
  };

  // Ceres projects steps that leave the bounds, and with a parameter pressed
  // against 0 along a flat direction the trust region then shrinks step by
  // step. So: solve briefly, hold the parameters that reached 0 (and whose
  // gradient still points below 0) constant, solve again, and release any
  // held parameter whose gradient turns to pull it up, until nothing changes.
  ActiveSetOutcome SolveWithActiveSet(const ceres::Solver::Options& base_options) {
    const std::size_t pa = active_.size();
    std::vector<bool> held(pa, false);
    ActiveSetOutcome outcome;
    ceres::Solver::Options options = base_options;
    for (std::size_t round = 0; round <= 2 * pa + 1; ++round) {
      std::vector<int> constant;
      for (std::size_t c = 0; c < pa; ++c) {
        if (held[c]) {
          constant.push_back(static_cast<int>(c));
          theta_[c] = 0.0;
        }
      }
      if (constant.size() == pa) {
        problem_->SetManifold(theta_.data(), nullptr);
        problem_->SetParameterBlockConstant(theta_.data());
      } else {
        problem_->SetParameterBlockVariable(theta_.data());
        problem_->SetManifold(theta_.data(),
                              constant.empty() ? nullptr : new ceres::SubsetManifold(static_cast<int>(pa), constant));
      }
      // The first round only finds the active set; later rounds converge.
      options.max_num_iterations = round == 0 ? std::min(base_options.max_num_iterations, kFirstRoundIterations)
                                              : base_options.max_num_iterations;
      ceres::Solver::Summary summary;
      ceres::Solve(options, problem_.get(), &summary);
      if (round == 0) outcome.initial_cost = summary.initial_cost;
      ++outcome.rounds;
      outcome.iterations += static_cast<int>(summary.iterations.size());
      outcome.usable = summary.IsSolutionUsable();
      outcome.termination = TerminationName(summary.termination_type);
      outcome.brief_report = summary.BriefReport();
      outcome.final_cost = summary.final_cost;
      if (!outcome.usable) break;

      const std::vector<double> gradient = Gradient();
      bool changed = false;
      for (std::size_t c = 0; c < pa; ++c) {
        if (!held[c] && theta_[c] <= kAtBound && gradient[c] >= 0.0) {
          held[c] = true;
          changed = true;
        } else if (held[c] && gradient[c] < 0.0) {
          held[c] = false;
          changed = true;
        }
      }
      if (!changed && round > 0) break;
    }
    problem_->SetParameterBlockVariable(theta_.data());
    problem_->SetManifold(theta_.data(), nullptr);
    return outcome;
  }

  // Gradient of the cost 1/2 sum rho(r_i^2) with respect to theta.
  std::vector<double> Gradient() const {
    const std::size_t pa = active_.size();
    std::vector<double> gradient(pa, 0.0);
    for (const std::size_t i : rows_) {
      double prediction = 0.0;
      for (std::size_t c = 0; c < pa; ++c) {
        prediction += design_(static_cast<Eigen::Index>(i), active_[c]) * scale_[c] * theta_[c];
      }
      if (!(prediction > 0.0)) continue;
      const double residual = std::log(prediction / energy_[i]);
      double rho[3] = {residual * residual, 1.0, 0.0};
      if (loss_) loss_->Evaluate(residual * residual, rho);
      const double weight = rho[1] * residual / prediction;
      for (std::size_t c = 0; c < pa; ++c) {
        gradient[c] += weight * design_(static_cast<Eigen::Index>(i), active_[c]) * scale_[c];
      }
    }
    return gradient;
  }

 public:
  // k in the design's full column order (zero for unused columns).
  std::vector<double> K() const {
    std::vector<double> k(static_cast<std::size_t>(design_.cols()), 0.0);
    for (std::size_t c = 0; c < active_.size() && c < theta_.size(); ++c) {
      k[static_cast<std::size_t>(active_[c])] = scale_[c] * theta_[c];
    }
    return k;
  }

 private:
  void BuildProblem() {
    if (problem_) return;
    ceres::Problem::Options problem_options;
    problem_options.loss_function_ownership = ceres::DO_NOT_TAKE_OWNERSHIP;
    problem_ = std::make_unique<ceres::Problem>(problem_options);
    loss_ = MakeLoss(options_);
    const std::size_t pa = active_.size();
    theta_.assign(pa, 1.0);
    std::vector<double> row(pa);
    for (const std::size_t i : rows_) {
      for (std::size_t c = 0; c < pa; ++c) {
        row[c] = design_(static_cast<Eigen::Index>(i), active_[c]);
      }
      problem_->AddResidualBlock(LogRatioCost::Create(row, scale_, energy_[i]), loss_.get(), theta_.data());
    }
    for (std::size_t c = 0; c < pa; ++c) {
      problem_->SetParameterLowerBound(theta_.data(), static_cast<int>(c), 0.0);
    }
  }

  // Clamps to the bound and lifts the point until every run's E_hat > 0.
  void MakePositive(std::vector<double>& point) const {
    for (double& value : point) value = std::max(0.0, std::isfinite(value) ? value : 0.0);
    for (int attempt = 0; attempt < 60; ++attempt) {
      bool positive = true;
      for (const std::size_t i : rows_) {
        double prediction = 0.0;
        for (std::size_t c = 0; c < active_.size(); ++c) {
          prediction += design_(static_cast<Eigen::Index>(i), active_[c]) * scale_[c] * point[c];
        }
        if (!(prediction > 0.0)) {
          positive = false;
          break;
        }
      }
      if (positive) return;
      for (double& value : point) value += 1e-3 * std::pow(2.0, attempt);
    }
  }

  const RowMajorMatrix& design_;
  const std::vector<double>& energy_;
  const std::vector<std::size_t> rows_;
  const FitOptions& options_;
  std::vector<Eigen::Index> active_;
  std::vector<double> scale_;
  std::vector<double> theta_;  // the parameter block; its address is fixed once built
  std::unique_ptr<ceres::LossFunction> loss_;
  std::unique_ptr<ceres::Problem> problem_;
};

std::vector<double> Predict(const RowMajorMatrix& design, const std::vector<double>& k,
                            const std::vector<std::size_t>& rows) {
  std::vector<double> predicted;
  predicted.reserve(rows.size());
  const Eigen::Map<const Eigen::VectorXd> kv(k.data(), static_cast<Eigen::Index>(k.size()));
  for (const std::size_t i : rows) {
    predicted.push_back(design.row(static_cast<Eigen::Index>(i)).dot(kv));
  }
  return predicted;
}

std::vector<double> Gather(const std::vector<double>& values, const std::vector<std::size_t>& rows) {
  std::vector<double> out;
  out.reserve(rows.size());
  for (const std::size_t i : rows) out.push_back(values[i]);
  return out;
}

// Folds made of whole groups: groups sorted by key, dealt round-robin.
CrossValidation CrossValidate(const RowMajorMatrix& design, const std::vector<double>& energy,
                              const std::vector<std::size_t>& rows, const std::vector<std::string>& groups,
                              const FitOptions& options) {
  CrossValidation cv;
  if (options.config.cross_validation_folds < 2) {
    cv.message = "cross-validation disabled";
    return cv;
  }
  std::map<std::string, int> fold_of;
  for (const std::size_t i : rows) fold_of.emplace(groups[i], 0);
  if (fold_of.size() < 2) {
    cv.message = "fewer than two groups";
    return cv;
  }
  const int folds = std::min<int>(options.config.cross_validation_folds, static_cast<int>(fold_of.size()));
  int next = 0;
  for (auto& [group, fold] : fold_of) fold = next++ % folds;

  std::vector<double> predicted;
  std::vector<double> measured;
  for (int fold = 0; fold < folds; ++fold) {
    std::vector<std::size_t> train;
    std::vector<std::size_t> test;
    for (const std::size_t i : rows) {
      (fold_of.at(groups[i]) == fold ? test : train).push_back(i);
    }
    LogLinearFit fit(design, energy, train, options);
    if (!fit.Solve(1).usable) {
      cv.message = "fold " + std::to_string(fold) + ": solver failed";
      return cv;
    }
    const std::vector<double> fold_predicted = Predict(design, fit.K(), test);
    predicted.insert(predicted.end(), fold_predicted.begin(), fold_predicted.end());
    const std::vector<double> fold_measured = Gather(energy, test);
    measured.insert(measured.end(), fold_measured.begin(), fold_measured.end());
  }
  cv.available = true;
  cv.folds = folds;
  cv.held_out = DescribeRatios(predicted, measured);
  return cv;
}

// Each active term's largest share of a run's predicted energy.
void SetEnergyShares(const RowMajorMatrix& design, const std::vector<std::size_t>& rows,
                     const std::vector<double>& predicted, const std::vector<Eigen::Index>& active,
                     std::vector<FittedParameter>& parameters) {
  for (std::size_t c = 0; c < active.size(); ++c) {
    FittedParameter& parameter = parameters[static_cast<std::size_t>(active[c])];
    double share = 0.0;
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const double term = design(static_cast<Eigen::Index>(rows[r]), active[c]) * parameter.value;
      if (predicted[r] > 0.0) share = std::max(share, term / predicted[r]);
    }
    parameter.max_energy_share = share;
  }
}

// How well the fit pins the scaled parameters down: the null space of the
// scaled Jacobian and the covariance of theta.
struct Identifiability {
  Eigen::VectorXd null_share;  // per active parameter: its weight in the null space
  Eigen::Index rank = 0;       // of the scaled Jacobian
  Eigen::MatrixXd covariance;  // of theta; NaN when unavailable
};

// Null space of the scaled Jacobian J_ic = q_ic s_c / E_hat_i.
void FindNullSpace(LogLinearFit& fit, const RowMajorMatrix& design, const std::vector<std::size_t>& rows,
                   const std::vector<double>& predicted, const FitOptions& options, Identifiability& out) {
  const std::vector<Eigen::Index>& active = fit.active();
  const std::vector<double>& scale = fit.scale();
  const auto pa = static_cast<Eigen::Index>(active.size());
  const auto n = static_cast<Eigen::Index>(rows.size());
  Eigen::MatrixXd jacobian(n, pa);
  for (Eigen::Index r = 0; r < n; ++r) {
    const std::size_t i = rows[static_cast<std::size_t>(r)];
    const double prediction = std::max(predicted[static_cast<std::size_t>(r)], 1e-300);
    for (Eigen::Index c = 0; c < pa; ++c) {
      jacobian(r, c) = design(static_cast<Eigen::Index>(i), active[static_cast<std::size_t>(c)]) *
                       scale[static_cast<std::size_t>(c)] / prediction;
    }
  }
  const Eigen::BDCSVD<Eigen::MatrixXd> svd(jacobian, Eigen::ComputeThinV);
  const Eigen::VectorXd& sigma = svd.singularValues();
  const double sigma_threshold =
      (sigma.size() > 0 ? sigma(0) : 0.0) * std::sqrt(options.min_reciprocal_condition_number);
  out.null_share = Eigen::VectorXd::Zero(pa);
  out.rank = 0;
  for (Eigen::Index k = 0; k < sigma.size(); ++k) {
    if (sigma(k) > sigma_threshold) {
      ++out.rank;
    } else {
      out.null_share += svd.matrixV().col(k).cwiseAbs2();
    }
  }
}

// Covariance of theta (pseudo-inverse where rank deficient), scaled by
// the residual variance.
void ComputeCovariance(LogLinearFit& fit, std::size_t n_rows, const FitOptions& options, double final_cost,
                       Identifiability& out) {
  const auto pa = static_cast<Eigen::Index>(fit.active().size());
  const auto n = static_cast<Eigen::Index>(n_rows);
  out.covariance = Eigen::MatrixXd::Constant(pa, pa, kNaN);
  ceres::Covariance::Options covariance_options;
  covariance_options.algorithm_type = ceres::DENSE_SVD;
  covariance_options.null_space_rank = -1;
  covariance_options.min_reciprocal_condition_number = options.min_reciprocal_condition_number;
  covariance_options.num_threads = std::max(1, options.num_threads);
  ceres::Covariance ceres_covariance(covariance_options);
  const double* block = fit.theta().data();
  std::vector<std::pair<const double*, const double*>> blocks = {{block, block}};
  RowMajorMatrix values(pa, pa);
  if (ceres_covariance.Compute(blocks, fit.problem()) &&
      ceres_covariance.GetCovarianceBlock(block, block, values.data())) {
    const double dof = static_cast<double>(std::max<Eigen::Index>(1, n - out.rank));
    out.covariance = values * (2.0 * final_cost / dof);
  }
}

// " (moves with a, b)": the other active parameters `related` picks.
template <typename Related>
std::string Partners(const std::vector<FittedParameter>& parameters, const std::vector<Eigen::Index>& active,
                     Eigen::Index c, Related&& related) {
  std::string names;
  for (Eigen::Index other = 0; other < static_cast<Eigen::Index>(active.size()); ++other) {
    if (other != c && related(other)) {
      names += (names.empty() ? "" : ", ") +
               parameters[static_cast<std::size_t>(active[static_cast<std::size_t>(other)])].name;
    }
  }
  return names.empty() ? std::string() : " (moves with " + names + ")";
}

// Determined or not, with the reason, for active parameter c.
void JudgeParameter(Eigen::Index c, const LogLinearFit& fit, const Identifiability& id, const FitOptions& options,
                    std::vector<FittedParameter>& parameters) {
  const std::vector<Eigen::Index>& active = fit.active();
  const auto cu = static_cast<std::size_t>(c);
  FittedParameter& parameter = parameters[static_cast<std::size_t>(active[cu])];
  const Eigen::MatrixXd& covariance = id.covariance;
  const double variance = covariance(c, c);
  parameter.std_error = std::isfinite(variance) ? fit.scale()[cu] * std::sqrt(std::max(0.0, variance)) : kNaN;
  parameter.determined = false;
  if (id.null_share(c) > kNullSpaceShare) {
    parameter.reason = "in the null space of the Jacobian" + Partners(parameters, active, c, [&](Eigen::Index other) {
                         return id.null_share(other) > kNullSpaceShare;
                       });
  } else if (fit.theta()[cu] <= kAtBound) {
    parameter.reason = "at its lower bound 0: the term carries none of any run's energy";
  } else if (parameter.max_energy_share < options.config.min_energy_share) {
    parameter.reason = "the term carries at most " + Percent(parameter.max_energy_share) + " of any run's energy (< " +
                       Percent(options.config.min_energy_share) + ")";
  } else if (!std::isfinite(parameter.std_error)) {
    parameter.reason = "covariance unavailable";
  } else if (const double relative = parameter.std_error / parameter.value;
             relative > options.config.max_relative_std_error) {
    parameter.reason = "relative std error " + Percent(relative) + " > " +
                       Percent(options.config.max_relative_std_error) +
                       Partners(parameters, active, c, [&](Eigen::Index other) {
                         const double denominator = std::sqrt(covariance(c, c) * covariance(other, other));
                         return denominator > 0.0 && std::abs(covariance(c, other)) / denominator > kPartnerCorrelation;
                       });
  } else {
    parameter.determined = true;
    parameter.reason = "relative std error " + Percent(relative) + ", up to " + Percent(parameter.max_energy_share) +
                       " of a run's energy";
  }
}

// Marks each parameter determined or not, with the reason (spec step 12).
void JudgeParameters(LogLinearFit& fit, const RowMajorMatrix& design, const std::vector<std::size_t>& rows,
                     const std::vector<double>& predicted, const FitOptions& options, double final_cost,
                     std::vector<FittedParameter>& parameters) {
  SetEnergyShares(design, rows, predicted, fit.active(), parameters);
  Identifiability id;
  FindNullSpace(fit, design, rows, predicted, options, id);
  ComputeCovariance(fit, rows.size(), options, final_cost, id);
  for (Eigen::Index c = 0; c < static_cast<Eigen::Index>(fit.active().size()); ++c) {
    JudgeParameter(c, fit, id, options, parameters);
  }
}

// A result with every parameter named and "not fitted".
FitResult UnfittedResult(std::size_t n_samples, int n_levels) {
  FitResult result;
  result.n_levels = n_levels;
  result.predicted_j.assign(n_samples, kNaN);
  const std::vector<std::string> names = ParameterNames(std::max(n_levels, 0));
  const std::vector<std::string> units = ParameterUnits(std::max(n_levels, 0));
  for (std::size_t j = 0; j < names.size(); ++j) {
    FittedParameter parameter;
    parameter.name = names[j];
    parameter.unit = units[j];
    parameter.std_error = kNaN;
    parameter.reason = "not fitted";
    result.parameters.push_back(std::move(parameter));
  }
  result.k.assign(names.size(), 0.0);
  return result;
}

// Design of the full model and of the FLOPs baseline, one row per sample;
// `rows` are the usable samples (positive energy, finite design row).
struct FitData {
  RowMajorMatrix design;
  RowMajorMatrix baseline;
  std::vector<double> energy;
  std::vector<std::string> groups;
  std::vector<std::size_t> rows;
  std::int64_t skipped = 0;
};

FitData BuildFitData(const std::vector<FitSample>& samples, int n_levels, Eigen::Index p) {
  FitData data;
  data.design = RowMajorMatrix(static_cast<Eigen::Index>(samples.size()), p);
  data.baseline = RowMajorMatrix(static_cast<Eigen::Index>(samples.size()), 2);
  data.energy.assign(samples.size(), 0.0);
  data.groups.resize(samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const FitSample& sample = samples[i];
    const auto row_index = static_cast<Eigen::Index>(i);
    data.energy[i] = sample.energy_j;
    data.groups[i] = sample.group;
    bool usable = sample.energy_j > 0.0 && std::isfinite(sample.energy_j);
    if (usable) {
      try {
        const std::vector<double> row = DesignRow(sample.features, n_levels);
        for (Eigen::Index j = 0; j < p; ++j) {
          data.design(row_index, j) = row[static_cast<std::size_t>(j)];
          usable = usable && std::isfinite(row[static_cast<std::size_t>(j)]);
        }
      } catch (const std::exception&) {
        usable = false;  // a working set outside the hierarchy
      }
    }
    data.baseline(row_index, 0) = 1.0;
    data.baseline(row_index, 1) = TotalFlops(sample.features);
    if (usable) {
      data.rows.push_back(i);
    } else {
      data.design.row(row_index).setZero();
      ++data.skipped;
    }
  }
  return data;
}

// The FLOPs-only baseline, E = c0 + c1 FLOPs.
BaselineFit FitFlopsBaseline(const FitData& data, const FitOptions& options) {
  BaselineFit base;
  LogLinearFit flops(data.baseline, data.energy, data.rows, options);
  base.solver = flops.Solve(options.restarts);
  if (base.solver.usable) {
    const std::vector<double> c = flops.K();
    base.c0_j = c[0];
    base.c1_j_per_flop = c[1];
    base.in_sample = DescribeRatios(Predict(data.baseline, c, data.rows), Gather(data.energy, data.rows));
    base.cross_validation = CrossValidate(data.baseline, data.energy, data.rows, data.groups, options);
  }
  return base;
}

}  // namespace

FitOptions FitOptions::FromConfig(const FitConfig& c) {
  FitOptions o;
  o.config = c;
  return o;
}

std::string FitOptions::Validate() const {
  if (const auto problems = config.Problems(); !problems.empty()) {
    return "fit." + problems.front().first + ": " + problems.front().second;
  }
  if (restarts < 1) return "fit.restarts: must be >= 1";
  if (num_threads < 1) return "fit.num_threads: must be >= 1";
  if (!(min_reciprocal_condition_number > 0.0 && min_reciprocal_condition_number < 1.0)) {
    return "fit.min_reciprocal_condition_number: must be in (0, 1)";
  }
  return "";
}

LogRatioCost::LogRatioCost(std::vector<double> scaled_row, double energy_j)
    : scaled_row_(std::move(scaled_row)), log_energy_(std::log(energy_j)) {
  set_num_residuals(1);
  mutable_parameter_block_sizes()->push_back(static_cast<std::int32_t>(scaled_row_.size()));
}

ceres::CostFunction* LogRatioCost::Create(const std::vector<double>& row, const std::vector<double>& scale,
                                          double energy_j) {
  std::vector<double> scaled(row.size());
  for (std::size_t j = 0; j < row.size(); ++j) scaled[j] = row[j] * scale[j];
  return new LogRatioCost(std::move(scaled), energy_j);
}

bool LogRatioCost::Evaluate(double const* const* parameters, double* residuals, double** jacobians) const {
  const double* theta = parameters[0];
  double prediction = 0.0;
  for (std::size_t j = 0; j < scaled_row_.size(); ++j) prediction += scaled_row_[j] * theta[j];
  if (!(prediction > 0.0) || !std::isfinite(prediction)) return false;
  residuals[0] = std::log(prediction) - log_energy_;
  if (jacobians != nullptr && jacobians[0] != nullptr) {
    const double inverse = 1.0 / prediction;
    for (std::size_t j = 0; j < scaled_row_.size(); ++j) {
      jacobians[0][j] = scaled_row_[j] * inverse;
    }
  }
  return true;
}

double TotalFlops(const topology::RunFeatures& features) {
  const double n = static_cast<double>(features.epochs);
  return n * (static_cast<double>(features.h_t) * (features.fwd_ops + features.bwd_ops) +
              static_cast<double>(features.h_s) * features.fwd_ops);
}

RatioDistribution DescribeRatios(const std::vector<double>& predicted, const std::vector<double>& measured) {
  RatioDistribution out;
  std::vector<double> ratios;
  std::vector<double> logs;
  const std::size_t n = std::min(predicted.size(), measured.size());
  ratios.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double ratio = predicted[i] / measured[i];
    if (ratio > 0.0 && std::isfinite(ratio)) {
      ratios.push_back(ratio);
      logs.push_back(std::log(ratio));
    }
  }
  out.count = static_cast<std::int64_t>(ratios.size());
  if (ratios.empty()) {
    out.median_ratio = out.log_sigma = out.q05 = out.q25 = out.q50 = out.q75 = out.q95 = out.median_abs_log_error =
        kNaN;
    return out;
  }
  double mean = 0.0;
  for (const double value : logs) mean += value;
  mean /= static_cast<double>(logs.size());
  double variance = 0.0;
  std::vector<double> abs_logs;
  abs_logs.reserve(logs.size());
  for (const double value : logs) {
    variance += (value - mean) * (value - mean);
    abs_logs.push_back(std::abs(value));
  }
  out.log_sigma = std::sqrt(variance / static_cast<double>(logs.size()));
  std::sort(ratios.begin(), ratios.end());
  out.q05 = QuantileSorted(ratios, 0.05);
  out.q25 = QuantileSorted(ratios, 0.25);
  out.q50 = QuantileSorted(ratios, 0.50);
  out.q75 = QuantileSorted(ratios, 0.75);
  out.q95 = QuantileSorted(ratios, 0.95);
  out.median_ratio = out.q50;
  out.median_abs_log_error = Median(std::move(abs_logs));
  return out;
}

FitResult FitEnergyModel(const std::vector<FitSample>& samples, int n_levels, const FitOptions& options) {
  FitResult result = UnfittedResult(samples.size(), n_levels);
  if (const std::string invalid = options.Validate(); !invalid.empty()) {
    result.message = invalid;
    return result;
  }
  if (n_levels < 1) {
    result.message = "the hardware class has no memory levels";
    return result;
  }
  const FitData data = BuildFitData(samples, n_levels, static_cast<Eigen::Index>(result.k.size()));
  result.skipped_samples = data.skipped;
  result.used_samples = static_cast<std::int64_t>(data.rows.size());
  if (data.rows.empty()) {
    result.message = "no sample with a positive energy";
    return result;
  }

  // The full model.
  LogLinearFit fit(data.design, data.energy, data.rows, options);
  result.solver = fit.Solve(options.restarts);
  if (!result.solver.usable) {
    result.message = "the solver found no usable solution: " + result.solver.brief_report;
    return result;
  }
  result.k = fit.K();
  for (std::size_t j = 0; j < result.k.size(); ++j) {
    result.parameters[j].value = result.k[j];
    result.parameters[j].determined = false;
    result.parameters[j].reason = "no run uses this term";
  }
  const std::vector<double> predicted = Predict(data.design, result.k, data.rows);
  for (std::size_t r = 0; r < data.rows.size(); ++r) result.predicted_j[data.rows[r]] = predicted[r];
  result.in_sample = DescribeRatios(predicted, Gather(data.energy, data.rows));
  JudgeParameters(fit, data.design, data.rows, predicted, options, result.solver.final_cost, result.parameters);
  result.cross_validation = CrossValidate(data.design, data.energy, data.rows, data.groups, options);
  result.flops_baseline = FitFlopsBaseline(data, options);
  return result;
}

}  // namespace wattrun::model
