// PreadAll/PwriteAll: whole transfers at an offset, and errors that name the
// file and say what went wrong.
#include "core/file_io.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>

#include "core/error.h"

namespace wattrun {
namespace {

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(FileIo, WritesAndReadsBackAtOffsetsAndNamesTheFileOnErrors) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("wattrun_file_io_" + std::to_string(::getpid()))).string();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  PwriteAll(fd, path, 10, 5, "hello");
  char back[5] = {};
  PreadAll(fd, path, 10, 5, back);
  EXPECT_EQ(std::string(back, 5), "hello");
  const std::string short_read = ErrorOf([&] { PreadAll(fd, path, 12, 5, back); });
  EXPECT_NE(short_read.find(path), std::string::npos) << short_read;
  EXPECT_NE(short_read.find("file is truncated"), std::string::npos) << short_read;
  ::close(fd);
  const int read_only = ::open(path.c_str(), O_RDONLY);
  const std::string failed_write = ErrorOf([&] { PwriteAll(read_only, path, 0, 5, "hello"); });
  EXPECT_NE(failed_write.find(path + ": write failed"), std::string::npos) << failed_write;
  ::close(read_only);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace wattrun
