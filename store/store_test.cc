// The catalogue's round trip: every field of the small tables written by
// WriteCatalogue comes back from ReadCatalogue, and a store written before
// the accounting columns existed reads with those fields absent.
#include "store/store.h"

#include <fstream>

#include "core/error.h"
#include "tests/test_util.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

namespace wattrun::store {
namespace {
namespace fs = std::filesystem;

class StoreCatalogue : public ::testing::Test {
 protected:
  void SetUp() override { path_ = (dir_ / "store.h5").string(); }
  // Two attempts: one with every accounting field, one with none.
  static Catalogue TwoJobs() {
    Catalogue c;
    JobRecord full;
    full.job_id = "7";
    full.node_list = "n[1-2]";
    full.start = 1000;
    full.end = 5000;
    full.state = "COMPLETED";
    full.user = "alice";
    full.account = "csc";
    full.partition = "gpu";
    full.alloc_cpus = 72;
    full.tres_cpus = 72;
    full.tres_gpus = 4;
    full.consumed_energy_j = 123456.5;
    full.file = "sacct/2021-07.txt";
    full.line = 12;
    JobRecord bare;
    bare.job_id = "8";
    bare.node_list = "None assigned";
    bare.has_start = false;
    bare.state = "PENDING";
    bare.file = "sacct/2021-07.txt";
    bare.line = 13;
    c.jobs = {full, bare};
    c.carbon_intensity = {{1000, 400.0}, {2000, 380.5}};
    c.manifest.push_back({"carbon_intensity.csv", "carbon_intensity", 10, 20, -1});
    return c;
  }

  // Removed after each test, also when it fails.
  testing_util::ScratchDir scratch_{"wattrun_store_test_" + testing_util::CurrentTestName()};
  fs::path dir_ = scratch_.path();
  std::string path_;
};

TEST_F(StoreCatalogue, JobAccountingAndCarbonIntensityRoundTrip) {
  WriteCatalogue(path_, TwoJobs());
  const Catalogue c = ReadCatalogue(path_);
  ASSERT_EQ(c.jobs.size(), 2u);
  const JobRecord& full = c.jobs[0];
  EXPECT_EQ(full.job_id, "7");
  EXPECT_EQ(full.user, "alice");
  EXPECT_EQ(full.account, "csc");
  EXPECT_EQ(full.partition, "gpu");
  EXPECT_EQ(full.alloc_cpus, 72);
  EXPECT_EQ(full.tres_cpus, 72);
  EXPECT_EQ(full.tres_gpus, 4);
  EXPECT_EQ(full.consumed_energy_j, 123456.5);
  EXPECT_EQ(full.file, "sacct/2021-07.txt");
  EXPECT_EQ(full.line, 12);
  EXPECT_EQ(full.end, 5000);
  const JobRecord& bare = c.jobs[1];
  EXPECT_FALSE(bare.has_start);
  EXPECT_FALSE(bare.end.has_value());
  EXPECT_EQ(bare.user, "");
  EXPECT_FALSE(bare.alloc_cpus.has_value());
  EXPECT_FALSE(bare.tres_cpus.has_value());
  EXPECT_FALSE(bare.tres_gpus.has_value());
  EXPECT_FALSE(bare.consumed_energy_j.has_value());
  EXPECT_EQ(bare.line, 13);
  ASSERT_EQ(c.carbon_intensity.size(), 2u);
  EXPECT_EQ(c.carbon_intensity[1].time, 2000);
  EXPECT_EQ(c.carbon_intensity[1].g_per_kwh, 380.5);
  ASSERT_EQ(c.manifest.size(), 1u);
  EXPECT_EQ(c.manifest[0].kind, "carbon_intensity");
}

TEST_F(StoreCatalogue, OlderStoreWithoutTheNewColumnsReadsThemAbsent) {
  WriteCatalogue(path_, TwoJobs());
  {
    h5::File file = h5::File::Open(path_, h5::Mode::kReadWrite);
    for (const char* name : {"user_codes",
                             "user_dictionary",
                             "user_dictionary_offsets",
                             "account_codes",
                             "account_dictionary",
                             "account_dictionary_offsets",
                             "partition_codes",
                             "partition_dictionary",
                             "partition_dictionary_offsets",
                             "alloc_cpus",
                             "has_alloc_cpus",
                             "tres_cpus",
                             "has_tres_cpus",
                             "tres_gpus",
                             "has_tres_gpus",
                             "consumed_energy_j",
                             "has_consumed_energy_j",
                             "file_codes",
                             "file_dictionary",
                             "file_dictionary_offsets",
                             "line"}) {
      ASSERT_GE(H5Ldelete(file.id(), (std::string("tables/jobs/") + name).c_str(), H5P_DEFAULT), 0) << name;
    }
    ASSERT_GE(H5Ldelete(file.id(), "tables/carbon_intensity", H5P_DEFAULT), 0);
    file.Close();
  }
  // Stores from before the seal have none: blank it (an edit like the one
  // above would otherwise be caught as damage, rightly).
  {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.write(std::string(64, '\0').data(), 64);
  }
  const Catalogue c = ReadCatalogue(path_);
  ASSERT_EQ(c.jobs.size(), 2u);
  EXPECT_EQ(c.jobs[0].job_id, "7");
  EXPECT_EQ(c.jobs[0].end, 5000);
  EXPECT_EQ(c.jobs[0].user, "");
  EXPECT_FALSE(c.jobs[0].alloc_cpus.has_value());
  EXPECT_FALSE(c.jobs[0].consumed_energy_j.has_value());
  EXPECT_EQ(c.jobs[0].file, "");
  EXPECT_EQ(c.jobs[0].line, 0);
  EXPECT_TRUE(c.carbon_intensity.empty());
}

// A store of an older wattrun with another version: its seal blanked, as
// such stores had none (the edit would otherwise read as damage).
void SetVersion(const std::string& path, std::int64_t version) {
  {
    h5::File file = h5::File::Open(path, h5::Mode::kReadWrite);
    ASSERT_GE(H5Adelete(file.id(), "wattrun_store_version"), 0);
    h5::SetAttribute(file.id(), "wattrun_store_version", version);
    file.Close();
  }
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.write(std::string(64, '\0').data(), 64);
}

// Version 1 kept ms timestamps: read as µs they would be 1000 times too
// small, so such a store is refused, not read.
TEST_F(StoreCatalogue, AStoreWithMillisecondTimestampsAsksForAReingest) {
  WriteCatalogue(path_, TwoJobs());
  SetVersion(path_, 1);
  try {
    ReadCatalogue(path_);
    ADD_FAILURE() << "a version-1 store was read";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), path_ + ": store made by an older wattrun (ms timestamps): re-ingest");
  }
  SetVersion(path_, kStoreVersion + 1);
  EXPECT_THROW(ReadCatalogue(path_), Error);
  SetVersion(path_, kStoreVersion);
  EXPECT_EQ(ReadCatalogue(path_).jobs.size(), 2u);
  SetVersion(path_, 3);  // before compact batches: still read
  EXPECT_EQ(ReadCatalogue(path_).jobs.size(), 2u);
}

