// quality.csv: every dropped row and run, by stage and reason.
#include <map>
#include <tuple>

#include "stages/runs/runs.h"

namespace wattrun::runs {
namespace {

void Add(std::vector<results::QualityRow>* rows, const std::string& stage, const std::string& reason,
         std::int64_t count) {
  for (auto& q : *rows) {
    if (q.stage == stage && q.reason == reason) {
      q.count += count;
      return;
    }
  }
  rows->push_back({stage, reason, count});
}

}  // namespace

std::vector<results::QualityRow> QualityAccount(
    const std::vector<BadRowCount>& bad_rows, const std::vector<results::RunRow>& rows, const RunFeatures& features,
    const std::vector<std::pair<std::string, std::int64_t>>& job_status_counts,
    const std::vector<BadRowCount>& job_bad_rows) {
  std::vector<results::QualityRow> out;
  for (const auto& q : bad_rows) Add(&out, q.stage, q.reason, q.count);
  for (int s = 0; s < join::kStatusCount; ++s) {
    const std::string name = join::StatusName(static_cast<join::RunStatus>(s));
    std::int64_t count = 0;
    for (const auto& row : rows) count += row.status == name;
    Add(&out, "status", name, count);
  }
  std::int64_t f1 = 0, f3 = 0, f = 0, f3_only = 0, usable = 0;
  for (const auto& row : rows) {
    f1 += row.filter_1.value_or(false);
    f3 += row.filter_3.value_or(false);
    f += row.filter.value_or(false);
    f3_only += row.filter_3.value_or(false) && !row.filter_1.value_or(false);
    usable += row.usable;
  }
  Add(&out, "filter", "filter_1", f1);
  Add(&out, "filter", "filter_3", f3);
  Add(&out, "filter", "filter_3_not_filter_1", f3_only);
  Add(&out, "filter", "filter", f);
  Add(&out, "filter", "usable", usable);
  if (features.unknown_dataset) Add(&out, "datasets", "run_dataset_not_in_datasets_csv", features.unknown_dataset);
  if (features.bad_network) Add(&out, "runs", "unknown_shape_or_depth", features.bad_network);
  for (const auto& q : job_bad_rows) Add(&out, q.stage, q.reason, q.count);
  for (const auto& [status, count] : job_status_counts) Add(&out, "jobs", status, count);
  return out;
}

std::vector<results::QualityFileRow> QualityByFile(const std::vector<BadRowCount>& bad_rows,
                                                   const std::vector<BadRowCount>& job_bad_rows) {
  std::map<std::tuple<std::string, std::string, std::string>, std::int64_t> counts;
  for (const auto* list : {&bad_rows, &job_bad_rows}) {
    for (const auto& b : *list) counts[{b.stage, b.file, b.reason}] += b.count;
  }
  std::vector<results::QualityFileRow> out;
  for (const auto& [key, count] : counts) {
    if (count > 0) out.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), count});
  }
  return out;
}

}  // namespace wattrun::runs
