#include "stages/ingest/telemetry_parse.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/csv.h"

namespace wattrun {

namespace {

inline std::uint64_t Load64(const char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// a[0, n) == b[0, n) for n in [8, 40] (both readable for n bytes): 8-byte
// words, the last one overlapping the one before when n is not a multiple
// of 8. Nearly every call compares the 20 bytes of a timestamp.
inline bool SameText8(const char* a, const char* b, std::size_t n) {
  std::uint64_t diff = Load64(a + n - 8) ^ Load64(b + n - 8);
  if (n - 17 <= 24 - 17) {  // 17 to 24 bytes: three words, no loop
    diff |= (Load64(a) ^ Load64(b)) | (Load64(a + 8) ^ Load64(b + 8));
    return diff == 0;
  }
  for (std::size_t i = 0; i + 8 < n; i += 8) diff |= Load64(a + i) ^ Load64(b + i);
  return diff == 0;
}

// What one pass over a line finds: bit i of `delimiters` set for each byte
// i equal to the delimiter, and whether a quote occurs anywhere.
struct LineScan {
  std::uint64_t delimiters = 0;
  bool quote = false;
};

// The fast path scans lines of kMinScan to kMaxScan bytes, with 16-byte
// loads that all lie inside the line (the last one ends at its end and may
// overlap the one before: the bits it sets again are the same).
constexpr std::size_t kMinScan = 16;
constexpr std::size_t kMaxScan = 64;

inline LineScan ScanLine(const char* p, std::size_t n, char delimiter) {
  LineScan scan;
#if defined(__SSE2__)
  const __m128i delim = _mm_set1_epi8(delimiter);
  const __m128i quote = _mm_set1_epi8('"');
  const auto chunk = [&](std::size_t offset, __m128i* quotes) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + offset));
    *quotes = _mm_or_si128(*quotes, _mm_cmpeq_epi8(bytes, quote));
    const auto bits = static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, delim)));
    scan.delimiters |= static_cast<std::uint64_t>(bits) << offset;
  };
  // Up to 48 bytes without a branch on the length (lines of 31 to 33 bytes
  // are the norm); the middle load repeats the last one below 32 bytes.
  __m128i quotes = _mm_setzero_si128();
  chunk(0, &quotes);
  chunk(std::min<std::size_t>(16, n - 16), &quotes);
  if (n > 48) chunk(32, &quotes);
  chunk(n - 16, &quotes);
  scan.quote = _mm_movemask_epi8(quotes) != 0;
#else
  for (std::size_t i = 0; i < n; ++i) {
    scan.delimiters |= static_cast<std::uint64_t>(p[i] == delimiter) << i;
    scan.quote |= p[i] == '"';
  }
#endif
  return scan;
}

// std::popcount is a library call unless the target has POPCNT (the build
// does not ask for one), so without it: the SWAR count, a dozen ALU ops.
inline int PopCount(std::uint64_t x) {
#if defined(__POPCNT__)
  return std::popcount(x);
#else
  x = x - ((x >> 1) & 0x5555555555555555ull);
  x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
  x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
  return static_cast<int>((x * 0x0101010101010101ull) >> 56);
#endif
}

// Field `index` of a line whose delimiters are the set bits of `delimiters`.
inline std::string_view FieldAt(const char* p, std::size_t n, std::uint64_t delimiters, int index) {
  std::size_t begin = 0;
  for (int i = 0; i < index; ++i) {
    begin = static_cast<std::size_t>(std::countr_zero(delimiters)) + 1;
    delimiters &= delimiters - 1;
  }
  const std::size_t end = delimiters != 0 ? static_cast<std::size_t>(std::countr_zero(delimiters)) : n;
  return std::string_view(p + begin, end - begin);
}

// Trim (core/csv.h) only when an end could be trimmed (rare).
inline std::string_view TrimIfNeeded(std::string_view text) {
  if (text.empty()) return text;
  const auto front = static_cast<unsigned char>(text.front());
  const auto back = static_cast<unsigned char>(text.back());
  if (front > ' ' && back > ' ') return text;
  return Trim(text);
}

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

