#include "stages/ingest/dedup.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <tuple>
#include <utility>

namespace wattrun::ingest {

void NodeDeduplicator::Load(std::vector<ChunkRef>* refs, ChunkPool* pool, const DropCounter& count) {
  // Line order: chunks never span two work items, so their first lines order them.
  std::sort(refs->begin(), refs->end(), [](const ChunkRef& a, const ChunkRef& b) { return a.order < b.order; });
  std::size_t rows = 0;
  for (const ChunkRef& ref : *refs) rows += ref.count;
  time_.resize(rows);
  watts_.resize(rows);
  segments_.clear();
  bool any_ambiguous = false;
  std::size_t at = 0;
  for (ChunkRef& ref : *refs) {
    segments_.push_back(Segment{at, FileOfOrder(ref.order), ref.ambiguous});
    any_ambiguous = any_ambiguous || ref.ambiguous;
    const std::size_t n = ref.count;
    pool->Take(&ref, time_.data() + at, watts_.data() + at);
    at += n;
  }
  refs->clear();
  if (rows == 0) return;
  if (any_ambiguous) ResolveRepeatedHour();

  // Files are written in time order, so a node's rows usually are too: then
  // nothing moves. Otherwise a stable sort keeps line order among equal instants.
  const bool sorted = std::is_sorted(time_.begin(), time_.end());
  if (!sorted) {
    permutation_.resize(rows);
    std::iota(permutation_.begin(), permutation_.end(), std::size_t{0});
    std::stable_sort(permutation_.begin(), permutation_.end(),
                     [this](std::size_t a, std::size_t b) { return time_[a] < time_[b]; });
    sorted_time_.resize(rows);
    sorted_watts_.resize(rows);
    for (std::size_t k = 0; k < rows; ++k) {
      sorted_time_[k] = time_[permutation_[k]];
      sorted_watts_[k] = watts_[permutation_[k]];
    }
    time_.swap(sorted_time_);
    watts_.swap(sorted_watts_);
  }
  auto line_row = [&](std::size_t k) { return sorted ? k : permutation_[k]; };
  first_file_ = FileOfRow(line_row(0));

  std::size_t kept = 1;
  for (std::size_t k = 1; k < rows; ++k) {
    if (time_[k] == time_[kept - 1]) [[unlikely]] {
      count(FileOfRow(line_row(k)), watts_[k] == watts_[kept - 1] ? "duplicate" : "conflict");
      continue;
    }
    time_[kept] = time_[k];
    watts_[kept] = watts_[k];
    ++kept;
  }
  time_.resize(kept);
  watts_.resize(kept);
}

void NodeDeduplicator::DropStored(std::vector<TimeUs>* stored_time, std::vector<double>* stored_watts,
                                  const DropCounter& count) {
  std::vector<TimeUs>& st = *stored_time;
  std::vector<double>& sw = *stored_watts;
  if (st.empty() || time_.empty()) return;
  if (!std::is_sorted(st.begin(), st.end())) {
    std::vector<std::pair<TimeUs, double>> stored;
    for (std::size_t k = 0; k < st.size(); ++k) stored.emplace_back(st[k], sw[k]);
    std::sort(stored.begin(), stored.end());
    for (std::size_t k = 0; k < stored.size(); ++k) std::tie(st[k], sw[k]) = stored[k];
  }
  // Both sorted: one merge-like walk.
  std::size_t kept = 0, o = 0;
  for (std::size_t k = 0; k < time_.size(); ++k) {
    while (o < st.size() && st[o] < time_[k]) ++o;
    if (o < st.size() && st[o] == time_[k]) {
      count(first_file_, sw[o] == watts_[k] ? "duplicate_of_stored" : "conflict_with_stored");
      continue;
    }
    time_[kept] = time_[k];
    watts_[kept] = watts_[k];
    ++kept;
  }
  time_.resize(kept);
  watts_.resize(kept);
}

std::uint32_t NodeDeduplicator::FileOfRow(std::size_t row) const {
  const auto it = std::upper_bound(segments_.begin(), segments_.end(), row,
                                   [](std::size_t r, const Segment& s) { return r < s.begin; });
  return (it - 1)->file;
}

// A node's ambiguous rows (wall times of a repeated hour), taken in line
// order, form passes through the repeated hour; a pass ends where the wall
// time goes back. Even passes are daylight time (the earlier instant), odd
// passes standard time. Passes are counted separately for each local day
// (one repeated hour a day at most).
void NodeDeduplicator::ResolveRepeatedHour() {
  std::map<std::int64_t, std::pair<std::int64_t, int>> state;  // local day -> (last wall time, pass)
  for (std::size_t s = 0; s < segments_.size(); ++s) {
    if (!segments_[s].ambiguous) continue;
    const std::size_t end = s + 1 < segments_.size() ? segments_[s + 1].begin : time_.size();
    for (std::size_t k = segments_[s].begin; k < end; ++k) {
      const std::int64_t wall = time_[k];
      const LocalTimeResult local = zone_.FromLocal(wall);
      const std::int64_t day = FloorDiv(wall, kMicrosPerDay);
      int pass = 0;
      const auto it = state.find(day);
      if (it == state.end()) {
        state[day] = {wall, 0};
      } else {
        pass = it->second.second + (wall < it->second.first ? 1 : 0);
        it->second = {wall, pass};
      }
      time_[k] = pass % 2 == 0 ? local.earlier : local.later;
    }
  }
}

}  // namespace wattrun::ingest
