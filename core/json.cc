#include "core/json.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace wattrun::json {

std::string String(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;  // UTF-8 passes through
        }
    }
  }
  return out + "\"";
}

std::string Number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

std::string Number(const std::optional<double>& v) { return v ? Number(*v) : "null"; }
std::string Int(std::int64_t v) { return std::to_string(v); }
std::string Int(const std::optional<std::int64_t>& v) { return v ? Int(*v) : "null"; }
std::string Bool(bool v) { return v ? "true" : "false"; }

std::string Object(const Fields& fields) {
  std::string out = "{";
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ", ";
    out += String(fields[i].first) + ": " + fields[i].second;
  }
  return out + "}";
}

std::string Array(const std::vector<std::string>& items, std::string_view separator) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += separator;
    out += items[i];
  }
  return out + "]";
}

}  // namespace wattrun::json
