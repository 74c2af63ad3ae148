#include "stages/account/node_accountant.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "core/error.h"
#include "stages/account/sum_run.h"

namespace wattrun::account {
namespace {

constexpr TimeUs kMinTime = std::numeric_limits<TimeUs>::min();
constexpr TimeUs kMaxTime = std::numeric_limits<TimeUs>::max();
// Runs summed without trying the uniform functions after one said no:
// telemetry with gaps, zeros or jitter everywhere would pay for both.
constexpr int kRunsBeforeRetry = 16;

// The instants where the shares of the node can change, inside [from, until],
// with the two ends of the time line as sentinels; sorted, unique. `touching`
// gets the node's jobs (NodeJob indices, by start) whose window meets the
// unit: start < until and end >= from.
std::vector<TimeUs> ChangePoints(const AccountSetup& setup, const NodeSetup& node, TimeUs from, TimeUs until,
                                 std::vector<std::uint32_t>* touching) {
  const auto [first, last] = node.JobsTouching(from, until);
  std::vector<TimeUs> points;
  points.reserve(2 * (last - first) + setup.months.starts.size() + 6);
  // Only the month starts inside the unit (sorted): a unit is 30 days. Carbon
  // intensity changes do not cut segments: the reading loop weighs energy by
  // the intensity in effect (see SwitchIntensity), which costs far less than
  // a segment's set-up and share-out every hour.
  const std::vector<TimeUs>& months = setup.months.starts;
  points.insert(points.end(), std::lower_bound(months.begin(), months.end(), from),
                std::upper_bound(months.begin(), months.end(), until));
  for (const TimeUs p : {from, until, setup.options.store_first, setup.options.store_last}) {
    if (p >= from && p <= until) points.push_back(p);
  }
  // JobsTouching is a superset (it goes back by the node's longest job):
  // only the jobs that meet the unit add points.
  for (std::size_t k = first; k < last; ++k) {
    const NodeJob& job = node.jobs[k];
    if (job.start > until || job.end < from) continue;
    if (job.start >= from) points.push_back(job.start);
    if (job.end <= until) points.push_back(job.end);
    if (job.start < until) touching->push_back(static_cast<std::uint32_t>(k));
  }
  std::sort(points.begin(), points.end());
  points.erase(std::unique(points.begin(), points.end()), points.end());
  points.insert(points.begin(), kMinTime);
  if (points.back() != kMaxTime) points.push_back(kMaxTime);
  if (points[1] == kMinTime) points.erase(points.begin());
  return points;
}

// The first k in (i, n] with time[k] >= bound, given time[i] < bound. The
// readings are about one interval apart, so the guess from the time left to
// the bound is usually right and costs two compares (a run is often short:
// an hourly intensity series ends one every 60 readings); else a binary
// search on the side of the guess where the end lies. The guess multiplies
// by 1/interval: an integer division would cost more than the compares.
std::size_t RunEnd(const TimeUs* time, std::size_t i, std::size_t n, TimeUs bound, TimeUs interval,
                   double per_interval) {
  const double ahead = (static_cast<double>(bound) - static_cast<double>(time[i])) * per_interval;
  std::size_t k = n;
  if (ahead < static_cast<double>(n - i)) {
    const TimeUs whole = std::max<TimeUs>(static_cast<TimeUs>(ahead), 1);
    k = i + static_cast<std::size_t>(whole) + (time[i] + whole * interval < bound && i + whole < n ? 1 : 0);
  }
  if (k < n && time[k] < bound) return static_cast<std::size_t>(std::lower_bound(time + k + 1, time + n, bound) - time);
  if (time[k - 1] < bound) return k;
  return static_cast<std::size_t>(std::lower_bound(time + i + 1, time + k - 1, bound) - time);
}

// Length in ms of [a, b) ∩ [lo, hi), all in µs as doubles (the ends may be
// the sentinels of the time line). The integrals are kept in ms (RunSums).
double OverlapMs(double a, double b, double lo, double hi) {
  return std::max(0.0, std::min(b, hi) - std::max(a, lo)) / static_cast<double>(kMicrosPerMilli);
}
constexpr double kMillisPerSecond = 1000.0;

}  // namespace

NodeAccountant::NodeAccountant(const AccountSetup& setup, const std::string& node, TimeUs from, TimeUs until,
                               std::uint32_t unit_index)
    : setup_(setup),
      unit_(unit_index),
      from_(from),
      until_(until),
      interval_us_(setup.options.sampling_interval_us),
      per_interval_(1.0 / static_cast<double>(std::max<TimeUs>(interval_us_, 1))),
      method_(setup.options.integration),
      sum_run_(SumRunFor(setup.options.integration == integrate::Method::kLinear, SumRunPath::kBest)),
      uniform_run_(UniformRunFor(setup.options.integration == integrate::Method::kLinear, SumRunPath::kBest)),
      uniform_pieces_(UniformPiecesFor(setup.options.integration == integrate::Method::kLinear, SumRunPath::kBest)) {
  const auto it = setup.node_by_name.find(node);
  if (it == setup.node_by_name.end()) throw Error("accounting: node '" + node + "' is not in nodes.csv");
  if (from > until) throw Error("accounting: unit of node '" + node + "' ends before it begins");
  node_ = it->second;
  node_setup_ = &setup.nodes[node_];
  std::tie(jobs_first_, jobs_last_) = node_setup_->JobsTouching(from_, until_);
  std::vector<std::uint32_t> touching;
  const std::vector<TimeUs> bounds = ChangePoints(setup, *node_setup_, from, until, &touching);
  BuildSegments(bounds, touching);
}

// One sweep over the change points: the jobs active in each segment (start
// <= begin < end) and the jobs whose window ends exactly at its begin (a
// reading there still counts for them).
void NodeAccountant::BuildSegments(const std::vector<TimeUs>& bounds, const std::vector<std::uint32_t>& by_start) {
  const std::vector<NodeJob>& jobs = node_setup_->jobs;
  std::vector<std::uint32_t> active;
  std::size_t next = 0;
  const AccountOptions& o = setup_.options;
  segments_.reserve(bounds.size() - 1);
  // Segments ascend, so their months do: one search, then steps forward.
  const std::vector<TimeUs>& month_starts = setup_.months.starts;
  int month = -1;
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
    if (seg.begin != kMinTime) {
      if (month < 0) {
        month = setup_.months.IndexOf(seg.begin);
      } else {
        while (static_cast<std::size_t>(month) + 1 < month_starts.size() &&
               seg.begin >= month_starts[static_cast<std::size_t>(month) + 1])
          ++month;
        if (static_cast<std::size_t>(month) + 1 >= month_starts.size()) month = -1;  // past the table's end
      }
    }
    seg.month = seg.begin == kMinTime ? -1 : month;
    segments_.push_back(seg);
  }
  integrals_.assign(segments_.size(), Integrals{});
  point_readings_.assign(point_.size(), 0);
  point_zeros_.assign(point_.size(), 0);
}

