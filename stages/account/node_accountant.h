// The hot loop of facility accounting: one node's readings over one unit of
// work [from, until), shared among the jobs running on the node (spec
// section 4, "Shares of a node").
//
// The time line of the unit is cut once, at construction, into segments at
// every instant where the shares can change: job starts and ends, month
// starts, the store's first and last instant and the unit's own edges.
// Inside a segment the set of jobs and the month are constant, so a reading
// only adds to the current segment's integrals (∫W dt, ∫W·carbon dt, covered
// time, missing time, readings, zeros); the segments are distributed to their
// jobs once, in Finish. A carbon intensity change inside a segment only cuts
// the reading interval that crosses it, for the carbon integral.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "stages/account/account.h"
#include "stages/account/sum_run.h"

namespace wattrun::account {

class NodeAccountant {
 public:
  // from may be INT64_MIN and until INT64_MAX. Throws wattrun::Error if the
  // node is not in the inventory.
  NodeAccountant(const AccountSetup& setup, const std::string& node, TimeUs from, TimeUs until,
                 std::uint32_t unit_index);

  // Readings in strictly increasing time (the store's order; not checked,
  // to keep the loop at a few adds), in any chunking, including the
  // neighbour before `from` and the one at or after `until` when the node
  // has them (they shape the integrals at the edges and are never counted
  // as samples; further readings outside the range only cost time).
  void Add(const TimeUs* time, const double* watts, std::size_t n);
  // Appends what the unit learned to partial. Call once, after the last Add.
  void Finish(AccountPartial* partial);

  std::size_t segment_count() const { return segments_.size(); }

  // Every reading through the general path (AddSlow, SumRun), without the
  // fast paths for the usual stretch: for the tests that check they give
  // the same bits. Call before the first Add.
  void UseGeneralPathOnly() {
    general_only_ = true;
    uniform_skips_ = std::numeric_limits<int>::max();
  }

 private:
  struct Segment {
    TimeUs begin = 0;
    TimeUs end = 0;
    std::int32_t month = -1;
    bool in_range = false;                         // inside [from, until)
    bool in_store = false;                         // inside [store_first, store_last]
    double denominator = 1;                        // max(C_h, Σ w_k)
    std::uint32_t jobs_begin = 0, jobs_end = 0;    // into active_ (NodeJob indices)
    std::uint32_t point_begin = 0, point_end = 0;  // jobs ending at `begin`
  };
  // What the readings add to a segment.
  struct Integrals {
    double energy_wms = 0;        // ∫ W dt in W·ms
    double carbon_wms = 0;        // ∫ W·(g/J) dt in g·ms/s: energy weighed by intensity
    double missing_ms = 0;        // time more than Δ from any reading
    std::int64_t covered_us = 0;  // time where W exists
    std::int64_t readings = 0;
    std::int64_t zeros = 0;
  };

  void BuildSegments(const std::vector<TimeUs>& bounds, const std::vector<std::uint32_t>& by_start);
  template <integrate::Method kMethod>
  void AddReadings(const TimeUs* time, const double* watts, std::size_t n);
  RunSums SumRun(const TimeUs* time, const double* watts, std::size_t begin, std::size_t end, TimeUs two_intervals);
  template <integrate::Method kMethod>
  void AddOnIntensityChange(TimeUs t, double w);
  std::size_t AddWholePieces(const TimeUs* time, const double* watts, std::size_t b, std::size_t n);
  void TakeNextIntensity();
  TimeUs NextIntensityTime() const;
  void AddSlow(TimeUs t, double w);
  void AddFirst(TimeUs t, double w);
  void AddPiece(TimeUs a, TimeUs b, TimeUs t, double w);
  void CountReading(TimeUs t, double w);
  void FlushPiece();
  void EnterSegment(std::size_t s);
  void SwitchIntensity(TimeUs t);
  void Distribute(AccountPartial* partial) const;

  const AccountSetup& setup_;
  std::uint32_t node_ = 0;
  std::uint32_t unit_ = 0;
  TimeUs from_, until_;
  TimeUs interval_us_;
  double per_interval_;  // 1 / interval_us_, for RunEnd's guess
  integrate::Method method_;
  SumRunFunction sum_run_;  // chosen once: the CPU and the method do not change
  UniformRunFunction uniform_run_;
  UniformPiecesFunction uniform_pieces_;
  int uniform_skips_ = 0;  // runs left to sum without trying uniform_run_ (after it said no)
  bool general_only_ = false;
  const NodeSetup* node_setup_ = nullptr;
  std::size_t jobs_first_ = 0, jobs_last_ = 0;  // the node's jobs that can touch the unit
  std::vector<Segment> segments_;
  std::vector<Integrals> integrals_;
  std::vector<std::uint32_t> active_;                       // NodeJob indices per segment
  std::vector<std::uint32_t> point_;                        // NodeJob indices per segment start
  std::vector<std::int64_t> point_readings_, point_zeros_;  // per point_ entry

  std::size_t seg_ = 0;
  Integrals* cur_ = nullptr;
  TimeUs next_bound_ = std::numeric_limits<TimeUs>::min();  // first reading takes the slow path
  TimeUs next_intensity_ = std::numeric_limits<TimeUs>::max();
  std::size_t next_intensity_index_ = 0;  // into setup_.intensity_times
  double carbon_factor_ = 0;              // g/J in effect since the last intensity change
  double piece_energy_wms_ = 0;           // ∫ W dt since the last segment or intensity change
  bool have_prev_ = false;
  TimeUs prev_t_ = 0;
  double prev_w_ = 0;
  bool finished_ = false;
};

}  // namespace wattrun::account
