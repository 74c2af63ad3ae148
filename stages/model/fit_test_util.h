// A BUTTER-like sweep of runs with known energies, for the fit's tests.
#pragma once

#include <cmath>
#include <cstdint>
#include <iterator>
#include <random>
#include <utility>
#include <vector>

#include "stages/model/energy_model.h"
#include "stages/model/fit.h"
#include "stages/model/fit_ranks.h"
#include "stages/topology/topology.h"

namespace wattrun::model {

struct SyntheticDataset {
  const char* name;
  std::int64_t observations;
  std::int64_t inputs;
  std::int64_t outputs;
};

// PMLB summaries of the BUTTER data sets (observations, features, outputs).
constexpr SyntheticDataset kDatasets[] = {
    {"529_pollen", 3848, 4, 1},
    {"505_tecator", 240, 124, 1},
    {"201_pol", 15000, 48, 1},
    {"294_satellite_image", 6435, 36, 1},
    {"537_houses", 20640, 8, 1},
    {"adult", 48842, 14, 1},
    {"banana", 5300, 2, 1},
    {"connect_4", 67557, 42, 3},
    {"mnist", 70000, 784, 10},
    {"nursery", 12958, 8, 4},
    {"sleep", 105908, 13, 5},
    {"splice", 3188, 60, 3},
    {"wine_quality_white", 4898, 11, 7},
};
constexpr const char* kShapes[] = {"rectangle",     "trapezoid",     "exponential",    "wide_first_2x",
                                   "wide_first_4x", "wide_first_8x", "wide_first_16x", "rectangle_residual"};
constexpr std::int64_t kDepths[] = {2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 18, 20};

struct Synthetic {
  std::vector<FitSample> samples;
  std::vector<double> true_energy_j;
};

// `runs` runs drawn from the sweep, energies from Table 4 with log-normal
// noise of the given sigma. Deterministic.
inline Synthetic MakeSweep(bool is_gpu, std::size_t runs, double sigma, std::uint64_t seed,
                           const std::vector<std::int64_t>& depths = {std::begin(kDepths), std::end(kDepths)}) {
  const topology::MemoryHierarchy memory = is_gpu ? topology::DefaultGpuHierarchy() : topology::DefaultCpuHierarchy();
  const std::vector<double> k = Table4Parameters(is_gpu);
  std::mt19937_64 random(seed);
  std::normal_distribution<double> noise(0.0, sigma);
  Synthetic out;
  out.samples.reserve(runs);
  out.true_energy_j.reserve(runs);
  for (std::size_t r = 0; r < runs; ++r) {
    const SyntheticDataset& dataset = kDatasets[random() % std::size(kDatasets)];
    const char* shape = kShapes[random() % std::size(kShapes)];
    const std::int64_t depth = depths[random() % depths.size()];
    const std::int64_t size = std::int64_t{1} << (5 + random() % 16);  // 2^5 .. 2^20
    const topology::Network network = topology::BuildNetwork({shape, depth, size, dataset.inputs, dataset.outputs});
    FitSample sample;
    sample.features = topology::ComputeFeatures(network, dataset.observations, 256, 3000, memory);
    const double truth = PredictEnergy(sample.features, k);
    sample.energy_j = truth * std::exp(noise(random));
    sample.group = dataset.name;
    out.samples.push_back(std::move(sample));
    out.true_energy_j.push_back(truth);
  }
  return out;
}

// A fit's result as the bytes it travels in between ranks: equal bytes,
// equal results to the bit (NaNs included).
inline std::vector<char> ResultBytes(const FitResult& fit) {
  ByteWriter w;
  PutFitResult(&w, fit);
  return std::move(w.bytes());
}

}  // namespace wattrun::model
