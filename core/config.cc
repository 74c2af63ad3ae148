#include "core/config.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/time.h"

namespace wattrun {
namespace {

// Walks a YAML tree, remembering key paths, collecting every problem found
// (unknown keys, wrong types, broken constraints) instead of stopping at the
// first, so that a user fixes a config in one round.
class ConfigReader {
 public:
  explicit ConfigReader(std::string source) : source_(std::move(source)) {}

  void Problem(const std::string& path, const std::string& what) {
    problems_.push_back(source_ + ": " + (path.empty() ? "(top level)" : path) + ": " + what);
  }
  bool ok() const { return problems_.empty(); }
  std::string Report() const {
    std::string out;
    for (const auto& p : problems_) out += p + "\n";
    if (!out.empty()) out.pop_back();
    return out;
  }

  // A mapping key as text; a key that is not a plain scalar is a problem.
  std::string Key(const YAML::Node& key, const std::string& path) {
    if (key.IsScalar()) return key.Scalar();
    Problem(path, "keys must be plain names, not lists or mappings");
    return "?";
  }

  // Reports keys of a map that are not in `known`.
  void CheckKeys(const YAML::Node& node, const std::string& path, const std::set<std::string>& known) {
    if (!node || !node.IsMap()) return;
    for (const auto& kv : node) {
      const std::string key = Key(kv.first, path);
      if (!known.count(key)) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        Problem(Join(path, key), "unknown key (known keys here: " + list + ")");
      }
    }
  }

  bool IsMap(const YAML::Node& node, const std::string& path, bool required) {
    if (!node) {
      if (required) Problem(path, "required section is missing");
      return false;
    }
    if (!node.IsMap()) {
      Problem(path, "must be a mapping");
      return false;
    }
    return true;
  }

  template <typename T>
  bool Get(const YAML::Node& parent, const std::string& parent_path, const std::string& key, T* out,
           bool required = false) {
    const YAML::Node node = parent[key];
    const std::string path = Join(parent_path, key);
    if (!node) {
      if (required) Problem(path, "required key is missing");
      return false;
    }
    if (!node.IsScalar()) {
      Problem(path, "must be a scalar value");
      return false;
    }
    T value{};
    try {
      value = node.as<T>();
    } catch (const YAML::Exception&) {
      Problem(path, std::string("must be ") + TypeName<T>() + ", got '" + node.Scalar() + "'");
      return false;
    }
    if constexpr (std::is_floating_point_v<T>) {
      // YAML reads .inf, -.inf and .nan as numbers; no setting means them.
      if (!std::isfinite(value)) {
        Problem(path, "must be a finite number, got '" + node.Scalar() + "'");
        return false;
      }
    }
    *out = value;
    return true;
  }

  // Byte sizes: an integer, or a number with a unit (B, KiB, MiB, GiB, TiB, KB, MB, GB).
  bool GetBytes(const YAML::Node& parent, const std::string& parent_path, const std::string& key, double* out) {
    std::string text;
    if (!Get(parent, parent_path, key, &text, true)) return false;
    const std::string path = Join(parent_path, key);
    double yaml_number = 0;
    if (YAML::convert<double>::decode(parent[key], yaml_number) && !std::isfinite(yaml_number)) {
      Problem(path, "must be a finite byte size, got '" + text + "'");  // .inf, .nan
      return false;
    }
    const char* begin = text.c_str();
    char* end = nullptr;
    const double value = std::strtod(begin, &end);  // overflow gives inf, checked below
    if (end == begin) {
      Problem(path, "must be a byte size such as 32KiB, got '" + text + "'");
      return false;
    }
    std::string unit = text.substr(static_cast<std::size_t>(end - begin));
    while (!unit.empty() && unit.front() == ' ') unit.erase(unit.begin());
    static const std::pair<const char*, double> kUnits[] = {
        {"", 1.0},   {"B", 1.0},  {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"TiB", 1099511627776.0},
        {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},     {"TB", 1e12}};
    for (const auto& [name, factor] : kUnits) {
      if (unit == name) {
        const double bytes = value * factor;
        if (!std::isfinite(bytes)) {
          Problem(path, "must be a finite byte size, got '" + text + "'");
          return false;
        }
        if (!(bytes > 0)) {
          Problem(path, "must be > 0, got '" + text + "'");
          return false;
        }
        *out = bytes;
        return true;
      }
    }
    Problem(path, "unknown byte unit '" + unit + "' (use B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)");
    return false;
  }

