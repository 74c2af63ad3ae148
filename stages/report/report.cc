#include "stages/report/report.h"

#include "core/file_io.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/version.h"
#include "stages/report/context.h"
#include "stages/report/format.h"

namespace wattrun::report {
namespace {

constexpr double kKiB = 1024.0, kMiB = kKiB * 1024, kGiB = kMiB * 1024;

const char* kStyle = R"(
body{font-family:Helvetica,Arial,sans-serif;color:#222;background:#f4f5f7;margin:0}
main{max-width:1340px;margin:0 auto;padding:10px 24px 40px;background:#fff}
h1{font-size:26px;margin:14px 0 4px} h2{font-size:20px;border-bottom:2px solid #dde;padding-bottom:4px;margin-top:38px}
h3{font-size:15px;margin:18px 0 6px}
p{max-width:980px;line-height:1.45;font-size:14px}
.lead{color:#555;font-size:14px;margin-top:0}
nav{position:sticky;top:0;background:#fff;border-bottom:1px solid #e3e3e3;padding:6px 0;font-size:13px;z-index:2}
nav a{margin-right:14px;color:#1f5f99;text-decoration:none}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:14px 0}
.card{border:1px solid #dde;border-radius:8px;padding:10px 14px;min-width:150px;background:#fafbfd}
.card .v{font-size:22px;font-weight:bold}.card .l{color:#666;font-size:12px;margin-top:2px}
.figs{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start;margin:10px 0}
figure{margin:0;border:1px solid #e3e3e3;border-radius:6px;padding:6px;background:#fff}
figcaption{font-size:12px;color:#555;padding:4px 6px;line-height:1.4}
table{border-collapse:collapse;font-size:13px;margin:8px 0 14px}
th,td{padding:3px 10px;border-bottom:1px solid #eee;text-align:right;vertical-align:top}
th{background:#f3f4f7;font-weight:600}
td.l,th.l{text-align:left}
tr.sum td{font-weight:bold;border-top:1px solid #bbb}
tr.sub td{color:#555}
.bar{height:10px;border-radius:2px;background:#1f77b4}
.bar.lost{background:#c0392b}
.note{color:#666;font-size:12.5px}
.undet{color:#999}
.ok{color:#1a7f37}.no{color:#c0392b}
svg.plot{max-width:100%;height:auto}
table.prov{font-size:12.5px;margin:4px 0}table.prov th{background:none;font-weight:600;color:#555}
details{font-size:12.5px;margin:2px 0 6px}pre.yaml{background:#f6f8fa;border:1px solid #e3e3e3;padding:8px;max-height:420px;overflow:auto;font-size:12px}
.dl{font-size:11.5px;color:#777;padding:0 6px 3px}.dl a{color:#1f5f99}
)";

}  // namespace

MemoryHierarchy EagleLevels(bool is_gpu) {
  if (is_gpu) return {{1, 112 * kKiB, 168}, {2, 6 * kMiB, 2}, {3, 16 * kGiB, 2}};
  return {{1, 32 * kKiB, 36}, {2, 1 * kMiB, 36}, {3, 24.75 * kMiB, 2}, {4, 96 * kGiB, 1}};
}

std::string LevelName(const HardwareClass& cls, std::size_t index) {
  if (index + 1 == cls.levels.size() && cls.levels.size() > 1) return cls.is_gpu ? "VRAM" : "RAM";
  return "L" + std::to_string(cls.levels[index].level);
}

Context::Context(const results::PipelineResults& results) : r(results) {
  // Classes: those with runs, models or memory levels; cpu first.
  bool seen[2] = {false, false};
  for (const auto& run : r.runs) seen[run.is_gpu] = true;
  for (const auto& m : r.models) seen[m.hardware_class == "gpu"] = true;
  for (const auto& m : r.memory_levels) seen[m.is_gpu] = true;
  for (int g = 0; g < 2; ++g) {
    if (!seen[g]) continue;
    HardwareClass cls;
    cls.is_gpu = g == 1;
    cls.name = cls.is_gpu ? "gpu" : "cpu";
    cls.color = cls.is_gpu ? svg::kGpuColor : svg::kCpuColor;
    for (const auto& m : r.memory_levels) {
      if (m.is_gpu == cls.is_gpu && !m.levels.empty()) {
        cls.name = m.hardware_class.empty() ? cls.name : m.hardware_class;
        cls.levels = m.levels;
      }
    }
    if (cls.levels.empty()) {
      cls.levels = EagleLevels(cls.is_gpu);
      cls.default_levels = true;
    }
    classes.push_back(std::move(cls));
  }

  features_of_run.assign(r.runs.size(), nullptr);
  for (const auto& f : r.features) {
    if (f.run < r.runs.size()) features_of_run[f.run] = &f;
  }
  for (std::size_t i = 0; i < r.runs.size(); ++i) {
    const auto& run = r.runs[i];
    const auto* f = features_of_run[i];
    if (!run.usable || f == nullptr) continue;
    const std::optional<double> e = run.non_overhead_energy_j ? run.non_overhead_energy_j : run.std_energy_j;
    if (!e || f->epochs <= 0 || f->train_observations <= 0) continue;
    TrendRun t;
    t.run = i;
    t.features = f;
    t.is_gpu = run.is_gpu;
    t.energy_j = *e;
    t.per_epoch_j = *e / static_cast<double>(f->epochs);
    t.per_datum_j = t.per_epoch_j / static_cast<double>(f->train_observations);
    t.flops_per_datum =
        run.batch_size > 0
            ? (f->fwd_ops + f->bwd_ops) / static_cast<double>(run.batch_size)
            : f->total_flops / (static_cast<double>(f->epochs) * static_cast<double>(f->train_observations));
    trend_runs.push_back(t);
  }
}

const HardwareClass* Context::Class(bool is_gpu) const {
  for (const auto& c : classes) {
    if (c.is_gpu == is_gpu) return &c;
  }
  return nullptr;
}

std::int64_t Context::QualityCount(const std::string& stage, const std::string& reason) const {
  for (const auto& q : r.quality) {
    if (q.stage == stage && q.reason == reason) return q.count;
  }
  return -1;
}

namespace {

// "figure-07-cpu-energy-to-reach-a-test-loss": the figure's number and its
// title in lower-case ASCII words, for the downloaded files' names.
std::string FigureFileName(int number, const std::string& title) {
  char prefix[32];
  std::snprintf(prefix, sizeof prefix, "figure-%02d", number);
  std::string name = prefix;
  bool dash = true;
  for (unsigned char ch : title) {
    if (std::isalnum(ch) && ch < 0x80) {
      if (dash) name += '-';
      name += static_cast<char>(std::tolower(ch));
      dash = false;
    } else {
      dash = true;
    }
    if (name.size() >= 64) break;
  }
  return name;
}

}  // namespace

std::string Context::Figure(const svg::Plot& plot, const std::string& caption_html) {
  const int number = ++next_id_;
  const std::string svg = plot.Render("p" + std::to_string(number));
  const std::string name = FigureFileName(number, plot.title());
  char style[96];
  std::snprintf(style, sizeof style, "width:%.0fpx;max-width:calc(100%% - 14px)", plot.width());
  // Data URIs keep the page one file with no network; `download` names the file.
  const std::string links =
      "<div class=\"dl\">Download <a download=\"" + name + ".svg\" href=\"data:image/svg+xml;base64," + Base64(svg) +
      "\">SVG</a> \u00b7 <a download=\"" + name + ".csv\" href=\"data:text/csv;charset=utf-8;base64," +
      Base64(plot.Csv()) + "\">data (CSV)</a></div>";
  return "<figure style=\"" + std::string(style) + "\">" + svg + "<figcaption>" + caption_html + "</figcaption>" +
         links + "</figure>";
}

namespace {

std::string Card(const std::string& value, const std::string& label) {
  return "<div class=\"card\"><div class=\"v\">" + value + "</div><div class=\"l\">" + label + "</div></div>";
}

std::string Header(const Context& c) {
  const auto& r = c.r;
  std::int64_t usable = 0, ok = 0;
  double energy = 0;
  for (const auto& run : r.runs) {
    usable += run.usable;
    if (run.status == "ok" && run.energy_j) {
      ++ok;
      energy += *run.energy_j;
    }
  }
  const double kwh = energy / 3.6e6;
  const double kg = kwh * r.pue * r.carbon_g_per_kwh / 1000;
  std::string h = "<h1>wattrun report: " + EscapeHtml(r.facility.empty() ? "facility" : r.facility) + "</h1>";
  h += "<p class=\"lead\">Per-run energy from node power telemetry and Slurm logs, and the BUTTER-E energy model "
       "(Tripp et al.) fitted to this facility. Integration: " +
       EscapeHtml(r.integration.empty() ? "linear" : r.integration) +
       "; idle power: " + EscapeHtml(r.idle_method.empty() ? "pooled" : r.idle_method) + " " +
       FormatSig(100 * r.idle_quantile, 3) + " % quantile";
  if (r.telemetry_readings > 0) {
    h += "; telemetry: " + Counted(r.telemetry_readings, "reading");
    if (r.telemetry_bytes > 0)
      h += " (" + FormatBytes(static_cast<double>(r.telemetry_bytes)) + " read from the store)";
    if (r.telemetry_seconds > 0) h += " in one pass of " + FormatSig(r.telemetry_seconds, 3) + " s";
  }
  h += ". Every number here is also in the CSV files and results.h5 beside this page.</p>";
  h += "<div class=\"cards\">";
  const auto runs_in = static_cast<std::int64_t>(r.runs.size());
  const auto node_types = static_cast<std::int64_t>(r.idle.size());
  h += Card(FormatCount(runs_in), Noun(runs_in, "run") + " in");
  h += Card(FormatCount(usable), "usable " + Noun(usable, "run") + " (ok, not filtered)");
  h += Card(FormatSig(kwh, 4) + " kWh", "energy of the " + Counted(ok, "ok run"));
  h += Card(FormatKgCo2e(kg),
            "emissions at " + FormatSig(r.carbon_g_per_kwh, 4) + " g CO\u2082e/kWh, PUE " + FormatSig(r.pue, 3));
  h += Card(FormatCount(node_types), Noun(node_types, "node type"));
  for (const auto& m : r.models) {
    if (m.fitted) {
      h += Card(FormatSig(m.sigma_log_ratio, 3), "\u03c3 of ln(\u00ca/E), " + EscapeHtml(m.hardware_class) + " model");
    }
  }
  h += "</div>";
  h += "<nav><a href=\"#account\">1 Data account</a><a href=\"#idle\">2 Idle power</a><a href=\"#trends\">3 Trends</a>"
       "<a href=\"#cache\">4 Cache effects</a><a href=\"#model\">5 Model</a><a href=\"#loss\">6 Energy\u2013loss</a>"
       "<a href=\"#carbon\">7 Carbon</a><a href=\"#facility\">8 Facility</a><a href=\"#coverage\">9 Coverage</a><a "
       "href=\"#provenance\">Provenance</a></nav>";
  return h;
}

// Where the results came from: version, time, command, store, Slurm job,
// and the configuration (collapsed), as results.h5's root attributes say.
std::string Provenance(const results::PipelineResults& r) {
  auto row = [](const std::string& label, const std::string& value_html) {
    return "<tr><th class=\"l\">" + label + "</th><td class=\"l\">" + value_html + "</td></tr>";
  };
  auto code_or = [](const std::string& text, const std::string& missing) {
    return text.empty() ? "<span class=\"undet\">" + missing + "</span>" : "<code>" + EscapeHtml(text) + "</code>";
  };
  const std::string version = r.wattrun_version.empty() ? std::string(kWattrunVersion) : r.wattrun_version;
  std::string h = "<section id=\"provenance\"><h2>Provenance</h2><table class=\"prov\">";
  h += row("wattrun version",
           "<code>" + EscapeHtml(version) + "</code>" +
               (version != kWattrunVersion ? " (this page written by <code>" + EscapeHtml(kWattrunVersion) + "</code>)"
                                           : ""));
  h += row("results made (UTC)", code_or(r.created_utc, "not recorded"));
  h += row("command line", code_or(r.command_line, "not recorded"));
  h += row("telemetry store read", code_or(r.store_path, "not recorded"));
  h += row("Slurm job", code_or(r.slurm_job_id, "not run under Slurm"));
  h += "</table>";
  if (r.config_yaml.empty()) {
    h += "<p class=\"note\">The configuration was not recorded with these results.</p>";
  } else {
    const auto lines = static_cast<std::int64_t>(std::count(r.config_yaml.begin(), r.config_yaml.end(), '\n'));
    h += "<details><summary>Configuration (YAML, " + Counted(lines, "line") + ")</summary><pre class=\"yaml\">" +
         EscapeHtml(r.config_yaml) + "</pre></details>";
  }
  h += "<p class=\"note\">The same record is in results.h5's root attributes (<code>wattrun_version</code>, "
       "<code>created_utc</code>, <code>command_line</code>, <code>store_path</code>, <code>slurm_job_id</code>, "
       "<code>config_yaml</code>).</p></section>";
  return h;
}

}  // namespace

void WriteReport(const results::PipelineResults& results, const std::string& path) {
  Context c(results);
  std::string page;
  page.reserve(1 << 20);
  page +=
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>wattrun report: " +
      EscapeHtml(results.facility) + "</title><style>" + kStyle + "</style></head><body><main>\n";
  page += Header(c) + "\n";
  page += Provenance(results) + "\n";
  page += DataAccountSection(c) + "\n";
  page += IdleSection(c) + "\n";
  page += TrendsSection(c) + "\n";
  page += CacheSection(c) + "\n";
  page += ModelSection(c) + "\n";
  page += LossSection(c) + "\n";
  page += CarbonSection(c) + "\n";
  page += FacilitySection(c) + "\n";
  page += CoverageSection(c) + "\n";
  page +=
      "<p class=\"note\">Written by wattrun. Figures after Tripp et al., BUTTER-E (Figures 2\u20138, Tables 1 and "
      "4); carbon accounting after CodeCarbon's method (energy \u00d7 PUE \u00d7 carbon intensity).</p>";
  page += "</main></body></html>\n";

  WriteFileAtomically(path, page);
}

}  // namespace wattrun::report