// Version 2 wrote the job table's Symbol columns as one packed text a row
// with 8-byte offsets; such a store reads the same rows.
TEST_F(StoreCatalogue, AVersion2StoreWithATextPerRowReads) {
  Catalogue written = TwoJobs();
  written.jobs.push_back(written.jobs[0]);
  written.jobs.back().job_id = "9";
  WriteCatalogue(path_, written);
  {
    h5::File file = h5::File::Open(path_, h5::Mode::kReadWrite);
    h5::H5Id jobs = h5::OpenGroup(file.id(), "tables/jobs");
    for (const char* name : {"user", "account", "partition", "state", "file"}) {
      const std::string n = name;
      for (const std::string& gone : {n + "_codes", n + "_dictionary", n + "_dictionary_offsets"}) {
        ASSERT_GE(H5Ldelete(jobs.get(), gone.c_str(), H5P_DEFAULT), 0) << gone;
      }
      std::string text;
      std::vector<std::int64_t> offsets{0};
      for (const JobRecord& j : written.jobs) {
        const Symbol JobRecord::*member = n == "user"        ? &JobRecord::user
                                          : n == "account"   ? &JobRecord::account
                                          : n == "partition" ? &JobRecord::partition
                                          : n == "state"     ? &JobRecord::state
                                                             : &JobRecord::file;
        text += (j.*member).str();
        offsets.push_back(static_cast<std::int64_t>(text.size()));
      }
      h5::WriteVector(jobs.get(), n, std::vector<std::uint8_t>(text.begin(), text.end()));
      h5::WriteVector(jobs.get(), n + "_offsets", offsets);
    }
    file.Close();
  }
  SetVersion(path_, 2);
  const Catalogue c = ReadCatalogue(path_);
  ASSERT_EQ(c.jobs.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(c.jobs[i].job_id, written.jobs[i].job_id);
    EXPECT_EQ(c.jobs[i].user, written.jobs[i].user);
    EXPECT_EQ(c.jobs[i].account, written.jobs[i].account);
    EXPECT_EQ(c.jobs[i].partition, written.jobs[i].partition);
    EXPECT_EQ(c.jobs[i].state, written.jobs[i].state);
    EXPECT_EQ(c.jobs[i].file, written.jobs[i].file);
  }
}

