// `wattrun predict`: the fitted model answers questions about networks that
// have not been trained: how much energy, spent on what, and which sizes of
// this shape and depth are energy-efficient for the hardware's caches.
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/csv.h"
#include "core/error.h"
#include "core/json.h"
#include "pipeline/commands.h"
#include "stages/generate/catalog.h"
#include "stages/model/energy_model.h"
#include "stages/model/predict.h"
#include "stages/results/results.h"
#include "stages/topology/topology.h"
#include "store/store.h"

namespace wattrun::pipeline {
namespace fs = std::filesystem;
namespace {

// Fitted parameters from model_<class>.csv, in ParameterNames order.
std::vector<double> ReadModel(const fs::path& path, int n_levels) {
  if (!fs::exists(path)) throw Error(path.string() + ": no fitted model here (run `wattrun run` first)");
  LineReader reader(path.string());
  std::string_view line;
  std::vector<std::string_view> fields;
  std::string storage;
  if (!reader.Next(&line)) throw InputError(path.string(), 1, "empty model file");
  SplitCsvLine(line, ',', &fields, &storage);
  const CsvHeader header(fields);
  const int name_col = header.Require("parameter", path.string());
  const int value_col = header.Require("value", path.string());
  const auto names = model::ParameterNames(n_levels);
  std::vector<double> k(names.size(), std::nan(""));
  while (reader.Next(&line)) {
    SplitCsvLine(line, ',', &fields, &storage);
    if (fields.size() <= static_cast<std::size_t>(std::max(name_col, value_col))) continue;
    for (std::size_t p = 0; p < names.size(); ++p) {
      double v = 0;
      if (fields[static_cast<std::size_t>(name_col)] == names[p] &&
          ParseDouble(fields[static_cast<std::size_t>(value_col)], &v))
        k[p] = v;
    }
  }
  for (std::size_t p = 0; p < k.size(); ++p) {
    if (std::isnan(k[p])) {
      throw InputError(path.string(), 0,
                       "parameter '" + names[p] + "' missing or not fitted (the model has " + std::to_string(n_levels) +
                           " memory levels?)");
    }
  }
  return k;
}

// The store that knows the run's data sets: --store if given (it must
// exist), else the store the run recorded in results.h5, else
// MODEL/store.h5. `tried` lists what was looked at, for the error messages.
struct StoreLookup {
  std::string path;  // empty: none found
  std::vector<std::string> tried;
};

StoreLookup FindStore(const PredictArgs& args) {
  StoreLookup out;
  if (!args.store.empty()) {
    if (!fs::exists(args.store)) throw Error("--store " + args.store + ": no such file");
    out.path = args.store;
    return out;
  }
  const fs::path results_h5 = fs::path(args.model_dir) / "results.h5";
  if (fs::exists(results_h5)) {
    const std::string recorded = results::ReadRecordedStorePath(results_h5.string());
    if (!recorded.empty()) {
      if (fs::exists(recorded)) {
        out.path = recorded;
        return out;
      }
      out.tried.push_back(recorded + " (recorded in " + results_h5.string() + ")");
    }
  }
  const fs::path beside = fs::path(args.model_dir) / "store.h5";
  if (fs::exists(beside)) {
    out.path = beside.string();
    return out;
  }
  out.tried.push_back(beside.string());
  return out;
}

// Sizes of the data set; returns where they came from, for the output.
std::string FindDataset(const PredictArgs& args, std::int64_t* n_in, std::int64_t* n_out, std::int64_t* n_obs) {
  *n_in = args.inputs;
  *n_out = args.outputs;
  *n_obs = args.observations;
  if (args.dataset.empty()) {
    if (*n_in <= 0 || *n_out <= 0 || *n_obs <= 0) {
      throw Error("predict needs --dataset NAME, or --inputs, --outputs and --observations");
    }
    return "given sizes";
  }
  // The run's own store knows the user's data sets; BUTTER-E's are built in.
  const StoreLookup store = FindStore(args);
  if (!store.path.empty()) {
    for (const auto& d : store::ReadCatalogue(store.path).datasets) {
      if (d.name == args.dataset) {
        *n_in = d.n_features;
        *n_out = d.n_outputs();
        *n_obs = d.n_observations;
        return args.dataset + " from " + store.path;
      }
    }
  }
  for (const auto& d : generate::ButterDatasets()) {
    if (d.name == args.dataset) {
      *n_in = d.n_features;
      *n_out = d.n_outputs();
      *n_obs = d.n_observations;
      return args.dataset + " from BUTTER-E's list";
    }
  }
  std::string where;
  if (!store.path.empty()) {
    where = "in the store " + store.path;
  } else {
    where = "in a store (none found; tried ";
    for (std::size_t i = 0; i < store.tried.size(); ++i) where += (i ? ", " : "") + store.tried[i];
    where += ")";
  }
  throw Error("data set '" + args.dataset + "' is neither " + where +
              " nor among BUTTER-E's; give --store STORE.h5, or --inputs, --outputs and --observations");
}

std::string Bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, b < 10 ? "%.2f %s" : "%.0f %s", b, units[u]);
  return buf;
}

