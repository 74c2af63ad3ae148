#include "stages/results/results.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/error.h"
#include "core/file_io.h"
#include "core/h5.h"
#include "core/time.h"
#include "core/version.h"
#include "stages/results/column_docs.h"
#include "stages/results/schema.h"

namespace wattrun::results {
namespace fs = std::filesystem;
namespace {

using schema::codec::Bool;
using schema::codec::Quoted;
std::string Opt(const std::optional<double>& v) { return v ? FormatDouble(*v) : ""; }

// A file written under a temporary name and renamed into place on Commit().
// A table written whole through core's one atomic write (temporary, fsync,
// rename, fsync of the directory): a killed run never leaves a half table.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path) : path_(std::move(path)) {}
  std::ostringstream& out() { return out_; }
  void Commit() { WriteFileAtomically(path_, out_.view()); }

 private:
  std::string path_;
  std::ostringstream out_;
};

void WriteIdleCsv(const PipelineResults& r, const std::string& path) {
  AtomicFile f(path);
  f.out() << "node_type,nodes,readings,idle_w\n";
  for (const auto& x : r.idle) {
    f.out() << x.node_type << ',' << x.nodes << ',' << x.readings << ',' << FormatDouble(x.idle_w) << '\n';
  }
  f.Commit();
}

void WriteNodeDistCsv(const PipelineResults& r, const std::string& path) {
  AtomicFile f(path);
  auto& o = f.out();
  o << "node,count,min";
  for (const auto& n : r.node_quantile_names) o << ',' << n;
  o << ",max,node_type\n";
  for (const auto& x : r.nodes) {
    o << Quoted(x.node) << ',' << x.count << ',' << FormatDouble(x.min);
    for (double q : x.quantiles) o << ',' << FormatDouble(q);
    o << ',' << FormatDouble(x.max) << ',' << x.node_type << '\n';
  }
  f.Commit();
}

void WriteQualityCsv(const PipelineResults& r, const std::string& path) {
  AtomicFile f(path);
  f.out() << "stage,reason,count\n";
  for (const auto& q : r.quality) f.out() << q.stage << ',' << Quoted(q.reason) << ',' << q.count << '\n';
  f.Commit();
}

void WriteOverheadsCsv(const PipelineResults& r, const std::string& path) {
  AtomicFile f(path);
  f.out() << "is_gpu,runs,energy_overhead,runtime_overhead\n";
  for (const auto& o : r.overheads) {
    f.out() << Bool(o.is_gpu) << ',' << o.runs << ',' << FormatDouble(o.energy_overhead_j) << ','
            << FormatDouble(o.runtime_overhead_s) << '\n';
  }
  f.Commit();
}

void WriteModelCsv(const ModelResult& m, const std::string& path) {
  AtomicFile f(path);
  f.out() << "parameter,value,std_error,unit,determined,reason\n";
  for (const auto& p : m.parameters) {
    f.out() << p.parameter << ',' << FormatDouble(p.value) << ',' << Opt(p.std_error) << ',' << Quoted(p.unit) << ','
            << Bool(p.determined) << ',' << Quoted(p.reason) << '\n';
  }
  f.Commit();
}

void WritePredictionsCsv(const PipelineResults& r, const std::string& path) {
  AtomicFile f(path);
  f.out() << "run_id,is_gpu,measured,predicted,ratio,baseline_predicted\n";
  for (const auto& p : r.predictions) {
    f.out() << Quoted(p.run_id) << ',' << Bool(p.is_gpu) << ',' << FormatDouble(p.measured) << ','
            << FormatDouble(p.predicted) << ',' << FormatDouble(p.predicted / p.measured) << ','
            << FormatDouble(p.baseline) << '\n';
  }
  f.Commit();
}

// A schema table as CSV: its columns in table order, the kLast ones after.
template <typename Row>
void WriteTableCsv(const schema::Table<Row>& table, const std::vector<Row>& rows, const std::string& path) {
  std::vector<const schema::Column<Row>*> columns;
  for (schema::Csv place : {schema::Csv::kYes, schema::Csv::kLast}) {
    for (const auto& c : table) {
      if (c.csv == place) columns.push_back(&c);
    }
  }
  AtomicFile f(path);
  auto& o = f.out();
  for (std::size_t i = 0; i < columns.size(); ++i) o << (i ? "," : "") << columns[i]->name;
  o << '\n';
  for (const Row& row : rows) {
    for (std::size_t i = 0; i < columns.size(); ++i) o << (i ? "," : "") << columns[i]->csv_field(row);
    o << '\n';
  }
  f.Commit();
}

template <typename Row, typename F>
auto Col(const std::vector<Row>& rows, F get) {
  std::vector<decltype(get(rows[0]))> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(get(r));
  return out;
}

double OrNan(const std::optional<double>& v) { return v ? *v : std::nan(""); }

// The dataset's `units` and `description` (column_docs.cc), and its name
// appended to the group's `columns` attribute (comma-separated, the order of
// the CSV), so that the file says what each column is and their order.
void Describe(hid_t loc, const std::string& name, const ColumnDoc& doc) {
  char group[1024] = {};
  H5Iget_name(loc, group, sizeof group);
  {
    h5::H5Id dataset(h5::CheckId(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), "H5Dopen2", name));
    h5::SetAttribute(dataset.get(), "units", doc.units);
    h5::SetAttribute(dataset.get(), "description", doc.description);
  }
  // Not rows of the group's table: its metadata arrays, and the root.
  static const char* const kNotColumns[] = {"quantile_names", "quantile_levels",       "low_end_types",  "classes",
                                            "class_is_gpu",   "ratio_quantile_levels", "ratio_quantiles"};
  if (std::string(group) == "/") return;
  for (const char* other : kNotColumns) {
    if (name == other) return;
  }
  std::string columns = h5::HasAttribute(loc, "columns") ? h5::GetStringAttribute(loc, "columns") + "," : "";
  h5::SetAttribute(loc, "columns", columns + name);
}

