// AccountPartial: merging and the binary form exchanged between ranks.
#include <cstring>
#include <string>

#include "core/error.h"
#include "stages/account/account.h"

namespace wattrun::account {
namespace {

constexpr char kMagic[8] = {'W', 'A', 'C', 'C', 'T', '0', '0', '1'};

class Writer {
 public:
  template <typename T>
  void Put(const T& value) {
    const char* bytes = reinterpret_cast<const char*>(&value);
    out_.insert(out_.end(), bytes, bytes + sizeof(T));
  }
  void PutBytes(const char* data, std::size_t n) { out_.insert(out_.end(), data, data + n); }
  std::vector<char> Take() { return std::move(out_); }

 private:
  std::vector<char> out_;
};

class Reader {
 public:
  Reader(const char* data, std::size_t size) : data_(data), size_(size) {}
  template <typename T>
  T Get() {
    Need(sizeof(T));
    T value;
    std::memcpy(&value, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }
  void Need(std::size_t n) const {
    if (size_ - pos_ < n) {
      throw Error("accounting: packed partial is truncated at byte " + std::to_string(pos_) + " of " +
                  std::to_string(size_));
    }
  }
  const char* Here() const { return data_ + pos_; }
  void Skip(std::size_t n) {
    Need(n);
    pos_ += n;
  }
  std::size_t remaining() const { return size_ - pos_; }

 private:
  const char* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

}  // namespace

void AccountPartial::Merge(const AccountPartial& other) {
  job_parts_.insert(job_parts_.end(), other.job_parts_.begin(), other.job_parts_.end());
  node_parts_.insert(node_parts_.end(), other.node_parts_.begin(), other.node_parts_.end());
}

std::vector<char> AccountPartial::Pack() const {
  Writer w;
  w.PutBytes(kMagic, sizeof kMagic);
  w.Put<std::uint64_t>(job_parts_.size());
  w.Put<std::uint64_t>(node_parts_.size());
  for (const JobPart& p : job_parts_) {
    w.Put(p.job), w.Put(p.node), w.Put(p.month), w.Put(p.unit);
    w.Put(p.energy_j), w.Put(p.share_s), w.Put(p.carbon_g), w.Put(p.missing_s);
    w.Put(p.samples), w.Put(p.zero_samples);
  }
  for (const NodePart& p : node_parts_) {
    w.Put(p.node), w.Put(p.month), w.Put(p.unit);
    w.Put(p.metered_j), w.Put(p.job_j), w.Put(p.missing_s), w.Put(p.readings);
  }
  return w.Take();
}

AccountPartial AccountPartial::Unpack(const char* data, std::size_t size) {
  Reader r(data, size);
  r.Need(sizeof kMagic);
  if (std::memcmp(r.Here(), kMagic, sizeof kMagic) != 0) {
    throw Error("accounting: packed partial does not start with the WACCT001 mark");
  }
  r.Skip(sizeof kMagic);
  const auto job_count = r.Get<std::uint64_t>();
  const auto node_count = r.Get<std::uint64_t>();
  constexpr std::size_t kJobBytes = 4 * 4 + 4 * 8 + 2 * 8;
  constexpr std::size_t kNodeBytes = 3 * 4 + 3 * 8 + 8;
  if (job_count > r.remaining() / kJobBytes || node_count > r.remaining() / kNodeBytes ||
      job_count * kJobBytes + node_count * kNodeBytes != r.remaining()) {
    throw Error("accounting: packed partial holds " + std::to_string(r.remaining()) + " bytes for " +
                std::to_string(job_count) + " job and " + std::to_string(node_count) + " node records");
  }
  AccountPartial partial;
  partial.job_parts_.resize(job_count);
  for (JobPart& p : partial.job_parts_) {
    p.job = r.Get<std::uint32_t>(), p.node = r.Get<std::uint32_t>();
    p.month = r.Get<std::int32_t>(), p.unit = r.Get<std::uint32_t>();
    p.energy_j = r.Get<double>(), p.share_s = r.Get<double>();
    p.carbon_g = r.Get<double>(), p.missing_s = r.Get<double>();
    p.samples = r.Get<std::int64_t>(), p.zero_samples = r.Get<std::int64_t>();
  }
  partial.node_parts_.resize(node_count);
  for (NodePart& p : partial.node_parts_) {
    p.node = r.Get<std::uint32_t>(), p.month = r.Get<std::int32_t>(), p.unit = r.Get<std::uint32_t>();
    p.metered_j = r.Get<double>(), p.job_j = r.Get<double>(), p.missing_s = r.Get<double>();
    p.readings = r.Get<std::int64_t>();
  }
  return partial;
}

}  // namespace wattrun::account