  static std::string Join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }
  static std::string Index(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

 private:
  template <typename T>
  static const char* TypeName() {
    if constexpr (std::is_same_v<T, bool>) return "true or false";
    if constexpr (std::is_integral_v<T>) return "an integer";
    if constexpr (std::is_floating_point_v<T>) return "a number";
    return "a string";
  }
  std::string source_;
  std::vector<std::string> problems_;
};

std::string Num(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

void ReadSourceTime(ConfigReader& r, const YAML::Node& node, const std::string& path, SourceTimeConfig* out,
                    const std::set<std::string>& other_keys = {}) {
  if (!r.IsMap(node, path, false)) return;
  std::set<std::string> known{"timezone", "ignore_z"};
  known.insert(other_keys.begin(), other_keys.end());
  r.CheckKeys(node, path, known);
  if (r.Get(node, path, "timezone", &out->timezone)) {
    try {
      TimeZone::Load(out->timezone);  // found now, named by its key, not first met mid-ingest
    } catch (const Error&) {
      r.Problem(ConfigReader::Join(path, "timezone"), "unknown time zone '" + out->timezone + "'");
    }
  }
  r.Get(node, path, "ignore_z", &out->ignore_z);
}

// One of `names` (a key's allowed words), its index in *out; else a problem
// listing them.
bool GetChoice(ConfigReader& r, const YAML::Node& node, const std::string& path, const std::string& key,
               const std::vector<std::string>& names, int* out) {
  std::string text;
  if (!r.Get(node, path, key, &text)) return false;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (text == names[i]) {
      *out = static_cast<int>(i);
      return true;
    }
  }
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  r.Problem(ConfigReader::Join(path, key), "must be one of " + list + "; got '" + text + "'");
  return false;
}

// facility.telemetry's layout keys: columns, time_format, watts_unit, kind.
void ReadTelemetryFormat(ConfigReader& r, const YAML::Node& node, const std::string& path, TelemetryFormatConfig* out) {
  if (!node || !node.IsMap()) return;
  const YAML::Node columns = node["columns"];
  const std::string cpath = ConfigReader::Join(path, "columns");
  if (r.IsMap(columns, cpath, false)) {
    r.CheckKeys(columns, cpath, {"timestamp", "node", "watts"});
    const std::pair<const char*, std::string*> names[] = {
        {"timestamp", &out->timestamp_column}, {"node", &out->node_column}, {"watts", &out->watts_column}};
    for (const auto& [key, target] : names) {
      if (r.Get(columns, cpath, key, target) && target->empty()) {
        r.Problem(ConfigReader::Join(cpath, key), "must name a column, got an empty string");
      }
    }
    if (out->timestamp_column == out->node_column || out->timestamp_column == out->watts_column ||
        out->node_column == out->watts_column) {
      r.Problem(cpath, "timestamp, node and watts must be three different columns");
    }
  }
  int choice = 0;
  if (GetChoice(r, node, path, "time_format", {"iso", "epoch_s", "epoch_ms", "epoch_us"}, &choice)) {
    out->time_format = static_cast<TelemetryTimeFormat>(choice);
  }
  if (GetChoice(r, node, path, "watts_unit", {"W", "kW", "mW"}, &choice)) {
    constexpr int kExponents[] = {0, 3, -3};
    out->watts_exponent = kExponents[choice];
  }
  if (GetChoice(r, node, path, "kind", {"power", "energy_counter"}, &choice)) {
    out->kind = static_cast<TelemetryKind>(choice);
  }
}

// An instant of the config, ISO 8601 with a Z or an offset (UTC without).
void ReadInstant(ConfigReader& r, const YAML::Node& node, const std::string& path, const std::string& key,
                 std::optional<TimeUs>* out) {
  std::string text;
  if (!r.Get(node, path, key, &text)) return;
  TimeUs utc = 0;
  if (ParseInstant(text, TimestampPolicy{}, &utc) != TimeParseStatus::kOk) {
    r.Problem(ConfigReader::Join(path, key), "must be a time such as 2022-03-08T00:00:00Z, got '" + text + "'");
    return;
  }
  *out = utc;
}

void ReadPrometheus(ConfigReader& r, const YAML::Node& node, const std::string& path, PrometheusConfig* out) {
  if (!r.IsMap(node, path, false)) return;
  r.CheckKeys(node, path, {"url", "metric", "node_label", "start", "end"});
  if (r.Get(node, path, "url", &out->url) && out->url.rfind("http://", 0) != 0 && out->url.rfind("https://", 0) != 0) {
    r.Problem(ConfigReader::Join(path, "url"), "must start with http:// or https://, got '" + out->url + "'");
  }
  // Prometheus names: [a-zA-Z_:][a-zA-Z0-9_:]* for metrics, no ':' in labels.
  auto check_name = [&](const std::string& key, const std::string& value, bool colon) {
    bool ok = !value.empty() && !std::isdigit(static_cast<unsigned char>(value[0]));
    for (const char c : value)
      ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || (colon && c == ':'));
    if (!ok)
      r.Problem(ConfigReader::Join(path, key),
                "not a Prometheus " + std::string(colon ? "metric" : "label") + " name: '" + value + "'");
  };
  if (r.Get(node, path, "metric", &out->metric)) check_name("metric", out->metric, true);
  if (r.Get(node, path, "node_label", &out->node_label)) check_name("node_label", out->node_label, false);
  ReadInstant(r, node, path, "start", &out->start);
  ReadInstant(r, node, path, "end", &out->end);
  if (out->start && out->end && *out->end < *out->start) {
    r.Problem(ConfigReader::Join(path, "end"), "must not be before start");
  }
}

