// What each results.h5 dataset outside the schema tables (schema.h: runs,
// jobs, job nodes, usage, ledger) holds: its unit and a one-line
// description, written as the `units` and `description` attributes so that
// the file describes itself to h5py/pandas users (see README, "results.h5").
#pragma once

#include <string>

namespace wattrun::results {

struct ColumnDoc {
  std::string units;        // SI-style unit, "1" for counts and ratios, "text" for strings
  std::string description;  // one line, booleans and missing values spelled out
};

// `group` is the dataset's group path ("/runs_energy", "/model_cpu",
// "/idle_power/low_end/gpu"), `name` the dataset's name. Unknown names get a
// generic description (never empty).
ColumnDoc DescribeColumn(const std::string& group, const std::string& name);

}  // namespace wattrun::results
