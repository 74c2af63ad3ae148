#include "stages/report/format.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace wattrun::report {

std::string EscapeHtml(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace {

// Inserts thousands separators into the integer part of a plain number.
std::string Group(const std::string& s) {
  std::size_t start = (!s.empty() && s[0] == '-') ? 1 : 0;
  std::size_t end = s.find('.');
  if (end == std::string::npos) end = s.size();
  if (end - start <= 3) return s;
  std::string out = s.substr(0, start);
  for (std::size_t i = start; i < end; ++i) {
    out += s[i];
    const std::size_t left = end - i - 1;
    if (left > 0 && left % 3 == 0) out += ',';
  }
  return out + s.substr(end);
}

}  // namespace

std::string FormatCount(std::int64_t n) {
  std::string s = std::to_string(n);
  std::size_t start = n < 0 ? 1 : 0;
  if (s.size() - start <= 3) return s;
  std::string out = s.substr(0, start);
  for (std::size_t i = start; i < s.size(); ++i) {
    out += s[i];
    const std::size_t left = s.size() - i - 1;
    if (left > 0 && left % 3 == 0) out += ',';
  }
  return out;
}

std::string Noun(std::int64_t n, const std::string& singular, const std::string& plural) {
  if (n == 1) return singular;
  return plural.empty() ? singular + "s" : plural;
}

std::string Counted(std::int64_t n, const std::string& singular, const std::string& plural) {
  return FormatCount(n) + " " + Noun(n, singular, plural);
}

std::string FormatKgCo2e(double kg) { return FormatSig(kg, 4) + " kg CO\u2082e"; }

std::string Base64(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const auto v = (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16) |
                   (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8) |
                   static_cast<unsigned char>(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
  }
  if (i < bytes.size()) {
    const bool two = i + 1 < bytes.size();
    const auto v = (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16) |
                   (two ? static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 : 0u);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += two ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string Superscript(int exponent) {
  static const char* kDigits[] = {"\u2070", "\u00b9", "\u00b2", "\u00b3", "\u2074",
                                  "\u2075", "\u2076", "\u2077", "\u2078", "\u2079"};
  std::string out = exponent < 0 ? "\u207b" : "";
  for (char c : std::to_string(std::abs(exponent))) out += kDigits[c - '0'];
  return out;
}

std::string FormatSig(double v, int sig) {
  if (std::isnan(v)) return "\u2013";
  if (std::isinf(v)) return v > 0 ? "\u221e" : "-\u221e";
  if (v == 0) return "0";
  const int mag = static_cast<int>(std::floor(std::log10(std::abs(v))));
  if (mag >= 12 || mag < -4) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*e", sig - 1, v);
    std::string m(buf);
    const std::size_t e = m.find('e');
    const int exponent = std::atoi(m.c_str() + e + 1);
    m.resize(e);
    if (m.find('.') != std::string::npos) {
      while (m.back() == '0') m.pop_back();
      if (m.back() == '.') m.pop_back();
    }
    return m + "\u00d710" + Superscript(exponent);
  }
  const int decimals = std::max(0, sig - 1 - mag);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s(buf);
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return Group(s);
}

std::string FormatEnergy(double joules, int sig) {
  if (std::isnan(joules)) return "\u2013";
  const double a = std::abs(joules);
  struct Unit {
    double scale;
    const char* name;
  };
  static const Unit kUnits[] = {{1e12, "TJ"}, {1e9, "GJ"},  {1e6, "MJ"},       {1e3, "kJ"},
                                {1, "J"},     {1e-3, "mJ"}, {1e-6, "\u00b5J"}, {1e-9, "nJ"}};
  for (const auto& u : kUnits) {
    if (a >= u.scale * 0.99995 || u.scale == 1e-9) return FormatSig(joules / u.scale, sig) + " " + u.name;
  }
  return FormatSig(joules, sig) + " J";
}

std::string FormatBytes(double bytes) {
  if (std::isnan(bytes)) return "\u2013";
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  double v = bytes;
  while (std::abs(v) >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  return FormatSig(v, 4) + " " + kUnits[u];
}

std::string FormatPercent(double fraction, int sig) {
  if (std::isnan(fraction)) return "\u2013";
  return FormatSig(100 * fraction, sig) + " %";
}

}  // namespace wattrun::report
