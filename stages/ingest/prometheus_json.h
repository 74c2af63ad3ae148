// A fast path through a Prometheus instant-query response of result type
// matrix, in the exact compact form the server writes (Prometheus 2's
// jsoniter encoder: no whitespace, keys in its order, timestamps as
// seconds with at most three decimals, values as strings). One pass over
// the bytes, no tree: the samples of a 2.5 MB response in a few ms, where
// a general JSON parser (nlohmann) builds a tree of every sample first and
// takes some 15x longer (a 1.8 MB response of 96,000 samples: 2.1 ms
// against 34 ms, bench/RESULTS.md). Anything else (whitespace, other key order, escapes,
// a `warnings` field, an error status, malformed JSON) is refused here,
// and the caller parses it with the general parser, which gives the same
// samples or the clear error.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace wattrun::ingest {

struct MatrixSample {
  std::uint32_t series = 0;  // index into the series' label values
  std::int64_t epoch_ms = 0;
  std::string_view value;  // as written: "231", "NaN", "+Inf"
};

// True, with every series' `node_label` value and every sample (views into
// body), when body is a successful matrix response in the server's compact
// form and every series has that label; false (outputs unspecified) if not.
bool ScanCompactMatrix(std::string_view body, std::string_view node_label, std::vector<std::string_view>* label_values,
                       std::vector<MatrixSample>* samples);

}  // namespace wattrun::ingest
