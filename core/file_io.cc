#include "core/file_io.h"

#include <fstream>

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

std::int64_t PeakRssBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return 0;
}

}  // namespace wattrun
