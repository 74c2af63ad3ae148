#include "stages/ingest/tables.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include "core/error.h"
#include "tests/test_util.h"

namespace wattrun {
namespace {

namespace fs = std::filesystem;

TimeUs Utc(int y, unsigned mo, unsigned d, int h, int mi, int s) {
  return (DaysFromCivil(y, mo, d) * 86400 + (h * 60 + mi) * 60 + s) * kMicrosPerSecond;
}

// Bad-row counts by reason.
using Counts = std::map<std::string, std::int64_t>;

// Bad rows as reason -> count, checking that they all name `stage` and `file`.
Counts Reasons(const std::vector<BadRowCount>& bad_rows, const std::string& stage, const std::string& file) {
  Counts reasons;
  for (const auto& bad : bad_rows) {
    EXPECT_EQ(bad.stage, stage);
    EXPECT_EQ(bad.file, file);
    reasons[bad.reason] += bad.count;
  }
  return reasons;
}

// Writes each test's input files into its own temp directory.
class TablesTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::string WriteGzip(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    gzFile out = gzopen(path.c_str(), "wb");
    gzwrite(out, text.data(), static_cast<unsigned>(text.size()));
    gzclose(out);
    return path;
  }

  // Removed after each test, also when it fails.
  testing_util::ScratchDir scratch_{"wattrun_tables_test_" + testing_util::CurrentTestName()};
  fs::path dir_ = scratch_.path();
};

const char kSacct[] =
    "JobID|JobName|NodeList|Start|End|State|Elapsed\n"
    "100|train|r1i0n[1-3,5]|2021-07-01T10:00:00|2021-07-01T12:00:00|COMPLETED|02:00:00\n"
    "100.batch|batch|r1i0n1|2021-07-01T10:00:00|2021-07-01T12:00:00|COMPLETED|02:00:00\n"
    "100.extern|extern|r1i0n[1-3,5]|2021-07-01T10:00:00|2021-07-01T12:00:00|COMPLETED|02:00:00\n"
    "100.0|python|r1i0n[1-3,5]|2021-07-01T10:00:01|2021-07-01T11:59:00|COMPLETED|01:59:00\n"
    "200_4|arr|n[08-10]|2021-07-01T10:00:00|Unknown|RUNNING|00:10:00\n"
    "200_4.batch|batch|n08|2021-07-01T10:00:00|Unknown|RUNNING|00:10:00\n"
    "300+0|het|a[001-003],b7|2021-07-02T00:00:00|2021-07-02T01:00:00|COMPLETED|01:00:00\n"
    "300+1|het|gpu1|2021-07-02T00:00:00|2021-07-02T01:00:00|COMPLETED|01:00:00\n"
    "300+0.0|het|a001|2021-07-02T00:00:00|2021-07-02T01:00:00|COMPLETED|01:00:00\n"
    "400|pend|None assigned|Unknown|Unknown|PENDING|00:00:00\n"
    "401_[1-5%2]|pend|None assigned|None|Unknown|PENDING|00:00:00\n"
    "500|dst|n1|2021-11-07T01:30:00|2021-11-07T01:45:00|COMPLETED|00:15:00\n"
    "501|dst|n1|2021-11-07T01:50:00|2021-11-07T01:10:00|COMPLETED|00:20:00\n"
    "\n"
    "JobID|JobName|NodeList|Start|End|State|Elapsed\n"
    "600|gap|n1|2021-03-14T02:30:00|2021-03-14T04:00:00|FAILED|00:30:00\n"
    "601|gap|n1|2021-03-14T01:00:00|2021-03-14T02:15:00|FAILED|00:15:00\n"
    "700|bad|n1|2021-07-01 10:00|2021-07-01T11:00:00|FAILED|00:00:00\n"
    "800|short|n1|2021-07-01T10:00:00\n"
    "801|long|n1|2021-07-01T10:00:00|2021-07-01T11:00:00|COMPLETED|01:00:00|extra\n"
    "900|neg|n1|2021-07-01T12:00:00|2021-07-01T10:00:00|COMPLETED|00:00:00\n"
    "abc|name|n1|2021-07-01T10:00:00|2021-07-01T11:00:00|COMPLETED|01:00:00\n"
    "1000|name|n[3-1]|2021-07-01T10:00:00|2021-07-01T11:00:00|COMPLETED|01:00:00\n"
    "1001|CANCELLED job|n2|2021-07-01T10:00:00|2021-07-01T10:30:00|CANCELLED by 1234|00:30:00\r\n";

TEST_F(TablesTest, SacctAllocationsStepsArraysHetJobs) {
  fs::create_directories(dir_ / "sacct");
  const std::string path = Write("sacct/2021-07.txt", kSacct);
  const TimestampPolicy denver{TimeZone::Load("America/Denver"), false};
  const auto [jobs, bad_rows, warnings, rows] = ParseSacctFile(path, denver);

  std::map<std::string, JobRecord> by_id;
  std::vector<std::string> order;
  for (const auto& job : jobs) {
    order.push_back(job.job_id);
    by_id[job.job_id] = job;
  }
  EXPECT_EQ(order,
            (std::vector<std::string>{"100", "200_4", "300+0", "300+1", "400", "401_[1-5%2]", "500", "501", "1001"}));

  const JobRecord& j100 = by_id["100"];
  EXPECT_EQ(j100.node_list, "r1i0n[1-3,5]");
  EXPECT_TRUE(j100.has_start);
  EXPECT_EQ(j100.start, Utc(2021, 7, 1, 16, 0, 0));  // MDT
  ASSERT_TRUE(j100.end.has_value());
  EXPECT_EQ(*j100.end, Utc(2021, 7, 1, 18, 0, 0));
  EXPECT_EQ(j100.state, "COMPLETED");

  EXPECT_FALSE(by_id["200_4"].end.has_value());  // still running
  EXPECT_EQ(by_id["200_4"].node_list, "n[08-10]");
  EXPECT_EQ(by_id["300+0"].node_list, "a[001-003],b7");
  EXPECT_FALSE(by_id["400"].has_start);
  EXPECT_FALSE(by_id["400"].end.has_value());
  EXPECT_FALSE(by_id["401_[1-5%2]"].has_start);

  // Ambiguous: the earlier instant, but an End read that way before the
  // Start takes the later one.
  EXPECT_EQ(by_id["500"].start, Utc(2021, 11, 7, 7, 30, 0));
  EXPECT_EQ(*by_id["500"].end, Utc(2021, 11, 7, 7, 45, 0));
  EXPECT_EQ(by_id["501"].start, Utc(2021, 11, 7, 7, 50, 0));
  EXPECT_EQ(*by_id["501"].end, Utc(2021, 11, 7, 8, 10, 0));
  EXPECT_EQ(by_id["1001"].state, "CANCELLED by 1234");

  const auto reasons = Reasons(bad_rows, "sacct", path);
  EXPECT_EQ(reasons, (Counts{{"bad_hostlist", 1},
                             {"bad_job_id", 1},
                             {"bad_time", 1},
                             {"field_count", 2},
                             {"negative_window", 1},
                             {"nonexistent_time", 2}}));
  for (std::size_t i = 1; i < bad_rows.size(); ++i) EXPECT_LT(bad_rows[i - 1].reason, bad_rows[i].reason);
  EXPECT_EQ(rows, 17);  // 9 allocations and 8 bad lines; steps, the blank line and the repeated header are no rows
}

TEST_F(TablesTest, SacctColumnsInAnyOrderAndGzip) {
  const std::string text =
      "State|End|Account|Start|NodeList|JobID\n"
      "COMPLETED|2021-01-05T11:00:00|acct|2021-01-05T10:00:00|n[1-2]|42\n"
      "COMPLETED|2021-01-05T11:00:00|acct|2021-01-05T10:00:00|n1|42.batch\n";
  const TimestampPolicy utc;
  for (const std::string& path : {Write("a.txt", text), WriteGzip("b.txt", text), WriteGzip("c.txt.gz", text)}) {
    const auto result = ParseSacctFile(path, utc);
    ASSERT_EQ(result.records.size(), 1u) << path;
    EXPECT_EQ(result.records[0].job_id, "42");
    EXPECT_EQ(result.records[0].node_list, "n[1-2]");
    EXPECT_EQ(result.records[0].start, Utc(2021, 1, 5, 10, 0, 0));
    EXPECT_TRUE(result.bad_rows.empty());
  }
}

TEST_F(TablesTest, SacctMissingColumnEmptyAndCorruptFiles) {
  // A header without State: a warning with the sacct command, each line bad_header.
  const std::string path = Write("missing.txt", "JobID|NodeList|Start|End\n1|n1|Unknown|Unknown\n\n2|n1|x|y\n");
  const auto missing = ParseSacctFile(path, {}, "sacct/missing.txt");
  EXPECT_TRUE(missing.records.empty());
  EXPECT_EQ(Reasons(missing.bad_rows, "sacct", "sacct/missing.txt"), (Counts{{"bad_header", 2}}));
  ASSERT_EQ(missing.warnings.size(), 1u);
  EXPECT_NE(missing.warnings[0].find("sacct/missing.txt: sacct header lacks column 'State'"), std::string::npos);
  EXPECT_NE(missing.warnings[0].find(SacctCommandLine()), std::string::npos);
  EXPECT_NE(SacctCommandLine().find("--parsable2"), std::string::npos);
  EXPECT_NE(SacctCommandLine().find("--duplicates"), std::string::npos);
  EXPECT_NE(SacctCommandLine().find(
                "--format=JobID,NodeList,Start,End,State,User,Account,Partition,AllocCPUS,AllocTRES,ConsumedEnergyRaw"),
            std::string::npos);
  const auto empty = ParseSacctFile(Write("empty.txt", ""), {});
  EXPECT_TRUE(empty.records.empty());
  EXPECT_TRUE(empty.bad_rows.empty());
  const auto header_only = ParseSacctFile(Write("header.txt", "JobID|NodeList|Start|End|State\n"), {});
  EXPECT_TRUE(header_only.records.empty());
  EXPECT_TRUE(header_only.bad_rows.empty());

  std::string gz;
  {
    const std::string good = WriteGzip("good.gz", std::string(kSacct) + std::string(kSacct));
    std::ifstream in(good, std::ios::binary);
    gz.assign(std::istreambuf_iterator<char>(in), {});
  }
  gz.resize(gz.size() * 2 / 3);
  EXPECT_THROW(ParseSacctFile(Write("cut.txt.gz", gz), {}), InputError);
}

TEST_F(TablesTest, SacctWithoutHeaderCountsEveryLine) {
  // `--noheader`: the first line is a job line, and a row too.
  const std::string noheader = Write("noheader.txt",
                                     "100|n1|2021-07-01T10:00:00|2021-07-01T11:00:00|COMPLETED\n"
                                     "101|n1|2021-07-01T10:00:00|2021-07-01T11:00:00|COMPLETED\n"
                                     "101.batch|n1|2021-07-01T10:00:00|2021-07-01T11:00:00|COMPLETED\n");
  const auto a = ParseSacctFile(noheader, {});
  EXPECT_TRUE(a.records.empty());
  EXPECT_EQ(Reasons(a.bad_rows, "sacct", noheader), (Counts{{"bad_header", 3}}));
  ASSERT_EQ(a.warnings.size(), 1u);
  EXPECT_EQ(a.warnings[0].rfind(noheader + ": ", 0), 0u);  // named by the path when no name is given
  // Without `-o`: sacct's default columns; the header line is no row.
  const std::string defaults = Write("defaults.txt",
                                     "JobID|JobName|Partition|Account|AllocCPUS|State|ExitCode\n"
                                     "100|train|std|acct|36|COMPLETED|0:0\n");
  const auto b = ParseSacctFile(defaults, {}, "sacct/defaults.txt");
  EXPECT_EQ(Reasons(b.bad_rows, "sacct", "sacct/defaults.txt"), (Counts{{"bad_header", 1}}));
  ASSERT_EQ(b.warnings.size(), 1u);
  EXPECT_NE(b.warnings[0].find("lacks column 'NodeList'"), std::string::npos);
}

TEST_F(TablesTest, SacctOptionalAccountingColumns) {
  fs::create_directories(dir_ / "sacct");
  const std::string path =
      Write("sacct/2021-07.txt",
            "ConsumedEnergyRaw|JobID|User|State|AllocTRES|NodeList|Partition|Start|End|AllocCPUS|Account\n"
            "123456|1|alice|COMPLETED|billing=36,cpu=36,mem=85G,node=1|n1|std|2021-07-01T10:00:00|"
            "2021-07-01T11:00:00|36|csc\n"
            "0|2|bob|COMPLETED|billing=72,cpu=72,gres/gpu:v100=2,gres/gpu=2,mem=170G,node=2|n[1-2]|gpu|"
            "2021-07-01T10:00:00|2021-07-01T11:00:00|72|hpc\n"
            "18446744073709551614|3|carol|COMPLETED|cpu=4,gres/gpu:a100=1,gres/gpu:v100=2,gres/gpumem=40G|n1||"
            "2021-07-01T10:00:00|2021-07-01T11:00:00|4|\n"
            "|4|dan|PENDING||None assigned|std|Unknown|Unknown|0|csc\n"
            "lots|5|eve|COMPLETED|cpu=x|n1|std|2021-07-01T10:00:00|2021-07-01T11:00:00|-3|csc\n"
            "1.5e3|6|eve|COMPLETED|cpu=0,gres/gpu=0|n1|std|2021-07-01T10:00:00|2021-07-01T11:00:00|four|csc\n"
            "-1|7|eve|COMPLETED|billing|n1|std|2021-07-01T10:00:00|2021-07-01T11:00:00||csc\n");
  const auto [jobs, bad_rows, warnings, rows] = ParseSacctFile(path, {}, "sacct/2021-07.txt");
  ASSERT_EQ(jobs.size(), 7u);  // unreadable values keep their rows
  const JobRecord& j1 = jobs[0];
  EXPECT_EQ(j1.user, "alice");
  EXPECT_EQ(j1.account, "csc");
  EXPECT_EQ(j1.partition, "std");
  EXPECT_EQ(j1.alloc_cpus, 36);
  EXPECT_EQ(j1.tres_cpus, 36);
  EXPECT_FALSE(j1.tres_gpus.has_value());
  EXPECT_EQ(j1.consumed_energy_j, 123456.0);
  EXPECT_EQ(j1.file, "sacct/2021-07.txt");
  EXPECT_EQ(j1.line, 2);
  EXPECT_EQ(jobs[1].tres_cpus, 72);
  EXPECT_EQ(jobs[1].tres_gpus, 2);            // untyped and typed both written: the untyped one, not 4
  EXPECT_EQ(jobs[1].consumed_energy_j, 0.0);  // 0 is a value
  EXPECT_EQ(jobs[1].line, 3);
  EXPECT_EQ(jobs[2].tres_gpus, 3);                      // typed only: summed; gpumem is no GPU count
  EXPECT_FALSE(jobs[2].consumed_energy_j.has_value());  // NO_VAL64
  EXPECT_EQ(jobs[2].partition, "");
  EXPECT_EQ(jobs[2].account, "");
  const JobRecord& pending = jobs[3];
  EXPECT_FALSE(pending.alloc_cpus.has_value());  // 0: absent
  EXPECT_FALSE(pending.tres_cpus.has_value());
  EXPECT_FALSE(pending.tres_gpus.has_value());
  EXPECT_FALSE(pending.consumed_energy_j.has_value());  // empty: absent
  EXPECT_FALSE(jobs[4].alloc_cpus.has_value());
  EXPECT_FALSE(jobs[4].tres_cpus.has_value());
  EXPECT_FALSE(jobs[4].consumed_energy_j.has_value());
  EXPECT_FALSE(jobs[5].tres_cpus.has_value());  // cpu=0: absent
  EXPECT_EQ(jobs[5].tres_gpus, 0);
  EXPECT_EQ(jobs[5].consumed_energy_j, 1500.0);
  EXPECT_FALSE(jobs[6].alloc_cpus.has_value());  // empty
  EXPECT_EQ(jobs[6].line, 8);
  EXPECT_EQ(Reasons(bad_rows, "sacct", "sacct/2021-07.txt"),
            (Counts{{"bad_alloc_cpus", 2}, {"bad_alloc_tres", 2}, {"bad_consumed_energy", 2}}));

  // Without the optional columns every field is empty.
  const auto plain = ParseSacctFile(Write("plain.txt",
                                          "JobID|NodeList|Start|End|State\n"
                                          "9|n1|2021-07-01T10:00:00|2021-07-01T11:00:00|COMPLETED\n"),
                                    {});
  ASSERT_EQ(plain.records.size(), 1u);
  EXPECT_EQ(plain.records[0].user, "");
  EXPECT_FALSE(plain.records[0].alloc_cpus.has_value());
  EXPECT_FALSE(plain.records[0].consumed_energy_j.has_value());
  EXPECT_TRUE(plain.bad_rows.empty());
}

TEST(AllocTres, SlurmLayouts) {
  std::optional<std::int64_t> cpus, gpus;
  EXPECT_TRUE(ParseAllocTres("billing=36,cpu=36,mem=85G,node=1,gres/gpu=2", &cpus, &gpus));
  EXPECT_EQ(cpus, 36);
  EXPECT_EQ(gpus, 2);
  EXPECT_TRUE(ParseAllocTres("cpu=8,gres/gpu:v100=2,node=1", &cpus, &gpus));
  EXPECT_EQ(cpus, 8);
  EXPECT_EQ(gpus, 2);
  EXPECT_TRUE(ParseAllocTres("gres/gpu=4,gres/gpu:a100=4,cpu=64", &cpus, &gpus));  // untyped first
  EXPECT_EQ(gpus, 4);
  EXPECT_TRUE(ParseAllocTres("cpu=2,gres/gpuutil=80,gres/gpumem=16G", &cpus, &gpus));
  EXPECT_EQ(cpus, 2);
  EXPECT_FALSE(gpus.has_value());
  EXPECT_TRUE(ParseAllocTres("", &cpus, &gpus));
  EXPECT_FALSE(cpus.has_value());
  EXPECT_FALSE(gpus.has_value());
  EXPECT_TRUE(ParseAllocTres("billing=1,mem=1G", &cpus, &gpus));
  EXPECT_FALSE(cpus.has_value());
  for (const char* bad : {"cpu", "cpu=", "=3", "cpu=3,,node=1", "cpu=-1", "gres/gpu=two", "cpu=3.5"}) {
    cpus = 1;
    gpus = 1;
    EXPECT_FALSE(ParseAllocTres(bad, &cpus, &gpus)) << bad;
    EXPECT_FALSE(cpus.has_value()) << bad;
    EXPECT_FALSE(gpus.has_value()) << bad;
  }
}

TEST_F(TablesTest, SacctEpochAndOtherTimeFormats) {
  // SLURM_TIME_FORMAT=%s: epoch seconds, UTC whatever the zone; and
  // "%Y-%m-%d %H:%M:%S" local like the ISO default.
  const std::string path = Write("times.txt",
                                 "JobID|NodeList|Start|End|State\n"
                                 "1|n1|1625133600|1625137200|COMPLETED\n"
                                 "2|n1|2021-07-01 10:00:00|2021-07-01 11:00:00|COMPLETED\n"
                                 "3|n1|1625133600|Unknown|RUNNING\n"
                                 "4|n1|1625137200|1625133600|COMPLETED\n"
                                 "5|n1|99999999999999999999|1625133600|COMPLETED\n");
  const TimestampPolicy denver{TimeZone::Load("America/Denver"), false};
  const auto [jobs, bad_rows, warnings, rows] = ParseSacctFile(path, denver);
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs[0].start, Utc(2021, 7, 1, 10, 0, 0));
  EXPECT_EQ(*jobs[0].end, Utc(2021, 7, 1, 11, 0, 0));
  EXPECT_EQ(jobs[1].start, Utc(2021, 7, 1, 16, 0, 0));  // MDT
  EXPECT_EQ(*jobs[1].end, Utc(2021, 7, 1, 17, 0, 0));
  EXPECT_EQ(jobs[2].start, Utc(2021, 7, 1, 10, 0, 0));
  EXPECT_FALSE(jobs[2].end.has_value());
  EXPECT_EQ(Reasons(bad_rows, "sacct", path), (Counts{{"bad_time", 1}, {"negative_window", 1}}));
}

