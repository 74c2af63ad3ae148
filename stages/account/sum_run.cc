#include "stages/account/sum_run.h"

#include <immintrin.h>

#include <algorithm>

namespace wattrun::account {
namespace {

// dt as a double without a scalar conversion: the bits of 2^52 + dt, minus 2^52.
constexpr long long kMagicBits = 0x4330000000000000LL;
constexpr double kMagic = 4503599627370496.0;  // 2^52
// The sums are in ms (dt = µs / 1000, one correctly rounded division, exact
// for whole-ms steps), so that their rounding is what it was with ms instants.
constexpr double kMicrosPerMs = static_cast<double>(kMicrosPerMilli);

template <bool kLinear>
void AddScalar(TimeUs pt, double pw, TimeUs ct, double cw, TimeUs two_intervals, RunSums* out) {
  const double dt = ToMillis(ct - pt);
  out->energy += (kLinear ? pw + cw : pw) * dt;
  out->missing += std::max(dt - ToMillis(two_intervals), 0.0);
  out->zeros += (cw == 0.0);
}

// Four lanes as two SSE2 pairs: lanes 0-1 take readings k, k+1; lanes 2-3
// take k+2, k+3.
template <bool kLinear>
RunSums SumRunSse2(const TimeUs* t, const double* w, std::size_t begin, std::size_t end, TimeUs prev_t, double prev_w,
                   TimeUs two_intervals) {
  RunSums out;
  AddScalar<kLinear>(prev_t, prev_w, t[begin], w[begin], two_intervals, &out);
  std::size_t k = begin + 1;
  __m128d energy[2] = {_mm_setzero_pd(), _mm_setzero_pd()};
  __m128d missing[2] = {_mm_setzero_pd(), _mm_setzero_pd()};
  __m128d zeros[2] = {_mm_setzero_pd(), _mm_setzero_pd()};
  const __m128d gap = _mm_set1_pd(ToMillis(two_intervals)), zero = _mm_setzero_pd();
  const __m128d one = _mm_set1_pd(1.0), magic = _mm_set1_pd(kMagic), per_ms = _mm_set1_pd(kMicrosPerMs);
  const __m128i magic_bits = _mm_set1_epi64x(kMagicBits);
  for (; k + 4 <= end; k += 4) {
    for (int half = 0; half < 2; ++half) {
      const std::size_t j = k + 2 * static_cast<std::size_t>(half);
      const __m128i tc = _mm_loadu_si128(reinterpret_cast<const __m128i*>(t + j));
      const __m128i tp = _mm_loadu_si128(reinterpret_cast<const __m128i*>(t + j - 1));
      const __m128d dt_us = _mm_sub_pd(_mm_castsi128_pd(_mm_or_si128(_mm_sub_epi64(tc, tp), magic_bits)), magic);
      const __m128d dt = _mm_div_pd(dt_us, per_ms);  // as ToMillis
      const __m128d wc = _mm_loadu_pd(w + j), wp = _mm_loadu_pd(w + j - 1);
      energy[half] = _mm_add_pd(energy[half], _mm_mul_pd(kLinear ? _mm_add_pd(wp, wc) : wp, dt));
      missing[half] = _mm_add_pd(missing[half], _mm_max_pd(_mm_sub_pd(dt, gap), zero));
      zeros[half] = _mm_add_pd(zeros[half], _mm_and_pd(_mm_cmpeq_pd(wc, zero), one));
    }
  }
  auto lanes = [](const __m128d* v) {
    double l[4];
    _mm_storeu_pd(l, v[0]);
    _mm_storeu_pd(l + 2, v[1]);
    return (l[0] + l[1]) + (l[2] + l[3]);
  };
  out.energy += lanes(energy);
  out.missing += lanes(missing);
  out.zeros += static_cast<std::int64_t>(lanes(zeros));
  for (; k < end; ++k) AddScalar<kLinear>(t[k - 1], w[k - 1], t[k], w[k], two_intervals, &out);
  return out;
}

__attribute__((target("avx2"))) double SumLanes(__m256d v) {
  double l[4];
  _mm256_storeu_pd(l, v);
  return (l[0] + l[1]) + (l[2] + l[3]);
}

template <bool kLinear>
__attribute__((target("avx2"))) RunSums SumRunAvx2(const TimeUs* t, const double* w, std::size_t begin, std::size_t end,
                                                   TimeUs prev_t, double prev_w, TimeUs two_intervals) {
  RunSums out;
  AddScalar<kLinear>(prev_t, prev_w, t[begin], w[begin], two_intervals, &out);
  std::size_t k = begin + 1;
  __m256d energy = _mm256_setzero_pd(), missing = _mm256_setzero_pd(), zeros = _mm256_setzero_pd();
  const __m256d gap = _mm256_set1_pd(ToMillis(two_intervals)), zero = _mm256_setzero_pd();
  const __m256d one = _mm256_set1_pd(1.0), magic = _mm256_set1_pd(kMagic), per_ms = _mm256_set1_pd(kMicrosPerMs);
  const __m256i magic_bits = _mm256_set1_epi64x(kMagicBits);
  for (; k + 4 <= end; k += 4) {
    const __m256i tc = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + k));
    const __m256i tp = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + k - 1));
    const __m256d dt_us =
        _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(_mm256_sub_epi64(tc, tp), magic_bits)), magic);
    const __m256d dt = _mm256_div_pd(dt_us, per_ms);  // as ToMillis
    const __m256d wc = _mm256_loadu_pd(w + k), wp = _mm256_loadu_pd(w + k - 1);
    energy = _mm256_add_pd(energy, _mm256_mul_pd(kLinear ? _mm256_add_pd(wp, wc) : wp, dt));
    missing = _mm256_add_pd(missing, _mm256_max_pd(_mm256_sub_pd(dt, gap), zero));
    zeros = _mm256_add_pd(zeros, _mm256_and_pd(_mm256_cmp_pd(wc, zero, _CMP_EQ_OQ), one));
  }
  out.energy += SumLanes(energy);
  out.missing += SumLanes(missing);
  out.zeros += static_cast<std::int64_t>(SumLanes(zeros));
  for (; k < end; ++k) AddScalar<kLinear>(t[k - 1], w[k - 1], t[k], w[k], two_intervals, &out);
  return out;
}

}  // namespace

bool CpuHasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2") != 0;
  return has;
}

SumRunFunction SumRunFor(bool linear, SumRunPath path) {
  const bool avx2 = path == SumRunPath::kAvx2 || (path == SumRunPath::kBest && CpuHasAvx2());
  if (avx2) return linear ? &SumRunAvx2<true> : &SumRunAvx2<false>;
  return linear ? &SumRunSse2<true> : &SumRunSse2<false>;
}

}  // namespace wattrun::account