// A dataset the schema does not hold: described by column_docs.
void Describe(hid_t loc, const std::string& name) {
  char group[1024] = {};
  H5Iget_name(loc, group, sizeof group);
  Describe(loc, name, DescribeColumn(group, name));
}

// A schema table's columns as datasets of the group, described.
template <typename Row>
void WriteTableH5(hid_t group, const schema::Table<Row>& table, const std::vector<Row>& rows) {
  for (const auto& c : table) {
    c.write_h5(group, rows);
    Describe(group, c.name, {c.units, c.description});
  }
}

template <typename T>
void Column(hid_t loc, const std::string& name, const std::vector<T>& values) {
  h5::WriteVector(loc, name, values);
  Describe(loc, name);
}
void Column(hid_t loc, const std::string& name, const std::vector<std::string>& values) {
  h5::WriteStrings(loc, name, values);
  Describe(loc, name);
}

constexpr const char* kMissingValues = "NaN for numbers, -1 for counts, int64 min for times";
constexpr const char* kTimeUnit = "us since 1970-01-01 UTC";

void WriteJobsH5(hid_t f, const std::vector<JobRow>& x) {
  h5::H5Id g = h5::EnsureGroup(f, "jobs_energy");
  const hid_t id = g.get();
  WriteTableH5(id, schema::JobsTable(), x);
  h5::SetAttribute(id, "missing_values", std::string(kMissingValues));
  h5::SetAttribute(id, "time_unit", std::string(kTimeUnit));
}

void WriteJobNodesH5(hid_t f, const std::vector<JobNodeRow>& x) {
  h5::H5Id g = h5::EnsureGroup(f, "job_nodes");
  const hid_t id = g.get();
  WriteTableH5(id, schema::JobNodesTable(), x);
  h5::SetAttribute(id, "job_is", std::string("row index into jobs_energy"));
}

void WriteUsageH5(hid_t f, const std::vector<UsageRow>& x) {
  h5::H5Id g = h5::EnsureGroup(f, "usage");
  const hid_t id = g.get();
  WriteTableH5(id, schema::UsageTable(), x);
}

void WriteQualityFilesH5(hid_t f, const std::vector<QualityFileRow>& x) {
  h5::H5Id g = h5::EnsureGroup(f, "quality_files");
  WriteTableH5(g.get(), schema::QualityFilesTable(), x);
}

void WriteLedgerH5(hid_t f, const std::vector<LedgerRow>& x) {
  h5::H5Id g = h5::EnsureGroup(f, "ledger");
  const hid_t id = g.get();
  WriteTableH5(id, schema::LedgerTable(), x);
}

// The facility-accounting tables (spec section 5) and the intensity series.
void WriteFacilityH5(hid_t f, const PipelineResults& r) {
  WriteJobsH5(f, r.jobs);
  WriteJobNodesH5(f, r.job_nodes);
  WriteUsageH5(f, r.usage);
  WriteLedgerH5(f, r.ledger);
  h5::H5Id g = h5::EnsureGroup(f, "carbon_intensity");
  Column(g.get(), "time", Col(r.carbon_intensity, [](const auto& p) { return p.first; }));
  Column(g.get(), "g_per_kwh", Col(r.carbon_intensity, [](const auto& p) { return p.second; }));
  h5::SetAttribute(g.get(), "time_unit", std::string(kTimeUnit));
}

// Root attributes that say where the file came from.
void WriteProvenance(hid_t f, const PipelineResults& r) {
  h5::SetAttribute(f, "wattrun_version", std::string(kWattrunVersion));
  const auto now = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  h5::SetAttribute(f, "created_utc",
                   r.created_utc.empty() ? FormatUtcIso(now.time_since_epoch().count()) : r.created_utc);
  h5::SetAttribute(f, "command_line", r.command_line);
  h5::SetAttribute(f, "config_yaml", r.config_yaml);
  if (!r.slurm_job_id.empty()) {
    h5::SetAttribute(f, "slurm_job_id", r.slurm_job_id);
  } else if (const char* job = std::getenv("SLURM_JOB_ID"); job != nullptr && *job != '\0') {
    h5::SetAttribute(f, "slurm_job_id", std::string(job));
  }
  h5::SetAttribute(f, "units_convention",
                   std::string("every dataset has `units` and `description`; every table group `columns` "
                               "(comma-separated, CSV order)"));
}

// Root attributes: the run's settings and telemetry totals.
void WriteSettings(hid_t f, const PipelineResults& r) {
  h5::SetAttribute(f, "facility", r.facility);
  h5::SetAttribute(f, "store_path", r.store_path);
  h5::SetAttribute(f, "integration", r.integration);
  h5::SetAttribute(f, "idle_method", r.idle_method);
  h5::SetAttribute(f, "carbon_g_per_kwh", r.carbon_g_per_kwh);
  h5::SetAttribute(f, "pue", r.pue);
  h5::SetAttribute(f, "telemetry_seconds", r.telemetry_seconds);
  h5::SetAttribute(f, "telemetry_readings", r.telemetry_readings);
  h5::SetAttribute(f, "telemetry_bytes", r.telemetry_bytes);
  h5::SetAttribute(f, "carbon_source", r.carbon_source);
  h5::SetAttribute(f, "idle_quantile", r.idle_quantile);
  h5::SetAttribute(f, "filter_max_run_time_s", r.filter_max_run_time_s);
  h5::SetAttribute(f, "filter_max_stdevs", r.filter_max_stdevs);
}

// The memory levels per class.
void WriteMemoryLevelsH5(hid_t f, const PipelineResults& r) {
  // One row per (class, level), so that h5py reads it as a table.
  h5::H5Id g = h5::EnsureGroup(f, "memory_levels");
  std::vector<std::string> cls;
  std::vector<std::uint8_t> gpu;
  std::vector<std::int32_t> level;
  std::vector<double> bytes;
  std::vector<std::int64_t> units;
  for (const auto& c : r.memory_levels) {
    for (const auto& l : c.levels) {
      cls.push_back(c.hardware_class);
      gpu.push_back(std::uint8_t(c.is_gpu));
      level.push_back(std::int32_t(l.level));
      bytes.push_back(l.bytes_per_unit);
      units.push_back(l.units);
    }
  }
  Column(g.get(), "hardware_class", cls);
  Column(g.get(), "is_gpu", gpu);
  Column(g.get(), "level", level);
  Column(g.get(), "bytes_per_unit", bytes);
  Column(g.get(), "units", units);
  // Classes in order, including any without levels.
  Column(g.get(), "classes", Col(r.memory_levels, [](const ClassMemory& v) { return v.hardware_class; }));
  Column(g.get(), "class_is_gpu", Col(r.memory_levels, [](const ClassMemory& v) { return std::uint8_t(v.is_gpu); }));
}