const char kRunsHeader[] =
    "run_id,experiment_id,slurm_job_id,start_time,update_time,host_name,size,depth,shape,"
    "dataset,learning_rate,batch_size,optimizer,is_gpu,run_data\n";

TEST_F(TablesTest, RunsGoodAndBadRows) {
  const std::string huge_json(1 << 20, 'j');
  const std::string text = std::string(kRunsHeader) +
                           "r1,e1,100,2021-07-01 16:00:00+00:00,2021-07-01 17:00:00+00:00,r1i0n1,1024,3,rectangle,"
                           "505_tecator,0.001,32,adam,False,\"{\"\"a\"\": 1, \"\"b\"\": [1, 2]}\"\n"
                           "r2,e1,200_4,2021-07-01T16:00:00Z,2021-07-01T16:30:00.250Z,n08,1024.0,3,trapezoid,"
                           "mnist,1e-4,256,adam,true,\"" +
                           huge_json +
                           "\"\n"
                           "\n"
                           "r3,e2,100,2021-02-30 16:00:00+00:00,2021-07-01 17:00:00+00:00,r1i0n1,1024,3,rectangle,"
                           "505_tecator,0.001,32,adam,False,{}\n"
                           "r4,e2,100,2021-07-01 16:00:00+00:00,2021-07-01 17:00:00+00:00,r1i0n1,1024,3,rectangle,"
                           "505_tecator,0.001,32,adam,yes,{}\n"
                           "r5,e2,100,2021-07-01 16:00:00+00:00,2021-07-01 17:00:00+00:00,r1i0n1,big,3,rectangle,"
                           "505_tecator,0.001,32,adam,1,{}\n"
                           "r6,e2,100,2021-07-01 16:00:00+00:00,2021-07-01 15:00:00+00:00,r1i0n1,1024,3,rectangle,"
                           "505_tecator,0.001,32,adam,0,{}\n"
                           "r7,e2,100,2021-07-01 16:00:00+00:00\n"
                           "r8,e3,300+0,2021-07-01 16:00:00,2021-07-01 17:00:00,a001,16,2,rectangle,wine,0.01,"
                           "32,sgd,TRUE,\"{\"\"multi\"\":\n  \"\"line\"\"}\"\r\n"
                           "r9,e3,300+0,2021-07-01 16:00:00+00:00,2021-07-01 17:00:00+00:00,a001,16,2,rectangle,"
                           "wine,nan,32,sgd,TRUE,{}\n";
  const std::string path = Write("runs.csv", text);
  const auto [runs, bad_rows, warnings, rows] = ParseRunsFile(path);
  ASSERT_EQ(runs.size(), 9u);

  const RunRecord& r1 = runs[0];
  EXPECT_EQ(r1.run_id, "r1");
  EXPECT_EQ(r1.experiment_id, "e1");
  EXPECT_EQ(r1.slurm_job_id, "100");
  EXPECT_EQ(r1.start, Utc(2021, 7, 1, 16, 0, 0));
  EXPECT_EQ(r1.update, Utc(2021, 7, 1, 17, 0, 0));
  EXPECT_EQ(r1.host_name, "r1i0n1");
  EXPECT_EQ(r1.size, 1024);
  EXPECT_EQ(r1.depth, 3);
  EXPECT_EQ(r1.shape, "rectangle");
  EXPECT_EQ(r1.dataset, "505_tecator");
  EXPECT_EQ(r1.learning_rate, 0.001);
  EXPECT_EQ(r1.batch_size, 32);
  EXPECT_EQ(r1.optimizer, "adam");
  EXPECT_FALSE(r1.is_gpu);
  EXPECT_TRUE(r1.bad_reason.empty());
  EXPECT_EQ(r1.line, 2);

  EXPECT_TRUE(runs[1].bad_reason.empty());
  EXPECT_EQ(runs[1].slurm_job_id, "200_4");
  EXPECT_EQ(runs[1].size, 1024);
  EXPECT_TRUE(runs[1].is_gpu);
  EXPECT_EQ(runs[1].update, Utc(2021, 7, 1, 16, 30, 0) + 250 * kMicrosPerMilli);
  EXPECT_EQ(runs[1].learning_rate, 1e-4);

  EXPECT_EQ(runs[2].bad_reason, "bad_time");
  EXPECT_EQ(runs[2].run_id, "r3");
  EXPECT_EQ(runs[2].line, 5);  // the blank line 4 is skipped but counted in numbering
  EXPECT_EQ(runs[3].bad_reason, "bad_is_gpu");
  EXPECT_EQ(runs[4].bad_reason, "bad_number");
  EXPECT_EQ(runs[5].bad_reason, "negative_window");
  EXPECT_EQ(runs[6].bad_reason, "field_count");
  EXPECT_EQ(runs[6].run_id, "r7");
  EXPECT_TRUE(runs[7].bad_reason.empty());  // a quoted field over two lines
  EXPECT_EQ(runs[7].slurm_job_id, "300+0");
  EXPECT_EQ(runs[7].start, Utc(2021, 7, 1, 16, 0, 0));  // no offset: UTC
  EXPECT_EQ(runs[8].bad_reason, "bad_number");
  EXPECT_EQ(runs[8].line, 12);  // r8 took lines 10 and 11

  EXPECT_EQ(
      Reasons(bad_rows, "runs", path),
      (Counts{{"bad_is_gpu", 1}, {"bad_number", 2}, {"bad_time", 1}, {"field_count", 1}, {"negative_window", 1}}));
}

