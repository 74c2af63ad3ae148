// Small MPI helpers: a communicator view with errors that throw, and the few
// collectives the pipeline uses on plain data (strings, POD vectors).
#pragma once

#include <mpi.h>

#include <stdexcept>

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

namespace wattrun {

// Throws wattrun::Error naming the MPI call if `code` is not MPI_SUCCESS.
void CheckMpi(int code, const char* call);

// Whether the launcher says every rank runs on this node: mpirun's
// OMPI_COMM_WORLD_LOCAL_SIZE equal to OMPI_COMM_WORLD_SIZE, srun's
// SLURM_STEP_NUM_NODES of 1, or no launcher at all (a plain process: none of
// OMPI_COMM_WORLD_SIZE, PMIX_RANK, PMI_RANK, SLURM_PROCID). `env` looks a
// variable up (nullptr: unset); std::getenv in the program.
bool LaunchedOnOneNode(const std::function<const char*(const char*)>& env);

// Call before MPI_Init. Open MPI's start-up probes the network libraries
// (libfabric, PSM2: 0.2 s of each rank's start on a machine without them)
// even when every rank is on this node and only shared memory is used. With
// LaunchedOnOneNode and no transport chosen by the user (OMPI_MCA_pml,
// OMPI_MCA_mtl unset), sets OMPI_MCA_pml=ob1 (shared memory and self, no
// probe) in the environment, where MPI_Init reads its MCA parameters.
// Returns whether it did.
bool PreferSharedMemoryOnOneNode();

// Completes a non-blocking request without busy-polling for long: tests it
// in a loop for a few microseconds (the other ranks are usually there
// already), then sleeps between tests, the pauses growing to 1 ms. Open MPI
// spins in a blocking wait; on a machine whose cores are shared (2 ranks on
// 2 cores, helper threads, other jobs) that spinning takes the CPU from the
// rank still working. `call` names the operation in an error.
void WaitWithoutSpinning(MPI_Request* request, const char* call);

// A non-owning view of a communicator with rank/size cached. The pipeline's
// communicator is a dup of MPI_COMM_WORLD with MPI_ERRORS_RETURN set, so that
// CheckMpi sees failures instead of MPI aborting silently.
class Comm {
 public:
  explicit Comm(MPI_Comm comm);
  MPI_Comm get() const { return comm_; }
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }

  // Waits asleep (WaitWithoutSpinning) for the other ranks.
  void Barrier() const;
  // Rank 0's string on every rank.
  std::string BroadcastString(const std::string& value) const;

  template <typename T>
  void Broadcast(std::vector<T>* values) const {
    static_assert(std::is_trivially_copyable_v<T>);
    std::uint64_t n = values->size();
    BroadcastCount(&n);
    values->resize(n);
    BroadcastBytes(values->data(), n * sizeof(T));
  }

  // Concatenation of every rank's vector, in rank order, on rank 0 (empty elsewhere).
  template <typename T>
  std::vector<T> GatherToRoot(const std::vector<T>& local) const {
    static_assert(std::is_trivially_copyable_v<T>);
    std::vector<char> all =
        GatherBytes(reinterpret_cast<const char*>(local.data()), local.size() * sizeof(T), /*all=*/false);
    // Bytes as they came (a reduction's packed partials: tens of MB not
    // copied again into fresh pages).
    if constexpr (std::is_same_v<T, char>) return all;
    std::vector<T> out(all.size() / sizeof(T));
    if (!all.empty()) std::memcpy(out.data(), all.data(), all.size());
    return out;
  }
  // Same on every rank.
  template <typename T>
  std::vector<T> AllGather(const std::vector<T>& local) const {
    static_assert(std::is_trivially_copyable_v<T>);
    std::vector<char> all =
        GatherBytes(reinterpret_cast<const char*>(local.data()), local.size() * sizeof(T), /*all=*/true);
    std::vector<T> out(all.size() / sizeof(T));
    if (!all.empty()) std::memcpy(out.data(), all.data(), all.size());
    return out;
  }
  std::vector<std::string> GatherStringsToRoot(const std::string& local) const;