void WriteRunsH5(hid_t f, const PipelineResults& r) {
  h5::H5Id g = h5::EnsureGroup(f, "runs_energy");
  const auto& x = r.runs;
  const hid_t id = g.get();
  WriteTableH5(id, schema::RunsTable(), x);
  h5::SetAttribute(id, "missing_values", std::string("NaN for numbers, -1 for samples and booleans"));
}

void WriteFeaturesH5(hid_t f, const PipelineResults& r) {
  h5::H5Id g = h5::EnsureGroup(f, "features");
  const auto& x = r.features;
  const hid_t id = g.get();
  Column(id, "run", Col(x, [](const FeatureRow& v) { return std::int64_t(v.run); }));
  Column(id, "n_params", Col(x, [](const FeatureRow& v) { return v.n_params; }));
  Column(id, "depth", Col(x, [](const FeatureRow& v) { return v.depth; }));
  Column(id, "n_observations", Col(x, [](const FeatureRow& v) { return v.n_observations; }));
  Column(id, "train_observations", Col(x, [](const FeatureRow& v) { return v.train_observations; }));
  Column(id, "fwd_ops", Col(x, [](const FeatureRow& v) { return v.fwd_ops; }));
  Column(id, "bwd_ops", Col(x, [](const FeatureRow& v) { return v.bwd_ops; }));
  Column(id, "total_flops", Col(x, [](const FeatureRow& v) { return v.total_flops; }));
  Column(id, "h_t", Col(x, [](const FeatureRow& v) { return v.h_t; }));
  Column(id, "h_s", Col(x, [](const FeatureRow& v) { return v.h_s; }));
  Column(id, "epochs", Col(x, [](const FeatureRow& v) { return v.epochs; }));
  Column(id, "t_max_bytes", Col(x, [](const FeatureRow& v) { return v.t_max_bytes; }));
  Column(id, "t_max_level", Col(x, [](const FeatureRow& v) { return std::int32_t(v.t_max_level); }));
  Column(id, "f_bytes", Col(x, [](const FeatureRow& v) { return v.f_bytes; }));
  Column(id, "f_level", Col(x, [](const FeatureRow& v) { return std::int32_t(v.f_level); }));
  Column(id, "f_test_level", Col(x, [](const FeatureRow& v) { return std::int32_t(v.f_test_level); }));
  Column(id, "b_bytes", Col(x, [](const FeatureRow& v) { return v.b_bytes; }));
  Column(id, "b_level", Col(x, [](const FeatureRow& v) { return std::int32_t(v.b_level); }));
  Column(id, "d_bytes", Col(x, [](const FeatureRow& v) { return v.d_bytes; }));
  Column(id, "d_level", Col(x, [](const FeatureRow& v) { return std::int32_t(v.d_level); }));
}

// Idle power per type and each type's low end of readings.
void WriteIdlePowerH5(hid_t f, const PipelineResults& r) {
  h5::H5Id g = h5::EnsureGroup(f, "idle_power");
  const hid_t id = g.get();
  Column(id, "node_type", Col(r.idle, [](const idle::IdlePower& v) { return v.node_type; }));
  Column(id, "nodes", Col(r.idle, [](const idle::IdlePower& v) { return v.nodes; }));
  Column(id, "readings", Col(r.idle, [](const idle::IdlePower& v) { return v.readings; }));
  Column(id, "idle_w", Col(r.idle, [](const idle::IdlePower& v) { return v.idle_w; }));
  Column(id, "low_end_types", Col(r.type_low_end, [](const TypeDistribution& v) { return v.node_type; }));
  for (const auto& t : r.type_low_end) {
    h5::H5Id d = h5::EnsureGroup(id, "low_end/" + t.node_type);
    Column(d.get(), "value", Col(t.values, [](const auto& p) { return p.first; }));
    Column(d.get(), "count", Col(t.values, [](const auto& p) { return p.second; }));
  }
}

void WriteNodeDistH5(hid_t f, const PipelineResults& r) {
  h5::H5Id g = h5::EnsureGroup(f, "node_power_dist");
  const hid_t id = g.get();
  Column(id, "node", Col(r.nodes, [](const idle::NodeDistribution& v) { return v.node; }));
  Column(id, "node_type", Col(r.nodes, [](const idle::NodeDistribution& v) { return v.node_type; }));
  Column(id, "count", Col(r.nodes, [](const idle::NodeDistribution& v) { return v.count; }));
  Column(id, "min", Col(r.nodes, [](const idle::NodeDistribution& v) { return v.min; }));
  Column(id, "max", Col(r.nodes, [](const idle::NodeDistribution& v) { return v.max; }));
  Column(id, "idle_quantile", Col(r.nodes, [](const idle::NodeDistribution& v) { return v.idle_quantile; }));
  Column(id, "quantile_names", r.node_quantile_names);
  Column(id, "quantile_levels", r.node_quantile_levels);
  for (std::size_t q = 0; q < r.node_quantile_names.size(); ++q) {
    Column(id, r.node_quantile_names[q], Col(r.nodes, [q](const idle::NodeDistribution& v) { return v.quantiles[q]; }));
  }
}

void WriteQualityH5(hid_t f, const PipelineResults& r) {
  h5::H5Id g = h5::EnsureGroup(f, "quality");
  Column(g.get(), "stage", Col(r.quality, [](const QualityRow& v) { return v.stage; }));
  Column(g.get(), "reason", Col(r.quality, [](const QualityRow& v) { return v.reason; }));
  Column(g.get(), "count", Col(r.quality, [](const QualityRow& v) { return v.count; }));
}

