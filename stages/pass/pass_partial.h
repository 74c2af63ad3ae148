// What one rank learns in the telemetry pass, as one mergeable type: run
// integrals by (run, unit), the rows of the nodes it streamed whole, the
// exact value counts of nodes it shares with a neighbouring rank, and each
// node type's pooled value counts. Ranks' partials are merged (in any
// order: the result is the same) and finished on rank 0; only this type
// knows its bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/quantile.h"
#include "stages/account/account.h"
#include "stages/idle/idle.h"
#include "stages/integrate/integrate.h"

namespace wattrun::pass {

struct RunPart {
  std::int64_t run = 0;
  std::int64_t unit = 0;  // a run's parts are added in unit (time) order
  double energy_j = 0;
  std::int64_t samples = 0;
  std::int64_t has_zero = 0;
  double carbon_g = 0;  // of energy_j, at the intensity in effect in each part of the window
};

// Readings per (UTC day, node type index), ordered by day then type.
using DayTypeCounts = std::map<std::pair<std::int64_t, int>, std::int64_t>;

class PassPartial {
 public:
  void AddRunPart(std::size_t run, std::size_t unit, const integrate::RunIntegral& part, double carbon_g = 0);
  // A node streamed whole by this rank, described here.
  void AddWholeNode(idle::NodeDistribution row) { whole_nodes_.push_back(std::move(row)); }
  // Part of a node whose units are split between ranks (merged exactly on rank 0).
  void AddNodePart(std::size_t node, const ValueCounts& values) { node_parts_[node].Merge(values); }
  void AddTypeValues(std::size_t type, const ValueCounts& values);
  void AddReadings(std::int64_t n) { readings_ += n; }
  // `n` readings of node type `type` (-1: not in nodes.csv) on UTC day
  // `day` (days since 1970-01-01): the report's coverage over time. One
  // count per (day, type), whatever the number of readings.
  void AddDayReadings(std::int64_t day, int type, std::int64_t n) { day_type_readings_[{day, type}] += n; }
  void AddBytesRead(std::int64_t n) { bytes_read_ += n; }
  // Drops of energy counters (facility.telemetry.kind: energy_counter).
  void AddCounterResets(std::int64_t n) { counter_resets_ += n; }
  void NotePeakRss(std::int64_t bytes) { peak_rss_ = std::max(peak_rss_, bytes); }
  // Facility accounting's parts: accountants append to it.
  account::AccountPartial* mutable_account() { return &account_; }

  void Merge(const PassPartial& other);
  void Merge(PassPartial&& other);
  // With BulkRecords::kApart the accounting's job parts are left out of the
  // bytes: ReduceToRoot sends them as they lie (BulkBytes) and writes
  // them after rank 0's (BulkRoom), not copied into a buffer on either side.
  std::vector<char> Pack(BulkRecords bulk = BulkRecords::kPacked) const;
  static PassPartial Unpack(const char* data, std::size_t size);
  // Merge(Unpack(data, size)) without the unpacked copy of the job parts:
  // they are appended from the bytes.
  void MergePacked(const char* data, std::size_t size, BulkRecords bulk = BulkRecords::kPacked);
  std::span<const char> BulkBytes() const { return account_.JobPartBytes(); }
  char* BulkRoom(std::size_t bytes) { return account_.JobPartRoom(bytes); }

  // Run integrals in run order, each the sum of its parts in unit order;
  // `integrated[i]` is false for runs no unit saw; `carbon_g`, if given,
  // the runs' carbon summed the same way.
  void SumRuns(std::size_t run_count, std::vector<integrate::RunIntegral>* integrals, std::vector<bool>* integrated,
               std::vector<double>* carbon_g = nullptr) const;
  const std::vector<idle::NodeDistribution>& whole_nodes() const { return whole_nodes_; }
  const std::map<std::size_t, ValueCounts>& node_parts() const { return node_parts_; }
  const std::vector<ValueCounts>& type_values() const { return type_values_; }
  std::int64_t readings() const { return readings_; }
  const DayTypeCounts& day_type_readings() const { return day_type_readings_; }
  std::int64_t bytes_read() const { return bytes_read_; }
  std::int64_t counter_resets() const { return counter_resets_; }
  std::int64_t peak_rss() const { return peak_rss_; }
  const account::AccountPartial& account() const { return account_; }
  account::AccountPartial TakeAccount() { return std::move(account_); }

 private:
  void MergeCounts(const PassPartial& other);

  std::vector<RunPart> runs_;
  std::vector<idle::NodeDistribution> whole_nodes_;
  std::map<std::size_t, ValueCounts> node_parts_;
  std::vector<ValueCounts> type_values_;
  account::AccountPartial account_;
  DayTypeCounts day_type_readings_;
  std::int64_t readings_ = 0;
  std::int64_t bytes_read_ = 0;
  std::int64_t counter_resets_ = 0;
  std::int64_t peak_rss_ = 0;
};

}  // namespace wattrun::pass
