#include "stages/generate/telemetry_writer.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "stages/generate/rng.h"
#include "stages/generate/text_format.h"

namespace wattrun::generate {
namespace {

constexpr std::size_t kMaxRowBytes = 96;  // an LDMS row is longer than the spec's
constexpr std::int64_t kOverlapTicks = 10;
constexpr std::int64_t kMsPerSecond = 1000;  // the generator's instants are ms (plan.h)

inline char* PutUint(char* q, int v) {
  char digits[12];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v > 0);
  while (n > 0) *q++ = digits[--n];
  return q;
}

inline char* PutText(char* q, std::string_view text) {
  std::memcpy(q, text.data(), text.size());
  return q + text.size();
}

// One row at q: "ts,node,watts\n" (or "node,ts,watts\n").
inline char* PutRow(char* q, std::string_view ts, std::string_view node, int watts, bool node_first) {
  if (node_first) {
    q = PutText(q, node);
    *q++ = ',';
    q = PutText(q, ts);
  } else {
    q = PutText(q, ts);
    *q++ = ',';
    q = PutText(q, node);
  }
  *q++ = ',';
  q = PutUint(q, watts);
  *q++ = '\n';
  return q;
}

// The `Time_usec` field of an LDMS row: the digits after the point of its
// `#Time` (epoch seconds with six decimals).
inline std::string_view MicrosOf(std::string_view epoch_ts) {
  const std::size_t dot = epoch_ts.find('.');
  return dot == std::string_view::npos ? std::string_view("0") : epoch_ts.substr(dot + 1);
}

// One LDMS row at q: "#Time,Time_usec,<ProducerName,component_id,job_id>,power\n",
// `middle` holding the three fields of the node.
inline char* PutLdmsRow(char* q, std::string_view ts, std::string_view middle, int watts) {
  q = PutText(q, ts);
  *q++ = ',';
  q = PutText(q, MicrosOf(ts));
  *q++ = ',';
  q = PutText(q, middle);
  *q++ = ',';
  q = PutUint(q, watts);
  *q++ = '\n';
  return q;
}

bool IsLdms(const Plan& plan) { return plan.options.telemetry_layout == TelemetryLayout::kLdms; }
bool IsCounter(const Plan& plan) { return plan.options.telemetry_layout == TelemetryLayout::kEnergyCounter; }

// A node's energy counter (--telemetry-format energy-counter): the
// generating power integrated linearly between the node's readings (the
// trapezoids, exact in units of 0.5 mJ: integer watts over whole ms), from
// the facility's first tick on. Some nodes' counters restart from 0 every
// two weeks: the interval that crosses a restart then reads only its own
// increment (a reset, as the ingest's rules take it).
class NodeCounter {
 public:
  // The counter after the reading w >= 0 at `tick`, in units of 0.5 mJ.
  std::int64_t Advance(std::int64_t tick, int w, bool reset, std::int64_t step_ms) {
    if (have_prev_) {
      const std::int64_t increment = (std::int64_t{prev_w_} + w) * (tick - prev_tick_) * step_ms;  // 2 x W·ms
      half_mj_ = reset ? increment : half_mj_ + increment;
    }
    have_prev_ = true;
    prev_tick_ = tick;
    prev_w_ = w;
    return half_mj_;
  }

