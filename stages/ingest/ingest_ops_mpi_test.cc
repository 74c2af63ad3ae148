// Ingest under operations (issue 14), under mpiexec -n 2: odd entries in
// telemetry/ (link loops, dangling links, directory loops, upper-case
// names), a store fed another facility, rewritten files, node inventory
// problems named on the console.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "core/config.h"
#include "core/error.h"
#include "core/mpi.h"
#include "stages/ingest/ingest.h"
#include "stages/ingest/test_facility.h"
#include "store/store.h"

namespace wattrun::ingest {
namespace {
namespace fs = std::filesystem;

const char* kConfig = R"yaml(
facility:
  name: t
  hardware_classes:
    cpu:
      reference_type: cpu1
      memory_levels: [{level: 1, bytes_per_unit: 32KiB, units: 36}]
  node_types:
    - {name: cpu1, hardware_class: cpu, signature: {cpus: 36, memory_mb: 85248, tmp_disk_mb: 900000, gres: "(null)"}}
)yaml";

// The file writers the ingest tests share (stages/ingest/test_facility.h).
using testing::WriteGzip;
using testing::WriteText;

// Telemetry of n1 and n2, minute by minute from 00:00Z, at `watts`.
std::string Telemetry(int minutes, int watts) {
  std::string t = "timestamp,node,watts\n";
  for (int m = 0; m < minutes; ++m) {
    char line[80];
    std::snprintf(line, sizeof line, "2021-11-07 %02d:%02d:00Z,n%d,%d\n", m / 60, m % 60, 1 + m % 2, watts);
    t += line;
  }
  return t;
}

void WriteFacility(const fs::path& dir, int watts) {
  WriteText(dir / "nodes.csv",
            "HOSTNAMES,CPUS,MEMORY,TMP_DISK,GRES\nn1,36,85248,900000,(null)\nn2,36,85248,900000,(null)\n");
  WriteText(dir / "datasets.csv", "dataset,n_observations,n_features,n_classes,task\nwine,100,11,7,classification\n");
  WriteText(
      dir / "runs.csv",
      "run_id,experiment_id,slurm_job_id,start_time,update_time,host_name,size,depth,shape,dataset,"
      "learning_rate,batch_size,optimizer,is_gpu\n"
      "r1,e1,7,2021-11-07 00:00:00+00:00,2021-11-07 01:00:00+00:00,n1,1024,3,rectangle,wine,0.001,256,adam,False\n");
  WriteText(dir / "sacct" / "2021-11.txt",
            "JobID|NodeList|Start|End|State\n7|n[1-2]|2021-11-07T00:00:00|2021-11-07T03:00:00|COMPLETED\n");
  WriteText(dir / "telemetry" / "a.csv", Telemetry(40, watts));
}

bool Has(const std::vector<std::string>& warnings, const std::string& text) {
  for (const auto& w : warnings) {
    if (w.find(text) != std::string::npos) return true;
  }
  return false;
}

std::string Joined(const std::vector<std::string>& warnings) {
  std::string out;
  for (const auto& w : warnings) out += "\n  " + w;
  return out;
}

class IngestOps : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir;
    if (comm_.comm().is_root()) {
      dir = (fs::temp_directory_path() / ("wattrun_ingest_ops_" + std::to_string(::getpid()))).string();
      fs::remove_all(dir);
      fs::create_directories(dir);
    }
    root_ = comm_.comm().BroadcastString(dir);
    config_ = ParseConfig(kConfig, "test.yaml");
  }
  void TearDown() override {
    comm_.comm().Barrier();
    if (comm_.comm().is_root()) fs::remove_all(root_);
  }
  // Runs f on rank 0 only, then waits for it on every rank.
  template <typename F>
  void OnRoot(F&& f) {
    if (comm_.comm().is_root()) f();
    comm_.comm().Barrier();
  }
  IngestOptions Options(const std::string& facility, const std::string& store) {
    IngestOptions o;
    o.input_dir = root_ + "/" + facility;
    o.store_path = root_ + "/" + store;
    o.verbose = false;
    return o;
  }
  OwnedComm comm_;
  std::string root_;
  Config config_;
};