  std::int64_t AllSum(std::int64_t value) const;
  // Element-wise sums of every rank's vector (all the same length), on every rank.
  std::vector<std::int64_t> AllSumEach(const std::vector<std::int64_t>& values) const;
  std::int64_t AllMax(std::int64_t value) const;
  double AllMaxDouble(double value) const;
  // True on every rank if `flag` is true on any rank: the wait at the end of
  // each rank's local work in RunCollectively.
  bool AnyTrue(bool flag) const;

 private:
  // The reductions above, Broadcast's count and Barrier wait for the other
  // ranks asleep (WaitWithoutSpinning): any of them can be where a rank
  // waits for another's local work.
  void AllReduce(const void* in, void* out, int count, MPI_Datatype type, MPI_Op op) const;
  void BroadcastCount(std::uint64_t* n) const;
  void BroadcastBytes(void* data, std::size_t bytes) const;
  std::vector<char> GatherBytes(const char* data, std::size_t bytes, bool all) const;
  MPI_Comm comm_;
  int rank_ = 0;
  int size_ = 1;
};

// Reduces a mergeable partial result to rank 0: every rank's
// `local.Pack()` bytes are gathered, unpacked with `Partial::Unpack(data,
// size)` and merged in rank order into rank 0's copy (other ranks get an
// empty Partial). Partial decides its own bytes; a Partial whose Merge is
// exact (counts, keyed records) gives the same result for any rank count.
// Rank 0 keeps its own partial as it is (no pack, no copy: for one rank
// the reduction costs nothing) and merges the others' after it. A Partial
// with `MergePacked(data, size)` merges from the bytes instead (the same
// result as Merge(Unpack(...)), one copy fewer).
template <typename Partial>
Partial ReduceToRoot(const Comm& comm, Partial local) {
  std::vector<char> packed;
  if (!comm.is_root()) {
    packed = local.Pack();
    // Its bytes are in `packed` now: the partial (a pass's job parts grow
    // with the facility's jobs) is not held beside them while gathering.
    local = Partial{};
  }
  const std::vector<std::int64_t> sizes =
      comm.GatherToRoot(std::vector<std::int64_t>{static_cast<std::int64_t>(packed.size())});
  const std::vector<char> all = comm.GatherToRoot(packed);
  std::vector<char>().swap(packed);
  if (!comm.is_root()) return Partial{};
  std::size_t at = static_cast<std::size_t>(sizes[0]);  // rank 0 packed nothing
  for (std::size_t r = 1; r < sizes.size(); ++r) {
    const auto n = static_cast<std::size_t>(sizes[r]);
    if constexpr (requires(Partial & p) { p.MergePacked(all.data(), n); }) {
      local.MergePacked(all.data() + at, n);  // no unpacked copy of large records
    } else {
      local.Merge(Partial::Unpack(all.data() + at, n));
    }
    at += n;
  }
  return local;
}

// Owns the pipeline's communicator (dup of MPI_COMM_WORLD, MPI_ERRORS_RETURN).
class OwnedComm {
 public:
  OwnedComm();
  ~OwnedComm();
  OwnedComm(const OwnedComm&) = delete;
  OwnedComm& operator=(const OwnedComm&) = delete;
  Comm comm() const { return Comm(comm_); }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
};

// Runs `body` and turns an exception on any rank into a clean collective
// failure: every rank learns that some rank failed, the failing ranks'
// messages are printed by rank 0, and the function returns false on all ranks.
// Use at the boundary between independent local work and the next collective.
bool AllSucceeded(const Comm& comm, bool local_ok, const std::string& local_message, std::string* combined_message);

// An error that every rank of a communicator knows about (raised by
// RunCollectively): the command ends cleanly on all ranks, rank 0 prints it.
class CollectiveError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Runs body on every rank; if it throws on any rank, every rank throws
// CollectiveError with the failing ranks' messages. Wraps local work that
// precedes a collective, so one rank's failure cannot leave the others
// waiting in that collective.
void RunCollectively(const Comm& comm, const std::function<void()>& body);

// The failing ranks' messages (by rank, empty: no failure) as one text,
// each distinct message once with its ranks ("rank 1: ...", "ranks 0-2,5: ...",
// "all 4 ranks: ..."; no prefix on one rank).
std::string CombineRankMessages(const std::vector<std::string>& messages);

}  // namespace wattrun
