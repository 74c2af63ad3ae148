#include "core/quantile.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace wattrun {

double NumpyLerp(double a, double b, double t) {
  // numpy._lerp: a + (b - a) * t, but b - (b - a) * (1 - t) when t >= 0.5,
  // which keeps the result monotone and exact at t == 1.
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

// numpy's linear method: virtual index (n - 1) * q, clipped to [0, n - 1].
void QuantileVirtualIndex(std::int64_t n, double q, std::int64_t* lower, double* gamma) {
  const double h = static_cast<double>(n - 1) * q;
  double floor_h = std::floor(h);
  *gamma = h - floor_h;
  if (floor_h < 0) {
    floor_h = 0;
    *gamma = 0;
  }
  if (floor_h > static_cast<double>(n - 1)) {
    floor_h = static_cast<double>(n - 1);
    *gamma = 0;
  }
  *lower = static_cast<std::int64_t>(floor_h);
}

double QuantileSorted(const std::vector<double>& sorted, double q) {
  return QuantileOfRanks(static_cast<std::int64_t>(sorted.size()), q,
                         [&](std::int64_t k) { return sorted[static_cast<std::size_t>(k)]; });
}

void ValueCounts::AddCount(double value, std::int64_t count) {
  if (count <= 0) return;
  if (!AddDense(value, count)) {
    CompactPending();
    auto it = std::lower_bound(sparse_.begin(), sparse_.end(), std::make_pair(value, std::int64_t{0}),
                               [](const auto& x, const auto& y) { return x.first < y.first; });
    if (it != sparse_.end() && it->first == value) {
      it->second += count;
    } else {
      sparse_.insert(it, {value, count});
    }
  }
  total_ += count;
  cache_valid_ = false;
}

void ValueCounts::CompactPending() const {
  if (sparse_pending_.empty()) return;
  std::sort(sparse_pending_.begin(), sparse_pending_.end());
  std::vector<std::pair<double, std::int64_t>> fresh;
  for (double v : sparse_pending_) {
    if (!fresh.empty() && fresh.back().first == v) {
      ++fresh.back().second;
    } else {
      fresh.emplace_back(v, 1);
    }
  }
  sparse_pending_.clear();
  std::vector<std::pair<double, std::int64_t>> merged;
  merged.reserve(sparse_.size() + fresh.size());
  std::size_t i = 0, j = 0;
  while (i < sparse_.size() || j < fresh.size()) {
    if (j == fresh.size() || (i < sparse_.size() && sparse_[i].first < fresh[j].first)) {
      merged.push_back(sparse_[i++]);
    } else if (i == sparse_.size() || fresh[j].first < sparse_[i].first) {
      merged.push_back(fresh[j++]);
    } else {
      merged.emplace_back(sparse_[i].first, sparse_[i].second + fresh[j].second);
      ++i;
      ++j;
    }
  }
  sparse_.swap(merged);
  cache_valid_ = false;
}

void ValueCounts::Merge(const ValueCounts& other) {
  for (const auto& [value, count] : other.Sorted()) AddCount(value, count);
}

void ValueCounts::Clear() {
  if (!dense_.empty() && dense_lo_ <= dense_hi_) {
    std::fill(dense_.begin() + dense_lo_, dense_.begin() + dense_hi_ + 1, 0);
  }
  dense_lo_ = kDense;
  dense_hi_ = 0;
  sparse_pending_.clear();
  sparse_.clear();
  sorted_cache_.clear();
  cache_valid_ = false;
  total_ = 0;
}

const std::vector<std::pair<double, std::int64_t>>& ValueCounts::Sorted() const {
  CompactPending();
  if (cache_valid_) return sorted_cache_;
  sorted_cache_.clear();
  // Sparse values are all outside the dense integer set: merge by value.
  std::size_t s = 0;
  // Negative and sub-zero sparse values come first.
  auto emit_sparse_below = [&](double bound) {
    while (s < sparse_.size() && sparse_[s].first < bound) sorted_cache_.push_back(sparse_[s++]);
  };
  if (!dense_.empty() && dense_lo_ <= dense_hi_) {
    for (std::uint32_t v = dense_lo_; v <= dense_hi_; ++v) {
      if (dense_[v] == 0) continue;
      emit_sparse_below(static_cast<double>(v));
      sorted_cache_.emplace_back(static_cast<double>(v), dense_[v]);
    }
  }
  emit_sparse_below(std::numeric_limits<double>::infinity());
  while (s < sparse_.size()) sorted_cache_.push_back(sparse_[s++]);
  cache_valid_ = true;
  return sorted_cache_;
}

double ValueCounts::ValueAtRank(std::int64_t rank) const {
  std::int64_t seen = 0;
  for (const auto& [value, count] : Sorted()) {
    seen += count;
    if (rank < seen) return value;
  }
  return Sorted().back().first;
}

double ValueCounts::Quantile(double q) const {
  return QuantileOfRanks(total_, q, [this](std::int64_t k) { return ValueAtRank(k); });
}

double ValueCounts::Min() const {
  return total_ == 0 ? std::numeric_limits<double>::quiet_NaN() : Sorted().front().first;
}
double ValueCounts::Max() const {
  return total_ == 0 ? std::numeric_limits<double>::quiet_NaN() : Sorted().back().first;
}

std::int64_t ValueCounts::CountEqual(double value) const {
  for (const auto& [v, c] : Sorted()) {
    if (v == value) return c;
  }
  return 0;
}

std::vector<double> ValueCounts::Serialize() const {
  std::vector<double> out;
  out.reserve(Sorted().size() * 2);
  for (const auto& [v, c] : Sorted()) {
    out.push_back(v);
    out.push_back(static_cast<double>(c));  // exact below 2^53 readings
  }
  return out;
}

ValueCounts ValueCounts::Deserialize(const double* data, std::size_t n_pairs) {
  ValueCounts out;
  for (std::size_t i = 0; i < n_pairs; ++i) out.AddCount(data[2 * i], static_cast<std::int64_t>(data[2 * i + 1]));
  return out;
}

}  // namespace wattrun