TEST_F(TablesTest, RunsMissingColumnAndEmptyFile) {
  EXPECT_THROW(ParseRunsFile(Write("r.csv", "run_id,experiment_id\n1,2\n")), InputError);
  EXPECT_TRUE(ParseRunsFile(Write("e.csv", "")).records.empty());
  EXPECT_TRUE(ParseRunsFile(Write("h.csv", kRunsHeader)).records.empty());
  const auto unterminated =
      ParseRunsFile(Write("u.csv", std::string(kRunsHeader) + "r1,e1,1,2021-01-01 00:00:00,2021-01-01 01:00:00,n1,"
                                                              "1,1,rectangle,d,0.1,1,adam,0,\"{open\n"));
  ASSERT_EQ(unterminated.records.size(), 1u);
  EXPECT_EQ(unterminated.records[0].bad_reason, "field_count");
}

TEST_F(TablesTest, RunsRepeatedRunIdKeepsTheFirst) {
  std::string text = kRunsHeader;
  const auto row = [](const std::string& id, const std::string& host) {
    std::string line = id;
    line += ",e1,1,2021-01-01 00:00:00,2021-01-01 01:00:00,";
    line += host;
    line += ",1,1,rectangle,d,0.1,1,adam,0,{}\n";
    return line;
  };
  text += row("r1", "n1") + row("r2", "n1") + row("r1", "n2") + row("r1", "n3");
  for (const char* id : {"x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11"}) {
    text += row(id, "n1");
    text += row(id, "n2");
  }
  const std::string path = Write("runs.csv", text);
  const auto [runs, bad_rows, warnings, rows] = ParseRunsFile(path);
  ASSERT_EQ(runs.size(), 14u);
  EXPECT_EQ(runs[0].run_id, "r1");
  EXPECT_EQ(runs[0].host_name, "n1");  // the first kept
  EXPECT_EQ(runs[1].run_id, "r2");
  EXPECT_EQ(runs[2].run_id, "x0");
  EXPECT_EQ(Reasons(bad_rows, "runs", path), (Counts{{"duplicate_run_id", 14}}));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find(path + ": 14 rows repeat a run_id"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find(": r1, x0, x1, x2, x3, x4, x5, x6, x7, x8 and 3 more"), std::string::npos) << warnings[0];
}