// facility.telemetry: its time settings, and where the readings come from.
void ReadTelemetry(ConfigReader& r, const YAML::Node& node, FacilityConfig* f) {
  const std::string path = "facility.telemetry";
  ReadSourceTime(r, node, path, &f->telemetry,
                 {"source", "prometheus", "columns", "time_format", "watts_unit", "kind"});
  if (!node || !node.IsMap()) return;
  std::string source;
  if (r.Get(node, path, "source", &source)) {
    if (source == "files") {
      f->telemetry_source = TelemetrySource::kFiles;
    } else if (source == "prometheus") {
      f->telemetry_source = TelemetrySource::kPrometheus;
    } else {
      r.Problem(path + ".source", "must be 'files' or 'prometheus', got '" + source + "'");
    }
  }
  ReadPrometheus(r, node["prometheus"], path + ".prometheus", &f->prometheus);
}

void ReadMemoryLevels(ConfigReader& r, const YAML::Node& levels, const std::string& lpath,
                      std::vector<MemoryLevel>* out) {
  if (!levels || !levels.IsSequence() || levels.size() == 0) {
    r.Problem(lpath, "must be a non-empty list of {level, bytes_per_unit, units}");
    return;
  }
  for (std::size_t i = 0; i < levels.size(); ++i) {
    const std::string ipath = ConfigReader::Index(lpath, i);
    MemoryLevel level;
    if (!r.IsMap(levels[i], ipath, true)) continue;
    r.CheckKeys(levels[i], ipath, {"level", "bytes_per_unit", "units"});
    r.Get(levels[i], ipath, "level", &level.level, true);
    r.GetBytes(levels[i], ipath, "bytes_per_unit", &level.bytes_per_unit);
    r.Get(levels[i], ipath, "units", &level.units, true);
    if (level.units < 1) r.Problem(ipath + ".units", "must be >= 1");
    if (level.level != static_cast<int>(i) + 1) {
      r.Problem(ipath + ".level", "levels must be numbered 1, 2, ... in ascending order; expected " +
                                      std::to_string(i + 1) + ", got " + std::to_string(level.level));
    }
    out->push_back(level);
  }
}

