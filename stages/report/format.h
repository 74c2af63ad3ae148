// Number and text formatting for the report page. The page shows the same
// values as the CSV files, rounded for reading: tests format the inputs with
// these functions and look for the result in the page.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wattrun::report {

// &, <, >, " escaped for HTML text and attributes.
std::string EscapeHtml(const std::string& text);
// 41129 -> "41,129".
std::string FormatCount(std::int64_t n);
// `sig` significant digits, trailing zeros dropped, thousands separated
// (220 -> "220", 229.46 -> "229.5", 1460 -> "1,460", 14012.3 -> "14,012",
// 3.2e-9 -> "3.2×10⁻⁹");
// the integer part is never rounded away. NaN -> "–".
std::string FormatSig(double v, int sig = 4);
// Energy with a unit chosen from nJ … TJ, e.g. 14012.3 -> "14.01 kJ".
std::string FormatEnergy(double joules, int sig = 4);
// Bytes in binary units, e.g. 25952256 -> "24.75 MiB".
std::string FormatBytes(double bytes);
// A fraction as a percentage, e.g. 0.01617 -> "1.62 %".
std::string FormatPercent(double fraction, int sig = 3);
// A count with its noun, singular or plural as the count needs:
// (1, "run") -> "1 run", (2, "run") -> "2 runs", (0, "run") -> "0 runs",
// (41129, "reading") -> "41,129 readings"; `plural` for irregular nouns,
// (3, "data set") -> "3 data sets", (2, "class", "classes") -> "2 classes".
std::string Counted(std::int64_t n, const std::string& singular, const std::string& plural = "");
// The noun alone, as Counted would write it after n, for a count shown
// apart from its noun (a summary card's value and label):
// (1, "run") -> "run", (480, "run") -> "runs".
std::string Noun(std::int64_t n, const std::string& singular, const std::string& plural = "");
// A mass of CO₂ equivalent with its unit, e.g. 105.7 -> "105.7 kg CO₂e".
std::string FormatKgCo2e(double kg);
// Standard base64 (RFC 4648, with padding), for data: URIs.
std::string Base64(std::string_view bytes);
// "10⁻⁹"-style superscript digits.
std::string Superscript(int exponent);

}  // namespace wattrun::report