TEST_F(IngestOps, OddTelemetryEntriesAreSkippedNamedAndCounted) {
  OnRoot([&] {
    const fs::path f = fs::path(root_) / "f";
    WriteFacility(f, 100);
    const fs::path t = f / "telemetry";
    fs::create_symlink("loop2.csv", t / "loop1.csv");
    fs::create_symlink("loop1.csv", t / "loop2.csv");
    fs::create_symlink("nothere.csv", t / "dangling.csv");
    fs::create_directories(t / "sub");
    fs::create_symlink("..", t / "sub" / "up");
    WriteText(t / "UPPER.CSV", "timestamp,node,watts\n2021-11-07 05:00:00Z,n1,300\n");
    WriteGzip(t / "zipped.Csv.GZ", "timestamp,node,watts\n2021-11-07 06:00:00Z,n2,400\n");
  });
  const IngestSummary s = Ingest(config_, Options("f", "s.h5"), comm_.comm());
  if (!comm_.comm().is_root()) return;
  EXPECT_EQ(s.telemetry_files_new, 3);  // a.csv, UPPER.CSV, zipped.Csv.GZ
  EXPECT_EQ(s.rows_stored, 42);
  for (const std::string p :
       {"telemetry/loop1.csv: skipped (symbolic link loop)", "telemetry/loop2.csv: skipped (symbolic link loop)",
        "telemetry/dangling.csv: skipped (dangling symbolic link", "telemetry/sub/up: skipped (directory loop"}) {
    EXPECT_TRUE(Has(s.warnings, p)) << p << Joined(s.warnings);
  }
  const store::Catalogue c = store::ReadCatalogue(root_ + "/s.h5");
  std::vector<std::string> counted;
  for (const auto& q : c.quality) {
    if (q.reason == "unreadable_link" && q.stage == "telemetry" && q.count == 1) counted.push_back(q.file);
  }
  std::sort(counted.begin(), counted.end());
  EXPECT_EQ(counted, (std::vector<std::string>{"telemetry/dangling.csv", "telemetry/loop1.csv", "telemetry/loop2.csv",
                                               "telemetry/sub/up"}));
}

TEST_F(IngestOps, AnotherFacilityIsRefusedUnlessAllowed) {
  OnRoot([&] {
    WriteFacility(fs::path(root_) / "a", 100);
    WriteFacility(fs::path(root_) / "b", 2500);  // same file names, other readings
    fs::copy(fs::path(root_) / "a", fs::path(root_) / "moved", fs::copy_options::recursive);
  });
  Ingest(config_, Options("a", "s.h5"), comm_.comm());
  try {
    Ingest(config_, Options("b", "s.h5"), comm_.comm());
    FAIL() << "another facility was merged";
  } catch (const CollectiveError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(root_ + "/a"), std::string::npos) << what;
    EXPECT_NE(what.find(root_ + "/b is another facility"), std::string::npos) << what;
    EXPECT_NE(what.find("--allow-other-input"), std::string::npos) << what;
  }
  // The same facility moved elsewhere is accepted, with a note.
  const IngestSummary moved = Ingest(config_, Options("moved", "s.h5"), comm_.comm());
  if (comm_.comm().is_root()) {
    EXPECT_TRUE(Has(moved.warnings, "the same facility")) << Joined(moved.warnings);
  }
  IngestOptions allow = Options("b", "s.h5");
  allow.allow_other_input = true;
  const IngestSummary s = Ingest(config_, allow, comm_.comm());
  if (!comm_.comm().is_root()) return;
  EXPECT_TRUE(Has(s.warnings, "ingested anyway (--allow-other-input)")) << Joined(s.warnings);
  EXPECT_TRUE(Has(s.warnings, "40 of the 40 new telemetry rows conflict with readings already in the store"))
      << Joined(s.warnings);
  const store::Catalogue c = store::ReadCatalogue(root_ + "/s.h5");
  EXPECT_EQ(c.fingerprint.input_root, root_ + "/a");  // the first facility stays recorded
  EXPECT_EQ(c.fingerprint.first_telemetry_file, "telemetry/a.csv");
}

TEST_F(IngestOps, RewrittenAndShrunkFilesAreWarned) {
  OnRoot([&] { WriteFacility(fs::path(root_) / "f", 100); });
  Ingest(config_, Options("f", "s.h5"), comm_.comm());
  OnRoot([&] {
    WriteText(fs::path(root_) / "f" / "telemetry" / "a.csv", Telemetry(20, 100));
    WriteText(fs::path(root_) / "f" / "telemetry" / "b.csv", Telemetry(2, 100));
  });
  const IngestSummary s = Ingest(config_, Options("f", "s.h5"), comm_.comm());
  if (!comm_.comm().is_root()) return;
  EXPECT_TRUE(Has(s.warnings, "telemetry/a.csv: shrank since it was ingested")) << Joined(s.warnings);
  EXPECT_FALSE(Has(s.warnings, "telemetry/b.csv")) << Joined(s.warnings);  // new, not rewritten
}

TEST_F(IngestOps, NodeInventoryProblemsAreNamed) {
  OnRoot([&] {
    WriteFacility(fs::path(root_) / "f", 100);
    WriteText(fs::path(root_) / "f" / "nodes.csv",
              "HOSTNAMES,CPUS,MEMORY,TMP_DISK,GRES\nn1,36,85248,900000,(null)\nn2,36,85248,900000,(null)\n"
              "odd,8,1000,0,(null)\nn1,72,85248,900000,(null)\n");
  });
  const IngestSummary s = Ingest(config_, Options("f", "s.h5"), comm_.comm());
  if (!comm_.comm().is_root()) return;
  EXPECT_TRUE(Has(s.warnings, "nodes.csv: 1 node(s) match no node type of the config")) << Joined(s.warnings);
  EXPECT_TRUE(Has(s.warnings, "odd (cpus 8, memory 1000 MB")) << Joined(s.warnings);
  EXPECT_TRUE(Has(s.warnings, "nodes.csv: 1 node(s) listed with two types: n1 as cpu1 and as no type (line 5"))
      << Joined(s.warnings);
}

}  // namespace
}  // namespace wattrun::ingest
