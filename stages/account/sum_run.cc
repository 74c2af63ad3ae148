#include "stages/account/sum_run.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>

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

// The intervals ending at t[0] and t[1], in µs as doubles (exact below 2^52).
inline __m128d IntervalsUs(const TimeUs* t) {
  const __m128i tc = _mm_loadu_si128(reinterpret_cast<const __m128i*>(t));
  const __m128i tp = _mm_loadu_si128(reinterpret_cast<const __m128i*>(t - 1));
  return _mm_sub_pd(_mm_castsi128_pd(_mm_or_si128(_mm_sub_epi64(tc, tp), _mm_set1_epi64x(kMagicBits))),
                    _mm_set1_pd(kMagic));
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
  const __m128d one = _mm_set1_pd(1.0), per_ms = _mm_set1_pd(kMicrosPerMs);
  for (; k + 4 <= end; k += 4) {
    for (int half = 0; half < 2; ++half) {
      const std::size_t j = k + 2 * static_cast<std::size_t>(half);
      const __m128d dt_us = IntervalsUs(t + j);
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

// The intervals ending at readings [k, end) one by one, the scalar tail of
// the uniform sums below: false at the first off the step or ending at 0.
template <bool kLinear>
bool AddUniformScalars(const TimeUs* t, const double* w, std::size_t k, std::size_t end, TimeUs step,
                       double* energy_wms) {
  const double dt_ms = ToMillis(step);
  for (; k < end; ++k) {
    if (t[k] - t[k - 1] != step || w[k] == 0.0) return false;
    *energy_wms += (kLinear ? w[k - 1] + w[k] : w[k - 1]) * dt_ms;
  }
  return true;
}

// The intervals ending at readings [begin, end) (begin >= 1), each `step`
// long and ending at a reading not 0, added to *energy as SumRun adds them
// after a run's first interval: four lanes, summed (l0 + l1) + (l2 + l3),
// then a scalar tail (SumRun's missing and zeros add +0 for them). False at
// the first interval off the step or reading of 0; *energy is then
// unspecified.
template <bool kLinear>
bool UniformTailSse2(const TimeUs* t, const double* w, std::size_t begin, std::size_t end, TimeUs step,
                     double* energy_wms) {
  std::size_t k = begin;
  __m128d energy[2] = {_mm_setzero_pd(), _mm_setzero_pd()};
  __m128d off = _mm_setzero_pd();  // lanes with an interval off the step or a reading of 0
  const __m128d dt = _mm_set1_pd(ToMillis(step)), step_us = _mm_set1_pd(static_cast<double>(step));
  const __m128d zero = _mm_setzero_pd();
  for (; k + 4 <= end; k += 4) {
    for (int half = 0; half < 2; ++half) {
      const std::size_t j = k + 2 * static_cast<std::size_t>(half);
      const __m128d dt_us = IntervalsUs(t + j);
      const __m128d wc = _mm_loadu_pd(w + j), wp = _mm_loadu_pd(w + j - 1);
      energy[half] = _mm_add_pd(energy[half], _mm_mul_pd(kLinear ? _mm_add_pd(wp, wc) : wp, dt));
      off = _mm_or_pd(off, _mm_or_pd(_mm_cmpneq_pd(dt_us, step_us), _mm_cmpeq_pd(wc, zero)));
    }
  }
  if (_mm_movemask_pd(off) != 0) return false;
  double l[4];
  _mm_storeu_pd(l, energy[0]);
  _mm_storeu_pd(l + 2, energy[1]);
  *energy_wms += (l[0] + l[1]) + (l[2] + l[3]);
  return AddUniformScalars<kLinear>(t, w, k, end, step, energy_wms);
}

template <bool kLinear>
__attribute__((target("avx2"))) bool UniformTailAvx2(const TimeUs* t, const double* w, std::size_t begin,
                                                     std::size_t end, TimeUs step, double* energy_wms) {
  std::size_t k = begin;
  __m256d energy = _mm256_setzero_pd();
  __m256i off_step = _mm256_setzero_si256();
  // The smallest reading, compared with 0 once at the end instead of per
  // block (a negative reading also says no, and SumRun takes the run; a NaN
  // is passed over, as it is no zero and adds the same NaN either way).
  __m256d least = _mm256_set1_pd(1.0);
  const __m256d dt = _mm256_set1_pd(ToMillis(step));
  const __m256i step_us = _mm256_set1_epi64x(step);
#pragma GCC unroll 2
  for (; k + 4 <= end; k += 4) {
    const __m256i tc = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + k));
    const __m256i tp = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t + k - 1));
    const __m256d wc = _mm256_loadu_pd(w + k), wp = _mm256_loadu_pd(w + k - 1);
    energy = _mm256_add_pd(energy, _mm256_mul_pd(kLinear ? _mm256_add_pd(wp, wc) : wp, dt));
    off_step = _mm256_or_si256(off_step, _mm256_xor_si256(_mm256_sub_epi64(tc, tp), step_us));
    least = _mm256_min_pd(wc, least);
  }
  if (!_mm256_testz_si256(off_step, off_step) ||
      _mm256_movemask_pd(_mm256_cmp_pd(least, _mm256_setzero_pd(), _CMP_GT_OQ)) != 0xF)
    return false;
  *energy_wms += SumLanes(energy);
  return AddUniformScalars<kLinear>(t, w, k, end, step, energy_wms);
}

