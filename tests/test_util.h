// Helpers shared by the test suites: whole files, CSV tables, scratch
// directories that are removed whatever the outcome of the test.
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/csv.h"

namespace wattrun::testing_util {

inline std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

using CsvTable = std::vector<std::map<std::string, std::string>>;

// A CSV file as rows of column -> cell (quoted cells unquoted).
inline CsvTable ReadCsvTable(const std::filesystem::path& path) {
  LineReader reader(path.string());
  std::string_view line;
  std::vector<std::string_view> fields;
  std::string storage;
  CsvTable rows;
  if (!reader.Next(&line)) return rows;
  SplitCsvLine(line, ',', &fields, &storage);
  const std::vector<std::string> header(fields.begin(), fields.end());
  while (reader.Next(&line)) {
    SplitCsvLine(line, ',', &fields, &storage);
    std::map<std::string, std::string> row;
    for (std::size_t i = 0; i < header.size() && i < fields.size(); ++i) row[header[i]] = std::string(fields[i]);
    rows.push_back(std::move(row));
  }
  return rows;
}

// The running test's name (for a fixture's scratch directory).
inline std::string CurrentTestName() { return ::testing::UnitTest::GetInstance()->current_test_info()->name(); }

// A fresh directory under the test temp dir, removed by the destructor
// (also when an assertion fails: gtest unwinds the test body).
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name)
      : path_(std::filesystem::path(::testing::TempDir()) / (name + "_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    if (path_.empty()) return;  // moved from
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  // Movable, so that a helper can make one and hand it to the test.
  ScratchDir(ScratchDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  ScratchDir& operator=(ScratchDir&&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace wattrun::testing_util
