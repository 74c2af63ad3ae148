// For tests that need a facility directory on disk (the ingest's, the
// pipeline's): file writers and a one-node facility in UTC whose pieces a
// test replaces to plant the bad input it is about.
#pragma once

#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/time.h"

namespace wattrun::testing {

inline void WriteText(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

inline void WriteGzip(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  gzFile out = gzopen(path.c_str(), "wb");
  gzwrite(out, text.data(), static_cast<unsigned>(text.size()));
  gzclose(out);
}

// One cpu type (signature 36, 85248, 900000, (null)), everything in UTC.
inline const char* kTinyFacilityConfig = R"yaml(
facility:
  name: tiny
  hardware_classes:
    cpu:
      reference_type: cpu1
      memory_levels: [{level: 1, bytes_per_unit: 32KiB, units: 36}, {level: 2, bytes_per_unit: 64GiB, units: 1}]
  node_types:
    - {name: cpu1, hardware_class: cpu, signature: {cpus: 36, memory_mb: 85248, tmp_disk_mb: 900000, gres: "(null)"}}
)yaml";

// 2021-07-01 00:00:00 UTC, where the tiny facility's day starts.
inline constexpr TimeUs kTinyDay = 18809 * kMicrosPerDay;

inline const char* kRunsHeader =
    "run_id,experiment_id,slurm_job_id,start_time,update_time,host_name,size,depth,shape,dataset,"
    "learning_rate,batch_size,optimizer,is_gpu\n";

// A run of job 7 on n1 on the tiny day, from `from` to `to` ("HH:MM").
inline std::string TinyRun(const std::string& id, const std::string& from, const std::string& to,
                           const std::string& dataset) {
  return id + ",e" + id + ",7,2021-07-01 " + from + ":00+00:00,2021-07-01 " + to + ":00+00:00,n1,1024,3,rectangle," +
         dataset + ",0.001,256,adam,False\n";
}

// `minutes` readings of n1, one a minute from the start of the tiny day,
// watts 300 + (minute mod 7).
inline std::string TinyReadings(int minutes) {
  std::string text = "timestamp,node,watts\n";
  for (int m = 0; m < minutes; ++m) {
    char line[64];
    std::snprintf(line, sizeof line, "2021-07-01 %02d:%02d:00Z,n1,%d\n", m / 60, m % 60, 300 + m % 7);
    text += line;
  }
  return text;
}

// nodes.csv (n1), datasets.csv (wine), sacct (job 7 on n1, 00:00-23:00),
// runs.csv with `runs` (TinyRun lines) and no telemetry: the test adds it.
inline void WriteTinyFacility(const std::filesystem::path& dir, const std::string& runs) {
  WriteText(dir / "nodes.csv", "HOSTNAMES,CPUS,MEMORY,TMP_DISK,GRES\nn1,36,85248,900000,(null)\n");
  WriteText(dir / "datasets.csv", "dataset,n_observations,n_features,n_classes,task\nwine,178,13,3,classification\n");
  WriteText(dir / "sacct" / "2021-07.txt",
            "JobID|NodeList|Start|End|State\n7|n1|2021-07-01T00:00:00|2021-07-01T23:00:00|COMPLETED\n");
  WriteText(dir / "runs.csv", kRunsHeader + runs);
}

}  // namespace wattrun::testing