 private:
  bool have_prev_ = false;
  std::int64_t prev_tick_ = 0;
  int prev_w_ = 0;
  std::int64_t half_mj_ = 0;
};

// Whether node `index`'s counter restarts at `tick`: every seventh node
// (from the fourth), in the middle of every two weeks of the facility.
bool CounterResetAt(const Plan& plan, std::size_t index, std::int64_t tick) {
  constexpr std::int64_t kPeriodMs = 14LL * 24 * 3600 * 1000;
  const std::int64_t period = std::max<std::int64_t>(2, kPeriodMs / plan.step_ms);
  const std::int64_t since = tick - plan.months.front().first_tick;
  return index % 7 == 3 && since > 0 && since % period == period / 2;
}

// "J.jjjj" of a counter in units of 0.5 mJ (5 units of 0.1 mJ each).
inline char* PutCounter(char* q, std::int64_t half_mj) {
  const std::int64_t tenth_mj = half_mj * 5;
  const auto n = std::snprintf(q, 32, "%lld.%04lld", static_cast<long long>(tenth_mj / 10000),
                               static_cast<long long>(tenth_mj % 10000));
  return q + n;
}

// One counter row at q: "ts,node,joules\n" (or "node,ts,joules\n").
inline char* PutCounterRow(char* q, std::string_view ts, std::string_view node, std::int64_t half_mj, bool node_first) {
  q = PutText(q, node_first ? node : ts);
  *q++ = ',';
  q = PutText(q, node_first ? ts : node);
  *q++ = ',';
  q = PutCounter(q, half_mj);
  *q++ = '\n';
  return q;
}

struct DirtEvent {
  std::int64_t tick = 0;  // emitted right after the row of (tick, slot)
  int slot = 0;
  int order = 0;
  Dirt kind = Dirt::kDuplicate;
  std::int64_t target_tick = 0;  // row copied or replaced
  int value = 0;
  std::string text;           // malformed line, without newline
  bool replaces_row = false;  // out-of-order: this row is written instead
};

bool InGuard(const Plan& plan, std::int64_t tick) {
  const TimeMs t = tick * plan.step_ms;
  for (const auto& [lo, hi] : plan.guards) {
    if (t >= lo && t < hi) return true;
  }
  return false;
}

// Chooses a file's dirt from (seed, file index) alone. The random draws
// happen in a fixed order (duplicates, conflicts, swaps, malformed lines by
// kind), which the file's bytes depend on.
class DirtPlanner {
 public:
  DirtPlanner(const Plan& plan, const TelemetryFilePlan& file)
      : plan_(plan),
        file_(file),
        lo_(plan.months[static_cast<std::size_t>(file.month)].first_tick + 5),
        hi_(plan.months[static_cast<std::size_t>(file.month)].last_tick - 6),
        rng_(plan.seed, Stream::kFileDirt, static_cast<std::uint64_t>(file.index)),
        rows_(static_cast<double>(hi_ - lo_) * file.n_nodes),
        fmt_(plan.telemetry_offsets, plan.step_ms, plan.telemetry_z_suffix, IsLdms(plan)) {}

  std::vector<DirtEvent> Events() {
    if (!plan_.options.dirty || hi_ <= lo_) return {};
    AddDuplicates();
    AddConflicts();
    AddSwaps();
    // Malformed lines, inserted after a row; fields in the file's column order.
    AddMalformed(Dirt::kFieldCount, HowMany(0.4));
    AddMalformed(Dirt::kBadWatts, HowMany(0.3));
    AddMalformed(Dirt::kNegativeWatts, HowMany(0.2));
    AddMalformed(Dirt::kBadTime, HowMany(0.3));
    AddMalformed(Dirt::kUnknownNode, HowMany(0.3));
    AddMalformed(Dirt::kEmptyNode, static_cast<int>(rng_.Int(0, 1)));
    if (file_.group == 0 && !plan_.telemetry_zone.is_utc() && !IsLdms(plan_)) AddNonexistentTimes();
    std::sort(events_.begin(), events_.end(), [](const DirtEvent& a, const DirtEvent& b) {
      if (a.tick != b.tick) return a.tick < b.tick;
      if (a.slot != b.slot) return a.slot < b.slot;
      return a.order < b.order;
    });
    return std::move(events_);
  }

 private:
  int HowMany(double per_million) {
    return 1 + static_cast<int>(std::llround(rows_ * 1e-6 * per_million * rng_.Uniform(0.5, 1.5)));
  }

  const NodeSeries& SeriesOf(int slot) const {
    return plan_.nodes[static_cast<std::size_t>(file_.first_node) + static_cast<std::size_t>(slot)].series;
  }

  int ValueAt(int slot, std::int64_t tick) const {
    SeriesCursor cursor;
    return Reading(SeriesOf(slot), tick, &cursor);
  }