// The prediction as text, for people.
void PrintPrediction(const PredictArgs& args, const model::PredictRequest& req, const std::string& data_source,
                     const model::Prediction& p) {
  std::printf("network: %s, depth %lld, target size %lld -> widths", args.shape.c_str(),
              static_cast<long long>(args.depth), static_cast<long long>(args.size));
  for (auto w : p.network.full_widths) std::printf(" %lld", static_cast<long long>(w));
  std::printf(" (%lld parameters)\n", static_cast<long long>(p.network.n_params));
  std::printf("data: %lld inputs, %lld outputs, %lld observations (%s); %lld epochs, batch %lld; %s\n",
              static_cast<long long>(req.n_inputs), static_cast<long long>(req.n_outputs),
              static_cast<long long>(req.n_observations), data_source.c_str(), static_cast<long long>(req.epochs),
              static_cast<long long>(req.batch_size), args.hardware.c_str());
  std::printf("\npredicted energy: %.4g J (%.4g kWh), %.4g J per training datum\n", p.breakdown.total_j,
              p.breakdown.total_j / 3.6e6, p.energy_per_datum_j);
  const auto& b = p.breakdown;
  std::printf("  %-34s %14.4g J %6.1f%%\n", "overhead (ke)", b.overhead_j, 100 * b.overhead_j / b.total_j);
  std::printf("  %-34s %14.4g J %6.1f%%\n", "passes (kp)", b.passes_j, 100 * b.passes_j / b.total_j);
  std::printf("  %-34s %14.4g J %6.1f%%\n", "forward operations (ko)", b.forward_ops_j,
              100 * b.forward_ops_j / b.total_j);
  std::printf("  %-34s %14.4g J %6.1f%%\n", "backward operations (ko)", b.backward_ops_j,
              100 * b.backward_ops_j / b.total_j);
  std::printf("  %-34s %14.4g J %6.1f%%\n", "layers (kd)", b.layers_j, 100 * b.layers_j / b.total_j);
  for (const auto& ws : b.working_sets) {
    char label[64];
    std::snprintf(label, sizeof label, "working set %s (%s, level %d)", ws.name.c_str(), Bytes(ws.bytes).c_str(),
                  ws.level);
    std::printf("  %-34s %14.4g J %6.1f%%\n", label, ws.energy_j, 100 * ws.energy_j / b.total_j);
  }
  std::printf("\nsizes of %s depth %lld on %s (* = energy-efficient: f or b just fills a cache level)\n",
              args.shape.c_str(), static_cast<long long>(args.depth), args.hardware.c_str());
  std::printf("  %10s %12s %12s %12s %11s %11s %5s\n", "size", "parameters", "energy J", "J/datum", "f", "b", "");
  for (const auto& s : p.sizes) {
    const std::string f = Bytes(s.features.f_bytes) + " L" + std::to_string(s.features.f_level);
    const std::string bb = Bytes(s.features.b_bytes) + " L" + std::to_string(s.features.b_level);
    std::printf("  %10lld %12lld %12.4g %12.4g %11s %11s %5s %s\n", static_cast<long long>(s.size),
                static_cast<long long>(s.network.n_params), s.energy_j, s.energy_per_datum_j, f.c_str(), bb.c_str(),
                s.efficient ? "*" : "", s.efficient ? s.efficient_reason.c_str() : "");
  }
}

