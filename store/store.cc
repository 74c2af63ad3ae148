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
#include <functional>
#include <limits>
#include <optional>
#include <type_traits>
#include <unordered_map>

#include "core/error.h"
#include "core/file_io.h"
#include "store/batch_encoding.h"

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

// One dataset of a catalogue table: its name, and how one member of the
// table's record is written to it and read back. Each dataset of the
// catalogue is named here once; the writer and the reader both iterate these.
template <typename Record>
struct StoreColumn {
  std::string name;
  std::function<void(hid_t, const std::vector<Record>&)> write;
  std::function<void(hid_t, std::vector<Record>*)> read;
};

template <typename Record>
struct StoreTable {
  const char* group;
  bool may_be_absent;  // stores written before the table existed lack its group
  std::vector<StoreColumn<Record>> columns;
};

// The table's rows take their count from the first column read; every other
// column must have as many.
template <typename Record>
void CheckLength(std::vector<Record>* rows, std::size_t n) {
  if (rows->empty()) rows->resize(n);
  if (n != rows->size()) throw Error("store catalogue: columns of one table differ in length");
}

// Moves each value in (strings: no second copy of a column's text).
template <typename Record, typename Field, typename Value>
void Fill(std::vector<Record>* rows, Field Record::*member, std::vector<Value>&& values) {
  CheckLength(rows, values.size());
  for (std::size_t i = 0; i < values.size(); ++i) (*rows)[i].*member = static_cast<Field>(std::move(values[i]));
}

// Symbols as their texts, made once for each run of equal values (a sorted
// column, or one state that most rows share, takes no lock at all).
template <typename Record>
void FillSymbols(std::vector<Record>* rows, Symbol Record::*member, const std::vector<std::string>& values) {
  CheckLength(rows, values.size());
  Symbol last;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i] != last.view()) last = Symbol(values[i]);
    (*rows)[i].*member = last;
  }
}

// A column of integers in 4 bytes a value when every value fits (line
// numbers, CPU counts, epochs), else 8; readers read either into int64
// (HDF5 converts), so the narrow column needs no new store version.
template <typename T>
void WriteNarrowed(hid_t g, const std::string& name, const std::vector<T>& values) {
  if constexpr (std::is_same_v<T, std::int64_t>) {
    const auto fits = [](std::int64_t v) {
      return v >= std::numeric_limits<std::int32_t>::min() && v <= std::numeric_limits<std::int32_t>::max();
    };
    if (std::all_of(values.begin(), values.end(), fits)) {
      h5::WriteVector(g, name, std::vector<std::int32_t>(values.begin(), values.end()));
      return;
    }
  }
  h5::WriteVector(g, name, values);
}

// A Symbol column (version 3) as its distinct texts in first-seen order,
// NAME_dictionary (packed), and each row's index into them, NAME_codes, in
// the narrowest unsigned type that holds them: a byte or two a row where
// the texts repeated in every row (sacct's user, state, file: 40 % of the
// job table's bytes at 776,696 allocations).
template <typename Record>
void WriteSymbolCodes(hid_t g, const std::string& name, const std::vector<Record>& rows, Symbol Record::*member) {
  std::unordered_map<Symbol, std::uint32_t> code_of;
  std::vector<std::string_view> dictionary;
  std::vector<std::uint32_t> codes;
  codes.reserve(rows.size());
  for (const auto& r : rows) {
    const auto [it, added] = code_of.try_emplace(r.*member, static_cast<std::uint32_t>(dictionary.size()));
    if (added) dictionary.push_back((r.*member).view());
    codes.push_back(it->second);
  }
  h5::WritePackedStrings(g, name + "_dictionary", dictionary);
  const auto write_as = [&]<typename Code>(Code) {
    h5::WriteVector(g, name + "_codes", std::vector<Code>(codes.begin(), codes.end()));
  };
  if (dictionary.size() <= 256) {
    write_as(std::uint8_t{});
  } else if (dictionary.size() <= 65536) {
    write_as(std::uint16_t{});
  } else {
    write_as(std::uint32_t{});
  }
}

