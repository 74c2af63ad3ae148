// Plain records shared by the stages: what the small input tables hold once
// parsed. The telemetry itself never lives in records like these; it streams
// through the store (store/store.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/maybe.h"
#include "core/symbol.h"
#include "core/time.h"

namespace wattrun {

// One allocation line of `sacct --parsable2` (steps are not kept).
struct JobRecord {
  std::string job_id;     // as written: "123", "123_4", "123+0"
  std::string node_list;  // hostlist expression as written
  TimeUs start = 0;
  Maybe<TimeUs> end;      // empty: `Unknown` (still running)
  Symbol state;           // texts that repeat over the table are Symbols (core/symbol.h)
  bool has_start = true;  // false for `Unknown`/`None` start (never ran)
  // Optional sacct columns (spec section 4); empty / absent when the export
  // lacks the column or its value is unreadable (counted as a bad value).
  Symbol user;
  Symbol account;
  Symbol partition;
  Maybe<std::int64_t> alloc_cpus;   // AllocCPUS (> 0 when set)
  Maybe<std::int64_t> tres_cpus;    // cpu= of AllocTRES (> 0 when set)
  Maybe<std::int64_t> tres_gpus;    // gres/gpu= or gres/gpu:TYPE= summed
  Maybe<double> consumed_energy_j;  // ConsumedEnergyRaw, joules, as given
  // Where the attempt's first line is (file relative to the facility
  // directory, 1-based line): sacct order is sorted paths, then lines.
  Symbol file;
  std::int64_t line = 0;
};

// One row of carbon_intensity.csv: g CO2 per kWh from `time` (UTC) on.
struct CarbonIntensityRecord {
  TimeUs time = 0;
  double g_per_kwh = 0.0;
};

// One row of runs.csv. Unparseable fields leave `bad_reason` set and the
// row is still kept (status `bad_run_row`).
struct RunRecord {
  std::string run_id;
  std::string experiment_id;
  std::string slurm_job_id;
  std::string host_name;
  std::string shape;
  std::string dataset;
  std::string optimizer;
  TimeUs start = 0;
  TimeUs update = 0;
  std::int64_t size = 0;
  std::int64_t depth = 0;
  std::int64_t batch_size = 0;
  double learning_rate = 0.0;
  bool is_gpu = false;
  std::string bad_reason;  // empty when the row parsed; else e.g. "bad_time"
  std::int64_t line = 0;   // line in runs.csv, for messages
};

// One node of the inventory (nodes.csv), with its type resolved by signature.
struct NodeRecord {
  std::string name;
  std::int64_t cpus = 0;
  std::int64_t memory_mb = 0;
  std::int64_t tmp_disk_mb = 0;
  std::string gres;
  std::string node_type;  // empty if no configured signature matched
};

struct DatasetRecord {
  std::string name;
  std::int64_t n_observations = 0;
  std::int64_t n_features = 0;
  std::int64_t n_classes = 0;
  std::string task;  // "classification" or "regression"
  // Output width of the network (spec step 9): n_classes if a classification
  // with more than 2 classes, else 1.
  std::int64_t n_outputs() const { return (task == "classification" && n_classes > 2) ? n_classes : 1; }
};

struct LossRecord {
  std::string experiment_id;
  std::int64_t epoch = 0;
  double test_loss = 0.0;
};

// Bad input rows, counted by (stage, file, reason); quality.csv sums them
// by (stage, reason) and the report lists files.
struct BadRowCount {
  std::string stage;  // telemetry, sacct, runs, nodes, datasets, losses
  std::string file;
  std::string reason;
  std::int64_t count = 0;
};

// Reasons that count a row kept once already (a telemetry reading read
// twice, or already in the store): counted, but not bad input.
inline bool IsDuplicateReason(const std::string& reason) {
  return reason == "duplicate" || reason == "duplicate_of_stored";
}

}  // namespace wattrun
