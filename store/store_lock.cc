#include "store/store_lock.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "core/error.h"

namespace wattrun::store {
namespace {

std::string HostName() {
  char name[256] = {0};
  if (::gethostname(name, sizeof name - 1) != 0) return "unknown-host";
  return name;
}

std::int64_t NowUnix() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string FormatUtc(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string Serialize(const LockOwner& o) {
  return "host=" + o.host + "\npid=" + std::to_string(o.pid) + "\nslurm_job_id=" + o.slurm_job_id +
         "\nstart_unix=" + std::to_string(o.start_unix) + "\ntoken=" + o.token + "\n";
}

LockOwner Me(const std::string& token) {
  LockOwner o;
  o.host = HostName();
  o.pid = ::getpid();
  if (const char* job = std::getenv("SLURM_JOB_ID")) o.slurm_job_id = job;
  o.start_unix = NowUnix();
  o.token = token;
  return o;
}

void WriteWhole(int fd, const std::string& path, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(path + ": write failed: " + std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  ::fsync(fd);
}

// Creates `path` holding `text` atomically; false if it exists already.
// Written under a unique name and hard-linked into place, so the file is
// never seen half-written; on NFS a link whose reply was lost is confirmed
// by the link count of the unique file.
bool CreateExclusively(const std::string& path, const std::string& text) {
  const std::string unique = path + "." + UniqueWriterTag();
  const int fd = ::open(unique.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(unique + ": cannot create the store's lock: " + std::strerror(errno));
  try {
    WriteWhole(fd, unique, text);
  } catch (...) {
    ::close(fd);
    ::unlink(unique.c_str());
    throw;
  }
  ::close(fd);
  const int rc = ::link(unique.c_str(), path.c_str());
  const int link_errno = errno;
  struct stat st {};
  const bool linked = rc == 0 || (::stat(unique.c_str(), &st) == 0 && st.st_nlink == 2);
  ::unlink(unique.c_str());
  if (linked) return true;
  if (link_errno == EEXIST) return false;
  if (link_errno != EPERM && link_errno != ENOTSUP && link_errno != ENOSYS) {
    throw Error(path + ": cannot create the store's lock: " + std::strerror(link_errno));
  }
  // No hard links here: exclusive create (the file may be seen empty for a moment).
  const int ex = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (ex < 0) {
    if (errno == EEXIST) return false;
    throw Error(path + ": cannot create the store's lock: " + std::strerror(errno));
  }
  WriteWhole(ex, path, text);
  ::close(ex);
  return true;
}

// A zombie (killed, not yet reaped by its parent) counts as dead.
bool PidAlive(std::int64_t pid) {
  if (pid <= 0) return false;
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  std::getline(stat, text);
  const std::size_t paren = text.rfind(')');
  return !(paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] == 'Z');
}

// Why the lock is stale, or empty if it may be alive.
std::string StaleReason(const LockOwner& owner) {
  if (owner.host == HostName() && !PidAlive(owner.pid)) {
    return "its owner (" + owner.Describe() + ") no longer runs";
  }
  if (NowUnix() - owner.start_unix > static_cast<std::int64_t>(kStaleLockHours * 3600)) {
    return "it is older than " + std::to_string(static_cast<int>(kStaleLockHours)) + " hours (" + owner.Describe() +
           ")";
  }
  return "";
}

// Removes the stale lock `owner` held, unless it changed hands meanwhile.
// Guarded by lock_path + ".break", so only one writer removes it.
bool BreakStaleLock(const std::string& lock_path, const LockOwner& owner) {
  const std::string guard = lock_path + ".break";
  if (!CreateExclusively(guard, Serialize(Me(UniqueWriterTag())))) {
    struct stat st {};
    // A guard is held for microseconds: one a minute old is left by a killed writer.
    if (::stat(guard.c_str(), &st) == 0 && NowUnix() - st.st_mtim.tv_sec > 60) ::unlink(guard.c_str());
    return false;
  }
  LockOwner now;
  const bool same = ReadLockOwner(lock_path, &now) && now.token == owner.token;
  if (same) ::unlink(lock_path.c_str());
  ::unlink(guard.c_str());
  return same;
}

}  // namespace

std::string LockOwner::Describe() const {
  std::string s = "pid " + std::to_string(pid) + " on host " + host;
  if (!slurm_job_id.empty()) s += " (Slurm job " + slurm_job_id + ")";
  return s + ", since " + FormatUtc(start_unix);
}

std::string UniqueWriterTag() {
  static thread_local std::mt19937_64 rng{std::random_device{}() ^ static_cast<std::uint64_t>(::getpid()) << 32 ^
                                          static_cast<std::uint64_t>(NowUnix())};
  char bits[17];
  std::snprintf(bits, sizeof bits, "%08llx", static_cast<unsigned long long>(rng() & 0xffffffffu));
  return HostName() + "." + std::to_string(::getpid()) + "." + bits;
}

std::string LockPath(const std::string& store_path) { return store_path + ".lock"; }

bool ReadLockOwner(const std::string& lock_path, LockOwner* owner) {
  std::ifstream in(lock_path);
  if (!in) return false;
  std::string line;
  bool have_token = false;
  *owner = LockOwner{};
  while (std::getline(in, line)) {
    const std::size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "host") owner->host = value;
    if (key == "pid") owner->pid = std::atoll(value.c_str());
    if (key == "slurm_job_id") owner->slurm_job_id = value;
    if (key == "start_unix") owner->start_unix = std::atoll(value.c_str());
    if (key == "token") {
      owner->token = value;
      have_token = !value.empty();
    }
  }
  return have_token;
}

StoreLock StoreLock::Acquire(const std::string& store_path, double wait_seconds, std::vector<std::string>* notes) {
  const std::string lock_path = LockPath(store_path);
  const LockOwner me = Me(UniqueWriterTag());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(std::max(0.0, wait_seconds));
  bool said_waiting = false;
  for (;;) {
    if (CreateExclusively(lock_path, Serialize(me))) {
      StoreLock lock;
      lock.path_ = lock_path;
      lock.token_ = me.token;
      return lock;
    }
    LockOwner holder;
    const bool readable = ReadLockOwner(lock_path, &holder);
    if (readable) {
      const std::string stale = StaleReason(holder);
      if (!stale.empty() && BreakStaleLock(lock_path, holder)) {
        notes->push_back(lock_path + ": took over a stale write lock: " + stale);
        continue;
      }
    }
    const std::string who = readable ? holder.Describe() : "an unknown writer (lock file unreadable)";
    if (std::chrono::steady_clock::now() >= deadline) {
      throw Error(store_path + ": another ingest is writing this store: " + who + "; lock " + lock_path +
                  (wait_seconds > 0 ? "; waited " + std::to_string(static_cast<long long>(wait_seconds)) + " s"
                                    : "; use --wait SECONDS to wait for it") +
                  " (if that process is gone, remove the lock file)");
    }
    if (!said_waiting) {
      std::fprintf(stderr, "wattrun: %s is being written by %s: waiting up to %g s for its lock\n", store_path.c_str(),
                   who.c_str(), wait_seconds);
      said_waiting = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

StoreLock::~StoreLock() { Release(); }

StoreLock::StoreLock(StoreLock&& other) noexcept : path_(std::move(other.path_)), token_(std::move(other.token_)) {
  other.path_.clear();
}

StoreLock& StoreLock::operator=(StoreLock&& other) noexcept {
  if (this != &other) {
    Release();
    path_ = std::move(other.path_);
    token_ = std::move(other.token_);
    other.path_.clear();
  }
  return *this;
}

void StoreLock::Release() {
  if (path_.empty()) return;
  LockOwner owner;
  if (ReadLockOwner(path_, &owner) && owner.token == token_) ::unlink(path_.c_str());
  path_.clear();
}

}  // namespace wattrun::store
