#include "stages/ingest/prometheus.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace wattrun::ingest {
namespace {

TEST(Prometheus, NodeLabelsAreCutAtPortOrDomain) {
  EXPECT_EQ(NodeFromLabel("r1i0n3"), "r1i0n3");
  EXPECT_EQ(NodeFromLabel("r1i0n3:9290"), "r1i0n3");
  EXPECT_EQ(NodeFromLabel("r1i0n3.eagle.nrel.gov:9100"), "r1i0n3");
  EXPECT_EQ(NodeFromLabel(""), "");
}

TEST(Prometheus, LoopbackUrlsAreThisMachines) {
  EXPECT_TRUE(IsLoopback("http://127.0.0.1:9090"));
  EXPECT_TRUE(IsLoopback("http://localhost:9090/prom"));
  EXPECT_TRUE(IsLoopback("https://127.8.0.2"));
  EXPECT_TRUE(IsLoopback("http://[::1]:9090"));
  EXPECT_FALSE(IsLoopback("http://prometheus.example.org:9090"));
  EXPECT_FALSE(IsLoopback("http://10.0.0.127:9090"));
  EXPECT_FALSE(IsLoopback("http://localhost.example.org"));
}

TEST(Prometheus, RangeSelectorNamesTheNodesEscaped) {
  PrometheusConfig config;
  config.metric = "ipmi_power_watts";
  config.node_label = "instance";
  EXPECT_EQ(RangeSelector(config, {"a1", "b+2"}, 3600000),
            R"(ipmi_power_watts{instance=~"(?:a1|b\\+2)(?:[:.].*)?"}[3600000ms])");
  EXPECT_EQ(RangeSelector(config, {"c3"}, 1000), R"(ipmi_power_watts{instance=~"(?:c3)(?:[:.].*)?"}[1000ms])");
}

TEST(Prometheus, UnitsCoverEachNodeSetFromItsFirstWantedInstant) {
  // Two nodes a set, 1 s sampling, 4 samples a unit: slices of 4 / 2 = 2 s.
  const auto units = PlanPrometheusUnits({0, 5000000, 100000000}, 5000000, 1.0, 2, 4);
  ASSERT_EQ(units.size(), 3u);  // node 2 wants nothing before the end
  EXPECT_EQ(units[0].first_node, 0u);
  EXPECT_EQ(units[0].last_node, 2u);
  EXPECT_EQ(units[0].after, -1);
  EXPECT_EQ(units[0].until, 1999999);
  EXPECT_EQ(units[1].after, 1999999);
  EXPECT_EQ(units[1].until, 3999999);
  EXPECT_EQ(units[2].after, 3999999);
  EXPECT_EQ(units[2].until, 5000000);
  // Node 1 is stored up to 4999999 µs: only the last unit asks for it.
  const std::vector<std::string> names{"a", "b", "c"};
  EXPECT_EQ(UnitNodes(units[1], names, {0, 5000000, 100000000}), (std::vector<std::string_view>{"a"}));
  EXPECT_EQ(UnitNodes(units[2], names, {0, 5000000, 100000000}), (std::vector<std::string_view>{"a", "b"}));
  const auto one = PlanPrometheusUnits({7000000, 9000000}, 100000000, 60.0, 1, 100);  // slices of 6000 s
  ASSERT_EQ(one.size(), 2u);
  EXPECT_EQ(one[1].first_node, 1u);
  EXPECT_EQ(one[1].after, 8999999);
  EXPECT_EQ(one[1].until, 100000000);
}

TEST(Prometheus, TheWindowDefaultsToTheSacctSpan) {
  JobRecord ended, later, never;
  ended.start = 1000000;
  ended.end = 5000000;
  later.start = 3000000;
  later.end = 9000000;
  never.has_start = false;
  never.start = 10000;  // not a Start: the line never ran
  const PrometheusConfig unset;
  EXPECT_EQ(PrometheusWindow(unset, {ended, later, never}, 99999000), std::make_pair(TimeUs{1000000}, TimeUs{9000000}));
  JobRecord running;
  running.start = 500000;
  EXPECT_EQ(PrometheusWindow(unset, {ended, running}, 99999000), std::make_pair(TimeUs{500000}, TimeUs{99999000}));
  PrometheusConfig set;
  set.start = 2000000;
  set.end = 4000000;
  EXPECT_EQ(PrometheusWindow(set, {ended, running}, 99999000), std::make_pair(TimeUs{2000000}, TimeUs{4000000}));
  EXPECT_THROW(PrometheusWindow(unset, {never}, 99999000), Error);
}

TEST(Prometheus, SamplesOfAMatrixResponse) {
  const std::string body = R"({"status":"success","data":{"resultType":"matrix","result":[
    {"metric":{"__name__":"p","node":"r1:9290"},"values":[[1646748131.123,"231"],[1646748191,"0.5"]]},
    {"metric":{"node":"r2.x"},"values":[[1646748131.999,"NaN"]]}]}})";
  std::vector<std::string> seen;
  ForEachSample(body, "node", [&](std::string_view label, TimeUs t, std::string_view value) {
    seen.push_back(std::string(label) + " " + std::to_string(t) + " " + std::string(value));
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"r1:9290 1646748131123000 231", "r1:9290 1646748191000000 0.5",
                                            "r2.x 1646748131999000 NaN"}));
}

std::string ErrorOf(const std::string& body) {
  try {
    ForEachSample(body, "node", [](std::string_view, TimeUs, std::string_view) {});
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Prometheus, BadResponsesAreClearErrors) {
  EXPECT_NE(ErrorOf(R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{}, "values":[[1,)")
                .find("malformed JSON response"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"status":"success","data":{"resultType":"vector","result":[]}})").find("not matrix"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"status":"error","errorType":"bad_data","error":"parse error"})").find("bad_data: parse error"),
            std::string::npos);
  EXPECT_NE(
      ErrorOf(R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{"host":"a"},"values":[]}]}})")
          .find("without the label 'node'"),
      std::string::npos);
  EXPECT_NE(
      ErrorOf(
          R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{"node":"a"},"values":[[1]]}]}})")
          .find("unexpected JSON response"),
      std::string::npos);
}

TEST(Prometheus, AServerThatIsNotThereIsNamedWithTheQuery) {
  PrometheusClient client("http://127.0.0.1:1/", 5);  // port 1: nothing listens
  try {
    client.Query("up[1m]", 1646748131123000);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(
        what.find("http://127.0.0.1:1/api/v1/query: query 'up[1m]' at 2022-03-08T14:02:11.123Z (time=1646748131.123)"),
        std::string::npos)
        << what;
  }
}

}  // namespace
}  // namespace wattrun::ingest
