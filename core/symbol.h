// A string from a small set that repeats over millions of rows (an sacct
// line's user, account, partition, state and file): its text is held once
// per process and a Symbol is one pointer, 8 bytes against a std::string's
// 32 (and its heap block past 15 characters). The job table, which rank 0
// holds whole for the facility's history, is most of what these save.
//
// Making one looks the text up under a lock; copying, comparing for
// equality (pointers) and reading take none. Texts are never freed.
#pragma once

#include <compare>
#include <cstddef>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace wattrun {

class Symbol {
 public:
  Symbol() : text_(&Empty()) {}
  // Implicit, as a drop-in for the std::string it replaces in records.
  Symbol(std::string_view text);                                       // NOLINT(google-explicit-constructor)
  Symbol(const std::string& text) : Symbol(std::string_view(text)) {}  // NOLINT(google-explicit-constructor)
  Symbol(const char* text) : Symbol(std::string_view(text)) {}         // NOLINT(google-explicit-constructor)

  const std::string& str() const { return *text_; }
  operator const std::string&() const { return *text_; }  // NOLINT(google-explicit-constructor)
  std::string_view view() const { return *text_; }
  bool empty() const { return text_->empty(); }
  std::size_t size() const { return text_->size(); }
  const char* c_str() const { return text_->c_str(); }
  const char* data() const { return text_->data(); }

  // One text, one Symbol: equal texts are the same pointer.
  friend bool operator==(const Symbol& a, const Symbol& b) { return a.text_ == b.text_; }
  friend bool operator==(const Symbol& a, const std::string& b) { return *a.text_ == b; }
  friend bool operator==(const Symbol& a, std::string_view b) { return *a.text_ == b; }
  friend bool operator==(const Symbol& a, const char* b) { return *a.text_ == b; }
  // Ordered as their texts are.
  friend std::strong_ordering operator<=>(const Symbol& a, const Symbol& b) {
    return a.text_ == b.text_ ? std::strong_ordering::equal : a.text_->compare(*b.text_) <=> 0;
  }
  friend std::ostream& operator<<(std::ostream& out, const Symbol& s) { return out << *s.text_; }
  friend std::string operator+(const Symbol& a, std::string_view b) { return std::string(*a.text_).append(b); }
  friend std::string operator+(std::string_view a, const Symbol& b) { return std::string(a).append(*b.text_); }

  std::size_t Hash() const { return std::hash<const void*>{}(text_); }

 private:
  static const std::string& Empty();
  const std::string* text_;
};

}  // namespace wattrun

template <>
struct std::hash<wattrun::Symbol> {
  std::size_t operator()(const wattrun::Symbol& s) const noexcept { return s.Hash(); }
};
