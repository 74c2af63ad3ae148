#include "store/batch_encoding.h"

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

// Whether w is code / scale for an int32 code, to the bit (so -0.0, NaN and
// infinities are not).
bool ExactAt(double w, int decimals) {
  const double scale = kScales[static_cast<std::size_t>(decimals)];
  const double x = w * scale;
  if (!(std::fabs(x) <= static_cast<double>(std::numeric_limits<std::int32_t>::max()))) return false;
  // Through the int32 the column holds: -0.0 comes back as +0.0.
  const double back = static_cast<double>(static_cast<std::int32_t>(std::nearbyint(x))) / scale;
  return std::bit_cast<std::uint64_t>(back) == std::bit_cast<std::uint64_t>(w);
}

}  // namespace

hid_t BatchEncoding::time_type() const { return compact_time() ? H5T_NATIVE_UINT32 : H5T_NATIVE_INT64; }
hid_t BatchEncoding::watts_type() const { return compact_watts() ? H5T_NATIVE_INT32 : H5T_NATIVE_DOUBLE; }

void BatchEncoding::EncodeTimes(const TimeUs* in, std::size_t n, std::uint32_t* out) const {
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint32_t>((in[i] - time_base_us) / time_unit_us);
}

void BatchEncoding::EncodeWatts(const double* in, std::size_t n, std::int32_t* out) const {
  const auto scale = static_cast<double>(watts_scale);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::int32_t>(std::nearbyint(in[i] * scale));
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
    if (ExactAt(w, k)) return k;
  }
  return kNoScale;
}

void EncodingScan::Add(const TimeUs* t, const double* w, std::size_t n) {
  if (n == 0) return;
  // Each node's readings come sorted, but the scan does not rely on it.
  for (std::size_t i = 0; i < n; ++i) {
    const TimeUs v = t[i];
    if (!any_ || v < first_) first_ = v;
    if (!any_ || v > last_) last_ = v;
    any_ = true;
    whole_seconds_ = whole_seconds_ && v % kMicrosPerSecond == 0;
    whole_millis_ = whole_millis_ && v % 1000 == 0;
  }
  if (decimals_ == kNoScale) return;
  for (std::size_t i = 0; i < n; ++i) {
    if (!ExactAt(w[i], decimals_)) {
      decimals_ = DecimalsOf(w[i], decimals_ + 1);
      if (decimals_ == kNoScale) return;
    }
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
