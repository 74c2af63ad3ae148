// Fuzzes the Slurm hostlist expander (ExpandHostlist) and its inverse
// (CompressHostlist). The input is an expression: it either expands or
// throws wattrun::Error, and its names compress to an expression that
// expands back to the same names. The input's lines are also taken as a list
// of plain host names (letters, digits, '-', '_', '.') that must survive
// compressing and expanding unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/hostlist.h"
#include "fuzz/fuzz_support.h"

namespace {

using wattrun::fuzz::AsText;

// Above this many names the round trip is skipped: it is linear, but slow
// under the sanitizers, and the expander's own guard allows 4 Mi names.
constexpr std::size_t kMaxRoundTripNames = std::size_t{1} << 16;

bool IsPlainHostName(std::string_view name) {
  if (name.empty()) return false;
  for (const char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Names that need not read back: those CompressHostlist writes as they are
// (holding '[', ']', ',' or spaces; see hostlist.h), those with control
// characters (ExpandHostlist trims a trailing '\r' or '\n' off the whole
// expression), and "(null)", which ExpandHostlist reads as no nodes.
bool RoundTripExempt(const std::vector<std::string>& names) {
  for (const auto& name : names) {
    if (name.find_first_of("[], ") != std::string::npos || name == "(null)") return true;
    for (const char c : name) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
    }
  }
  return false;
}

// The expression with non-printable bytes escaped, for messages.
std::string Printable(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out.push_back(c);
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", u);
      out += escaped;
    }
  }
  return out;
}

void CheckRoundTrip(const std::vector<std::string>& names) {
  if (names.size() > kMaxRoundTripNames || RoundTripExempt(names)) return;
  const std::string compressed = wattrun::CompressHostlist(names);
  std::vector<std::string> again;
  try {
    again = wattrun::ExpandHostlist(compressed);
  } catch (const wattrun::Error& e) {
    std::fprintf(stderr, "CompressHostlist wrote '%s', which does not expand: %s\n", Printable(compressed).c_str(),
                 e.what());
    std::abort();
  }
  if (again != names) {
    std::fprintf(stderr, "round trip changed the names: '%s' expands to %zu names, not %zu\n",
                 Printable(compressed).c_str(), again.size(), names.size());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = AsText(data, size);
  std::vector<std::string> names;
  try {
    names = wattrun::ExpandHostlist(text);
  } catch (const wattrun::Error&) {
    names.clear();
  }
  for (const auto& name : names) WATTRUN_FUZZ_CHECK(!name.empty());
  CheckRoundTrip(names);

  std::vector<std::string> plain;
  for (const std::string_view line : wattrun::fuzz::SplitLines(text)) {
    if (IsPlainHostName(line)) plain.emplace_back(line);
  }
  CheckRoundTrip(plain);
  return 0;
}