// Reads either layout: NAME_codes into NAME_dictionary, or (version 2) one
// packed text a row.
template <typename Record>
void ReadSymbols(hid_t g, const std::string& name, std::vector<Record>* rows, Symbol Record::*member) {
  if (!h5::Exists(g, name + "_codes")) {
    FillSymbols(rows, member, h5::ReadPackedStrings(g, name));
    return;
  }
  const auto texts = h5::ReadPackedStrings(g, name + "_dictionary");
  const std::vector<Symbol> dictionary(texts.begin(), texts.end());
  const auto codes = h5::ReadVector<std::uint32_t>(g, name + "_codes");
  CheckLength(rows, codes.size());
  for (std::size_t i = 0; i < codes.size(); ++i) {
    if (codes[i] >= dictionary.size()) {
      throw Error("store catalogue: " + name + "_codes holds " + std::to_string(codes[i]) + ", past its " +
                  std::to_string(dictionary.size()) + " texts (damaged)");
    }
    (*rows)[i].*member = dictionary[codes[i]];
  }
}

// A column's datasets exist (a column added after stores existed may not).
bool ColumnExists(hid_t g, const std::string& name) { return h5::Exists(g, name) || h5::Exists(g, name + "_codes"); }

// A member as one dataset: strings packed, Symbols as codes into their
// texts, booleans as uint8. A column that `may_be_absent` (added after
// stores existed) leaves the member as it is.
template <typename Record, typename Field>
StoreColumn<Record> Plain(std::string name, Field Record::*member, bool may_be_absent = false) {
  using Stored = std::conditional_t<std::is_same_v<Field, bool>, std::uint8_t, Field>;
  StoreColumn<Record> c{name, {}, {}};
  c.write = [name, member](hid_t g, const std::vector<Record>& rows) {
    if constexpr (std::is_same_v<Field, Symbol>) {
      WriteSymbolCodes(g, name, rows, member);
    } else if constexpr (std::is_same_v<Field, std::string>) {
      std::vector<std::string_view> views;
      views.reserve(rows.size());
      for (const auto& r : rows) views.emplace_back(static_cast<const std::string&>(r.*member));
      h5::WritePackedStrings(g, name, views);
    } else {
      std::vector<Stored> values;
      values.reserve(rows.size());
      for (const auto& r : rows) values.push_back(static_cast<Stored>(r.*member));
      WriteNarrowed(g, name, values);
    }
  };
  c.read = [name, member, may_be_absent](hid_t g, std::vector<Record>* rows) {
    if (may_be_absent && !ColumnExists(g, name)) return;
    if constexpr (std::is_same_v<Field, Symbol>) {
      ReadSymbols(g, name, rows, member);
    } else if constexpr (std::is_same_v<Field, std::string>) {
      Fill(rows, member, h5::ReadPackedStrings(g, name));
    } else if constexpr (std::is_same_v<Field, bool>) {
      const auto values = h5::ReadVector<Stored>(g, name);
      CheckLength(rows, values.size());
      for (std::size_t i = 0; i < values.size(); ++i) (*rows)[i].*member = values[i] != 0;
    } else {
      Fill(rows, member, h5::ReadVector<Stored>(g, name));
    }
  };
  return c;
}

// An optional member as two datasets: the values (0 where absent) and the
// `flag` (uint8, 1 where present).
template <typename Record, typename Member, typename T = typename Member::value_type>
StoreColumn<Record> Optional(std::string name, const std::string& flag, Member Record::*member,
                             bool may_be_absent = false) {
  StoreColumn<Record> c{name, {}, {}};
  c.write = [name, flag, member](hid_t g, const std::vector<Record>& rows) {
    std::vector<T> values;
    std::vector<std::uint8_t> has;
    values.reserve(rows.size());
    has.reserve(rows.size());
    for (const auto& r : rows) {
      values.push_back((r.*member).value_or(T{}));
      has.push_back((r.*member).has_value() ? 1 : 0);
    }
    WriteNarrowed(g, name, values);
    h5::WriteVector(g, flag, has);
  };
  c.read = [name, flag, member, may_be_absent](hid_t g, std::vector<Record>* rows) {
    if (may_be_absent && !h5::Exists(g, name)) return;
    const auto values = h5::ReadVector<T>(g, name);
    const auto has = h5::ReadVector<std::uint8_t>(g, flag);
    CheckLength(rows, values.size());
    CheckLength(rows, has.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (has[i]) (*rows)[i].*member = values[i];
    }
  };
  return c;
}

// An optional sacct column, added after stores existed: value + has_<name>.
template <typename Member>
StoreColumn<JobRecord> Accounting(const std::string& name, Member JobRecord::*member) {
  return Optional(name, "has_" + name, member, /*may_be_absent=*/true);
}

