// Error types used at I/O and configuration boundaries.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace wattrun {

// Any failure that should end the command with a clear message.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A problem with one place of one input file: "FILE:LINE: reason".
// line == 0 means the whole file.
class InputError : public Error {
 public:
  InputError(std::string file, std::int64_t line, const std::string& reason)
      : Error(Format(file, line, reason)), file_(std::move(file)), line_(line) {}
  const std::string& file() const { return file_; }
  std::int64_t line() const { return line_; }

 private:
  static std::string Format(const std::string& file, std::int64_t line, const std::string& reason) {
    return line > 0 ? file + ":" + std::to_string(line) + ": " + reason : file + ": " + reason;
  }
  std::string file_;
  std::int64_t line_;
};

}  // namespace wattrun
