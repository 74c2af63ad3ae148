#include "core/mpi.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include <cstdlib>
#include <cstring>
#include <limits>

#include "core/error.h"

namespace wattrun {

void CheckMpi(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(std::string(call) + " failed: " + std::string(text, static_cast<std::size_t>(length)));
}

bool LaunchedOnOneNode(const std::function<const char*(const char*)>& env) {
  const char* world = env("OMPI_COMM_WORLD_SIZE");
  const char* local = env("OMPI_COMM_WORLD_LOCAL_SIZE");
  if (world != nullptr) return local != nullptr && std::strcmp(world, local) == 0;
  if (const char* nodes = env("SLURM_STEP_NUM_NODES"); nodes != nullptr && env("SLURM_PROCID") != nullptr)
    return std::strcmp(nodes, "1") == 0;
  return env("PMIX_RANK") == nullptr && env("PMI_RANK") == nullptr && env("SLURM_PROCID") == nullptr;
}

bool PreferSharedMemoryOnOneNode() {
  const auto env = [](const char* name) -> const char* { return std::getenv(name); };
  if (env("OMPI_MCA_pml") != nullptr || env("OMPI_MCA_mtl") != nullptr || !LaunchedOnOneNode(env)) return false;
  return ::setenv("OMPI_MCA_pml", "ob1", /*overwrite=*/0) == 0;
}

void WaitWithoutSpinning(MPI_Request* request, const char* call) {
  using Clock = std::chrono::steady_clock;
  constexpr auto kSpin = std::chrono::microseconds(50);
  constexpr auto kFirstPause = std::chrono::microseconds(20);
  constexpr auto kLongestPause = std::chrono::microseconds(1000);
  const auto spin_until = Clock::now() + kSpin;
  auto pause = kFirstPause;
  for (;;) {
    int done = 0;
    CheckMpi(MPI_Test(request, &done, MPI_STATUS_IGNORE), call);
    if (done) return;
    if (Clock::now() < spin_until) continue;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, kLongestPause);
  }
}

Comm::Comm(MPI_Comm comm) : comm_(comm) {
  CheckMpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  CheckMpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

void Comm::Barrier() const {
  MPI_Request request = MPI_REQUEST_NULL;
  CheckMpi(MPI_Ibarrier(comm_, &request), "MPI_Ibarrier");
  WaitWithoutSpinning(&request, "MPI_Ibarrier");
}

void Comm::BroadcastBytes(void* data, std::size_t bytes) const {
  // MPI counts are int: send in pieces below 1 GiB.
  constexpr std::size_t kPiece = 1u << 30;
  char* p = static_cast<char*>(data);
  for (std::size_t off = 0; off < bytes; off += kPiece) {
    const std::size_t n = std::min(kPiece, bytes - off);
    CheckMpi(MPI_Bcast(p + off, static_cast<int>(n), MPI_BYTE, 0, comm_), "MPI_Bcast");
  }
}

std::string Comm::BroadcastString(const std::string& value) const {
  std::vector<char> bytes(value.begin(), value.end());
  Broadcast(&bytes);
  return std::string(bytes.begin(), bytes.end());
}

namespace {

// Each rank's offset in a gather of `counts` bytes (MPI's are int: a gather
// of 2 GiB or more, or of that much from one rank, is refused by name).
std::vector<int> GatherOffsets(const std::vector<int>& counts, std::int64_t* total) {
  std::vector<int> displs(counts.size(), 0);
  *total = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (*total > std::numeric_limits<int>::max()) throw Error("a gather of more than 2 GiB is not supported");
    displs[i] = static_cast<int>(*total);
    *total += counts[i];
  }
  return displs;
}

int GatherCount(std::size_t bytes) {
  if (bytes > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw Error("a gather of more than 2 GiB from one rank is not supported");
  }
  return static_cast<int>(bytes);
}

}  // namespace

std::vector<char> Comm::GatherBytes(const char* data, std::size_t bytes, bool all) const {
  const int count = GatherCount(bytes);
  std::vector<int> counts(static_cast<std::size_t>(size_));
  if (all) {
    CheckMpi(MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, comm_), "MPI_Allgather");
  } else {
    CheckMpi(MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, comm_), "MPI_Gather");
  }
  std::int64_t total = 0;
  const std::vector<int> displs = GatherOffsets(counts, &total);
  std::vector<char> out;
  if (all || rank_ == 0) out.resize(static_cast<std::size_t>(total));
  if (all) {
    CheckMpi(MPI_Allgatherv(data, count, MPI_BYTE, out.data(), counts.data(), displs.data(), MPI_BYTE, comm_),
             "MPI_Allgatherv");
  } else {
    CheckMpi(MPI_Gatherv(data, count, MPI_BYTE, out.data(), counts.data(), displs.data(), MPI_BYTE, 0, comm_),
             "MPI_Gatherv");
  }
  return out;
}