std::string BreakdownJson(const model::EnergyBreakdown& b) {
  std::vector<std::string> sets;
  for (const auto& ws : b.working_sets) {
    sets.push_back(json::Object({{"name", json::String(ws.name)},
                                 {"bytes", json::Number(ws.bytes)},
                                 {"level", json::Int(ws.level)},
                                 {"energy_j", json::Number(ws.energy_j)}}));
  }
  return json::Object({{"overhead_j", json::Number(b.overhead_j)},
                       {"passes_j", json::Number(b.passes_j)},
                       {"forward_ops_j", json::Number(b.forward_ops_j)},
                       {"backward_ops_j", json::Number(b.backward_ops_j)},
                       {"layers_j", json::Number(b.layers_j)},
                       {"working_sets", json::Array(sets)}});
}

std::string SizesJson(const std::vector<model::SizePoint>& sizes) {
  std::vector<std::string> rows;
  rows.reserve(sizes.size());
  for (const auto& s : sizes) {
    rows.push_back(json::Object({{"size", json::Int(s.size)},
                                 {"parameters", json::Int(s.network.n_params)},
                                 {"energy_j", json::Number(s.energy_j)},
                                 {"energy_per_datum_j", json::Number(s.energy_per_datum_j)},
                                 {"f_bytes", json::Number(s.features.f_bytes)},
                                 {"f_level", json::Int(s.features.f_level)},
                                 {"b_bytes", json::Number(s.features.b_bytes)},
                                 {"b_level", json::Int(s.features.b_level)},
                                 {"efficient", json::Bool(s.efficient)},
                                 {"efficient_reason", s.efficient ? json::String(s.efficient_reason) : "null"}}));
  }
  return json::Array(rows);
}

// The prediction as one JSON object, for scripts.
std::string PredictionJson(const PredictArgs& args, const model::PredictRequest& req, const std::string& data_source,
                           const model::Prediction& p) {
  std::vector<std::string> widths;
  for (auto w : p.network.full_widths) widths.push_back(json::Int(w));
  const std::string network = json::Object({{"shape", json::String(args.shape)},
                                            {"depth", json::Int(args.depth)},
                                            {"size", json::Int(args.size)},
                                            {"widths", json::Array(widths)},
                                            {"parameters", json::Int(p.network.n_params)}});
  const std::string data = json::Object({{"inputs", json::Int(req.n_inputs)},
                                         {"outputs", json::Int(req.n_outputs)},
                                         {"observations", json::Int(req.n_observations)},
                                         {"source", json::String(data_source)},
                                         {"epochs", json::Int(req.epochs)},
                                         {"batch_size", json::Int(req.batch_size)}});
  return json::Object({{"network", network},
                       {"data", data},
                       {"hardware", json::String(args.hardware)},
                       {"energy_j", json::Number(p.breakdown.total_j)},
                       {"energy_kwh", json::Number(p.breakdown.total_j / 3.6e6)},
                       {"energy_per_datum_j", json::Number(p.energy_per_datum_j)},
                       {"breakdown", BreakdownJson(p.breakdown)},
                       {"sizes", SizesJson(p.sizes)}}) +
         "\n";
}

}  // namespace

int PredictCommand(const PredictArgs& args, const Comm& comm) {
  if (!comm.is_root()) return 0;
  model::PredictRequest req;
  const std::string data_source = FindDataset(args, &req.n_inputs, &req.n_outputs, &req.n_observations);
  const bool gpu = args.hardware == "gpu";
  if (!args.config.empty()) {
    req.memory = LoadConfigFile(args.config).facility.ClassOf(gpu).memory_levels;
  } else {
    req.memory = gpu ? topology::DefaultGpuHierarchy() : topology::DefaultCpuHierarchy();
  }
  req.shape = args.shape;
  req.depth = args.depth;
  req.size = args.size;
  req.epochs = args.epochs;
  req.batch_size = args.batch_size;
  req.k =
      ReadModel(fs::path(args.model_dir) / ("model_" + args.hardware + ".csv"), static_cast<int>(req.memory.size()));
  const model::Prediction p = model::PredictRun(req);
  if (args.json) {
    const std::string text = PredictionJson(args, req, data_source, p);
    std::fwrite(text.data(), 1, text.size(), stdout);
  } else {
    PrintPrediction(args, req, data_source, p);
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace wattrun::pipeline
