// `wattrun generate`: a synthetic twin of the Eagle facility in exactly the
// input layout of the spec (section 1), with a known truth beside it.
//
// Output directory:
//   nodes.csv, datasets.csv, runs.csv, losses.csv
//   sacct/YYYY-MM.txt                    (one per month of the window)
//   telemetry/YYYY-MM/part-NNNN.csv[.gz] (64 nodes per file per month)
//   openmetrics/BLOCK.om                 (--telemetry-format openmetrics)
//   truth/                               (what the pipeline should find)
//   wattrun.yaml                         (--telemetry-format other than spec:
//                                         the config with the keys reading it)
// The result depends only on (config, options): the same bytes for a seed
// whatever the number of ranks.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/progress.h"

namespace wattrun::generate {

// How telemetry files are written: the spec's layout (`timestamp,node,watts`,
// local ISO times), or an LDMS CSV store's (`#Time,Time_usec,ProducerName,
// component_id,job_id,power`, epoch seconds UTC) with the same readings;
// or the spec's files plus the readings as OpenMetrics text for a
// Prometheus TSDB (openmetrics_writer.h); or energy counters: the spec's
// layout with `joules` for `watts`, each node's cumulative energy
// (facility.telemetry.kind: energy_counter; clean telemetry only, the other
// files keep their dirt).
enum class TelemetryLayout { kSpec, kLdms, kOpenMetrics, kEnergyCounter };
// "spec", "ldms", "openmetrics", "energy-counter"; and back (false for an unknown name).
const char* ToString(TelemetryLayout layout);
bool ParseTelemetryLayout(const std::string& name, TelemetryLayout* layout);

// `yaml_text` (a facility config) with the facility.telemetry keys that read
// `layout` (columns, time_format) set; for kSpec the text unchanged.
std::string ConfigYamlForLayout(const std::string& yaml_text, TelemetryLayout layout);

struct GenerateOptions {
  std::string output_dir;
  double scale = 1.0;  // node counts and runs relative to Eagle / BUTTER-E
  int months = 9;
  std::uint64_t seed = 1;
  bool dirty = true;             // inject the dirt of a real facility (bad rows, ...)
  Progress* progress = nullptr;  // ticked per telemetry file; null: no progress lines
  TelemetryLayout telemetry_layout = TelemetryLayout::kSpec;
  // The config's text: for another layout than the spec's, written with the
  // keys that read it as OUTPUT/wattrun.yaml. Empty: not written.
  std::string config_yaml;
};

struct GenerateSummary {
  std::int64_t telemetry_rows = 0;        // data lines written, dirt included
  std::int64_t telemetry_clean_rows = 0;  // distinct valid (node, instant) readings
  std::int64_t telemetry_files = 0;
  std::int64_t runs = 0;
  std::int64_t jobs = 0;  // allocation records in sacct (all users)
  std::int64_t butter_jobs = 0;
  std::int64_t nodes = 0;
  std::int64_t bytes_written = 0;  // on disk, all files
  double seconds = 0;              // wall time of the call
  double telemetry_seconds = 0;    // wall time of the telemetry phase (max over ranks)
  // Per rank, in rank order.
  std::vector<std::int64_t> rank_rows;
  std::vector<std::int64_t> rank_bytes;
  std::vector<double> rank_seconds;
};

// Writes the facility into options.output_dir (created if needed; a
// previous generator output there is replaced, anything else is an error).
// Collective over comm. A failure on any rank (bad options, I/O error) ends
// the call on every rank with wattrun::CollectiveError (core/mpi.h) naming
// the failing ranks' messages.
GenerateSummary GenerateFacility(const Config& config, const GenerateOptions& options, MPI_Comm comm);

}  // namespace wattrun::generate
