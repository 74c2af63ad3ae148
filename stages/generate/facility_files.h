// The small files of a synthetic facility, written by rank 0 from the plan:
// nodes.csv, datasets.csv, runs.csv, sacct/YYYY-MM.txt, losses.csv,
// carbon_intensity.csv, and
// (when dirty) a few broken telemetry files that must not stop a run.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "stages/generate/job_accounting.h"
#include "stages/generate/plan.h"

namespace wattrun::generate {

// Counts of what the writers put in, for the truth.
struct SmallFileStats {
  std::int64_t nodes_rows = 0;
  std::int64_t unmatched_nodes = 0;    // inventory rows matching no node type
  std::int64_t sacct_allocations = 0;  // allocation lines (jobs, array tasks, het parts)
  std::int64_t sacct_steps = 0;
  std::int64_t butter_jobs = 0;
  std::map<std::string, std::int64_t> sacct_bad_rows;  // reason -> lines
  std::int64_t runs_rows = 0;
  std::int64_t losses_rows = 0;
  std::int64_t carbon_rows = 0;
  std::int64_t experiments = 0;
  // Broken telemetry files (path relative to the output, what is wrong).
  std::vector<std::pair<std::string, std::string>> broken_telemetry_files;
  std::int64_t bad_header_lines = 0;
  std::int64_t bytes = 0;
};

void WriteNodesCsv(const Plan& plan, const std::string& dir, SmallFileStats* stats);
void WriteDatasetsCsv(const Plan& plan, const std::string& dir, SmallFileStats* stats);
void WriteRunsCsv(const Plan& plan, const std::string& dir, SmallFileStats* stats);
// sacct/YYYY-MM.txt; ConsumedEnergyRaw comes from the accounting.
void WriteSacct(const Plan& plan, const JobAccounting& accounting, const std::string& dir, SmallFileStats* stats);
// carbon_intensity.csv (timestamp,g_per_kwh), hourly.
void WriteCarbonIntensityCsv(const Plan& plan, const std::string& dir, SmallFileStats* stats);
void WriteLossesCsv(const Plan& plan, const std::string& dir, SmallFileStats* stats);
void WriteBrokenTelemetryFiles(const Plan& plan, const std::string& dir, SmallFileStats* stats);

// Intercept of eq. 10 for a data set (harder sets reach their minimum later).
double LossIntercept(const DatasetInfo& dataset);

// Local time text "YYYY-MM-DDTHH:MM:SS" of an instant under a zone's offsets.
std::string SchedulerTime(const Plan& plan, TimeMs utc);
// runs.csv time text "YYYY-MM-DD HH:MM:SS+00:00".
std::string RunsTime(TimeMs utc);

}  // namespace wattrun::generate
