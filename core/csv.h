// Small, fast CSV reading: line splitting with RFC 4180 quotes, header
// lookup by name, and a line reader over plain or gzip files.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace wattrun {

// Splits one line (without its newline; a trailing '\r' is removed) into
// fields. Quoted fields ("a,b" and "" escapes) are unquoted into *storage
// when needed. Returns false for an unterminated quote.
bool SplitCsvLine(std::string_view line, char delimiter, std::vector<std::string_view>* fields, std::string* storage);

// Column positions of a header, found by name (exact, after trimming spaces
// and a UTF-8 BOM on the first column).
class CsvHeader {
 public:
  CsvHeader() = default;
  CsvHeader(const std::vector<std::string_view>& names);
  // -1 if absent.
  int Find(std::string_view name) const;
  // Throws InputError(file, 1, "missing required column 'X'") if absent.
  int Require(std::string_view name, const std::string& file) const;
  std::size_t size() const { return names_.size(); }
  const std::vector<std::string>& names() const { return names_; }

 private:
  std::vector<std::string> names_;
};

// Reads lines from a plain file or a gzip file (detected by its magic bytes,
// not its name). A file that claims .gz but is not gzip, or a corrupt gzip
// stream, makes Next() throw InputError naming the file.
class LineReader {
 public:
  explicit LineReader(const std::string& path);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Next line without its '\n' (and '\r'); false at end of file.
  // The view is valid until the next call.
  bool Next(std::string_view* line);
  // 1-based number of the line last returned.
  std::int64_t line_number() const { return line_number_; }
  const std::string& path() const { return path_; }
  bool is_gzip() const;

 private:
  struct Source;
  std::string path_;
  std::unique_ptr<Source> source_;
  std::string buffer_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::string pending_error_;  // a gzip error seen after some data: thrown on the next read
  std::size_t scan_ = 0;       // bytes before this hold no newline of the current line
  bool eof_ = false;
  std::int64_t line_number_ = 0;
  bool Fill();
};

// Parsing helpers for fields; all return false on anything but a full match.
bool ParseInt64(std::string_view text, std::int64_t* value);
bool ParseDouble(std::string_view text, double* value);
// True/False/true/false/TRUE/FALSE/1/0.
bool ParseBool(std::string_view text, bool* value);
std::string_view Trim(std::string_view text);

}  // namespace wattrun
