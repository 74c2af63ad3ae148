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

void WriteFileAtomically(const std::string& path, std::string_view bytes, const std::string& tmp_path) {
  const std::string tmp = tmp_path.empty() ? path + ".tmp" : tmp_path;
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    throw Error(tmp + ": cannot create (" + std::strerror(errno) + "; permission denied or no such directory?)");
  }
  try {
    PwriteAll(fd, tmp, 0, bytes.size(), bytes.data());
  } catch (const Error&) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int saved = errno;
    ::unlink(tmp.c_str());
    throw Error(tmp + ": write failed: " + std::strerror(saved) + (saved == ENOSPC ? " (disk full?)" : ""));
  }
  RenameDurably(tmp, path);
}

void RenameDurably(const std::string& tmp, const std::string& path) {
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(tmp.c_str());
    throw Error(path + ": cannot rename " + tmp + " into place: " + std::strerror(saved));
  }
  // The rename is durable only once the directory is.
  std::string dir = path.substr(0, path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/'));
  if (dir.empty()) dir = path.find('/') == 0 ? "/" : ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);  // best effort: some file systems refuse fsync on a directory
    ::close(dfd);
  }
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
