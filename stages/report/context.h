// What every section of the report reads: the results, the hardware classes
// with their memory levels, and the usable runs joined to their features.
// Each section is a function from the context to an HTML fragment.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/memory_hierarchy.h"
#include "stages/report/svg.h"
#include "stages/results/results.h"

namespace wattrun::report {

struct HardwareClass {
  std::string name;  // cpu, gpu
  bool is_gpu = false;
  std::string color;
  MemoryHierarchy levels;
  bool default_levels = false;  // Eagle's (the results carried none)
};

// A usable run with features: what the trend, cache and loss figures use.
struct TrendRun {
  std::size_t run = 0;  // index into results.runs
  const results::FeatureRow* features = nullptr;
  bool is_gpu = false;
  double energy_j = 0;         // non-overhead energy (standardized where missing)
  double per_datum_j = 0;      // energy_j / (epochs × training observations)
  double per_epoch_j = 0;      // energy_j / epochs
  double flops_per_datum = 0;  // training operations (fwd + bwd) per datum
};

class Context {
 public:
  explicit Context(const results::PipelineResults& results);

  const results::PipelineResults& r;
  std::vector<HardwareClass> classes;                       // cpu first
  std::vector<const results::FeatureRow*> features_of_run;  // nullptr: no features
  std::vector<TrendRun> trend_runs;

  const HardwareClass* Class(bool is_gpu) const;
  // Count of a quality row, or -1 when the results have no such row.
  std::int64_t QualityCount(const std::string& stage, const std::string& reason) const;
  // <figure> with the rendered plot and an HTML caption.
  std::string Figure(const svg::Plot& plot, const std::string& caption_html);

 private:
  int next_id_ = 0;
};

// Eagle's memory levels (spec step 11), used when the results carry none.
MemoryHierarchy EagleLevels(bool is_gpu);
// "L1", "L2", ..., and "RAM"/"VRAM" for the last level.
std::string LevelName(const HardwareClass& cls, std::size_t index);

// The sections of the page, in order.
std::string DataAccountSection(Context& c);
std::string IdleSection(Context& c);
std::string TrendsSection(Context& c);
std::string CacheSection(Context& c);
std::string ModelSection(Context& c);
std::string LossSection(Context& c);
std::string CarbonSection(Context& c);
std::string FacilitySection(Context& c);
std::string CoverageSection(Context& c);

// Part of the data account: the input files with the most bad rows
// (results.quality_files, duplicates not counted), at most `max_files`.
std::string WorstFilesTable(const Context& c, std::size_t max_files = 10);

}  // namespace wattrun::report
