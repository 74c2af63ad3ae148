// Exact quantiles as mergeable reductions.
//
// Power readings take few distinct values (integer watts on real facilities),
// so the exact distribution of any number of readings is a short list of
// (value, count) pairs. ValueCounts accumulates it (a dense counter for
// integers 0..65535 makes the hot path an increment), merges across nodes and
// ranks, and answers numpy's default (type 7, "linear") quantile exactly,
// bit for bit as numpy computes it. Memory does not grow with the number of
// readings, only with the number of distinct values.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace wattrun {

// numpy.quantile(sorted_values, q) with method="linear" on already sorted data.
double QuantileSorted(const std::vector<double>& sorted, double q);
// numpy's interpolation between order statistics a (index floor(h)) and b.
double NumpyLerp(double a, double b, double t);
// numpy's linear method for n values, as a virtual index: order statistics
// `lower` and lower + 1 (clipped to n - 1) and the weight `gamma` between them.
void QuantileVirtualIndex(std::int64_t n, double q, std::int64_t* lower, double* gamma);
// The type-7 quantile of n values given only as order statistics
// (value_at_rank(k), k in [0, n)): histograms, value counts, sorted arrays.
template <typename ValueAtRank>
double QuantileOfRanks(std::int64_t n, double q, ValueAtRank value_at_rank) {
  if (n <= 0) return __builtin_nan("");
  std::int64_t lo = 0;
  double gamma = 0;
  QuantileVirtualIndex(n, q, &lo, &gamma);
  const std::int64_t hi = std::min(lo + 1, n - 1);
  return NumpyLerp(value_at_rank(lo), value_at_rank(hi), gamma);
}

class ValueCounts {
 public:
  void Add(double value) {
    if (!AddDense(value)) AddSparse(value);
    ++total_;
    cache_valid_ = false;
  }
  // The same for n values (the telemetry pass's hot loop).
  void AddAll(const double* values, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      if (!AddDense(values[i])) AddSparse(values[i]);
    }
    total_ += static_cast<std::int64_t>(n);
    cache_valid_ = false;
  }
  void AddCount(double value, std::int64_t count);

  // Merges another accumulator into this one (order does not matter: the
  // result is exact either way).
  void Merge(const ValueCounts& other);
  void Clear();

  std::int64_t total() const { return total_; }
  bool empty() const { return total_ == 0; }

  // Sorted distinct values with their counts (compacts the accumulator).
  const std::vector<std::pair<double, std::int64_t>>& Sorted() const;

  // Exact type-7 quantile; NaN if empty.
  double Quantile(double q) const;
  double Min() const;
  double Max() const;
  std::int64_t CountEqual(double value) const;

  // Flat serialization for MPI: [value, count-as-double] pairs.
  std::vector<double> Serialize() const;
  static ValueCounts Deserialize(const double* data, std::size_t n_pairs);

 private:
  static constexpr std::uint32_t kDense = 65536;
  static constexpr std::size_t kPendingLimit = 1 << 16;
  // Integers in [0, kDense) are counted in place; false for any other value.
  bool AddDense(double value, std::int64_t count = 1) {
    if (!(value >= 0.0 && value < kDense)) return false;  // also NaN
    const auto as_int = static_cast<std::uint32_t>(value);
    if (static_cast<double>(as_int) != value) return false;
    if (dense_.empty()) dense_.assign(kDense, 0);
    dense_[as_int] += count;
    dense_lo_ = std::min(dense_lo_, as_int);
    dense_hi_ = std::max(dense_hi_, as_int);
    return true;
  }
  void AddSparse(double value) {
    sparse_pending_.push_back(value);
    if (sparse_pending_.size() >= kPendingLimit) CompactPending();
  }
  void CompactPending() const;
  double ValueAtRank(std::int64_t rank) const;

  // Mutable: compaction is an internal representation change.
  // Kept allocated across Clear(); only [dense_lo_, dense_hi_] is ever non-zero.
  mutable std::vector<std::int64_t> dense_;
  std::uint32_t dense_lo_ = kDense;
  std::uint32_t dense_hi_ = 0;
  mutable std::vector<double> sparse_pending_;
  mutable std::vector<std::pair<double, std::int64_t>> sparse_;  // sorted, no dense-range integers
  mutable std::vector<std::pair<double, std::int64_t>> sorted_cache_;
  mutable bool cache_valid_ = false;
  std::int64_t total_ = 0;
};

}  // namespace wattrun
