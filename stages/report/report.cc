#include "stages/report/report.h"

#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace wattrun::report {

void WriteReport(const results::PipelineResults& results, const std::string& path) {
  // Placeholder until the report stage lands: says plainly what is missing.
  const std::string tmp = path + ".tmp";
  std::ofstream out(tmp);
  if (!out) throw Error(tmp + ": cannot create");
  out << "<!doctype html><html><head><meta charset=\"utf-8\"><title>wattrun report</title></head><body>"
      << "<h1>wattrun: " << results.facility << "</h1><p>The figures of the report are not built yet; "
      << "the tables are in the CSV files beside this page.</p></body></html>\n";
  out.close();
  std::filesystem::rename(tmp, path);
}

}  // namespace wattrun::report
