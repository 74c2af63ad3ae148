// Small MPI helpers: a communicator view with errors that throw, and the few
// collectives the pipeline uses on plain data (strings, POD vectors).
#pragma once

#include <mpi.h>

#include <stdexcept>

#include <concepts>
#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
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
  // This rank's `bytes` bytes at `data`, every rank's in rank order, written
  // on rank 0 at `into`, which has room for the sum of `counts` (each rank's
  // byte count; read on rank 0 only, nullptr `into` elsewhere). Nothing is
  // copied on the sending side nor into a buffer of the gather's own.
  void GatherBytesInto(const char* data, std::size_t bytes, const std::vector<std::int64_t>& counts, char* into) const;

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

// How a partial with bulk records (HasBulkRecords below) packs itself: its
// bulk records inside the bytes, or apart (sent as they lie in memory).
enum class BulkRecords { kPacked, kApart };

// A Partial whose largest records (trivially copyable, tens of MB at a
// facility) travel to rank 0 as they lie in memory: BulkBytes() gives them
// on a sending rank, BulkRoom(n) makes room for n more bytes of them at
// their end on rank 0 (where MPI writes the other ranks'), and Pack and
// MergePacked leave them out when given BulkRecords::kApart. Neither side
// copies them into a buffer of the reduction's: on this VM first touch of
// fresh pages costs more than the copy.
template <typename Partial>
concept HasBulkRecords = requires(Partial& p, const Partial& c, const char* data, std::size_t n) {
  { c.BulkBytes() } -> std::convertible_to<std::span<const char>>;
  { p.BulkRoom(n) } -> std::same_as<char*>;
  { c.Pack(BulkRecords::kApart) } -> std::same_as<std::vector<char>>;
  p.MergePacked(data, n, BulkRecords::kApart);
};

// Reduces a mergeable partial result to rank 0: every rank's
// `local.Pack()` bytes are gathered, unpacked with `Partial::Unpack(data,
// size)` and merged in rank order into rank 0's copy (other ranks get an
// empty Partial). Partial decides its own bytes; a Partial whose Merge is
// exact (counts, keyed records) gives the same result for any rank count.
// Rank 0 keeps its own partial as it is (no pack, no copy: for one rank
// the reduction costs nothing) and merges the others' after it. A Partial
// with `MergePacked(data, size)` merges from the bytes instead (the same
// result as Merge(Unpack(...)), one copy fewer); one with bulk records
// (HasBulkRecords) has them written straight after rank 0's, in rank order.
template <typename Partial>
Partial ReduceToRoot(const Comm& comm, Partial local) {
  constexpr bool kBulk = HasBulkRecords<Partial>;
  std::vector<char> packed;
  std::span<const char> bulk;
  if (!comm.is_root()) {
    if constexpr (kBulk) {
      packed = local.Pack(BulkRecords::kApart);
      bulk = local.BulkBytes();  // sent from where they lie: `local` is kept until the gather is done
    } else {
      packed = local.Pack();
      // Its bytes are in `packed` now: the partial is not held beside them while gathering.
      local = Partial{};
    }
  }
  const std::vector<std::int64_t> sizes = comm.GatherToRoot(
      std::vector<std::int64_t>{static_cast<std::int64_t>(packed.size()), static_cast<std::int64_t>(bulk.size())});
  const std::vector<char> all = comm.GatherToRoot(packed);
  std::vector<char>().swap(packed);
  if constexpr (kBulk) {
    std::vector<std::int64_t> bulk_sizes;
    std::size_t incoming = 0;
    for (std::size_t r = 0; r < sizes.size() / 2; ++r) {
      bulk_sizes.push_back(sizes[2 * r + 1]);
      incoming += static_cast<std::size_t>(sizes[2 * r + 1]);
    }
    char* room = comm.is_root() ? local.BulkRoom(incoming) : nullptr;
    comm.GatherBytesInto(bulk.data(), bulk.size(), bulk_sizes, room);
  }
  if (!comm.is_root()) return Partial{};
  std::size_t at = static_cast<std::size_t>(sizes[0]);  // rank 0 packed nothing
  for (std::size_t r = 1; r < sizes.size() / 2; ++r) {
    const auto n = static_cast<std::size_t>(sizes[2 * r]);
    if constexpr (kBulk) {
      local.MergePacked(all.data() + at, n, BulkRecords::kApart);
    } else if constexpr (requires(Partial & p) { p.MergePacked(all.data(), n); }) {
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
