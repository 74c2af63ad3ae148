// The paper's energy model (spec step 12): E = w^T Q k, linear in
// k = [ke, kp, ko, kd, a_1..a_C, m_1..m_C], and its evaluation.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "stages/topology/topology.h"

namespace wattrun::model {

// Units of k (spec step 12's reading of Table 4): per-event costs in mJ,
// operations per GFLOP, working-set sizes in MiB; ke in J.
inline constexpr double kJoulesPerMilliJoule = 1e-3;
inline constexpr double kFlopsPerGflop = 1e9;
inline constexpr double kBytesPerMiB = 1024.0 * 1024.0;
inline constexpr std::size_t kFixedParameters = 4;  // ke kp ko kd

// Parameter names in k's order, e.g. ke kp ko kd a1..aC m1..mC.
std::vector<std::string> ParameterNames(int n_levels);
// Units in the spec's reading of Table 4 ("J", "mJ/pass", "mJ/GFLOP", ...).
std::vector<std::string> ParameterUnits(int n_levels);

// Row of the design: E_hat = DesignRow(f) . k, in joules when k is in the
// units of ParameterUnits (per-event terms are converted from mJ).
std::vector<double> DesignRow(const topology::RunFeatures& features, int n_levels);
double PredictEnergy(const topology::RunFeatures& features, const std::vector<double>& k);

// The paper's Table 4 as the spec reads it (mJ per event, ke in J).
std::vector<double> Table4Parameters(bool is_gpu);

}  // namespace wattrun::model