// The same as ParseSmallInteger for a field of 1 to 8 bytes that ends at
// `end`, with the 8 bytes before `end` readable: one 8-byte load, a digit
// test of the field's bytes and the SWAR conversion (as in simdjson's
// parse_eight_digits_unrolled), no branch on the length.
inline bool ParseUpTo8Digits(const char* end, std::size_t size, double* value) {
  if constexpr (std::endian::native != std::endian::little) {
    return ParseSmallInteger(std::string_view(end - size, size), value);
  } else {
    // Bytes of the field are the high `size` bytes of the word; '0'..'9'
    // become 0..9, the bytes before the field become leading zeros.
    const std::uint64_t field = ~std::uint64_t{0} << (8 * (8 - size));
    const std::uint64_t t = (Load64(end - 8) ^ 0x3030303030303030ull) & field;
    if (((t | (t + 0x0606060606060606ull)) & 0xF0F0F0F0F0F0F0F0ull) != 0) return false;
    std::uint64_t v = t * 10 + (t >> 8);
    v = ((v & 0x000000FF000000FFull) * (100 + (1000000ull << 32)) +
         ((v >> 16) & 0x000000FF000000FFull) * (1 + (10000ull << 32))) >>
        32;
    *value = static_cast<double>(v);
    return true;
  }
}

// Text of either time format into an instant; epoch times are UTC, never
// ambiguous (wall_us is the instant itself).
TimeParseStatus ParseAnyInstant(std::string_view text, TelemetryTimeFormat format, const TimestampPolicy& policy,
                                TimeUs* utc, std::int64_t* wall_us) {
  if (format == TelemetryTimeFormat::kIso) return ParseInstant(text, policy, utc, wall_us);
  if (!ParseEpochInstant(text, format, utc)) return TimeParseStatus::kBadSyntax;
  *wall_us = *utc;
  return TimeParseStatus::kOk;
}

// A cache miss: parse, and remember the text and its result if it fits.
[[gnu::noinline]] TimeParseStatus ParseAndRemember(std::string_view text, TelemetryTimeFormat format,
                                                   const TimestampPolicy& policy, TimeUs* utc, std::int64_t* wall_us,
                                                   TimestampCache* cache) {
  const TimeParseStatus status = ParseAnyInstant(text, format, policy, utc, wall_us);
  if (text.size() <= TimestampCache::kMaxText && !text.empty()) {
    std::memcpy(cache->text, text.data(), text.size());
    cache->size = text.size();
    cache->status = status;
    cache->utc = *utc;
    cache->wall_us = *wall_us;
  }
  return status;
}

inline TimeParseStatus ParseInstantCached(std::string_view text, TelemetryTimeFormat format,
                                          const TimestampPolicy& policy, TimeUs* utc, std::int64_t* wall_us,
                                          TimestampCache* cache) {
  if (cache == nullptr) return ParseAnyInstant(text, format, policy, utc, wall_us);
  const std::size_t n = text.size();
  // A cache filled here never holds more than kMaxText bytes; the test keeps
  // the word compare inside cache->text whatever the cache holds.
  if (n == cache->size && n <= TimestampCache::kMaxText &&
      (n >= 8 ? SameText8(text.data(), cache->text, n) : std::memcmp(text.data(), cache->text, n) == 0)) {
    *utc = cache->utc;
    *wall_us = cache->wall_us;
    return cache->status;
  }
  return ParseAndRemember(text, format, policy, utc, wall_us, cache);
}

// A decimal number times 10^shift, rounded once (as the same number written
// in watts would be): the exponent is moved, not the value multiplied, so
// `0.231` kW is exactly what `231` W is.
bool ParseShiftedDecimal(std::string_view text, int shift, double* value) {
  const std::size_t e = text.find_first_of("eE");
  std::int64_t exponent = 0;
  if (e != std::string_view::npos) {
    std::string_view digits = text.substr(e + 1);
    if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
    if (!ParseInt64(digits, &exponent) || exponent > 100000 || exponent < -100000) return false;
  }
  const std::string_view mantissa = text.substr(0, e);
  if (mantissa.empty() || mantissa.find_first_not_of("+-.0123456789") != std::string_view::npos) return false;
  const std::string shifted = std::string(mantissa) + "e" + std::to_string(exponent + shift);
  return ParseDouble(shifted, value);
}

// Watts that are not a plain integer in watts: spaces around it, a
// fraction, an exponent, a sign, another unit, or not a number.
[[gnu::noinline]] TelemetryRowError ParseOtherWatts(std::string_view watts, int exponent, double* value) {
  watts = Trim(watts);
  if (exponent != 0 && ParseSmallInteger(watts, value)) {
    // Exact integers: one correctly rounded operation, the same double.
    *value = exponent > 0 ? *value * 1e3 : *value / 1e3;
    return TelemetryRowError::kNone;
  }
  const bool parsed = exponent == 0 ? ParseSmallInteger(watts, value) || ParseDouble(watts, value)
                                    : ParseShiftedDecimal(watts, exponent, value);
  if (!parsed) return TelemetryRowError::kBadWatts;
  if (*value < 0) return TelemetryRowError::kNegativeWatts;
  return TelemetryRowError::kNone;
}

