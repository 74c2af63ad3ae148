// Binary packing of plain values for the reductions: each mergeable partial
// (the telemetry pass's, the ingest's) packs itself with a ByteWriter and
// reads itself back with a ByteReader; callers never see the bytes. Strings
// and vectors are length-prefixed, so no value can be mistaken for a
// separator (a file path may hold any byte).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.h"

namespace wattrun {

class ByteWriter {
 public:
  template <typename T>
  void Put(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const char*>(&value);
    bytes_.insert(bytes_.end(), p, p + sizeof(T));
  }
  void PutString(const std::string& s) {
    Put<std::uint64_t>(s.size());
    bytes_.insert(bytes_.end(), s.begin(), s.end());
  }
  template <typename T>
  void PutVector(const std::vector<T>& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    Put<std::uint64_t>(v.size());
    const auto* p = reinterpret_cast<const char*>(v.data());
    bytes_.insert(bytes_.end(), p, p + v.size() * sizeof(T));
  }
  // Room for n more bytes: a large partial is packed without regrowing.
  void Reserve(std::size_t n) { bytes_.reserve(bytes_.size() + n); }
  std::vector<char>& bytes() { return bytes_; }

 private:
  std::vector<char> bytes_;
};

// Reads what a ByteWriter wrote; a truncated buffer is an error, not a crash.
class ByteReader {
 public:
  ByteReader(const char* data, std::size_t size) : data_(data), size_(size) {}
  template <typename T>
  T Get() {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    std::memcpy(&value, Take(sizeof(T)), sizeof(T));
    return value;
  }
  std::string GetString() {
    const auto n = static_cast<std::size_t>(Get<std::uint64_t>());
    const char* p = Take(n);
    return std::string(p, n);
  }
  template <typename T>
  std::vector<T> GetVector() {
    const auto n = static_cast<std::size_t>(Get<std::uint64_t>());
    if (n > size_ / sizeof(T) + 1) throw Error("packed data: vector length " + std::to_string(n) + " past the end");
    std::vector<T> v(n);
    if (n) std::memcpy(v.data(), Take(n * sizeof(T)), n * sizeof(T));
    return v;
  }
  // Reads a vector PutVector wrote onto the end of *out (no copy of it
  // first: a reduction's large record vectors go straight where they stay).
  template <typename T>
  void AppendVector(std::vector<T>* out) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto n = static_cast<std::size_t>(Get<std::uint64_t>());
    if (n > size_ / sizeof(T) + 1) throw Error("packed data: vector length " + std::to_string(n) + " past the end");
    const char* p = Take(n * sizeof(T));
    const std::size_t at = out->size();
    out->resize(at + n);
    if (n) std::memcpy(out->data() + at, p, n * sizeof(T));
  }
  bool done() const { return pos_ == size_; }

 private:
  const char* Take(std::size_t n) {
    if (n > size_ - pos_) throw Error("packed data: truncated (" + std::to_string(size_) + " bytes)");
    const char* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  const char* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

}  // namespace wattrun
