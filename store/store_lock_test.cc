// The store's write lock: one holder, the holder named to the second
// writer, stale locks (dead pid on this host, too old) taken over, a live
// one never; waiting; and a batch verified before the catalogue names it.
#include "store/store_lock.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/error.h"
#include "core/h5.h"
#include "store/store.h"

namespace wattrun::store {
namespace {
namespace fs = std::filesystem;

class StoreLockTest : public ::testing::Test {
 protected:
  StoreLockTest() : dir_(fs::temp_directory_path() / ("wattrun_lock_" + UniqueWriterTag())) {
    fs::create_directories(dir_);
    store_ = (dir_ / "s.h5").string();
  }
  ~StoreLockTest() override { fs::remove_all(dir_); }
  void WriteLock(const std::string& host, std::int64_t pid, std::int64_t start_unix) {
    std::ofstream(LockPath(store_)) << "host=" << host << "\npid=" << pid
                                    << "\nslurm_job_id=42\nstart_unix=" << start_unix << "\ntoken=theirs\n";
  }
  static std::int64_t Now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  static std::string Host() {
    char name[256] = {0};
    ::gethostname(name, sizeof name - 1);
    return name;
  }
  fs::path dir_;
  std::string store_;
  std::vector<std::string> notes_;
};

TEST_F(StoreLockTest, SecondWriterFailsNamingTheHolder) {
  StoreLock first = StoreLock::Acquire(store_, 0, &notes_);
  LockOwner owner;
  ASSERT_TRUE(ReadLockOwner(LockPath(store_), &owner));
  EXPECT_EQ(owner.pid, ::getpid());
  EXPECT_EQ(owner.host, Host());
  try {
    StoreLock second = StoreLock::Acquire(store_, 0, &notes_);
    FAIL() << "a second writer got the lock";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pid " + std::to_string(::getpid()) + " on host " + Host()), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("--wait"), std::string::npos) << e.what();
  }
  first.Release();
  EXPECT_FALSE(fs::exists(LockPath(store_)));
  StoreLock third = StoreLock::Acquire(store_, 0, &notes_);
  EXPECT_TRUE(third.held());
  EXPECT_TRUE(notes_.empty());
}

TEST_F(StoreLockTest, WaitsForTheHolderToFinish) {
  StoreLock first = StoreLock::Acquire(store_, 0, &notes_);
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    first.Release();
  });
  const auto t0 = std::chrono::steady_clock::now();
  StoreLock second = StoreLock::Acquire(store_, 10, &notes_);
  releaser.join();
  EXPECT_TRUE(second.held());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(250));
}

TEST_F(StoreLockTest, DeadOwnerOnThisHostIsTakenOver) {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);  // a pid that no longer exists
  WriteLock(Host(), child, Now());
  StoreLock lock = StoreLock::Acquire(store_, 0, &notes_);
  ASSERT_EQ(notes_.size(), 1u);
  EXPECT_NE(notes_[0].find("took over a stale write lock"), std::string::npos) << notes_[0];
  EXPECT_NE(notes_[0].find("pid " + std::to_string(child)), std::string::npos) << notes_[0];
  LockOwner owner;
  ASSERT_TRUE(ReadLockOwner(LockPath(store_), &owner));
  EXPECT_EQ(owner.pid, ::getpid());
}

TEST_F(StoreLockTest, KilledOwnerNotYetReapedIsTakenOver) {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // a zombie: exited, not waited for
  WriteLock(Host(), child, Now());
  StoreLock lock = StoreLock::Acquire(store_, 0, &notes_);
  EXPECT_EQ(notes_.size(), 1u);
  ::waitpid(child, nullptr, 0);
}

TEST_F(StoreLockTest, LiveOwnerElsewhereIsKeptUntilTooOld) {
  WriteLock("another-host", 1, Now() - 3600);  // an hour old: may be running
  EXPECT_THROW(StoreLock::Acquire(store_, 0, &notes_), Error);
  LockOwner owner;
  ASSERT_TRUE(ReadLockOwner(LockPath(store_), &owner));
  EXPECT_EQ(owner.token, "theirs");  // untouched
  WriteLock("another-host", 1, Now() - static_cast<std::int64_t>(kStaleLockHours * 3600) - 60);
  StoreLock lock = StoreLock::Acquire(store_, 0, &notes_);
  ASSERT_EQ(notes_.size(), 1u);
  EXPECT_NE(notes_[0].find("older than 24 hours"), std::string::npos) << notes_[0];
}

TEST_F(StoreLockTest, LiveOwnerOnThisHostIsKept) {
  WriteLock(Host(), ::getppid(), Now());
  EXPECT_THROW(StoreLock::Acquire(store_, 0.3, &notes_), Error);
  EXPECT_TRUE(notes_.empty());
}

TEST_F(StoreLockTest, ReleaseLeavesAnotherOwnersLock) {
  StoreLock lock = StoreLock::Acquire(store_, 0, &notes_);
  WriteLock("another-host", 1, Now());  // someone broke ours and holds it now
  lock.Release();
  EXPECT_TRUE(fs::exists(LockPath(store_)));
}

TEST_F(StoreLockTest, UniqueTagsDiffer) { EXPECT_NE(UniqueWriterTag(), UniqueWriterTag()); }

TEST_F(StoreLockTest, VerifyBatchRefusesAnIncompleteBatch) {
  const std::string path = (dir_ / "batch_000001.h5").string();
  {
    h5::File f = h5::File::Open(path, h5::Mode::kCreate);
    h5::WriteStrings(f.id(), "node_names", {"a", "b"});
    h5::WriteVector<std::int64_t>(f.id(), "node_offset", {0, 2, 3});
    h5::WriteVector<std::int64_t>(f.id(), "time", {1, 2, 3});
    h5::WriteVector<double>(f.id(), "watts", {1, 2});  // one reading short
  }
  try {
    VerifyBatch(path, {"a", "b"}, {0, 2, 3});
    FAIL() << "a short watts column passed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("batch_000001.h5"), std::string::npos) << e.what();
  }
  EXPECT_THROW(VerifyBatch(path, {"a", "c"}, {0, 2, 3}), Error);
}

TEST_F(StoreLockTest, VerifyBatchAcceptsACompleteBatch) {
  const std::string path = (dir_ / "batch_000002.h5").string();
  {
    h5::File f = h5::File::Open(path, h5::Mode::kCreate);
    h5::WriteStrings(f.id(), "node_names", {"a", "b"});
    h5::WriteVector<std::int64_t>(f.id(), "node_offset", {0, 2, 3});
    h5::WriteVector<std::int64_t>(f.id(), "time", {1, 2, 3});
    h5::WriteVector<double>(f.id(), "watts", {1, 2, 3});
  }
  EXPECT_NO_THROW(VerifyBatch(path, {"a", "b"}, {0, 2, 3}));
  EXPECT_THROW(VerifyBatch((dir_ / "missing.h5").string(), {}, {0}), Error);
}

}  // namespace
}  // namespace wattrun::store
