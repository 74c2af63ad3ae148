#include "store/batch_encoding.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/h5.h"

namespace wattrun::store {
namespace {

constexpr std::array<double, 4> kScales = {1.0, 10.0, 100.0, 1000.0};
constexpr char kTimeUnit[] = "time_unit_us";
constexpr char kTimeBase[] = "time_base_us";
constexpr char kWattsScale[] = "watts_scale";

constexpr double kLowestCode = -2147483647.0;
constexpr double kHighestCode = 2147483647.0;

// The int32 code nearest x (ties away from zero); x outside int32's range,
// or NaN, gives the lowest code (no undefined conversion, no libm call).
inline std::int32_t CodeOf(double x) {
  const double c = x >= kLowestCode && x <= kHighestCode ? x : kLowestCode;
  return static_cast<std::int32_t>(c >= 0 ? c + 0.5 : c - 0.5);
}

inline bool SameBits(double a, double b) { return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b); }

// Whether w is code / scale for its int32 code, to the bit (so -0.0, NaN,
// infinities and values past int32 are not: their code decodes to another
// double).
inline bool ExactAt(double w, double scale) { return SameBits(static_cast<double>(CodeOf(w * scale)) / scale, w); }

// Whether every w[i] is exact at `scale`, in branch-free loops. At scale 1
// (integer watts, the common case) without the multiplication and the
// division, which are identities there: 1 ns a reading, not 5.
bool AllExactAt(const double* w, std::size_t n, double scale) {
  bool all = true;
  if (scale == 1.0) {
    // An integer is its own truncation: no rounding needed to ask.
    for (std::size_t i = 0; i < n; ++i) {
      const double c = w[i] >= kLowestCode && w[i] <= kHighestCode ? w[i] : kLowestCode;
      all &= SameBits(static_cast<double>(static_cast<std::int32_t>(c)), w[i]);
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) all &= ExactAt(w[i], scale);
  }
  return all;
}

}  // namespace

hid_t BatchEncoding::time_type() const { return compact_time() ? H5T_NATIVE_UINT32 : H5T_NATIVE_INT64; }
hid_t BatchEncoding::watts_type() const { return compact_watts() ? H5T_NATIVE_INT32 : H5T_NATIVE_DOUBLE; }

void BatchEncoding::EncodeTimes(const TimeUs* in, std::size_t n, std::uint32_t* out) const {
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint32_t>((in[i] - time_base_us) / time_unit_us);
}

void BatchEncoding::EncodeWatts(const double* in, std::size_t n, std::int32_t* out) const {
  const auto scale = static_cast<double>(watts_scale);
  for (std::size_t i = 0; i < n; ++i) out[i] = CodeOf(in[i] * scale);
}

void BatchEncoding::DecodeTimes(const std::uint32_t* in, std::size_t n, TimeUs* out) const {
  for (std::size_t i = 0; i < n; ++i) out[i] = time_base_us + time_unit_us * static_cast<TimeUs>(in[i]);
}

void BatchEncoding::DecodeWatts(const std::int32_t* in, std::size_t n, double* out) const {
  if (watts_scale == 1) {
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<double>(in[i]);
    return;
  }
  // A division, not a multiplication by 1/scale: only the division is
  // correctly rounded to the value the text was parsed to.
  const auto scale = static_cast<double>(watts_scale);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<double>(in[i]) / scale;
}

void BatchEncoding::FinishTimes(TimeUs* t, std::size_t n) const {
  if (!compact_time()) return;
  for (std::size_t i = 0; i < n; ++i) t[i] = time_base_us + time_unit_us * t[i];
}

void BatchEncoding::FinishWatts(double* w, std::size_t n) const {
  if (!compact_watts() || watts_scale == 1) return;
  const auto scale = static_cast<double>(watts_scale);
  for (std::size_t i = 0; i < n; ++i) w[i] /= scale;
}

void BatchEncoding::WriteAttributes(hid_t file) const {
  h5::SetAttribute(file, kTimeUnit, time_unit_us);
  h5::SetAttribute(file, kTimeBase, time_base_us);
  h5::SetAttribute(file, kWattsScale, watts_scale);
}

