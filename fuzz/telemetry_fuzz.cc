// Fuzzes the hot loop of ingest: a telemetry file's header line
// (ResolveTelemetryHeader) and each following line (ParseTelemetryLine),
// under the three timestamp policies a facility can configure. A line that
// parses must give a trimmed, non-empty node and finite, non-negative watts.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/csv.h"
#include "core/time.h"
#include "fuzz/fuzz_support.h"
#include "stages/ingest/telemetry_parse.h"

namespace {

using wattrun::fuzz::AsText;
using wattrun::fuzz::SplitLines;
using wattrun::fuzz::Touch;

struct Policies {
  wattrun::TimestampPolicy utc;
  wattrun::TimestampPolicy denver;
  wattrun::TimestampPolicy denver_ignore_z;
};

const Policies& GetPolicies() {
  static const Policies policies = [] {
    Policies p;
    p.denver.zone = wattrun::TimeZone::Load("America/Denver");
    p.denver_ignore_z.zone = p.denver.zone;
    p.denver_ignore_z.ignore_z = true;
    return p;
  }();
  return policies;
}

void CheckLine(std::string_view line, const wattrun::TelemetryColumns& columns,
               const wattrun::TimestampPolicy& policy) {
  wattrun::TelemetryRow row;
  const wattrun::TelemetryRowError error = wattrun::ParseTelemetryLine(line, columns, policy, &row);
  WATTRUN_FUZZ_CHECK(std::string_view(wattrun::ReasonName(error)) != "unknown");
  if (error != wattrun::TelemetryRowError::kNone) return;
  Touch(row.node);
  WATTRUN_FUZZ_CHECK(!row.node.empty());
  WATTRUN_FUZZ_CHECK(wattrun::Trim(row.node) == row.node);
  WATTRUN_FUZZ_CHECK(row.node.front() != ' ' && row.node.front() != '\t');
  WATTRUN_FUZZ_CHECK(std::isfinite(row.watts) && row.watts >= 0);
  WATTRUN_FUZZ_CHECK(!row.ambiguous || !policy.zone.is_utc());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Policies& policies = GetPolicies();
  const auto lines = SplitLines(AsText(data, size));
  wattrun::TelemetryColumns columns;
  std::string missing;
  if (wattrun::ResolveTelemetryHeader(lines.front(), &columns, &missing)) {
    WATTRUN_FUZZ_CHECK(columns.timestamp >= 0 && columns.node >= 0 && columns.watts >= 0);
    WATTRUN_FUZZ_CHECK(static_cast<std::size_t>(columns.timestamp) < columns.n_fields &&
                       static_cast<std::size_t>(columns.node) < columns.n_fields &&
                       static_cast<std::size_t>(columns.watts) < columns.n_fields);
  } else {
    WATTRUN_FUZZ_CHECK(missing == "timestamp" || missing == "node" || missing == "watts");
    // Ingest counts such a file's lines as bad_header; keep fuzzing the line
    // parser with the usual layout instead.
    columns = wattrun::TelemetryColumns{};
    const bool ok = wattrun::ResolveTelemetryHeader("timestamp,node,watts", &columns, &missing);
    WATTRUN_FUZZ_CHECK(ok);
  }
  for (std::size_t i = 1; i < lines.size(); ++i) {
    CheckLine(lines[i], columns, policies.utc);
    CheckLine(lines[i], columns, policies.denver);
    CheckLine(lines[i], columns, policies.denver_ignore_z);
  }
  return 0;
}