TEST_F(TablesTest, NodesWithHostlistsAndSignatures) {
  const std::string path = Write("nodes.csv",
                                 "HOSTNAMES,CPUS,MEMORY,TMP_DISK,GRES,PARTITION\n"
                                 "r1i0n[1-2],36,85248,900000,(null),std\n"
                                 "r1i0n1,36,85248,900000,(null),debug\n"
                                 "r1i0n2,36,190000,900000,(null),bigmem\n"
                                 "gpu1,36,85248,900000,gpu:2,gpu\n"
                                 "odd1,8,1000,10,(null),misc\n"
                                 "bad1,x,1,1,(null),p\n"
                                 "n[3-1],36,85248,900000,(null),p\n"
                                 ",36,85248,900000,(null),p\n"
                                 "short,36\n");
  const NodeTypeMatcher matcher = [](const NodeSignature& s) -> std::string {
    if (s.cpus == 36 && s.tmp_disk_mb == 900000 && s.memory_mb == 85248) {
      return s.gres == "(null)" ? "cpu1" : "gpu1";
    }
    return "";
  };
  const auto [nodes, bad_rows, warnings, rows] = ParseNodesFile(path, matcher);
  ASSERT_EQ(nodes.size(), 4u);
  EXPECT_EQ(nodes[0].name, "r1i0n1");
  EXPECT_EQ(nodes[0].node_type, "cpu1");
  EXPECT_EQ(nodes[0].cpus, 36);
  EXPECT_EQ(nodes[0].memory_mb, 85248);
  EXPECT_EQ(nodes[0].tmp_disk_mb, 900000);
  EXPECT_EQ(nodes[0].gres, "(null)");
  EXPECT_EQ(nodes[1].name, "r1i0n2");
  EXPECT_EQ(nodes[1].memory_mb, 85248);  // the first listing wins
  EXPECT_EQ(nodes[2].name, "gpu1");
  EXPECT_EQ(nodes[2].node_type, "gpu1");
  EXPECT_EQ(nodes[2].gres, "gpu:2");
  EXPECT_EQ(nodes[3].name, "odd1");
  EXPECT_EQ(nodes[3].node_type, "");
  EXPECT_EQ(Reasons(bad_rows, "nodes", path),
            (Counts{{"bad_hostlist", 2}, {"bad_number", 1}, {"conflicting_node", 1}, {"field_count", 1}}));

  const auto no_matcher = ParseNodesFile(path, nullptr);
  EXPECT_EQ(no_matcher.records[0].node_type, "");
  EXPECT_THROW(ParseNodesFile(Write("n.csv", "HOSTNAMES,CPUS,MEMORY,GRES\n"), matcher), InputError);
}

