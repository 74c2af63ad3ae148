// The results tables' columns, each declared once: its name, unit and
// description, its place in the CSV, and how its value is written to the CSV
// and to results.h5 and read back. The CSV writer and the results.h5 writer
// and reader iterate these tables (private to stages/results).
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/h5.h"
#include "core/maybe.h"
#include "core/time.h"
#include "stages/results/results.h"

namespace wattrun::results::schema {

// Where a column goes in the CSV: in table order, not at all (results.h5
// only), after the kYes ones (node_power_dist's max follows its quantiles), or
// at the end (jobs_energy's node_list follows the spec's columns).
enum class Csv { kYes, kNo, kLater, kLast };

// Every column of a table must have as many rows as its first.
inline void CheckRows(std::size_t expected, std::size_t got, const std::string& path, const std::string& column) {
  if (got != expected) {
    throw Error(path + ": " + column + " has " + std::to_string(got) + " rows, expected " + std::to_string(expected));
  }
}

// The columns of one table group, each checked to have the first's rows.
class TableReader {
 public:
  TableReader(hid_t group, std::string where) : id_(group), where_(std::move(where)) {}
  hid_t id() const { return id_; }
  std::size_t rows() const { return rows_.value_or(0); }
  std::vector<std::string> Strings(const std::string& name) { return Checked(h5::ReadStrings(id_, name), name); }
  template <typename T>
  std::vector<T> Column(const std::string& name) {
    if constexpr (std::is_same_v<T, std::string>) {
      return Strings(name);
    } else {
      return Checked(h5::ReadVector<T>(id_, name), name);
    }
  }