  // A (tick, slot) whose next `span` ticks are unused, outside the guards,
  // and with readings at tick and tick + 1.
  bool Pick(std::int64_t* tick, int* slot, int span) {
    for (int tries = 0; tries < 200; ++tries) {
      const std::int64_t t = rng_.Int(lo_, hi_);
      const int s = static_cast<int>(rng_.Int(0, file_.n_nodes - 1));
      bool ok = true;
      for (int d = 0; ok && d <= span; ++d) {
        ok = !InGuard(plan_, t + d) && std::find(used_.begin(), used_.end(), std::make_pair(t + d, s)) == used_.end();
      }
      SeriesCursor cursor;
      for (int d = 0; ok && d <= 1; ++d) ok = Reading(SeriesOf(s), t + d, &cursor) >= 0;
      if (!ok) continue;
      for (int d = 0; d <= span; ++d) used_.emplace_back(t + d, s);
      *tick = t;
      *slot = s;
      return true;
    }
    return false;
  }

  void AddDuplicates() {  // exact duplicates, 0-3 ticks later
    std::int64_t t = 0;
    int s = 0;
    for (int k = HowMany(2.0); k > 0; --k) {
      if (!Pick(&t, &s, 3)) continue;
      DirtEvent e;
      e.kind = Dirt::kDuplicate;
      e.target_tick = t;
      e.tick = t + rng_.Int(0, 3);
      e.slot = s;
      e.value = ValueAt(s, t);
      e.order = order_++;
      events_.push_back(e);
    }
  }

  void AddConflicts() {  // a later row with another value
    std::int64_t t = 0;
    int s = 0;
    for (int k = HowMany(1.0); k > 0; --k) {
      if (!Pick(&t, &s, 3)) continue;
      DirtEvent e;
      e.kind = Dirt::kConflict;
      e.target_tick = t;
      e.tick = t + rng_.Int(1, 3);
      e.slot = s;
      const int v = ValueAt(s, t);
      const int delta = static_cast<int>(rng_.Int(1, 40));
      e.value = v == 0 ? 200 + delta : (rng_.Bernoulli(0.5) || v <= delta ? v + delta : v - delta);
      e.order = order_++;
      events_.push_back(e);
    }
  }

  void AddSwaps() {  // two consecutive ticks swapped
    std::int64_t t = 0;
    int s = 0;
    for (int k = HowMany(1.5); k > 0; --k) {
      if (!Pick(&t, &s, 1)) continue;
      DirtEvent a;
      a.kind = Dirt::kOutOfOrder;
      a.tick = t;
      a.slot = s;
      a.target_tick = t + 1;
      a.value = ValueAt(s, t + 1);
      a.replaces_row = true;
      a.order = order_++;
      DirtEvent b = a;
      b.tick = t + 1;
      b.target_tick = t;
      b.value = ValueAt(s, t);
      b.order = order_++;
      events_.push_back(a);
      events_.push_back(b);
    }
  }

  // A line of three fields in the file's column order (an LDMS line: the
  // layout's six), without newline.
  std::string Line(std::string_view ts, std::string_view node, std::string_view watts) const {
    std::string out;
    if (IsLdms(plan_)) {
      return std::string(ts) + "," + std::string(MicrosOf(ts)) + "," + std::string(node) + ",0,0," + std::string(watts);
    }
    out += file_.node_first_columns ? node : ts;
    out += ',';
    out += file_.node_first_columns ? ts : node;
    out += ',';
    out += watts;
    return out;
  }

  // The malformed text of `kind`, built from a good row (ts, node, w).
  std::string MalformedText(Dirt kind, int variant, const std::string& ts, const std::string& node,
                            const std::string& w) const {
    switch (kind) {
      case Dirt::kFieldCount:
        return variant == 0 ? Line(ts, node, w).substr(0, Line(ts, node, w).rfind(','))
                            : Line(ts, node, w) + (variant == 1 ? ",1" : ",,");
      case Dirt::kBadWatts:
        return Line(ts, node, variant == 0 ? "n/a" : variant == 1 ? "" : w + "x");
      case Dirt::kNegativeWatts:
        return Line(ts, node, "-" + w);
      case Dirt::kBadTime: {
        std::string bad = ts;
        if (IsLdms(plan_)) {
          bad = variant == 0 ? bad.replace(bad.find('.'), 1, ":") : variant == 1 ? bad + "s" : "N/A";
        } else if (variant == 0) {
          bad.replace(11, 2, "25");  // hour 25
        } else if (variant == 1) {
          bad.replace(8, 2, "32");  // day 32
        } else {
          bad = "N/A";
        }
        return Line(bad, node, w);
      }
      case Dirt::kUnknownNode:
        return Line(ts, plan_.unknown_node_name, w);
      case Dirt::kEmptyNode:
        return Line(ts, "", w);
      default:
        return std::string();
    }
  }

