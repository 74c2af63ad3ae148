#include "stages/topology/topology.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>

#include "core/error.h"

namespace wattrun::topology {
namespace {

constexpr double kKiB = 1024.0;
constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr std::int64_t kMaxFirstWidth = std::int64_t{1} << 30;
constexpr std::string_view kResidualSuffix = "_residual";
constexpr std::string_view kWideFirstPrefix = "wide_first_";
constexpr double kBytesPerFloat = 4.0;

// Parameter counts are computed in 128 bits and saturate here, far above any
// int64 target, so that the search over w0 up to 2^30 never overflows.
__extension__ typedef __int128 Count;
constexpr Count kCountCap = Count{1} << 120;

enum class BaseShape { kRectangle, kTrapezoid, kExponential, kWideFirst };

struct ParsedShape {
  BaseShape base = BaseShape::kRectangle;
  std::int64_t wide_factor = 0;  // N of wide_first_Nx
  bool residual = false;
};

ParsedShape ParseShape(const std::string& shape) {
  ParsedShape parsed;
  std::string_view name = shape;
  if (name.size() > kResidualSuffix.size() && name.substr(name.size() - kResidualSuffix.size()) == kResidualSuffix) {
    parsed.residual = true;
    name.remove_suffix(kResidualSuffix.size());
  }
  if (name == "rectangle") {
    parsed.base = BaseShape::kRectangle;
  } else if (name == "trapezoid") {
    parsed.base = BaseShape::kTrapezoid;
  } else if (name == "exponential") {
    parsed.base = BaseShape::kExponential;
  } else if (name.substr(0, kWideFirstPrefix.size()) == kWideFirstPrefix && name.size() > kWideFirstPrefix.size() + 1 &&
             name.back() == 'x') {
    const std::string_view digits = name.substr(kWideFirstPrefix.size(), name.size() - kWideFirstPrefix.size() - 1);
    std::int64_t factor = 0;
    for (const char c : digits) {
      if (c < '0' || c > '9' || factor > (std::int64_t{1} << 40)) {
        throw Error("unknown network shape '" + shape + "'");
      }
      factor = factor * 10 + (c - '0');
    }
    if (factor < 1) {
      throw Error("network shape '" + shape + "': the factor N of wide_first_Nx must be >= 1");
    }
    parsed.base = BaseShape::kWideFirst;
    parsed.wide_factor = factor;
  } else {
    throw Error("unknown network shape '" + shape +
                "' (expected rectangle, trapezoid, exponential or wide_first_Nx, "
                "optionally with _residual)");
  }
  return parsed;
}

// round(numerator / denominator), half to even, for numerator >= 0 and
// denominator > 0 (Python's round on the exact rational value).
std::int64_t RoundHalfEven(Count numerator, Count denominator) {
  const Count quotient = numerator / denominator;
  const Count twice_remainder = 2 * (numerator % denominator);
  if (twice_remainder > denominator || (twice_remainder == denominator && quotient % 2 != 0)) {
    return static_cast<std::int64_t>(quotient + 1);
  }
  return static_cast<std::int64_t>(quotient);
}

std::vector<std::int64_t> Widths(const ParsedShape& shape, std::int64_t depth, std::int64_t w0,
                                 std::int64_t n_outputs) {
  std::vector<std::int64_t> widths;
  widths.reserve(static_cast<std::size_t>(depth));
  switch (shape.base) {
    case BaseShape::kRectangle:
      widths.assign(static_cast<std::size_t>(depth - 1), w0);
      widths.push_back(n_outputs);
      break;
    case BaseShape::kTrapezoid:
      // w0 - k (w0 - n_out) / (d - 1) = ((d - 1 - k) w0 + k n_out) / (d - 1) >= 0.
      for (std::int64_t k = 0; k < depth; ++k) {
        const Count numerator = Count{depth - 1 - k} * w0 + Count{k} * n_outputs;
        widths.push_back(RoundHalfEven(numerator, depth - 1));
      }
      break;
    case BaseShape::kExponential: {
      const double beta =
          std::pow(static_cast<double>(n_outputs) / static_cast<double>(w0), 1.0 / static_cast<double>(depth - 1));
      for (std::int64_t k = 0; k < depth; ++k) {
        const double value = static_cast<double>(w0) * std::pow(beta, static_cast<double>(k));
        widths.push_back(std::max(n_outputs, static_cast<std::int64_t>(std::nearbyint(value))));
      }
      break;
    }
    case BaseShape::kWideFirst: {
      widths.push_back(w0);
      const std::int64_t inner = std::max<std::int64_t>(1, RoundHalfEven(w0, shape.wide_factor));
      widths.insert(widths.end(), static_cast<std::size_t>(depth - 2), inner);
      widths.push_back(n_outputs);
      break;
    }
  }
  return widths;
}

Count SaturatingAdd(Count a, Count b) { return std::min(kCountCap, a + b); }

// (inputs + 1) * units summed over the dense layers, saturating at kCountCap.
Count CountParameters128(std::int64_t n_inputs, const std::vector<std::int64_t>& widths) {
  Count total = 0;
  std::int64_t previous = n_inputs;
  for (const std::int64_t width : widths) {
    // Both factors are < 2^62 here, so the product fits in 128 bits.
    total = SaturatingAdd(total, (Count{previous} + 1) * width);
    previous = width;
  }
  return total;
}

Count AbsDifference(Count a, Count b) { return a > b ? a - b : b - a; }

// Where a working set lives, and how much of the hierarchy is occupied up to
// and including it (the starting point for the sets placed after it).
struct Placement {
  int level = 0;
  double occupied = 0.0;
};

// The walk of spec step 11, exactly as written there.
Placement Place(const MemoryHierarchy& memory, double replicated, double distributed, double prev_occupied) {
  double cap = 0.0;
  double occupied = prev_occupied;
  for (const MemoryLevel& level : memory) {
    cap += level.bytes_per_unit;
    if (cap <= prev_occupied) {
      continue;
    }
    const double cached = replicated + distributed / static_cast<double>(level.units);
    occupied = prev_occupied + cached;
    if (occupied <= cap) {
      return {level.level, occupied};
    }
    prev_occupied = cap;
  }
  // Fits no level: the last one.
  return {memory.back().level, occupied};
}

std::int64_t CeilDiv(std::int64_t numerator, std::int64_t denominator) {
  return (numerator + denominator - 1) / denominator;
}

}  // namespace

MemoryHierarchy DefaultCpuHierarchy() {
  return {{1, 32 * kKiB, 36}, {2, 1 * kMiB, 36}, {3, 24.75 * kMiB, 2}, {4, 96 * kGiB, 1}};
}

MemoryHierarchy DefaultGpuHierarchy() { return {{1, 112 * kKiB, 168}, {2, 6 * kMiB, 2}, {3, 16 * kGiB, 2}}; }

std::vector<std::int64_t> WidthsForFirstWidth(const std::string& shape, std::int64_t depth, std::int64_t w0,
                                              std::int64_t n_outputs) {
  if (depth < 2) {
    throw Error("network depth must be >= 2, got " + std::to_string(depth));
  }
  if (w0 < 1 || n_outputs < 1) {
    throw Error("network widths must be >= 1");
  }
  return Widths(ParseShape(shape), depth, w0, n_outputs);
}

std::int64_t CountParameters(std::int64_t n_inputs, const std::vector<std::int64_t>& widths) {
  const Count count = CountParameters128(n_inputs, widths);
  if (count > std::numeric_limits<std::int64_t>::max()) {
    throw Error("network parameter count overflows 64 bits");
  }
  return static_cast<std::int64_t>(count);
}

Network BuildNetwork(const NetworkSpec& spec) {
  const ParsedShape shape = ParseShape(spec.shape);
  if (spec.depth < 2) {
    throw Error("network depth must be >= 2, got " + std::to_string(spec.depth));
  }
  if (spec.n_inputs < 1 || spec.n_outputs < 1) {
    throw Error("network input and output widths must be >= 1");
  }
  if (spec.target_size < 0) {
    throw Error("network target size must be >= 0");
  }
  const Count target = spec.target_size;
  auto count_for = [&](std::int64_t w0) {
    return CountParameters128(spec.n_inputs, Widths(shape, spec.depth, w0, spec.n_outputs));
  };
  // Smallest w0 in [lo, hi] whose count reaches `goal` (hi if none does).
  auto lower_bound = [&](std::int64_t lo, std::int64_t hi, Count goal) {
    while (lo < hi) {
      const std::int64_t mid = lo + (hi - lo) / 2;
      if (count_for(mid) >= goal) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo;
  };
  // The count is non-decreasing in w0 for every shape (each width is), so the
  // closest count is at the first w0 that reaches the target or the one
  // before it; ties go to the smaller w0.
  const std::int64_t reach = lower_bound(1, kMaxFirstWidth, target);
  std::int64_t best = reach;
  Count best_count = count_for(reach);
  if (reach > 1) {
    const Count below = count_for(reach - 1);
    if (AbsDifference(below, target) <= AbsDifference(best_count, target)) {
      best = reach - 1;
      best_count = below;
    }
  }
  // A plateau (e.g. exponential with w0 <= n_out, where every width is n_out)
  // gives the same count for several w0: take the smallest of them.
  const std::int64_t first_equal = lower_bound(1, best, best_count);
  if (count_for(first_equal) == best_count) {
    best = first_equal;
  }

  Network network;
  const std::vector<std::int64_t> widths = Widths(shape, spec.depth, best, spec.n_outputs);
  network.full_widths.reserve(widths.size() + 1);
  network.full_widths.push_back(spec.n_inputs);
  network.full_widths.insert(network.full_widths.end(), widths.begin(), widths.end());
  network.n_params = CountParameters(spec.n_inputs, widths);
  network.num_nodes = 0;
  for (const std::int64_t width : network.full_widths) {
    network.num_nodes += width;
  }
  network.residual = shape.residual;
  return network;
}

RunFeatures ComputeFeatures(const Network& network, std::int64_t n_observations, std::int64_t batch_size,
                            std::int64_t epochs, const MemoryHierarchy& memory) {
  if (network.full_widths.size() < 2) {
    throw Error("network needs at least one layer");
  }
  if (batch_size < 1) {
    throw Error("batch size must be >= 1, got " + std::to_string(batch_size));
  }
  if (n_observations < 0 || epochs < 0) {
    throw Error("observations and epochs must be >= 0");
  }
  if (memory.empty()) {
    throw Error("memory hierarchy has no levels");
  }
  const std::vector<std::int64_t>& w = network.full_widths;
  const std::size_t n_layers = w.size() - 1;
  const double batch = static_cast<double>(batch_size);
  const double params = static_cast<double>(network.n_params);

  RunFeatures features;
  features.batch_size = batch_size;
  features.epochs = epochs;
  features.n_layers = static_cast<std::int64_t>(n_layers);
  features.n_params = network.n_params;
  features.h_t = CeilDiv(4 * n_observations, 5 * batch_size);
  features.h_s = CeilDiv(n_observations, 5 * batch_size);

  // Operations per batch (spec step 10), summed exactly in 128 bits.
  Count fwd = 0;
  Count bwd = 0;
  for (std::size_t l = 0; l < n_layers; ++l) {
    const Count product = Count{w[l]} * w[l + 1];
    fwd += product + w[l + 1];
    bwd += 2 * Count{w[l + 1]} + product + (l > 0 ? product : 0);
  }
  features.fwd_ops = static_cast<double>(fwd * batch_size);
  features.bwd_ops = static_cast<double>(bwd * batch_size + Count{network.n_params} * (1 + batch_size));

  // Working sets and their placement (spec step 11).
  double t_occupied = 0.0;
  double t_max_bytes = 0.0;
  features.t_bytes.reserve(n_layers);
  features.t_level.reserve(n_layers);
  for (std::size_t l = 0; l < n_layers; ++l) {
    const double distributed = kBytesPerFloat * batch * static_cast<double>(w[l] + w[l + 1]);
    const Placement placement = Place(memory, 0.0, distributed, 0.0);
    features.t_bytes.push_back(distributed);
    features.t_level.push_back(placement.level);
    t_occupied = std::max(t_occupied, placement.occupied);
    t_max_bytes = std::max(t_max_bytes, distributed);
  }
  features.f_bytes = kBytesPerFloat * params;
  const Placement f = Place(memory, features.f_bytes, 0.0, t_occupied);

  const double b_replicated = 2.0 * kBytesPerFloat * params;
  const double b_distributed = kBytesPerFloat * batch * static_cast<double>(network.num_nodes) - t_max_bytes;
  const Placement b = Place(memory, b_replicated, b_distributed, t_occupied);
  features.b_bytes = b_replicated + b_distributed;

  features.d_bytes = static_cast<double>(n_observations) * kBytesPerFloat * static_cast<double>(w.front() + w.back());
  const Placement d = Place(memory, 0.0, features.d_bytes, b.occupied);

  features.f_test_level = f.level;
  features.f_level = b.level;
  features.b_level = b.level;
  features.d_level = d.level;
  return features;
}

}  // namespace wattrun::topology
