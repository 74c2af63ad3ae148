// Progress lines for long stages (generate, ingest, the telemetry pass):
// rank 0 prints one line to stderr at least every `interval_s` while a
// stage runs and one at its end, so that a user following `tail -f` of a
// Slurm output file sees the job move. The stages only count work done
// (Add, an atomic add: cheap in hot loops); a ticker thread does the
// printing, so a line comes even while a stage is inside one long call.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

namespace wattrun {

// Sets stdout and stderr line-buffered: under srun stdout is a pipe or a
// file and would otherwise be block-buffered until the end.
void MakeOutputLineBuffered();

struct ProgressOptions {
  bool enabled = true;   // false: --quiet
  bool verbose = false;  // every rank prints its own lines ("rank N: ...")
  double interval_s = 30;
  std::FILE* out = stderr;
};

// What a stage counts, for the number format of its lines.
enum class ProgressUnit { kBytes, kItems };

class Progress {
 public:
  Progress(int rank, int ranks, ProgressOptions options);
  ~Progress();  // ends a running stage silently
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Starts a stage of `local_total` units of work on this rank
  // (`noun` names them: "bytes", "nodes", "units"). `global_total` is the
  // work of all ranks, shown beside rank 0's share when there are several.
  void Begin(const std::string& stage, std::int64_t local_total, std::int64_t global_total, const std::string& noun,
             ProgressUnit unit = ProgressUnit::kItems);
  void Add(std::int64_t done) { done_.fetch_add(done, std::memory_order_relaxed); }
  // Prints the end line ("stage: done, ... in S s").
  void End();

  bool prints() const { return prints_; }
  // The line that would be printed now (for tests).
  std::string Line(bool final_line) const;

 private:
  void Tick();
  std::string LineLocked(bool final_line) const;  // mutex_ held
  const int rank_;
  const int ranks_;
  const ProgressOptions options_;
  const bool prints_;  // this rank prints
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::string stage_, noun_;
  ProgressUnit unit_ = ProgressUnit::kItems;
  std::int64_t local_total_ = 0, global_total_ = 0;
  std::atomic<std::int64_t> done_{0};
  double started_s_ = 0;
  bool running_ = false;
  bool stop_ = false;
  std::thread ticker_;
};

// Formats for progress and summaries: "1.2 GB", "1,234,567", "2 min 5 s".
std::string FormatBytes(double bytes);
std::string FormatCount(std::int64_t n);
std::string FormatDuration(double seconds);

// The caller's progress reporter or null (no lines): `if (p) p->Add(n)` spelled once.
inline void AddProgress(Progress* p, std::int64_t done) {
  if (p) p->Add(done);
}

}  // namespace wattrun