void ReadHardwareClasses(ConfigReader& r, const YAML::Node& classes, FacilityConfig* f) {
  if (!classes) {
    r.Problem("facility.hardware_classes", "required section is missing");
    return;
  }
  if (!classes.IsMap()) {
    r.Problem("facility.hardware_classes", "must be a mapping of class name to settings");
    return;
  }
  for (const auto& kv : classes) {
    HardwareClassConfig c;
    c.name = r.Key(kv.first, "facility.hardware_classes");
    const std::string cpath = "facility.hardware_classes." + c.name;
    if (c.name != "cpu" && c.name != "gpu") {
      r.Problem(cpath, "hardware class must be 'cpu' or 'gpu' (runs.csv is_gpu selects it)");
    }
    c.is_gpu = c.name == "gpu";
    const YAML::Node cn = kv.second;
    if (!r.IsMap(cn, cpath, true)) continue;
    r.CheckKeys(cn, cpath, {"reference_type", "memory_levels"});
    if (r.Get(cn, cpath, "reference_type", &c.reference_type, true) && c.reference_type.empty()) {
      r.Problem(cpath + ".reference_type", "must name a node type, got an empty string");
    }
    ReadMemoryLevels(r, cn["memory_levels"], cpath + ".memory_levels", &c.memory_levels);
    f->hardware_classes.push_back(c);
  }
}

// One entry of facility.node_types; false if it is not a mapping.
bool ReadNodeType(ConfigReader& r, const YAML::Node& node, const std::string& tpath, const FacilityConfig& f,
                  std::set<std::string>* names, NodeTypeConfig* t) {
  if (!r.IsMap(node, tpath, true)) return false;
  r.CheckKeys(node, tpath, {"name", "hardware_class", "signature", "count", "idle_w"});
  r.Get(node, tpath, "name", &t->name, true);
  if (!names->insert(t->name).second) r.Problem(tpath + ".name", "duplicate node type '" + t->name + "'");
  r.Get(node, tpath, "hardware_class", &t->hardware_class, true);
  if (!t->hardware_class.empty() && !f.FindClass(t->hardware_class)) {
    r.Problem(tpath + ".hardware_class", "'" + t->hardware_class + "' is not a key of facility.hardware_classes");
  }
  const YAML::Node sig = node["signature"];
  const std::string spath = tpath + ".signature";
  if (r.IsMap(sig, spath, true)) {
    r.CheckKeys(sig, spath, {"cpus", "memory_mb", "tmp_disk_mb", "gres"});
    r.Get(sig, spath, "cpus", &t->signature.cpus, true);
    r.Get(sig, spath, "memory_mb", &t->signature.memory_mb, true);
    r.Get(sig, spath, "tmp_disk_mb", &t->signature.tmp_disk_mb, true);
    r.Get(sig, spath, "gres", &t->signature.gres, true);
  }
  if (r.Get(node, tpath, "count", &t->count) && t->count < 0) r.Problem(tpath + ".count", "must be >= 0");
  if (r.Get(node, tpath, "idle_w", &t->idle_w) && !(t->idle_w >= 0)) r.Problem(tpath + ".idle_w", "must be >= 0");
  return true;
}

// Node types must be told apart by their Slurm signature.
void CheckSignaturesDistinct(ConfigReader& r, const FacilityConfig& f) {
  for (std::size_t i = 0; i < f.node_types.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      const auto& a = f.node_types[i].signature;
      const auto& b = f.node_types[j].signature;
      if (a.cpus == b.cpus && a.memory_mb == b.memory_mb && a.tmp_disk_mb == b.tmp_disk_mb && a.gres == b.gres) {
        r.Problem(ConfigReader::Index("facility.node_types", i) + ".signature",
                  "same signature as node type '" + f.node_types[j].name + "': types must be distinguishable");
      }
    }
  }
}

// Each class's reference type exists and belongs to the class.
void CheckReferenceTypes(ConfigReader& r, const FacilityConfig& f) {
  for (const auto& c : f.hardware_classes) {
    const NodeTypeConfig* ref = f.FindType(c.reference_type);
    const std::string path_ref = "facility.hardware_classes." + c.name + ".reference_type";
    if (!c.reference_type.empty() && !ref) {
      r.Problem(path_ref, "'" + c.reference_type + "' is not a configured node type");
    } else if (ref && ref->hardware_class != c.name) {
      r.Problem(path_ref,
                "'" + c.reference_type + "' belongs to class '" + ref->hardware_class + "', not '" + c.name + "'");
    }
  }
}

