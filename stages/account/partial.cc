// AccountPartial: merging and the binary form exchanged between ranks.
#include <cstring>
#include <string>
#include <utility>

#include "core/error.h"
#include "core/pack.h"
#include "stages/account/account.h"

namespace wattrun::account {
namespace {

constexpr std::uint64_t kMagic = 0x3130305443434157ULL;  // "WACCT001"

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

std::size_t AccountPartial::PackedSize() const {
  return sizeof kMagic + 2 * sizeof(std::uint64_t) + job_parts_.size() * sizeof(JobPart) +
         node_parts_.size() * sizeof(NodePart);
}

void AccountPartial::PackTo(ByteWriter* w) const {
  w->Put(kMagic);
  w->PutVector(job_parts_);
  w->PutVector(node_parts_);
}

void AccountPartial::MergePacked(ByteReader* r) {
  if (r->Get<std::uint64_t>() != kMagic) {
    throw Error("accounting: packed partial does not start with the WACCT001 mark");
  }
  r->AppendVector(&job_parts_);
  r->AppendVector(&node_parts_);
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
