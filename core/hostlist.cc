#include "core/hostlist.h"

#include <cstdint>

#include "core/csv.h"
#include "core/error.h"

namespace wattrun {

namespace {

// Slurm's own limit on one range (MAX_RANGE in hostlist.c).
constexpr std::uint64_t kMaxRangeHosts = std::uint64_t{64} * 1024;
// Guards against expressions that expand to an absurd number of names.
constexpr std::uint64_t kMaxExpandedHosts = std::uint64_t{1} << 22;

[[noreturn]] void Fail(std::string_view expression, const std::string& reason) {
  throw Error("invalid hostlist '" + std::string(expression) + "': " + reason);
}

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsSeparator(char c) { return c == ',' || c == ' ' || c == '\t'; }

bool ParseNumber(std::string_view digits, std::uint64_t* value) {
  if (digits.empty()) return false;
  std::uint64_t v = 0;
  for (const char c : digits) {
    if (!IsDigit(c)) return false;
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *value = v;
  return true;
}

std::string Pad(std::uint64_t value, std::size_t width) {
  std::string digits = std::to_string(value);
  if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
  return digits;
}

// The names one bracket group stands for, in written order: `1-3,5` gives
// 1 2 3 5; each range is zero-padded to the width of its lower bound.
std::vector<std::string> ExpandGroup(std::string_view group, std::string_view expression) {
  std::vector<std::string> values;
  std::size_t start = 0;
  for (;;) {
    std::size_t comma = group.find(',', start);
    if (comma == std::string_view::npos) comma = group.size();
    const std::string_view range = group.substr(start, comma - start);
    const std::size_t dash = range.find('-');
    const std::string_view lo_text = range.substr(0, dash);
    // Slurm reads `5-` as 5; an empty or non-numeric bound is an error.
    const std::string_view hi_text = dash == std::string_view::npos ? lo_text : range.substr(dash + 1);
    std::uint64_t lo = 0, hi = 0;
    if (!ParseNumber(lo_text, &lo) || (!hi_text.empty() && !ParseNumber(hi_text, &hi))) {
      Fail(expression, "bad range '" + std::string(range) + "'");
    }
    if (hi_text.empty()) hi = lo;
    if (hi < lo) Fail(expression, "range end before start in '" + std::string(range) + "'");
    // hi - lo, not hi - lo + 1: the latter wraps to 0 for [0-18446744073709551615].
    if (hi - lo >= kMaxRangeHosts || values.size() + (hi - lo) >= kMaxExpandedHosts) {
      Fail(expression, "too many hosts in range '" + std::string(range) + "'");
    }
    for (std::uint64_t v = lo;; ++v) {
      values.push_back(Pad(v, lo_text.size()));
      if (v == hi) break;
    }
    if (comma == group.size()) break;
    start = comma + 1;
  }
  return values;
}

// Appends the names of one token, e.g. `r1i[0-1]n[2,4]`.
void ExpandToken(std::string_view token, std::string_view expression, std::vector<std::string>* names) {
  std::vector<std::string> literals;  // text before each group, then the tail
  std::vector<std::vector<std::string>> groups;
  std::size_t pos = 0;
  for (;;) {
    const std::size_t open = token.find('[', pos);
    if (open == std::string_view::npos) {
      literals.emplace_back(token.substr(pos));
      break;
    }
    const std::size_t close = token.find(']', open);
    literals.emplace_back(token.substr(pos, open - pos));
    groups.push_back(ExpandGroup(token.substr(open + 1, close - open - 1), expression));
    pos = close + 1;
  }
  if (groups.empty()) {
    names->emplace_back(token);
    return;
  }
  // Text after the last bracket (Slurm 23.11+: `r1i[0,2]n2`, `node[1-2]-ib`;
  // spec section 1) is appended to every name; 22.05 refused it.
  const std::string& suffix = literals.back();
  std::uint64_t total = 1;
  for (const auto& group : groups) {
    total *= group.size();
    if (total + names->size() > kMaxExpandedHosts) Fail(expression, "expands to too many hosts");
  }
  // scontrol's order: the last group varies fastest; the others vary from
  // the first (faster) to the second-to-last (slowest).
  const std::size_t k = groups.size();
  std::vector<std::size_t> order;  // slowest first
  for (std::size_t g = k - 1; g-- > 0;) order.push_back(g);
  order.push_back(k - 1);
  std::vector<std::size_t> index(k, 0);
  for (;;) {
    std::string name;
    for (std::size_t g = 0; g < k; ++g) {
      name += literals[g];
      name += groups[g][index[g]];
    }
    name += suffix;
    names->push_back(std::move(name));
    std::size_t level = k;
    while (level > 0) {
      const std::size_t g = order[level - 1];
      if (++index[g] < groups[g].size()) break;
      index[g] = 0;
      --level;
    }
    if (level == 0) return;
  }
}

// A host name cut before its trailing number, for compressing.
struct SplitName {
  std::string_view prefix;
  std::string_view digits;  // trailing digits; empty if none
  std::uint64_t number = 0;
};

SplitName SplitTrailingNumber(std::string_view name) {
  std::size_t cut = name.size();
  while (cut > 0 && IsDigit(name[cut - 1])) --cut;
  SplitName split{name, {}, 0};
  std::uint64_t number = 0;
  if (cut < name.size() && ParseNumber(name.substr(cut), &number)) {
    split.prefix = name.substr(0, cut);
    split.digits = name.substr(cut);
    split.number = number;
  }
  return split;
}

}  // namespace

std::vector<std::string> ExpandHostlist(std::string_view expression) {
  const std::string_view text = Trim(expression);
  std::vector<std::string> names;
  if (text.empty() || text == "None assigned" || text == "(null)") return names;
  int depth = 0;
  std::size_t token_start = 0;
  bool in_token = false;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    const bool at_end = i == text.size();
    const char c = at_end ? ',' : text[i];
    if (c == '[') {
      if (depth > 0) Fail(expression, "nested '['");
      ++depth;
    } else if (c == ']') {
      if (depth == 0) Fail(expression, "']' without '['");
      --depth;
    } else if (depth > 0 && (c == ' ' || c == '\t')) {
      Fail(expression, "space inside brackets");
    }
    if (at_end && depth > 0) Fail(expression, "unbalanced '['");
    const bool separator = depth == 0 && IsSeparator(c);
    if (separator) {
      if (in_token) ExpandToken(text.substr(token_start, i - token_start), expression, &names);
      in_token = false;
    } else if (!in_token) {
      in_token = true;
      token_start = i;
    }
  }
  return names;
}

std::string CompressHostlist(const std::vector<std::string>& names) {
  std::string out;
  std::size_t i = 0;
  while (i < names.size()) {
    if (!out.empty()) out.push_back(',');
    const SplitName first = SplitTrailingNumber(names[i]);
    if (first.digits.empty()) {
      out += names[i++];
      continue;
    }
    // Ranges of consecutive numbers that print with the width of their
    // first number, over the run of names that share this prefix.
    std::vector<std::string> ranges;
    std::size_t j = i;
    while (j < names.size()) {
      const SplitName lo = SplitTrailingNumber(names[j]);
      if (lo.digits.empty() || lo.prefix != first.prefix) break;
      std::uint64_t hi = lo.number;
      std::size_t next = j + 1;
      while (next < names.size()) {
        const SplitName candidate = SplitTrailingNumber(names[next]);
        if (candidate.digits.empty() || candidate.prefix != first.prefix || candidate.number != hi + 1 ||
            candidate.digits != Pad(candidate.number, lo.digits.size())) {
          break;
        }
        hi = candidate.number;
        ++next;
      }
      std::string range(lo.digits);
      if (hi != lo.number) {
        range.push_back('-');
        range += Pad(hi, lo.digits.size());
      }
      ranges.push_back(std::move(range));
      j = next;
    }
    out += first.prefix;
    if (ranges.size() == 1 && j == i + 1) {
      out += ranges.front();
    } else {
      out.push_back('[');
      for (std::size_t r = 0; r < ranges.size(); ++r) {
        if (r > 0) out.push_back(',');
        out += ranges[r];
      }
      out.push_back(']');
    }
    i = j;
  }
  return out;
}

}  // namespace wattrun
