#include "stages/report/report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>

#include <hdf5.h>

#include "core/time.h"
#include "core/version.h"
#include "stages/report/format.h"
#include "stages/report/stats.h"
#include "stages/report/svg.h"
#include "stages/report/synthetic_results.h"
#include "tests/test_util.h"

namespace wattrun::report {
namespace {

namespace fs = std::filesystem;
using testing::MakeSyntheticResults;
using testing::SyntheticOptions;
using testing_util::ScratchDir;
using testing_util::Slurp;

// Writes the page of r into a fresh directory and returns its text.
std::string RenderPage(const results::PipelineResults& r, const std::string& name) {
  const ScratchDir scratch("wattrun_report_" + name);
  const fs::path page = scratch.path() / "report.html";
  WriteReport(r, page.string());
  return Slurp(page);
}

std::size_t Count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + what.size())) ++n;
  return n;
}

TEST(Format, Numbers) {
  EXPECT_EQ(FormatCount(41129), "41,129");
  EXPECT_EQ(FormatCount(999), "999");
  EXPECT_EQ(FormatCount(-1234567), "-1,234,567");
  EXPECT_EQ(FormatSig(220.0), "220");
  EXPECT_EQ(FormatSig(229.46), "229.5");
  EXPECT_EQ(FormatSig(14012.3), "14,012");
  EXPECT_EQ(FormatSig(1460), "1,460");
  EXPECT_EQ(FormatSig(-1460.26, 5), "-1,460.3");
  EXPECT_EQ(FormatSig(0.0712, 3), "0.0712");
  EXPECT_EQ(FormatSig(3.2e-9, 2), "3.2\u00d710\u207b\u2079");
  EXPECT_EQ(FormatSig(std::nan("")), "\u2013");
  EXPECT_EQ(FormatEnergy(14012.3), "14.01 kJ");
  EXPECT_EQ(FormatEnergy(0.00616), "6.16 mJ");
  EXPECT_EQ(FormatBytes(25952256), "24.75 MiB");
  EXPECT_EQ(FormatBytes(32768), "32 KiB");
  EXPECT_EQ(FormatPercent(0.01617), "1.62 %");
  EXPECT_EQ(EscapeHtml("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
}

TEST(Format, CountedNounsAgreeWithTheirCount) {
  EXPECT_EQ(Counted(1, "run"), "1 run");
  EXPECT_EQ(Counted(2, "run"), "2 runs");
  EXPECT_EQ(Counted(0, "run"), "0 runs");
  EXPECT_EQ(Counted(1, "node"), "1 node");
  EXPECT_EQ(Counted(41129, "reading"), "41,129 readings");
  EXPECT_EQ(Counted(-1, "day"), "-1 days");
  EXPECT_EQ(Counted(1, "class", "classes"), "1 class");
  EXPECT_EQ(Counted(3, "class", "classes"), "3 classes");
  EXPECT_EQ(Counted(3, "data set"), "3 data sets");
  EXPECT_EQ(Noun(1, "run"), "run");
  EXPECT_EQ(Noun(480, "run"), "runs");
  EXPECT_EQ(Noun(0, "node type"), "node types");
  EXPECT_EQ(Noun(2, "class", "classes"), "classes");
  EXPECT_EQ(FormatKgCo2e(105.66), "105.7 kg CO\u2082e");
}

// Standard base64 decoding (the test's own, to check the page's encoder).
std::string FromBase64(const std::string& text) {
  static const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::uint32_t bits = 0;
  int n = 0;
  for (char ch : text) {
    if (ch == '=') break;
    const auto v = kAlphabet.find(ch);
    if (v == std::string::npos) ADD_FAILURE() << "not base64: " << ch;
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    n += 6;
    if (n >= 8) {
      n -= 8;
      out += static_cast<char>((bits >> n) & 0xFF);
    }
  }
  return out;
}

// "1 runs", "1 readings" ...: a count of one with a plural noun.
std::string SingularAsPlural(const std::string& html) {
  static const std::regex kOneWithPlural(
      R"((^|[^0-9A-Za-z_,.])1 (runs|readings|days|jobs|nodes|values|sizes|lines)\b)");
  std::smatch m;
  return std::regex_search(html, m, kOneWithPlural) ? m.str() : "";
}

TEST(Report, ACountOfOneTakesTheSingular) {
  results::PipelineResults r;
  results::ModelResult m;
  m.hardware_class = "gpu";
  m.runs = 1;
  r.models.push_back(m);
  r.telemetry_readings = 1;
  r.coverage = {{19723, "cpu1", 1}};
  const std::string html = RenderPage(r, "singular");
  EXPECT_NE(html.find("not fitted</span> on 1 run."), std::string::npos);
  EXPECT_NE(html.find("telemetry: 1 reading"), std::string::npos);
  EXPECT_NE(html.find("1 day of telemetry"), std::string::npos);
  EXPECT_EQ(SingularAsPlural(html), "");
  EXPECT_EQ(SingularAsPlural(RenderPage(MakeSyntheticResults(), "singular_synthetic")), "");
}

// A summary card shows its count apart from its noun: the noun agrees too.
TEST(Report, SummaryCardsOfOneTakeTheSingular) {
  results::PipelineResults r;
  results::RunRow run;
  run.run_id = "r1";
  run.status = "ok";
  run.usable = true;
  run.energy_j = 3.6e6;
  r.runs = {run};
  r.idle = {{"cpu1", 1, 10, 200.0}};
  results::JobRow job;
  job.job_id = "1";
  job.status = "ok";
  job.energy_j = 3.6e6;
  job.node_hours = 1;
  job.carbon_g = 475;
  r.jobs = {job};
  const std::string html = RenderPage(r, "singular_cards");
  for (const char* card : {"run in", "usable run (ok, not filtered)", "node type", "job (sacct allocations)",
                           "job that started", "node hour"}) {
    EXPECT_NE(html.find(">1</div><div class=\"l\">" + std::string(card) + "<"), std::string::npos) << card;
  }
  EXPECT_NE(html.find(">1 kWh</div><div class=\"l\">energy of the 1 ok run<"), std::string::npos);
  EXPECT_EQ(SingularAsPlural(html), "");
}

// Every summary card: a value with its unit, or a plain count (or the
// dimensionless σ) whose label starts with what it counts.
TEST(Report, EveryCardValueCarriesAUnitOrCountsANoun) {
  const std::string html = RenderPage(MakeSyntheticResults(), "card_units");
  static const std::regex kCard(R"re(<div class="v">([^<]*)</div><div class="l">([^<]*)</div>)re");
  static const std::regex kWithUnit("^[0-9.,]+ (kWh|MWh|GWh|kg CO\u2082e|t CO\u2082e|%)$");
  static const std::regex kPlain("^[0-9.,]+$");
  static const std::regex kNounFirst("^(runs?|usable runs?|node types?|jobs?|node hours?|\u03c3) ");
  int cards = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), kCard); it != std::sregex_iterator(); ++it) {
    const std::string value = (*it)[1];
    const std::string label = (*it)[2];
    ++cards;
    EXPECT_TRUE(std::regex_match(value, kWithUnit) ||
                (std::regex_match(value, kPlain) && std::regex_search(label + " ", kNounFirst)))
        << value << " | " << label;
  }
  EXPECT_EQ(cards, 13);  // 7 above the sections (two σ), 6 of the facility
}

