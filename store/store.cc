#include "store/store.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/file_io.h"

namespace wattrun::store {
namespace fs = std::filesystem;
void FsyncPath(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) throw Error(path + ": cannot open for fsync: " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  if (rc != 0) throw Error(path + ": fsync failed: " + std::strerror(saved));
}

namespace {

template <typename Record, typename Field>
std::vector<Field> Column(const std::vector<Record>& rows, Field Record::*member) {
  std::vector<Field> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(r.*member);
  return out;
}

std::vector<std::uint8_t> BoolColumn(const std::vector<RunRecord>& rows) {
  std::vector<std::uint8_t> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(r.is_gpu ? 1 : 0);
  return out;
}

// An optional column as values (0 where absent) and a has_<name> flag.
template <typename T>
void WriteOptional(hid_t group, const std::string& name, const std::vector<JobRecord>& jobs,
                   std::optional<T> JobRecord::*member) {
  std::vector<T> values;
  std::vector<std::uint8_t> has;
  for (const auto& j : jobs) {
    values.push_back((j.*member).value_or(T{}));
    has.push_back((j.*member).has_value() ? 1 : 0);
  }
  h5::WriteVector(group, name, values);
  h5::WriteVector(group, "has_" + name, has);
}

// The optional sacct columns (spec section 4) and each attempt's position.
void WriteJobAccounting(hid_t g, const std::vector<JobRecord>& j) {
  h5::WritePackedStrings(g, "user", Column(j, &JobRecord::user));
  h5::WritePackedStrings(g, "account", Column(j, &JobRecord::account));
  h5::WritePackedStrings(g, "partition", Column(j, &JobRecord::partition));
  WriteOptional(g, "alloc_cpus", j, &JobRecord::alloc_cpus);
  WriteOptional(g, "tres_cpus", j, &JobRecord::tres_cpus);
  WriteOptional(g, "tres_gpus", j, &JobRecord::tres_gpus);
  WriteOptional(g, "consumed_energy_j", j, &JobRecord::consumed_energy_j);
  h5::WritePackedStrings(g, "file", Column(j, &JobRecord::file));
  h5::WriteVector(g, "line", Column(j, &JobRecord::line));
}

void WriteManifest(hid_t file, const Catalogue& c) {
  h5::H5Id g = h5::EnsureGroup(file, "manifest");
  h5::WritePackedStrings(g.get(), "path", Column(c.manifest, &ManifestEntry::path));
  h5::WritePackedStrings(g.get(), "kind", Column(c.manifest, &ManifestEntry::kind));
  h5::WriteVector(g.get(), "size", Column(c.manifest, &ManifestEntry::size));
  h5::WriteVector(g.get(), "mtime_ns", Column(c.manifest, &ManifestEntry::mtime_ns));
  h5::WriteVector(g.get(), "batch", Column(c.manifest, &ManifestEntry::batch));
}

void WriteRuns(hid_t file, const Catalogue& c) {
  h5::H5Id g = h5::EnsureGroup(file, "tables/runs");
  const auto& r = c.runs;
  h5::WritePackedStrings(g.get(), "run_id", Column(r, &RunRecord::run_id));
  h5::WritePackedStrings(g.get(), "experiment_id", Column(r, &RunRecord::experiment_id));
  h5::WritePackedStrings(g.get(), "slurm_job_id", Column(r, &RunRecord::slurm_job_id));
  h5::WritePackedStrings(g.get(), "host_name", Column(r, &RunRecord::host_name));
  h5::WritePackedStrings(g.get(), "shape", Column(r, &RunRecord::shape));
  h5::WritePackedStrings(g.get(), "dataset", Column(r, &RunRecord::dataset));
  h5::WritePackedStrings(g.get(), "optimizer", Column(r, &RunRecord::optimizer));
  h5::WriteVector(g.get(), "start_time_us", Column(r, &RunRecord::start));
  h5::WriteVector(g.get(), "update_time_us", Column(r, &RunRecord::update));
  h5::WriteVector(g.get(), "size", Column(r, &RunRecord::size));
  h5::WriteVector(g.get(), "depth", Column(r, &RunRecord::depth));
  h5::WriteVector(g.get(), "batch_size", Column(r, &RunRecord::batch_size));
  h5::WriteVector(g.get(), "learning_rate", Column(r, &RunRecord::learning_rate));
  h5::WriteVector(g.get(), "is_gpu", BoolColumn(r));
  h5::WritePackedStrings(g.get(), "bad_reason", Column(r, &RunRecord::bad_reason));
  h5::WriteVector(g.get(), "line", Column(r, &RunRecord::line));
}

void WriteJobs(hid_t file, const Catalogue& c) {
  h5::H5Id g = h5::EnsureGroup(file, "tables/jobs");
  const auto& j = c.jobs;
  h5::WritePackedStrings(g.get(), "job_id", Column(j, &JobRecord::job_id));
  h5::WritePackedStrings(g.get(), "node_list", Column(j, &JobRecord::node_list));
  h5::WritePackedStrings(g.get(), "state", Column(j, &JobRecord::state));
  h5::WriteVector(g.get(), "start_us", Column(j, &JobRecord::start));
  std::vector<std::int64_t> end;
  std::vector<std::uint8_t> has_end, has_start;
  for (const auto& x : j) {
    end.push_back(x.end.value_or(0));
    has_end.push_back(x.end.has_value() ? 1 : 0);
    has_start.push_back(x.has_start ? 1 : 0);
  }
  h5::WriteVector(g.get(), "end_us", end);
  h5::WriteVector(g.get(), "has_end", has_end);
  h5::WriteVector(g.get(), "has_start", has_start);
  WriteJobAccounting(g.get(), j);
}

void WriteCarbonIntensity(hid_t file, const Catalogue& c) {
  h5::H5Id g = h5::EnsureGroup(file, "tables/carbon_intensity");
  const auto& ci = c.carbon_intensity;
  h5::WriteVector(g.get(), "time_us", Column(ci, &CarbonIntensityRecord::time));
  h5::WriteVector(g.get(), "g_per_kwh", Column(ci, &CarbonIntensityRecord::g_per_kwh));
}

void WriteNodes(hid_t file, const Catalogue& c) {
  h5::H5Id g = h5::EnsureGroup(file, "tables/nodes");
  const auto& n = c.nodes;
  h5::WritePackedStrings(g.get(), "name", Column(n, &NodeRecord::name));
  h5::WriteVector(g.get(), "cpus", Column(n, &NodeRecord::cpus));
  h5::WriteVector(g.get(), "memory_mb", Column(n, &NodeRecord::memory_mb));
  h5::WriteVector(g.get(), "tmp_disk_mb", Column(n, &NodeRecord::tmp_disk_mb));
  h5::WritePackedStrings(g.get(), "gres", Column(n, &NodeRecord::gres));
  h5::WritePackedStrings(g.get(), "node_type", Column(n, &NodeRecord::node_type));
}

void WriteDatasets(hid_t file, const Catalogue& c) {
  h5::H5Id g = h5::EnsureGroup(file, "tables/datasets");
  const auto& d = c.datasets;
  h5::WritePackedStrings(g.get(), "dataset", Column(d, &DatasetRecord::name));
  h5::WriteVector(g.get(), "n_observations", Column(d, &DatasetRecord::n_observations));
  h5::WriteVector(g.get(), "n_features", Column(d, &DatasetRecord::n_features));
  h5::WriteVector(g.get(), "n_classes", Column(d, &DatasetRecord::n_classes));
  h5::WritePackedStrings(g.get(), "task", Column(d, &DatasetRecord::task));
}

void WriteLosses(hid_t file, const Catalogue& c) {
  h5::H5Id g = h5::EnsureGroup(file, "tables/losses");
  const auto& l = c.losses;
  h5::WritePackedStrings(g.get(), "experiment_id", Column(l, &LossRecord::experiment_id));
  h5::WriteVector(g.get(), "epoch", Column(l, &LossRecord::epoch));
  h5::WriteVector(g.get(), "test_loss", Column(l, &LossRecord::test_loss));
}

void WriteQuality(hid_t file, const Catalogue& c) {
  h5::H5Id g = h5::EnsureGroup(file, "quality");
  const auto& q = c.quality;
  h5::WritePackedStrings(g.get(), "stage", Column(q, &BadRowCount::stage));
  h5::WritePackedStrings(g.get(), "file", Column(q, &BadRowCount::file));
  h5::WritePackedStrings(g.get(), "reason", Column(q, &BadRowCount::reason));
  h5::WriteVector(g.get(), "count", Column(q, &BadRowCount::count));
}

// One table after another, always in this order: the file's layout follows it.
void WriteTables(hid_t file, const Catalogue& c) {
  WriteManifest(file, c);
  WriteRuns(file, c);
  WriteJobs(file, c);
  WriteCarbonIntensity(file, c);
  WriteNodes(file, c);
  WriteDatasets(file, c);
  WriteLosses(file, c);
  WriteQuality(file, c);
}

template <typename Record, typename Field>
void Fill(std::vector<Record>* rows, Field Record::*member, const std::vector<Field>& values) {
  if (rows->empty()) rows->resize(values.size());
  if (values.size() != rows->size()) throw Error("store catalogue: columns of one table differ in length");
  for (std::size_t i = 0; i < values.size(); ++i) (*rows)[i].*member = values[i];
}

template <typename T>
void ReadOptional(hid_t group, const std::string& name, std::vector<JobRecord>* jobs,
                  std::optional<T> JobRecord::*member) {
  if (!h5::Exists(group, name)) return;
  const auto values = h5::ReadVector<T>(group, name);
  const auto has = h5::ReadVector<std::uint8_t>(group, "has_" + name);
  if (values.size() != jobs->size() || has.size() != jobs->size()) {
    throw Error("store catalogue: columns of one table differ in length");
  }
  for (std::size_t i = 0; i < jobs->size(); ++i) {
    if (has[i]) (*jobs)[i].*member = values[i];
  }
}

// Stores written before these columns existed lack them: the fields stay
// absent (empty strings, no values, line 0).
void ReadJobAccounting(hid_t g, std::vector<JobRecord>* j) {
  const auto strings = [&](const char* name, std::string JobRecord::*member) {
    if (h5::Exists(g, name)) Fill(j, member, h5::ReadPackedStrings(g, name));
  };
  strings("user", &JobRecord::user);
  strings("account", &JobRecord::account);
  strings("partition", &JobRecord::partition);
  strings("file", &JobRecord::file);
  if (h5::Exists(g, "line")) Fill(j, &JobRecord::line, h5::ReadVector<std::int64_t>(g, "line"));
  ReadOptional(g, "alloc_cpus", j, &JobRecord::alloc_cpus);
  ReadOptional(g, "tres_cpus", j, &JobRecord::tres_cpus);
  ReadOptional(g, "tres_gpus", j, &JobRecord::tres_gpus);
  ReadOptional(g, "consumed_energy_j", j, &JobRecord::consumed_energy_j);
}

void ReadManifest(hid_t file, Catalogue* c) {
  h5::H5Id g = h5::OpenGroup(file, "manifest");
  Fill(&c->manifest, &ManifestEntry::path, h5::ReadPackedStrings(g.get(), "path"));
  Fill(&c->manifest, &ManifestEntry::kind, h5::ReadPackedStrings(g.get(), "kind"));
  Fill(&c->manifest, &ManifestEntry::size, h5::ReadVector<std::int64_t>(g.get(), "size"));
  Fill(&c->manifest, &ManifestEntry::mtime_ns, h5::ReadVector<std::int64_t>(g.get(), "mtime_ns"));
  Fill(&c->manifest, &ManifestEntry::batch, h5::ReadVector<std::int64_t>(g.get(), "batch"));
}

void ReadRuns(hid_t file, Catalogue* c) {
  h5::H5Id g = h5::OpenGroup(file, "tables/runs");
  auto* r = &c->runs;
  Fill(r, &RunRecord::run_id, h5::ReadPackedStrings(g.get(), "run_id"));
  Fill(r, &RunRecord::experiment_id, h5::ReadPackedStrings(g.get(), "experiment_id"));
  Fill(r, &RunRecord::slurm_job_id, h5::ReadPackedStrings(g.get(), "slurm_job_id"));
  Fill(r, &RunRecord::host_name, h5::ReadPackedStrings(g.get(), "host_name"));
  Fill(r, &RunRecord::shape, h5::ReadPackedStrings(g.get(), "shape"));
  Fill(r, &RunRecord::dataset, h5::ReadPackedStrings(g.get(), "dataset"));
  Fill(r, &RunRecord::optimizer, h5::ReadPackedStrings(g.get(), "optimizer"));
  Fill(r, &RunRecord::start, h5::ReadVector<std::int64_t>(g.get(), "start_time_us"));
  Fill(r, &RunRecord::update, h5::ReadVector<std::int64_t>(g.get(), "update_time_us"));
  Fill(r, &RunRecord::size, h5::ReadVector<std::int64_t>(g.get(), "size"));
  Fill(r, &RunRecord::depth, h5::ReadVector<std::int64_t>(g.get(), "depth"));
  Fill(r, &RunRecord::batch_size, h5::ReadVector<std::int64_t>(g.get(), "batch_size"));
  Fill(r, &RunRecord::learning_rate, h5::ReadVector<double>(g.get(), "learning_rate"));
  const auto gpu = h5::ReadVector<std::uint8_t>(g.get(), "is_gpu");
  for (std::size_t i = 0; i < gpu.size() && i < r->size(); ++i) (*r)[i].is_gpu = gpu[i] != 0;
  Fill(r, &RunRecord::bad_reason, h5::ReadPackedStrings(g.get(), "bad_reason"));
  Fill(r, &RunRecord::line, h5::ReadVector<std::int64_t>(g.get(), "line"));
}

void ReadJobs(hid_t file, Catalogue* c) {
  h5::H5Id g = h5::OpenGroup(file, "tables/jobs");
  auto* j = &c->jobs;
  Fill(j, &JobRecord::job_id, h5::ReadPackedStrings(g.get(), "job_id"));
  Fill(j, &JobRecord::node_list, h5::ReadPackedStrings(g.get(), "node_list"));
  Fill(j, &JobRecord::state, h5::ReadPackedStrings(g.get(), "state"));
  Fill(j, &JobRecord::start, h5::ReadVector<std::int64_t>(g.get(), "start_us"));
  const auto end = h5::ReadVector<std::int64_t>(g.get(), "end_us");
  const auto has_end = h5::ReadVector<std::uint8_t>(g.get(), "has_end");
  const auto has_start = h5::ReadVector<std::uint8_t>(g.get(), "has_start");
  for (std::size_t i = 0; i < j->size(); ++i) {
    if (has_end[i]) (*j)[i].end = end[i];
    (*j)[i].has_start = has_start[i] != 0;
  }
  ReadJobAccounting(g.get(), j);
}

void ReadCarbonIntensity(hid_t file, Catalogue* c) {
  if (!h5::Exists(file, "tables/carbon_intensity")) return;  // a store may lack it: the table stays empty
  h5::H5Id g = h5::OpenGroup(file, "tables/carbon_intensity");
  auto* ci = &c->carbon_intensity;
  Fill(ci, &CarbonIntensityRecord::time, h5::ReadVector<std::int64_t>(g.get(), "time_us"));
  Fill(ci, &CarbonIntensityRecord::g_per_kwh, h5::ReadVector<double>(g.get(), "g_per_kwh"));
}

void ReadNodes(hid_t file, Catalogue* c) {
  h5::H5Id g = h5::OpenGroup(file, "tables/nodes");
  auto* n = &c->nodes;
  Fill(n, &NodeRecord::name, h5::ReadPackedStrings(g.get(), "name"));
  Fill(n, &NodeRecord::cpus, h5::ReadVector<std::int64_t>(g.get(), "cpus"));
  Fill(n, &NodeRecord::memory_mb, h5::ReadVector<std::int64_t>(g.get(), "memory_mb"));
  Fill(n, &NodeRecord::tmp_disk_mb, h5::ReadVector<std::int64_t>(g.get(), "tmp_disk_mb"));
  Fill(n, &NodeRecord::gres, h5::ReadPackedStrings(g.get(), "gres"));
  Fill(n, &NodeRecord::node_type, h5::ReadPackedStrings(g.get(), "node_type"));
}

void ReadDatasets(hid_t file, Catalogue* c) {
  h5::H5Id g = h5::OpenGroup(file, "tables/datasets");
  auto* d = &c->datasets;
  Fill(d, &DatasetRecord::name, h5::ReadPackedStrings(g.get(), "dataset"));
  Fill(d, &DatasetRecord::n_observations, h5::ReadVector<std::int64_t>(g.get(), "n_observations"));
  Fill(d, &DatasetRecord::n_features, h5::ReadVector<std::int64_t>(g.get(), "n_features"));
  Fill(d, &DatasetRecord::n_classes, h5::ReadVector<std::int64_t>(g.get(), "n_classes"));
  Fill(d, &DatasetRecord::task, h5::ReadPackedStrings(g.get(), "task"));
}

void ReadLosses(hid_t file, Catalogue* c) {
  h5::H5Id g = h5::OpenGroup(file, "tables/losses");
  auto* l = &c->losses;
  Fill(l, &LossRecord::experiment_id, h5::ReadPackedStrings(g.get(), "experiment_id"));
  Fill(l, &LossRecord::epoch, h5::ReadVector<std::int64_t>(g.get(), "epoch"));
  Fill(l, &LossRecord::test_loss, h5::ReadVector<double>(g.get(), "test_loss"));
}

void ReadQuality(hid_t file, Catalogue* c) {
  h5::H5Id g = h5::OpenGroup(file, "quality");
  auto* q = &c->quality;
  Fill(q, &BadRowCount::stage, h5::ReadPackedStrings(g.get(), "stage"));
  Fill(q, &BadRowCount::file, h5::ReadPackedStrings(g.get(), "file"));
  Fill(q, &BadRowCount::reason, h5::ReadPackedStrings(g.get(), "reason"));
  Fill(q, &BadRowCount::count, h5::ReadVector<std::int64_t>(g.get(), "count"));
}

void ReadTables(hid_t file, Catalogue* c) {
  ReadManifest(file, c);
  ReadRuns(file, c);
  ReadJobs(file, c);
  ReadCarbonIntensity(file, c);
  ReadNodes(file, c);
  ReadDatasets(file, c);
  ReadLosses(file, c);
  ReadQuality(file, c);
}

void WriteFingerprint(hid_t file, const FacilityFingerprint& f) {
  if (f.empty()) return;
  h5::SetAttribute(file, "input_root", f.input_root);
  h5::SetAttribute(file, "first_telemetry_file", f.first_telemetry_file);
  // As hex text: HDF5 attributes here are signed.
  char hex[2][24];
  std::snprintf(hex[0], sizeof hex[0], "%016llx", static_cast<unsigned long long>(f.first_telemetry_hash));
  std::snprintf(hex[1], sizeof hex[1], "%016llx", static_cast<unsigned long long>(f.inventory_hash));
  h5::SetAttribute(file, "first_telemetry_hash", std::string(hex[0]));
  h5::SetAttribute(file, "inventory_hash", std::string(hex[1]));
}

void ReadFingerprint(hid_t file, FacilityFingerprint* f) {
  if (!h5::HasAttribute(file, "first_telemetry_file")) return;
  f->input_root = h5::GetStringAttribute(file, "input_root");
  f->first_telemetry_file = h5::GetStringAttribute(file, "first_telemetry_file");
  f->first_telemetry_hash = std::strtoull(h5::GetStringAttribute(file, "first_telemetry_hash").c_str(), nullptr, 16);
  f->inventory_hash = std::strtoull(h5::GetStringAttribute(file, "inventory_hash").c_str(), nullptr, 16);
}

}  // namespace

std::string BatchDirectory(const std::string& store_path) { return store_path + ".d"; }

Catalogue ReadCatalogue(const std::string& store_path) {
  if (!fs::exists(store_path)) throw Error(store_path + ": no such store (run `wattrun ingest` first)");
  try {
    h5::VerifySeal(store_path);  // stores written before seals are read as they are
  } catch (const Error& e) {
    throw Error(std::string("store catalogue is damaged: ") + e.what() +
                "; restore it from a backup or re-ingest into a new store");
  }
  h5::File file = h5::File::Open(store_path, h5::Mode::kReadOnly);
  if (!h5::HasAttribute(file.id(), "wattrun_store_version")) {
    throw Error(store_path + ": not a wattrun store (no wattrun_store_version attribute)");
  }
  const std::int64_t version = h5::GetIntAttribute(file.id(), "wattrun_store_version");
  if (version == 1) throw Error(store_path + ": store made by an older wattrun (ms timestamps): re-ingest");
  if (version != kStoreVersion) {
    throw Error(store_path + ": store version " + std::to_string(version) + " is not supported");
  }
  Catalogue c;
  try {
    ReadTables(file.id(), &c);
    if (h5::HasAttribute(file.id(), "facility")) c.config_facility = h5::GetStringAttribute(file.id(), "facility");
    ReadFingerprint(file.id(), &c.fingerprint);
    const std::int64_t batches = h5::GetIntAttribute(file.id(), "telemetry_batches");
    for (std::int64_t b = 1; b <= batches; ++b) {
      char name[64];
      std::snprintf(name, sizeof name, "batch_%06lld.h5", static_cast<long long>(b));
      c.batch_files.push_back(fs::path(store_path).filename().string() + ".d/" + name);
    }
  } catch (const Error& e) {
    throw Error(store_path + ": store catalogue is damaged: " + e.what());
  }
  return c;
}

void WriteCatalogue(const std::string& store_path, const Catalogue& catalogue, const std::string& writer_tag) {
  h5::File file = h5::File::CreateInMemory(store_path, /*sealed=*/true);
  h5::SetAttribute(file.id(), "wattrun_store_version", kStoreVersion);
  h5::SetAttribute(file.id(), "facility", catalogue.config_facility);
  WriteFingerprint(file.id(), catalogue.fingerprint);
  h5::SetAttribute(file.id(), "telemetry_batches", static_cast<std::int64_t>(catalogue.batch_files.size()));
  WriteTables(file.id(), catalogue);
  {
    h5::H5Id tel = h5::EnsureGroup(file.id(), "telemetry");
    for (std::size_t b = 0; b < catalogue.batch_files.size(); ++b) {
      const std::string link = fs::path(catalogue.batch_files[b]).stem().string();
      // Relative target, so a store directory can be moved as a whole.
      h5::CreateExternalLink(tel.get(), link, catalogue.batch_files[b], "/");
    }
  }
  // Temporary name, fsync, rename: the previous catalogue stays in force
  // until the new one is complete on disk.
  file.WriteImage(store_path, writer_tag.empty() ? "" : store_path + ".tmp." + writer_tag);
  const fs::path parent = fs::absolute(store_path).parent_path();
  FsyncPath(parent.string(), true);
}

void VerifyBatch(const std::string& batch_path, const std::vector<std::string>& expected_names,
                 const std::vector<std::int64_t>& expected_offsets) {
  try {
    h5::File file = h5::File::Open(batch_path, h5::Mode::kReadOnly);
    const auto names = h5::ReadStrings(file.id(), "node_names");
    const auto offsets = h5::ReadVector<std::int64_t>(file.id(), "node_offset");
    if (names != expected_names) throw Error("node_names differ from what was written");
    if (offsets != expected_offsets) throw Error("node_offset differs from what was written");
    if (!std::is_sorted(names.begin(), names.end()) || std::adjacent_find(names.begin(), names.end()) != names.end()) {
      throw Error("node_names are not sorted and unique");
    }
    if (offsets.size() != names.size() + 1 || offsets.front() != 0 || !std::is_sorted(offsets.begin(), offsets.end())) {
      throw Error("node_offset is not a CSR index of node_names");
    }
    const std::int64_t rows = offsets.back();
    if (h5::Length(file.id(), "time") != rows || h5::Length(file.id(), "watts") != rows) {
      throw Error("time and watts do not hold the " + std::to_string(rows) + " readings the offsets count");
    }
  } catch (const Error& e) {
    throw Error(batch_path + ": new telemetry batch is not complete, the catalogue is left as it was: " + e.what());
  }
}

// ---------------------------------------------------------------- reader

namespace {

// File address of a dataset's raw data if HDF5 stores it as one plain array
// of `native` (contiguous layout, no filters, this machine's type), else -1.
std::int64_t PlainArrayOffset(hid_t dataset, hid_t native) {
  const h5::H5Id dcpl(H5Dget_create_plist(dataset));
  if (dcpl.get() < 0 || H5Pget_layout(dcpl.get()) != H5D_CONTIGUOUS || H5Pget_nfilters(dcpl.get()) != 0) return -1;
  const h5::H5Id type(H5Dget_type(dataset));
  if (type.get() < 0 || H5Tequal(type.get(), native) <= 0) return -1;
  const haddr_t offset = H5Dget_offset(dataset);
  if (offset == HADDR_UNDEF || offset % 8 != 0) return -1;  // unaligned: read through HDF5
  return static_cast<std::int64_t>(offset);
}

}  // namespace

struct TelemetryReader::Batch {
  std::string path;
  h5::File file;
  h5::H5Id time;
  h5::H5Id watts;
  // When the batch holds its readings as plain arrays (as wattrun writes
  // it), they are read directly with pread(2) into reused buffers (no HDF5
  // call overhead). With WATTRUN_MMAP=1 the pass's chunks are instead read
  // in place through a memory map of just the chunk (no copy; unmapped after
  // the visit, so resident memory stays at one chunk): faster where page
  // faults are cheap, but on VMs where they are not it was 3-10x slower than
  // the copy (scale-1 pass, 2 ranks: 20-40 s mapped, 3.7-8.4 s with pread),
  // so the copy is the default. Batches are never modified once renamed
  // into place.
  int fd = -1;
  bool map_chunks = false;
  std::int64_t time_at = -1;   // file offset of time[0]
  std::int64_t watts_at = -1;  // file offset of watts[0]