void ReadFacility(ConfigReader& r, const YAML::Node& node, FacilityConfig* f) {
  const std::string path = "facility";
  if (!r.IsMap(node, path, true)) return;
  r.CheckKeys(node, path, {"name", "telemetry", "scheduler", "sampling_interval_s", "node_types", "hardware_classes"});
  r.Get(node, path, "name", &f->name, true);
  ReadTelemetry(r, node["telemetry"], f);
  ReadTelemetryFormat(r, node["telemetry"], "facility.telemetry", &f->telemetry_format);
  ReadSourceTime(r, node["scheduler"], "facility.scheduler", &f->scheduler);
  if (r.Get(node, path, "sampling_interval_s", &f->sampling_interval_s) && !(f->sampling_interval_s > 0)) {
    r.Problem("facility.sampling_interval_s", "must be > 0, got " + Num(f->sampling_interval_s));
  }
  ReadHardwareClasses(r, node["hardware_classes"], f);

  const YAML::Node types = node["node_types"];
  if (!types || !types.IsSequence() || types.size() == 0) {
    r.Problem("facility.node_types", "must be a non-empty list of node types");
    return;
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < types.size(); ++i) {
    NodeTypeConfig t;
    if (ReadNodeType(r, types[i], ConfigReader::Index("facility.node_types", i), *f, &names, &t)) {
      f->node_types.push_back(t);
    }
  }
  CheckSignaturesDistinct(r, *f);
  CheckReferenceTypes(r, *f);
}

void ReadFit(ConfigReader& r, const YAML::Node& node, FitConfig* fit) {
  const std::string path = "pipeline.fit";
  if (!r.IsMap(node, path, false)) return;
  r.CheckKeys(
      node, path,
      {"loss", "loss_scale", "max_iterations", "cross_validation_folds", "min_energy_share", "max_relative_std_error"});
  std::string loss;
  if (r.Get(node, path, "loss", &loss)) {
    if (loss == "none")
      fit->loss = RobustLoss::kNone;
    else if (loss == "huber")
      fit->loss = RobustLoss::kHuber;
    else if (loss == "cauchy")
      fit->loss = RobustLoss::kCauchy;
    else if (loss == "soft_l1")
      fit->loss = RobustLoss::kSoftL1;
    else
      r.Problem(path + ".loss", "must be one of none, huber, cauchy, soft_l1; got '" + loss + "'");
  }
  r.Get(node, path, "loss_scale", &fit->loss_scale);
  r.Get(node, path, "max_iterations", &fit->max_iterations);
  r.Get(node, path, "cross_validation_folds", &fit->cross_validation_folds);
  r.Get(node, path, "min_energy_share", &fit->min_energy_share);
  r.Get(node, path, "max_relative_std_error", &fit->max_relative_std_error);
  for (const auto& [key, reason] : fit->Problems()) r.Problem(path + "." + key, reason);
}

void ReadCarbon(ConfigReader& r, const YAML::Node& node, CarbonConfig* carbon) {
  const std::string path = "pipeline.carbon";
  if (!r.IsMap(node, path, false)) return;
  r.CheckKeys(node, path, {"pue", "intensity_g_per_kwh", "mix", "source_intensity_g_per_kwh"});
  if (r.Get(node, path, "pue", &carbon->pue) && !(carbon->pue >= 1.0)) {
    r.Problem(path + ".pue", "must be >= 1, got " + Num(carbon->pue));
  }
  if (r.Get(node, path, "intensity_g_per_kwh", &carbon->intensity_g_per_kwh) && !(carbon->intensity_g_per_kwh >= 0)) {
    r.Problem(path + ".intensity_g_per_kwh", "must be >= 0");
  }
  for (const char* key : {"mix", "source_intensity_g_per_kwh"}) {
    const YAML::Node m = node[key];
    if (!m) continue;
    if (!m.IsMap()) {
      r.Problem(path + "." + key, "must be a mapping of source name to number");
      continue;
    }
    auto& target = std::string(key) == "mix" ? carbon->mix : carbon->source_intensity_g_per_kwh;
    for (const auto& kv : m) {
      double v = 0;
      const std::string source = r.Key(kv.first, path + "." + key);
      if (r.Get(m, path + "." + key, source, &v)) {
        if (v < 0) r.Problem(path + "." + std::string(key) + "." + source, "must be >= 0");
        target[source] = v;
      }
    }
  }
  if (!carbon->mix.empty()) {
    double total = 0;
    for (const auto& [name, share] : carbon->mix) total += share;
    if (std::abs(total - 1.0) > 1e-6) r.Problem(path + ".mix", "shares must sum to 1, got " + Num(total));
    // Found here, before any telemetry is read, not after the pass.
    for (const auto& [source, share] : carbon->mix) {
      if (!carbon->source_intensity_g_per_kwh.count(source)) {
        r.Problem(path + ".mix." + source, "has no entry in " + path + ".source_intensity_g_per_kwh");
      }
    }
  }
}

