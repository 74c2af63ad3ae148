// Inputs that once crashed a parser under libFuzzer (fuzz/regressions/), kept
// as regression tests: each must now give a clear wattrun::Error (or parse),
// never a crash, a hang or another exception type.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/config.h"
#include "core/error.h"
#include "core/hostlist.h"
#include "core/time.h"
#include "stages/ingest/tables.h"
#include "tests/test_util.h"

namespace wattrun {
namespace {
namespace fs = std::filesystem;

fs::path Regressions() {
  const char* env = std::getenv("WATTRUN_SOURCE_DIR");
  return fs::path(env ? env : fs::path(__FILE__).parent_path().parent_path().parent_path().string()) / "fuzz" /
         "regressions";
}

std::vector<fs::path> Inputs(const std::string& target) {
  std::vector<fs::path> out;
  const fs::path dir = Regressions() / target;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

using testing_util::Slurp;

TEST(FuzzRegressions, ConfigLoaderGivesClearErrors) {
  for (const auto& p : Inputs("config")) {
    SCOPED_TRACE(p.string());
    try {
      ParseConfig(Slurp(p), p.filename().string());
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(p.filename().string()), std::string::npos) << e.what();
    }
  }
}

TEST(FuzzRegressions, HostlistExpanderRejectsHugeRanges) {
  for (const auto& p : Inputs("hostlist")) {
    SCOPED_TRACE(p.string());
    try {
      const auto hosts = ExpandHostlist(Slurp(p));
      EXPECT_LT(hosts.size(), 5'000'000u);
    } catch (const Error&) {
    }
  }
}

TEST(FuzzRegressions, SacctParserCountsInsteadOfCrashing) {
  const TimestampPolicy policy{TimeZone::Load("America/Denver"), false};
  for (const auto& p : Inputs("sacct")) {
    SCOPED_TRACE(p.string());
    try {
      ParseSacctFile(p.string(), policy);
    } catch (const Error&) {
    }
  }
}

}  // namespace
}  // namespace wattrun