// The next change of the intensity series (at next_intensity_index_) takes
// effect: its factor from now on, and the change after it ahead.
inline void NodeAccountant::TakeNextIntensity() {
  carbon_factor_ = setup_.carbon_factor[next_intensity_index_++];
  next_intensity_ = NextIntensityTime();
}

TimeUs NodeAccountant::NextIntensityTime() const {
  const std::vector<TimeUs>& times = setup_.intensity_times;
  return next_intensity_index_ < times.size() ? times[next_intensity_index_] : kMaxTime;
}

// A reading exactly on a carbon intensity change inside the current segment
// (an hourly series and minute readings make one an hour): what AddSlow,
// AddPiece, SwitchIntensity and CountReading do in that case, in their
// order, without their loops and searches.
template <integrate::Method kMethod>
inline void NodeAccountant::AddOnIntensityChange(TimeUs t, double w) {
  const double length = ToMillis(t - prev_t_);
  piece_energy_wms_ += kMethod == integrate::Method::kLinear ? 0.5 * (prev_w_ + w) * length : prev_w_ * length;
  cur_->covered_us += t - prev_t_;
  cur_->missing_ms += OverlapMs(static_cast<double>(prev_t_), static_cast<double>(t),
                                static_cast<double>(prev_t_ + interval_us_), static_cast<double>(t - interval_us_));
  FlushPiece();
  TakeNextIntensity();
  next_bound_ = std::min(segments_[seg_].end, next_intensity_);
  cur_->readings += 1;  // t is after the segment's begin: no job ends at it
  cur_->zeros += (w == 0.0);
  prev_t_ = t;
  prev_w_ = w;
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
  const TimeUs two_intervals = 2 * interval_us_;
  std::size_t i = 0;
  while (i < n) {
    if (time[i] >= next_bound_) {
      if (time[i] == next_intensity_ && next_intensity_ < segments_[seg_].end && have_prev_ && !general_only_) {
        AddOnIntensityChange<kMethod>(time[i], watts[i]);
        i = AddWholePieces(time, watts, i, n);
      } else {
        AddSlow(time[i], watts[i]);
      }
      ++i;
      continue;
    }
    // The run of readings before the next change point (times are sorted),
    // summed by uniform_run_ when it is the usual run, else by sum_run_.
    const std::size_t end = RunEnd(time, i, n, next_bound_, interval_us_, per_interval_);
    const TimeUs run_begin = prev_t_;
    const std::size_t first = i;
    const RunSums sums = SumRun(time, watts, i, end, two_intervals);
    i = end;
    const double energy = sums.energy;
    const double missing = sums.missing;
    const std::int64_t zeros = sums.zeros;
    Integrals& acc = *cur_;
    piece_energy_wms_ += kMethod == integrate::Method::kLinear ? 0.5 * energy : energy;
    acc.missing_ms += missing;
    acc.covered_us += time[end - 1] - run_begin;
    acc.readings += static_cast<std::int64_t>(end - first);
    acc.zeros += zeros;
    prev_t_ = time[end - 1];
    prev_w_ = watts[end - 1];
  }
}

