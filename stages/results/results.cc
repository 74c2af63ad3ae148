#include "stages/results/results.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/h5.h"

namespace wattrun::results {
namespace fs = std::filesystem;
namespace {

std::string Bool(bool b) { return b ? "True" : "False"; }
std::string Opt(const std::optional<double>& v) { return v ? FormatDouble(*v) : ""; }
std::string Opt(const std::optional<bool>& v) { return v ? Bool(*v) : ""; }
std::string Opt(const std::optional<std::int64_t>& v) { return v ? std::to_string(*v) : ""; }

// CSV field, quoted when it holds a delimiter, quote or newline.
std::string Field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// A file written under a temporary name and renamed into place on Commit().
class AtomicFile {
 public:
  explicit AtomicFile(std::string path) : path_(std::move(path)), tmp_(path_ + ".tmp"), out_(tmp_, std::ios::binary) {
    if (!out_) throw Error(tmp_ + ": cannot create (permission denied or no such directory?)");
  }
  std::ofstream& out() { return out_; }
  void Commit() {
    out_.flush();
    if (!out_) throw Error(tmp_ + ": write failed (disk full?)");
    out_.close();
    fs::rename(tmp_, path_);
  }

 private:
  std::string path_, tmp_;
  std::ofstream out_;
};

void WriteRunsCsv(const PipelineResults& r, const std::string& path) {
  AtomicFile f(path);
  auto& o = f.out();
  o << "run_id,slurm_job_id,node,node_type,is_gpu,status,run_time,samples,energy,filter_1,filter_3,"
       "filter_3_stdevs,filter,std_energy,non_overhead_energy,non_overhead_run_time,dataset,shape,depth,size\n";
  for (const auto& x : r.runs) {
    o << Field(x.run_id) << ',' << Field(x.slurm_job_id) << ',' << Field(x.node) << ',' << x.node_type << ','
      << Bool(x.is_gpu) << ',' << x.status << ',' << Opt(x.run_time_s) << ',' << Opt(x.samples) << ','
      << Opt(x.energy_j) << ',' << Opt(x.filter_1) << ',' << Opt(x.filter_3) << ',' << Opt(x.filter_3_stdevs) << ','
      << Opt(x.filter) << ',' << Opt(x.std_energy_j) << ',' << Opt(x.non_overhead_energy_j) << ','
      << Opt(x.non_overhead_run_time_s) << ',' << Field(x.dataset) << ',' << Field(x.shape) << ',' << x.depth << ','
      << x.size << '\n';
  }
  f.Commit();
}

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
    o << Field(x.node) << ',' << x.count << ',' << FormatDouble(x.min);
    for (double q : x.quantiles) o << ',' << FormatDouble(q);
    o << ',' << FormatDouble(x.max) << ',' << x.node_type << '\n';
  }
  f.Commit();
}

void WriteQualityCsv(const PipelineResults& r, const std::string& path) {
  AtomicFile f(path);
  f.out() << "stage,reason,count\n";
  for (const auto& q : r.quality) f.out() << q.stage << ',' << Field(q.reason) << ',' << q.count << '\n';
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
    f.out() << p.parameter << ',' << FormatDouble(p.value) << ',' << Opt(p.std_error) << ',' << Field(p.unit) << ','
            << Bool(p.determined) << ',' << Field(p.reason) << '\n';
  }
  f.Commit();
}

