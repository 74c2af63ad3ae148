// Small statistics for the report's aggregates: quantiles (numpy's default,
// Hyndman-Fan type 7, as everywhere in wattrun), grouped and windowed
// medians with interquartile ranges, histograms, a least-squares line and the
// log-log interpolation of loss curves.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace wattrun::report {

// Quantile q of already sorted values (NaN if empty).
double SortedQuantile(const std::vector<double>& sorted, double q);

struct Quartiles {
  double q25 = 0, q50 = 0, q75 = 0;
  std::size_t n = 0;
};
// Quartiles of the finite values.
Quartiles Summarize(std::vector<double> values);

// One group or window: the median x of its members and the quartiles of y.
struct BinStat {
  double x = 0;
  Quartiles y;
};

// Groups (x, y) by `key` (equal keys form a group), in increasing key
// order; groups with fewer than `min_n` members are dropped.
std::vector<BinStat> GroupBy(const std::vector<double>& key, const std::vector<double>& xs,
                             const std::vector<double>& ys, std::size_t min_n = 1);

// Median and quartiles of y over the window [x·lo, x·hi] around each grid
// point (paper Figure 4: ±50 %, i.e. lo = 0.5, hi = 1.5). Grid points with
// fewer than min_n values are dropped; BinStat::x is the grid point.
std::vector<BinStat> WindowedQuartiles(const std::vector<double>& xs, const std::vector<double>& ys,
                                       const std::vector<double>& grid, double lo, double hi, std::size_t min_n);

// n + 1 edges, evenly spaced in log10 between lo and hi (both > 0).
std::vector<double> LogEdges(double lo, double hi, int n);
std::vector<double> LinearEdges(double lo, double hi, int n);
// Counts of values per bin (values outside [edges.front(), edges.back()] are
// not counted; the last bin includes its upper edge).
std::vector<double> CountInBins(const std::vector<double>& values, const std::vector<double>& edges);

// y = intercept + slope·x by ordinary least squares.
struct LineFit {
  double intercept = 0, slope = 0, r2 = 0;
  bool ok = false;
};
LineFit FitLine(const std::vector<double>& xs, const std::vector<double>& ys);

// First (fractional) epoch at which a loss curve reaches `level`, with
// log-log interpolation between the recorded epochs (linear when a value is
// not positive). nullopt when the curve never reaches it. `epochs` ascending.
std::optional<double> EpochToReach(const std::vector<double>& epochs, const std::vector<double>& losses, double level);

// Up to `max_n` indices of 0..n-1, evenly strided (deterministic).
std::vector<std::size_t> Subsample(std::size_t n, std::size_t max_n);

}  // namespace wattrun::report
