// The known truth of a synthetic facility (output_dir/truth/), read off the
// plan and the histograms of what was written:
//   truth.yaml           settings, model parameters, idle powers, all counts
//   runs.csv             one row per run: expected status, fault, energies
//   idle_power.csv       per node type: exact pooled and median-of-nodes idle
//   node_power.csv       per node: readings, min, idle quantile, max
//   overheads.csv        spec step 8 on the expected values
//   model_parameters.csv the energy model used, per class
//   experiments.csv      loss-law minimum per experiment
//   jobs.csv             every sacct allocation, in UTC
//   jobs_energy.csv      every sacct allocation in sacct order: expected
//                        status and section-4 numbers (definitions in
//                        stages/generate/job_accounting.h)
//   telemetry_files.csv  per telemetry file: rows, bytes, dirt by kind
//   telemetry_dirt.csv   every dirty telemetry line: file, line, kind, node
//   counts.csv           every count above as (section, name, count)
// Expected statuses and filters are computed by applying the spec's rules
// (steps 2-5) to what was written, not copied from the intended faults.
#pragma once

#include <string>
#include <vector>

#include "stages/generate/facility_files.h"
#include "stages/generate/job_accounting.h"
#include "stages/generate/plan.h"
#include "stages/generate/telemetry_writer.h"

namespace wattrun::generate {

// Quantiles: wattrun::QuantileSorted (core/quantile.h), numpy's type 7.
struct TruthInputs {
  const Plan* plan = nullptr;
  const NodeHistograms* histograms = nullptr;              // summed over ranks
  const std::vector<TelemetryFileStats>* files = nullptr;  // per plan file
  const SmallFileStats* small = nullptr;
  const std::string* dirt_csv = nullptr;      // truth/telemetry_dirt.csv, complete
  const JobAccounting* accounting = nullptr;  // null: no jobs_energy.csv
};

// Writes output_dir/truth/*; returns the bytes written.
std::int64_t WriteTruth(const TruthInputs& in, const std::string& output_dir);

}  // namespace wattrun::generate
