#include "stages/ingest/prometheus_json.h"

#include <cstring>

namespace wattrun::ingest {
namespace {

// A cursor over the body that only moves forward on a match.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  bool AtEnd() const { return p_ == end_; }
  bool Peek(char c) const { return p_ < end_ && *p_ == c; }

  bool Literal(std::string_view literal) {
    if (static_cast<std::size_t>(end_ - p_) < literal.size() || std::memcmp(p_, literal.data(), literal.size()) != 0) {
      return false;
    }
    p_ += literal.size();
    return true;
  }

  // A string without escapes; its contents.
  bool String(std::string_view* out) {
    if (!Peek('"')) return false;
    const char* begin = p_ + 1;
    const auto* close = static_cast<const char*>(std::memchr(begin, '"', static_cast<std::size_t>(end_ - begin)));
    if (close == nullptr || std::memchr(begin, '\\', static_cast<std::size_t>(close - begin)) != nullptr) return false;
    *out = std::string_view(begin, static_cast<std::size_t>(close - begin));
    p_ = close + 1;
    return true;
  }

  // Seconds with at most three decimals ("1646748131", "1646748131.5",
  // "-2.125"), exactly as milliseconds.
  bool EpochMs(std::int64_t* out) {
    const bool negative = Literal("-");
    std::int64_t seconds = 0;
    int digits = 0;
    for (; p_ < end_ && *p_ >= '0' && *p_ <= '9'; ++p_, ++digits) {
      if (digits == 15) return false;  // beyond any instant
      seconds = seconds * 10 + (*p_ - '0');
    }
    if (digits == 0) return false;
    std::int64_t ms = 0;
    if (Literal(".")) {
      int decimals = 0;
      for (; p_ < end_ && *p_ >= '0' && *p_ <= '9'; ++p_, ++decimals) {
        if (decimals == 3) return false;  // below a millisecond: not the server's form
        ms = ms * 10 + (*p_ - '0');
      }
      if (decimals == 0) return false;
      for (int d = decimals; d < 3; ++d) ms *= 10;
    }
    *out = (negative ? -1 : 1) * (seconds * 1000 + ms);
    return true;
  }

 private:
  const char* p_;
  const char* end_;
};

// `"k":"v",...}` after a series' `"metric":{`; the node label's value.
bool ScanLabels(Scanner* s, std::string_view node_label, std::string_view* node_value) {
  bool found = false;
  if (!s->Peek('}')) {
    do {
      std::string_view key, value;
      if (!s->String(&key) || !s->Literal(":") || !s->String(&value)) return false;
      if (key == node_label) {
        *node_value = value;
        found = true;
      }
    } while (s->Literal(","));
  }
  return found && s->Literal("}");
}

// `[t,"v"],...]` after a series' `"values":[`.
bool ScanValues(Scanner* s, std::uint32_t series, std::vector<MatrixSample>* samples) {
  if (!s->Peek(']')) {
    do {
      MatrixSample sample;
      sample.series = series;
      if (!s->Literal("[") || !s->EpochMs(&sample.epoch_ms) || !s->Literal(",") || !s->String(&sample.value) ||
          !s->Literal("]")) {
        return false;
      }
      samples->push_back(sample);
    } while (s->Literal(","));
  }
  return s->Literal("]");
}

}  // namespace

bool ScanCompactMatrix(std::string_view body, std::string_view node_label, std::vector<std::string_view>* label_values,
                       std::vector<MatrixSample>* samples) {
  label_values->clear();
  samples->clear();
  Scanner s(body);
  if (!s.Literal(R"({"status":"success","data":{"resultType":"matrix","result":[)")) return false;
  if (!s.Peek(']')) {
    do {
      std::string_view node_value;
      const auto series = static_cast<std::uint32_t>(label_values->size());
      if (!s.Literal(R"({"metric":{)") || !ScanLabels(&s, node_label, &node_value) || !s.Literal(R"(,"values":[)") ||
          !ScanValues(&s, series, samples) || !s.Literal("}")) {
        return false;
      }
      label_values->push_back(node_value);
    } while (s.Literal(","));
  }
  return s.Literal("]}}") && s.AtEnd();
}

}  // namespace wattrun::ingest