// The checks after the split, in order: time, node, watts. Inlined into the
// fast path; the general paths call the out-of-line copy ParseFields.
// `readable` is where readable memory before the watts field begins (the
// line, for the fast path).
[[gnu::always_inline]] inline TelemetryRowError ParseFieldsInline(std::string_view timestamp, std::string_view node,
                                                                  std::string_view watts,
                                                                  const TelemetryColumns& columns,
                                                                  const TimestampPolicy& policy, TelemetryRow* row,
                                                                  TimestampCache* cache, const char* readable) {
  switch (ParseInstantCached(timestamp, columns.time_format, policy, &row->utc, &row->wall_us, cache)) {
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
  row->node = TrimIfNeeded(node);
  if (row->node.empty()) return TelemetryRowError::kEmptyNode;
  const char* const watts_end = watts.data() + watts.size();
  const bool plain = columns.watts_exponent == 0 && (watts.size() - 1 < 8 && watts_end - readable >= 8
                                                         ? ParseUpTo8Digits(watts_end, watts.size(), &row->watts)
                                                         : ParseSmallInteger(watts, &row->watts));
  if (!plain) return ParseOtherWatts(watts, columns.watts_exponent, &row->watts);
  return TelemetryRowError::kNone;
}

[[gnu::noinline]] TelemetryRowError ParseFields(std::string_view timestamp, std::string_view node,
                                                std::string_view watts, const TelemetryColumns& columns,
                                                const TimestampPolicy& policy, TelemetryRow* row,
                                                TimestampCache* cache) {
  return ParseFieldsInline(timestamp, node, watts, columns, policy, row, cache, watts.data());
}

[[gnu::noinline]] TelemetryRowError ParseQuotedLine(std::string_view line, const TelemetryColumns& columns,
                                                    const TimestampPolicy& policy, TelemetryRow* row,
                                                    TimestampCache* cache) {
  thread_local std::vector<std::string_view> fields;
  thread_local std::string storage;
  if (!SplitCsvLine(line, columns.delimiter, &fields, &storage) || fields.size() != columns.n_fields) {
    return TelemetryRowError::kFieldCount;
  }
  return ParseFields(fields[static_cast<std::size_t>(columns.timestamp)],
                     fields[static_cast<std::size_t>(columns.node)], fields[static_cast<std::size_t>(columns.watts)],
                     columns, policy, row, cache);
}

// Any line (its trailing '\r' already removed), one memchr per field: the
// lines and column layouts the fast path does not take.
[[gnu::noinline]] TelemetryRowError ParseGeneralLine(std::string_view line, const TelemetryColumns& columns,
                                                     const TimestampPolicy& policy, TelemetryRow* row,
                                                     TimestampCache* cache) {
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
  return ParseFields(timestamp, node, watts, columns, policy, row, cache);
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

bool ResolveTelemetryHeader(std::string_view header_line, const TelemetryFormatConfig& format,
                            TelemetryColumns* columns, std::string* missing) {
  columns->time_format = format.time_format;
  columns->watts_exponent = format.watts_exponent;
  std::vector<std::string_view> fields;
  std::string storage;
  if (!SplitCsvLine(header_line, columns->delimiter, &fields, &storage)) {
    *missing = format.timestamp_column;
    return false;
  }
  const CsvHeader header(fields);
  columns->timestamp = header.Find(format.timestamp_column);
  columns->node = header.Find(format.node_column);
  columns->watts = header.Find(format.watts_column);
  columns->n_fields = header.size();
  if (columns->timestamp < 0) {
    *missing = format.timestamp_column;
  } else if (columns->node < 0) {
    *missing = format.node_column;
  } else if (columns->watts < 0) {
    *missing = format.watts_column;
  } else {
    return true;
  }
  return false;
}

bool ResolveTelemetryHeader(std::string_view header_line, TelemetryColumns* columns, std::string* missing) {
  return ResolveTelemetryHeader(header_line, TelemetryFormatConfig{}, columns, missing);
}

bool InstantFromEpoch(std::int64_t whole, std::int64_t fraction, int fraction_digits, std::int64_t units_per_second,
                      TimeUs* instant) {
  constexpr std::int64_t kInstantsPerSecond = kMicrosPerSecond;  // the instant's resolution
  __extension__ typedef __int128 Wide;                           // exact for 18 digits times 10^15
  Wide scale = 1;
  for (int i = 0; i < fraction_digits; ++i) scale *= 10;
  // floor((whole + fraction / scale) * instants per unit), in exact integers.
  const Wide numerator = (static_cast<Wide>(whole) * scale + fraction) * kInstantsPerSecond;
  const Wide denominator = scale * units_per_second;
  Wide q = numerator / denominator;
  if (numerator % denominator != 0 && numerator < 0) --q;
  if (q > INT64_MAX || q < INT64_MIN) return false;
  *instant = static_cast<TimeUs>(q);
  return true;
}

bool ParseEpochInstant(std::string_view text, TelemetryTimeFormat format, TimeUs* instant) {
  text = TrimIfNeeded(text);
  const std::size_t dot = text.find('.');
  const std::string_view whole_text = text.substr(0, dot);
  std::string_view fraction_text = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  // Digits beyond nanoseconds cannot change an instant; 18 keep it exact.
  constexpr std::size_t kMaxDigits = 18;
  if (whole_text.empty() || whole_text.size() > kMaxDigits) return false;
  if (dot != std::string_view::npos && fraction_text.empty()) return false;
  std::int64_t whole = 0;
  std::int64_t fraction = 0;
  for (const char c : whole_text) {
    if (c < '0' || c > '9') return false;
    whole = whole * 10 + (c - '0');
  }
  if (fraction_text.size() > 9) {
    if (fraction_text.find_first_not_of("0123456789", 9) != std::string_view::npos) return false;
    fraction_text = fraction_text.substr(0, 9);
  }
  for (const char c : fraction_text) {
    if (c < '0' || c > '9') return false;
    fraction = fraction * 10 + (c - '0');
  }
  std::int64_t units_per_second = 1;
  if (format == TelemetryTimeFormat::kEpochMillis) units_per_second = 1000;
  if (format == TelemetryTimeFormat::kEpochMicros) units_per_second = 1000000;
  return InstantFromEpoch(whole, fraction, static_cast<int>(fraction_text.size()), units_per_second, instant);
}

TelemetryRowError ParseTelemetryLine(std::string_view line, const TelemetryColumns& columns,
                                     const TimestampPolicy& policy, TelemetryRow* row, TimestampCache* cache) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  // The common line, `2021-09-01 00:00:00Z,r1i0n0,221`: one pass finds every
  // delimiter and any quote, and the fields are cut from the delimiters' bit
  // mask. Lines of other lengths, and columns that are not distinct valid
  // indices, take the general code (same results).
  const std::size_t n = line.size();
  const char* const p = line.data();
  if (n - kMinScan > kMaxScan - kMinScan) return ParseGeneralLine(line, columns, policy, row, cache);
  const std::size_t n_fields = columns.n_fields;
  const auto ts = static_cast<std::size_t>(columns.timestamp);
  const auto nd = static_cast<std::size_t>(columns.node);
  const auto wt = static_cast<std::size_t>(columns.watts);
  std::string_view timestamp, node, watts;
  if (n_fields == 3 && ts == 0 && nd == 1 && wt == 2) {
    // `timestamp,node,watts`: exactly two delimiters, at d0 < d1.
    const LineScan scan = ScanLine(p, n, columns.delimiter);
    if (scan.quote) return ParseQuotedLine(line, columns, policy, row, cache);
    const std::uint64_t d = scan.delimiters;
    const std::uint64_t d_rest = d & (d - 1);
    if (d == 0 || d_rest == 0 || (d_rest & (d_rest - 1)) != 0) {
      return TelemetryRowError::kFieldCount;
    }
    const auto d0 = static_cast<std::size_t>(std::countr_zero(d));
    const auto d1 = static_cast<std::size_t>(std::countr_zero(d_rest));
    timestamp = std::string_view(p, d0);
    node = std::string_view(p + d0 + 1, d1 - d0 - 1);
    watts = std::string_view(p + d1 + 1, n - d1 - 1);
  } else if (ts < n_fields && nd < n_fields && wt < n_fields && ts != nd && ts != wt && nd != wt) {
    // Any other layout of up to 64 fields.
    const LineScan scan = ScanLine(p, n, columns.delimiter);
    if (scan.quote) return ParseQuotedLine(line, columns, policy, row, cache);
    const std::uint64_t d = scan.delimiters;
    if (static_cast<std::size_t>(PopCount(d)) + 1 != n_fields) {
      return TelemetryRowError::kFieldCount;
    }
    timestamp = FieldAt(p, n, d, columns.timestamp);
    node = FieldAt(p, n, d, columns.node);
    watts = FieldAt(p, n, d, columns.watts);
  } else {
    return ParseGeneralLine(line, columns, policy, row, cache);
  }
  return ParseFieldsInline(timestamp, node, watts, columns, policy, row, cache, p);
}

}  // namespace wattrun