  void AddMalformed(Dirt kind, int count) {
    std::int64_t t = 0;
    int s = 0;
    for (int k = 0; k < count; ++k) {
      if (!Pick(&t, &s, 0)) continue;
      const std::string ts(fmt_.Format(t));
      const std::string& node =
          plan_.nodes[static_cast<std::size_t>(file_.first_node) + static_cast<std::size_t>(s)].name;
      const std::string w = std::to_string(ValueAt(s, t));
      DirtEvent e;
      e.kind = kind;
      e.tick = t;
      e.slot = s;
      e.order = order_++;
      const int variant = static_cast<int>(rng_.Int(0, 2));
      e.text = MalformedText(kind, variant, ts, node, w);
      events_.push_back(std::move(e));
    }
  }

  // A local time inside a spring-forward gap (group 0's file of the month).
  void AddNonexistentTimes() {
    const ZoneOffsets& z = plan_.telemetry_offsets;
    for (std::size_t i = 0; i < z.change_at.size(); ++i) {
      const std::int64_t before = z.offset_ms[i];
      const std::int64_t after = z.offset_ms[i + 1];
      const std::int64_t tick = FloorDivTicks(z.change_at[i], plan_.step_ms);
      if (after <= before || tick < lo_ || tick > hi_) continue;
      const std::int64_t gap_wall_s = (z.change_at[i] + before) / 1000 + (after - before) / 2000;
      std::string ts = DateTime(gap_wall_s, ' ');
      if (plan_.telemetry_z_suffix) ts += 'Z';
      DirtEvent e;
      e.kind = Dirt::kNonexistentTime;
      e.tick = tick;
      e.slot = 0;
      e.order = order_++;
      e.text = Line(ts, plan_.nodes[static_cast<std::size_t>(file_.first_node)].name, "250");
      events_.push_back(std::move(e));
    }
  }

  const Plan& plan_;
  const TelemetryFilePlan& file_;
  const std::int64_t lo_;
  const std::int64_t hi_;
  Rng rng_;
  const double rows_;
  TickFormatter fmt_;
  std::vector<std::pair<std::int64_t, int>> used_;
  std::vector<DirtEvent> events_;
  int order_ = 0;
};

std::vector<DirtEvent> PlanDirt(const Plan& plan, const TelemetryFilePlan& file) {
  if (IsCounter(plan)) return {};  // counters are written clean
  return DirtPlanner(plan, file).Events();
}

// Streams one telemetry file: every tick of the month, time-major, with the
// dirt spliced in after its row, then (dirty) the next month's first ticks.
// Counts each first-occurrence reading into the node histograms.
class TelemetryFileWriter {
 public:
  TelemetryFileWriter(const Plan& plan, const TelemetryFilePlan& file, const std::string& output_dir,
                      NodeHistograms* histograms)
      : plan_(plan),
        file_(file),
        events_(PlanDirt(plan, file)),
        out_(output_dir + "/" + file.rel_path, file.gzip),
        n_(file.n_nodes),
        ldms_(IsLdms(plan)),
        counter_(IsCounter(plan)),
        node_first_(file.node_first_columns && !ldms_),
        series_(static_cast<std::size_t>(n_)),
        names_(static_cast<std::size_t>(n_)),
        cursors_(static_cast<std::size_t>(n_)),
        hist_(histograms->counts.data() + static_cast<std::size_t>(file.first_node) * kHistogramBins),
        min_w_(histograms->min_w.data() + file.first_node),
        max_w_(histograms->max_w.data() + file.first_node),
        fmt_(plan.telemetry_offsets, plan.step_ms, plan.telemetry_z_suffix, ldms_),
        side_fmt_(plan.telemetry_offsets, plan.step_ms, plan.telemetry_z_suffix, ldms_) {
    for (int k = 0; k < n_; ++k) {
      const std::size_t index = static_cast<std::size_t>(file.first_node) + static_cast<std::size_t>(k);
      const PlanNode& node = plan.nodes[index];
      series_[static_cast<std::size_t>(k)] = &node.series;
      names_[static_cast<std::size_t>(k)] = node.name;
      // ProducerName, component_id (the node's index from 1), job_id (none: 0).
      if (ldms_) ldms_middles_.push_back(node.name + "," + std::to_string(index + 1) + ",0");
    }
    if (counter_) StartCounters();
  }

