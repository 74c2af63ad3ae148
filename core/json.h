// A small JSON writer for the commands' --json output: values are encoded
// to text one at a time and assembled into objects and arrays in the order
// given (scripts read keys, people read the order).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wattrun::json {

// A string literal: quotes, backslashes and control characters escaped,
// UTF-8 passed through.
std::string String(std::string_view s);
// Shortest text that reads back to the same double; null when not finite.
std::string Number(double v);
std::string Number(const std::optional<double>& v);  // null when absent
std::string Int(std::int64_t v);
std::string Int(const std::optional<std::int64_t>& v);  // null when absent
std::string Bool(bool v);

// (key, already encoded value) pairs.
using Fields = std::vector<std::pair<std::string, std::string>>;
// {"key": value, ...} in the order given.
std::string Object(const Fields& fields);
// [value, ...] of already encoded values, joined by separator.
std::string Array(const std::vector<std::string>& items, std::string_view separator = ", ");

}  // namespace wattrun::json
