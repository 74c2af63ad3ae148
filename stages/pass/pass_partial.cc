#include "stages/pass/pass_partial.h"

#include <algorithm>
#include <iterator>

#include "core/pack.h"

namespace wattrun::pass {
namespace {

void PutValueCounts(ByteWriter* w, const ValueCounts& values) { w->PutVector(values.Serialize()); }

ValueCounts GetValueCounts(ByteReader* r) {
  const auto flat = r->GetVector<double>();
  return ValueCounts::Deserialize(flat.data(), flat.size() / 2);
}

void PutNode(ByteWriter* w, const idle::NodeDistribution& d) {
  w->PutString(d.node);
  w->PutString(d.node_type);
  w->Put(d.count);
  w->Put(d.min);
  w->Put(d.max);
  w->Put(d.idle_quantile);
  w->PutVector(d.quantiles);
}

idle::NodeDistribution GetNode(ByteReader* r) {
  idle::NodeDistribution d;
  d.node = r->GetString();
  d.node_type = r->GetString();
  d.count = r->Get<std::int64_t>();
  d.min = r->Get<double>();
  d.max = r->Get<double>();
  d.idle_quantile = r->Get<double>();
  d.quantiles = r->GetVector<double>();
  return d;
}

}  // namespace

void PassPartial::AddRunPart(std::size_t run, std::size_t unit, const integrate::RunIntegral& part, double carbon_g) {
  runs_.push_back({static_cast<std::int64_t>(run), static_cast<std::int64_t>(unit), part.energy_j, part.samples,
                   part.has_zero ? 1 : 0, carbon_g});
}

void PassPartial::AddTypeValues(std::size_t type, const ValueCounts& values) {
  if (type_values_.size() <= type) type_values_.resize(type + 1);
  type_values_[type].Merge(values);
}

void PassPartial::Merge(const PassPartial& other) {
  runs_.insert(runs_.end(), other.runs_.begin(), other.runs_.end());
  whole_nodes_.insert(whole_nodes_.end(), other.whole_nodes_.begin(), other.whole_nodes_.end());
  MergeCounts(other);
  account_.Merge(other.account_);
}

void PassPartial::Merge(PassPartial&& other) {
  runs_.insert(runs_.end(), other.runs_.begin(), other.runs_.end());
  whole_nodes_.insert(whole_nodes_.end(), std::make_move_iterator(other.whole_nodes_.begin()),
                      std::make_move_iterator(other.whole_nodes_.end()));
  MergeCounts(other);
  account_.Merge(std::move(other.account_));
}

void PassPartial::MergeCounts(const PassPartial& other) {
  for (const auto& [node, values] : other.node_parts_) node_parts_[node].Merge(values);
  for (std::size_t t = 0; t < other.type_values_.size(); ++t) AddTypeValues(t, other.type_values_[t]);
  for (const auto& [key, n] : other.day_type_readings_) day_type_readings_[key] += n;
  readings_ += other.readings_;
  bytes_read_ += other.bytes_read_;
  counter_resets_ += other.counter_resets_;
  peak_rss_ = std::max(peak_rss_, other.peak_rss_);
}

std::vector<char> PassPartial::Pack(BulkRecords bulk) const {
  ByteWriter w;
  // The job parts are most of the bytes at a facility: room for them and
  // the runs up front, then the rest grows as it may.
  w.Reserve(account_.PackedSize(bulk) + runs_.size() * sizeof(RunPart) + (std::size_t{1} << 16));
  w.PutVector(runs_);
  w.Put<std::uint64_t>(whole_nodes_.size());
  for (const auto& d : whole_nodes_) PutNode(&w, d);
  w.Put<std::uint64_t>(node_parts_.size());
  for (const auto& [node, values] : node_parts_) {
    w.Put<std::uint64_t>(node);
    PutValueCounts(&w, values);
  }
  w.Put<std::uint64_t>(type_values_.size());
  for (const auto& values : type_values_) PutValueCounts(&w, values);
  w.Put<std::uint64_t>(day_type_readings_.size());
  for (const auto& [key, n] : day_type_readings_) {
    w.Put(key.first);
    w.Put<std::int32_t>(key.second);
    w.Put(n);
  }
  w.Put(readings_);
  w.Put(bytes_read_);
  w.Put(counter_resets_);
  w.Put(peak_rss_);
  account_.PackTo(&w, bulk);
  return std::move(w.bytes());
}

PassPartial PassPartial::Unpack(const char* data, std::size_t size) {
  PassPartial p;
  p.MergePacked(data, size);
  return p;
}

void PassPartial::MergePacked(const char* data, std::size_t size, BulkRecords bulk) {
  PassPartial p;
  ByteReader r(data, size);
  p.runs_ = r.GetVector<RunPart>();
  for (auto n = r.Get<std::uint64_t>(); n > 0; --n) p.whole_nodes_.push_back(GetNode(&r));
  for (auto n = r.Get<std::uint64_t>(); n > 0; --n) {
    const auto node = static_cast<std::size_t>(r.Get<std::uint64_t>());
    p.node_parts_[node] = GetValueCounts(&r);
  }
  for (auto n = r.Get<std::uint64_t>(); n > 0; --n) p.type_values_.push_back(GetValueCounts(&r));
  for (auto n = r.Get<std::uint64_t>(); n > 0; --n) {
    const auto day = r.Get<std::int64_t>();
    const auto type = r.Get<std::int32_t>();
    p.day_type_readings_[{day, type}] = r.Get<std::int64_t>();
  }
  p.readings_ = r.Get<std::int64_t>();
  p.bytes_read_ = r.Get<std::int64_t>();
  p.counter_resets_ = r.Get<std::int64_t>();
  p.peak_rss_ = r.Get<std::int64_t>();
  account_.MergePacked(&r, bulk);
  if (!r.done()) throw Error("pass partial: " + std::to_string(size) + " bytes, not all read");
  Merge(std::move(p));
}

void PassPartial::SumRuns(std::size_t run_count, std::vector<integrate::RunIntegral>* integrals,
                          std::vector<bool>* integrated, std::vector<double>* carbon_g) const {
  std::vector<RunPart> parts = runs_;
  std::sort(parts.begin(), parts.end(),
            [](const RunPart& a, const RunPart& b) { return a.run != b.run ? a.run < b.run : a.unit < b.unit; });
  integrals->assign(run_count, {});
  integrated->assign(run_count, false);
  if (carbon_g) carbon_g->assign(run_count, 0.0);
  for (const RunPart& p : parts) {
    const auto i = static_cast<std::size_t>(p.run);
    if (carbon_g) (*carbon_g)[i] += p.carbon_g;
    (*integrals)[i].energy_j += p.energy_j;
    (*integrals)[i].samples += p.samples;
    (*integrals)[i].has_zero = (*integrals)[i].has_zero || p.has_zero != 0;
    (*integrated)[i] = true;
  }
}

}  // namespace wattrun::pass