  TelemetryFileStats Write() {
    const char* value = counter_ ? "joules" : "watts";
    out_.Write(ldms_         ? std::string("#Time,Time_usec,ProducerName,component_id,job_id,power\n")
               : node_first_ ? std::string("node,timestamp,") + value + "\n"
                             : std::string("timestamp,node,") + value + "\n");
    const MonthSpan& month = plan_.months[static_cast<std::size_t>(file_.month)];
    for (std::int64_t tick = month.first_tick; tick <= month.last_tick; ++tick) {
      const std::string_view ts = fmt_.Format(tick);
      if (next_event_ >= events_.size() || events_[next_event_].tick != tick) {
        WriteCleanTick(tick, ts);
      } else {
        WriteDirtyTick(tick, ts);
      }
    }
    if (plan_.options.dirty && !counter_ && static_cast<std::size_t>(file_.month) + 1 < plan_.months.size()) {
      WriteNextMonthOverlap();
    }
    stats_.clean_rows = clean_;
    stats_.rows = rows_ + clean_;
    stats_.bytes_uncompressed = out_.uncompressed_bytes();
    stats_.bytes_on_disk = out_.Close();
    return std::move(stats_);
  }

 private:
  int ReadingOf(int slot, std::int64_t tick) {
    return Reading(*series_[static_cast<std::size_t>(slot)], tick, &cursors_[static_cast<std::size_t>(slot)]);
  }
  // A reading off the sequential cursors (a tick out of the time order).
  int ReadingAside(int slot, std::int64_t tick) const {
    SeriesCursor cursor;
    return Reading(*series_[static_cast<std::size_t>(slot)], tick, &cursor);
  }

  void Count(int slot, int v) {
    hist_[static_cast<std::size_t>(slot) * kHistogramBins +
          static_cast<std::size_t>(std::min(v, kHistogramBins - 1))] += 1;
    min_w_[slot] = std::min(min_w_[slot], v);
    max_w_[slot] = std::max(max_w_[slot], v);
  }

  // The counters at the file's month start: every earlier reading of its
  // nodes integrated (the writer of each month's file does it again, so that
  // files stay independent of each other and of the ranks).
  void StartCounters() {
    counters_.resize(static_cast<std::size_t>(n_));
    const std::int64_t month_start = plan_.months[static_cast<std::size_t>(file_.month)].first_tick;
    for (int k = 0; k < n_; ++k) {
      SeriesCursor cursor;
      for (std::int64_t tick = plan_.months.front().first_tick; tick < month_start; ++tick) {
        const int v = Reading(*series_[static_cast<std::size_t>(k)], tick, &cursor);
        if (v >= 0) AdvanceCounter(k, tick, v);
      }
    }
  }

  std::int64_t AdvanceCounter(int slot, std::int64_t tick, int watts) {
    const std::size_t index = static_cast<std::size_t>(file_.first_node) + static_cast<std::size_t>(slot);
    return counters_[static_cast<std::size_t>(slot)].Advance(tick, watts, CounterResetAt(plan_, index, tick),
                                                             plan_.step_ms);
  }

  char* PutSlotRow(char* q, std::string_view ts, int slot, int watts) const {
    const auto k = static_cast<std::size_t>(slot);
    return ldms_ ? PutLdmsRow(q, ts, ldms_middles_[k], watts) : PutRow(q, ts, names_[k], watts, node_first_);
  }

  void PutOneRow(std::string_view ts, int slot, int watts) {
    char* const begin = out_.Reserve(kMaxRowBytes);
    out_.Commit(static_cast<std::size_t>(PutSlotRow(begin, ts, slot, watts) - begin));
  }

  // A truth/telemetry_dirt.csv line: index,file,line,kind,node,timestamp,detail.
  void Log(std::int64_t line, Dirt kind, std::string_view node, std::string_view ts, const std::string& detail) {
    stats_.dirt_log += std::to_string(file_.index) + "," + file_.rel_path + "," + std::to_string(line) + "," +
                       ToString(kind) + "," + std::string(node) + "," + std::string(ts) + "," + CsvField(detail) + "\n";
  }