TEST_F(TablesTest, Datasets) {
  const std::string path = Write("datasets.csv",
                                 "dataset,n_observations,n_features,n_classes,task,extra\n"
                                 "505_tecator,240,124,,regression,x\n"
                                 "mnist,70000,784,10,classification,x\n"
                                 "wine,178,13,3.0,classification,x\n"
                                 "banana,5300,2,2,classification,x\n"
                                 "mnist,1,1,1,classification,x\n"
                                 "weird,10,10,2,clustering,x\n"
                                 "broken,ten,10,2,classification,x\n"
                                 "nocls,10,10,,classification,x\n");
  const auto [datasets, bad_rows, warnings, rows] = ParseDatasetsFile(path);
  ASSERT_EQ(datasets.size(), 4u);
  EXPECT_EQ(datasets[0].name, "505_tecator");
  EXPECT_EQ(datasets[0].n_observations, 240);
  EXPECT_EQ(datasets[0].n_features, 124);
  EXPECT_EQ(datasets[0].n_classes, 0);
  EXPECT_EQ(datasets[0].n_outputs(), 1);
  EXPECT_EQ(datasets[1].n_outputs(), 10);
  EXPECT_EQ(datasets[2].n_classes, 3);
  EXPECT_EQ(datasets[3].n_outputs(), 1);
  EXPECT_EQ(Reasons(bad_rows, "datasets", path),
            (Counts{{"bad_number", 2}, {"bad_task", 1}, {"duplicate_dataset", 1}}));
}

