#include "fuzz/fuzz_support.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace wattrun::fuzz {

InputFile::InputFile() {
  fd_ = ::memfd_create("wattrun-fuzz-input", MFD_CLOEXEC);
  if (fd_ < 0) {
    std::fprintf(stderr, "memfd_create: %s\n", std::strerror(errno));
    std::abort();
  }
  path_ = "/proc/self/fd/" + std::to_string(fd_);
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

const std::string& InputFile::Write(const std::uint8_t* data, std::size_t size) {
  WATTRUN_FUZZ_CHECK(::ftruncate(fd_, 0) == 0);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    WATTRUN_FUZZ_CHECK(n > 0);
    done += static_cast<std::size_t>(n);
  }
  return path_;
}

}  // namespace wattrun::fuzz
