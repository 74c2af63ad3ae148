// Whole reads and writes at an offset of an open file, retried until done,
// that throw wattrun::Error naming the file (and, for reads, the byte).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wattrun {

// Reads `bytes` at `offset` into `out`; a short file is "file is truncated".
void PreadAll(int fd, const std::string& path, std::int64_t offset, std::size_t bytes, void* out);
// Writes `bytes` of `data` at `offset`; a failure says "write failed (disk full?)".
void PwriteAll(int fd, const std::string& path, std::int64_t offset, std::size_t bytes, const void* data);

// The one way wattrun replaces a file (catalogue, results.h5, every table,
// report.html): `bytes` go to tmp_path (default path + ".tmp"), are
// fsynced, renamed over path, and the directory is fsynced, so a crash or a
// full disk leaves the old file or the new one, never a part. Errors name
// the file and say why (" (disk full?)" for ENOSPC); the temporary file is
// removed on failure.
void WriteFileAtomically(const std::string& path, std::string_view bytes, const std::string& tmp_path = "");
// Renames tmp (complete and fsynced) over path, then fsyncs the directory
// (best effort). On failure tmp is removed and the error names both.
void RenameDurably(const std::string& tmp, const std::string& path);

// This process's peak resident set (VmHWM), bytes; 0 where /proc is absent.
std::int64_t PeakRssBytes();

}  // namespace wattrun