void WriteOverheadsH5(hid_t f, const PipelineResults& r) {
  h5::H5Id g = h5::EnsureGroup(f, "overheads");
  using O = standardize::Overhead;
  Column(g.get(), "is_gpu", Col(r.overheads, [](const O& v) { return std::uint8_t(v.is_gpu); }));
  Column(g.get(), "runs", Col(r.overheads, [](const O& v) { return v.runs; }));
  Column(g.get(), "energy_overhead", Col(r.overheads, [](const O& v) { return v.energy_overhead_j; }));
  Column(g.get(), "runtime_overhead", Col(r.overheads, [](const O& v) { return v.runtime_overhead_s; }));
}

// A model_<class> group: the parameters, the fit's summary as attributes.
void WriteModelH5(hid_t f, const ModelResult& m) {
  h5::H5Id g = h5::EnsureGroup(f, "model_" + m.hardware_class);
  const hid_t id = g.get();
  using P = ModelParameterRow;
  Column(id, "parameter", Col(m.parameters, [](const P& v) { return v.parameter; }));
  Column(id, "value", Col(m.parameters, [](const P& v) { return v.value; }));
  Column(id, "std_error", Col(m.parameters, [](const P& v) { return OrNan(v.std_error); }));
  Column(id, "unit", Col(m.parameters, [](const P& v) { return v.unit; }));
  Column(id, "determined", Col(m.parameters, [](const P& v) { return std::uint8_t(v.determined); }));
  Column(id, "reason", Col(m.parameters, [](const P& v) { return v.reason; }));
  h5::SetAttribute(id, "fitted", std::int64_t(m.fitted));
  h5::SetAttribute(id, "message", m.message);
  h5::SetAttribute(id, "runs", m.runs);
  h5::SetAttribute(id, "median_ratio", m.median_ratio);
  h5::SetAttribute(id, "sigma_log_ratio", m.sigma_log_ratio);
  h5::SetAttribute(id, "median_abs_log_error", m.median_abs_log_error);
  h5::SetAttribute(id, "cv_median_abs_log_error", m.cv_median_abs_log_error);
  h5::SetAttribute(id, "baseline_c0", m.baseline_c0);
  h5::SetAttribute(id, "baseline_c1", m.baseline_c1);
  h5::SetAttribute(id, "baseline_median_abs_log_error", m.baseline_median_abs_log_error);
  h5::SetAttribute(id, "baseline_sigma_log_ratio", m.baseline_sigma_log_ratio);
  h5::SetAttribute(id, "baseline_cv_median_abs_log_error", m.baseline_cv_median_abs_log_error);
  h5::SetAttribute(id, "fit_seconds", m.fit_seconds);
  Column(id, "ratio_quantile_levels", Col(m.ratio_quantiles, [](const auto& p) { return p.first; }));
  Column(id, "ratio_quantiles", Col(m.ratio_quantiles, [](const auto& p) { return p.second; }));
}

void WritePredictionsH5(hid_t f, const PipelineResults& r) {
  h5::H5Id g = h5::EnsureGroup(f, "predictions");
  const hid_t id = g.get();
  using P = PredictionRow;
  Column(id, "run_id", Col(r.predictions, [](const P& v) { return v.run_id; }));
  Column(id, "is_gpu", Col(r.predictions, [](const P& v) { return std::uint8_t(v.is_gpu); }));
  Column(id, "measured", Col(r.predictions, [](const P& v) { return v.measured; }));
  Column(id, "predicted", Col(r.predictions, [](const P& v) { return v.predicted; }));
  Column(id, "ratio", Col(r.predictions, [](const P& v) { return v.predicted / v.measured; }));
  Column(id, "baseline_predicted", Col(r.predictions, [](const P& v) { return v.baseline; }));
}

void WriteLossesH5(hid_t f, const PipelineResults& r) {
  h5::H5Id g = h5::EnsureGroup(f, "losses");
  Column(g.get(), "experiment_id", r.loss_experiment);
  Column(g.get(), "epoch", r.loss_epoch);
  Column(g.get(), "test_loss", r.loss_value);
}

// Readings per (UTC day, node type): the report's telemetry coverage.
void WriteCoverageH5(hid_t f, const PipelineResults& r) {
  h5::H5Id g = h5::EnsureGroup(f, "telemetry_coverage");
  Column(g.get(), "day", Col(r.coverage, [](const CoverageRow& v) { return v.day; }));
  Column(g.get(), "node_type", Col(r.coverage, [](const CoverageRow& v) { return v.node_type; }));
  Column(g.get(), "readings", Col(r.coverage, [](const CoverageRow& v) { return v.readings; }));
}

void WriteH5(const PipelineResults& r, const std::string& path) {
  {
    h5::File file = h5::File::CreateInMemory(path);
    const hid_t f = file.id();
    WriteProvenance(f, r);
    WriteSettings(f, r);
    WriteMemoryLevelsH5(f, r);
    // The order of the model_<class> groups (HDF5 lists groups by name).
    Column(f, "model_classes", Col(r.models, [](const ModelResult& v) { return v.hardware_class; }));
    WriteRunsH5(f, r);
    WriteFeaturesH5(f, r);
    WriteIdlePowerH5(f, r);
    WriteNodeDistH5(f, r);
    WriteQualityH5(f, r);
    WriteQualityFilesH5(f, r.quality_files);
    WriteOverheadsH5(f, r);
    for (const auto& m : r.models) WriteModelH5(f, m);
    WritePredictionsH5(f, r);
    WriteLossesH5(f, r);
    WriteFacilityH5(f, r);
    WriteCoverageH5(f, r);
    file.WriteImage(path);
  }
}

}  // namespace

std::string FormatDouble(double value) {
  if (std::isnan(value)) return "";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, res.ptr);
}

void BeginResults(const std::string& dir) {
  fs::create_directories(dir);
  fs::remove(fs::path(dir) / "_SUCCESS");
}

