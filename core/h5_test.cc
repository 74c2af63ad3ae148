// File::CreateStaged/Commit: a file written to disk under a temporary name
// and renamed into place whole, sealed when asked; dropped before Commit it
// leaves the file that was there.
#include "core/h5.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/error.h"

namespace wattrun::h5 {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("wattrun_h5_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(H5File, CommitPutsTheWholeSealedFileInPlace) {
  TempDir dir;
  const std::string path = (dir.path / "catalogue.h5").string();
  {
    File f = File::CreateStaged(path, /*sealed=*/true, path + ".tmp.me");
    SetAttribute(f.id(), "answer", std::int64_t{42});
    WriteVector(f.id(), "values", std::vector<double>(100000, 1.5));
    EXPECT_FALSE(fs::exists(path));  // nothing in place before Commit
    f.Commit();
  }
  EXPECT_FALSE(fs::exists(path + ".tmp.me"));
  EXPECT_TRUE(VerifySeal(path));
  File back = File::Open(path, Mode::kReadOnly);
  EXPECT_EQ(GetIntAttribute(back.id(), "answer"), 42);
  EXPECT_EQ(ReadVector<double>(back.id(), "values").size(), 100000u);
  back.Close();

  // One byte changed after the seal: a clear error naming the file.
  std::string bytes = Slurp(path);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x20);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  try {
    VerifySeal(path);
    ADD_FAILURE() << "a damaged file passed its seal";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("damaged"), std::string::npos) << e.what();
  }
}

TEST(H5File, DroppedBeforeCommitLeavesTheOldFileAndNoTemporary) {
  TempDir dir;
  const std::string path = (dir.path / "results.h5").string();
  std::ofstream(path) << "the previous results";
  try {
    File f = File::CreateStaged(path);
    WriteVector(f.id(), "values", std::vector<double>(1000, 2.0));
    throw Error("a stage failed half-way");
  } catch (const Error&) {
  }
  EXPECT_EQ(Slurp(path), "the previous results");
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()), 1);
}

TEST(H5File, AStagedFileInAMissingDirectoryNamesItsPath) {
  const std::string path = "/nonexistent-wattrun-dir/results.h5";
  try {
    File::CreateStaged(path);
    ADD_FAILURE() << "created a file in a missing directory";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ".tmp: cannot create"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace wattrun::h5
