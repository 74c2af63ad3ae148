#include "stages/report/stats.h"

#include "core/quantile.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

namespace wattrun::report {

double SortedQuantile(const std::vector<double>& sorted, double q) { return QuantileSorted(sorted, q); }

Quartiles Summarize(std::vector<double> values) {
  values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return !std::isfinite(v); }), values.end());
  std::sort(values.begin(), values.end());
  Quartiles q;
  q.n = values.size();
  q.q25 = SortedQuantile(values, 0.25);
  q.q50 = SortedQuantile(values, 0.5);
  q.q75 = SortedQuantile(values, 0.75);
  return q;
}

std::vector<BinStat> GroupBy(const std::vector<double>& key, const std::vector<double>& xs,
                             const std::vector<double>& ys, std::size_t min_n) {
  std::map<double, std::pair<std::vector<double>, std::vector<double>>> groups;
  for (std::size_t i = 0; i < key.size() && i < xs.size() && i < ys.size(); ++i) {
    if (!std::isfinite(key[i]) || !std::isfinite(xs[i]) || !std::isfinite(ys[i])) continue;
    auto& g = groups[key[i]];
    g.first.push_back(xs[i]);
    g.second.push_back(ys[i]);
  }
  std::vector<BinStat> out;
  for (auto& [k, g] : groups) {
    if (g.first.size() < min_n) continue;
    BinStat b;
    b.x = Summarize(std::move(g.first)).q50;
    b.y = Summarize(std::move(g.second));
    out.push_back(b);
  }
  return out;
}

std::vector<BinStat> WindowedQuartiles(const std::vector<double>& xs, const std::vector<double>& ys,
                                       const std::vector<double>& grid, double lo, double hi, std::size_t min_n) {
  std::vector<std::pair<double, double>> pts;
  for (std::size_t i = 0; i < xs.size() && i < ys.size(); ++i) {
    if (std::isfinite(xs[i]) && std::isfinite(ys[i])) pts.emplace_back(xs[i], ys[i]);
  }
  std::sort(pts.begin(), pts.end());
  std::vector<BinStat> out;
  std::vector<double> window;
  for (double g : grid) {
    const auto first =
        std::lower_bound(pts.begin(), pts.end(), std::make_pair(g * lo, -std::numeric_limits<double>::infinity()));
    const auto last =
        std::upper_bound(pts.begin(), pts.end(), std::make_pair(g * hi, std::numeric_limits<double>::infinity()));
    if (last - first < static_cast<std::ptrdiff_t>(std::max<std::size_t>(min_n, 1))) continue;
    window.clear();
    for (auto it = first; it != last; ++it) window.push_back(it->second);
    BinStat b;
    b.x = g;
    b.y = Summarize(window);
    out.push_back(b);
  }
  return out;
}

std::vector<double> LogEdges(double lo, double hi, int n) {
  std::vector<double> e(static_cast<std::size_t>(n) + 1);
  const double a = std::log10(lo), b = std::log10(hi);
  for (int i = 0; i <= n; ++i) e[static_cast<std::size_t>(i)] = std::pow(10.0, a + (b - a) * i / n);
  return e;
}

std::vector<double> LinearEdges(double lo, double hi, int n) {
  std::vector<double> e(static_cast<std::size_t>(n) + 1);
  for (int i = 0; i <= n; ++i) e[static_cast<std::size_t>(i)] = lo + (hi - lo) * i / n;
  return e;
}

std::vector<double> CountInBins(const std::vector<double>& values, const std::vector<double>& edges) {
  std::vector<double> counts(edges.size() > 1 ? edges.size() - 1 : 0, 0.0);
  if (counts.empty()) return counts;
  for (double v : values) {
    if (!(v >= edges.front() && v <= edges.back())) continue;
    auto it = std::upper_bound(edges.begin(), edges.end(), v);
    std::size_t bin = static_cast<std::size_t>(it - edges.begin());
    bin = bin == 0 ? 0 : bin - 1;
    if (bin >= counts.size()) bin = counts.size() - 1;
    counts[bin] += 1;
  }
  return counts;
}

LineFit FitLine(const std::vector<double>& xs, const std::vector<double>& ys) {
  LineFit f;
  double n = 0, sx = 0, sy = 0;
  for (std::size_t i = 0; i < xs.size() && i < ys.size(); ++i) {
    if (!std::isfinite(xs[i]) || !std::isfinite(ys[i])) continue;
    n += 1;
    sx += xs[i];
    sy += ys[i];
  }
  if (n < 2) return f;
  const double mx = sx / n, my = sy / n;
  double sxx = 0, sxy = 0, syy = 0;
  for (std::size_t i = 0; i < xs.size() && i < ys.size(); ++i) {
    if (!std::isfinite(xs[i]) || !std::isfinite(ys[i])) continue;
    sxx += (xs[i] - mx) * (xs[i] - mx);
    sxy += (xs[i] - mx) * (ys[i] - my);
    syy += (ys[i] - my) * (ys[i] - my);
  }
  if (!(sxx > 0)) return f;
  f.slope = sxy / sxx;
  f.intercept = my - f.slope * mx;
  f.r2 = syy > 0 ? (sxy * sxy) / (sxx * syy) : 1.0;
  f.ok = true;
  return f;
}

std::optional<double> EpochToReach(const std::vector<double>& epochs, const std::vector<double>& losses, double level) {
  for (std::size_t i = 0; i < epochs.size() && i < losses.size(); ++i) {
    if (!(losses[i] <= level)) continue;
    if (i == 0) return epochs[0];
    const double e0 = epochs[i - 1], e1 = epochs[i], l0 = losses[i - 1], l1 = losses[i];
    if (e0 > 0 && e1 > 0 && l0 > 0 && l1 > 0 && level > 0 && l0 != l1) {
      const double t = (std::log(level) - std::log(l0)) / (std::log(l1) - std::log(l0));
      return std::exp(std::log(e0) + t * (std::log(e1) - std::log(e0)));
    }
    if (l0 == l1) return e1;
    const double t = (level - l0) / (l1 - l0);
    return e0 + t * (e1 - e0);
  }
  return std::nullopt;
}

std::vector<std::size_t> Subsample(std::size_t n, std::size_t max_n) {
  std::vector<std::size_t> idx;
  if (n == 0 || max_n == 0) return idx;
  if (n <= max_n) {
    idx.resize(n);
    std::iota(idx.begin(), idx.end(), std::size_t{0});
    return idx;
  }
  idx.reserve(max_n);
  for (std::size_t k = 0; k < max_n; ++k) idx.push_back(k * n / max_n);
  return idx;
}

}  // namespace wattrun::report