void FinishResults(const std::string& dir) { WriteFileAtomically((fs::path(dir) / "_SUCCESS").string(), "complete\n"); }

void WriteResults(const PipelineResults& r, const std::string& dir) {
  const fs::path d(dir);
  WriteTableCsv(schema::RunsTable(), r.runs, (d / "runs_energy.csv").string());
  WriteIdleCsv(r, (d / "idle_power.csv").string());
  WriteNodeDistCsv(r, (d / "node_power_dist.csv").string());
  WriteQualityCsv(r, (d / "quality.csv").string());
  WriteOverheadsCsv(r, (d / "overheads.csv").string());
  for (const auto& m : r.models) WriteModelCsv(m, (d / ("model_" + m.hardware_class + ".csv")).string());
  WritePredictionsCsv(r, (d / "predictions.csv").string());
  WriteTableCsv(schema::JobsTable(), r.jobs, (d / "jobs_energy.csv").string());
  WriteTableCsv(schema::UsageTable(), r.usage, (d / "usage.csv").string());
  WriteTableCsv(schema::LedgerTable(), r.ledger, (d / "ledger.csv").string());
  WriteTableCsv(schema::QualityFilesTable(), r.quality_files, (d / "quality_files.csv").string());
  WriteH5(r, (d / "results.h5").string());
}

}  // namespace wattrun::results

