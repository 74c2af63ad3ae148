// AccountPartial: merging and the binary form exchanged between ranks.
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>

#include "core/error.h"
#include "core/pack.h"
#include "stages/account/account.h"

namespace wattrun::account {
namespace {

constexpr std::uint64_t kMagic = 0x3130305443434157ULL;  // "WACCT001"
static_assert(std::is_trivially_copyable_v<JobPart>, "job parts travel as the bytes they lie in");

}  // namespace

void AccountPartial::Merge(const AccountPartial& other) {
  job_parts_.insert(job_parts_.end(), other.job_parts_.begin(), other.job_parts_.end());
  node_parts_.insert(node_parts_.end(), other.node_parts_.begin(), other.node_parts_.end());
}

void AccountPartial::Merge(AccountPartial&& other) {
  if (job_parts_.empty() && node_parts_.empty()) {
    *this = std::move(other);
    return;
  }
  Merge(other);
}

std::size_t AccountPartial::PackedSize(BulkRecords bulk) const {
  const std::size_t job_bytes = bulk == BulkRecords::kPacked ? job_parts_.size() * sizeof(JobPart) : 0;
  return sizeof kMagic + 2 * sizeof(std::uint64_t) + job_bytes + node_parts_.size() * sizeof(NodePart);
}

void AccountPartial::PackTo(ByteWriter* w, BulkRecords bulk) const {
  w->Put(kMagic);
  if (bulk == BulkRecords::kPacked) {
    w->PutVector(job_parts_);
  } else {
    w->Put<std::uint64_t>(0);  // the job parts travel apart
  }
  w->PutVector(node_parts_);
}

void AccountPartial::MergePacked(ByteReader* r, BulkRecords bulk) {
  if (r->Get<std::uint64_t>() != kMagic) {
    throw Error("accounting: packed partial does not start with the WACCT001 mark");
  }
  if (bulk == BulkRecords::kPacked) {
    r->AppendVector(&job_parts_);
  } else if (r->Get<std::uint64_t>() != 0) {
    throw Error("accounting: packed partial holds job parts that were to travel apart");
  }
  r->AppendVector(&node_parts_);
}

std::span<const char> AccountPartial::JobPartBytes() const {
  return {reinterpret_cast<const char*>(job_parts_.data()), job_parts_.size() * sizeof(JobPart)};
}

char* AccountPartial::JobPartRoom(std::size_t bytes) {
  if (bytes % sizeof(JobPart) != 0) {
    throw Error("accounting: " + std::to_string(bytes) + " bytes of job parts are not a whole number of parts");
  }
  const std::size_t at = job_parts_.size();
  job_parts_.resize(at + bytes / sizeof(JobPart));
  return reinterpret_cast<char*>(job_parts_.data() + at);
}

std::vector<char> AccountPartial::Pack() const {
  ByteWriter w;
  w.Reserve(PackedSize());
  PackTo(&w);
  return std::move(w.bytes());
}

AccountPartial AccountPartial::Unpack(const char* data, std::size_t size) {
  ByteReader r(data, size);
  if (size < sizeof kMagic) throw Error("accounting: packed partial does not start with the WACCT001 mark");
  AccountPartial partial;
  partial.MergePacked(&r);
  if (!r.done())
    throw Error("accounting: packed partial has " + std::to_string(size) + " bytes, more than its records");
  return partial;
}

}  // namespace wattrun::account