constexpr bool kAdded = true;  // a column stores written before it lack

const StoreTable<ManifestEntry>& ManifestTable() {
  using R = ManifestEntry;
  static const StoreTable<R> table{"manifest",
                                   false,
                                   {Plain("path", &R::path), Plain("kind", &R::kind), Plain("size", &R::size),
                                    Plain("mtime_ns", &R::mtime_ns), Plain("batch", &R::batch)}};
  return table;
}

const StoreTable<RunRecord>& RunsTable() {
  using R = RunRecord;
  static const StoreTable<R> table{
      "tables/runs",
      false,
      {Plain("run_id", &R::run_id), Plain("experiment_id", &R::experiment_id), Plain("slurm_job_id", &R::slurm_job_id),
       Plain("host_name", &R::host_name), Plain("shape", &R::shape), Plain("dataset", &R::dataset),
       Plain("optimizer", &R::optimizer), Plain("start_time_us", &R::start), Plain("update_time_us", &R::update),
       Plain("size", &R::size), Plain("depth", &R::depth), Plain("batch_size", &R::batch_size),
       Plain("learning_rate", &R::learning_rate), Plain("is_gpu", &R::is_gpu), Plain("bad_reason", &R::bad_reason),
       Plain("line", &R::line)}};
  return table;
}

// Jobs by attempt, in sacct order; the accounting columns came later.
const StoreTable<JobRecord>& JobsTable() {
  using R = JobRecord;
  static const StoreTable<R> table{
      "tables/jobs",
      false,
      {Plain("job_id", &R::job_id), Plain("node_list", &R::node_list), Plain("state", &R::state),
       Plain("start_us", &R::start), Optional("end_us", "has_end", &R::end), Plain("has_start", &R::has_start),
       Plain("user", &R::user, kAdded), Plain("account", &R::account, kAdded),
       Plain("partition", &R::partition, kAdded), Accounting("alloc_cpus", &R::alloc_cpus),
       Accounting("tres_cpus", &R::tres_cpus), Accounting("tres_gpus", &R::tres_gpus),
       Accounting("consumed_energy_j", &R::consumed_energy_j), Plain("file", &R::file, kAdded),
       Plain("line", &R::line, kAdded)}};
  return table;
}

const StoreTable<CarbonIntensityRecord>& CarbonIntensityTable() {
  using R = CarbonIntensityRecord;
  static const StoreTable<R> table{"tables/carbon_intensity",
                                   /*may_be_absent=*/true,
                                   {Plain("time_us", &R::time), Plain("g_per_kwh", &R::g_per_kwh)}};
  return table;
}

const StoreTable<NodeRecord>& NodesTable() {
  using R = NodeRecord;
  static const StoreTable<R> table{
      "tables/nodes",
      false,
      {Plain("name", &R::name), Plain("cpus", &R::cpus), Plain("memory_mb", &R::memory_mb),
       Plain("tmp_disk_mb", &R::tmp_disk_mb), Plain("gres", &R::gres), Plain("node_type", &R::node_type)}};
  return table;
}

const StoreTable<DatasetRecord>& DatasetsTable() {
  using R = DatasetRecord;
  static const StoreTable<R> table{
      "tables/datasets",
      false,
      {Plain("dataset", &R::name), Plain("n_observations", &R::n_observations), Plain("n_features", &R::n_features),
       Plain("n_classes", &R::n_classes), Plain("task", &R::task)}};
  return table;
}

const StoreTable<LossRecord>& LossesTable() {
  using R = LossRecord;
  static const StoreTable<R> table{
      "tables/losses",
      false,
      {Plain("experiment_id", &R::experiment_id), Plain("epoch", &R::epoch), Plain("test_loss", &R::test_loss)}};
  return table;
}

const StoreTable<BadRowCount>& QualityTable() {
  using R = BadRowCount;
  static const StoreTable<R> table{
      "quality",
      false,
      {Plain("stage", &R::stage), Plain("file", &R::file), Plain("reason", &R::reason), Plain("count", &R::count)}};
  return table;
}

template <typename Record>
void WriteTable(hid_t file, const StoreTable<Record>& table, const std::vector<Record>& rows) {
  h5::H5Id g = h5::EnsureGroup(file, table.group);
  for (const auto& c : table.columns) c.write(g.get(), rows);
}

