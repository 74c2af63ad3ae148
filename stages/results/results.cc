#include "stages/results/results.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>

#include "core/error.h"
#include "core/file_io.h"
#include "core/h5.h"
#include "core/time.h"
#include "core/version.h"
#include "stages/results/schema.h"

namespace wattrun::results {
namespace fs = std::filesystem;
namespace {

// A schema table as CSV: its kYes columns in table order, then the kLater
// ones, then the kLast ones. Streamed through core's AtomicFileWriter
// (temporary, fsync, rename, fsync of the directory): a killed run never
// leaves a half table. Formatted into the writer's buffer, not a stream: a
// facility's jobs_energy.csv is ~20 M fields, and a stream's per-insert
// checks cost more than the fields' formatting.
template <typename Row>
void WriteTableCsv(const schema::Table<Row>& table, const std::vector<Row>& rows, const std::string& path) {
  std::vector<const schema::Column<Row>*> columns;
  for (schema::Csv place : {schema::Csv::kYes, schema::Csv::kLater, schema::Csv::kLast}) {
    for (const auto& c : table) {
      if (c.csv == place) columns.push_back(&c);
    }
  }
  AtomicFileWriter file(path);
  std::string& text = file.buffer();
  for (std::size_t i = 0; i < columns.size(); ++i) (text += i ? "," : "") += columns[i]->name;
  text += '\n';
  for (const Row& row : rows) {
    for (std::size_t i = 0; i < columns.size(); ++i) {
      if (i) text += ',';
      text += columns[i]->csv_field(row);
    }
    text += '\n';
    file.FlushIfFull();
  }
  file.Commit();
}

template <typename Row, typename F>
auto Col(const std::vector<Row>& rows, F get) {
  std::vector<decltype(get(rows[0]))> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(get(r));
  return out;
}

// The dataset's `units` and `description` attributes.
void Describe(hid_t loc, const std::string& name, const std::string& units, const std::string& description) {
  h5::H5Id dataset(h5::CheckId(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), "H5Dopen2", name));
  h5::SetAttribute(dataset.get(), "units", units);
  h5::SetAttribute(dataset.get(), "description", description);
}

// A schema table's columns as datasets of the group, described; their names
// are appended to the group's `columns` attribute (comma-separated, in table
// order, set once), so that the file says what each column is and their order.
template <typename Row>
void WriteTableH5(hid_t group, const schema::Table<Row>& table, const std::vector<Row>& rows) {
  std::string columns = h5::HasAttribute(group, "columns") ? h5::GetStringAttribute(group, "columns") : "";
  for (const auto& c : table) {
    c.write_h5(group, rows);
    Describe(group, c.name, c.units, c.description);
    columns += (columns.empty() ? "" : ",") + c.name;
  }
  if (!columns.empty()) h5::SetAttribute(group, "columns", columns);
}

// A dataset beside the tables (not one of the group's columns), described.
template <typename T>
void WriteArray(hid_t loc, const schema::Array& array, const std::vector<T>& values) {
  if constexpr (std::is_same_v<T, std::string>) {
    h5::WriteStrings(loc, array.name, values, h5::StringLayout::kFixedWhenCompact);
  } else {
    h5::WriteVector(loc, array.name, values);
  }
  Describe(loc, array.name, array.units, array.description);
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

// A group holding one schema table.
template <typename Row>
void WriteGroupH5(hid_t f, const char* group, const schema::Table<Row>& table, const std::vector<Row>& rows) {
  h5::H5Id g = h5::EnsureGroup(f, group);
  WriteTableH5(g.get(), table, rows);
}

// The facility-accounting tables (spec section 5) and the intensity series.
void WriteFacilityH5(hid_t f, const PipelineResults& r) {
  WriteJobsH5(f, r.jobs);
  WriteJobNodesH5(f, r.job_nodes);
  WriteGroupH5(f, "usage", schema::UsageTable(), r.usage);
  WriteGroupH5(f, "ledger", schema::LedgerTable(), r.ledger);
  h5::H5Id g = h5::EnsureGroup(f, "carbon_intensity");
  WriteTableH5(g.get(), schema::CarbonIntensityTable(), r.carbon_intensity);
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

// The memory levels per class: one row per (class, level), so that h5py
// reads it as a table, and the classes in order, including any without levels.
void WriteMemoryLevelsH5(hid_t f, const PipelineResults& r) {
  h5::H5Id g = h5::EnsureGroup(f, "memory_levels");
  std::vector<schema::MemoryLevelRow> rows;
  for (const auto& c : r.memory_levels) {
    for (const auto& l : c.levels) rows.push_back({c.hardware_class, c.is_gpu, l.level, l.bytes_per_unit, l.units});
  }
  WriteTableH5(g.get(), schema::MemoryLevelsTable(), rows);
  WriteArray(g.get(), schema::kClasses, Col(r.memory_levels, [](const ClassMemory& v) { return v.hardware_class; }));
  WriteArray(g.get(), schema::kClassIsGpu,
             Col(r.memory_levels, [](const ClassMemory& v) { return std::uint8_t(v.is_gpu); }));
}

void WriteRunsH5(hid_t f, const PipelineResults& r) {
  h5::H5Id g = h5::EnsureGroup(f, "runs_energy");
  const hid_t id = g.get();
  WriteTableH5(id, schema::RunsTable(), r.runs);
  h5::SetAttribute(id, "missing_values", std::string("NaN for numbers, -1 for samples and booleans"));
}

// Idle power per type and each type's low end of readings.
void WriteIdlePowerH5(hid_t f, const PipelineResults& r) {
  h5::H5Id g = h5::EnsureGroup(f, "idle_power");
  const hid_t id = g.get();
  WriteTableH5(id, schema::IdlePowerTable(), r.idle);
  WriteArray(id, schema::kLowEndTypes, Col(r.type_low_end, [](const TypeDistribution& v) { return v.node_type; }));
  for (const auto& t : r.type_low_end) {
    h5::H5Id d = h5::EnsureGroup(id, "low_end/" + t.node_type);
    WriteTableH5(d.get(), schema::LowEndTable(), t.values);
  }
}

void WriteNodeDistH5(hid_t f, const PipelineResults& r) {
  h5::H5Id g = h5::EnsureGroup(f, "node_power_dist");
  const hid_t id = g.get();
  WriteTableH5(id, schema::NodeDistTable(r.node_quantile_names), r.nodes);
  WriteArray(id, schema::kQuantileNames, r.node_quantile_names);
  WriteArray(id, schema::kQuantileLevels, r.node_quantile_levels);
}

// A model_<class> group: the parameters, the fit's summary as attributes.
void WriteModelH5(hid_t f, const ModelResult& m) {
  h5::H5Id g = h5::EnsureGroup(f, "model_" + m.hardware_class);
  const hid_t id = g.get();
  WriteTableH5(id, schema::ModelTable(), m.parameters);
  h5::SetAttribute(id, "fitted", std::int64_t(m.fitted));
  h5::SetAttribute(id, "message", m.message);
  h5::SetAttribute(id, "runs", m.runs);
  for (const auto& figure : schema::ModelFigures()) h5::SetAttribute(id, figure.name, m.*figure.member);
  WriteArray(id, schema::kRatioQuantileLevels, Col(m.ratio_quantiles, [](const auto& p) { return p.first; }));
  WriteArray(id, schema::kRatioQuantiles, Col(m.ratio_quantiles, [](const auto& p) { return p.second; }));
}

void WriteLossesH5(hid_t f, const PipelineResults& r) {
  std::vector<schema::LossRow> rows(r.loss_experiment.size());
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = {r.loss_experiment[i], r.loss_epoch[i], r.loss_value[i]};
  WriteGroupH5(f, "losses", schema::LossesTable(), rows);
}

void WriteH5(const PipelineResults& r, const std::string& path) {
  {
    h5::File file = h5::File::CreateInMemory(path);
    const hid_t f = file.id();
    WriteProvenance(f, r);
    WriteSettings(f, r);
    WriteMemoryLevelsH5(f, r);
    // The order of the model_<class> groups (HDF5 lists groups by name).
    WriteArray(f, schema::kModelClasses, Col(r.models, [](const ModelResult& v) { return v.hardware_class; }));
    WriteRunsH5(f, r);
    WriteGroupH5(f, "features", schema::FeaturesTable(), r.features);
    WriteIdlePowerH5(f, r);
    WriteNodeDistH5(f, r);
    WriteGroupH5(f, "quality", schema::QualityTable(), r.quality);
    WriteGroupH5(f, "quality_files", schema::QualityFilesTable(), r.quality_files);
    WriteGroupH5(f, "overheads", schema::OverheadsTable(), r.overheads);
    for (const auto& m : r.models) WriteModelH5(f, m);
    WriteGroupH5(f, "predictions", schema::PredictionsTable(), r.predictions);
    WriteLossesH5(f, r);
    WriteFacilityH5(f, r);
    WriteGroupH5(f, "telemetry_coverage", schema::CoverageTable(), r.coverage);
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

namespace {
void WriteCsvTables(const PipelineResults& r, const fs::path& d) {
  WriteTableCsv(schema::RunsTable(), r.runs, (d / "runs_energy.csv").string());
  WriteTableCsv(schema::IdlePowerTable(), r.idle, (d / "idle_power.csv").string());
  WriteTableCsv(schema::NodeDistTable(r.node_quantile_names), r.nodes, (d / "node_power_dist.csv").string());
  WriteTableCsv(schema::QualityTable(), r.quality, (d / "quality.csv").string());
  WriteTableCsv(schema::OverheadsTable(), r.overheads, (d / "overheads.csv").string());
  for (const auto& m : r.models) {
    WriteTableCsv(schema::ModelTable(), m.parameters, (d / ("model_" + m.hardware_class + ".csv")).string());
  }
  WriteTableCsv(schema::PredictionsTable(), r.predictions, (d / "predictions.csv").string());
  WriteTableCsv(schema::JobsTable(), r.jobs, (d / "jobs_energy.csv").string());
  WriteTableCsv(schema::UsageTable(), r.usage, (d / "usage.csv").string());
  WriteTableCsv(schema::LedgerTable(), r.ledger, (d / "ledger.csv").string());
  WriteTableCsv(schema::QualityFilesTable(), r.quality_files, (d / "quality_files.csv").string());
}
}  // namespace

void BeginResults(const std::string& dir) {
  fs::create_directories(dir);
  fs::remove(fs::path(dir) / "_SUCCESS");
}

void FinishResults(const std::string& dir) { WriteFileAtomically((fs::path(dir) / "_SUCCESS").string(), "complete\n"); }

void WriteResults(const PipelineResults& r, const std::string& dir) {
  const fs::path d(dir);
  // The CSVs are formatted and written on a second thread while this one
  // builds results.h5: at a facility's scale each takes seconds (scale 1:
  // jobs_energy.csv 1.5 s, results.h5 2.5 s), and the rank's other core
  // has nothing to do then. HDF5 stays on this thread (the library is not
  // built thread-safe). A failure on either side is the one reported.
  std::exception_ptr csv_failure;
  {
    std::jthread csv([&] {
      try {
        WriteCsvTables(r, d);
      } catch (...) {
        csv_failure = std::current_exception();
      }
    });
    WriteH5(r, (d / "results.h5").string());
  }  // joined here, also when WriteH5 throws
  if (csv_failure) std::rethrow_exception(csv_failure);
}

}  // namespace wattrun::results

namespace wattrun::results {
namespace {

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
// keep the rows' defaults, derived columns are not read.
template <typename Row>
std::vector<Row> ReadTableH5(hid_t group, const std::string& where, const schema::Table<Row>& table) {
  TableReader t(group, where);
  std::vector<Row> rows;
  for (const auto& c : table) {
    if (!c.read_h5 || (c.optional && !h5::Exists(group, c.name))) continue;
    c.read_h5(t, &rows);
  }
  return rows;
}

// The table of group `name` of f.
template <typename Row>
std::vector<Row> ReadGroupH5(hid_t f, const std::string& path, const char* name, const schema::Table<Row>& table) {
  h5::H5Id g = h5::OpenGroup(f, name);
  return ReadTableH5(g.get(), path + ":" + name, table);
}

// Throws unless every row's `index` is a row of the table `of` (size n): a
// negative index reads back as a huge one.
template <typename Row>
void CheckIndex(const std::vector<Row>& rows, std::size_t Row::*index, std::size_t n, const std::string& where,
                const char* name, const char* of) {
  for (const auto& x : rows) {
    if (x.*index >= n) {
      throw Error(where + ": " + name + " " + std::to_string(static_cast<std::int64_t>(x.*index)) +
                  " is not a row of " + of);
    }
  }
}

// The facility tables; a results.h5 from before them has none of the groups
// (then the tables stay empty).
void ReadFacilityH5(hid_t f, const std::string& path, PipelineResults* r) {
  if (h5::Exists(f, "jobs_energy")) r->jobs = ReadGroupH5(f, path, "jobs_energy", schema::JobsTable());
  if (h5::Exists(f, "job_nodes")) {
    r->job_nodes = ReadGroupH5(f, path, "job_nodes", schema::JobNodesTable());
    CheckIndex(r->job_nodes, &JobNodeRow::job, r->jobs.size(), path + ":job_nodes", "job", "jobs_energy");
  }
  if (h5::Exists(f, "usage")) r->usage = ReadGroupH5(f, path, "usage", schema::UsageTable());
  if (h5::Exists(f, "ledger")) r->ledger = ReadGroupH5(f, path, "ledger", schema::LedgerTable());
  if (h5::Exists(f, "carbon_intensity")) {
    r->carbon_intensity = ReadGroupH5(f, path, "carbon_intensity", schema::CarbonIntensityTable());
  }
}

}  // namespace

std::string ReadRecordedStorePath(const std::string& results_h5_path) {
  h5::File file = h5::File::Open(results_h5_path, h5::Mode::kReadOnly);
  return h5::HasAttribute(file.id(), "store_path") ? h5::GetStringAttribute(file.id(), "store_path") : "";
}

namespace {

// Idle power per type and each type's low end of readings.
void ReadIdlePowerH5(hid_t f, const std::string& path, PipelineResults* r) {
  h5::H5Id g = h5::OpenGroup(f, "idle_power");
  const hid_t id = g.get();
  const std::string where = path + ":idle_power";
  r->idle = ReadTableH5(id, where, schema::IdlePowerTable());
  std::vector<std::string> low_end_types;
  if (h5::Exists(id, schema::kLowEndTypes.name)) {
    low_end_types = h5::ReadStrings(id, schema::kLowEndTypes.name);
  } else if (h5::Exists(id, "low_end")) {
    h5::H5Id le = h5::OpenGroup(id, "low_end");
    low_end_types = ChildNames(le.get());
  }
  for (const auto& t : low_end_types) {
    h5::H5Id d = h5::OpenGroup(id, "low_end/" + t);
    r->type_low_end.push_back({t, ReadTableH5(d.get(), where + "/low_end/" + t, schema::LowEndTable())});
  }
}

void ReadNodeDistH5(hid_t f, const std::string& path, PipelineResults* r) {
  h5::H5Id g = h5::OpenGroup(f, "node_power_dist");
  const hid_t id = g.get();
  r->node_quantile_names = h5::ReadStrings(id, schema::kQuantileNames.name);
  r->node_quantile_levels = h5::ReadVector<double>(id, schema::kQuantileLevels.name);
  r->nodes = ReadTableH5(id, path + ":node_power_dist", schema::NodeDistTable(r->node_quantile_names));
}

// The model_<class> groups, in model_classes order (older files: by name).
void ReadModelsH5(hid_t f, const std::string& path, PipelineResults* r) {
  std::vector<std::string> classes;
  if (h5::Exists(f, schema::kModelClasses.name)) {
    classes = h5::ReadStrings(f, schema::kModelClasses.name);
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
    m.parameters = ReadTableH5(id, where, schema::ModelTable());
    m.fitted = h5::GetIntAttribute(id, "fitted") != 0;
    m.message = h5::GetStringAttribute(id, "message");
    m.runs = h5::GetIntAttribute(id, "runs");
    for (const auto& figure : schema::ModelFigures()) m.*figure.member = h5::GetDoubleAttribute(id, figure.name);
    const auto levels = h5::ReadVector<double>(id, schema::kRatioQuantileLevels.name);
    const auto quantiles = h5::ReadVector<double>(id, schema::kRatioQuantiles.name);
    CheckRows(levels.size(), quantiles.size(), where, schema::kRatioQuantiles.name);
    for (std::size_t i = 0; i < levels.size(); ++i) m.ratio_quantiles.emplace_back(levels[i], quantiles[i]);
    r->models.push_back(std::move(m));
  }
}

void ReadLossesH5(hid_t f, const std::string& path, PipelineResults* r) {
  for (auto& x : ReadGroupH5(f, path, "losses", schema::LossesTable())) {
    r->loss_experiment.push_back(std::move(x.experiment_id));
    r->loss_epoch.push_back(x.epoch);
    r->loss_value.push_back(x.test_loss);
  }
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
  const auto rows = ReadTableH5(id, where, schema::MemoryLevelsTable());
  const auto classes = h5::ReadStrings(id, schema::kClasses.name);
  const auto class_gpu = h5::ReadVector<std::uint8_t>(id, schema::kClassIsGpu.name);
  CheckRows(classes.size(), class_gpu.size(), where, schema::kClassIsGpu.name);
  for (std::size_t c = 0; c < classes.size(); ++c) {
    ClassMemory m{classes[c], class_gpu[c] != 0, {}};
    for (const auto& x : rows) {
      if (x.hardware_class == m.hardware_class) m.levels.push_back({x.level, x.bytes_per_unit, x.units});
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

  r.runs = ReadGroupH5(f, path, "runs_energy", schema::RunsTable());
  r.features = ReadGroupH5(f, path, "features", schema::FeaturesTable());
  CheckIndex(r.features, &FeatureRow::run, r.runs.size(), path + ":features", "run", "runs_energy");
  ReadIdlePowerH5(f, path, &r);
  ReadNodeDistH5(f, path, &r);
  r.quality = ReadGroupH5(f, path, "quality", schema::QualityTable());
  // Older files have no quality_files group (the rows stay empty).
  if (h5::Exists(f, "quality_files"))
    r.quality_files = ReadGroupH5(f, path, "quality_files", schema::QualityFilesTable());
  r.overheads = ReadGroupH5(f, path, "overheads", schema::OverheadsTable());
  ReadModelsH5(f, path, &r);
  r.predictions = ReadGroupH5(f, path, "predictions", schema::PredictionsTable());
  ReadLossesH5(f, path, &r);
  ReadMemoryLevelsH5(f, path, &r);
  ReadFacilityH5(f, path, &r);
  // Readings per (day, node type); older files have none.
  if (h5::Exists(f, "telemetry_coverage"))
    r.coverage = ReadGroupH5(f, path, "telemetry_coverage", schema::CoverageTable());
  ReadProvenance(f, &r);
  file.Close();
  return r;
}

}  // namespace wattrun::results