void Comm::GatherBytesInto(const char* data, std::size_t bytes, const std::vector<std::int64_t>& counts,
                           char* into) const {
  const int count = GatherCount(bytes);
  std::vector<int> int_counts;
  std::vector<int> displs;
  if (rank_ == 0) {
    for (const std::int64_t n : counts) int_counts.push_back(GatherCount(static_cast<std::size_t>(n)));
    std::int64_t total = 0;
    displs = GatherOffsets(int_counts, &total);
  }
  CheckMpi(MPI_Gatherv(data, count, MPI_BYTE, into, int_counts.data(), displs.data(), MPI_BYTE, 0, comm_),
           "MPI_Gatherv");
}

std::vector<std::string> Comm::GatherStringsToRoot(const std::string& local) const {
  std::vector<char> bytes(local.begin(), local.end());
  std::vector<std::int64_t> sizes = GatherToRoot(std::vector<std::int64_t>{static_cast<std::int64_t>(local.size())});
  std::vector<char> all = GatherToRoot(bytes);
  std::vector<std::string> out;
  std::size_t off = 0;
  for (std::int64_t n : sizes) {
    out.emplace_back(all.data() + off, static_cast<std::size_t>(n));
    off += static_cast<std::size_t>(n);
  }
  return out;
}

void Comm::AllReduce(const void* in, void* out, int count, MPI_Datatype type, MPI_Op op) const {
  MPI_Request request = MPI_REQUEST_NULL;
  CheckMpi(MPI_Iallreduce(in, out, count, type, op, comm_, &request), "MPI_Iallreduce");
  WaitWithoutSpinning(&request, "MPI_Iallreduce");
}

void Comm::BroadcastCount(std::uint64_t* n) const {
  MPI_Request request = MPI_REQUEST_NULL;
  CheckMpi(MPI_Ibcast(n, 1, MPI_UINT64_T, 0, comm_, &request), "MPI_Ibcast");
  WaitWithoutSpinning(&request, "MPI_Ibcast");
}

std::int64_t Comm::AllSum(std::int64_t value) const {
  std::int64_t out = 0;
  AllReduce(&value, &out, 1, MPI_INT64_T, MPI_SUM);
  return out;
}

std::vector<std::int64_t> Comm::AllSumEach(const std::vector<std::int64_t>& values) const {
  std::vector<std::int64_t> out(values.size(), 0);
  AllReduce(values.data(), out.data(), static_cast<int>(values.size()), MPI_INT64_T, MPI_SUM);
  return out;
}

std::int64_t Comm::AllMax(std::int64_t value) const {
  std::int64_t out = 0;
  AllReduce(&value, &out, 1, MPI_INT64_T, MPI_MAX);
  return out;
}

double Comm::AllMaxDouble(double value) const {
  double out = 0;
  AllReduce(&value, &out, 1, MPI_DOUBLE, MPI_MAX);
  return out;
}

bool Comm::AnyTrue(bool flag) const {
  const int local = flag ? 1 : 0;
  int any = 0;
  AllReduce(&local, &any, 1, MPI_INT, MPI_MAX);
  return any != 0;
}

OwnedComm::OwnedComm() {
  CheckMpi(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
  CheckMpi(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
}

OwnedComm::~OwnedComm() {
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

bool AllSucceeded(const Comm& comm, bool local_ok, const std::string& local_message, std::string* combined_message) {
  if (!comm.AnyTrue(!local_ok)) return true;
  const std::vector<std::string> messages = comm.GatherStringsToRoot(local_ok ? "" : local_message);
  if (combined_message) *combined_message = comm.BroadcastString(CombineRankMessages(messages));
  return false;
}

std::string CombineRankMessages(const std::vector<std::string>& messages) {
  // Ranks with the same message, in order of first appearance: a config
  // error seen by every rank is printed once, not once per rank.
  std::vector<std::pair<std::string, std::vector<std::size_t>>> groups;
  for (std::size_t r = 0; r < messages.size(); ++r) {
    if (messages[r].empty()) continue;
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == messages[r]; });
    if (it == groups.end()) {
      groups.push_back({messages[r], {r}});
    } else {
      it->second.push_back(r);
    }
  }
  std::string combined;
  for (const auto& [message, ranks] : groups) {
    if (!combined.empty()) combined += "\n";
    if (messages.size() > 1 && ranks.size() == messages.size()) {
      combined += "all " + std::to_string(ranks.size()) + " ranks: ";
    } else if (messages.size() > 1) {
      std::string list;
      for (std::size_t i = 0; i < ranks.size(); ++i) {
        const bool run_continues = i + 1 < ranks.size() && ranks[i + 1] == ranks[i] + 1;
        const bool run_started = i > 0 && ranks[i - 1] + 1 == ranks[i];
        if (run_started && run_continues) continue;
        if (!list.empty()) list += run_started ? "-" : ",";
        list += std::to_string(ranks[i]);
      }
      combined += (ranks.size() > 1 ? "ranks " : "rank ") + list + ": ";
    }
    combined += message;
  }
  return combined;
}

void RunCollectively(const Comm& comm, const std::function<void()>& body) {
  bool ok = true;
  std::string message;
  try {
    body();
  } catch (const std::exception& e) {
    ok = false;
    message = e.what();
  }
  std::string combined;
  if (!AllSucceeded(comm, ok, message, &combined)) throw CollectiveError(combined);
}

}  // namespace wattrun
