#include "stages/ingest/source_totals.h"

#include <map>

namespace wattrun::ingest {
namespace {

constexpr const char* kKinds[] = {"telemetry", "sacct", "runs", "nodes", "datasets", "losses", "carbon_intensity"};

// How many records of a kind the catalogue holds (-1: telemetry, whose
// readings live in the batches), and what one and many are called.
struct RecordCount {
  std::int64_t n = -1;
  const char* one = "";
  const char* many = "";
};
RecordCount Records(const store::Catalogue& c, const std::string& kind) {
  auto n = [](const auto& v) { return static_cast<std::int64_t>(v.size()); };
  if (kind == "sacct") return {n(c.jobs), "allocation", "allocations"};
  if (kind == "runs") return {n(c.runs), "run", "runs"};
  if (kind == "nodes") return {n(c.nodes), "node", "nodes"};
  if (kind == "datasets") return {n(c.datasets), "data set", "data sets"};
  if (kind == "losses") return {n(c.losses), "loss point", "loss points"};
  if (kind == "carbon_intensity") return {n(c.carbon_intensity), "intensity", "intensities"};
  return {};
}

std::string Plural(std::int64_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

bool RowStillUsed(const std::string& reason) {
  return IsDuplicateReason(reason) || reason == "conflict" || reason == "conflict_with_stored" ||
         reason == "bad_alloc_cpus" || reason == "bad_alloc_tres" || reason == "bad_consumed_energy";
}

std::vector<SourceTotals> SourceTotalsOf(const store::Catalogue& catalogue) {
  std::vector<SourceTotals> out;
  for (const std::string kind : kKinds) {
    SourceTotals t;
    t.kind = kind;
    for (const auto& m : catalogue.manifest) t.files += m.kind == kind;
    t.records = Records(catalogue, kind).n;
    std::map<std::string, std::int64_t> reasons;
    for (const auto& q : catalogue.quality) {
      if (q.stage == kind && q.count > 0) reasons[q.reason] += q.count;
    }
    for (const auto& [reason, count] : reasons) {
      t.reasons.emplace_back(reason, count);
      if (IsDuplicateReason(reason)) {
        t.duplicates += count;
      } else if (!RowStillUsed(reason)) {
        t.bad_rows += count;
      }
    }
    if (t.files > 0 || !t.reasons.empty()) out.push_back(std::move(t));
  }
  return out;
}

std::vector<std::string> SourceTotalsLines(const std::vector<SourceTotals>& totals) {
  std::vector<std::string> lines;
  for (const auto& t : totals) {
    std::string line = t.kind + ": " + Plural(t.files, "file", "files");
    static const store::Catalogue kNoRecords;
    const RecordCount names = Records(kNoRecords, t.kind);
    if (t.records >= 0) line += ", " + Plural(t.records, names.one, names.many);
    line += ", " + Plural(t.bad_rows, "bad row", "bad rows");
    if (t.duplicates > 0) line += ", " + Plural(t.duplicates, "duplicate", "duplicates");
    if (!t.reasons.empty()) {
      line += " (";
      for (std::size_t i = 0; i < t.reasons.size(); ++i) {
        line += (i ? ", " : "") + t.reasons[i].first + " " + std::to_string(t.reasons[i].second);
      }
      line += ")";
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

std::optional<std::string> MostlyBadWarning(const std::string& file, std::int64_t rows,
                                            const std::vector<BadRowCount>& counts) {
  std::int64_t bad = 0;
  const BadRowCount* top = nullptr;
  for (const auto& c : counts) {
    if (c.count <= 0 || RowStillUsed(c.reason)) continue;
    bad += c.count;
    if (!top || c.count > top->count || (c.count == top->count && c.reason < top->reason)) top = &c;
  }
  if (!top || 2 * bad <= rows || top->reason == "bad_header") return std::nullopt;
  return file + ": " + std::to_string(bad) + " of its " + std::to_string(rows) + " rows are bad (mostly " +
         top->reason + ": " + std::to_string(top->count) +
         "); was it exported in another format? (every file and reason: quality_files.csv)";
}

}  // namespace wattrun::ingest