BatchEncoding BatchEncoding::ReadAttributes(hid_t file, const std::string& path) {
  BatchEncoding e;
  if (!h5::HasAttribute(file, kTimeUnit)) return e;
  e.time_unit_us = h5::GetIntAttribute(file, kTimeUnit);
  e.time_base_us = h5::GetIntAttribute(file, kTimeBase);
  e.watts_scale = h5::GetIntAttribute(file, kWattsScale);
  const bool unit_ok =
      e.time_unit_us == 0 || e.time_unit_us == 1 || e.time_unit_us == 1000 || e.time_unit_us == kMicrosPerSecond;
  const bool scale_ok =
      e.watts_scale == 0 || e.watts_scale == 1 || e.watts_scale == 10 || e.watts_scale == 100 || e.watts_scale == 1000;
  if (!unit_ok || !scale_ok) {
    throw Error(path + ": batch is damaged: " + kTimeUnit + " " + std::to_string(e.time_unit_us) + ", " + kWattsScale +
                " " + std::to_string(e.watts_scale) + " (no wattrun writes these)");
  }
  return e;
}

int EncodingScan::DecimalsOf(double w, int at_least) {
  for (int k = at_least; k < kNoScale; ++k) {
    if (ExactAt(w, kScales[static_cast<std::size_t>(k)])) return k;
  }
  return kNoScale;
}

void EncodingScan::Add(const TimeUs* t, const double* w, std::size_t n) {
  if (n == 0) return;
  // Branch-free loops (min, max, remainders ORed): each reading costs a
  // few cycles, next to the ~100 its parse took.
  TimeUs first = any_ ? first_ : t[0], last = any_ ? last_ : t[0];
  TimeUs sub_second = 0;
  for (std::size_t i = 0; i < n; ++i) {
    first = std::min(first, t[i]);
    last = std::max(last, t[i]);
    sub_second |= t[i] % kMicrosPerSecond;
  }
  TimeUs sub_milli = 0;  // whole seconds are whole ms: asked only when they are not
  if (sub_second != 0 && whole_millis_) {
    for (std::size_t i = 0; i < n; ++i) sub_milli |= t[i] % 1000;
  }
  first_ = first;
  last_ = last;
  any_ = true;
  whole_seconds_ = whole_seconds_ && sub_second == 0;
  whole_millis_ = whole_millis_ && sub_milli == 0;
  if (decimals_ == kNoScale || AllExactAt(w, n, kScales[static_cast<std::size_t>(decimals_)])) return;
  // Some reading needs more decimals: find the fewest that hold them all.
  for (std::size_t i = 0; i < n && decimals_ < kNoScale; ++i) {
    if (!ExactAt(w[i], kScales[static_cast<std::size_t>(decimals_)])) decimals_ = DecimalsOf(w[i], decimals_ + 1);
  }
}

void EncodingScan::Merge(const EncodingScan& other) {
  if (!other.any_) return;
  first_ = any_ ? std::min(first_, other.first_) : other.first_;
  last_ = any_ ? std::max(last_, other.last_) : other.last_;
  any_ = true;
  whole_seconds_ = whole_seconds_ && other.whole_seconds_;
  whole_millis_ = whole_millis_ && other.whole_millis_;
  decimals_ = std::max(decimals_, other.decimals_);
}

BatchEncoding EncodingScan::Choose() const {
  BatchEncoding e;
  if (!any_) return e;
  const std::int64_t unit = whole_seconds_ ? kMicrosPerSecond : whole_millis_ ? 1000 : 1;
  // first_ and every time are multiples of unit: the offsets are exact.
  if (static_cast<std::uint64_t>(last_ - first_) / static_cast<std::uint64_t>(unit) <=
      std::numeric_limits<std::uint32_t>::max()) {
    e.time_unit_us = unit;
    e.time_base_us = first_;
  }
  if (decimals_ < kNoScale) e.watts_scale = static_cast<std::int64_t>(kScales[static_cast<std::size_t>(decimals_)]);
  return e;
}

BatchEncoding EncodingScan::AllChoose(const Comm& comm) const {
  constexpr std::size_t kFields = 6;
  const std::vector<std::int64_t> mine = {any_ ? 1 : 0,          first_,   last_, whole_seconds_ ? 1 : 0,
                                          whole_millis_ ? 1 : 0, decimals_};
  const std::vector<std::int64_t> all = comm.AllGather(mine);  // rank after rank
  EncodingScan merged;
  for (std::size_t at = 0; at + kFields <= all.size(); at += kFields) {
    EncodingScan rank;
    rank.any_ = all[at] != 0;
    rank.first_ = all[at + 1];
    rank.last_ = all[at + 2];
    rank.whole_seconds_ = all[at + 3] != 0;
    rank.whole_millis_ = all[at + 4] != 0;
    rank.decimals_ = static_cast<int>(all[at + 5]);
    merged.Merge(rank);
  }
  return merged.Choose();
}

}  // namespace wattrun::store