 private:
  template <typename V>
  V Checked(V v, const std::string& name) {
    if (!rows_) rows_ = v.size();
    CheckRows(*rows_, v.size(), where_, name);
    return v;
  }
  hid_t id_;
  std::string where_;
  std::optional<std::size_t> rows_;
};

template <typename Row>
struct Column {
  std::string name;
  std::string units;        // SI-style, "1" for counts and ratios, "text" for strings
  std::string description;  // one line, booleans and missing values spelled out
  Csv csv = Csv::kYes;
  bool optional = false;  // may be absent from older results.h5 (then left at its default)
  std::function<std::string(const Row&)> csv_field;
  std::function<void(hid_t, const std::vector<Row>&)> write_h5;
  std::function<void(TableReader&, std::vector<Row>*)> read_h5;  // empty: derived, not read back
};

// A dataset of a group that is not a row of its table: the order or levels
// of other datasets (quantile_names, model_classes, ...).
struct Array {
  const char* name;
  const char* units;
  const char* description;
};

template <typename Row>
using Table = std::vector<Column<Row>>;

// How a value is stored: results.h5's type (Stored), Put/Get between the
// row's value and it, and the CSV text.
namespace codec {

inline std::string Bool(bool b) { return b ? "True" : "False"; }

// CSV field, quoted when it holds a delimiter, quote or newline.
inline std::string Quoted(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

struct Text {  // free text, quoted in the CSV when needed
  using Stored = std::string;
  static Stored Put(const std::string& v) { return v; }
  static std::string Get(Stored s) { return s; }
  static std::string Csv(const std::string& v) { return Quoted(v); }
};
struct Word : Text {  // a name from a fixed set (status, node type, month): never quoted
  static std::string Csv(const std::string& v) { return v; }
};
struct Flag {
  using Stored = std::uint8_t;
  static Stored Put(bool v) { return Stored(v); }
  static bool Get(Stored s) { return s != 0; }
  static std::string Csv(bool v) { return Bool(v); }
};
struct TriFlag {  // -1: not applied
  using Stored = std::int8_t;
  static Stored Put(const std::optional<bool>& v) { return v ? (*v ? 1 : 0) : -1; }
  static std::optional<bool> Get(Stored s) { return s < 0 ? std::nullopt : std::optional<bool>(s != 0); }
  static std::string Csv(const std::optional<bool>& v) { return v ? Bool(*v) : ""; }
};
struct Real {
  using Stored = double;
  static Stored Put(double v) { return v; }
  static double Get(Stored s) { return s; }
  static std::string Csv(double v) { return FormatDouble(v); }
};
struct OptReal {  // NaN: none
  using Stored = double;
  static Stored Put(const std::optional<double>& v) { return v ? *v : std::nan(""); }
  static std::optional<double> Get(Stored s) { return std::isnan(s) ? std::nullopt : std::optional<double>(s); }
  static std::string Csv(const std::optional<double>& v) { return v ? FormatDouble(*v) : ""; }
};
struct Count {
  using Stored = std::int64_t;
  static Stored Put(std::int64_t v) { return v; }
  static std::int64_t Get(Stored s) { return s; }
  static std::string Csv(std::int64_t v) { return std::to_string(v); }
};
struct OptCount {  // -1: none
  using Stored = std::int64_t;
  static Stored Put(const std::optional<std::int64_t>& v) { return v.value_or(-1); }
  static std::optional<std::int64_t> Get(Stored s) { return s < 0 ? std::nullopt : std::optional<std::int64_t>(s); }
  static std::string Csv(const std::optional<std::int64_t>& v) { return v ? std::to_string(*v) : ""; }
};
struct OptTime {  // int64 min: none (h5py users test `== np.iinfo(np.int64).min`)
  using Stored = std::int64_t;
  static constexpr Stored kNone = std::numeric_limits<std::int64_t>::min();
  static Stored Put(const std::optional<TimeUs>& v) { return v.value_or(kNone); }
  static std::optional<TimeUs> Get(Stored s) { return s == kNone ? std::nullopt : std::optional<TimeUs>(s); }
  static std::string Csv(const std::optional<TimeUs>& v) { return v ? FormatUtcIso(*v) : ""; }
};
struct Level {
  using Stored = std::int32_t;
  static Stored Put(int v) { return Stored(v); }
  static int Get(Stored s) { return s; }
  static std::string Csv(int v) { return std::to_string(v); }
};
struct Index {  // a row of another table; the reader checks the range
  using Stored = std::int64_t;
  static Stored Put(std::size_t v) { return Stored(v); }
  static std::size_t Get(Stored s) { return static_cast<std::size_t>(s); }
  static std::string Csv(std::size_t v) { return std::to_string(v); }
};

template <typename T>
struct Default;
template <>
struct Default<std::string> {
  using Type = Text;
};
template <>
struct Default<Symbol> {
  using Type = Text;
};
template <>
struct Default<bool> {
  using Type = Flag;
};
template <>
struct Default<std::optional<bool>> {
  using Type = TriFlag;
};
template <>
struct Default<double> {
  using Type = Real;
};
template <>
struct Default<std::optional<double>> {
  using Type = OptReal;
};
template <>
struct Default<Maybe<double>> {
  using Type = OptReal;
};
template <>
struct Default<Maybe<std::int64_t>> {
  using Type = OptCount;
};
template <>
struct Default<std::int64_t> {
  using Type = Count;
};
template <>
struct Default<std::optional<std::int64_t>> {
  using Type = OptCount;
};
template <>
struct Default<int> {
  using Type = Level;
};
template <>
struct Default<std::size_t> {
  using Type = Index;
};

}  // namespace codec

// A column of the value `get` derives from a row (written, not read back).
template <typename Codec, typename Row, typename Get>
Column<Row> Derived(std::string name, Get get, std::string units, std::string description, Csv csv = Csv::kYes) {
  Column<Row> c{name, std::move(units), std::move(description), csv, false, {}, {}, {}};
  c.csv_field = [get](const Row& r) { return Codec::Csv(get(r)); };
  c.write_h5 = [name, get](hid_t loc, const std::vector<Row>& rows) {
    std::vector<typename Codec::Stored> values;
    values.reserve(rows.size());
    for (const Row& r : rows) values.push_back(Codec::Put(get(r)));
    if constexpr (std::is_same_v<typename Codec::Stored, std::string>) {
      h5::WriteStrings(loc, name, values, h5::StringLayout::kFixedWhenCompact);
    } else {
      h5::WriteVector(loc, name, values);
    }
  };
  return c;
}

// A column holding `member`, stored as Codec says.
template <typename Codec, typename Row, typename T>
Column<Row> As(std::string name, T Row::*member, std::string units, std::string description, Csv csv = Csv::kYes,
               bool optional = false) {
  Column<Row> c = Derived<Codec, Row>(
      name, [member](const Row& r) -> const T& { return r.*member; }, std::move(units), std::move(description), csv);
  c.optional = optional;
  c.read_h5 = [name, member](TableReader& t, std::vector<Row>* rows) {
    const auto values = t.Column<typename Codec::Stored>(name);
    rows->resize(t.rows());
    for (std::size_t i = 0; i < values.size(); ++i) (*rows)[i].*member = Codec::Get(values[i]);
  };
  return c;
}

// The same with the codec of the member's type.
template <typename Row, typename T>
Column<Row> Of(std::string name, T Row::*member, std::string units, std::string description, Csv csv = Csv::kYes,
               bool optional = false) {
  return As<typename codec::Default<T>::Type>(std::move(name), member, std::move(units), std::move(description), csv,
                                              optional);
}

// Rows of the tables that PipelineResults holds as parallel vectors or nested.
struct MemoryLevelRow {  // one per (class, level)
  std::string hardware_class;
  bool is_gpu = false;
  int level = 0;
  double bytes_per_unit = 0.0;
  std::int64_t units = 0;
};
struct LossRow {
  std::string experiment_id;
  std::int64_t epoch = 0;
  double test_loss = 0.0;
};
using LowEndRow = std::pair<double, std::int64_t>;  // (reading value, readings with it)
using IntensityRow = std::pair<TimeUs, double>;     // (from, g CO2e/kWh)

const Table<RunRow>& RunsTable();
const Table<JobRow>& JobsTable();
const Table<JobNodeRow>& JobNodesTable();
const Table<UsageRow>& UsageTable();
const Table<LedgerRow>& LedgerTable();
const Table<QualityFileRow>& QualityFilesTable();
const Table<CoverageRow>& CoverageTable();  // /telemetry_coverage (no CSV)
const Table<idle::IdlePower>& IdlePowerTable();
const Table<LowEndRow>& LowEndTable();  // /idle_power/low_end/<type>
// The node_power_dist columns with one quantile column per name, in order.
Table<idle::NodeDistribution> NodeDistTable(const std::vector<std::string>& quantile_names);
const Table<QualityRow>& QualityTable();
const Table<standardize::Overhead>& OverheadsTable();
const Table<ModelParameterRow>& ModelTable();  // model_<class>.csv, /model_<class>
const Table<PredictionRow>& PredictionsTable();
const Table<FeatureRow>& FeaturesTable();
const Table<MemoryLevelRow>& MemoryLevelsTable();
const Table<LossRow>& LossesTable();
const Table<IntensityRow>& CarbonIntensityTable();

// The datasets beside the tables.
extern const Array kModelClasses;                          // /
extern const Array kLowEndTypes;                           // /idle_power
extern const Array kQuantileNames, kQuantileLevels;        // /node_power_dist
extern const Array kRatioQuantileLevels, kRatioQuantiles;  // /model_<class>
extern const Array kClasses, kClassIsGpu;                  // /memory_levels

// A model_<class> group's summary figures, written as its attributes.
struct ModelFigure {
  const char* name;
  double ModelResult::*member;
};
const std::vector<ModelFigure>& ModelFigures();

}  // namespace wattrun::results::schema