// Each distinct text is stored once; a code past the dictionary is damage,
// named, not a crash.
TEST_F(StoreCatalogue, RepeatedJobTextsAreStoredOnceAndABadCodeIsDamage) {
  Catalogue written = TwoJobs();
  for (int i = 0; i < 300; ++i) {
    written.jobs.push_back(written.jobs[i % 2]);
    written.jobs.back().user = "user" + std::to_string(i);  // past a byte's 256 codes
  }
  WriteCatalogue(path_, written);
  {
    h5::File file = h5::File::Open(path_, h5::Mode::kReadOnly);
    h5::H5Id jobs = h5::OpenGroup(file.id(), "tables/jobs");
    EXPECT_EQ(h5::ReadPackedStrings(jobs.get(), "state_dictionary"),
              (std::vector<std::string>{"COMPLETED", "PENDING"}));
    EXPECT_EQ(h5::Length(jobs.get(), "state_codes"), 302);
    EXPECT_EQ(h5::ReadVector<std::uint32_t>(jobs.get(), "user_codes").back(), 301u);  // "alice", "", then 300 more
    const h5::H5Id codes(H5Dopen2(jobs.get(), "user_codes", H5P_DEFAULT));
    const h5::H5Id type(H5Dget_type(codes.get()));
    EXPECT_EQ(H5Tget_size(type.get()), 2u);  // 302 texts: two bytes a row
  }
  const Catalogue c = ReadCatalogue(path_);
  ASSERT_EQ(c.jobs.size(), written.jobs.size());
  for (std::size_t i = 0; i < c.jobs.size(); ++i) {
    EXPECT_EQ(c.jobs[i].user, written.jobs[i].user) << i;
    EXPECT_EQ(c.jobs[i].state, written.jobs[i].state) << i;
  }
  {
    h5::File file = h5::File::Open(path_, h5::Mode::kReadWrite);
    h5::H5Id jobs = h5::OpenGroup(file.id(), "tables/jobs");
    ASSERT_GE(H5Ldelete(jobs.get(), "state_codes", H5P_DEFAULT), 0);
    h5::WriteVector(jobs.get(), "state_codes", std::vector<std::uint8_t>(written.jobs.size(), 7));
    file.Close();
  }
  SetVersion(path_, kStoreVersion);
  try {
    ReadCatalogue(path_);
    ADD_FAILURE() << "a code past the dictionary was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("state_codes holds 7, past its 2 texts"), std::string::npos) << e.what();
  }
}

TEST_F(StoreCatalogue, RunsRoundTripAndAShortColumnIsDamage) {
  Catalogue c = TwoJobs();
  RunRecord gpu;
  gpu.run_id = "r1";
  gpu.is_gpu = true;
  gpu.learning_rate = 0.25;
  RunRecord cpu;
  cpu.run_id = "r2";
  cpu.bad_reason = "bad_time";
  c.runs = {gpu, cpu};
  WriteCatalogue(path_, c);
  const Catalogue back = ReadCatalogue(path_);
  ASSERT_EQ(back.runs.size(), 2u);
  EXPECT_TRUE(back.runs[0].is_gpu);
  EXPECT_FALSE(back.runs[1].is_gpu);
  EXPECT_EQ(back.runs[0].learning_rate, 0.25);
  EXPECT_EQ(back.runs[1].bad_reason, "bad_time");
  {
    h5::File file = h5::File::Open(path_, h5::Mode::kReadWrite);
    ASSERT_GE(H5Ldelete(file.id(), "tables/runs/is_gpu", H5P_DEFAULT), 0);
    h5::H5Id runs = h5::OpenGroup(file.id(), "tables/runs");
    h5::WriteVector(runs.get(), "is_gpu", std::vector<std::uint8_t>{1});
    runs.Close();
    file.Close();
  }
  {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.write(std::string(64, '\0').data(), 64);  // no seal, as in stores written before it
  }
  try {
    ReadCatalogue(path_);
    ADD_FAILURE() << "a column of 1 row in a table of 2 was read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("differ in length"), std::string::npos) << e.what();
  }
}

TEST_F(StoreCatalogue, ADamagedCatalogueIsAClearErrorNotACrash) {
  WriteCatalogue(path_, TwoJobs());
  EXPECT_EQ(ReadCatalogue(path_).jobs.size(), 2u);
  const auto size = static_cast<std::streamoff>(std::filesystem::file_size(path_));
  for (std::streamoff at : {size / 3, size / 2, size - 10}) {
    WriteCatalogue(path_, TwoJobs());
    {
      std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(at);
      f.write("\xff\x00\x13", 3);
    }
    try {
      ReadCatalogue(path_);
      ADD_FAILURE() << "damage at byte " << at << " not seen";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("damaged"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path_), std::string::npos) << e.what();
    }
  }
}

