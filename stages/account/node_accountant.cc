#include "stages/account/node_accountant.h"

#include <emmintrin.h>

#include <algorithm>
#include <map>
#include <utility>

#include "core/error.h"

namespace wattrun::account {
namespace {

constexpr TimeUs kMinTime = std::numeric_limits<TimeUs>::min();
constexpr TimeUs kMaxTime = std::numeric_limits<TimeUs>::max();
constexpr double kMillisPerSecond = 1000.0;  // the integrals are in ms (RunSums)

// The instants where the shares of the node can change, inside [from, until],
// with the two ends of the time line as sentinels; sorted, unique.
std::vector<TimeUs> ChangePoints(const AccountSetup& setup, const std::vector<NodeJob>& jobs, TimeUs from,
                                 TimeUs until) {
  std::vector<TimeUs> points{kMinTime, kMaxTime, from, until, setup.options.store_first, setup.options.store_last};
  // Only the month starts and intensity changes inside the unit (both lists
  // are sorted): a unit is 30 days, the series may be years.
  for (const std::vector<TimeUs>* global : {&setup.months.starts, &setup.intensity_times}) {
    points.insert(points.end(), std::lower_bound(global->begin(), global->end(), from),
                  std::upper_bound(global->begin(), global->end(), until));
  }
  for (const NodeJob& job : jobs) {
    points.push_back(job.start);
    points.push_back(job.end);
  }
  std::erase_if(points, [&](TimeUs p) { return p != kMinTime && p != kMaxTime && (p < from || p > until); });
  std::sort(points.begin(), points.end());
  points.erase(std::unique(points.begin(), points.end()), points.end());
  return points;
}

// What a run of readings between two change points adds to a segment. The
// sums are kept in ms (dt = µs / 1000, exact for whole-ms steps), so that
// their rounding, and the results, are what they were before instants
// became µs.
struct RunSums {
  double energy = 0;   // Σ (w_{k-1} + w_k)·dt (linear) or Σ w_{k-1}·dt (step), W·ms
  double missing = 0;  // Σ max(dt − 2Δ, 0), ms (whole ms: exact in a double)
  std::int64_t zeros = 0;
};

// dt (0 < dt < 2^52 µs) as a double without a scalar conversion: the bits of
// 2^52 + dt, minus 2^52.
inline __m128d Int64ToDouble(__m128i v) {
  const __m128i magic = _mm_set1_epi64x(0x4330000000000000LL);
  return _mm_sub_pd(_mm_castsi128_pd(_mm_or_si128(v, magic)), _mm_set1_pd(4503599627370496.0));
}

// The accounting's hot loop, two readings at a time with SSE2 (every x86-64
// has it): readings [begin, end) after the one at (prev_t, prev_w). The
// order of the additions is fixed by the data, so the sums are the same for
// any number of ranks; with integer watts and whole-ms steps they are exact.
// two_intervals_ms is 2Δ in ms.
template <bool kLinear>
RunSums SumRun(const TimeUs* t, const double* w, std::size_t begin, std::size_t end, TimeUs prev_t, double prev_w,
               double two_intervals_ms) {
  RunSums out;
  auto scalar = [&](TimeUs pt, double pw, TimeUs ct, double cw) {
    const double dt = ToMillis(ct - pt);
    out.energy += (kLinear ? pw + cw : pw) * dt;
    out.missing += std::max(dt - two_intervals_ms, 0.0);
    out.zeros += (cw == 0.0);
  };
  scalar(prev_t, prev_w, t[begin], w[begin]);
  std::size_t k = begin + 1;
  __m128d energy = _mm_setzero_pd(), missing = _mm_setzero_pd(), zeros = _mm_setzero_pd();
  const __m128d gap = _mm_set1_pd(two_intervals_ms), zero = _mm_setzero_pd();
  const __m128d one = _mm_set1_pd(1.0), micros_per_ms = _mm_set1_pd(static_cast<double>(kMicrosPerMilli));
  for (; k + 2 <= end; k += 2) {
    const __m128i tc = _mm_loadu_si128(reinterpret_cast<const __m128i*>(t + k));
    const __m128i tp = _mm_loadu_si128(reinterpret_cast<const __m128i*>(t + k - 1));
    const __m128d dt = _mm_div_pd(Int64ToDouble(_mm_sub_epi64(tc, tp)), micros_per_ms);  // as ToMillis
    const __m128d wc = _mm_loadu_pd(w + k), wp = _mm_loadu_pd(w + k - 1);
    energy = _mm_add_pd(energy, _mm_mul_pd(kLinear ? _mm_add_pd(wp, wc) : wp, dt));
    missing = _mm_add_pd(missing, _mm_max_pd(_mm_sub_pd(dt, gap), zero));
    zeros = _mm_add_pd(zeros, _mm_and_pd(_mm_cmpeq_pd(wc, zero), one));
  }
  double lanes[2];
  _mm_storeu_pd(lanes, energy);
  out.energy += lanes[0] + lanes[1];
  _mm_storeu_pd(lanes, missing);
  out.missing += lanes[0] + lanes[1];
  _mm_storeu_pd(lanes, zeros);
  out.zeros += static_cast<std::int64_t>(lanes[0] + lanes[1]);
  for (; k < end; ++k) scalar(t[k - 1], w[k - 1], t[k], w[k]);
  return out;
}

// Length in ms of [a, b) ∩ [lo, hi), all in µs as doubles (the ends may be
// the sentinels of the time line).
double OverlapMs(double a, double b, double lo, double hi) {
  return std::max(0.0, std::min(b, hi) - std::max(a, lo)) / static_cast<double>(kMicrosPerMilli);
}

}  // namespace

NodeAccountant::NodeAccountant(const AccountSetup& setup, const std::string& node, TimeUs from, TimeUs until,
                               std::uint32_t unit_index)
    : setup_(setup),
      unit_(unit_index),
      from_(from),
      until_(until),
      interval_us_(setup.options.sampling_interval_us),
      method_(setup.options.integration) {
  const auto it = setup.node_by_name.find(node);
  if (it == setup.node_by_name.end()) throw Error("accounting: node '" + node + "' is not in nodes.csv");
  if (from > until) throw Error("accounting: unit of node '" + node + "' ends before it begins");
  node_ = it->second;
  node_setup_ = &setup.nodes[node_];
  BuildSegments(ChangePoints(setup, node_setup_->jobs, from, until));
}

// One sweep over the change points: the jobs active in each segment (start
// <= begin < end) and the jobs whose window ends exactly at its begin (a
// reading there still counts for them).
void NodeAccountant::BuildSegments(const std::vector<TimeUs>& bounds) {
  const std::vector<NodeJob>& jobs = node_setup_->jobs;
  std::vector<std::uint32_t> by_start;
  for (std::uint32_t k = 0; k < jobs.size(); ++k) {
    if (jobs[k].start < until_ && jobs[k].end >= from_) by_start.push_back(k);
  }
  std::stable_sort(by_start.begin(), by_start.end(),
                   [&](std::uint32_t a, std::uint32_t b) { return jobs[a].start < jobs[b].start; });
  std::vector<std::uint32_t> active;
  std::size_t next = 0;
  const AccountOptions& o = setup_.options;
  for (std::size_t s = 0; s + 1 < bounds.size(); ++s) {
    Segment seg;
    seg.begin = bounds[s];
    seg.end = bounds[s + 1];
    seg.point_begin = static_cast<std::uint32_t>(point_.size());
    std::erase_if(active, [&](std::uint32_t k) {
      if (jobs[k].end > seg.begin) return false;
      if (jobs[k].end == seg.begin) point_.push_back(k);
      return true;
    });
    for (; next < by_start.size() && jobs[by_start[next]].start <= seg.begin; ++next) {
      const std::uint32_t k = by_start[next];
      if (jobs[k].end > seg.begin)
        active.push_back(k);
      else if (jobs[k].end == seg.begin)
        point_.push_back(k);
    }
    seg.point_end = static_cast<std::uint32_t>(point_.size());
    seg.jobs_begin = static_cast<std::uint32_t>(active_.size());
    double weight_sum = 0;
    for (const std::uint32_t k : active) {
      active_.push_back(k);
      weight_sum += jobs[k].weight;
    }
    seg.jobs_end = static_cast<std::uint32_t>(active_.size());
    seg.denominator = std::max(node_setup_->cpus, weight_sum);
    if (seg.denominator <= 0) seg.denominator = 1;
    seg.in_range = seg.begin >= from_ && seg.begin < until_;
    seg.in_store = seg.begin >= o.store_first && seg.end <= o.store_last;
    seg.month = seg.begin == kMinTime ? -1 : setup_.months.IndexOf(seg.begin);
    seg.carbon_factor = setup_.CarbonFactorAt(seg.begin);
    segments_.push_back(seg);
  }
  integrals_.assign(segments_.size(), Integrals{});
  point_readings_.assign(point_.size(), 0);
  point_zeros_.assign(point_.size(), 0);
}

void NodeAccountant::Add(const TimeUs* time, const double* watts, std::size_t n) {
  if (method_ == integrate::Method::kLinear) {
    AddReadings<integrate::Method::kLinear>(time, watts, n);
  } else {
    AddReadings<integrate::Method::kStep>(time, watts, n);
  }
}

// The hot loop: while no change point is crossed, a reading costs a few
// adds into locals; the segment's integrals are updated once per run.
template <integrate::Method kMethod>
void NodeAccountant::AddReadings(const TimeUs* time, const double* watts, std::size_t n) {
  const double two_intervals_ms = ToMillis(2 * interval_us_);
  std::size_t i = 0;
  while (i < n) {
    if (time[i] >= next_bound_) {
      AddSlow(time[i], watts[i]);
      ++i;
      continue;
    }
    // The run of readings before the next change point (times are sorted),
    // summed by SumRun.
    const std::size_t end = static_cast<std::size_t>(std::lower_bound(time + i, time + n, next_bound_) - time);
    const TimeUs run_begin = prev_t_;
    const std::size_t first = i;
    const RunSums sums =
        SumRun<kMethod == integrate::Method::kLinear>(time, watts, i, end, prev_t_, prev_w_, two_intervals_ms);
    i = end;
    const double energy = sums.energy;
    const double missing = sums.missing;
    const std::int64_t zeros = sums.zeros;
    Integrals& acc = *cur_;
    acc.energy_wms += kMethod == integrate::Method::kLinear ? 0.5 * energy : energy;
    acc.missing_ms += missing;
    acc.covered_us += time[end - 1] - run_begin;
    acc.readings += static_cast<std::int64_t>(end - first);
    acc.zeros += zeros;
    prev_t_ = time[end - 1];
    prev_w_ = watts[end - 1];
  }
}

void NodeAccountant::EnterSegment(std::size_t s) {
  seg_ = s;
  cur_ = &integrals_[s];
  next_bound_ = segments_[s].end;
}

// A reading that crosses change points (or the first one): the interval
// from the previous reading is cut at each of them.
void NodeAccountant::AddSlow(TimeUs t, double w) {
  if (!have_prev_) {
    AddFirst(t, w);
    return;
  }
  TimeUs a = prev_t_;
  while (t >= next_bound_) {
    const TimeUs c = next_bound_;
    AddPiece(a, c, t, w);
    a = c;
    EnterSegment(seg_ + 1);
  }
  AddPiece(a, t, t, w);
  CountReading(t, w);
  prev_t_ = t;
  prev_w_ = w;
}

// The node's first reading: before it W does not exist, and the time more
// than one interval before it is missing.
void NodeAccountant::AddFirst(TimeUs t, double w) {
  const auto it = std::upper_bound(segments_.begin(), segments_.end(), t,
                                   [](TimeUs value, const Segment& seg) { return value < seg.begin; });
  const std::size_t s = static_cast<std::size_t>(it - segments_.begin()) - 1;
  const double missing_end = static_cast<double>(t - interval_us_);
  for (std::size_t k = 0; k <= s; ++k) {
    const double end = k == s ? static_cast<double>(t) : static_cast<double>(segments_[k].end);
    integrals_[k].missing_ms += OverlapMs(static_cast<double>(segments_[k].begin), end, -1e300, missing_end);
  }
  EnterSegment(s);
  CountReading(t, w);
  have_prev_ = true;
  prev_t_ = t;
  prev_w_ = w;
}

// [a, b] inside the current segment, between the previous reading and (t, w).
void NodeAccountant::AddPiece(TimeUs a, TimeUs b, TimeUs t, double w) {
  if (b <= a) return;
  const double length = ToMillis(b - a);
  if (method_ == integrate::Method::kLinear && t > prev_t_) {
    const double span = ToMillis(t - prev_t_);
    const double slope = (w - prev_w_) / span;
    const double wa = prev_w_ + slope * ToMillis(a - prev_t_);
    const double wb = prev_w_ + slope * ToMillis(b - prev_t_);
    cur_->energy_wms += 0.5 * (wa + wb) * length;
  } else {
    cur_->energy_wms += prev_w_ * length;
  }
  cur_->covered_us += b - a;
  cur_->missing_ms += OverlapMs(static_cast<double>(a), static_cast<double>(b),
                                static_cast<double>(prev_t_ + interval_us_), static_cast<double>(t - interval_us_));
}

void NodeAccountant::CountReading(TimeUs t, double w) {
  cur_->readings += 1;
  cur_->zeros += (w == 0.0);
  const Segment& seg = segments_[seg_];
  if (t != seg.begin) return;
  for (std::uint32_t p = seg.point_begin; p < seg.point_end; ++p) {
    point_readings_[p] += 1;
    point_zeros_[p] += (w == 0.0);
  }
}

void NodeAccountant::Finish(AccountPartial* partial) {
  if (finished_) throw Error("accounting: NodeAccountant::Finish called twice");
  finished_ = true;
  if (!have_prev_) {  // no reading at all: every second is missing
    for (std::size_t k = 0; k < segments_.size(); ++k) {
      integrals_[k].missing_ms +=
          OverlapMs(static_cast<double>(segments_[k].begin), static_cast<double>(segments_[k].end), -1e300, 1e300);
    }
  } else {  // after the last reading
    const double missing_begin = static_cast<double>(prev_t_ + interval_us_);
    for (std::size_t k = seg_; k < segments_.size(); ++k) {
      integrals_[k].missing_ms += OverlapMs(static_cast<double>(std::max(segments_[k].begin, prev_t_)),
                                            static_cast<double>(segments_[k].end), missing_begin, 1e300);
    }
  }
  Distribute(partial);
}

// Each in-range segment's integrals go to its jobs by share, and to the
// node's month for the ledger; summed per (job, month) in segment order.
void NodeAccountant::Distribute(AccountPartial* partial) const {
  std::map<std::pair<std::uint32_t, std::int32_t>, JobPart> jobs;
  std::map<std::int32_t, NodePart> months;
  const std::vector<NodeJob>& node_jobs = node_setup_->jobs;
  auto job_part = [&](std::uint32_t k, std::int32_t month) -> JobPart& {
    auto [it, added] = jobs.try_emplace({node_jobs[k].job, month});
    if (added) it->second = JobPart{node_jobs[k].job, node_, month, unit_};
    return it->second;
  };
  for (std::size_t s = 0; s < segments_.size(); ++s) {
    const Segment& seg = segments_[s];
    if (!seg.in_range || seg.month < 0) continue;
    const Integrals& g = integrals_[s];
    const double energy_j = g.energy_wms / kMillisPerSecond;
    const double covered_s = ToSeconds(g.covered_us);
    double job_j = 0;
    for (std::uint32_t e = seg.jobs_begin; e < seg.jobs_end; ++e) {
      const std::uint32_t k = active_[e];
      const double share = node_jobs[k].weight / seg.denominator;
      JobPart& part = job_part(k, seg.month);
      part.energy_j += energy_j * share;
      part.share_s += covered_s * share;
      part.carbon_g += energy_j * share * seg.carbon_factor;
      part.missing_s += g.missing_ms / kMillisPerSecond;
      part.samples += g.readings;
      part.zero_samples += g.zeros;
      job_j += energy_j * share;
    }
    for (std::uint32_t p = seg.point_begin; p < seg.point_end; ++p) {
      JobPart& part = job_part(point_[p], seg.month);
      part.samples += point_readings_[p];
      part.zero_samples += point_zeros_[p];
    }
    if (!seg.in_store && g.readings == 0) continue;
    auto [it, added] = months.try_emplace(seg.month);
    if (added) it->second = NodePart{node_, seg.month, unit_};
    it->second.readings += g.readings;
    if (seg.in_store) {
      it->second.metered_j += energy_j;
      it->second.job_j += job_j;
      it->second.missing_s += g.missing_ms / kMillisPerSecond;
    }
  }
  for (const auto& [key, part] : jobs) partial->AddJobPart(part);
  for (const auto& [key, part] : months) partial->AddNodePart(part);
}

}  // namespace wattrun::account