  Batch() = default;
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;
  ~Batch() {
    if (fd >= 0) ::close(fd);
  }

  bool plain() const { return fd >= 0; }

  void OpenPlain(std::int64_t rows) {
    // WATTRUN_NO_MMAP=1: every read through HDF5 (the fallback, for tests).
    if (rows == 0 || std::getenv("WATTRUN_NO_MMAP") != nullptr) return;
    const char* map = std::getenv("WATTRUN_MMAP");
    map_chunks = map != nullptr && std::string(map) == "1";
    const std::int64_t t = PlainArrayOffset(time.get(), H5T_NATIVE_INT64);
    const std::int64_t w = PlainArrayOffset(watts.get(), H5T_NATIVE_DOUBLE);
    if (t < 0 || w < 0) return;
    const int f = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (f < 0) return;
    struct stat st {};
    if (::fstat(f, &st) != 0 || t + rows * 8 > st.st_size || w + rows * 8 > st.st_size) {
      ::close(f);  // a short file: the HDF5 reads report it
      return;
    }
    fd = f;
    time_at = t;
    watts_at = w;
  }
};

TelemetryReader::TelemetryReader(const std::string& store_path) {
  const Catalogue catalogue = ReadCatalogue(store_path);
  const fs::path base = fs::absolute(store_path).parent_path();
  std::map<std::string, std::vector<NodeSlice>> by_node;
  for (std::size_t b = 0; b < catalogue.batch_files.size(); ++b) {
    const std::string path = (base / catalogue.batch_files[b]).string();
    auto batch = std::make_unique<Batch>();
    batch->path = path;
    batch->file = h5::File::Open(path, h5::Mode::kReadOnly);
    const auto names = h5::ReadPackedStrings(batch->file.id(), "node_names");
    const auto offsets = h5::ReadVector<std::int64_t>(batch->file.id(), "node_offset");
    if (offsets.size() != names.size() + 1) throw Error(path + ": node_offset does not match node_names");
    const std::int64_t rows = h5::Length(batch->file.id(), "time");
    if (offsets.back() != rows || h5::Length(batch->file.id(), "watts") != rows) {
      throw Error(path + ": batch is truncated or damaged (offsets do not match the readings)");
    }
    batch->time = h5::H5Id(h5::CheckId(H5Dopen2(batch->file.id(), "time", H5P_DEFAULT), "H5Dopen2", path + ":/time"));
    batch->watts =
        h5::H5Id(h5::CheckId(H5Dopen2(batch->file.id(), "watts", H5P_DEFAULT), "H5Dopen2", path + ":/watts"));
    batch->OpenPlain(rows);
    if (batch->plain()) {
      // Read without HDF5 from here on: close the file, so that its caches
      // (a few MB each) do not add up over a store's many monthly batches.
      batch->time.Close();
      batch->watts.Close();
      batch->file.Close();
    }
    for (std::size_t n = 0; n < names.size(); ++n) {
      const std::int64_t count = offsets[n + 1] - offsets[n];
      if (count > 0) by_node[names[n]].push_back(NodeSlice{static_cast<int>(b), offsets[n], count});
    }
    batches_.push_back(std::move(batch));
  }
  for (auto& [name, slices] : by_node) {
    node_names_.push_back(name);
    slices_.push_back(std::move(slices));
  }
}

TelemetryReader::~TelemetryReader() = default;

std::int64_t TelemetryReader::ReadingCount(std::size_t node) const {
  std::int64_t n = 0;
  for (const auto& s : slices_[node]) n += s.count;
  return n;
}

std::int64_t TelemetryReader::TotalReadings() const {
  std::int64_t n = 0;
  for (std::size_t i = 0; i < slices_.size(); ++i) n += ReadingCount(i);
  return n;
}

std::int64_t TelemetryReader::FindNode(const std::string& name) const {
  const auto it = std::lower_bound(node_names_.begin(), node_names_.end(), name);
  if (it == node_names_.end() || *it != name) return -1;
  return it - node_names_.begin();
}

const std::vector<TelemetryReader::SliceSpan>& TelemetryReader::Spans(std::size_t node) {
  if (spans_.size() != slices_.size()) spans_.resize(slices_.size());
  std::vector<SliceSpan>& spans = spans_[node];
  std::vector<NodeSlice>& slices = slices_[node];
  if (spans.size() != slices.size()) {
    std::vector<std::pair<SliceSpan, NodeSlice>> by_time;
    for (const NodeSlice& s : slices) {
      const auto batch = static_cast<std::size_t>(s.batch);
      by_time.push_back({SliceSpan{TimeAt(batch, s.offset), TimeAt(batch, s.offset + s.count - 1)}, s});
    }
    // From here on the node's slices are kept in order of their first time.
    std::stable_sort(by_time.begin(), by_time.end(),
                     [](const auto& a, const auto& b) { return a.first.first < b.first.first; });
    spans.clear();
    slices.clear();
    for (const auto& [span, slice] : by_time) {
      spans.push_back(span);
      slices.push_back(slice);
    }
  }
  return spans;
}

bool TelemetryReader::Disjoint(std::size_t node) {
  const std::vector<SliceSpan>& spans = Spans(node);
  for (std::size_t k = 1; k < spans.size(); ++k) {
    if (spans[k].first <= spans[k - 1].last) return false;
  }
  return true;
}

std::int64_t TelemetryReader::LowerBound(const NodeSlice& s, const SliceSpan& span, TimeUs t) {
  // Interpolation search (readings come at a near-constant cadence, so a
  // guess from the times at both ends lands within a few readings),
  // alternating with bisection so that irregular series stay O(log n).
  if (s.count == 0 || t <= span.first) return 0;
  if (t > span.last) return s.count;
  for (const BoundMemo& m : bound_memo_) {
    if (m.batch == s.batch && m.offset == s.offset && m.t == t) return m.index;
  }
  const auto batch = static_cast<std::size_t>(s.batch);
  auto time_at = [&](std::int64_t i) { return TimeAt(batch, s.offset + i); };
  std::int64_t lo = 0, hi = s.count - 1;
  TimeUs t_lo = span.first, t_hi = span.last;
  // Invariant: time(lo) < t <= time(hi).
  if (hi - lo > 1) {
    // First probe: the readings around the interpolated guess, in one read;
    // at a regular cadence the answer is among them.
    constexpr std::int64_t kWindow = 64;
    const double f = static_cast<double>(t - t_lo) / static_cast<double>(t_hi - t_lo);
    const auto guess = lo + static_cast<std::int64_t>(f * static_cast<double>(hi - lo));
    const std::int64_t a = std::clamp<std::int64_t>(guess - kWindow / 2, lo + 1, hi - 1);
    const std::int64_t b = std::min(a + kWindow, hi);  // window [a, b) inside (lo, hi)
    probe_window_.resize(static_cast<std::size_t>(b - a));
    ReadTimes(batch, s.offset + a, b - a, probe_window_.data());
    const TimeUs* const window = probe_window_.data();
    const TimeUs* const window_end = window + (b - a);
    const TimeUs* const it = std::lower_bound(window, window_end, t);
    if (it == window_end) {
      lo = b - 1;
      t_lo = window_end[-1];
    } else if (it == window) {
      hi = a;
      t_hi = window[0];
    } else {
      hi = a + (it - window);
      lo = hi - 1;
    }
  }
  for (int step = 0; hi - lo > 1; ++step) {
    std::int64_t guess = lo + (hi - lo) / 2;
    if (step % 2 == 0 && t_hi > t_lo) {
      const double f = static_cast<double>(t - t_lo) / static_cast<double>(t_hi - t_lo);
      guess =
          std::clamp<std::int64_t>(lo + static_cast<std::int64_t>(f * static_cast<double>(hi - lo)), lo + 1, hi - 1);
    }
    const TimeUs v = time_at(guess);
    if (v < t) {
      lo = guess;
      t_lo = v;
    } else {
      hi = guess;
      t_hi = v;
    }
  }
  bound_memo_[bound_memo_next_++ % bound_memo_.size()] = BoundMemo{s.batch, s.offset, t, hi};
  return hi;
}

std::vector<NodeSlice> TelemetryReader::SubSlices(std::size_t node, TimeUs from, TimeUs until) {
  const std::vector<SliceSpan>& spans = Spans(node);
  std::vector<NodeSlice> out;
  for (std::size_t k = 0; k < spans.size(); ++k) {
    const NodeSlice& s = slices_[node][k];
    if (spans[k].last < from || spans[k].first >= until) continue;
    const std::int64_t lo = LowerBound(s, spans[k], from);
    const std::int64_t hi = LowerBound(s, spans[k], until);
    if (hi > lo) out.push_back(NodeSlice{s.batch, s.offset + lo, hi - lo});
  }
  return out;
}

std::int64_t TelemetryReader::CountInRange(std::size_t node, TimeUs from, TimeUs until) {
  std::int64_t n = 0;
  for (const NodeSlice& s : SubSlices(node, from, until)) n += s.count;
  return n;
}

std::pair<TimeUs, TimeUs> TelemetryReader::TimeSpan(std::size_t node) {
  TimeUs first = 0, last = 0;
  bool any = false;
  for (const SliceSpan& span : Spans(node)) {
    first = any ? std::min(first, span.first) : span.first;
    last = any ? std::max(last, span.last) : span.last;
    any = true;
  }
  return {first, last};
}

bool TelemetryReader::ReadingBefore(std::size_t node, TimeUs from, TimeUs* time, double* watts) {
  bool found = false;
  const std::vector<SliceSpan>& spans = Spans(node);
  for (std::size_t k = 0; k < spans.size(); ++k) {
    const NodeSlice& s = slices_[node][k];
    if (spans[k].first >= from || (found && spans[k].last <= *time)) continue;  // nothing before, or not later
    const std::int64_t i = LowerBound(s, spans[k], from) - 1;
    TimeUs t = 0;
    double w = 0;
    ReadChunk(static_cast<std::size_t>(s.batch), s.offset + i, 1, &t, &w);
    if (!found || t > *time) {
      *time = t;
      *watts = w;
      found = true;
    }
  }
  return found;
}

bool TelemetryReader::ReadingFrom(std::size_t node, TimeUs until, TimeUs* time, double* watts) {
  bool found = false;
  const std::vector<SliceSpan>& spans = Spans(node);
  for (std::size_t k = 0; k < spans.size(); ++k) {
    const NodeSlice& s = slices_[node][k];
    if (spans[k].last < until || (found && spans[k].first >= *time)) continue;  // nothing after, or not earlier
    const std::int64_t i = LowerBound(s, spans[k], until);
    TimeUs t = 0;
    double w = 0;
    ReadChunk(static_cast<std::size_t>(s.batch), s.offset + i, 1, &t, &w);
    if (!found || t < *time) {
      *time = t;
      *watts = w;
      found = true;
    }
  }
  return found;
}

void TelemetryReader::ReadRange(std::size_t node, TimeUs t_min, TimeUs t_max, std::vector<TimeUs>* time,
                                std::vector<double>* watts) {
  time->clear();
  watts->clear();
  for (const NodeSlice& s : slices_[node]) {
    auto time_at = [&](std::int64_t i) { return TimeAt(static_cast<std::size_t>(s.batch), s.offset + i); };
    // First index with time >= t_min, and first with time > t_max.
    std::int64_t lo = 0, hi = s.count;
    while (lo < hi) {
      const std::int64_t mid = lo + (hi - lo) / 2;
      if (time_at(mid) < t_min)
        lo = mid + 1;
      else
        hi = mid;
    }
    std::int64_t lo2 = lo, hi2 = s.count;
    while (lo2 < hi2) {
      const std::int64_t mid = lo2 + (hi2 - lo2) / 2;
      if (time_at(mid) <= t_max)
        lo2 = mid + 1;
      else
        hi2 = mid;
    }
    const std::int64_t n = lo2 - lo;
    if (n <= 0) continue;
    const std::size_t old = time->size();
    time->resize(old + static_cast<std::size_t>(n));
    watts->resize(old + static_cast<std::size_t>(n));
    ReadChunk(static_cast<std::size_t>(s.batch), s.offset + lo, n, time->data() + old, watts->data() + old);
  }
}

TelemetryReader::MappedReadings::~MappedReadings() {
  for (const Region& r : regions_) {
    if (r.base != nullptr) ::munmap(r.base, r.bytes);
  }
}

bool TelemetryReader::MapReadings(std::size_t batch, std::int64_t offset, std::int64_t count, MappedReadings* out) {
  const Batch& b = *batches_[batch];
  if (!b.plain() || !b.map_chunks || count <= 0) return false;
  static const auto page = static_cast<std::int64_t>(::sysconf(_SC_PAGESIZE));
  const void* arrays[2] = {nullptr, nullptr};
  const std::int64_t starts[2] = {b.time_at, b.watts_at};
  for (int k = 0; k < 2; ++k) {
    const std::int64_t begin = starts[k] + offset * 8;
    const std::int64_t first = begin / page * page;
    const auto bytes = static_cast<std::size_t>(begin + count * 8 - first);
    void* p = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, b.fd, first);
    if (p == MAP_FAILED) return false;  // the destructor unmaps what was mapped
    out->regions_[k] = {p, bytes};
    arrays[k] = static_cast<const char*>(p) + (begin - first);
  }
  out->time_ = static_cast<const TimeUs*>(arrays[0]);
  out->watts_ = static_cast<const double*>(arrays[1]);
  return true;
}