using UniformTailFunction = bool (*)(const TimeUs*, const double*, std::size_t, std::size_t, TimeUs, double*);

template <bool kLinear, UniformTailFunction kTail>
bool UniformRun(const TimeUs* t, const double* w, std::size_t begin, std::size_t end, TimeUs prev_t, double prev_w,
                TimeUs two_intervals, RunSums* out) {
  *out = RunSums{};
  AddScalar<kLinear>(prev_t, prev_w, t[begin], w[begin], two_intervals, out);
  if (begin + 1 == end) return true;
  const TimeUs step = t[begin + 1] - t[begin];
  return step <= two_intervals && kTail(t, w, begin + 1, end, step, &out->energy);
}

// Piece h ends at the reading on cuts[h] and is what NodeAccountant adds to
// its piece from the reading before: 0.5·SumRun's energy of the readings in
// between (SumRun's for step) plus the trapezoid (or step) up to the cut.
template <bool kLinear, UniformTailFunction kTail>
std::size_t UniformPieces(const TimeUs* t, const double* w, std::size_t b, std::size_t n, const TimeUs* cuts,
                          std::size_t cut_count, TimeUs two_intervals, double* pieces, std::size_t* last) {
  *last = b;
  if (b + 1 >= n) return 0;
  const TimeUs step = t[b + 1] - t[b];
  if (step > two_intervals) return 0;
  const double dt = ToMillis(step), per_step = 1.0 / static_cast<double>(step);
  std::size_t h = 0;
  for (; h < cut_count; ++h) {
    const double ahead = (static_cast<double>(cuts[h]) - static_cast<double>(t[b])) * per_step;
    if (!(ahead > 1.5 && ahead < static_cast<double>(n - b - 1))) break;  // b + 2 <= j < n
    // Rounded to nearest as lround would (exact: ahead + 0.5 is a double for
    // ahead < 2^51), without lround's call.
    const std::size_t j = b + static_cast<std::size_t>(ahead + 0.5);  // NOLINT(bugprone-incorrect-roundings)
    if (t[j] != cuts[h] || t[b + 1] - t[b] != step || w[b + 1] == 0.0) break;
    double energy = 0;  // SumRun's first interval, then the rest of the run
    energy += (kLinear ? w[b] + w[b + 1] : w[b]) * dt;
    if (!kTail(t, w, b + 2, j, step, &energy) || t[j] - t[j - 1] != step || w[j] == 0.0) break;
    double piece = 0;
    piece += kLinear ? 0.5 * energy : energy;
    piece += kLinear ? 0.5 * (w[j - 1] + w[j]) * dt : w[j - 1] * dt;
    pieces[h] = piece;
    b = j;
  }
  *last = b;
  return h;
}

// The path a caller asked for: AVX2 when asked, or when best and the CPU has it.
bool UseAvx2(SumRunPath path) { return path == SumRunPath::kAvx2 || (path == SumRunPath::kBest && CpuHasAvx2()); }

}  // namespace

UniformRunFunction UniformRunFor(bool linear, SumRunPath path) {
  if (UseAvx2(path))
    return linear ? &UniformRun<true, &UniformTailAvx2<true>> : &UniformRun<false, &UniformTailAvx2<false>>;
  return linear ? &UniformRun<true, &UniformTailSse2<true>> : &UniformRun<false, &UniformTailSse2<false>>;
}

UniformPiecesFunction UniformPiecesFor(bool linear, SumRunPath path) {
  if (UseAvx2(path))
    return linear ? &UniformPieces<true, &UniformTailAvx2<true>> : &UniformPieces<false, &UniformTailAvx2<false>>;
  return linear ? &UniformPieces<true, &UniformTailSse2<true>> : &UniformPieces<false, &UniformTailSse2<false>>;
}

bool CpuHasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2") != 0;
  return has;
}

SumRunFunction SumRunFor(bool linear, SumRunPath path) {
  if (UseAvx2(path)) return linear ? &SumRunAvx2<true> : &SumRunAvx2<false>;
  return linear ? &SumRunSse2<true> : &SumRunSse2<false>;
}

}  // namespace wattrun::account