TEST(Format, Base64MatchesRfc4648) {
  EXPECT_EQ(Base64(""), "");
  EXPECT_EQ(Base64("f"), "Zg==");
  EXPECT_EQ(Base64("fo"), "Zm8=");
  EXPECT_EQ(Base64("foo"), "Zm9v");
  EXPECT_EQ(Base64("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64("\xff\xfe<svg>"), "//48c3ZnPg==");
  EXPECT_EQ(FromBase64(Base64("energy \u00d7 PUE")), "energy \u00d7 PUE");
}

TEST(Plot, CsvIsThePlottedData) {
  svg::Plot p("t");
  p.x.label = "size, bytes";
  p.y.label = "energy (J)";
  p.Points({1, 3}, {2, 4.5}, {"#000", 2, 1, "", "cpu", ""});
  p.Histogram({0, 1, 2}, {5, 0}, {"#000", 1, 1, "", "", "counts"});
  p.ErrorBars({7}, {1}, {2}, {"#000", 1, 1, "", "", ""});
  p.VLine(32768, {"#333", 1, 1, "", "", ""}, "L1 32 KiB");
  p.Text(0.5, 0.25, "note \"a\"");
  EXPECT_EQ(p.Csv(),
            "series,element,\"x: size, bytes\",x_end,y: energy (J),y_end\n"
            "cpu,point,1,,2,\n"
            "cpu,point,3,,4.5,\n"
            "counts,bar,0,1,5,\n"
            "counts,bar,1,2,0,\n"
            ",error_bar,7,,1,2\n"
            "L1 32 KiB,vline,32768,,,\n"
            "\"note \"\"a\"\"\",text,0.5,,0.25,\n");
}

// Each <figure> of the page: its inline SVG and its two download links.
struct PageFigure {
  std::string svg, svg_name, svg_data, csv_name, csv;
};

std::string Between(const std::string& text, std::size_t from, const std::string& open, const std::string& close) {
  const auto a = text.find(open, from);
  if (a == std::string::npos) return "";
  const auto b = text.find(close, a + open.size());
  return b == std::string::npos ? "" : text.substr(a + open.size(), b - a - open.size());
}

std::vector<PageFigure> Figures(const std::string& html) {
  std::vector<PageFigure> out;
  for (auto at = html.find("<figure "); at != std::string::npos; at = html.find("<figure ", at + 1)) {
    const auto end = html.find("</figure>", at);
    const std::string fig = html.substr(at, end - at);
    PageFigure f;
    const auto s0 = fig.find("<svg "), s1 = fig.find("</svg>");
    if (s0 != std::string::npos && s1 != std::string::npos) f.svg = fig.substr(s0, s1 + 6 - s0);
    const auto svg_link = fig.find("href=\"data:image/svg+xml;base64,");
    const auto csv_link = fig.find("href=\"data:text/csv;charset=utf-8;base64,");
    if (svg_link != std::string::npos) {
      f.svg_name = Between(fig, fig.rfind("download=\"", svg_link), "download=\"", "\"");
      f.svg_data = FromBase64(Between(fig, svg_link, "base64,", "\""));
    }
    if (csv_link != std::string::npos) {
      f.csv_name = Between(fig, fig.rfind("download=\"", csv_link), "download=\"", "\"");
      f.csv = FromBase64(Between(fig, csv_link, "base64,", "\""));
    }
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(Report, EveryFigureDownloadsAsSvgAndCsv) {
  const std::string html = RenderPage(MakeSyntheticResults(), "downloads");
  const auto figures = Figures(html);
  ASSERT_GE(figures.size(), 20u);
  std::set<std::string> names;
  for (const auto& f : figures) {
    ASSERT_FALSE(f.svg.empty());
    const std::string title = Between(f.svg, 0, "aria-label=\"", "\"");
    EXPECT_EQ(f.svg_data, f.svg) << title;  // the download is the drawn figure
    EXPECT_NE(f.svg_data.find("xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos) << title;
    EXPECT_EQ(f.svg_name.substr(0, 7), "figure-") << title;
    EXPECT_EQ(f.svg_name.substr(f.svg_name.size() - 4), ".svg") << title;
    EXPECT_EQ(f.csv_name, f.svg_name.substr(0, f.svg_name.size() - 4) + ".csv") << title;
    EXPECT_TRUE(names.insert(f.svg_name).second) << "two figures named " << f.svg_name;
    const auto lines = Lines(f.csv);
    ASSERT_GE(lines.size(), 2u) << title << ": no data rows";
    EXPECT_EQ(lines[0].rfind("series,element,", 0), 0u) << title;
  }
  // No network: every link is a data: URI.
  EXPECT_EQ(html.find("href=\"http"), std::string::npos);
}

TEST(Report, CoverageFigureAndTableShowTheReadingsPerDay) {
  const auto r = MakeSyntheticResults();
  const std::string html = RenderPage(r, "coverage");
  const auto from = html.find("<section id=\"coverage\">");
  ASSERT_NE(from, std::string::npos);
  EXPECT_NE(html.find("<a href=\"#coverage\">"), std::string::npos);
  const std::string part = html.substr(from, html.find("</section>", from) - from);
  EXPECT_NE(part.find("30 days of telemetry, 2024-01-01 to 2024-01-30 (UTC), 4 node types"), std::string::npos);
  // cpu2: 28 days with readings, 1 without (day 10), fewest on that day.
  EXPECT_NE(part.find("<td class=\"l\">cpu2</td><td>" + Counted(28 * 17280 + 8640, "reading") +
                      "</td><td>29 days</td><td class=\"no\">1 day</td><td>17,280 readings</td><td class=\"l\">0 "
                      "readings (2024-01-11)</td>"),
            std::string::npos);
  EXPECT_NE(part.find("<td class=\"l\">not in nodes.csv</td><td>12 readings</td><td>1 day</td>"), std::string::npos);
  const auto figures = Figures(part);
  ASSERT_EQ(figures.size(), 1u);
  // The CSV holds each type's count per day, with 0 for the missing day.
  const auto lines = Lines(figures[0].csv);
  ASSERT_EQ(lines.size(), 1u + 4 * 30);
  EXPECT_EQ(lines[0], "series,element,x: day (UTC),x_end,y: readings per day (count),y_end");
  auto has = [&](const std::string& row) { return std::find(lines.begin(), lines.end(), row) != lines.end(); };
  EXPECT_TRUE(has("cpu2,line,19733,,0,"));
  EXPECT_TRUE(has("cpu2,line,19734,,8640,"));
  EXPECT_TRUE(has("cpu1,line,19752,,34560,"));
  EXPECT_TRUE(has("not in nodes.csv,line,19723,,12,"));
  EXPECT_TRUE(has("not in nodes.csv,line,19724,,0,"));
}

TEST(Report, ProvenanceBlockSaysWhereTheResultsCameFrom) {
  auto r = MakeSyntheticResults();
  r.config_yaml += "note: \"<b>\"\n";
  const std::string html = RenderPage(r, "provenance");
  const auto from = html.find("<section id=\"provenance\">");
  ASSERT_NE(from, std::string::npos);
  EXPECT_LT(from, html.find("<section id=\"account\">"));  // at the top
  const std::string part = html.substr(from, html.find("</section>", from) - from);
  EXPECT_NE(part.find(std::string("<code>") + kWattrunVersion + "</code>"), std::string::npos);
  EXPECT_NE(part.find("<code>2024-02-01T08:30:00.000Z</code>"), std::string::npos);
  EXPECT_NE(part.find("<code>" + EscapeHtml(r.command_line) + "</code>"), std::string::npos);
  EXPECT_NE(part.find("<code>/scratch/eagle/store.h5</code>"), std::string::npos);
  EXPECT_NE(part.find("<th class=\"l\">Slurm job</th><td class=\"l\"><code>4242</code>"), std::string::npos);
  EXPECT_NE(part.find("<details><summary>Configuration (YAML, 6 lines)</summary><pre class=\"yaml\">" +
                      EscapeHtml(r.config_yaml) + "</pre></details>"),
            std::string::npos);
  EXPECT_NE(part.find("note: &quot;&lt;b&gt;&quot;"), std::string::npos);
  // Without a record it says so instead of leaving blanks.
  results::PipelineResults bare;
  const std::string empty = RenderPage(bare, "provenance_bare");
  EXPECT_NE(empty.find("not run under Slurm"), std::string::npos);
  EXPECT_NE(empty.find("The configuration was not recorded"), std::string::npos);
}

TEST(Report, Figure7DrawsNormalizedIsolossLinesWithCacheLines) {
  SyntheticOptions o;
  o.memory_levels = true;
  const std::string html = RenderPage(MakeSyntheticResults(o), "figure7");
  const auto at = html.find("Normalized isoloss lines against working-set sizes (paper Figure 7)");
  ASSERT_NE(at, std::string::npos);
  EXPECT_LT(at, html.find("(paper Figure 8)"));
  for (const char* title :
       {"cpu: energy to reach the loss against l (inter-layer)", "cpu: energy to reach the loss against f (forward)",
        "cpu: energy to reach the loss against b (backward)", "gpu: energy to reach the loss against b (backward)"}) {
    EXPECT_NE(html.find("aria-label=\"" + std::string(title) + "\""), std::string::npos) << title;
  }
  // Each panel's CSV: the lines' points at ratio >= 1 with one at exactly 1
  // per line, and the cache capacities as vertical lines.
  int panels = 0;
  for (const auto& f : Figures(html)) {
    if (f.svg.find("aria-label=\"cpu: energy to reach the loss against b") == std::string::npos) continue;
    ++panels;
    EXPECT_NE(f.csv.find("L1 32 KiB,vline,32768,,,"), std::string::npos);
    EXPECT_NE(f.csv.find("L2 1 MiB,vline,1048576,,,"), std::string::npos);
    EXPECT_NE(f.csv.find("L3 24.75 MiB,vline,25952256,,,"), std::string::npos);
    EXPECT_EQ(f.csv.find("RAM"), std::string::npos);  // main memory is no cache boundary
    std::map<std::string, int> minima;
    for (const auto& line : Lines(f.csv)) {
      if (line.find(",line,") == std::string::npos) continue;
      const auto cells = line.substr(line.find(",line,") + 6);
      const double ratio = std::stod(cells.substr(cells.find(",,") + 2));
      EXPECT_GE(ratio, 1.0) << line;
      if (ratio == 1.0) ++minima[line.substr(0, line.find(','))];
    }
    EXPECT_GE(minima.size(), 3u);
    for (const auto& [line, n] : minima) EXPECT_GE(n, 1) << line;
  }
  EXPECT_EQ(panels, 1);
}

TEST(Stats, QuantilesAndWindows) {
  EXPECT_DOUBLE_EQ(SortedQuantile({1, 2, 3, 4}, 0.25), 1.75);  // numpy linear
  EXPECT_DOUBLE_EQ(SortedQuantile({5}, 0.9), 5);
  const auto q = Summarize({4, 1, 3, 2, NAN});
  EXPECT_EQ(q.n, 4u);
  EXPECT_DOUBLE_EQ(q.q50, 2.5);
  // Window ±50 % around 10 holds 5..15.
  const auto w = WindowedQuartiles({4, 5, 10, 15, 16}, {100, 1, 2, 3, 100}, {10}, 0.5, 1.5, 1);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_DOUBLE_EQ(w[0].y.q50, 2);
  const auto g = GroupBy({1, 1, 2}, {10, 20, 30}, {1, 3, 5}, 2);
  ASSERT_EQ(g.size(), 1u);
  EXPECT_DOUBLE_EQ(g[0].x, 15);
  EXPECT_DOUBLE_EQ(g[0].y.q50, 2);
  const auto fit = FitLine({1, 2, 3}, {3, 5, 7});
  EXPECT_NEAR(fit.slope, 2, 1e-12);
  EXPECT_NEAR(fit.intercept, 1, 1e-12);
  const auto counts = CountInBins({0.5, 1, 1.5, 2, 3}, {0, 1, 2});
  EXPECT_EQ(counts, (std::vector<double>{1, 3}));
}

TEST(Stats, EpochToReachInterpolatesInLogLog) {
  // Loss 1 at epoch 10, 0.01 at epoch 1000: 0.1 is reached at epoch 100.
  const auto e = EpochToReach({1, 10, 1000}, {2, 1, 0.01}, 0.1);
  ASSERT_TRUE(e.has_value());
  EXPECT_NEAR(*e, 100, 1e-9);
  EXPECT_EQ(EpochToReach({1, 10}, {2, 1}, 3).value(), 1);
  EXPECT_FALSE(EpochToReach({1, 10}, {2, 1}, 0.5).has_value());
}

TEST(Report, HasEverySectionFigureAndNumber) {
  const auto r = MakeSyntheticResults();
  const ScratchDir scratch("wattrun_report_sections");
  const fs::path& dir = scratch.path();
  const fs::path page = dir / "report.html";
  WriteReport(r, page.string());
  ASSERT_TRUE(fs::exists(page));
  EXPECT_FALSE(fs::exists(page.string() + ".tmp"));
  const std::string html = Slurp(page);

  for (const char* id : {"account", "idle", "trends", "cache", "model", "loss", "carbon"}) {
    EXPECT_NE(html.find("<section id=\"" + std::string(id) + "\">"), std::string::npos) << id;
  }
  for (const char* title :
       {"Run times of the ok runs (paper Figure 2a)", "Run-time z-scores", "cpu1: lowest readings",
        "Per-node p2 against the type's idle power", "(a) Energy per epoch against training-set size",
        "(b) Energy per datum against parameter count", "(c) Energy per datum against FLOPs",
        "(d) Energy per datum against depth", "cpu: energy per datum against working-set size (paper Figure 4)",
        "gpu: predicted / measured energy (paper Figure 5)", "FLOPs to reach a test loss",
        "gpu energy to reach a test loss", "Emissions per run", "The same energy on other grids"}) {
    EXPECT_NE(html.find(title), std::string::npos) << title;
  }
  EXPECT_NE(html.find("cheapest size's working set / nearest cache"), std::string::npos);
  // Every figure is an inline SVG with labelled axes.
  EXPECT_GE(Count(html, "<svg "), 20u);
  EXPECT_EQ(Count(html, "<svg "), Count(html, "</svg>"));
  EXPECT_EQ(Count(html, "<figure "), Count(html, "<svg "));
  EXPECT_NE(html.find("run time (s)"), std::string::npos);
  EXPECT_NE(html.find("working-set size (bytes)"), std::string::npos);
  // No network and no scripts.
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);

  // Numbers on the page are the inputs', formatted.
  for (const auto& t : r.idle) {
    EXPECT_NE(html.find("<b>" + FormatSig(t.idle_w, 4) + " W</b>"), std::string::npos) << t.node_type;
  }
  EXPECT_NE(html.find("<b>220.4 W</b>"), std::string::npos);
  EXPECT_NE(html.find("<b>374.2 W</b>"), std::string::npos);  // 374.25, printf rounds half to even
  std::int64_t usable = 0;
  for (const auto& run : r.runs) usable += run.usable;
  EXPECT_NE(html.find(">" + FormatCount(usable) + "<"), std::string::npos);
  EXPECT_NE(html.find(">" + FormatCount(static_cast<std::int64_t>(r.runs.size())) + "<"), std::string::npos);
  const auto& ke = r.models[0].parameters[0];
  EXPECT_NE(html.find("<b>ke</b></td><td>" + FormatSig(ke.value, 4) + "</td>"), std::string::npos);
  EXPECT_NE(html.find(FormatSig(r.models[1].sigma_log_ratio, 3)), std::string::npos);
  EXPECT_NE(html.find("moves with kp and a_c"), std::string::npos);
  EXPECT_NE(html.find(FormatEnergy(r.overheads[0].energy_overhead_j)), std::string::npos);
  // Carbon: energy of the ok runs × PUE × intensity.
  double joules = 0;
  for (const auto& run : r.runs) {
    if (run.status == "ok" && run.energy_j) joules += *run.energy_j;
  }
  const double kg = joules / 3.6e6 * r.pue * r.carbon_g_per_kwh / 1000;
  EXPECT_NE(html.find(FormatKgCo2e(kg)), std::string::npos) << kg;
  EXPECT_NE(html.find("coal (995 g/kWh)"), std::string::npos);
  // Legends count runs with their noun.
  EXPECT_TRUE(std::regex_search(html, std::regex(R"(kept \([0-9,]+ runs?\))"))) << "kept (N runs)";
  EXPECT_TRUE(std::regex_search(html, std::regex(R"(beyond \([0-9,]+ runs?\))"))) << "beyond (N runs)";
  EXPECT_NE(html.find("475 g CO\u2082e/kWh</b>, world average"), std::string::npos);
  // Eagle's cache sizes are the default.
  EXPECT_NE(html.find("L3 24.75 MiB \u00d7 2"), std::string::npos);
  EXPECT_NE(html.find("Eagle's"), std::string::npos);

  // Each figure is on the page twice (inline, and base64 for its download)
  // with its data as CSV: still well under 2 MiB.
  EXPECT_LT(fs::file_size(page), 2u << 20);
}

TEST(Report, SaysSoWithoutLossesAndUsesGivenLevels) {
  SyntheticOptions o;
  o.losses = false;
  o.memory_levels = true;
  auto r = MakeSyntheticResults(o);
  r.memory_levels[1].levels[1].bytes_per_unit = 8 * 1048576.0;  // an L2 of 8 MiB
  r.carbon_g_per_kwh = 731.59;
  r.carbon_source = "energy mix: coal 25 %, petroleum 35 %, natural gas 26 %, nuclear 14 %";
  const std::string html = RenderPage(r, "nolosses");
  EXPECT_NE(html.find("No loss curves were given"), std::string::npos);
  EXPECT_NE(html.find("L2 8 MiB \u00d7 2"), std::string::npos);
  EXPECT_NE(html.find("731.6 g CO\u2082e/kWh</b>, energy mix: coal 25 %"), std::string::npos);
  EXPECT_EQ(html.find("Eagle's (paper Table 2"), std::string::npos);
}

// The facility section's part of the page.
std::string FacilityPart(const std::string& html) {
  const auto from = html.find("<section id=\"facility\">");
  if (from == std::string::npos) return "";
  return html.substr(from, html.find("</section>", from) - from);
}

TEST(Report, FacilitySectionHasItsFiguresTablesAndNoNaN) {
  const auto r = MakeSyntheticResults();
  ASSERT_GT(r.jobs.size(), 100u);
  const std::string html = RenderPage(r, "facility");
  const std::string part = FacilityPart(html);
  ASSERT_FALSE(part.empty());
  EXPECT_NE(html.find("<a href=\"#facility\">"), std::string::npos);
  for (const char* title :
       {"Job energy per month, by partition", "Share of the metered energy that went to jobs", "The largest accounts",
        "The largest users", "jobs with the most energy", "Slurm's energy against wattrun's, per job",
        "Slurm / wattrun energy", "Job emissions per month", "Carbon intensity of the grid"}) {
    EXPECT_NE(part.find(title), std::string::npos) << title;
  }
  EXPECT_EQ(Count(part, "<svg "), 6u);
  EXPECT_EQ(Count(part, "<svg "), Count(part, "</svg>"));
  for (const char* bad : {"nan", "NaN", "inf"}) EXPECT_EQ(part.find(bad), std::string::npos) << bad;
  // The largest job is listed with its id, and the partitions are in the legend.
  const results::JobRow* largest = nullptr;
  for (const auto& j : r.jobs) {
    if (j.energy_j && (!largest || *j.energy_j > *largest->energy_j)) largest = &j;
  }
  ASSERT_NE(largest, nullptr);
  EXPECT_NE(part.find("<code>" + largest->job_id + "</code>"), std::string::npos);
  for (const char* partition : {"standard", "gpu", "debug"}) EXPECT_NE(part.find(partition), std::string::npos);
  // The ratio's median as the text says it, from the jobs with both energies.
  std::vector<double> ratio;
  for (const auto& j : r.jobs) {
    if (j.energy_j && j.slurm_energy_j) ratio.push_back(*j.slurm_energy_j / *j.energy_j);
  }
  EXPECT_NE(part.find("median <b>" + FormatSig(Summarize(ratio).q50, 3) + "</b>"), std::string::npos);
  // Share of the metered energy that went to jobs, over the whole ledger.
  double metered = 0, to_jobs = 0;
  for (const auto& l : r.ledger) {
    metered += l.metered_energy_j;
    to_jobs += l.job_energy_j;
  }
  EXPECT_NE(part.find(FormatPercent(to_jobs / metered)), std::string::npos);
}

TEST(Report, FacilitySectionWithoutJobsStaysShort) {
  SyntheticOptions o;
  o.facility = false;
  const std::string part = FacilityPart(RenderPage(MakeSyntheticResults(o), "nojobs"));
  EXPECT_NE(part.find("Facility accounting had no jobs"), std::string::npos);
  EXPECT_EQ(part.find("<svg "), std::string::npos);
  EXPECT_LT(part.size(), 600u);
}

TEST(Report, FacilitySectionWithoutSlurmEnergyOrIntensitySaysSo) {
  SyntheticOptions o;
  o.intensity_series = false;
  auto r = MakeSyntheticResults(o);
  for (auto& j : r.jobs) j.slurm_energy_j.reset();
  r.ledger.clear();
  const std::string part = FacilityPart(RenderPage(r, "noslurm"));
  EXPECT_NE(part.find("Slurm recorded no energy for any job"), std::string::npos);
  EXPECT_NE(part.find("the constant 475 g CO\u2082e/kWh holds throughout"), std::string::npos);
  EXPECT_EQ(part.find("Carbon intensity of the grid"), std::string::npos);
  EXPECT_NE(part.find("No ledger"), std::string::npos);
  for (const char* bad : {"nan", "NaN", "inf"}) EXPECT_EQ(part.find(bad), std::string::npos) << bad;
}

TEST(Report, EmptyResultsStillMakeAPage) {
  results::PipelineResults r;
  r.facility = "empty";
  const std::string html = RenderPage(r, "empty");
  EXPECT_NE(html.find("<section id=\"carbon\">"), std::string::npos);
  EXPECT_NE(html.find("not fitted in this run"), std::string::npos);
  EXPECT_NE(html.find("Facility accounting had no jobs"), std::string::npos);
}

TEST(Report, FortyThousandRunsStayUnderAFewMegabytes) {
  SyntheticOptions o;
  o.repeats = 84;  // 240 experiments × 2 classes × 84 = 40,320 runs
  const auto r = MakeSyntheticResults(o);
  ASSERT_GE(r.runs.size(), 40000u);
  const ScratchDir scratch("wattrun_report_large");
  const fs::path page = scratch.path() / "report.html";
  WriteReport(r, page.string());
  const auto bytes = fs::file_size(page);
  std::printf("report for %zu runs: %.0f kB\n", r.runs.size(), static_cast<double>(bytes) / 1024);
  EXPECT_LT(bytes, 3u << 20);
}

TEST(Report, UnwritablePathThrows) {
  const auto r = MakeSyntheticResults();
  EXPECT_THROW(WriteReport(r, "/nonexistent-dir/x/report.html"), std::exception);
}

// --- results.h5 round trip ---

void ExpectSame(double a, double b, const std::string& what) {
  if (std::isnan(a) && std::isnan(b)) return;
  EXPECT_EQ(a, b) << what;
}
void ExpectSame(const std::optional<double>& a, const std::optional<double>& b, const std::string& what) {
  ASSERT_EQ(a.has_value(), b.has_value()) << what;
  if (a) ExpectSame(*a, *b, what);
}

// A table read back against the one written: the same length, then
// expect(read_row, written_row, "name i") for each row.
template <typename Row, typename Expect>
void ExpectRows(const std::vector<Row>& read, const std::vector<Row>& written, const std::string& name, Expect expect) {
  ASSERT_EQ(read.size(), written.size()) << name;
  for (std::size_t i = 0; i < written.size(); ++i) expect(read[i], written[i], name + " " + std::to_string(i));
}

// Every field of the rows that hold no NaN, compared at once (and printed
// side by side on a failure); for a run, the fields that cannot be NaN.
auto Fields(const results::RunRow& r) {
  return std::tie(r.run_id, r.experiment_id, r.slurm_job_id, r.node, r.node_type, r.is_gpu, r.status, r.samples,
                  r.filter_1, r.filter_3, r.filter, r.dataset, r.shape, r.depth, r.size, r.batch_size, r.usable);
}
auto Fields(const results::FeatureRow& f) {
  return std::tie(f.run, f.n_params, f.depth, f.n_observations, f.train_observations, f.fwd_ops, f.bwd_ops,
                  f.total_flops, f.h_t, f.h_s, f.epochs, f.t_max_bytes, f.t_max_level, f.f_bytes, f.f_level,
                  f.f_test_level, f.b_bytes, f.b_level, f.d_bytes, f.d_level);
}
auto Fields(const results::TypeDistribution& t) { return std::tie(t.node_type, t.values); }
auto Fields(const idle::NodeDistribution& n) {
  return std::tie(n.node, n.node_type, n.count, n.min, n.max, n.quantiles, n.idle_quantile);
}
auto Fields(const results::QualityRow& q) { return std::tie(q.stage, q.reason, q.count); }
auto Fields(const standardize::Overhead& o) {
  return std::tie(o.is_gpu, o.runs, o.energy_overhead_j, o.runtime_overhead_s);
}
auto Fields(const results::PredictionRow& p) {
  return std::tie(p.run_id, p.is_gpu, p.measured, p.predicted, p.baseline);
}
auto Fields(const MemoryLevel& l) { return std::tie(l.level, l.bytes_per_unit, l.units); }
auto Fields(const results::JobRow& j) {
  return std::tie(j.job_id, j.user, j.account, j.partition, j.state, j.status, j.node_list, j.start, j.end, j.nodes,
                  j.alloc_cpus, j.run_time_s, j.node_hours, j.samples, j.missing_s, j.energy_j, j.idle_energy_j,
                  j.dynamic_energy_j, j.carbon_g, j.slurm_energy_j);
}
auto Fields(const results::JobNodeRow& n) {
  return std::tie(n.job, n.node, n.node_type, n.weight_cpus, n.node_cpus, n.samples, n.missing_s, n.energy_j,
                  n.idle_energy_j);
}
auto Fields(const results::UsageRow& u) {
  return std::tie(u.month, u.partition, u.account, u.user, u.jobs, u.node_hours, u.energy_j, u.idle_energy_j,
                  u.dynamic_energy_j, u.carbon_g);
}
auto Fields(const results::LedgerRow& l) {
  return std::tie(l.month, l.node_type, l.nodes, l.readings, l.metered_energy_j, l.job_energy_j, l.unallocated_energy_j,
                  l.missing_s);
}

template <typename Row>
void ExpectSameRows(const std::vector<Row>& read, const std::vector<Row>& written, const std::string& name) {
  ExpectRows(read, written, name,
             [](const Row& y, const Row& x, const std::string& w) { EXPECT_EQ(Fields(y), Fields(x)) << w; });
}

TEST(ResultsH5, RoundTripsEveryField) {
  SyntheticOptions o;
  o.memory_levels = true;
  auto r = MakeSyntheticResults(o);
  r.carbon_source = "energy mix: wind 100 %";
  r.store_path = "/scratch/eagle/store.h5";
  r.idle_quantile = 0.03;
  r.filter_max_run_time_s = 70000;
  r.filter_max_stdevs = 3.5;
  // Missing values of every kind.
  r.runs[0].samples.reset();
  r.runs[0].filter_1.reset();
  r.runs[0].filter_3 = false;
  r.runs[1].filter = true;
  r.runs[1].std_energy_j.reset();
  r.models[0].parameters[2].std_error.reset();
  r.models[0].cv_median_abs_log_error = std::nan("");
  r.idle[2].idle_w = std::nan("");
  r.memory_levels.push_back({"tpu", true, {}});
  r.runs[2].idle_energy_j = 1234.5;
  r.runs[2].dynamic_energy_j = -0.25;
  r.jobs[0].alloc_cpus.reset();
  r.jobs[0].slurm_energy_j = 0.0;
  const ScratchDir scratch("wattrun_report_roundtrip");
  const fs::path& dir = scratch.path();
  results::WriteResults(r, dir.string());
  const auto b = results::ReadResultsH5((dir / "results.h5").string());

  EXPECT_EQ(b.facility, r.facility);
  EXPECT_EQ(b.store_path, r.store_path);
  EXPECT_EQ(results::ReadRecordedStorePath((dir / "results.h5").string()), r.store_path);
  EXPECT_EQ(b.integration, r.integration);
  EXPECT_EQ(b.idle_method, r.idle_method);
  EXPECT_EQ(b.carbon_g_per_kwh, r.carbon_g_per_kwh);
  EXPECT_EQ(b.pue, r.pue);
  EXPECT_EQ(b.carbon_source, r.carbon_source);
  EXPECT_EQ(b.idle_quantile, r.idle_quantile);
  EXPECT_EQ(b.filter_max_run_time_s, r.filter_max_run_time_s);
  EXPECT_EQ(b.filter_max_stdevs, r.filter_max_stdevs);
  EXPECT_EQ(b.telemetry_seconds, r.telemetry_seconds);
  EXPECT_EQ(b.telemetry_readings, r.telemetry_readings);
  EXPECT_EQ(b.telemetry_bytes, r.telemetry_bytes);

  ExpectRows(b.runs, r.runs, "run", [](const results::RunRow& y, const results::RunRow& x, const std::string& w) {
    EXPECT_EQ(Fields(y), Fields(x)) << w;
    ExpectSame(y.run_time_s, x.run_time_s, w + " run_time_s");
    ExpectSame(y.energy_j, x.energy_j, w + " energy_j");
    ExpectSame(y.filter_3_stdevs, x.filter_3_stdevs, w + " filter_3_stdevs");
    ExpectSame(y.std_energy_j, x.std_energy_j, w + " std_energy_j");
    ExpectSame(y.non_overhead_energy_j, x.non_overhead_energy_j, w + " non_overhead_energy_j");
    ExpectSame(y.non_overhead_run_time_s, x.non_overhead_run_time_s, w + " non_overhead_run_time_s");
    ExpectSame(y.idle_energy_j, x.idle_energy_j, w + " idle_energy_j");
    ExpectSame(y.dynamic_energy_j, x.dynamic_energy_j, w + " dynamic_energy_j");
  });
  ASSERT_FALSE(b.runs.empty());
  EXPECT_FALSE(b.runs[0].samples.has_value());
  EXPECT_FALSE(b.runs[0].filter_1.has_value());
  ASSERT_TRUE(b.runs[0].filter_3.has_value());
  EXPECT_FALSE(*b.runs[0].filter_3);

  ExpectSameRows(b.features, r.features, "feature");
  ExpectRows(b.idle, r.idle, "idle", [](const idle::IdlePower& y, const idle::IdlePower& x, const std::string& w) {
    EXPECT_EQ(std::tie(y.node_type, y.nodes, y.readings), std::tie(x.node_type, x.nodes, x.readings)) << w;
    ExpectSame(y.idle_w, x.idle_w, w + " idle_w");
  });
  ExpectSameRows(b.type_low_end, r.type_low_end, "type_low_end");
  EXPECT_EQ(b.node_quantile_names, r.node_quantile_names);
  EXPECT_EQ(b.node_quantile_levels, r.node_quantile_levels);
  ExpectSameRows(b.nodes, r.nodes, "node");
  ExpectSameRows(b.quality, r.quality, "quality");
  ExpectSameRows(b.overheads, r.overheads, "overhead");
  ExpectRows(b.models, r.models, "model",
             [](const results::ModelResult& y, const results::ModelResult& x, const std::string& w) {
               EXPECT_EQ(y.hardware_class, x.hardware_class) << w;
               EXPECT_EQ(y.fitted, x.fitted) << w;
               EXPECT_EQ(y.message, x.message) << w;
               EXPECT_EQ(y.runs, x.runs) << w;
               ExpectRows(y.parameters, x.parameters, w + " parameter",
                          [](const results::ModelParameterRow& yp, const results::ModelParameterRow& xp,
                             const std::string& wp) {
                            EXPECT_EQ(yp.parameter, xp.parameter) << wp;
                            ExpectSame(yp.value, xp.value, wp + " " + xp.parameter);
                            ExpectSame(yp.std_error, xp.std_error, wp + " " + xp.parameter);
                            EXPECT_EQ(yp.unit, xp.unit) << wp;
                            EXPECT_EQ(yp.determined, xp.determined) << wp;
                            EXPECT_EQ(yp.reason, xp.reason) << wp;
                          });
               ExpectSame(y.median_ratio, x.median_ratio, w + " median_ratio");
               ExpectSame(y.sigma_log_ratio, x.sigma_log_ratio, w + " sigma_log_ratio");
               ExpectSame(y.median_abs_log_error, x.median_abs_log_error, w + " median_abs_log_error");
               ExpectSame(y.cv_median_abs_log_error, x.cv_median_abs_log_error, w + " cv_median_abs_log_error");
               EXPECT_EQ(y.ratio_quantiles, x.ratio_quantiles) << w;
               ExpectSame(y.baseline_c0, x.baseline_c0, w + " baseline_c0");
               ExpectSame(y.baseline_c1, x.baseline_c1, w + " baseline_c1");
               ExpectSame(y.baseline_median_abs_log_error, x.baseline_median_abs_log_error, w + " baseline mae");
               ExpectSame(y.baseline_sigma_log_ratio, x.baseline_sigma_log_ratio, w + " baseline sigma");
               ExpectSame(y.baseline_cv_median_abs_log_error, x.baseline_cv_median_abs_log_error, w + " baseline cv");
               EXPECT_EQ(y.fit_seconds, x.fit_seconds) << w;
             });
  ExpectSameRows(b.predictions, r.predictions, "prediction");
  EXPECT_EQ(b.loss_experiment, r.loss_experiment);
  EXPECT_EQ(b.loss_epoch, r.loss_epoch);
  EXPECT_EQ(b.loss_value, r.loss_value);
  ExpectRows(b.memory_levels, r.memory_levels, "memory_levels",
             [](const results::ClassMemory& y, const results::ClassMemory& x, const std::string& w) {
               EXPECT_EQ(std::tie(y.hardware_class, y.is_gpu), std::tie(x.hardware_class, x.is_gpu)) << w;
               ExpectSameRows(y.levels, x.levels, w + " level");
             });

  ASSERT_FALSE(r.jobs.empty());
  ExpectSameRows(b.jobs, r.jobs, "job");
  ExpectSameRows(b.job_nodes, r.job_nodes, "job_node");
  ExpectSameRows(b.usage, r.usage, "usage");
  ExpectSameRows(b.ledger, r.ledger, "ledger");
  EXPECT_EQ(b.carbon_intensity, r.carbon_intensity);
  ASSERT_FALSE(r.coverage.empty());
  ExpectRows(b.coverage, r.coverage, "coverage",
             [](const results::CoverageRow& y, const results::CoverageRow& x, const std::string& w) {
               EXPECT_EQ(std::tie(y.day, y.node_type, y.readings), std::tie(x.day, x.node_type, x.readings)) << w;
             });
  EXPECT_EQ(b.created_utc, r.created_utc);
  EXPECT_EQ(b.command_line, r.command_line);
  EXPECT_EQ(b.config_yaml, r.config_yaml);
  EXPECT_EQ(b.slurm_job_id, r.slurm_job_id);
  EXPECT_EQ(b.wattrun_version, kWattrunVersion);
  EXPECT_EQ(b.runs[2].idle_energy_j, 1234.5);
  EXPECT_EQ(b.runs[2].dynamic_energy_j, -0.25);

  // The page rebuilt from results.h5 alone is the page built from memory.
  WriteReport(r, (dir / "a.html").string());
  WriteReport(b, (dir / "b.html").string());
  EXPECT_EQ(Slurp(dir / "a.html"), Slurp(dir / "b.html"));
}

TEST(ResultsH5, EmptyResultsRoundTrip) {
  results::PipelineResults r;
  const ScratchDir scratch("wattrun_report_empty_h5");
  const fs::path& dir = scratch.path();
  results::WriteResults(r, dir.string());
  const auto b = results::ReadResultsH5((dir / "results.h5").string());
  EXPECT_TRUE(b.runs.empty());
  EXPECT_TRUE(b.models.empty());
  EXPECT_TRUE(b.memory_levels.empty());
  EXPECT_EQ(b.carbon_g_per_kwh, 475.0);
}

// A results.h5 written before facility accounting: the same file without
// the new groups and run columns still reads, with empty tables.
TEST(ResultsH5, FileFromBeforeFacilityAccountingReadsWithEmptyTables) {
  auto r = MakeSyntheticResults();
  r.runs[0].idle_energy_j = 5.0;
  const ScratchDir scratch("wattrun_report_old_h5");
  const fs::path& dir = scratch.path();
  results::WriteResults(r, dir.string());
  const std::string path = (dir / "results.h5").string();
  {
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    for (const char* g : {"jobs_energy", "job_nodes", "usage", "ledger", "carbon_intensity", "runs_energy/idle_energy",
                          "runs_energy/dynamic_energy"}) {
      EXPECT_GE(H5Ldelete(f, g, H5P_DEFAULT), 0) << g;
    }
    H5Fclose(f);
  }
  const auto b = results::ReadResultsH5(path);
  EXPECT_EQ(b.runs.size(), r.runs.size());
  EXPECT_FALSE(b.runs[0].idle_energy_j.has_value());
  EXPECT_TRUE(b.jobs.empty());
  EXPECT_TRUE(b.job_nodes.empty());
  EXPECT_TRUE(b.usage.empty());
  EXPECT_TRUE(b.ledger.empty());
  EXPECT_TRUE(b.carbon_intensity.empty());
}

TEST(ResultsCsv, FacilityTablesHaveTheSpecsColumnsAndCells) {
  results::PipelineResults r;
  results::JobRow ran;
  ran.job_id = "123_4";
  ran.user = "alice";
  ran.account = "ml-lab";
  ran.partition = "standard";
  ran.state = "CANCELLED by 123";
  ran.status = "missing_some";
  ran.node_list = "r1i0n[1-3,5]";
  ran.start = DaysFromCivil(2021, 11, 7) * kMicrosPerDay + 90 * kMicrosPerMinute;  // 01:30 UTC
  ran.end = *ran.start + kMicrosPerHour;
  ran.nodes = 4;
  ran.alloc_cpus = 144;
  ran.run_time_s = 3600;
  ran.node_hours = 4;
  ran.samples = 230;
  ran.missing_s = 600;
  ran.energy_j = 3.6e6;
  ran.idle_energy_j = 2.5e6;
  ran.dynamic_energy_j = 1.1e6;
  ran.carbon_g = 475;
  results::JobRow pending;
  pending.job_id = "124+0";
  pending.state = "PENDING";
  pending.status = "not_started";
  pending.node_list = "None assigned";
  r.jobs = {ran, pending};
  r.usage = {{"2021-11", "standard", "ml-lab", "alice", 1, 4, 3.6e6, 2.5e6, 1.1e6, 475}};
  r.ledger = {{"2021-11", "cpu1", 7, 10080, 5e6, 3.6e6, 1.4e6, 60}};
  results::RunRow run;
  run.run_id = "r1";
  run.status = "ok";
  run.idle_energy_j = 100;
  run.dynamic_energy_j = 23.5;
  run.start_time = 1646748131000000;  // 2022-03-08T14:02:11Z: whole seconds, no fraction
  run.end_time = 1646748191250000;    // a fraction only when there is one
  run.carbon_g = 0.125;
  results::RunRow unknown = run;  // a row whose window did not parse
  unknown.run_id = "r2";
  unknown.start_time.reset();
  unknown.end_time.reset();
  unknown.carbon_g.reset();
  r.runs = {run, unknown};
  const ScratchDir scratch("wattrun_report_facility_csv");
  const fs::path& dir = scratch.path();
  results::WriteResults(r, dir.string());

  const auto jobs = Lines(Slurp(dir / "jobs_energy.csv"));
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs[0],
            "job_id,user,account,partition,state,status,start,end,nodes,alloc_cpus,run_time,node_hours,"
            "samples,missing_s,energy,idle_energy,dynamic_energy,carbon_g,slurm_energy,node_list");
  EXPECT_EQ(jobs[1],
            "123_4,alice,ml-lab,standard,CANCELLED by 123,missing_some,2021-11-07T01:30:00Z,"
            "2021-11-07T02:30:00Z,4,144,3600,4,230,600,3600000,2500000,1100000,475,,\"r1i0n[1-3,5]\"");
  EXPECT_EQ(jobs[2], "124+0,,,,PENDING,not_started,,,0,,,,,,,,,,,None assigned");
  const auto usage = Lines(Slurp(dir / "usage.csv"));
  ASSERT_EQ(usage.size(), 2u);
  EXPECT_EQ(usage[0], "month,partition,account,user,jobs,node_hours,energy,idle_energy,dynamic_energy,carbon_g");
  EXPECT_EQ(usage[1], "2021-11,standard,ml-lab,alice,1,4,3600000,2500000,1100000,475");
  const auto ledger = Lines(Slurp(dir / "ledger.csv"));
  ASSERT_EQ(ledger.size(), 2u);
  EXPECT_EQ(ledger[0], "month,node_type,nodes,readings,metered_energy,job_energy,unallocated_energy,missing_s");
  EXPECT_EQ(ledger[1], "2021-11,cpu1,7,10080,5e+06,3600000,1400000,60");
  // runs_energy.csv: the new columns come after every earlier one.
  const auto runs = Lines(Slurp(dir / "runs_energy.csv"));
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0],
            "run_id,slurm_job_id,node,node_type,is_gpu,status,run_time,samples,energy,filter_1,filter_3,"
            "filter_3_stdevs,filter,std_energy,non_overhead_energy,non_overhead_run_time,dataset,shape,"
            "depth,size,idle_energy,dynamic_energy,start_time,end_time,carbon_g");
  EXPECT_EQ(runs[1], "r1,,,,False,ok,,,,,,,,,,,,,0,0,100,23.5,2022-03-08T14:02:11Z,2022-03-08T14:03:11.250Z,0.125");
  EXPECT_EQ(runs[2], "r2,,,,False,ok,,,,,,,,,,,,,0,0,100,23.5,,,");
}

TEST(ResultsH5, MissingFileIsAClearError) {
  try {
    results::ReadResultsH5("/nonexistent/results.h5");
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/results.h5"), std::string::npos);
  }
}

}  // namespace
}  // namespace wattrun::report