namespace wattrun::results {
namespace {

std::optional<double> FromNan(double v) {
  if (std::isnan(v)) return std::nullopt;
  return v;
}

// Names of the links in a group, by name (for files written before the
// order datasets existed).
std::vector<std::string> ChildNames(hid_t loc) {
  H5G_info_t info;
  h5::Check(H5Gget_info(loc, &info), "H5Gget_info", "group");
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t len = H5Lget_name_by_idx(loc, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    h5::Check(static_cast<herr_t>(len < 0 ? -1 : 0), "H5Lget_name_by_idx", "group");
    std::string name(static_cast<std::size_t>(len) + 1, '\0');
    H5Lget_name_by_idx(loc, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(), H5P_DEFAULT);
    name.resize(static_cast<std::size_t>(len));
    names.push_back(std::move(name));
  }
  return names;
}

using schema::CheckRows;
using schema::TableReader;

double DoubleAttr(hid_t loc, const std::string& name, double fallback) {
  return h5::HasAttribute(loc, name) ? h5::GetDoubleAttribute(loc, name) : fallback;
}

// A schema table from its group; optional columns absent from an older file
// keep the rows' defaults.
template <typename Row>
std::vector<Row> ReadTableH5(hid_t group, const std::string& where, const schema::Table<Row>& table) {
  TableReader t(group, where);
  std::vector<Row> rows;
  for (const auto& c : table) {
    if (c.optional && !h5::Exists(group, c.name)) continue;
    c.read_h5(t, &rows);
  }
  return rows;
}

void ReadJobNodesH5(hid_t group, const std::string& where, std::size_t jobs, std::vector<JobNodeRow>* out) {
  *out = ReadTableH5(group, where, schema::JobNodesTable());
  for (const auto& x : *out) {
    if (x.job >= jobs) {  // a negative index reads back as a huge one
      throw Error(where + ": job " + std::to_string(static_cast<std::int64_t>(x.job)) + " is not a row of jobs_energy");
    }
  }
}

// The facility tables; a results.h5 from before them has none of the groups
// (then the tables stay empty).
void ReadFacilityH5(hid_t f, const std::string& path, PipelineResults* r) {
  if (h5::Exists(f, "jobs_energy")) {
    h5::H5Id g = h5::OpenGroup(f, "jobs_energy");
    r->jobs = ReadTableH5(g.get(), path + ":jobs_energy", schema::JobsTable());
  }
  if (h5::Exists(f, "job_nodes")) {
    h5::H5Id g = h5::OpenGroup(f, "job_nodes");
    ReadJobNodesH5(g.get(), path + ":job_nodes", r->jobs.size(), &r->job_nodes);
  }
  if (h5::Exists(f, "usage")) {
    h5::H5Id g = h5::OpenGroup(f, "usage");
    r->usage = ReadTableH5(g.get(), path + ":usage", schema::UsageTable());
  }
  if (h5::Exists(f, "ledger")) {
    h5::H5Id g = h5::OpenGroup(f, "ledger");
    r->ledger = ReadTableH5(g.get(), path + ":ledger", schema::LedgerTable());
  }
  if (h5::Exists(f, "carbon_intensity")) {
    h5::H5Id g = h5::OpenGroup(f, "carbon_intensity");
    TableReader t(g.get(), path + ":carbon_intensity");
    const auto time = t.Column<std::int64_t>("time");
    const auto value = t.Column<double>("g_per_kwh");
    for (std::size_t i = 0; i < t.rows(); ++i) r->carbon_intensity.emplace_back(time[i], value[i]);
  }
}

}  // namespace

std::string ReadRecordedStorePath(const std::string& results_h5_path) {
  h5::File file = h5::File::Open(results_h5_path, h5::Mode::kReadOnly);
  return h5::HasAttribute(file.id(), "store_path") ? h5::GetStringAttribute(file.id(), "store_path") : "";
}

namespace {

void ReadRunsH5(hid_t f, const std::string& path, PipelineResults* r) {
  h5::H5Id g = h5::OpenGroup(f, "runs_energy");
  r->runs = ReadTableH5(g.get(), path + ":runs_energy", schema::RunsTable());
}

void ReadFeaturesH5(hid_t f, const std::string& path, PipelineResults* r) {
  h5::H5Id g = h5::OpenGroup(f, "features");
  const hid_t id = g.get();
  const auto run = h5::ReadVector<std::int64_t>(id, "run");
  const std::size_t n = run.size();
  const std::string where = path + ":features";
  auto column = [&]<typename T>(const char* name, T) {
    auto v = h5::ReadVector<T>(id, name);
    CheckRows(n, v.size(), where, name);
    return v;
  };
  const auto n_params = column("n_params", std::int64_t{});
  const auto depth = column("depth", std::int64_t{});
  const auto n_obs = column("n_observations", std::int64_t{});
  const auto train_obs = column("train_observations", std::int64_t{});
  const auto fwd = column("fwd_ops", double{});
  const auto bwd = column("bwd_ops", double{});
  const auto flops = column("total_flops", double{});
  const auto h_t = column("h_t", std::int64_t{});
  const auto h_s = column("h_s", std::int64_t{});
  const auto epochs = column("epochs", std::int64_t{});
  const auto t_bytes = column("t_max_bytes", double{});
  const auto t_level = column("t_max_level", std::int32_t{});
  const auto f_bytes = column("f_bytes", double{});
  const auto f_level = column("f_level", std::int32_t{});
  const auto f_test_level = column("f_test_level", std::int32_t{});
  const auto b_bytes = column("b_bytes", double{});
  const auto b_level = column("b_level", std::int32_t{});
  const auto d_bytes = column("d_bytes", double{});
  const auto d_level = column("d_level", std::int32_t{});
  r->features.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    FeatureRow& x = r->features[i];
    if (run[i] < 0 || static_cast<std::size_t>(run[i]) >= r->runs.size()) {
      throw Error(where + ": run " + std::to_string(run[i]) + " is not a row of runs_energy");
    }
    x.run = static_cast<std::size_t>(run[i]);
    x.n_params = n_params[i];
    x.depth = depth[i];
    x.n_observations = n_obs[i];
    x.train_observations = train_obs[i];
    x.fwd_ops = fwd[i];
    x.bwd_ops = bwd[i];
    x.total_flops = flops[i];
    x.h_t = h_t[i];
    x.h_s = h_s[i];
    x.epochs = epochs[i];
    x.t_max_bytes = t_bytes[i];
    x.t_max_level = t_level[i];
    x.f_bytes = f_bytes[i];
    x.f_level = f_level[i];
    x.f_test_level = f_test_level[i];
    x.b_bytes = b_bytes[i];
    x.b_level = b_level[i];
    x.d_bytes = d_bytes[i];
    x.d_level = d_level[i];
  }
}

// Idle power per type and each type's low end of readings.
void ReadIdlePowerH5(hid_t f, const std::string& path, PipelineResults* r) {
  h5::H5Id g = h5::OpenGroup(f, "idle_power");
  const hid_t id = g.get();
  const auto type = h5::ReadStrings(id, "node_type");
  const auto nodes = h5::ReadVector<std::int64_t>(id, "nodes");
  const auto readings = h5::ReadVector<std::int64_t>(id, "readings");
  const auto idle_w = h5::ReadVector<double>(id, "idle_w");
  const std::string where = path + ":idle_power";
  CheckRows(type.size(), nodes.size(), where, "nodes");
  CheckRows(type.size(), readings.size(), where, "readings");
  CheckRows(type.size(), idle_w.size(), where, "idle_w");
  for (std::size_t i = 0; i < type.size(); ++i) r->idle.push_back({type[i], nodes[i], readings[i], idle_w[i]});
  std::vector<std::string> low_end_types;
  if (h5::Exists(id, "low_end_types")) {
    low_end_types = h5::ReadStrings(id, "low_end_types");
  } else if (h5::Exists(id, "low_end")) {
    h5::H5Id le = h5::OpenGroup(id, "low_end");
    low_end_types = ChildNames(le.get());
  }
  for (const auto& t : low_end_types) {
    h5::H5Id d = h5::OpenGroup(id, "low_end/" + t);
    const auto value = h5::ReadVector<double>(d.get(), "value");
    const auto count = h5::ReadVector<std::int64_t>(d.get(), "count");
    CheckRows(value.size(), count.size(), where + "/low_end/" + t, "count");
    TypeDistribution dist{t, {}};
    dist.values.reserve(value.size());
    for (std::size_t i = 0; i < value.size(); ++i) dist.values.emplace_back(value[i], count[i]);
    r->type_low_end.push_back(std::move(dist));
  }
}

void ReadNodeDistH5(hid_t f, const std::string& path, PipelineResults* r) {
  h5::H5Id g = h5::OpenGroup(f, "node_power_dist");
  const hid_t id = g.get();
  const std::string where = path + ":node_power_dist";
  const auto node = h5::ReadStrings(id, "node");
  const std::size_t n = node.size();
  const auto type = h5::ReadStrings(id, "node_type");
  const auto count = h5::ReadVector<std::int64_t>(id, "count");
  const auto min = h5::ReadVector<double>(id, "min");
  const auto max = h5::ReadVector<double>(id, "max");
  CheckRows(n, type.size(), where, "node_type");
  CheckRows(n, count.size(), where, "count");
  CheckRows(n, min.size(), where, "min");
  CheckRows(n, max.size(), where, "max");
  std::vector<double> idle_q(n, 0.0);
  if (h5::Exists(id, "idle_quantile")) {
    idle_q = h5::ReadVector<double>(id, "idle_quantile");
    CheckRows(n, idle_q.size(), where, "idle_quantile");
  }
  r->node_quantile_names = h5::ReadStrings(id, "quantile_names");
  r->node_quantile_levels = h5::ReadVector<double>(id, "quantile_levels");
  std::vector<std::vector<double>> q;
  for (const auto& name : r->node_quantile_names) {
    q.push_back(h5::ReadVector<double>(id, name));
    CheckRows(n, q.back().size(), where, name);
  }
  r->nodes.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    idle::NodeDistribution& x = r->nodes[i];
    x.node = node[i];
    x.node_type = type[i];
    x.count = count[i];
    x.min = min[i];
    x.max = max[i];
    x.idle_quantile = idle_q[i];
    x.quantiles.reserve(q.size());
    for (const auto& column : q) x.quantiles.push_back(column[i]);
  }
}

// A results.h5 from before the table has no group (the rows stay empty).
void ReadQualityFilesH5(hid_t f, const std::string& path, PipelineResults* r) {
  if (!h5::Exists(f, "quality_files")) return;
  h5::H5Id g = h5::OpenGroup(f, "quality_files");
  r->quality_files = ReadTableH5(g.get(), path + ":quality_files", schema::QualityFilesTable());
}

