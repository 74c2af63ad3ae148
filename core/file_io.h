// Whole reads and writes at an offset of an open file, retried until done,
// that throw wattrun::Error naming the file (and, for reads, the byte).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace wattrun {

// Reads `bytes` at `offset` into `out`; a short file is "file is truncated".
void PreadAll(int fd, const std::string& path, std::int64_t offset, std::size_t bytes, void* out);
// Writes `bytes` of `data` at `offset`; a failure says "write failed (disk full?)".
void PwriteAll(int fd, const std::string& path, std::int64_t offset, std::size_t bytes, const void* data);

// This process's peak resident set (VmHWM), bytes; 0 where /proc is absent.
std::int64_t PeakRssBytes();

}  // namespace wattrun