TEST_F(TablesTest, Losses) {
  const std::string path = Write("losses.csv",
                                 "experiment_id,epoch,test_loss\n"
                                 "e1,1,0.9\n"
                                 "e1,2,0.5\n"
                                 "e1,x,0.5\n"
                                 "e1,3,nan\n"
                                 "e2,1,1e-3\n"
                                 "e2,1\n");
  const auto [losses, bad_rows, warnings, rows] = ParseLossesFile(path);
  ASSERT_EQ(losses.size(), 3u);
  EXPECT_EQ(losses[0].experiment_id, "e1");
  EXPECT_EQ(losses[1].epoch, 2);
  EXPECT_EQ(losses[1].test_loss, 0.5);
  EXPECT_EQ(losses[2].test_loss, 1e-3);
  EXPECT_EQ(Reasons(bad_rows, "losses", path), (Counts{{"bad_number", 2}, {"field_count", 1}}));
}

TEST_F(TablesTest, CarbonIntensityInTimeOrder) {
  const std::string path = Write("carbon_intensity.csv",
                                 "region,g_per_kwh,timestamp\n"
                                 "x,420.5,2021-07-01 01:00:00\n"
                                 "x,400,2021-07-01T00:00:00Z\n"
                                 "x,380,2021-07-01 03:00:00-02:00\n"
                                 "x,390,2021-07-01 01:00:00+00:00\n"
                                 "x,abc,2021-07-01 02:00:00\n"
                                 "x,-5,2021-07-01 02:00:00\n"
                                 "x,nan,2021-07-01 02:00:00\n"
                                 "x,300,yesterday\n"
                                 "x,300\n");
  const auto [values, bad_rows, warnings, rows] = ParseCarbonIntensityFile(path);
  ASSERT_EQ(values.size(), 4u);
  EXPECT_EQ(values[0].time, Utc(2021, 7, 1, 0, 0, 0));
  EXPECT_EQ(values[0].g_per_kwh, 400);
  EXPECT_EQ(values[1].time, Utc(2021, 7, 1, 1, 0, 0));
  EXPECT_EQ(values[1].g_per_kwh, 420.5);  // equal times keep file order
  EXPECT_EQ(values[2].time, Utc(2021, 7, 1, 1, 0, 0));
  EXPECT_EQ(values[2].g_per_kwh, 390);
  EXPECT_EQ(values[3].time, Utc(2021, 7, 1, 5, 0, 0));  // the offset applied
  EXPECT_EQ(values[3].g_per_kwh, 380);
  EXPECT_EQ(Reasons(bad_rows, "carbon_intensity", path),
            (Counts{{"bad_number", 3}, {"bad_time", 1}, {"field_count", 1}}));
  EXPECT_TRUE(warnings.empty());

  try {
    ParseCarbonIntensityFile(Write("c.csv", "time,g_per_kwh\n2021-07-01 00:00:00,1\n"));
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("missing required column 'timestamp'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("c.csv"), std::string::npos);
  }
  EXPECT_TRUE(ParseCarbonIntensityFile(Write("e.csv", "")).records.empty());
}

}  // namespace
}  // namespace wattrun
