// PreadAll/PwriteAll: whole transfers at an offset, and errors that name the
// file and say what went wrong. AtomicFileWriter: a streamed file appears
// whole or not at all.
#include "core/file_io.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
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

std::string Contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(AtomicFileWriter, AStreamedFileAppearsWholeOnlyOnCommitAndAnAbandonedOneLeavesTheOldFile) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("wattrun_atomic_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "jobs_energy.csv").string();
  WriteFileAtomically(path, "old\n");
  std::string expected;
  {
    // Rows through the buffer (several flushes) and one large append straight out.
    AtomicFileWriter file(path);
    for (int row = 0; row < 200000; ++row) {
      const std::string line = std::to_string(row) + ",ok\n";
      file.buffer() += line;
      expected += line;
      file.FlushIfFull();
    }
    const std::string large(3 * AtomicFileWriter::kFlushBytes, 'x');
    file.Append(large);
    expected += large;
    file.Append("end\n");
    expected += "end\n";
    ASSERT_GT(expected.size(), 4 * AtomicFileWriter::kFlushBytes);
    EXPECT_EQ(Contents(path), "old\n");  // not yet replaced
    file.Commit();
  }
  EXPECT_EQ(Contents(path), expected);
  {
    AtomicFileWriter twice(path);
    twice.Append("once\n");
    twice.Commit();
    const std::string again = ErrorOf([&] { twice.Commit(); });
    EXPECT_NE(again.find("jobs_energy.csv: committed twice or after a failure"), std::string::npos) << again;
    const std::string late = ErrorOf([&] { twice.Append(std::string(2 * AtomicFileWriter::kFlushBytes, 'z')); });
    EXPECT_NE(late.find("jobs_energy.csv: written after it was committed or failed"), std::string::npos) << late;
  }
  EXPECT_EQ(Contents(path), "once\n");
  expected = "once\n";
  {
    AtomicFileWriter abandoned(path);  // e.g. an exception while formatting
    abandoned.Append(std::string(2 * AtomicFileWriter::kFlushBytes, 'y'));
  }
  EXPECT_EQ(Contents(path), expected);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  const std::string missing_dir = ErrorOf([&] { AtomicFileWriter file((dir / "no" / "such.csv").string()); });
  EXPECT_NE(missing_dir.find("no/such.csv.tmp: cannot create"), std::string::npos) << missing_dir;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace wattrun