template <typename Record>
void ReadTable(hid_t file, const StoreTable<Record>& table, std::vector<Record>* rows) {
  if (table.may_be_absent && !h5::Exists(file, table.group)) return;  // the table stays empty
  h5::H5Id g = h5::OpenGroup(file, table.group);
  for (const auto& c : table.columns) c.read(g.get(), rows);
}

// One table after another, always in this order: the file's layout follows it.
void WriteTables(hid_t file, const Catalogue& c) {
  WriteTable(file, ManifestTable(), c.manifest);
  WriteTable(file, RunsTable(), c.runs);
  WriteTable(file, JobsTable(), c.jobs);
  WriteTable(file, CarbonIntensityTable(), c.carbon_intensity);
  WriteTable(file, NodesTable(), c.nodes);
  WriteTable(file, DatasetsTable(), c.datasets);
  WriteTable(file, LossesTable(), c.losses);
  WriteTable(file, QualityTable(), c.quality);
}

void ReadTables(hid_t file, JobTable jobs, Catalogue* c) {
  ReadTable(file, ManifestTable(), &c->manifest);
  ReadTable(file, RunsTable(), &c->runs);
  if (jobs == JobTable::kReadWithRoom) {
    const std::int64_t rows = h5::Length(h5::OpenGroup(file, JobsTable().group).get(), "start_us");
    c->jobs.reserve(static_cast<std::size_t>(rows + rows / 4 + 1024));
  }
  if (jobs != JobTable::kSkip) ReadTable(file, JobsTable(), &c->jobs);
  ReadTable(file, CarbonIntensityTable(), &c->carbon_intensity);
  ReadTable(file, NodesTable(), &c->nodes);
  ReadTable(file, DatasetsTable(), &c->datasets);
  ReadTable(file, LossesTable(), &c->losses);
  ReadTable(file, QualityTable(), &c->quality);
}

// The catalogue's root attributes, each written and read under this name.
constexpr char kVersionAttr[] = "wattrun_store_version";
constexpr char kFacilityAttr[] = "facility";  // the config's facility name
constexpr char kBatchesAttr[] = "telemetry_batches";
constexpr char kInputRootAttr[] = "input_root";
constexpr char kFirstFileAttr[] = "first_telemetry_file";
constexpr char kFirstHashAttr[] = "first_telemetry_hash";
constexpr char kInventoryHashAttr[] = "inventory_hash";
// The config the store was ingested with.
constexpr char kConfigPathAttr[] = "config_path";
constexpr char kConfigYamlAttr[] = "config_yaml";
constexpr char kTelemetryZoneAttr[] = "telemetry_timezone";
constexpr char kSchedulerZoneAttr[] = "scheduler_timezone";
constexpr char kTelemetryKindAttr[] = "telemetry_kind";

void WriteFingerprint(hid_t file, const FacilityFingerprint& f) {
  if (f.empty()) return;
  h5::SetAttribute(file, kInputRootAttr, f.input_root);
  h5::SetAttribute(file, kFirstFileAttr, f.first_telemetry_file);
  // As hex text: HDF5 attributes here are signed.
  char hex[2][24];
  std::snprintf(hex[0], sizeof hex[0], "%016llx", static_cast<unsigned long long>(f.first_telemetry_hash));
  std::snprintf(hex[1], sizeof hex[1], "%016llx", static_cast<unsigned long long>(f.inventory_hash));
  h5::SetAttribute(file, kFirstHashAttr, std::string(hex[0]));
  h5::SetAttribute(file, kInventoryHashAttr, std::string(hex[1]));
}

void WriteIngestedConfig(hid_t file, const IngestedConfig& c) {
  if (c.empty()) return;
  h5::SetAttribute(file, kConfigPathAttr, c.source_path);
  h5::SetAttribute(file, kConfigYamlAttr, c.yaml_text);
  h5::SetAttribute(file, kTelemetryZoneAttr, c.telemetry_timezone);
  h5::SetAttribute(file, kSchedulerZoneAttr, c.scheduler_timezone);
  if (!c.telemetry_kind.empty()) h5::SetAttribute(file, kTelemetryKindAttr, c.telemetry_kind);
}

