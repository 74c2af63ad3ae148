#include "core/h5.h"

#include <gtest/gtest.h>

#include "core/error.h"

#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace wattrun::h5 {
namespace {

// The file's type of a dataset: fixed size in bytes, or 0 when variable-length.
std::size_t FixedSize(hid_t loc, const std::string& name) {
  H5Id dset(H5Dopen2(loc, name.c_str(), H5P_DEFAULT));
  H5Id type(H5Dget_type(dset.get()));
  EXPECT_EQ(H5Tget_cset(type.get()), H5T_CSET_UTF8) << name;
  return H5Tis_variable_str(type.get()) > 0 ? 0 : H5Tget_size(type.get());
}

TEST(Strings, ShortColumnsAreFixedLengthToTheLongestAndReadBackWhole) {
  File f = File::CreateInMemory("strings.h5");
  // Empty strings, a multi-byte UTF-8 name (its bytes count) and the longest.
  const std::vector<std::string> users = {"ana", "", "zoë", "bartholomew"};
  WriteStrings(f.id(), "user", users, StringLayout::kFixedWhenCompact);
  EXPECT_EQ(FixedSize(f.id(), "user"), 11u);
  EXPECT_EQ(ReadStrings(f.id(), "user"), users);
}

TEST(Strings, AnOutlierThatWouldPadEveryRowKeepsTheColumnVariableLength) {
  File f = File::CreateInMemory("strings.h5");
  std::vector<std::string> lists(100, "r1i0n1");
  lists[7] = std::string(kMaxPadPerString + 40, 'x');  // one job's long node list
  WriteStrings(f.id(), "node_list", lists, StringLayout::kFixedWhenCompact);
  EXPECT_EQ(FixedSize(f.id(), "node_list"), 0u);
  EXPECT_EQ(ReadStrings(f.id(), "node_list"), lists);
  // Within the pad allowance the column is fixed.
  lists[7] = std::string(6 + kMaxPadPerString / 2, 'x');
  WriteStrings(f.id(), "node_list_2", lists, StringLayout::kFixedWhenCompact);
  EXPECT_EQ(FixedSize(f.id(), "node_list_2"), lists[7].size());
  EXPECT_EQ(ReadStrings(f.id(), "node_list_2"), lists);
}

TEST(Strings, EmptyColumnsAndVariableLengthFilesReadBack) {
  File f = File::CreateInMemory("strings.h5");
  WriteStrings(f.id(), "none", {}, StringLayout::kFixedWhenCompact);
  EXPECT_TRUE(ReadStrings(f.id(), "none").empty());
  // Files written before the fixed layout (and the store) hold variable-length strings.
  const std::vector<std::string> names = {"cpu1", "gpu-large", ""};
  WriteStrings(f.id(), "types", names);
  EXPECT_EQ(FixedSize(f.id(), "types"), 0u);
  EXPECT_EQ(ReadStrings(f.id(), "types"), names);
}

TEST(Strings, FixedLengthAsciiStringsAsH5pyWritesThemReadBack) {
  File f = File::CreateInMemory("strings.h5");
  H5Id type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type.get(), 4);
  H5Tset_strpad(type.get(), H5T_STR_NULLPAD);  // numpy "S4", cset ASCII
  const hsize_t n = 2;
  H5Id space(H5Screate_simple(1, &n, nullptr));
  H5Id dset(H5Dcreate2(f.id(), "node", type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  const char bytes[] = {'r', '1', 'n', '2', 'g', 'p', 'u', '\0'};
  ASSERT_GE(H5Dwrite(dset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes), 0);
  EXPECT_EQ(ReadStrings(f.id(), "node"), (std::vector<std::string>{"r1n2", "gpu"}));
}

TEST(Strings, NumbersAreNotReadAsStrings) {
  File f = File::CreateInMemory("strings.h5");
  WriteVector(f.id(), "energy", std::vector<double>{1.5});
  try {
    ReadStrings(f.id(), "energy");
    ADD_FAILURE() << "numbers read as strings";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "HDF5 dataset energy does not hold strings");
  }
}

// The seal in front of a sealed file is zlib's CRC-32 of the bytes after the
// 512-byte user block and their count, as stores written by earlier builds
// (zlib's crc32) have it: they keep verifying; a changed byte does not.
TEST(Seal, IsZlibsCrcOfTheImageAndAChangedByteFailsIt) {
  const std::string path = (std::filesystem::temp_directory_path() / "wattrun_h5_seal_test.h5").string();
  {
    File f = File::CreateInMemory(path, /*sealed=*/true);
    WriteVector(f.id(), "values", std::vector<double>(100000, 1.5));
    f.WriteImage(path);
  }
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GT(bytes.size(), 512U);
  const auto* body = reinterpret_cast<const Bytef*>(bytes.data() + 512);
  const uLong crc = crc32(0L, body, static_cast<uInt>(bytes.size() - 512));
  char expected[96];
  std::snprintf(expected, sizeof expected, "WATTRUN-SEAL crc32=%08lx size=%zu\n", crc, bytes.size() - 512);
  EXPECT_EQ(bytes.substr(0, std::string(expected).size()), expected);
  EXPECT_TRUE(VerifySeal(path));
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 1);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  EXPECT_THROW(VerifySeal(path), Error);
  std::filesystem::remove(path);
}

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// A file of a few MB (past the core driver's 1 MB growth steps), written
// with a group still open or not.
void WriteSample(const std::string& path, bool sealed, bool keep_group_open) {
  File f = File::CreateInMemory(path, sealed);
  H5Id group = EnsureGroup(f.id(), "tables/runs");
  WriteVector(group.get(), "watts", std::vector<double>(400000, 2.25));
  WriteStrings(group.get(), "names", std::vector<std::string>(5000, "r1i0n17"));
  SetAttribute(f.id(), "rows", std::int64_t{400000});
  if (!keep_group_open) group.Close();
  f.WriteImage(path);
}

