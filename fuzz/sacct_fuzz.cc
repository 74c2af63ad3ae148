// Fuzzes the sacct parser (ParseSacctFile) on whole files, plain or gzip,
// with scheduler times in America/Denver. The parser takes a path, so each
// input goes through an in-memory file. A file may only fail as a whole with
// wattrun::Error (missing column, unreadable or corrupt gzip); every job it
// keeps must have an allocation id, a valid hostlist and End >= Start.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "core/hostlist.h"
#include "core/time.h"
#include "fuzz/fuzz_support.h"
#include "stages/ingest/tables.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static wattrun::fuzz::InputFile file;
  static const wattrun::TimestampPolicy policy{wattrun::TimeZone::Load("America/Denver"), false};
  const std::string& path = file.Write(data, size);
  wattrun::TableParseResult<wattrun::JobRecord> result;
  try {
    result = wattrun::ParseSacctFile(path, policy);
  } catch (const wattrun::Error&) {
    return 0;
  }
  for (const wattrun::JobRecord& job : result.records) {
    WATTRUN_FUZZ_CHECK(!job.job_id.empty());
    WATTRUN_FUZZ_CHECK(job.job_id.find('.') == std::string::npos);
    WATTRUN_FUZZ_CHECK(job.job_id.front() >= '0' && job.job_id.front() <= '9');
    wattrun::ExpandHostlist(job.node_list);  // must not throw: the row was kept
    if (job.has_start && job.end) WATTRUN_FUZZ_CHECK(*job.end >= job.start);
  }
  for (const wattrun::BadRowCount& bad : result.bad_rows) {
    WATTRUN_FUZZ_CHECK(bad.stage == "sacct" && bad.count > 0 && !bad.reason.empty());
  }
  return 0;
}
