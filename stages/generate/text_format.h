// Fast text formatting for the generator's writers: integers, calendar
// dates and times without locale or printf, CSV quoting, and a buffered
// output file that is either plain or gzip (deterministic bytes: no name,
// no mtime in the gzip header).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "core/time.h"

namespace wattrun::generate {

// Calendar arithmetic (CivilFromDays, DaysInMonth, FloorDiv) is core's, in
// core/time.h.

void AppendInt(std::string* out, std::int64_t value);
void AppendPadded(std::string* out, std::int64_t value, int width);
// "YYYY-MM-DD<sep>HH:MM:SS" of seconds since the epoch of some calendar.
void AppendDateTime(std::string* out, std::int64_t seconds, char separator);
std::string DateTime(std::int64_t seconds, char separator);
// "YYYY-MM" of a day number.
std::string MonthLabel(std::int64_t days);
// Shortest round-trip-safe text of a double ("%.17g" style, trimmed).
std::string FormatDouble(double value);
// Fixed decimals ("%.*f").
std::string FormatFixed(double value, int decimals);
// The field quoted per RFC 4180 if it holds a comma, quote or newline.
std::string CsvField(std::string_view value);

// A write-only file with a large buffer, gzip-compressed when asked.
// Throws wattrun::Error naming the file on any failure.
class OutputFile {
 public:
  OutputFile(const std::string& path, bool gzip, std::size_t buffer_bytes = 1 << 22);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void Write(std::string_view text) {
    if (used_ + text.size() > capacity_) Flush(text.size());
    std::memcpy(buffer_.get() + used_, text.data(), text.size());
    used_ += text.size();
  }
  // Room for `bytes` more at the end of the buffer; commit with Commit().
  char* Reserve(std::size_t bytes) {
    if (used_ + bytes > capacity_) Flush(bytes);
    return buffer_.get() + used_;
  }
  void Commit(std::size_t bytes) { used_ += bytes; }

  // Flushes and closes; returns the bytes on disk.
  std::int64_t Close();
  std::int64_t uncompressed_bytes() const { return uncompressed_ + static_cast<std::int64_t>(used_); }

 private:
  void Flush(std::size_t need);
  void Drain(bool finish);
  struct Gzip;
  std::string path_;
  std::FILE* file_ = nullptr;
  std::unique_ptr<Gzip> gzip_;
  std::unique_ptr<char[]> buffer_;
  std::size_t capacity_ = 0;
  std::size_t used_ = 0;
  std::int64_t uncompressed_ = 0;
  std::int64_t on_disk_ = 0;
};

}  // namespace wattrun::generate