void ReadQualityH5(hid_t f, const std::string& path, PipelineResults* r) {
  h5::H5Id g = h5::OpenGroup(f, "quality");
  const auto stage = h5::ReadStrings(g.get(), "stage");
  const auto reason = h5::ReadStrings(g.get(), "reason");
  const auto count = h5::ReadVector<std::int64_t>(g.get(), "count");
  CheckRows(stage.size(), reason.size(), path + ":quality", "reason");
  CheckRows(stage.size(), count.size(), path + ":quality", "count");
  for (std::size_t i = 0; i < stage.size(); ++i) r->quality.push_back({stage[i], reason[i], count[i]});
}

void ReadOverheadsH5(hid_t f, const std::string& path, PipelineResults* r) {
  h5::H5Id g = h5::OpenGroup(f, "overheads");
  const auto is_gpu = h5::ReadVector<std::uint8_t>(g.get(), "is_gpu");
  const auto runs = h5::ReadVector<std::int64_t>(g.get(), "runs");
  const auto energy = h5::ReadVector<double>(g.get(), "energy_overhead");
  const auto runtime = h5::ReadVector<double>(g.get(), "runtime_overhead");
  CheckRows(is_gpu.size(), runs.size(), path + ":overheads", "runs");
  CheckRows(is_gpu.size(), energy.size(), path + ":overheads", "energy_overhead");
  CheckRows(is_gpu.size(), runtime.size(), path + ":overheads", "runtime_overhead");
  for (std::size_t i = 0; i < is_gpu.size(); ++i)
    r->overheads.push_back({is_gpu[i] != 0, runs[i], energy[i], runtime[i]});
}

// The model_<class> groups, in model_classes order (older files: by name).
void ReadModelsH5(hid_t f, const std::string& path, PipelineResults* r) {
  std::vector<std::string> classes;
  if (h5::Exists(f, "model_classes")) {
    classes = h5::ReadStrings(f, "model_classes");
  } else {
    for (const auto& name : ChildNames(f)) {
      if (name.rfind("model_", 0) == 0) classes.push_back(name.substr(6));
    }
  }
  for (const auto& cls : classes) {
    h5::H5Id g = h5::OpenGroup(f, "model_" + cls);
    const hid_t id = g.get();
    const std::string where = path + ":model_" + cls;
    ModelResult m;
    m.hardware_class = cls;
    const auto name = h5::ReadStrings(id, "parameter");
    const auto value = h5::ReadVector<double>(id, "value");
    const auto std_error = h5::ReadVector<double>(id, "std_error");
    const auto unit = h5::ReadStrings(id, "unit");
    const auto determined = h5::ReadVector<std::uint8_t>(id, "determined");
    const auto reason = h5::ReadStrings(id, "reason");
    CheckRows(name.size(), value.size(), where, "value");
    CheckRows(name.size(), std_error.size(), where, "std_error");
    CheckRows(name.size(), unit.size(), where, "unit");
    CheckRows(name.size(), determined.size(), where, "determined");
    CheckRows(name.size(), reason.size(), where, "reason");
    for (std::size_t i = 0; i < name.size(); ++i) {
      m.parameters.push_back({name[i], value[i], FromNan(std_error[i]), unit[i], determined[i] != 0, reason[i]});
    }
    m.fitted = h5::GetIntAttribute(id, "fitted") != 0;
    m.message = h5::GetStringAttribute(id, "message");
    m.runs = h5::GetIntAttribute(id, "runs");
    m.median_ratio = h5::GetDoubleAttribute(id, "median_ratio");
    m.sigma_log_ratio = h5::GetDoubleAttribute(id, "sigma_log_ratio");
    m.median_abs_log_error = h5::GetDoubleAttribute(id, "median_abs_log_error");
    m.cv_median_abs_log_error = h5::GetDoubleAttribute(id, "cv_median_abs_log_error");
    m.baseline_c0 = h5::GetDoubleAttribute(id, "baseline_c0");
    m.baseline_c1 = h5::GetDoubleAttribute(id, "baseline_c1");
    m.baseline_median_abs_log_error = h5::GetDoubleAttribute(id, "baseline_median_abs_log_error");
    m.baseline_sigma_log_ratio = h5::GetDoubleAttribute(id, "baseline_sigma_log_ratio");
    m.baseline_cv_median_abs_log_error = h5::GetDoubleAttribute(id, "baseline_cv_median_abs_log_error");
    m.fit_seconds = h5::GetDoubleAttribute(id, "fit_seconds");
    const auto levels = h5::ReadVector<double>(id, "ratio_quantile_levels");
    const auto quantiles = h5::ReadVector<double>(id, "ratio_quantiles");
    CheckRows(levels.size(), quantiles.size(), where, "ratio_quantiles");
    for (std::size_t i = 0; i < levels.size(); ++i) m.ratio_quantiles.emplace_back(levels[i], quantiles[i]);
    r->models.push_back(std::move(m));
  }
}

void ReadPredictionsH5(hid_t f, const std::string& path, PipelineResults* r) {
  h5::H5Id g = h5::OpenGroup(f, "predictions");
  const hid_t id = g.get();
  const auto run_id = h5::ReadStrings(id, "run_id");
  const auto is_gpu = h5::ReadVector<std::uint8_t>(id, "is_gpu");
  const auto measured = h5::ReadVector<double>(id, "measured");
  const auto predicted = h5::ReadVector<double>(id, "predicted");
  const auto baseline = h5::ReadVector<double>(id, "baseline_predicted");
  const std::string where = path + ":predictions";
  CheckRows(run_id.size(), is_gpu.size(), where, "is_gpu");
  CheckRows(run_id.size(), measured.size(), where, "measured");
  CheckRows(run_id.size(), predicted.size(), where, "predicted");
  CheckRows(run_id.size(), baseline.size(), where, "baseline_predicted");
  r->predictions.reserve(run_id.size());
  for (std::size_t i = 0; i < run_id.size(); ++i) {
    r->predictions.push_back({run_id[i], is_gpu[i] != 0, measured[i], predicted[i], baseline[i]});
  }
}