void ReadPipeline(ConfigReader& r, const YAML::Node& node, PipelineConfig* p) {
  const std::string path = "pipeline";
  p->node_quantiles = DefaultNodeQuantiles();
  if (!r.IsMap(node, path, false)) return;
  r.CheckKeys(node, path,
              {"integration", "idle", "filters", "overhead", "epochs", "node_quantiles", "strict", "fit", "carbon"});
  std::string integration;
  if (r.Get(node, path, "integration", &integration)) {
    if (integration == "linear")
      p->integration = Integration::kLinear;
    else if (integration == "step")
      p->integration = Integration::kStep;
    else
      r.Problem("pipeline.integration", "must be 'linear' or 'step', got '" + integration + "'");
  }
  const YAML::Node idle = node["idle"];
  if (r.IsMap(idle, "pipeline.idle", false)) {
    r.CheckKeys(idle, "pipeline.idle", {"method", "quantile"});
    std::string method;
    if (r.Get(idle, "pipeline.idle", "method", &method)) {
      if (method == "pooled")
        p->idle_method = IdleMethod::kPooled;
      else if (method == "median_of_nodes")
        p->idle_method = IdleMethod::kMedianOfNodes;
      else
        r.Problem("pipeline.idle.method", "must be 'pooled' or 'median_of_nodes', got '" + method + "'");
    }
    if (r.Get(idle, "pipeline.idle", "quantile", &p->idle_quantile) &&
        !(p->idle_quantile > 0 && p->idle_quantile < 1)) {
      r.Problem("pipeline.idle.quantile", "must be in (0, 1), got " + Num(p->idle_quantile));
    }
  }
  const YAML::Node filters = node["filters"];
  if (r.IsMap(filters, "pipeline.filters", false)) {
    r.CheckKeys(filters, "pipeline.filters", {"max_run_time_s", "max_stdevs"});
    if (r.Get(filters, "pipeline.filters", "max_run_time_s", &p->filter_max_run_time_s) &&
        !(p->filter_max_run_time_s > 0)) {
      r.Problem("pipeline.filters.max_run_time_s", "must be > 0, got " + Num(p->filter_max_run_time_s));
    }
    if (r.Get(filters, "pipeline.filters", "max_stdevs", &p->filter_max_stdevs) && !(p->filter_max_stdevs > 0)) {
      r.Problem("pipeline.filters.max_stdevs", "must be > 0, got " + Num(p->filter_max_stdevs));
    }
  }
  const YAML::Node overhead = node["overhead"];
  if (r.IsMap(overhead, "pipeline.overhead", false)) {
    r.CheckKeys(overhead, "pipeline.overhead", {"dataset", "max_size", "quantile"});
    r.Get(overhead, "pipeline.overhead", "dataset", &p->overhead_dataset);
    if (r.Get(overhead, "pipeline.overhead", "max_size", &p->overhead_max_size) && p->overhead_max_size < 1) {
      r.Problem("pipeline.overhead.max_size", "must be >= 1");
    }
    if (r.Get(overhead, "pipeline.overhead", "quantile", &p->overhead_quantile) &&
        !(p->overhead_quantile > 0 && p->overhead_quantile < 1)) {
      r.Problem("pipeline.overhead.quantile", "must be in (0, 1), got " + Num(p->overhead_quantile));
    }
  }
  if (r.Get(node, path, "epochs", &p->epochs) && p->epochs < 1) r.Problem("pipeline.epochs", "must be >= 1");
  const YAML::Node nq = node["node_quantiles"];
  if (nq) {
    if (!nq.IsMap()) {
      r.Problem("pipeline.node_quantiles", "must be a mapping of column name to quantile level, e.g. p2: 0.02");
    } else {
      p->node_quantiles.clear();
      for (const auto& kv : nq) {
        const std::string name = r.Key(kv.first, "pipeline.node_quantiles");
        double q = 0;
        if (r.Get(nq, "pipeline.node_quantiles", name, &q)) {
          if (!(q >= 0 && q <= 1)) r.Problem("pipeline.node_quantiles." + name, "must be in [0, 1], got " + Num(q));
          p->node_quantiles.emplace_back(name, q);
        }
      }
    }
  }
  r.Get(node, path, "strict", &p->strict);
  ReadFit(r, node["fit"], &p->fit);
  ReadCarbon(r, node["carbon"], &p->carbon);
}

