// Opens the report in Debian's headless Chromium (when installed): the page
// must load from a file with no network, render to a non-trivial screenshot
// and log no script or resource errors. Skipped without /usr/bin/chromium.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "stages/report/report.h"
#include "stages/report/synthetic_results.h"
#include "tests/test_util.h"

namespace wattrun::report {
namespace {

namespace fs = std::filesystem;
using testing_util::ScratchDir;
using testing_util::Slurp;

constexpr const char* kChromium = "/usr/bin/chromium";

// Runs headless Chromium on `page` with the given action flags; stderr goes to `log`.
int RunChromium(const fs::path& page, const fs::path& profile, const std::string& action, const fs::path& log,
                const fs::path& out = {}) {
  std::string cmd = std::string("timeout 120 ") + kChromium +
                    " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
                    " --disable-background-networking --disable-component-update --disable-sync"
                    " --hide-scrollbars --enable-logging=stderr --v=0 --user-data-dir='" +
                    profile.string() + "' " + action + " 'file://" + page.string() + "'";
  cmd += out.empty() ? " > /dev/null" : " > '" + out.string() + "'";
  cmd += " 2> '" + log.string() + "'";
  return std::system(cmd.c_str());
}

// Lines of Chromium's log that report a problem with the page itself.
std::string PageErrors(const std::string& log) {
  std::string errors;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    const bool console = line.find("CONSOLE") != std::string::npos;
    const bool uncaught = line.find("Uncaught") != std::string::npos;
    const bool blocked = line.find("ERR_") != std::string::npos && line.find("file://") != std::string::npos;
    if (console || uncaught || blocked) errors += line + "\n";
  }
  return errors;
}

TEST(ReportBrowser, RendersInHeadlessChromium) {
  if (!fs::exists(kChromium)) GTEST_SKIP() << kChromium << " not installed (apt-get install chromium)";
  testing::SyntheticOptions o;
  o.repeats = 20;  // about 9,600 runs
  const auto r = testing::MakeSyntheticResults(o);
  const ScratchDir scratch("wattrun_report_browser");
  const fs::path& dir = scratch.path();
  fs::create_directories(dir / "profile");
  const fs::path page = dir / "report.html";
  WriteReport(r, page.string());

  const fs::path png = dir / "report.png";
  ASSERT_EQ(RunChromium(page, dir / "profile", "--window-size=1400,6000 --screenshot='" + png.string() + "'",
                        dir / "screenshot.log"),
            0)
      << Slurp(dir / "screenshot.log");
  ASSERT_TRUE(fs::exists(png)) << Slurp(dir / "screenshot.log");
  const std::string image = Slurp(png);
  ASSERT_GT(image.size(), 24u);
  EXPECT_EQ(image.substr(1, 3), "PNG");
  // IHDR: width and height, big-endian, at bytes 16..23.
  auto be32 = [&](std::size_t at) {
    return (static_cast<std::uint32_t>(static_cast<unsigned char>(image[at])) << 24) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(image[at + 1])) << 16) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(image[at + 2])) << 8) |
           static_cast<std::uint32_t>(static_cast<unsigned char>(image[at + 3]));
  };
  EXPECT_EQ(be32(16), 1400u);
  EXPECT_EQ(be32(20), 6000u);
  // A blank page of this size compresses to a few kB; figures do not.
  EXPECT_GT(image.size(), 150u * 1024) << "screenshot looks empty: " << png;
  EXPECT_EQ(PageErrors(Slurp(dir / "screenshot.log")), "");

  const fs::path dom = dir / "dom.html";
  ASSERT_EQ(RunChromium(page, dir / "profile", "--dump-dom", dir / "dom.log", dom), 0) << Slurp(dir / "dom.log");
  const std::string html = Slurp(dom);
  EXPECT_NE(html.find("<section id=\"account\">"), std::string::npos);
  EXPECT_NE(html.find("<section id=\"carbon\">"), std::string::npos);
  EXPECT_GE(html.find("</svg>") != std::string::npos ? 1 : 0, 1);
  EXPECT_EQ(PageErrors(Slurp(dir / "dom.log")), "");
  std::printf("screenshot: %zu kB\n", image.size() / 1024);
}

}  // namespace
}  // namespace wattrun::report
