#include "stages/ingest/telemetry_parse.h"

#include <cstring>
#include <vector>

#include "core/csv.h"

namespace wattrun {

namespace {

// Plain non-negative integers up to 15 digits are exact in a double; they
// are nearly every watts value, so they skip the general parser.
inline bool ParseSmallInteger(std::string_view text, double* value) {
  if (text.empty() || text.size() > 15) return false;
  std::int64_t v = 0;
  for (const char c : text) {
    const unsigned d = static_cast<unsigned char>(c - '0');
    if (d > 9) return false;
    v = v * 10 + d;
  }
  *value = static_cast<double>(v);
  return true;
}

TimeParseStatus ParseInstantCached(std::string_view text, const TimestampPolicy& policy, TimeMs* utc,
                                   std::int64_t* wall_ms, TimestampCache* cache) {
  if (cache == nullptr) return ParseInstant(text, policy, utc, wall_ms);
  if (text.size() == cache->size && std::memcmp(text.data(), cache->text, text.size()) == 0) {
    *utc = cache->utc;
    *wall_ms = cache->wall_ms;
    return cache->status;
  }
  const TimeParseStatus status = ParseInstant(text, policy, utc, wall_ms);
  if (text.size() <= TimestampCache::kMaxText && !text.empty()) {
    std::memcpy(cache->text, text.data(), text.size());
    cache->size = text.size();
    cache->status = status;
    cache->utc = *utc;
    cache->wall_ms = *wall_ms;
  }
  return status;
}

TelemetryRowError ParseFields(std::string_view timestamp, std::string_view node,
                              std::string_view watts, const TimestampPolicy& policy,
                              TelemetryRow* row, TimestampCache* cache) {
  switch (ParseInstantCached(timestamp, policy, &row->utc, &row->wall_ms, cache)) {
    case TimeParseStatus::kOk:
      row->ambiguous = false;
      break;
    case TimeParseStatus::kAmbiguous:
      row->ambiguous = true;
      break;
    case TimeParseStatus::kNonexistent:
      return TelemetryRowError::kNonexistentTime;
    case TimeParseStatus::kBadSyntax:
      return TelemetryRowError::kBadTime;
  }
  row->node = Trim(node);
  if (row->node.empty()) return TelemetryRowError::kEmptyNode;
  if (!ParseSmallInteger(watts, &row->watts)) {
    watts = Trim(watts);
    if (!ParseSmallInteger(watts, &row->watts) && !ParseDouble(watts, &row->watts)) {
      return TelemetryRowError::kBadWatts;
    }
    if (row->watts < 0) return TelemetryRowError::kNegativeWatts;
  }
  return TelemetryRowError::kNone;
}

TelemetryRowError ParseQuotedLine(std::string_view line, const TelemetryColumns& columns,
                                  const TimestampPolicy& policy, TelemetryRow* row,
                                  TimestampCache* cache) {
  thread_local std::vector<std::string_view> fields;
  thread_local std::string storage;
  if (!SplitCsvLine(line, columns.delimiter, &fields, &storage) ||
      fields.size() != columns.n_fields) {
    return TelemetryRowError::kFieldCount;
  }
  return ParseFields(fields[static_cast<std::size_t>(columns.timestamp)],
                     fields[static_cast<std::size_t>(columns.node)],
                     fields[static_cast<std::size_t>(columns.watts)], policy, row, cache);
}

}  // namespace

const char* ReasonName(TelemetryRowError error) {
  switch (error) {
    case TelemetryRowError::kNone:
      return "ok";
    case TelemetryRowError::kFieldCount:
      return "field_count";
    case TelemetryRowError::kBadTime:
      return "bad_time";
    case TelemetryRowError::kNonexistentTime:
      return "nonexistent_time";
    case TelemetryRowError::kBadWatts:
      return "bad_watts";
    case TelemetryRowError::kNegativeWatts:
      return "negative_watts";
    case TelemetryRowError::kEmptyNode:
      return "empty_node";
  }
  return "unknown";
}

bool ResolveTelemetryHeader(std::string_view header_line, TelemetryColumns* columns,
                            std::string* missing) {
  std::vector<std::string_view> fields;
  std::string storage;
  if (!SplitCsvLine(header_line, columns->delimiter, &fields, &storage)) {
    *missing = "timestamp";
    return false;
  }
  const CsvHeader header(fields);
  columns->timestamp = header.Find("timestamp");
  columns->node = header.Find("node");
  columns->watts = header.Find("watts");
  columns->n_fields = header.size();
  if (columns->timestamp < 0) {
    *missing = "timestamp";
  } else if (columns->node < 0) {
    *missing = "node";
  } else if (columns->watts < 0) {
    *missing = "watts";
  } else {
    return true;
  }
  return false;
}

TelemetryRowError ParseTelemetryLine(std::string_view line, const TelemetryColumns& columns,
                                     const TimestampPolicy& policy, TelemetryRow* row,
                                     TimestampCache* cache) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) return TelemetryRowError::kFieldCount;
  if (std::memchr(line.data(), '"', line.size()) != nullptr) {
    return ParseQuotedLine(line, columns, policy, row, cache);
  }
  std::string_view timestamp, node, watts;
  const char* const begin = line.data();
  const char* const end = begin + line.size();
  const char* start = begin;
  std::size_t field = 0;
  for (;;) {
    const void* hit = std::memchr(start, columns.delimiter, static_cast<std::size_t>(end - start));
    const char* stop = hit != nullptr ? static_cast<const char*>(hit) : end;
    const std::string_view text(start, static_cast<std::size_t>(stop - start));
    const int index = static_cast<int>(field);
    if (index == columns.timestamp) {
      timestamp = text;
    } else if (index == columns.node) {
      node = text;
    } else if (index == columns.watts) {
      watts = text;
    }
    ++field;
    if (hit == nullptr) break;
    if (field >= columns.n_fields) return TelemetryRowError::kFieldCount;
    start = stop + 1;
  }
  if (field != columns.n_fields) return TelemetryRowError::kFieldCount;
  return ParseFields(timestamp, node, watts, policy, row, cache);
}

}  // namespace wattrun