void ReadGenerator(ConfigReader& r, const YAML::Node& node, GeneratorConfig* g) {
  const std::string path = "generator";
  if (!r.IsMap(node, path, false)) return;
  r.CheckKeys(
      node, path,
      {"start_date", "months", "scale", "seed", "runs_at_scale_1", "sigma_cpu", "sigma_gpu", "dirty", "datasets"});
  if (r.Get(node, path, "start_date", &g->start_date)) {
    int y = 0, m = 0, d = 0;
    char extra = 0;
    if (std::sscanf(g->start_date.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &extra) != 3 || m < 1 || m > 12 || d < 1 ||
        d > 28) {
      r.Problem("generator.start_date", "must be YYYY-MM-DD with a day from 1 to 28, got '" + g->start_date + "'");
    }
  }
  if (r.Get(node, path, "months", &g->months) && (g->months < 1 || g->months > 240)) {
    r.Problem("generator.months", "must be in [1, 240]");
  }
  if (r.Get(node, path, "scale", &g->scale) && !(g->scale > 0)) r.Problem("generator.scale", "must be > 0");
  r.Get(node, path, "seed", &g->seed);
  if (r.Get(node, path, "runs_at_scale_1", &g->runs_at_scale_1) && g->runs_at_scale_1 < 1) {
    r.Problem("generator.runs_at_scale_1", "must be >= 1");
  }
  if (r.Get(node, path, "sigma_cpu", &g->sigma_cpu) && !(g->sigma_cpu >= 0))
    r.Problem("generator.sigma_cpu", "must be >= 0");
  if (r.Get(node, path, "sigma_gpu", &g->sigma_gpu) && !(g->sigma_gpu >= 0))
    r.Problem("generator.sigma_gpu", "must be >= 0");
  r.Get(node, path, "dirty", &g->dirty);
  const YAML::Node ds = node["datasets"];
  if (ds) {
    if (!ds.IsSequence()) {
      r.Problem("generator.datasets", "must be a list of data set names");
    } else {
      for (std::size_t i = 0; i < ds.size(); ++i) {
        if (!ds[i].IsScalar()) {
          r.Problem(ConfigReader::Index("generator.datasets", i), "must be a data set name");
          continue;
        }
        g->datasets.push_back(ds[i].Scalar());
      }
    }
  }
}

}  // namespace

const NodeTypeConfig* FacilityConfig::FindType(const std::string& type_name) const {
  for (const auto& t : node_types) {
    if (t.name == type_name) return &t;
  }
  return nullptr;
}

const HardwareClassConfig* FacilityConfig::FindClass(const std::string& class_name) const {
  for (const auto& c : hardware_classes) {
    if (c.name == class_name) return &c;
  }
  return nullptr;
}

const HardwareClassConfig& FacilityConfig::ClassOf(bool is_gpu) const {
  for (const auto& c : hardware_classes) {
    if (c.is_gpu == is_gpu) return c;
  }
  throw Error(std::string("the configuration has no hardware class '") + (is_gpu ? "gpu" : "cpu") + "'");
}

