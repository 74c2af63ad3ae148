// Helpers shared by the generator's tests: a small demo facility built in
// code, and readers for what the generator writes (plain or gzip files,
// directory trees).
#pragma once

#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/memory_hierarchy.h"
#include "tests/test_util.h"

namespace wattrun::generate::testing {

inline NodeTypeConfig Type(const std::string& name, const std::string& cls, std::int64_t count, double idle_w,
                           std::int64_t memory_mb, std::int64_t tmp_mb, const std::string& gres) {
  NodeTypeConfig t;
  t.name = name;
  t.hardware_class = cls;
  t.count = count;
  t.idle_w = idle_w;
  t.signature.cpus = 36;
  t.signature.memory_mb = memory_mb;
  t.signature.tmp_disk_mb = tmp_mb;
  t.signature.gres = gres;
  return t;
}

// Eagle's cpu1, cpu2 and gpu1 types, Denver time with the wrong Z, a window
// from 2021-10-20 that spans the 2021-11-07 fall-back.
inline Config DemoConfig() {
  Config c;
  c.source_path = "(test)";
  FacilityConfig& f = c.facility;
  f.name = "demo";
  f.telemetry.timezone = "America/Denver";
  f.telemetry.ignore_z = true;
  f.scheduler.timezone = "America/Denver";
  f.sampling_interval_s = 60;
  f.node_types = {Type("cpu1", "cpu", 1800, 220, 85248, 900000, "(null)"),
                  Type("cpu2", "cpu", 720, 230, 180224, 900000, "(null)"),
                  Type("gpu1", "gpu", 40, 374, 770048, 1600000, "gpu:v100:2")};
  HardwareClassConfig cpu;
  cpu.name = "cpu";
  cpu.is_gpu = false;
  cpu.reference_type = "cpu1";
  cpu.memory_levels = {
      {1, 32.0 * 1024, 36}, {2, 1024.0 * 1024, 36}, {3, 24.75 * 1024 * 1024, 2}, {4, 96.0 * 1024 * 1024 * 1024, 1}};
  HardwareClassConfig gpu;
  gpu.name = "gpu";
  gpu.is_gpu = true;
  gpu.reference_type = "gpu1";
  gpu.memory_levels = {{1, 112.0 * 1024, 168}, {2, 6.0 * 1024 * 1024, 2}, {3, 16.0 * 1024 * 1024 * 1024, 2}};
  f.hardware_classes = {cpu, gpu};
  c.pipeline.node_quantiles = {};
  c.generator.start_date = "2021-10-20";
  c.generator.months = 1;
  c.generator.scale = 0.01;
  c.generator.seed = 1;
  return c;
}

// The whole content of a file, gunzipped when it is gzip.
inline std::string ReadAll(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) throw std::runtime_error("cannot open " + path);
  std::string out;
  char buffer[1 << 16];
  int n = 0;
  while ((n = gzread(f, buffer, sizeof(buffer))) > 0) out.append(buffer, static_cast<std::size_t>(n));
  gzclose(f);
  return out;
}

// Relative path -> raw bytes of every regular file under dir.
inline std::map<std::string, std::string> ReadTree(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    out[std::filesystem::relative(e.path(), dir).string()] = testing_util::Slurp(e.path());
  }
  return out;
}

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return out;
}

// Splits on a delimiter (no quoting).
inline std::vector<std::string> Split(const std::string& line, char delimiter) {
  std::vector<std::string> out;
  std::size_t begin = 0;
  for (;;) {
    const std::size_t end = line.find(delimiter, begin);
    out.push_back(line.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  return out;
}

// A small CSV table (RFC 4180 quotes) with header lookup.
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  int Column(const std::string& name) const {
    for (std::size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return static_cast<int>(i);
    }
    return -1;
  }
  const std::string& At(std::size_t row, const std::string& name) const {
    const int c = Column(name);
    if (c < 0) throw std::runtime_error("no column " + name);
    return rows[row][static_cast<std::size_t>(c)];
  }
};

inline std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

inline Table ReadCsv(const std::string& path) {
  Table t;
  const std::vector<std::string> lines = Lines(ReadAll(path));
  if (lines.empty()) return t;
  t.header = SplitCsv(lines[0]);
  for (std::size_t i = 1; i < lines.size(); ++i) t.rows.push_back(SplitCsv(lines[i]));
  return t;
}

}  // namespace wattrun::generate::testing