// Right after a reading on an intensity change (time[b]; the piece just
// flushed): the whole pieces up to the next changes inside the segment that
// fall on readings of this chunk, as AddReadings and AddOnIntensityChange
// would add them, by uniform_pieces_. Returns the last reading taken (b
// when none).
std::size_t NodeAccountant::AddWholePieces(const TimeUs* time, const double* watts, std::size_t b, std::size_t n) {
  constexpr std::size_t kPiecesAtOnce = 64;
  const std::vector<TimeUs>& times = setup_.intensity_times;
  const TimeUs segment_end = segments_[seg_].end;
  double pieces[kPiecesAtOnce];
  const std::size_t first = b;
  while (uniform_skips_ == 0 && next_intensity_ < segment_end) {
    const auto cuts = times.begin() + static_cast<std::ptrdiff_t>(next_intensity_index_);
    const auto cuts_end = std::lower_bound(
        cuts, cuts + static_cast<std::ptrdiff_t>(std::min(kPiecesAtOnce, times.size() - next_intensity_index_)),
        segment_end);
    const std::size_t wanted = static_cast<std::size_t>(cuts_end - cuts);
    std::size_t last = b;
    const std::size_t got = uniform_pieces_(time, watts, b, n, &*cuts, wanted, 2 * interval_us_, pieces, &last);
    // In locals (the same additions in the same order), not through cur_:
    // piece h at the factor in effect, then the change at its end taken.
    double energy = cur_->energy_wms, carbon = cur_->carbon_wms, factor = carbon_factor_;
    const double* next_factor = setup_.carbon_factor.data() + next_intensity_index_;
    for (std::size_t h = 0; h < got; ++h) {
      energy += pieces[h];
      carbon += pieces[h] * factor;
      factor = next_factor[h];
    }
    cur_->energy_wms = energy;
    cur_->carbon_wms = carbon;
    carbon_factor_ = factor;
    if (got > 0) {
      next_intensity_index_ += got;
      next_intensity_ = NextIntensityTime();
    }
    b = last;
    // No piece although the next change is in this chunk: not the usual stretch.
    if (got == 0 && b == first && *cuts <= time[n - 1]) uniform_skips_ = kRunsBeforeRetry;
    if (got < wanted) break;
  }
  if (b == first) return b;
  cur_->covered_us += time[b] - time[first];
  cur_->readings += static_cast<std::int64_t>(b - first);
  next_bound_ = std::min(segment_end, next_intensity_);
  prev_t_ = time[b];
  prev_w_ = watts[b];
  return b;
}

// Telemetry with gaps, zeros or jitter in most runs would pay for both
// functions; after uniform_run_ says no, the next runs skip it.
RunSums NodeAccountant::SumRun(const TimeUs* time, const double* watts, std::size_t begin, std::size_t end,
                               TimeUs two_intervals) {
  RunSums sums;
  if (uniform_skips_ == 0) {
    if (uniform_run_(time, watts, begin, end, prev_t_, prev_w_, two_intervals, &sums)) return sums;
    uniform_skips_ = kRunsBeforeRetry;
  } else {
    --uniform_skips_;
  }
  return sum_run_(time, watts, begin, end, prev_t_, prev_w_, two_intervals);
}

// The energy since the last segment or intensity change goes to the current
// segment, weighed by the intensity in effect over it.
void NodeAccountant::FlushPiece() {
  if (cur_ == nullptr) return;
  cur_->energy_wms += piece_energy_wms_;
  cur_->carbon_wms += piece_energy_wms_ * carbon_factor_;
  piece_energy_wms_ = 0;
}

