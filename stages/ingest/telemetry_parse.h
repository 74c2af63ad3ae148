// The hot loop of ingest: one telemetry line (`timestamp,node,watts` in any
// column order, or the columns a facility's config names, e.g. an LDMS
// export's `#Time,...,ProducerName,...,power` with epoch times) into a
// validated row, with no heap allocation for unquoted lines. About 1e9 such
// lines make up a facility's nine months.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/config.h"
#include "core/time.h"

namespace wattrun {

// Why a telemetry line is a bad row (spec section 1); kNone for a good one.
enum class TelemetryRowError {
  kNone,
  kFieldCount,
  kBadTime,
  kNonexistentTime,
  kBadWatts,
  kNegativeWatts,
  kEmptyNode,
};

// "field_count", "bad_time", "nonexistent_time", "bad_watts",
// "negative_watts", "empty_node" ("ok" for kNone).
const char* ReasonName(TelemetryRowError error);

// Where the three required columns sit in a file, how many fields a line
// must have, and how its times and watts are written.
struct TelemetryColumns {
  int timestamp = -1;
  int node = -1;
  int watts = -1;
  std::size_t n_fields = 0;
  char delimiter = ',';
  TelemetryTimeFormat time_format = TelemetryTimeFormat::kIso;
  int watts_exponent = 0;  // watts are value * 10^exponent (kW: 3, mW: -3)
};

// Finds the columns `format` names from a header line, split with
// columns->delimiter (names trimmed, a UTF-8 BOM ignored), and takes the
// format's time format and watts unit. Returns false, with *missing set to
// the first missing column's name (timestamp, node, watts order), if a
// required column is absent.
bool ResolveTelemetryHeader(std::string_view header_line, const TelemetryFormatConfig& format,
                            TelemetryColumns* columns, std::string* missing);
// The same for the spec's layout (`timestamp`, `node`, `watts`, ISO, W).
bool ResolveTelemetryHeader(std::string_view header_line, TelemetryColumns* columns, std::string* missing);

// The instant `whole + fraction / 10^fraction_digits` epoch units after
// 1970-01-01 UTC, for units of 1 / units_per_second s, truncated to the
// instant's resolution (as ISO fractions are). The one place that knows the
// instant's unit. False if it does not fit an instant.
bool InstantFromEpoch(std::int64_t whole, std::int64_t fraction, int fraction_digits, std::int64_t units_per_second,
                      TimeUs* instant);

// Epoch text of `format` (digits, optionally `.` and more digits, spaces
// around allowed) into an instant; false for anything else (signs,
// exponents, an empty field).
bool ParseEpochInstant(std::string_view text, TelemetryTimeFormat format, TimeUs* instant);

struct TelemetryRow {
  std::string_view node;  // trimmed; see ParseTelemetryLine for lifetime
  TimeUs utc = 0;         // for an ambiguous time: the earlier instant
  std::int64_t wall_us = 0;
  bool ambiguous = false;  // repeated hour: the caller resolves by order
  double watts = 0;
};

// The last timestamp parsed and its result. Telemetry files list all nodes
// of one minute together, so most rows repeat the previous row's timestamp;
// a hit skips parsing and the time-zone lookup. Valid for one policy.
struct TimestampCache {
  static constexpr std::size_t kMaxText = 40;
  char text[kMaxText] = {};
  std::size_t size = 0;  // 0: empty
  TimeParseStatus status = TimeParseStatus::kBadSyntax;
  TimeUs utc = 0;
  std::int64_t wall_us = 0;
};

// Parses and validates one line (a trailing '\r' is ignored). Checks, first
// failing wins: field count, time, node, watts (an empty line is a
// kFieldCount row). row->node points into
// `line`, except for lines with quotes, where it points into per-thread
// storage valid until the next quoted line parsed on the same thread.
// With a cache, a timestamp equal to the previous one is not parsed again
// (same result as without).
TelemetryRowError ParseTelemetryLine(std::string_view line, const TelemetryColumns& columns,
                                     const TimestampPolicy& policy, TelemetryRow* row, TimestampCache* cache = nullptr);

}  // namespace wattrun
