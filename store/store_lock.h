// The store's write lock: one writer (ingest) at a time, readers never
// blocked (they read the catalogue, which is replaced by an atomic rename).
//
// The lock is the file STORE.h5.lock, made to appear atomically with its
// full contents: the owner is written to a file of a unique name, which is
// then hard-linked to STORE.h5.lock (link(2) is atomic on NFS, Lustre and
// local file systems, and needs no flock support; where hard links are not
// supported, open(O_CREAT|O_EXCL) is used). The file holds the owner's host,
// pid, SLURM_JOB_ID, start time and a unique token.
//
// A lock is stale, and is taken over with a note saying so, when
//  - its owner ran on this host and its pid no longer exists, or
//  - it is older than kStaleLockHours (an owner on another host cannot be
//    checked; no ingest holds a store that long).
// Otherwise a second writer waits up to `wait_seconds` (0: fails at once)
// and then fails with a message naming the holder and the lock file.
// Taking over a stale lock is guarded by STORE.h5.lock.break (same atomic
// creation), so two writers that both find the lock stale cannot both win.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wattrun::store {

constexpr double kStaleLockHours = 24;

struct LockOwner {
  std::string host;
  std::int64_t pid = 0;
  std::string slurm_job_id;     // empty outside Slurm
  std::int64_t start_unix = 0;  // seconds since the epoch
  std::string token;            // unique per holder

  std::string Describe() const;  // "pid 123 on host h (Slurm job 9), since 2024-05-01 10:00:00 UTC"
};

// Unique per writer process and call: host, pid and random bits, usable in
// file names ("h1.1234.9f3a01c2").
std::string UniqueWriterTag();

std::string LockPath(const std::string& store_path);

// The lock's owner; false if there is no readable lock.
bool ReadLockOwner(const std::string& lock_path, LockOwner* owner);

class StoreLock {
 public:
  StoreLock() = default;
  // Takes the write lock of store_path, waiting up to wait_seconds. Notes
  // (a stale lock taken over) are appended to *notes. Throws wattrun::Error
  // naming the holder when the lock cannot be had.
  static StoreLock Acquire(const std::string& store_path, double wait_seconds, std::vector<std::string>* notes);
  ~StoreLock();
  StoreLock(StoreLock&& other) noexcept;
  StoreLock& operator=(StoreLock&& other) noexcept;
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;

  bool held() const { return !path_.empty(); }
  // Removes the lock if this process still owns it (checked by token).
  void Release();

 private:
  std::string path_;
  std::string token_;
};

}  // namespace wattrun::store