void NodeAccountant::EnterSegment(std::size_t s) {
  FlushPiece();
  seg_ = s;
  cur_ = &integrals_[s];
  next_bound_ = std::min(segments_[s].end, next_intensity_);
}

// The intensity in effect from t on (the first value also before its time, as
// AccountSetup::CarbonFactorAt), and the next instant it changes. Readings
// come in time order, so after the first call the next change is the next
// entry of the series.
void NodeAccountant::SwitchIntensity(TimeUs t) {
  FlushPiece();
  const std::vector<TimeUs>& times = setup_.intensity_times;
  if (next_intensity_index_ < times.size() && times[next_intensity_index_] == t) {
    TakeNextIntensity();
  } else {
    next_intensity_index_ = static_cast<std::size_t>(std::upper_bound(times.begin(), times.end(), t) - times.begin());
    carbon_factor_ = setup_.CarbonFactorAt(t);
    next_intensity_ = NextIntensityTime();
  }
  if (cur_ != nullptr) next_bound_ = std::min(segments_[seg_].end, next_intensity_);
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
    if (c == segments_[seg_].end) EnterSegment(seg_ + 1);
    if (c == next_intensity_) SwitchIntensity(c);
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
  SwitchIntensity(t);
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
  if (method_ == integrate::Method::kLinear && a == prev_t_ && b == t) {
    // The whole interval (a reading on a change point, as hourly intensity
    // series and minute readings make): no interpolation needed.
    piece_energy_wms_ += 0.5 * (prev_w_ + w) * length;
  } else if (method_ == integrate::Method::kLinear && t > prev_t_) {
    const double span = ToMillis(t - prev_t_);
    const double slope = (w - prev_w_) / span;
    const double wa = prev_w_ + slope * ToMillis(a - prev_t_);
    const double wb = prev_w_ + slope * ToMillis(b - prev_t_);
    piece_energy_wms_ += 0.5 * (wa + wb) * length;
  } else {
    piece_energy_wms_ += prev_w_ * length;
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
  FlushPiece();
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
// Months only grow along the segments, so each job's current part and the
// current month's node part are found without a search.
void NodeAccountant::Distribute(AccountPartial* partial) const {
  const std::vector<NodeJob>& node_jobs = node_setup_->jobs;
  std::vector<JobPart> jobs;
  jobs.reserve(jobs_last_ - jobs_first_);  // a job a node and month: usually one month
  // Into jobs, for the job's latest month; by NodeJob index from jobs_first_
  // (every job of a segment touches the unit).
  std::vector<std::int32_t> part_of_job(jobs_last_ - jobs_first_, -1);
  std::vector<NodePart> months;
  auto job_part = [&](std::uint32_t k, std::int32_t month) -> JobPart& {
    std::int32_t& slot = part_of_job[k - jobs_first_];
    if (slot < 0 || jobs[static_cast<std::size_t>(slot)].month != month) {
      slot = static_cast<std::int32_t>(jobs.size());
      jobs.push_back(JobPart{node_jobs[k].job, node_, month, unit_});
    }
    return jobs[static_cast<std::size_t>(slot)];
  };
  for (std::size_t s = 0; s < segments_.size(); ++s) {
    const Segment& seg = segments_[s];
    if (!seg.in_range || seg.month < 0) continue;
    const Integrals& g = integrals_[s];
    const double energy_j = g.energy_wms / kMillisPerSecond;
    const double carbon_g = g.carbon_wms / kMillisPerSecond;
    const double covered_s = ToSeconds(g.covered_us);
    double job_j = 0;
    for (std::uint32_t e = seg.jobs_begin; e < seg.jobs_end; ++e) {
      const std::uint32_t k = active_[e];
      const double share = node_jobs[k].weight / seg.denominator;
      JobPart& part = job_part(k, seg.month);
      part.energy_j += energy_j * share;
      part.share_s += covered_s * share;
      part.carbon_g += carbon_g * share;
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
    if (months.empty() || months.back().month != seg.month) months.push_back(NodePart{node_, seg.month, unit_});
    NodePart& month = months.back();
    month.readings += g.readings;
    if (seg.in_store) {
      month.metered_j += energy_j;
      month.job_j += job_j;
      month.missing_s += g.missing_ms / kMillisPerSecond;
    }
  }
  for (const JobPart& part : jobs) partial->AddJobPart(part);
  for (const NodePart& part : months) partial->AddNodePart(part);
}

}  // namespace wattrun::account
