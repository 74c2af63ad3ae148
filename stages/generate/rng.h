// Deterministic random numbers for the generator: every decision draws from
// a stream named by (seed, purpose, id), so the facility is the same for a
// seed whatever the number of ranks and whatever order things are computed
// in. Telemetry noise is counter based (a hash of node and tick), so any
// reading can be recomputed on its own, by the file writer and by the truth.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

namespace wattrun::generate {

inline constexpr std::uint64_t SplitMix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// A key for (seed, purpose, id) that differs in every bit for nearby inputs.
inline constexpr std::uint64_t StreamKey(std::uint64_t seed, std::uint64_t purpose, std::uint64_t id) {
  return SplitMix64(SplitMix64(SplitMix64(seed) ^ (purpose * 0xD1B54A32D192ED03ULL)) ^ id);
}

// What a stream is for; the values are part of the output's definition
// (changing one changes every facility), so never renumber them.
enum class Stream : std::uint64_t {
  kNodes = 1,
  kSweep = 2,
  kRun = 3,
  kLongRuns = 4,
  kOutliers = 5,
  kPacking = 6,
  kPlacement = 7,
  kOtherJobs = 8,
  kJobIds = 9,
  kJoinFaults = 10,
  kTelemetryFaults = 11,
  kFileDirt = 12,
  kRunsFile = 13,
  kLosses = 14,
  kNodeNoise = 15,
  kSacctDirt = 16,
  kSharedJobs = 17,
  kAllocations = 18,
  kSlurmEnergy = 19,
  kCarbon = 20,
};

// xoshiro256** seeded through splitmix64 (Blackman and Vigna's recommendation).
class Rng {
 public:
  Rng(std::uint64_t seed, Stream purpose, std::uint64_t id) {
    std::uint64_t x = StreamKey(seed, static_cast<std::uint64_t>(purpose), id);
    for (auto& s : s_) {
      x += 0x9E3779B97F4A7C15ULL;
      s = SplitMix64(x);
    }
  }

  std::uint64_t Next() {
    const std::uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // Integer in [lo, hi] (inclusive); lo <= hi.
  std::int64_t Int(std::int64_t lo, std::int64_t hi) {
    const double span = static_cast<double>(hi - lo) + 1.0;
    const std::int64_t k = static_cast<std::int64_t>(Uniform() * span);
    return std::min(hi, lo + k);
  }
  bool Bernoulli(double p) { return Uniform() < p; }
  // Standard normal (Box-Muller, one value per call: simple and reproducible).
  double Normal() {
    const double u1 = (static_cast<double>(Next() >> 11) + 0.5) * 0x1.0p-53;
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * 3.14159265358979323846 * u2);
  }
  // exp(Uniform(log lo, log hi)).
  double LogUniform(double lo, double hi) { return std::exp(Uniform(std::log(lo), std::log(hi))); }
  template <typename T>
  void Shuffle(std::vector<T>* values) {
    for (std::size_t i = values->size(); i > 1; --i) {
      const std::size_t j = static_cast<std::size_t>(Int(0, static_cast<std::int64_t>(i) - 1));
      std::swap((*values)[i - 1], (*values)[j]);
    }
  }

 private:
  static std::uint64_t Rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

}  // namespace wattrun::generate