  // A tick without dirt: all rows through one reservation.
  void WriteCleanTick(std::int64_t tick, std::string_view ts) {
    char* const begin = out_.Reserve(static_cast<std::size_t>(n_) * kMaxRowBytes);
    char* q = begin;
    for (int k = 0; k < n_; ++k) {
      const int v = ReadingOf(k, tick);
      if (v < 0) continue;
      Count(k, v);
      q = counter_ ? PutCounterRow(q, ts, names_[static_cast<std::size_t>(k)], AdvanceCounter(k, tick, v), node_first_)
                   : PutSlotRow(q, ts, k, v);
      ++clean_;
    }
    out_.Commit(static_cast<std::size_t>(q - begin));
  }

  // A tick with dirt: row by row.
  void WriteDirtyTick(std::int64_t tick, std::string_view ts) {
    for (int k = 0; k < n_; ++k) {
      const int v = ReadingOf(k, tick);
      while (next_event_ < events_.size() && events_[next_event_].tick == tick && events_[next_event_].slot < k) {
        ++next_event_;
      }
      const bool replaced = WriteReplacements(tick, k, ts);
      if (v >= 0) {
        Count(k, v);
        ++clean_;
        if (!replaced) PutOneRow(ts, k, v);
      }
      WriteDirtAfterRow(tick, k);
    }
  }

  // Out-of-order rows written in place of (tick, slot)'s row; true if any.
  bool WriteReplacements(std::int64_t tick, int slot, std::string_view ts) {
    bool replaced = false;
    for (std::size_t i = next_event_; i < events_.size() && events_[i].tick == tick && events_[i].slot == slot; ++i) {
      if (!events_[i].replaces_row) continue;
      const std::string ts_other(side_fmt_.Format(events_[i].target_tick));
      PutOneRow(ts_other, slot, events_[i].value);
      if (events_[i].target_tick > tick) {
        ++stats_.dirt[static_cast<int>(Dirt::kOutOfOrder)];
        Log(2 + rows_ + clean_, Dirt::kOutOfOrder, names_[static_cast<std::size_t>(slot)], ts_other,
            "written before " + std::string(ts));
      }
      replaced = true;
    }
    return replaced;
  }

  // Duplicates, conflicts and malformed lines after (tick, slot)'s row.
  void WriteDirtAfterRow(std::int64_t tick, int slot) {
    for (; next_event_ < events_.size() && events_[next_event_].tick == tick && events_[next_event_].slot == slot;
         ++next_event_) {
      const DirtEvent& ev = events_[next_event_];
      if (ev.replaces_row) continue;
      ++stats_.dirt[static_cast<int>(ev.kind)];
      ++rows_;
      const std::string_view node = names_[static_cast<std::size_t>(slot)];
      if (ev.kind == Dirt::kDuplicate || ev.kind == Dirt::kConflict) {
        const std::string ts_other(side_fmt_.Format(ev.target_tick));
        PutOneRow(ts_other, slot, ev.value);
        const int truth = ReadingAside(slot, ev.target_tick);
        Log(1 + rows_ + clean_, ev.kind, node, ts_other,
            "watts " + std::to_string(ev.value) + ", first (true) " + std::to_string(truth));
      } else {
        out_.Write(ev.text);
        out_.Write("\n");
        Log(1 + rows_ + clean_, ev.kind, node, "", ev.text);
      }
    }
  }

  // The next month's first ticks, as an overlapping export repeats them.
  void WriteNextMonthOverlap() {
    const std::int64_t first_line = 2 + rows_ + clean_;
    const MonthSpan& next = plan_.months[static_cast<std::size_t>(file_.month) + 1];
    for (std::int64_t tick = next.first_tick; tick < next.first_tick + kOverlapTicks && tick <= next.last_tick;
         ++tick) {
      const std::string ts(side_fmt_.Format(tick));
      for (int k = 0; k < n_; ++k) {
        const int v = ReadingAside(k, tick);
        if (v < 0) continue;
        PutOneRow(ts, k, v);
        ++stats_.dirt[static_cast<int>(Dirt::kDuplicate)];
        ++stats_.overlap_duplicates;
        ++rows_;
      }
    }
    Log(first_line, Dirt::kDuplicate, "", "",
        "lines " + std::to_string(first_line) + "-" + std::to_string(1 + rows_ + clean_) + ": the next month's first " +
            std::to_string(kOverlapTicks) + " ticks repeated");
  }

