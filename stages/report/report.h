// report.html: one self-contained page (inline SVG, no network) with the
// paper's tables and figures computed from the user's own facility.
#pragma once

#include <string>

#include "stages/results/results.h"

namespace wattrun::report {

// Writes the page atomically (temporary name, then rename).
void WriteReport(const results::PipelineResults& results, const std::string& path);

}  // namespace wattrun::report