void WritePredictionsCsv(const PipelineResults& r, const std::string& path) {
  AtomicFile f(path);
  f.out() << "run_id,is_gpu,measured,predicted,ratio,baseline_predicted\n";
  for (const auto& p : r.predictions) {
    f.out() << Field(p.run_id) << ',' << Bool(p.is_gpu) << ',' << FormatDouble(p.measured) << ','
            << FormatDouble(p.predicted) << ',' << FormatDouble(p.predicted / p.measured) << ','
            << FormatDouble(p.baseline) << '\n';
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
std::int8_t Tri(const std::optional<bool>& v) { return v ? (*v ? 1 : 0) : -1; }

void WriteH5(const PipelineResults& r, const std::string& path) {
  const std::string tmp = path + ".tmp";
  {
    h5::File file = h5::File::Open(tmp, h5::Mode::kCreate);
    const hid_t f = file.id();
    h5::SetAttribute(f, "facility", r.facility);
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
    {
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
      h5::WriteStrings(g.get(), "hardware_class", cls);
      h5::WriteVector(g.get(), "is_gpu", gpu);
      h5::WriteVector(g.get(), "level", level);
      h5::WriteVector(g.get(), "bytes_per_unit", bytes);
      h5::WriteVector(g.get(), "units", units);
      // Classes in order, including any without levels.
      h5::WriteStrings(g.get(), "classes", Col(r.memory_levels, [](const ClassMemory& v) { return v.hardware_class; }));
      h5::WriteVector(g.get(), "class_is_gpu",
                      Col(r.memory_levels, [](const ClassMemory& v) { return std::uint8_t(v.is_gpu); }));
    }
    // The order of the model_<class> groups (HDF5 lists groups by name).
    h5::WriteStrings(f, "model_classes", Col(r.models, [](const ModelResult& v) { return v.hardware_class; }));
    {
      h5::H5Id g = h5::EnsureGroup(f, "runs_energy");
      const auto& x = r.runs;
      const hid_t id = g.get();
      h5::WriteStrings(id, "run_id", Col(x, [](const RunRow& v) { return v.run_id; }));
      h5::WriteStrings(id, "experiment_id", Col(x, [](const RunRow& v) { return v.experiment_id; }));
      h5::WriteStrings(id, "slurm_job_id", Col(x, [](const RunRow& v) { return v.slurm_job_id; }));
      h5::WriteStrings(id, "node", Col(x, [](const RunRow& v) { return v.node; }));
      h5::WriteStrings(id, "node_type", Col(x, [](const RunRow& v) { return v.node_type; }));
      h5::WriteVector(id, "is_gpu", Col(x, [](const RunRow& v) { return std::uint8_t(v.is_gpu); }));
      h5::WriteStrings(id, "status", Col(x, [](const RunRow& v) { return v.status; }));
      h5::WriteVector(id, "run_time", Col(x, [](const RunRow& v) { return OrNan(v.run_time_s); }));
      h5::WriteVector(id, "samples", Col(x, [](const RunRow& v) { return v.samples.value_or(-1); }));
      h5::WriteVector(id, "energy", Col(x, [](const RunRow& v) { return OrNan(v.energy_j); }));
      h5::WriteVector(id, "filter_1", Col(x, [](const RunRow& v) { return Tri(v.filter_1); }));
      h5::WriteVector(id, "filter_3", Col(x, [](const RunRow& v) { return Tri(v.filter_3); }));
      h5::WriteVector(id, "filter_3_stdevs", Col(x, [](const RunRow& v) { return OrNan(v.filter_3_stdevs); }));
      h5::WriteVector(id, "filter", Col(x, [](const RunRow& v) { return Tri(v.filter); }));
      h5::WriteVector(id, "std_energy", Col(x, [](const RunRow& v) { return OrNan(v.std_energy_j); }));
      h5::WriteVector(id, "non_overhead_energy", Col(x, [](const RunRow& v) { return OrNan(v.non_overhead_energy_j); }));
      h5::WriteVector(id, "non_overhead_run_time",
                      Col(x, [](const RunRow& v) { return OrNan(v.non_overhead_run_time_s); }));
      h5::WriteStrings(id, "dataset", Col(x, [](const RunRow& v) { return v.dataset; }));
      h5::WriteStrings(id, "shape", Col(x, [](const RunRow& v) { return v.shape; }));
      h5::WriteVector(id, "depth", Col(x, [](const RunRow& v) { return v.depth; }));
      h5::WriteVector(id, "size", Col(x, [](const RunRow& v) { return v.size; }));
      h5::WriteVector(id, "batch_size", Col(x, [](const RunRow& v) { return v.batch_size; }));
      h5::WriteVector(id, "usable", Col(x, [](const RunRow& v) { return std::uint8_t(v.usable); }));
      h5::SetAttribute(id, "missing_values", std::string("NaN for numbers, -1 for samples and booleans"));
    }
    {
      h5::H5Id g = h5::EnsureGroup(f, "features");
      const auto& x = r.features;
      const hid_t id = g.get();
      h5::WriteVector(id, "run", Col(x, [](const FeatureRow& v) { return std::int64_t(v.run); }));
      h5::WriteVector(id, "n_params", Col(x, [](const FeatureRow& v) { return v.n_params; }));
      h5::WriteVector(id, "depth", Col(x, [](const FeatureRow& v) { return v.depth; }));
      h5::WriteVector(id, "n_observations", Col(x, [](const FeatureRow& v) { return v.n_observations; }));
      h5::WriteVector(id, "train_observations", Col(x, [](const FeatureRow& v) { return v.train_observations; }));
      h5::WriteVector(id, "fwd_ops", Col(x, [](const FeatureRow& v) { return v.fwd_ops; }));
      h5::WriteVector(id, "bwd_ops", Col(x, [](const FeatureRow& v) { return v.bwd_ops; }));
      h5::WriteVector(id, "total_flops", Col(x, [](const FeatureRow& v) { return v.total_flops; }));
      h5::WriteVector(id, "h_t", Col(x, [](const FeatureRow& v) { return v.h_t; }));
      h5::WriteVector(id, "h_s", Col(x, [](const FeatureRow& v) { return v.h_s; }));
      h5::WriteVector(id, "epochs", Col(x, [](const FeatureRow& v) { return v.epochs; }));
      h5::WriteVector(id, "t_max_bytes", Col(x, [](const FeatureRow& v) { return v.t_max_bytes; }));
      h5::WriteVector(id, "t_max_level", Col(x, [](const FeatureRow& v) { return std::int32_t(v.t_max_level); }));
      h5::WriteVector(id, "f_bytes", Col(x, [](const FeatureRow& v) { return v.f_bytes; }));
      h5::WriteVector(id, "f_level", Col(x, [](const FeatureRow& v) { return std::int32_t(v.f_level); }));
      h5::WriteVector(id, "f_test_level", Col(x, [](const FeatureRow& v) { return std::int32_t(v.f_test_level); }));
      h5::WriteVector(id, "b_bytes", Col(x, [](const FeatureRow& v) { return v.b_bytes; }));
      h5::WriteVector(id, "b_level", Col(x, [](const FeatureRow& v) { return std::int32_t(v.b_level); }));
      h5::WriteVector(id, "d_bytes", Col(x, [](const FeatureRow& v) { return v.d_bytes; }));
      h5::WriteVector(id, "d_level", Col(x, [](const FeatureRow& v) { return std::int32_t(v.d_level); }));
    }
    {
      h5::H5Id g = h5::EnsureGroup(f, "idle_power");
      const hid_t id = g.get();
      h5::WriteStrings(id, "node_type", Col(r.idle, [](const idle::IdlePower& v) { return v.node_type; }));
      h5::WriteVector(id, "nodes", Col(r.idle, [](const idle::IdlePower& v) { return v.nodes; }));
      h5::WriteVector(id, "readings", Col(r.idle, [](const idle::IdlePower& v) { return v.readings; }));
      h5::WriteVector(id, "idle_w", Col(r.idle, [](const idle::IdlePower& v) { return v.idle_w; }));
      h5::WriteStrings(id, "low_end_types", Col(r.type_low_end, [](const TypeDistribution& v) { return v.node_type; }));
      for (const auto& t : r.type_low_end) {
        h5::H5Id d = h5::EnsureGroup(id, "low_end/" + t.node_type);
        h5::WriteVector(d.get(), "value", Col(t.values, [](const auto& p) { return p.first; }));
        h5::WriteVector(d.get(), "count", Col(t.values, [](const auto& p) { return p.second; }));
      }
    }
    {
      h5::H5Id g = h5::EnsureGroup(f, "node_power_dist");
      const hid_t id = g.get();
      h5::WriteStrings(id, "node", Col(r.nodes, [](const idle::NodeDistribution& v) { return v.node; }));
      h5::WriteStrings(id, "node_type", Col(r.nodes, [](const idle::NodeDistribution& v) { return v.node_type; }));
      h5::WriteVector(id, "count", Col(r.nodes, [](const idle::NodeDistribution& v) { return v.count; }));
      h5::WriteVector(id, "min", Col(r.nodes, [](const idle::NodeDistribution& v) { return v.min; }));
      h5::WriteVector(id, "max", Col(r.nodes, [](const idle::NodeDistribution& v) { return v.max; }));
      h5::WriteVector(id, "idle_quantile",
                      Col(r.nodes, [](const idle::NodeDistribution& v) { return v.idle_quantile; }));
      h5::WriteStrings(id, "quantile_names", r.node_quantile_names);
      h5::WriteVector(id, "quantile_levels", r.node_quantile_levels);
      for (std::size_t q = 0; q < r.node_quantile_names.size(); ++q) {
        h5::WriteVector(id, r.node_quantile_names[q],
                        Col(r.nodes, [q](const idle::NodeDistribution& v) { return v.quantiles[q]; }));
      }
    }
    {
      h5::H5Id g = h5::EnsureGroup(f, "quality");
      h5::WriteStrings(g.get(), "stage", Col(r.quality, [](const QualityRow& v) { return v.stage; }));
      h5::WriteStrings(g.get(), "reason", Col(r.quality, [](const QualityRow& v) { return v.reason; }));
      h5::WriteVector(g.get(), "count", Col(r.quality, [](const QualityRow& v) { return v.count; }));
    }
    {
      h5::H5Id g = h5::EnsureGroup(f, "overheads");
      using O = standardize::Overhead;
      h5::WriteVector(g.get(), "is_gpu", Col(r.overheads, [](const O& v) { return std::uint8_t(v.is_gpu); }));
      h5::WriteVector(g.get(), "runs", Col(r.overheads, [](const O& v) { return v.runs; }));
      h5::WriteVector(g.get(), "energy_overhead", Col(r.overheads, [](const O& v) { return v.energy_overhead_j; }));
      h5::WriteVector(g.get(), "runtime_overhead", Col(r.overheads, [](const O& v) { return v.runtime_overhead_s; }));
    }
    for (const auto& m : r.models) {
      h5::H5Id g = h5::EnsureGroup(f, "model_" + m.hardware_class);
      const hid_t id = g.get();
      using P = ModelParameterRow;
      h5::WriteStrings(id, "parameter", Col(m.parameters, [](const P& v) { return v.parameter; }));
      h5::WriteVector(id, "value", Col(m.parameters, [](const P& v) { return v.value; }));
      h5::WriteVector(id, "std_error", Col(m.parameters, [](const P& v) { return OrNan(v.std_error); }));
      h5::WriteStrings(id, "unit", Col(m.parameters, [](const P& v) { return v.unit; }));
      h5::WriteVector(id, "determined", Col(m.parameters, [](const P& v) { return std::uint8_t(v.determined); }));
      h5::WriteStrings(id, "reason", Col(m.parameters, [](const P& v) { return v.reason; }));
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
      h5::WriteVector(id, "ratio_quantile_levels", Col(m.ratio_quantiles, [](const auto& p) { return p.first; }));
      h5::WriteVector(id, "ratio_quantiles", Col(m.ratio_quantiles, [](const auto& p) { return p.second; }));
    }
    {
      h5::H5Id g = h5::EnsureGroup(f, "predictions");
      const hid_t id = g.get();
      using P = PredictionRow;
      h5::WriteStrings(id, "run_id", Col(r.predictions, [](const P& v) { return v.run_id; }));
      h5::WriteVector(id, "is_gpu", Col(r.predictions, [](const P& v) { return std::uint8_t(v.is_gpu); }));
      h5::WriteVector(id, "measured", Col(r.predictions, [](const P& v) { return v.measured; }));
      h5::WriteVector(id, "predicted", Col(r.predictions, [](const P& v) { return v.predicted; }));
      h5::WriteVector(id, "ratio", Col(r.predictions, [](const P& v) { return v.predicted / v.measured; }));
      h5::WriteVector(id, "baseline_predicted", Col(r.predictions, [](const P& v) { return v.baseline; }));
    }
    {
      h5::H5Id g = h5::EnsureGroup(f, "losses");
      h5::WriteStrings(g.get(), "experiment_id", r.loss_experiment);
      h5::WriteVector(g.get(), "epoch", r.loss_epoch);
      h5::WriteVector(g.get(), "test_loss", r.loss_value);
    }
    file.Flush();
    file.Close();
  }
  fs::rename(tmp, path);
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

void FinishResults(const std::string& dir) {
  std::ofstream ok(fs::path(dir) / "_SUCCESS");
  ok << "complete\n";
  if (!ok) throw Error(dir + "/_SUCCESS: cannot write");
}

void WriteResults(const PipelineResults& r, const std::string& dir) {
  const fs::path d(dir);
  WriteRunsCsv(r, (d / "runs_energy.csv").string());
  WriteIdleCsv(r, (d / "idle_power.csv").string());
  WriteNodeDistCsv(r, (d / "node_power_dist.csv").string());
  WriteQualityCsv(r, (d / "quality.csv").string());
  WriteOverheadsCsv(r, (d / "overheads.csv").string());
  for (const auto& m : r.models) WriteModelCsv(m, (d / ("model_" + m.hardware_class + ".csv")).string());
  WritePredictionsCsv(r, (d / "predictions.csv").string());
  WriteH5(r, (d / "results.h5").string());
}

}  // namespace wattrun::results

namespace wattrun::results {

PipelineResults ReadResultsH5(const std::string& path) {
  throw Error(path + ": reading results.h5 back is not built yet (issue 6)");
}

}  // namespace wattrun::results