  const Plan& plan_;
  const TelemetryFilePlan& file_;
  TelemetryFileStats stats_;
  const std::vector<DirtEvent> events_;
  OutputFile out_;
  const int n_;
  const bool ldms_;
  const bool counter_;
  const bool node_first_;
  std::vector<const NodeSeries*> series_;
  std::vector<std::string_view> names_;
  std::vector<std::string> ldms_middles_;  // per slot, LDMS layout only
  std::vector<SeriesCursor> cursors_;
  std::vector<NodeCounter> counters_;  // per slot, energy counters only
  std::uint32_t* const hist_;
  std::int32_t* const min_w_;
  std::int32_t* const max_w_;
  TickFormatter fmt_;
  TickFormatter side_fmt_;
  std::size_t next_event_ = 0;
  std::int64_t rows_ = 0;   // dirt lines so far
  std::int64_t clean_ = 0;  // series readings so far
};

}  // namespace

const char* ToString(Dirt dirt) {
  switch (dirt) {
    case Dirt::kDuplicate:
      return "duplicate";
    case Dirt::kConflict:
      return "conflict";
    case Dirt::kOutOfOrder:
      return "out_of_order";
    case Dirt::kFieldCount:
      return "field_count";
    case Dirt::kBadWatts:
      return "bad_watts";
    case Dirt::kNegativeWatts:
      return "negative_watts";
    case Dirt::kBadTime:
      return "bad_time";
    case Dirt::kNonexistentTime:
      return "nonexistent_time";
    case Dirt::kUnknownNode:
      return "unknown_node";
    case Dirt::kEmptyNode:
      return "empty_node";
    case Dirt::kCount:
      break;
  }
  return "?";
}

std::string_view TickFormatter::Format(std::int64_t tick) {
  const TimeMs utc = tick * step_ms_;
  if (epoch_) {
    const std::int64_t seconds = FloorDiv(utc, kMsPerSecond);
    const auto n = std::snprintf(text_, sizeof text_, "%lld.%03lld000", static_cast<long long>(seconds),
                                 static_cast<long long>(utc - seconds * kMsPerSecond));
    return std::string_view(text_, static_cast<std::size_t>(n));
  }
  const auto& at = offsets_.change_at;
  if (!zone_valid_ || (zone_index_ > 0 && utc < at[zone_index_ - 1])) {
    zone_index_ = static_cast<std::size_t>(std::upper_bound(at.begin(), at.end(), utc) - at.begin());
    zone_valid_ = true;
  }
  while (zone_index_ < at.size() && utc >= at[zone_index_]) ++zone_index_;
  const std::int64_t seconds = (utc + offsets_.offset_ms[zone_index_]) / 1000;
  const std::int64_t day = FloorDiv(seconds, 86400);
  if (day != cached_day_) {
    std::string date;
    AppendDateTime(&date, day * 86400, ' ');
    std::memcpy(text_, date.data(), 11);  // "YYYY-MM-DD "
    cached_day_ = day;
  }
  const std::int64_t sod = seconds - day * 86400;
  const int h = static_cast<int>(sod / 3600);
  const int m = static_cast<int>((sod / 60) % 60);
  const int s = static_cast<int>(sod % 60);
  char* q = text_ + 11;
  *q++ = static_cast<char>('0' + h / 10);
  *q++ = static_cast<char>('0' + h % 10);
  *q++ = ':';
  *q++ = static_cast<char>('0' + m / 10);
  *q++ = static_cast<char>('0' + m % 10);
  *q++ = ':';
  *q++ = static_cast<char>('0' + s / 10);
  *q++ = static_cast<char>('0' + s % 10);
  if (z_suffix_) *q++ = 'Z';
  return std::string_view(text_, static_cast<std::size_t>(q - text_));
}

TelemetryFileStats WriteTelemetryFile(const Plan& plan, const TelemetryFilePlan& file, const std::string& output_dir,
                                      NodeHistograms* histograms) {
  return TelemetryFileWriter(plan, file, output_dir, histograms).Write();
}

}  // namespace wattrun::generate
