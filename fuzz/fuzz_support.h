// Small helpers shared by the libFuzzer targets in fuzz/: splitting the
// fuzzer's bytes into lines, a hard check that aborts with a message (so that
// a broken invariant is a crash libFuzzer keeps), and a file that holds the
// current input for parsers that only take a path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace wattrun::fuzz {

// Aborts with the failed condition; the fuzzer saves the input as a crash.
#define WATTRUN_FUZZ_CHECK(condition)                                                         \
  do {                                                                                        \
    if (!(condition)) {                                                                       \
      std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                           \
    }                                                                                         \
  } while (false)

inline std::string_view AsText(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The input cut at '\n' (a '\r' before it stays, as LineReader would leave
// it for the parsers to strip). The last piece is kept even when empty.
inline std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      lines.push_back(text.substr(start));
      return lines;
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

// Reads every byte of a view, so that ASan reports a view into freed or
// foreign memory at the parser's call site rather than never.
inline std::uint64_t Touch(std::string_view text) {
  std::uint64_t hash = 1469598103934665603ull;
  for (const char c : text) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return hash;
}

// One in-memory file (memfd) per process, rewritten with each input, for the
// parsers that take a path: the path is /proc/self/fd/N.
class InputFile {
 public:
  InputFile();
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  // Replaces the file's content with the bytes; returns its path.
  const std::string& Write(const std::uint8_t* data, std::size_t size);

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace wattrun::fuzz
