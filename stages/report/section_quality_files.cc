// The data account's list of the worst input files: a site finds the export
// that went wrong (a sacct file in the wrong format, a truncated telemetry
// file) without opening results.h5.
#include <algorithm>
#include <map>
#include <tuple>

#include "core/records.h"
#include "stages/report/context.h"
#include "stages/report/format.h"

namespace wattrun::report {
namespace {

struct FileBadRows {
  std::string stage;
  std::string file;
  std::int64_t bad = 0;
  std::string top_reason;  // the reason with most rows (first by name on ties)
  std::int64_t top_count = 0;
  std::int64_t reasons = 0;
};

// Bad rows per (stage, file), most first (then by stage and file).
std::vector<FileBadRows> RankFiles(const std::vector<results::QualityFileRow>& rows) {
  std::map<std::pair<std::string, std::string>, FileBadRows> by_file;
  for (const auto& q : rows) {  // sorted by stage, file, reason
    if (IsDuplicateReason(q.reason) || q.count <= 0) continue;
    FileBadRows& f = by_file[{q.stage, q.file}];
    f.stage = q.stage;
    f.file = q.file;
    f.bad += q.count;
    ++f.reasons;
    if (q.count > f.top_count || (q.count == f.top_count && q.reason < f.top_reason)) {
      f.top_reason = q.reason;
      f.top_count = q.count;
    }
  }
  std::vector<FileBadRows> out;
  out.reserve(by_file.size());
  for (auto& [key, f] : by_file) out.push_back(std::move(f));
  std::stable_sort(out.begin(), out.end(), [](const FileBadRows& a, const FileBadRows& b) { return a.bad > b.bad; });
  return out;
}

}  // namespace

std::string WorstFilesTable(const Context& c, std::size_t max_files) {
  const std::vector<FileBadRows> files = RankFiles(c.r.quality_files);
  std::string h = "<h3>Input files with the most bad rows</h3>";
  if (files.empty()) return h + "<p class=\"note\">No input file had a bad row.</p>";
  h += "<p class=\"note\">By file (duplicates not counted), most first";
  if (files.size() > max_files)
    h += "; " + FormatCount(static_cast<std::int64_t>(max_files)) + " of " +
         FormatCount(static_cast<std::int64_t>(files.size())) + " files";
  h += ". Every file and reason is in <code>quality_files.csv</code>.</p>";
  h += "<table><tr><th class=\"l\">input</th><th class=\"l\">file</th><th>bad rows</th>"
       "<th class=\"l\">main reason</th><th>reasons</th></tr>";
  for (std::size_t i = 0; i < files.size() && i < max_files; ++i) {
    const FileBadRows& f = files[i];
    h += "<tr><td class=\"l\">" + EscapeHtml(f.stage) + "</td><td class=\"l\"><code>" + EscapeHtml(f.file) +
         "</code></td><td>" + FormatCount(f.bad) + "</td><td class=\"l\">" + EscapeHtml(f.top_reason) + " (" +
         Counted(f.top_count, "row") + ")</td><td>" + FormatCount(f.reasons) + "</td></tr>";
  }
  return h + "</table>";
}

}  // namespace wattrun::report