void ReadIngestedConfig(hid_t file, IngestedConfig* c) {
  if (!h5::HasAttribute(file, kSchedulerZoneAttr)) return;
  c->source_path = h5::GetStringAttribute(file, kConfigPathAttr);
  c->yaml_text = h5::GetStringAttribute(file, kConfigYamlAttr);
  c->telemetry_timezone = h5::GetStringAttribute(file, kTelemetryZoneAttr);
  c->scheduler_timezone = h5::GetStringAttribute(file, kSchedulerZoneAttr);
  if (h5::HasAttribute(file, kTelemetryKindAttr)) c->telemetry_kind = h5::GetStringAttribute(file, kTelemetryKindAttr);
}

void ReadFingerprint(hid_t file, FacilityFingerprint* f) {
  if (!h5::HasAttribute(file, kFirstFileAttr)) return;
  f->input_root = h5::GetStringAttribute(file, kInputRootAttr);
  f->first_telemetry_file = h5::GetStringAttribute(file, kFirstFileAttr);
  f->first_telemetry_hash = std::strtoull(h5::GetStringAttribute(file, kFirstHashAttr).c_str(), nullptr, 16);
  f->inventory_hash = std::strtoull(h5::GetStringAttribute(file, kInventoryHashAttr).c_str(), nullptr, 16);
}

}  // namespace

std::string BatchDirectory(const std::string& store_path) { return store_path + ".d"; }

std::string BatchFileName(std::int64_t batch) {
  char name[64];
  std::snprintf(name, sizeof name, "batch_%06lld.h5", static_cast<long long>(batch));
  return name;
}

IngestedConfig IngestedConfig::Of(const Config& config) {
  return {config.source_path, config.yaml_text, config.facility.telemetry.timezone, config.facility.scheduler.timezone,
          ToString(config.facility.telemetry_format.kind)};
}

void CheckZones(const Catalogue& catalogue, const Config& config, const std::string& store_path) {
  const IngestedConfig& stored = catalogue.ingested_config;
  if (stored.empty()) return;
  const std::string from = stored.source_path.empty() ? "" : " (from " + stored.source_path + ")";
  const std::string given = config.source_path.empty() ? "the config" : "config " + config.source_path;
  std::string problems;
  const auto check = [&](const char* key, const std::string& was, const std::string& now) {
    if (was == now) return;
    problems += std::string(problems.empty() ? "" : "\n") + key + ": store " + store_path + " was ingested with '" +
                was + "'" + from + ", " + given + " says '" + now + "'";
  };
  check("facility.telemetry.timezone", stored.telemetry_timezone, config.facility.telemetry.timezone);
  check("facility.scheduler.timezone", stored.scheduler_timezone, config.facility.scheduler.timezone);
  // Stores older than the key hold power readings.
  check("facility.telemetry.kind", stored.telemetry_kind.empty() ? "power" : stored.telemetry_kind,
        ToString(config.facility.telemetry_format.kind));
  if (!problems.empty()) {
    throw Error(problems +
                "\n(the store's instants and values were read by these keys: use the config it was ingested with, "
                "or ingest into a new store)");
  }
}

namespace {
// A string's heap block beyond its inline buffer (glibc: 8 bytes of header,
// 16-byte granules), 0 when the text fits the inline 15 characters.
std::int64_t StringHeapBytes(const std::string& s) {
  constexpr std::size_t kInline = 15;
  return s.capacity() <= kInline ? 0 : static_cast<std::int64_t>((s.capacity() + 1 + 8 + 15) / 16 * 16);
}

template <typename Record, typename... Strings>
std::int64_t RowsHeldBytes(const std::vector<Record>& rows, Strings Record::*... strings) {
  auto bytes = static_cast<std::int64_t>(rows.capacity() * sizeof(Record));
  for (const Record& r : rows) bytes += (StringHeapBytes(r.*strings) + ... + 0);
  return bytes;
}
}  // namespace

std::int64_t HeldBytes(const Catalogue& c) {
  using J = JobRecord;
  using R = RunRecord;
  return RowsHeldBytes(c.jobs, &J::job_id, &J::node_list) +
         RowsHeldBytes(c.runs, &R::run_id, &R::experiment_id, &R::slurm_job_id, &R::host_name, &R::shape, &R::dataset,
                       &R::optimizer, &R::bad_reason) +
         RowsHeldBytes(c.manifest, &ManifestEntry::path, &ManifestEntry::kind) +
         RowsHeldBytes(c.nodes, &NodeRecord::name, &NodeRecord::gres, &NodeRecord::node_type) +
         RowsHeldBytes(c.datasets, &DatasetRecord::name, &DatasetRecord::task) +
         RowsHeldBytes(c.losses, &LossRecord::experiment_id) + RowsHeldBytes(c.carbon_intensity) +
         RowsHeldBytes(c.quality, &BadRowCount::stage, &BadRowCount::file, &BadRowCount::reason);
}

