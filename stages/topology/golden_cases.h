// Test support: reads the worked cases of spec steps 9-12
// (tests/data/golden_topology.csv, a copy of the spec's golden_topology.csv
// kept in the repository so a release tarball can run its tests) so the
// topology and model tests check the same rows. Header-only and used by tests only.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace wattrun::topology::testing {

struct GoldenCase {
  std::string dataset;
  std::string shape;
  std::int64_t depth = 0;
  std::int64_t size = 0;
  bool is_gpu = false;
  std::vector<std::int64_t> full_widths;
  std::int64_t n_params = 0;
  std::int64_t num_nodes = 0;
  std::int64_t fwd_ops = 0;
  std::int64_t bwd_ops = 0;
  std::int64_t h_t = 0;
  std::int64_t h_s = 0;
  std::vector<int> level_t;
  int level_f_test = 0;
  int level_b = 0;
  int level_d = 0;
  double model_energy_j = 0.0;
};

// Observations of the PMLB data sets in the golden file (the PMLB summary;
// the golden file itself carries only widths, so n_obs comes from here and is
// checked through h_t, h_s, level_d and the energy).
inline std::int64_t GoldenObservations(const std::string& dataset) {
  static const std::map<std::string, std::int64_t> kObservations = {
      {"mnist", 70000},
      {"banana", 5300},
      {"adult", 48842},
      {"splice", 3188},
      {"sleep", 105908},
      {"505_tecator", 240},
      {"201_pol", 15000},
      {"connect_4", 67557},
      {"529_pollen", 3848},
      {"nursery", 12958},
      {"wine_quality_white", 4898},
      {"294_satellite_image", 6435},
  };
  const auto it = kObservations.find(dataset);
  if (it == kObservations.end()) throw std::runtime_error("no observations for " + dataset);
  return it->second;
}

inline std::filesystem::path GoldenPath() {
  if (const char* root = std::getenv("WATTRUN_SOURCE_DIR"); root != nullptr && *root != '\0') {
    return std::filesystem::path(root) / "tests" / "data" / "golden_topology.csv";
  }
  // stages/topology/golden_cases.h -> the repository root is two levels up.
  return std::filesystem::path(__FILE__).parent_path() / ".." / ".." / "tests" / "data" / "golden_topology.csv";
}

template <typename T>
std::vector<T> SplitNumbers(const std::string& text) {
  std::vector<T> values;
  std::istringstream in(text);
  T value{};
  while (in >> value) values.push_back(value);
  return values;
}

inline std::vector<GoldenCase> LoadGoldenCases() {
  const std::filesystem::path path = GoldenPath();
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::string line;
  const auto strip_cr = [](std::string& text) {
    if (!text.empty() && text.back() == '\r') text.pop_back();
  };
  std::getline(in, line);
  strip_cr(line);
  std::vector<std::string> header;
  {
    std::istringstream fields(line);
    std::string field;
    while (std::getline(fields, field, ',')) header.push_back(field);
  }
  std::vector<GoldenCase> cases;
  while (std::getline(in, line)) {
    strip_cr(line);
    if (line.empty()) continue;
    std::map<std::string, std::string> row;
    std::istringstream fields(line);
    std::string field;
    for (const std::string& name : header) {
      std::getline(fields, field, ',');
      row[name] = field;
    }
    GoldenCase c;
    c.dataset = row.at("dataset");
    c.shape = row.at("shape");
    c.depth = std::stoll(row.at("depth"));
    c.size = std::stoll(row.at("size"));
    c.is_gpu = row.at("is_gpu") == "true";
    c.full_widths = SplitNumbers<std::int64_t>(row.at("full_widths"));
    c.n_params = std::stoll(row.at("n_params"));
    c.num_nodes = std::stoll(row.at("num_nodes"));
    c.fwd_ops = std::stoll(row.at("fwd_ops"));
    c.bwd_ops = std::stoll(row.at("bwd_ops"));
    c.h_t = std::stoll(row.at("h_t"));
    c.h_s = std::stoll(row.at("h_s"));
    c.level_t = SplitNumbers<int>(row.at("level_t"));
    c.level_f_test = std::stoi(row.at("level_f_test"));
    c.level_b = std::stoi(row.at("level_b"));
    c.level_d = std::stoi(row.at("level_d"));
    c.model_energy_j = std::stod(row.at("model_energy_j"));
    cases.push_back(std::move(c));
  }
  return cases;
}

}  // namespace wattrun::topology::testing
