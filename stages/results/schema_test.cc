#include "stages/results/schema.h"

#include <gtest/gtest.h>

#include <string>

namespace wattrun::results::schema {
namespace {

template <typename Row>
const Column<Row>& Find(const Table<Row>& table, const std::string& name) {
  for (const auto& c : table) {
    if (name == c.name) return c;
  }
  throw std::runtime_error("no column " + name);
}

TEST(Schema, UnitsLiveWithTheColumn) {
  EXPECT_EQ(Find(RunsTable(), "energy").units, "J");
  EXPECT_EQ(Find(JobsTable(), "start").units, "us since 1970-01-01 UTC");
  EXPECT_EQ(Find(UsageTable(), "carbon_g").units, "g CO2e");
  EXPECT_EQ(Find(RunsTable(), "run_id").units, "text");
  EXPECT_NE(Find(RunsTable(), "filter_1").description.find("-1 not applied"), std::string::npos);
  EXPECT_EQ(Find(IdlePowerTable(), "idle_w").units, "W");
  EXPECT_EQ(Find(FeaturesTable(), "t_max_bytes").units, "B");
  EXPECT_EQ(Find(CarbonIntensityTable(), "time").units, "us since 1970-01-01 UTC");
  EXPECT_EQ(Find(PredictionsTable(), "run_id").units, "text");
  EXPECT_EQ(Find(LowEndTable(), "value").units, "W");
}

TEST(Schema, BooleansSpellTheirEncoding) {
  EXPECT_NE(Find(ModelTable(), "determined").description.find("1 true, 0 false"), std::string::npos);
  EXPECT_NE(Find(OverheadsTable(), "is_gpu").description.find("1 true, 0 false"), std::string::npos);
  EXPECT_NE(std::string(kClassIsGpu.description).find("1 true, 0 false"), std::string::npos);
}

TEST(Schema, SameNameDifferentMeaning) {
  EXPECT_NE(Find(QualityTable(), "count").description, Find(NodeDistTable({}), "count").description);
  EXPECT_NE(Find(LowEndTable(), "count").description, Find(NodeDistTable({}), "count").description);
}

TEST(Schema, NodeDistQuantileColumnsSitBetweenMinAndMaxInTheCsv) {
  const auto table = NodeDistTable({"p1", "p50"});
  EXPECT_EQ(Find(table, "p50").units, "W");
  EXPECT_EQ(Find(table, "p50").description, "the node's power quantile p50");
  EXPECT_EQ(Find(table, "max").csv, Csv::kLater);
  EXPECT_EQ(Find(table, "node_type").csv, Csv::kLast);
  EXPECT_EQ(Find(table, "idle_quantile").csv, Csv::kNo);
  idle::NodeDistribution node;
  node.quantiles = {1.5, 7};
  EXPECT_EQ(Find(table, "p1").csv_field(node), "1.5");
  EXPECT_EQ(Find(table, "p50").csv_field(node), "7");
}

TEST(Schema, DerivedColumnsAreWrittenNotRead) {
  PredictionRow p;
  p.measured = 4;
  p.predicted = 2;
  EXPECT_EQ(Find(PredictionsTable(), "ratio").csv_field(p), "0.5");
  EXPECT_FALSE(Find(PredictionsTable(), "ratio").read_h5);
  EXPECT_TRUE(Find(PredictionsTable(), "measured").read_h5);
}

TEST(Schema, CsvQuotingFollowsTheCodec) {
  QualityRow q{"ingest", "bad, row", 3};
  EXPECT_EQ(Find(QualityTable(), "stage").csv_field(q), "ingest");
  EXPECT_EQ(Find(QualityTable(), "reason").csv_field(q), "\"bad, row\"");
  ModelParameterRow m;
  m.determined = true;
  EXPECT_EQ(Find(ModelTable(), "std_error").csv_field(m), "");  // not determined: empty
  EXPECT_EQ(Find(ModelTable(), "determined").csv_field(m), "True");
}

TEST(Schema, CsvPlaces) {
  EXPECT_EQ(Find(JobsTable(), "node_list").csv, Csv::kLast);    // after the spec's columns
  EXPECT_EQ(Find(RunsTable(), "experiment_id").csv, Csv::kNo);  // results.h5 only
  EXPECT_TRUE(Find(RunsTable(), "idle_energy").optional);       // older files lack it
  for (const auto& c : JobNodesTable()) EXPECT_EQ(c.csv, Csv::kNo) << c.name;
}

TEST(Schema, CsvFields) {
  JobRow job;
  job.job_id = "12,3";
  job.status = "not_started";
  EXPECT_EQ(Find(JobsTable(), "job_id").csv_field(job), "\"12,3\"");  // quoted: holds a comma
  EXPECT_EQ(Find(JobsTable(), "start").csv_field(job), "");           // missing time
  EXPECT_EQ(Find(JobsTable(), "alloc_cpus").csv_field(job), "");
  job.start = 0;
  job.alloc_cpus = 36;
  EXPECT_EQ(Find(JobsTable(), "start").csv_field(job), FormatUtcIso(0));
  EXPECT_EQ(Find(JobsTable(), "alloc_cpus").csv_field(job), "36");
  RunRow run;
  run.filter_1 = true;
  run.energy_j = 1.5;
  EXPECT_EQ(Find(RunsTable(), "filter_1").csv_field(run), "True");
  EXPECT_EQ(Find(RunsTable(), "filter_3").csv_field(run), "");
  EXPECT_EQ(Find(RunsTable(), "energy").csv_field(run), "1.5");
}

TEST(Schema, MissingValueCodes) {
  EXPECT_EQ(codec::TriFlag::Put(std::nullopt), -1);
  EXPECT_EQ(codec::TriFlag::Get(0), std::optional<bool>(false));
  EXPECT_EQ(codec::OptCount::Put(std::nullopt), -1);
  EXPECT_FALSE(codec::OptCount::Get(-1).has_value());
  EXPECT_FALSE(codec::OptTime::Get(codec::OptTime::Put(std::nullopt)).has_value());
  EXPECT_EQ(codec::OptTime::Get(codec::OptTime::Put(TimeUs{-5})), TimeUs{-5});  // before 1970 is a time
  EXPECT_TRUE(std::isnan(codec::OptReal::Put(std::nullopt)));
}

}  // namespace
}  // namespace wattrun::results::schema