const NodeTypeConfig* FacilityConfig::MatchSignature(const NodeSignature& s) const {
  for (const auto& t : node_types) {
    const auto& g = t.signature;
    if (g.cpus == s.cpus && g.memory_mb == s.memory_mb && g.tmp_disk_mb == s.tmp_disk_mb && g.gres == s.gres) {
      return &t;
    }
  }
  return nullptr;
}

std::vector<std::pair<std::string, double>> DefaultNodeQuantiles() {
  std::vector<std::pair<std::string, double>> q = {
      {"p000001", 0.000001}, {"p00001", 0.00001}, {"p0001", 0.0001}, {"p001", 0.001}};
  for (int p = 1; p <= 99; ++p) {
    std::string name = "p";  // not "p" + ...: GCC 12 warns falsely (-Wrestrict) on that
    name += std::to_string(p);
    q.emplace_back(std::move(name), p / 100.0);
  }
  q.insert(q.end(), {{"p999", 0.999}, {"p9999", 0.9999}, {"p99999", 0.99999}, {"p999999", 0.999999}});
  return q;
}

Config ParseConfig(const std::string& yaml_text, const std::string& source_name) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    throw Error(source_name + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML: " + e.msg);
  }
  ConfigReader r(source_name);
  Config config;
  config.source_path = source_name;
  config.yaml_text = yaml_text;
  if (!root || !root.IsMap()) {
    throw Error(source_name + ": (top level): must be a mapping with facility, pipeline and generator sections");
  }
  r.CheckKeys(root, "", {"facility", "pipeline", "generator"});
  ReadFacility(r, root["facility"], &config.facility);
  ReadPipeline(r, root["pipeline"], &config.pipeline);
  ReadGenerator(r, root["generator"], &config.generator);
  if (!r.ok()) throw Error("invalid configuration:\n" + r.Report());
  return config;
}

Config LoadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open configuration file");
  std::ostringstream text;
  text << in.rdbuf();
  return ParseConfig(text.str(), path);
}

const char* ToString(Integration value) { return value == Integration::kLinear ? "linear" : "step"; }
const char* ToString(TelemetryTimeFormat value) {
  switch (value) {
    case TelemetryTimeFormat::kIso:
      return "iso";
    case TelemetryTimeFormat::kEpochSeconds:
      return "epoch_s";
    case TelemetryTimeFormat::kEpochMillis:
      return "epoch_ms";
    case TelemetryTimeFormat::kEpochMicros:
      return "epoch_us";
  }
  return "?";
}
const char* ToString(TelemetryKind value) { return value == TelemetryKind::kPower ? "power" : "energy_counter"; }
const char* ToString(IdleMethod value) { return value == IdleMethod::kPooled ? "pooled" : "median_of_nodes"; }
const char* ToString(TelemetrySource value) { return value == TelemetrySource::kFiles ? "files" : "prometheus"; }

const char* ToString(RobustLoss value) {
  switch (value) {
    case RobustLoss::kNone:
      return "none";
    case RobustLoss::kHuber:
      return "huber";
    case RobustLoss::kCauchy:
      return "cauchy";
    case RobustLoss::kSoftL1:
      return "soft_l1";
  }
  return "?";
}

std::vector<std::pair<std::string, std::string>> FitConfig::Problems() const {
  std::vector<std::pair<std::string, std::string>> problems;
  if (!std::isfinite(loss_scale)) {
    problems.emplace_back("loss_scale", "must be a finite number, got " + Num(loss_scale));
  } else if (!(loss_scale > 0)) {
    problems.emplace_back("loss_scale", "must be > 0, got " + Num(loss_scale));
  }
  if (max_iterations < 1) problems.emplace_back("max_iterations", "must be >= 1");
  if (cross_validation_folds == 1 || cross_validation_folds < 0) {
    problems.emplace_back("cross_validation_folds", "must be 0 (off) or >= 2");
  }
  if (!(min_energy_share >= 0 && min_energy_share < 1)) problems.emplace_back("min_energy_share", "must be in [0, 1)");
  if (!(max_relative_std_error > 0)) problems.emplace_back("max_relative_std_error", "must be > 0");
  return problems;
}

}  // namespace wattrun
