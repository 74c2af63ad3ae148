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
// report.html): the bytes go to tmp_path (default path + ".tmp"), are
// fsynced, renamed over path, and the directory is fsynced, so a crash or a
// full disk leaves the old file or the new one, never a part. Errors name
// the file and say why (" (disk full?)" for ENOSPC); the temporary file is
// removed on failure, and when the writer is destroyed uncommitted.
//
// Streamed: a table of a facility's jobs is written as it is formatted,
// through a small buffer, instead of being held whole first.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path, const std::string& tmp_path = "");
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  // Text to append to; written out by Append and Commit once it is large.
  std::string& buffer() { return buffer_; }
  void Append(std::string_view bytes);
  // Writes the buffer out when it holds kFlushBytes or more.
  void FlushIfFull() {
    if (buffer_.size() >= kFlushBytes) Flush();
  }
  void Commit();

  static constexpr std::size_t kFlushBytes = std::size_t{1} << 20;

 private:
  void Flush();
  void WriteOut(std::string_view bytes);  // at the end of the temporary file
  void Discard() noexcept;

  std::string path_, tmp_;
  int fd_ = -1;
  std::int64_t offset_ = 0;
  std::string buffer_;
};

void WriteFileAtomically(const std::string& path, std::string_view bytes, const std::string& tmp_path = "");

// Starts the kernel writing a file's dirty pages to disk without waiting
// (sync_file_range SYNC_FILE_RANGE_WRITE; Linux): called as each part of a
// large file is written, the fsync that must follow finds little left to
// write, so the disk works while the writer goes on. Only a hint: it opens
// the file read-only and ignores every failure (absent file, a file system
// without the call); durability still comes from the fsync.
class EarlyWriteback {
 public:
  explicit EarlyWriteback(const std::string& path);
  ~EarlyWriteback();
  EarlyWriteback(const EarlyWriteback&) = delete;
  EarlyWriteback& operator=(const EarlyWriteback&) = delete;
  void Start() const;

 private:
  int fd_ = -1;
};

// This process's peak resident set (VmHWM), bytes; 0 where /proc is absent.
std::int64_t PeakRssBytes();

}  // namespace wattrun
