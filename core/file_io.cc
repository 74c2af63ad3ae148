#include "core/file_io.h"

#include <fstream>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace wattrun {

void PreadAll(int fd, const std::string& path, std::int64_t offset, std::size_t bytes, void* out) {
  auto* dst = static_cast<char*>(out);
  while (bytes > 0) {
    const ssize_t n = ::pread(fd, dst, bytes, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      throw Error(path + ": read failed at byte " + std::to_string(offset) + ": " +
                  (n == 0 ? std::string("file is truncated") : std::strerror(errno)));
    }
    dst += n;
    offset += n;
    bytes -= static_cast<std::size_t>(n);
  }
}

void PwriteAll(int fd, const std::string& path, std::int64_t offset, std::size_t bytes, const void* data) {
  const auto* src = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::pwrite(fd, src, bytes, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(path + ": write failed (disk full?): " + std::strerror(n < 0 ? errno : ENOSPC));
    src += n;
    offset += n;
    bytes -= static_cast<std::size_t>(n);
  }
}

AtomicFileWriter::AtomicFileWriter(std::string path, const std::string& tmp_path)
    : path_(std::move(path)), tmp_(tmp_path.empty() ? path_ + ".tmp" : tmp_path) {
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd_ < 0) {
    throw Error(tmp_ + ": cannot create (" + std::strerror(errno) + "; permission denied or no such directory?)");
  }
  buffer_.reserve(kFlushBytes + kFlushBytes / 4);
}

AtomicFileWriter::~AtomicFileWriter() { Discard(); }

void AtomicFileWriter::Discard() noexcept {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  ::unlink(tmp_.c_str());
}

void AtomicFileWriter::WriteOut(std::string_view bytes) {
  if (fd_ < 0) throw Error(path_ + ": written after it was committed or failed");
  try {
    PwriteAll(fd_, tmp_, offset_, bytes.size(), bytes.data());
  } catch (const Error&) {
    Discard();
    throw;
  }
  offset_ += static_cast<std::int64_t>(bytes.size());
}

void AtomicFileWriter::Flush() {
  WriteOut(buffer_);
  buffer_.clear();
}

void AtomicFileWriter::Append(std::string_view bytes) {
  // Small appends gather in the buffer; a large one goes straight out.
  if (buffer_.size() + bytes.size() < kFlushBytes) {
    buffer_.append(bytes);
    return;
  }
  Flush();
  WriteOut(bytes);
}

void AtomicFileWriter::Commit() {
  if (fd_ < 0) throw Error(path_ + ": committed twice or after a failure");
  Flush();
  const int fd = fd_;
  fd_ = -1;
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int saved = errno;
    ::unlink(tmp_.c_str());
    throw Error(tmp_ + ": write failed: " + std::strerror(saved) + (saved == ENOSPC ? " (disk full?)" : ""));
  }
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int saved = errno;
    ::unlink(tmp_.c_str());
    throw Error(path_ + ": cannot rename " + tmp_ + " into place: " + std::strerror(saved));
  }
  // The rename is durable only once the directory is.
  std::string dir = path_.substr(0, path_.find_last_of('/') == std::string::npos ? 0 : path_.find_last_of('/'));
  if (dir.empty()) dir = path_.find('/') == 0 ? "/" : ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);  // best effort: some file systems refuse fsync on a directory
    ::close(dfd);
  }
}

void WriteFileAtomically(const std::string& path, std::string_view bytes, const std::string& tmp_path) {
  AtomicFileWriter file(path, tmp_path);
  file.Append(bytes);
  file.Commit();
}

EarlyWriteback::EarlyWriteback(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {}

EarlyWriteback::~EarlyWriteback() {
  if (fd_ >= 0) ::close(fd_);
}

void EarlyWriteback::Start() const {
  if (fd_ >= 0) (void)::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
}

std::int64_t PeakRssBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return 0;
}

}  // namespace wattrun
