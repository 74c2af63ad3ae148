// HDF5 owners and checked calls. Every hid_t lives in a move-only H5Id whose
// destructor closes it and never throws; every C call goes through a check
// that throws wattrun::Error with the call's name, the object and the HDF5
// error stack. HDF5's automatic error printing is silenced.
//
// Tables are stored columnar: a group with one 1-D dataset per column, so
// that h5py users read `f["runs/energy"][:]` directly.
#pragma once

#include <hdf5.h>
#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace wattrun::h5 {

class H5Id {
 public:
  H5Id() = default;
  explicit H5Id(hid_t id) : id_(id) {}
  ~H5Id();
  H5Id(H5Id&& other) noexcept : id_(other.id_) { other.id_ = H5I_INVALID_HID; }
  H5Id& operator=(H5Id&& other) noexcept;
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void Close();
  // Gives up ownership without closing.
  hid_t Release() {
    const hid_t id = id_;
    id_ = H5I_INVALID_HID;
    return id;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

// Throws if `status` < 0, with the HDF5 error stack in the message.
void Check(herr_t status, const std::string& call, const std::string& what);
hid_t CheckId(hid_t id, const std::string& call, const std::string& what);
// Silences HDF5's own printing; call once per process.
void SilenceErrorPrinting();

enum class Mode { kReadOnly, kReadWrite, kCreate };

// A file, opened serially (comm == MPI_COMM_NULL) or with the MPI-IO driver
// (all ranks of comm call collectively).
class File {
 public:
  static File Open(const std::string& path, Mode mode, MPI_Comm comm = MPI_COMM_NULL);
  // A new file held in memory (HDF5 core driver) until WriteImage: for the
  // small files (catalogue, results.h5), so that a full disk or a failing
  // write is our own checked write(2), never an HDF5 file left half-closed.
  // sealed: the file starts with a 512-byte user block (HDF5 skips it) that
  // WriteImage fills with a CRC-32 of the rest, checked by VerifySeal before
  // the file is opened: a damaged catalogue is a clear error, never a read
  // of damaged HDF5 structures (which can crash the library).
  static File CreateInMemory(const std::string& name, bool sealed = false);
  // Writes the in-memory file's image to path (temporary name, fsync, rename)
  // and closes the file. The temporary name is tmp_path, else path + ".tmp".
  // The image is written from the buffer HDF5 built it in, handed over when
  // the file closes, so it is held once (a copy is taken only while other
  // objects of the file are still open).
  void WriteImage(const std::string& path, const std::string& tmp_path = "");
  hid_t id() const { return id_.get(); }
  const std::string& path() const { return path_; }
  bool parallel() const { return parallel_; }
  void Flush();
  void Close();

  // The core driver's buffer of a file made by CreateInMemory, through
  // HDF5's file-image callbacks; kept when the file closes (WriteImage
  // writes it), freed with the File.
  struct ImageBuffer;

 private:
  // WriteImage for a file whose image of `size` bytes must be copied out.
  void WriteImageCopy(const std::string& path, const std::string& tmp_path, std::size_t size);
  // Before id_: destroyed after the file is closed, which hands the buffer here.
  std::shared_ptr<ImageBuffer> image_;
  H5Id id_;
  std::string path_;
  bool parallel_ = false;
  bool sealed_ = false;
};

// Checks the seal of a file written with CreateInMemory(name, true): throws
// wattrun::Error naming the file when its bytes do not match the seal;
// returns false (and checks nothing) for a file without a seal.
bool VerifySeal(const std::string& path);

bool Exists(hid_t loc, const std::string& path);
// Creates missing groups along the path (like mkdir -p).
H5Id EnsureGroup(hid_t loc, const std::string& path);
H5Id OpenGroup(hid_t loc, const std::string& path);
// An external link `link_path` -> `target_file:target_object`.
void CreateExternalLink(hid_t loc, const std::string& link_path, const std::string& target_file,
                        const std::string& target_object);

template <typename T>
hid_t NativeType();

// --- serial (or independent) whole-dataset I/O ---
template <typename T>
void WriteVector(hid_t loc, const std::string& name, const std::vector<T>& values);
// How WriteStrings stores a column of strings.
enum class StringLayout {
  kVariable,  // variable-length: each string an object in the global heap
  // Fixed-length (NUL-padded to the longest) when that pads at most
  // kMaxPadPerString bytes per string on average, else variable-length.
  // A variable-length string costs ~40 bytes of heap and pointer besides its
  // text, and HDF5 writes each one by one: a fixed-length column of a
  // million short strings is a third of the size and written in one copy.
  kFixedWhenCompact,
};
inline constexpr std::size_t kMaxPadPerString = 32;
void WriteStrings(hid_t loc, const std::string& name, const std::vector<std::string>& values,
                  StringLayout layout = StringLayout::kVariable);
template <typename T>
std::vector<T> ReadVector(hid_t loc, const std::string& name);
// Reads either layout; a fixed-length string ends at its first NUL.
std::vector<std::string> ReadStrings(hid_t loc, const std::string& name);
// Strings as one uint8 dataset `name` (their bytes, concatenated) and an
// int64 dataset `name_offsets` (n + 1 offsets). Unlike variable-length
// strings, whose global heap HDF5 dereferences unchecked (a damaged file can
// crash the reader), damaged packed strings are a clear error. The store's
// catalogue uses them; results.h5 keeps plain strings for h5py users.
// Written from views: a table's column goes out without its strings copied.
void WritePackedStrings(hid_t loc, const std::string& name, const std::vector<std::string_view>& values);
// Reads packed strings, or plain variable-length ones (stores written
// before packing).
std::vector<std::string> ReadPackedStrings(hid_t loc, const std::string& name);
// Number of elements of a 1-D dataset.
std::int64_t Length(hid_t loc, const std::string& name);

// Reads elements [offset, offset + count) of a 1-D dataset into out.
// `collective` selects H5FD_MPIO_COLLECTIVE on a parallel file.
template <typename T>
void ReadSlice(hid_t dataset, std::int64_t offset, std::int64_t count, T* out, bool collective = false);

// --- parallel writes: each rank writes its slice of a dataset of known total ---
// Creates (collectively) a chunked 1-D dataset of `total` elements.
template <typename T>
H5Id CreateDataset(hid_t loc, const std::string& name, std::int64_t total);
// Writes count elements at offset; collective transfer on parallel files
// (every rank must call, with count == 0 if it has nothing).
// Returns H5Pget_mpio_no_collective_cause's local cause (0 = collective).
template <typename T>
std::uint32_t WriteSlice(hid_t dataset, std::int64_t offset, std::int64_t count, const T* data, bool collective);

// --- attributes ---
void SetAttribute(hid_t loc, const std::string& name, const std::string& value);
void SetAttribute(hid_t loc, const std::string& name, std::int64_t value);
void SetAttribute(hid_t loc, const std::string& name, double value);
std::string GetStringAttribute(hid_t loc, const std::string& name);
std::int64_t GetIntAttribute(hid_t loc, const std::string& name);
double GetDoubleAttribute(hid_t loc, const std::string& name);
bool HasAttribute(hid_t loc, const std::string& name);

}  // namespace wattrun::h5