Catalogue ReadCatalogue(const std::string& store_path, JobTable jobs) {
  if (!fs::exists(store_path)) throw Error(store_path + ": no such store (run `wattrun ingest` first)");
  try {
    h5::VerifySeal(store_path);  // stores written before seals are read as they are
  } catch (const Error& e) {
    throw Error(std::string("store catalogue is damaged: ") + e.what() +
                "; restore it from a backup or re-ingest into a new store");
  }
  h5::File file = h5::File::Open(store_path, h5::Mode::kReadOnly);
  if (!h5::HasAttribute(file.id(), kVersionAttr)) {
    throw Error(store_path + ": not a wattrun store (no wattrun_store_version attribute)");
  }
  const std::int64_t version = h5::GetIntAttribute(file.id(), kVersionAttr);
  if (version == 1) throw Error(store_path + ": store made by an older wattrun (ms timestamps): re-ingest");
  if (version < kOldestReadableStoreVersion || version > kStoreVersion) {
    throw Error(store_path + ": store version " + std::to_string(version) + " is not supported");
  }
  Catalogue c;
  try {
    ReadTables(file.id(), jobs, &c);
    if (h5::HasAttribute(file.id(), kFacilityAttr))
      c.config_facility = h5::GetStringAttribute(file.id(), kFacilityAttr);
    ReadFingerprint(file.id(), &c.fingerprint);
    ReadIngestedConfig(file.id(), &c.ingested_config);
    const std::int64_t batches = h5::GetIntAttribute(file.id(), kBatchesAttr);
    for (std::int64_t b = 1; b <= batches; ++b) {
      c.batch_files.push_back(fs::path(store_path).filename().string() + ".d/" + BatchFileName(b));
    }
  } catch (const Error& e) {
    throw Error(store_path + ": store catalogue is damaged: " + e.what());
  }
  return c;
}

void WriteCatalogue(const std::string& store_path, const Catalogue& catalogue, const std::string& writer_tag) {
  h5::File file = h5::File::CreateInMemory(store_path, /*sealed=*/true);
  h5::SetAttribute(file.id(), kVersionAttr, kStoreVersion);
  h5::SetAttribute(file.id(), kFacilityAttr, catalogue.config_facility);
  WriteFingerprint(file.id(), catalogue.fingerprint);
  WriteIngestedConfig(file.id(), catalogue.ingested_config);
  h5::SetAttribute(file.id(), kBatchesAttr, static_cast<std::int64_t>(catalogue.batch_files.size()));
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
    const auto names = h5::ReadStrings(file.id(), batch_file::kNodeNames);
    const auto offsets = h5::ReadVector<std::int64_t>(file.id(), batch_file::kNodeOffset);
    if (names != expected_names) throw Error("node_names differ from what was written");
    if (offsets != expected_offsets) throw Error("node_offset differs from what was written");
    if (!std::is_sorted(names.begin(), names.end()) || std::adjacent_find(names.begin(), names.end()) != names.end()) {
      throw Error("node_names are not sorted and unique");
    }
    if (offsets.size() != names.size() + 1 || offsets.front() != 0 || !std::is_sorted(offsets.begin(), offsets.end())) {
      throw Error("node_offset is not a CSR index of node_names");
    }
    const std::int64_t rows = offsets.back();
    if (h5::Length(file.id(), batch_file::kTime) != rows || h5::Length(file.id(), batch_file::kWatts) != rows) {
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
  // Unaligned: read through HDF5.
  if (offset == HADDR_UNDEF || offset % static_cast<haddr_t>(H5Tget_size(native)) != 0) return -1;
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
  BatchEncoding encoding;      // plain (int64, float64) or compact (uint32, int32)

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
    // Compact columns are decoded into buffers: there is nothing to map.
    map_chunks = map != nullptr && std::string(map) == "1" && !encoding.compact_time() && !encoding.compact_watts();
    const std::int64_t t = PlainArrayOffset(time.get(), encoding.time_type());
    const std::int64_t w = PlainArrayOffset(watts.get(), encoding.watts_type());
    if (t < 0 || w < 0) return;
    const int f = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (f < 0) return;
    struct stat st {};
    const auto time_bytes = static_cast<std::int64_t>(encoding.time_bytes());
    const auto watts_bytes = static_cast<std::int64_t>(encoding.watts_bytes());
    if (::fstat(f, &st) != 0 || t + rows * time_bytes > st.st_size || w + rows * watts_bytes > st.st_size) {
      ::close(f);  // a short file: the HDF5 reads report it
      return;
    }
    fd = f;
    time_at = t;
    watts_at = w;
  }

  // The columns' stored types must be the ones the attributes say (a
  // damaged or foreign batch would otherwise be decoded into wrong numbers).
  void CheckColumnTypes() const {
    const auto stored_size = [&](hid_t dataset, const char* name) {
      const h5::H5Id type(H5Dget_type(dataset));
      if (type.get() < 0) throw Error(path + ":/" + name + ": cannot read its type");
      return H5Tget_size(type.get());
    };
    if (stored_size(time.get(), batch_file::kTime) != encoding.time_bytes() ||
        stored_size(watts.get(), batch_file::kWatts) != encoding.watts_bytes()) {
      throw Error(path + ": batch is damaged: its time and watts types are not the ones its attributes name");
    }
  }
};