std::size_t TelemetryReader::DirectBatches() const {
  std::size_t n = 0;
  for (const auto& b : batches_) n += b->plain() ? 1 : 0;
  return n;
}

// Small and random reads go through pread, not the map: touching a mapped
// page maps its neighbours too (fault-around), and thousands of probes would
// show up as gigabytes of resident memory.
TimeUs TelemetryReader::TimeAt(std::size_t batch, std::int64_t index) {
  TimeUs v = 0;
  ReadTimes(batch, index, 1, &v);
  return v;
}

void TelemetryReader::ReadTimes(std::size_t batch, std::int64_t offset, std::int64_t count, TimeUs* time) {
  const Batch& b = *batches_[batch];
  if (b.plain()) {
    PreadAll(b.fd, b.path, b.time_at + offset * 8, static_cast<std::size_t>(count) * 8, time);
  } else {
    h5::ReadSlice(b.time.get(), offset, count, time);
  }
}

void TelemetryReader::ReadChunk(std::size_t batch, std::int64_t offset, std::int64_t count, TimeUs* time,
                                double* watts) {
  ReadTimes(batch, offset, count, time);
  const Batch& b = *batches_[batch];
  if (b.plain()) {
    PreadAll(b.fd, b.path, b.watts_at + offset * 8, static_cast<std::size_t>(count) * 8, watts);
  } else {
    h5::ReadSlice(b.watts.get(), offset, count, watts);
  }
  bytes_read_ += count * static_cast<std::int64_t>(sizeof(TimeUs) + sizeof(double));
}

}  // namespace wattrun::store
