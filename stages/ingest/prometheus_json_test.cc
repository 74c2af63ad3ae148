#include "stages/ingest/prometheus_json.h"

#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "stages/ingest/prometheus.h"

namespace wattrun::ingest {
namespace {

// "label ms value" per sample, off the fast path.
std::vector<std::string> Fast(std::string_view body, bool* accepted) {
  std::vector<std::string_view> labels;
  std::vector<MatrixSample> samples;
  *accepted = ScanCompactMatrix(body, "node", &labels, &samples);
  std::vector<std::string> out;
  if (!*accepted) return out;  // the outputs are unspecified then
  for (const MatrixSample& s : samples) {
    out.push_back(std::string(labels[s.series]) + " " + std::to_string(s.epoch_ms) + " " + std::string(s.value));
  }
  return out;
}

// The same through ForEachSample (fast path or the general parser).
std::vector<std::string> Visited(std::string_view body) {
  std::vector<std::string> out;
  ForEachSample(body, "node", [&](std::string_view label, TimeUs t, std::string_view value) {
    out.push_back(std::string(label) + " " + std::to_string(EpochMsFromInstant(t)) + " " + std::string(value));
  });
  return out;
}

TEST(PrometheusJson, TheServersCompactFormGivesEverySampleExactly) {
  const std::string body =
      R"({"status":"success","data":{"resultType":"matrix","result":[)"
      R"({"metric":{"__name__":"p","job":"ipmi","node":"r1:9290"},"values":[[1646748131.123,"231"],[1646748191,"0.5"],[1646748192.5,"+Inf"]]},)"
      R"({"metric":{"node":"r2.x"},"values":[[1646748131.05,"NaN"],[-2.125,"7"]]},)"
      R"({"metric":{"node":"r3"},"values":[]}]}})";
  bool accepted = false;
  const std::vector<std::string> expected = {"r1:9290 1646748131123 231", "r1:9290 1646748191000 0.5",
                                             "r1:9290 1646748192500 +Inf", "r2.x 1646748131050 NaN", "r2.x -2125 7"};
  EXPECT_EQ(Fast(body, &accepted), expected);
  EXPECT_TRUE(accepted);
  EXPECT_EQ(Visited(body), expected);
  // The general parser on the same JSON with whitespace: the same samples.
  std::string spaced = body;
  for (std::size_t at = 0; (at = spaced.find("],[", at)) != std::string::npos; at += 4) spaced.replace(at, 3, "], [");
  spaced.replace(spaced.find("\"data\":"), 7, "\"data\" :\n ");
  EXPECT_FALSE((Fast(spaced, &accepted), accepted));
  EXPECT_EQ(Visited(spaced), expected);
  EXPECT_TRUE((Fast(R"({"status":"success","data":{"resultType":"matrix","result":[]}})", &accepted), accepted));
}

TEST(PrometheusJson, AnythingElseIsLeftToTheGeneralParser) {
  const std::string head = R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{)";
  bool accepted = true;
  for (const std::string& body : {
           head + R"("node":"r\"1"},"values":[[1,"2"]]}]}})",                 // an escape in a label
           head + R"("node":"r1"},"values":[[1.0005,"2"]]}]}})",              // below a millisecond
           head + R"("node":"r1"},"values":[[1e3,"2"]]}]}})",                 // an exponent
           head + R"("node":"r1"},"values":[[1,2]]}]}})",                     // a value not a string
           head + R"("host":"r1"},"values":[[1,"2"]]}]}})",                   // no node label
           head + R"("node":"r1"},"values":[[1,"2"]]}]},"warnings":["w"]})",  // warnings
           head + R"("node":"r1"},"values":[[1,"2"]]}]}} )",                  // trailing bytes
           head + R"("node":"r1"},"values":[[1,"2"])",                        // truncated
           std::string(R"({"status":"error","errorType":"bad_data","error":"x"})"),
       }) {
    Fast(body, &accepted);
    EXPECT_FALSE(accepted) << body;
  }
  // Which the general parser then reads, or refuses clearly.
  EXPECT_EQ(Visited(head + R"("node":"r1"},"values":[[1,"2"]]}]},"warnings":["w"]})"),
            std::vector<std::string>{"r1 1000 2"});
  EXPECT_THROW(Visited(head + R"("node":"r1"},"values":[[1,"2"])"), Error);
  EXPECT_THROW(Visited(head + R"("host":"r1"},"values":[[1,"2"]]}]}})"), Error);
}

}  // namespace
}  // namespace wattrun::ingest