// WriteImage writes the core driver's own buffer once the file has closed;
// while another object of the file is open it copies the image out as
// before. Both give the same bytes, sealed or not, and the file reads back.
TEST(Image, TheHandedOverBufferIsTheSameFileAsTheCopiedImage) {
  const auto dir = std::filesystem::temp_directory_path();
  for (const bool sealed : {false, true}) {
    const std::string handed = (dir / "wattrun_h5_image_handed.h5").string();
    const std::string copied = (dir / "wattrun_h5_image_copied.h5").string();
    // HDF5 stamps each object's creation time (seconds): files written
    // across a second's boundary differ there, so the pair is written again
    // (a real difference stays in every try).
    bool same = false;
    for (int attempt = 0; attempt < 3 && !same; ++attempt) {
      WriteSample(handed, sealed, /*keep_group_open=*/false);
      WriteSample(copied, sealed, /*keep_group_open=*/true);
      same = FileBytes(handed) == FileBytes(copied);
    }
    EXPECT_GT(FileBytes(handed).size(), std::size_t{3} << 20);
    EXPECT_TRUE(same) << "sealed " << sealed;
    EXPECT_EQ(VerifySeal(handed), sealed);
    File f = File::Open(handed, Mode::kReadOnly);
    EXPECT_EQ(ReadVector<double>(f.id(), "tables/runs/watts"), std::vector<double>(400000, 2.25));
    f.Close();
    std::filesystem::remove(handed);
    std::filesystem::remove(copied);
  }
}

std::int64_t PeakRssKb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

// The file reads back whole: its seal holds and its values are there.
void ExpectSample(const std::string& path) {
  EXPECT_TRUE(VerifySeal(path));
  File f = File::Open(path, Mode::kReadOnly);
  EXPECT_EQ(ReadVector<double>(f.id(), "tables/runs/watts"), std::vector<double>(400000, 2.25));
  EXPECT_EQ(ReadStrings(f.id(), "tables/runs/names").size(), 5000u);
  f.Close();
}

// A rerun writes over the previous file: HDF5 must not read that file in
// (it did, whole, to see whether it was open: a previous results.h5 of
// hundreds of MB), and the new file is complete.
TEST(Image, WritingOverAnExistingFileDoesNotReadIt) {
  const auto dir = std::filesystem::temp_directory_path();
  const std::string path = (dir / "wattrun_h5_image_rewrite.h5").string();
  WriteSample(path, /*sealed=*/true, false);
  WriteSample(path, /*sealed=*/true, false);  // over an HDF5 file
  ExpectSample(path);
  // A 256 MB file of that name: its pages would be read into memory.
  {
    std::ofstream big(path, std::ios::binary | std::ios::trunc);
    const std::string block(1 << 20, 'x');
    for (int i = 0; i < 256; ++i) big.write(block.data(), static_cast<std::streamsize>(block.size()));
  }
  std::ofstream reset("/proc/self/clear_refs");
  reset << "5";  // the peak RSS back to the current RSS (Linux)
  reset.close();
  if (!reset) GTEST_SKIP() << "cannot reset the peak RSS here";
  const std::int64_t before = PeakRssKb();
  WriteSample(path, /*sealed=*/true, false);
  EXPECT_LT(PeakRssKb() - before, 128 * 1024) << "kB of peak RSS";
  ExpectSample(path);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace wattrun::h5
