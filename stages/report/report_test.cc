#include "stages/report/report.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "stages/report/format.h"
#include "stages/report/stats.h"
#include "stages/report/synthetic_results.h"

namespace wattrun::report {
namespace {

namespace fs = std::filesystem;
using testing::MakeSyntheticResults;
using testing::SyntheticOptions;

fs::path TempDir(const std::string& name) {
  const fs::path d = fs::path(::testing::TempDir()) / ("wattrun_report_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
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
  const fs::path dir = TempDir("sections");
  const fs::path page = dir / "report.html";
  WriteReport(r, page.string());
  ASSERT_TRUE(fs::exists(page));
  EXPECT_FALSE(fs::exists(page.string() + ".tmp"));
  const std::string html = Slurp(page);

  for (const char* id : {"account", "idle", "trends", "cache", "model", "loss", "carbon"}) {
    EXPECT_NE(html.find("<section id=\"" + std::string(id) + "\">"), std::string::npos) << id;
  }
  for (const char* title : {"Run times of the ok runs (paper Figure 2a)", "Run-time z-scores", "cpu1: lowest readings",
                            "Per-node p2 against the type's idle power", "(a) Energy per epoch against training-set size",
                            "(b) Energy per datum against parameter count", "(c) Energy per datum against FLOPs",
                            "(d) Energy per datum against depth",
                            "cpu: energy per datum against working-set size (paper Figure 4)",
                            "gpu: predicted / measured energy (paper Figure 5)", "FLOPs to reach a test loss",
                            "gpu energy to reach a test loss",
                            "Emissions per run", "The same energy on other grids"}) {
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
  EXPECT_NE(html.find(FormatSig(kg, 4) + " kg"), std::string::npos) << kg;
  EXPECT_NE(html.find("475 g CO\u2082e/kWh</b>, world average"), std::string::npos);
  // Eagle's cache sizes are the default.
  EXPECT_NE(html.find("L3 24.75 MiB \u00d7 2"), std::string::npos);
  EXPECT_NE(html.find("Eagle's"), std::string::npos);

  EXPECT_LT(fs::file_size(page), 1u << 20);
}

TEST(Report, SaysSoWithoutLossesAndUsesGivenLevels) {
  SyntheticOptions o;
  o.losses = false;
  o.memory_levels = true;
  auto r = MakeSyntheticResults(o);
  r.memory_levels[1].levels[1].bytes_per_unit = 8 * 1048576.0;  // an L2 of 8 MiB
  r.carbon_g_per_kwh = 731.59;
  r.carbon_source = "energy mix: coal 25 %, petroleum 35 %, natural gas 26 %, nuclear 14 %";
  const fs::path page = TempDir("nolosses") / "report.html";
  WriteReport(r, page.string());
  const std::string html = Slurp(page);
  EXPECT_NE(html.find("No loss curves were given"), std::string::npos);
  EXPECT_NE(html.find("L2 8 MiB \u00d7 2"), std::string::npos);
  EXPECT_NE(html.find("731.6 g CO\u2082e/kWh</b>, energy mix: coal 25 %"), std::string::npos);
  EXPECT_EQ(html.find("Eagle's (paper Table 2"), std::string::npos);
}

TEST(Report, EmptyResultsStillMakeAPage) {
  results::PipelineResults r;
  r.facility = "empty";
  const fs::path page = TempDir("empty") / "report.html";
  WriteReport(r, page.string());
  const std::string html = Slurp(page);
  EXPECT_NE(html.find("<section id=\"carbon\">"), std::string::npos);
  EXPECT_NE(html.find("not fitted in this run"), std::string::npos);
}

TEST(Report, FortyThousandRunsStayUnderAFewMegabytes) {
  SyntheticOptions o;
  o.repeats = 84;  // 240 experiments × 2 classes × 84 = 40,320 runs
  const auto r = MakeSyntheticResults(o);
  ASSERT_GE(r.runs.size(), 40000u);
  const fs::path page = TempDir("large") / "report.html";
  const auto t0 = std::chrono::steady_clock::now();
  WriteReport(r, page.string());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto bytes = fs::file_size(page);
  std::printf("report for %zu runs: %.0f kB in %.2f s\n", r.runs.size(), static_cast<double>(bytes) / 1024, seconds);
  EXPECT_LT(bytes, 3u << 20);
  EXPECT_LT(seconds, 30);
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
  const fs::path dir = TempDir("roundtrip");
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

  ASSERT_EQ(b.runs.size(), r.runs.size());
  for (std::size_t i = 0; i < r.runs.size(); ++i) {
    const auto &x = r.runs[i], &y = b.runs[i];
    const std::string w = "run " + std::to_string(i);
    EXPECT_EQ(y.run_id, x.run_id) << w;
    EXPECT_EQ(y.experiment_id, x.experiment_id) << w;
    EXPECT_EQ(y.slurm_job_id, x.slurm_job_id) << w;
    EXPECT_EQ(y.node, x.node) << w;
    EXPECT_EQ(y.node_type, x.node_type) << w;
    EXPECT_EQ(y.is_gpu, x.is_gpu) << w;
    EXPECT_EQ(y.status, x.status) << w;
    ExpectSame(y.run_time_s, x.run_time_s, w);
    EXPECT_EQ(y.samples, x.samples) << w;
    ExpectSame(y.energy_j, x.energy_j, w);
    EXPECT_EQ(y.filter_1, x.filter_1) << w;
    EXPECT_EQ(y.filter_3, x.filter_3) << w;
    ExpectSame(y.filter_3_stdevs, x.filter_3_stdevs, w);
    EXPECT_EQ(y.filter, x.filter) << w;
    ExpectSame(y.std_energy_j, x.std_energy_j, w);
    ExpectSame(y.non_overhead_energy_j, x.non_overhead_energy_j, w);
    ExpectSame(y.non_overhead_run_time_s, x.non_overhead_run_time_s, w);
    EXPECT_EQ(y.dataset, x.dataset) << w;
    EXPECT_EQ(y.shape, x.shape) << w;
    EXPECT_EQ(y.depth, x.depth) << w;
    EXPECT_EQ(y.size, x.size) << w;
    EXPECT_EQ(y.batch_size, x.batch_size) << w;
    EXPECT_EQ(y.usable, x.usable) << w;
  }
  EXPECT_FALSE(b.runs[0].samples.has_value());
  EXPECT_FALSE(b.runs[0].filter_1.has_value());
  ASSERT_TRUE(b.runs[0].filter_3.has_value());
  EXPECT_FALSE(*b.runs[0].filter_3);

  ASSERT_EQ(b.features.size(), r.features.size());
  for (std::size_t i = 0; i < r.features.size(); ++i) {
    const auto &x = r.features[i], &y = b.features[i];
    const std::string w = "feature " + std::to_string(i);
    EXPECT_EQ(y.run, x.run) << w;
    EXPECT_EQ(y.n_params, x.n_params) << w;
    EXPECT_EQ(y.depth, x.depth) << w;
    EXPECT_EQ(y.n_observations, x.n_observations) << w;
    EXPECT_EQ(y.train_observations, x.train_observations) << w;
    EXPECT_EQ(y.fwd_ops, x.fwd_ops) << w;
    EXPECT_EQ(y.bwd_ops, x.bwd_ops) << w;
    EXPECT_EQ(y.total_flops, x.total_flops) << w;
    EXPECT_EQ(y.h_t, x.h_t) << w;
    EXPECT_EQ(y.h_s, x.h_s) << w;
    EXPECT_EQ(y.epochs, x.epochs) << w;
    EXPECT_EQ(y.t_max_bytes, x.t_max_bytes) << w;
    EXPECT_EQ(y.t_max_level, x.t_max_level) << w;
    EXPECT_EQ(y.f_bytes, x.f_bytes) << w;
    EXPECT_EQ(y.f_level, x.f_level) << w;
    EXPECT_EQ(y.f_test_level, x.f_test_level) << w;
    EXPECT_EQ(y.b_bytes, x.b_bytes) << w;
    EXPECT_EQ(y.b_level, x.b_level) << w;
    EXPECT_EQ(y.d_bytes, x.d_bytes) << w;
    EXPECT_EQ(y.d_level, x.d_level) << w;
  }

  ASSERT_EQ(b.idle.size(), r.idle.size());
  for (std::size_t i = 0; i < r.idle.size(); ++i) {
    EXPECT_EQ(b.idle[i].node_type, r.idle[i].node_type);
    EXPECT_EQ(b.idle[i].nodes, r.idle[i].nodes);
    EXPECT_EQ(b.idle[i].readings, r.idle[i].readings);
    ExpectSame(b.idle[i].idle_w, r.idle[i].idle_w, "idle_w");
  }
  ASSERT_EQ(b.type_low_end.size(), r.type_low_end.size());
  for (std::size_t i = 0; i < r.type_low_end.size(); ++i) {
    EXPECT_EQ(b.type_low_end[i].node_type, r.type_low_end[i].node_type);
    EXPECT_EQ(b.type_low_end[i].values, r.type_low_end[i].values);
  }
  EXPECT_EQ(b.node_quantile_names, r.node_quantile_names);
  EXPECT_EQ(b.node_quantile_levels, r.node_quantile_levels);
  ASSERT_EQ(b.nodes.size(), r.nodes.size());
  for (std::size_t i = 0; i < r.nodes.size(); ++i) {
    EXPECT_EQ(b.nodes[i].node, r.nodes[i].node);
    EXPECT_EQ(b.nodes[i].node_type, r.nodes[i].node_type);
    EXPECT_EQ(b.nodes[i].count, r.nodes[i].count);
    EXPECT_EQ(b.nodes[i].min, r.nodes[i].min);
    EXPECT_EQ(b.nodes[i].max, r.nodes[i].max);
    EXPECT_EQ(b.nodes[i].quantiles, r.nodes[i].quantiles);
    EXPECT_EQ(b.nodes[i].idle_quantile, r.nodes[i].idle_quantile);
  }
  ASSERT_EQ(b.quality.size(), r.quality.size());
  for (std::size_t i = 0; i < r.quality.size(); ++i) {
    EXPECT_EQ(b.quality[i].stage, r.quality[i].stage);
    EXPECT_EQ(b.quality[i].reason, r.quality[i].reason);
    EXPECT_EQ(b.quality[i].count, r.quality[i].count);
  }
  ASSERT_EQ(b.overheads.size(), r.overheads.size());
  for (std::size_t i = 0; i < r.overheads.size(); ++i) {
    EXPECT_EQ(b.overheads[i].is_gpu, r.overheads[i].is_gpu);
    EXPECT_EQ(b.overheads[i].runs, r.overheads[i].runs);
    EXPECT_EQ(b.overheads[i].energy_overhead_j, r.overheads[i].energy_overhead_j);
    EXPECT_EQ(b.overheads[i].runtime_overhead_s, r.overheads[i].runtime_overhead_s);
  }
  ASSERT_EQ(b.models.size(), r.models.size());
  for (std::size_t i = 0; i < r.models.size(); ++i) {
    const auto &x = r.models[i], &y = b.models[i];
    EXPECT_EQ(y.hardware_class, x.hardware_class);
    EXPECT_EQ(y.fitted, x.fitted);
    EXPECT_EQ(y.message, x.message);
    EXPECT_EQ(y.runs, x.runs);
    ASSERT_EQ(y.parameters.size(), x.parameters.size());
    for (std::size_t p = 0; p < x.parameters.size(); ++p) {
      EXPECT_EQ(y.parameters[p].parameter, x.parameters[p].parameter);
      ExpectSame(y.parameters[p].value, x.parameters[p].value, x.parameters[p].parameter);
      ExpectSame(y.parameters[p].std_error, x.parameters[p].std_error, x.parameters[p].parameter);
      EXPECT_EQ(y.parameters[p].unit, x.parameters[p].unit);
      EXPECT_EQ(y.parameters[p].determined, x.parameters[p].determined);
      EXPECT_EQ(y.parameters[p].reason, x.parameters[p].reason);
    }
    ExpectSame(y.median_ratio, x.median_ratio, "median_ratio");
    ExpectSame(y.sigma_log_ratio, x.sigma_log_ratio, "sigma_log_ratio");
    ExpectSame(y.median_abs_log_error, x.median_abs_log_error, "median_abs_log_error");
    ExpectSame(y.cv_median_abs_log_error, x.cv_median_abs_log_error, "cv_median_abs_log_error");
    EXPECT_EQ(y.ratio_quantiles, x.ratio_quantiles);
    ExpectSame(y.baseline_c0, x.baseline_c0, "baseline_c0");
    ExpectSame(y.baseline_c1, x.baseline_c1, "baseline_c1");
    ExpectSame(y.baseline_median_abs_log_error, x.baseline_median_abs_log_error, "baseline mae");
    ExpectSame(y.baseline_sigma_log_ratio, x.baseline_sigma_log_ratio, "baseline sigma");
    ExpectSame(y.baseline_cv_median_abs_log_error, x.baseline_cv_median_abs_log_error, "baseline cv");
    EXPECT_EQ(y.fit_seconds, x.fit_seconds);
  }
  ASSERT_EQ(b.predictions.size(), r.predictions.size());
  for (std::size_t i = 0; i < r.predictions.size(); ++i) {
    EXPECT_EQ(b.predictions[i].run_id, r.predictions[i].run_id);
    EXPECT_EQ(b.predictions[i].is_gpu, r.predictions[i].is_gpu);
    EXPECT_EQ(b.predictions[i].measured, r.predictions[i].measured);
    EXPECT_EQ(b.predictions[i].predicted, r.predictions[i].predicted);
    EXPECT_EQ(b.predictions[i].baseline, r.predictions[i].baseline);
  }
  EXPECT_EQ(b.loss_experiment, r.loss_experiment);
  EXPECT_EQ(b.loss_epoch, r.loss_epoch);
  EXPECT_EQ(b.loss_value, r.loss_value);
  ASSERT_EQ(b.memory_levels.size(), r.memory_levels.size());
  for (std::size_t i = 0; i < r.memory_levels.size(); ++i) {
    EXPECT_EQ(b.memory_levels[i].hardware_class, r.memory_levels[i].hardware_class);
    EXPECT_EQ(b.memory_levels[i].is_gpu, r.memory_levels[i].is_gpu);
    ASSERT_EQ(b.memory_levels[i].levels.size(), r.memory_levels[i].levels.size());
    for (std::size_t l = 0; l < r.memory_levels[i].levels.size(); ++l) {
      EXPECT_EQ(b.memory_levels[i].levels[l].level, r.memory_levels[i].levels[l].level);
      EXPECT_EQ(b.memory_levels[i].levels[l].bytes_per_unit, r.memory_levels[i].levels[l].bytes_per_unit);
      EXPECT_EQ(b.memory_levels[i].levels[l].units, r.memory_levels[i].levels[l].units);
    }
  }

  // The page rebuilt from results.h5 alone is the page built from memory.
  WriteReport(r, (dir / "a.html").string());
  WriteReport(b, (dir / "b.html").string());
  EXPECT_EQ(Slurp(dir / "a.html"), Slurp(dir / "b.html"));
}

TEST(ResultsH5, EmptyResultsRoundTrip) {
  results::PipelineResults r;
  const fs::path dir = TempDir("empty_h5");
  results::WriteResults(r, dir.string());
  const auto b = results::ReadResultsH5((dir / "results.h5").string());
  EXPECT_TRUE(b.runs.empty());
  EXPECT_TRUE(b.models.empty());
  EXPECT_TRUE(b.memory_levels.empty());
  EXPECT_EQ(b.carbon_g_per_kwh, 475.0);
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