// A config with these zones, as ParseConfig would leave it.
Config WithZones(const std::string& telemetry, const std::string& scheduler, const std::string& path) {
  Config config;
  config.source_path = path;
  config.yaml_text = "facility:\n  name: test\n";
  config.facility.telemetry.timezone = telemetry;
  config.facility.scheduler.timezone = scheduler;
  return config;
}

// The message of CheckZones, or "" when it passes.
std::string ZoneProblem(const Catalogue& c, const Config& config, const std::string& store) {
  try {
    CheckZones(c, config, store);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST_F(StoreCatalogue, RecordsTheIngestConfigAndChecksItsZones) {
  Catalogue written = TwoJobs();
  written.ingested_config = IngestedConfig::Of(WithZones("America/Denver", "America/Denver", "eagle.yaml"));
  WriteCatalogue(path_, written);
  const Catalogue c = ReadCatalogue(path_);
  EXPECT_EQ(c.ingested_config.source_path, "eagle.yaml");
  EXPECT_EQ(c.ingested_config.yaml_text, "facility:\n  name: test\n");
  EXPECT_EQ(c.ingested_config.telemetry_timezone, "America/Denver");
  EXPECT_EQ(c.ingested_config.scheduler_timezone, "America/Denver");

  EXPECT_EQ(ZoneProblem(c, WithZones("America/Denver", "America/Denver", "other.yaml"), "s.h5"), "");
  const std::string one = ZoneProblem(c, WithZones("America/Denver", "UTC", "utc.yaml"), "s.h5");
  EXPECT_EQ(one.rfind("facility.scheduler.timezone: store s.h5 was ingested with 'America/Denver' (from eagle.yaml), "
                      "config utc.yaml says 'UTC'\n",
                      0),
            0u)
      << one;
  EXPECT_EQ(one.find("facility.telemetry.timezone"), std::string::npos) << one;
  const std::string both = ZoneProblem(c, WithZones("UTC", "Europe/Berlin", "utc.yaml"), "s.h5");
  EXPECT_NE(both.find("facility.telemetry.timezone: store s.h5 was ingested with 'America/Denver'"), std::string::npos)
      << both;
  EXPECT_NE(both.find("facility.scheduler.timezone: store s.h5 was ingested with 'America/Denver' (from eagle.yaml), "
                      "config utc.yaml says 'Europe/Berlin'"),
            std::string::npos)
      << both;
}

TEST_F(StoreCatalogue, RecordsTheTelemetryKindAndRefusesAnother) {
  Config counters = WithZones("UTC", "UTC", "counters.yaml");
  counters.facility.telemetry_format.kind = TelemetryKind::kEnergyCounter;
  Catalogue written = TwoJobs();
  written.ingested_config = IngestedConfig::Of(counters);
  WriteCatalogue(path_, written);
  const Catalogue c = ReadCatalogue(path_);
  EXPECT_EQ(c.ingested_config.telemetry_kind, "energy_counter");
  EXPECT_EQ(ZoneProblem(c, counters, "s.h5"), "");
  const std::string power = ZoneProblem(c, WithZones("UTC", "UTC", "power.yaml"), "s.h5");
  EXPECT_EQ(power.rfind("facility.telemetry.kind: store s.h5 was ingested with 'energy_counter' (from counters.yaml), "
                        "config power.yaml says 'power'\n",
                        0),
            0u)
      << power;
  // A store written before the kind was recorded holds power readings.
  Catalogue older = TwoJobs();
  older.ingested_config = IngestedConfig::Of(WithZones("UTC", "UTC", "old.yaml"));
  older.ingested_config.telemetry_kind.clear();
  WriteCatalogue(path_, older);
  const Catalogue o = ReadCatalogue(path_);
  EXPECT_EQ(o.ingested_config.telemetry_kind, "");
  EXPECT_EQ(ZoneProblem(o, WithZones("UTC", "UTC", "power.yaml"), "s.h5"), "");
  EXPECT_NE(ZoneProblem(o, counters, "s.h5").find("ingested with 'power'"), std::string::npos);
}

TEST_F(StoreCatalogue, AStoreThatRecordedNoConfigPassesTheZoneCheck) {
  WriteCatalogue(path_, TwoJobs());
  const Catalogue c = ReadCatalogue(path_);
  EXPECT_TRUE(c.ingested_config.empty());
  EXPECT_EQ(ZoneProblem(c, WithZones("UTC", "Asia/Tokyo", "any.yaml"), path_), "");
}

}  // namespace
}  // namespace wattrun::store