void ReadLossesH5(hid_t f, const std::string& path, PipelineResults* r) {
  h5::H5Id g = h5::OpenGroup(f, "losses");
  r->loss_experiment = h5::ReadStrings(g.get(), "experiment_id");
  r->loss_epoch = h5::ReadVector<std::int64_t>(g.get(), "epoch");
  r->loss_value = h5::ReadVector<double>(g.get(), "test_loss");
  CheckRows(r->loss_experiment.size(), r->loss_epoch.size(), path + ":losses", "epoch");
  CheckRows(r->loss_experiment.size(), r->loss_value.size(), path + ":losses", "test_loss");
}

// Readings per (day, node type) (absent from older files: then none).
void ReadCoverageH5(hid_t f, const std::string& path, PipelineResults* r) {
  if (!h5::Exists(f, "telemetry_coverage")) return;
  h5::H5Id g = h5::OpenGroup(f, "telemetry_coverage");
  const auto day = h5::ReadVector<std::int64_t>(g.get(), "day");
  const auto type = h5::ReadStrings(g.get(), "node_type");
  const auto readings = h5::ReadVector<std::int64_t>(g.get(), "readings");
  CheckRows(day.size(), type.size(), path + ":telemetry_coverage", "node_type");
  CheckRows(day.size(), readings.size(), path + ":telemetry_coverage", "readings");
  for (std::size_t i = 0; i < day.size(); ++i) r->coverage.push_back({day[i], type[i], readings[i]});
}

// Root attributes that say where the file came from (older files: none).
void ReadProvenance(hid_t f, PipelineResults* r) {
  auto text = [f](const char* name) { return h5::HasAttribute(f, name) ? h5::GetStringAttribute(f, name) : ""; };
  r->wattrun_version = text("wattrun_version");
  r->created_utc = text("created_utc");
  r->command_line = text("command_line");
  r->config_yaml = text("config_yaml");
  r->slurm_job_id = text("slurm_job_id");
}

// The memory levels per class (absent from older files: then none).
void ReadMemoryLevelsH5(hid_t f, const std::string& path, PipelineResults* r) {
  if (!h5::Exists(f, "memory_levels")) return;
  h5::H5Id g = h5::OpenGroup(f, "memory_levels");
  const hid_t id = g.get();
  const std::string where = path + ":memory_levels";
  const auto cls = h5::ReadStrings(id, "hardware_class");
  const auto gpu = h5::ReadVector<std::uint8_t>(id, "is_gpu");
  const auto level = h5::ReadVector<std::int32_t>(id, "level");
  const auto bytes = h5::ReadVector<double>(id, "bytes_per_unit");
  const auto units = h5::ReadVector<std::int64_t>(id, "units");
  CheckRows(cls.size(), gpu.size(), where, "is_gpu");
  CheckRows(cls.size(), level.size(), where, "level");
  CheckRows(cls.size(), bytes.size(), where, "bytes_per_unit");
  CheckRows(cls.size(), units.size(), where, "units");
  const auto classes = h5::ReadStrings(id, "classes");
  const auto class_gpu = h5::ReadVector<std::uint8_t>(id, "class_is_gpu");
  CheckRows(classes.size(), class_gpu.size(), where, "class_is_gpu");
  for (std::size_t c = 0; c < classes.size(); ++c) {
    ClassMemory m{classes[c], class_gpu[c] != 0, {}};
    for (std::size_t i = 0; i < cls.size(); ++i) {
      if (cls[i] == m.hardware_class) m.levels.push_back({level[i], bytes[i], units[i]});
    }
    r->memory_levels.push_back(std::move(m));
  }
}

}  // namespace

PipelineResults ReadResultsH5(const std::string& path) {
  PipelineResults r;
  h5::File file = h5::File::Open(path, h5::Mode::kReadOnly);
  const hid_t f = file.id();
  r.facility = h5::GetStringAttribute(f, "facility");
  r.integration = h5::GetStringAttribute(f, "integration");
  r.idle_method = h5::GetStringAttribute(f, "idle_method");
  r.carbon_g_per_kwh = h5::GetDoubleAttribute(f, "carbon_g_per_kwh");
  r.pue = h5::GetDoubleAttribute(f, "pue");
  r.telemetry_seconds = h5::GetDoubleAttribute(f, "telemetry_seconds");
  r.telemetry_readings = h5::GetIntAttribute(f, "telemetry_readings");
  // Written since the report stage; older files get the defaults.
  if (h5::HasAttribute(f, "telemetry_bytes")) r.telemetry_bytes = h5::GetIntAttribute(f, "telemetry_bytes");
  if (h5::HasAttribute(f, "carbon_source")) r.carbon_source = h5::GetStringAttribute(f, "carbon_source");
  if (h5::HasAttribute(f, "store_path")) r.store_path = h5::GetStringAttribute(f, "store_path");
  r.idle_quantile = DoubleAttr(f, "idle_quantile", r.idle_quantile);
  r.filter_max_run_time_s = DoubleAttr(f, "filter_max_run_time_s", r.filter_max_run_time_s);
  r.filter_max_stdevs = DoubleAttr(f, "filter_max_stdevs", r.filter_max_stdevs);

  ReadRunsH5(f, path, &r);
  ReadFeaturesH5(f, path, &r);
  ReadIdlePowerH5(f, path, &r);
  ReadNodeDistH5(f, path, &r);
  ReadQualityH5(f, path, &r);
  ReadQualityFilesH5(f, path, &r);
  ReadOverheadsH5(f, path, &r);
  ReadModelsH5(f, path, &r);
  ReadPredictionsH5(f, path, &r);
  ReadLossesH5(f, path, &r);
  ReadMemoryLevelsH5(f, path, &r);
  ReadFacilityH5(f, path, &r);
  ReadCoverageH5(f, path, &r);
  ReadProvenance(f, &r);
  file.Close();
  return r;
}

}  // namespace wattrun::results
