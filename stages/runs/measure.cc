// Spec step 4 (statuses, samples, energy) and step 5 (filters) on the run table.
#include "stages/runs/runs.h"

namespace wattrun::runs {
namespace {

join::RunStatus StatusOf(const std::string& name) {
  for (int s = 0; s < join::kStatusCount; ++s) {
    if (name == join::StatusName(static_cast<join::RunStatus>(s))) return static_cast<join::RunStatus>(s);
  }
  return join::RunStatus::kBadRunRow;
}

}  // namespace

std::vector<results::RunRow> MeasureRuns(const std::vector<RunRecord>& runs, const std::vector<join::JoinedRun>& joined,
                                         const std::vector<integrate::RunIntegral>& integrals,
                                         const std::vector<bool>& integrated, double sampling_interval_s,
                                         const std::vector<double>& carbon_g) {
  std::vector<results::RunRow> rows(runs.size());
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const RunRecord& rec = runs[i];
    results::RunRow& row = rows[i];
    row.run_id = rec.run_id;
    row.experiment_id = rec.experiment_id;
    row.slurm_job_id = rec.slurm_job_id;
    row.node = rec.host_name;
    row.node_type = joined[i].node_type;
    row.is_gpu = rec.is_gpu;
    row.dataset = rec.dataset;
    row.shape = rec.shape;
    row.depth = rec.depth;
    row.size = rec.size;
    row.batch_size = rec.batch_size;
    join::RunStatus status = joined[i].status;
    const double run_time_s = ToSeconds(rec.update - rec.start);
    if (status != join::RunStatus::kBadRunRow && status != join::RunStatus::kBadWindow) {
      row.run_time_s = run_time_s;
      row.start_time = rec.start;
      row.end_time = rec.update;
    }
    if (status == join::RunStatus::kOk) {
      // Passed the join: the telemetry decides (a node with no telemetry at
      // all was never integrated: no sample).
      const integrate::RunIntegral integral = integrated[i] ? integrals[i] : integrate::RunIntegral{};
      status = quality::TelemetryStatus(integral, run_time_s, sampling_interval_s);
      row.samples = integral.samples;
      if (status == join::RunStatus::kOk || status == join::RunStatus::kMissingSome ||
          status == join::RunStatus::kZeroWatts) {
        row.energy_j = integral.energy_j;
        if (i < carbon_g.size()) row.carbon_g = carbon_g[i];
      }
    }
    row.status = join::StatusName(status);
  }
  return rows;
}

void FilterRuns(const quality::FilterOptions& options, std::vector<results::RunRow>* rows) {
  std::vector<quality::FilterInput> input(rows->size());
  for (std::size_t i = 0; i < rows->size(); ++i) {
    const results::RunRow& row = (*rows)[i];
    input[i] = {StatusOf(row.status), row.run_time_s.value_or(0.0), row.is_gpu, row.dataset, row.size};
  }
  const auto filters = quality::ApplyFilters(input, options);
  for (std::size_t i = 0; i < rows->size(); ++i) {
    results::RunRow& row = (*rows)[i];
    row.filter_1 = filters.filter_1[i];
    row.filter_3 = filters.filter_3[i];
    row.filter_3_stdevs = filters.filter_3_stdevs[i];
    row.filter = filters.filter[i];
    row.usable = input[i].status == join::RunStatus::kOk && row.filter.has_value() && !*row.filter;
  }
}

}  // namespace wattrun::runs