TelemetryReader::TelemetryReader(const std::string& store_path) {
  // Only the batch list: the job table (the largest) is for rank 0 to read once.
  const Catalogue catalogue = ReadCatalogue(store_path, JobTable::kSkip);
  const fs::path base = fs::absolute(store_path).parent_path();
  std::map<std::string, std::vector<NodeSlice>> by_node;
  for (std::size_t b = 0; b < catalogue.batch_files.size(); ++b) {
    const std::string path = (base / catalogue.batch_files[b]).string();
    auto batch = std::make_unique<Batch>();
    batch->path = path;
    batch->file = h5::File::Open(path, h5::Mode::kReadOnly);
    const auto names = h5::ReadPackedStrings(batch->file.id(), batch_file::kNodeNames);
    const auto offsets = h5::ReadVector<std::int64_t>(batch->file.id(), batch_file::kNodeOffset);
    if (offsets.size() != names.size() + 1) throw Error(path + ": node_offset does not match node_names");
    const std::int64_t rows = h5::Length(batch->file.id(), batch_file::kTime);
    if (offsets.back() != rows || h5::Length(batch->file.id(), batch_file::kWatts) != rows) {
      throw Error(path + ": batch is truncated or damaged (offsets do not match the readings)");
    }
    const auto open = [&](const char* name) {
      return h5::H5Id(h5::CheckId(H5Dopen2(batch->file.id(), name, H5P_DEFAULT), "H5Dopen2", path + ":/" + name));
    };
    batch->time = open(batch_file::kTime);
    batch->watts = open(batch_file::kWatts);
    batch->encoding = BatchEncoding::ReadAttributes(batch->file.id(), path);
    batch->CheckColumnTypes();
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

// The neighbours of a unit: the slices (one per batch, so one per month)
// are chosen by their spans, known without a read, and only the winner's
// reading is read: a node's unit in month m used to read one reading of each
// of the m slices before it, and under gVisor each is a system call.
bool TelemetryReader::ReadingBefore(std::size_t node, TimeUs from, TimeUs* time, double* watts) {
  const std::vector<SliceSpan>& spans = Spans(node);
  std::size_t best = spans.size();
  std::int64_t best_index = 0;
  TimeUs best_time = 0;
  for (std::size_t k = 0; k < spans.size(); ++k) {
    if (spans[k].first >= from || (best < spans.size() && spans[k].last <= best_time)) continue;
    const NodeSlice& s = slices_[node][k];
    // A slice wholly before `from` ends with its last reading, whose time the span holds.
    const std::int64_t i = spans[k].last < from ? s.count - 1 : LowerBound(s, spans[k], from) - 1;
    const TimeUs t = spans[k].last < from ? spans[k].last : TimeAt(static_cast<std::size_t>(s.batch), s.offset + i);
    if (best == spans.size() || t > best_time) best = k, best_index = i, best_time = t;
  }
  if (best == spans.size()) return false;
  const NodeSlice& s = slices_[node][best];
  ReadChunk(static_cast<std::size_t>(s.batch), s.offset + best_index, 1, time, watts);
  return true;
}

bool TelemetryReader::ReadingFrom(std::size_t node, TimeUs until, TimeUs* time, double* watts) {
  const std::vector<SliceSpan>& spans = Spans(node);
  std::size_t best = spans.size();
  std::int64_t best_index = 0;
  TimeUs best_time = 0;
  for (std::size_t k = 0; k < spans.size(); ++k) {
    if (spans[k].last < until || (best < spans.size() && spans[k].first >= best_time)) continue;
    const NodeSlice& s = slices_[node][k];
    // A slice wholly at or after `until` starts with its first reading.
    const std::int64_t i = spans[k].first >= until ? 0 : LowerBound(s, spans[k], until);
    const TimeUs t = spans[k].first >= until ? spans[k].first : TimeAt(static_cast<std::size_t>(s.batch), s.offset + i);
    if (best == spans.size() || t < best_time) best = k, best_index = i, best_time = t;
  }
  if (best == spans.size()) return false;
  const NodeSlice& s = slices_[node][best];
  ReadChunk(static_cast<std::size_t>(s.batch), s.offset + best_index, 1, time, watts);
  return true;
}

void TelemetryReader::ReadRange(std::size_t node, TimeUs t_min, TimeUs t_max, std::vector<TimeUs>* time,
                                std::vector<double>* watts) {
  time->clear();
  watts->clear();
  if (t_max < t_min) return;
  // The slices' spans (two readings each, cached) skip every batch of
  // another month without a read; a bisection of each slice cost ~40
  // reads, each a system call, per node and stored month at every ingest.
  const std::vector<SliceSpan>& spans = Spans(node);
  for (std::size_t k = 0; k < spans.size(); ++k) {
    if (spans[k].last < t_min || spans[k].first > t_max) continue;
    const NodeSlice& s = slices_[node][k];
    const std::int64_t lo = LowerBound(s, spans[k], t_min);
    const std::int64_t hi = t_max >= spans[k].last ? s.count : LowerBound(s, spans[k], t_max + 1);
    const std::int64_t n = hi - lo;
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

namespace {

// One column's elements [offset, offset + n): through HDF5 when the batch is
// not read directly (fd < 0; HDF5 widens compact codes, `widen` applies
// their base and scale), else with pread, compact codes into `codes` and
// decoded from there.
template <typename Value, typename Code, typename Widen, typename Decode>
void ReadColumn(int fd, const std::string& path, hid_t dataset, std::int64_t file_at, bool compact, std::int64_t offset,
                std::size_t n, std::vector<Code>* codes, Value* out, Widen widen, Decode decode) {
  if (fd < 0) {
    h5::ReadSlice(dataset, offset, static_cast<std::int64_t>(n), out);
    widen(out, n);
  } else if (compact) {
    if (codes->size() < n) codes->resize(n);
    PreadAll(fd, path, file_at + offset * std::int64_t{sizeof(Code)}, n * sizeof(Code), codes->data());
    decode(codes->data(), n, out);
  } else {
    PreadAll(fd, path, file_at + offset * std::int64_t{sizeof(Value)}, n * sizeof(Value), out);
  }
}

}  // namespace

void TelemetryReader::ReadTimes(std::size_t batch, std::int64_t offset, std::int64_t count, TimeUs* time) {
  const Batch& b = *batches_[batch];
  const BatchEncoding& e = b.encoding;
  ReadColumn(
      b.fd, b.path, b.time.get(), b.time_at, e.compact_time(), offset, static_cast<std::size_t>(count), &time_codes_,
      time, [&](TimeUs* t, std::size_t n) { e.FinishTimes(t, n); },
      [&](const std::uint32_t* c, std::size_t n, TimeUs* t) { e.DecodeTimes(c, n, t); });
}

void TelemetryReader::ReadChunk(std::size_t batch, std::int64_t offset, std::int64_t count, TimeUs* time,
                                double* watts) {
  ReadTimes(batch, offset, count, time);
  const Batch& b = *batches_[batch];
  const BatchEncoding& e = b.encoding;
  ReadColumn(
      b.fd, b.path, b.watts.get(), b.watts_at, e.compact_watts(), offset, static_cast<std::size_t>(count),
      &watts_codes_, watts, [&](double* w, std::size_t n) { e.FinishWatts(w, n); },
      [&](const std::int32_t* c, std::size_t n, double* w) { e.DecodeWatts(c, n, w); });
  bytes_read_ += count * static_cast<std::int64_t>(e.bytes_per_reading());
}

}  // namespace wattrun::store
