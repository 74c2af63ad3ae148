#include "core/h5.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <type_traits>

#include "core/error.h"
#include "core/file_io.h"

#include <isa-l/crc.h>

namespace wattrun::h5 {
namespace {

herr_t CollectError(unsigned n, const H5E_error2_t* err, void* data) {
  auto* out = static_cast<std::string*>(data);
  if (n < 4) {  // the innermost frames say what went wrong
    *out += "\n    ";
    *out += err->func_name ? err->func_name : "?";
    *out += ": ";
    *out += err->desc ? err->desc : "";
  }
  return 0;
}

std::string ErrorStack() {
  std::string text;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, CollectError, &text);
  H5Eclear2(H5E_DEFAULT);
  return text;
}

}  // namespace

H5Id::~H5Id() { Close(); }

H5Id& H5Id::operator=(H5Id&& other) noexcept {
  if (this != &other) {
    Close();
    id_ = other.id_;
    other.id_ = H5I_INVALID_HID;
  }
  return *this;
}

void H5Id::Close() {
  if (id_ < 0) return;
  const H5I_type_t type = H5Iget_type(id_);
  switch (type) {
    case H5I_FILE:
      H5Fclose(id_);
      break;
    case H5I_GROUP:
      H5Gclose(id_);
      break;
    case H5I_DATASET:
      H5Dclose(id_);
      break;
    case H5I_DATASPACE:
      H5Sclose(id_);
      break;
    case H5I_DATATYPE:
      H5Tclose(id_);
      break;
    case H5I_ATTR:
      H5Aclose(id_);
      break;
    case H5I_GENPROP_LST:
      H5Pclose(id_);
      break;
    default:
      break;
  }
  id_ = H5I_INVALID_HID;
}

void Check(herr_t status, const std::string& call, const std::string& what) {
  if (status >= 0) return;
  throw Error("HDF5 " + call + " failed on " + what + ":" + ErrorStack());
}

hid_t CheckId(hid_t id, const std::string& call, const std::string& what) {
  if (id >= 0) return id;
  throw Error("HDF5 " + call + " failed on " + what + ":" + ErrorStack());
}

void SilenceErrorPrinting() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

File File::Open(const std::string& path, Mode mode, MPI_Comm comm) {
  SilenceErrorPrinting();
  File f;
  f.path_ = path;
  f.parallel_ = comm != MPI_COMM_NULL;
  H5Id fapl(CheckId(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate", path));
  if (f.parallel_) Check(H5Pset_fapl_mpio(fapl.get(), comm, MPI_INFO_NULL), "H5Pset_fapl_mpio", path);
  Check(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_LATEST), "H5Pset_libver_bounds", path);
  hid_t id = -1;
  if (mode == Mode::kCreate) {
    id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get());
  } else {
    id = H5Fopen(path.c_str(), mode == Mode::kReadOnly ? H5F_ACC_RDONLY : H5F_ACC_RDWR, fapl.get());
  }
  if (id < 0) {
    const std::string stack = ErrorStack();
    throw Error(path + ": cannot " + (mode == Mode::kCreate ? "create" : "open") +
                " HDF5 file (missing, truncated, corrupted or not HDF5):" + stack);
  }
  f.id_ = H5Id(id);
  return f;
}

namespace {
constexpr std::size_t kSealBytes = 512;
constexpr char kSealMagic[] = "WATTRUN-SEAL crc32=";

// The CRC is gzip's (zlib's crc32), by ISA-L: the same value, ~4x faster,
// and over 64-bit lengths.
std::string SealText(std::uint32_t crc, std::size_t size) {
  char text[96];
  std::snprintf(text, sizeof text, "%s%08lx size=%zu\n", kSealMagic, static_cast<unsigned long>(crc), size);
  return text;
}
std::string SealText(const char* data, std::size_t size) {
  return SealText(crc32_gzip_refl(0, reinterpret_cast<const unsigned char*>(data), size), size);
}
}  // namespace

// Mapped, not malloc'ed: the core driver grows its buffer in 1 MB steps,
// and glibc's realloc moves a block it cannot extend by copying it (the
// whole image held twice for a moment, seen on rank 0 at a few hundred MB
// in some runs and not others); mremap moves a mapping's pages without a copy.
struct File::ImageBuffer {
  void* data = nullptr;
  std::size_t capacity = 0;  // bytes HDF5 asked for
  std::size_t mapped = 0;    // bytes mapped (whole pages)
  bool written = false;      // grown by the file's writes (not an image HDF5 read in)
  bool closed = false;       // HDF5 closed the written file and left the buffer to us
  ImageBuffer() = default;
  ImageBuffer(const ImageBuffer&) = delete;
  ImageBuffer& operator=(const ImageBuffer&) = delete;
  ~ImageBuffer() { Release(); }
  void Release() {
    if (data != nullptr) ::munmap(data, mapped);
    data = nullptr, capacity = 0, mapped = 0, written = false;
  }
  // The buffer at `size` bytes (its contents kept); nullptr if it cannot be.
  void* Resize(std::size_t size) {
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::size_t want = std::max<std::size_t>((size + page - 1) / page * page, page);
    void* p = data == nullptr ? ::mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                              : ::mremap(data, mapped, want, MREMAP_MAYMOVE);
    if (p == MAP_FAILED) return nullptr;  // HDF5 reports it; the old buffer is still ours
    data = p, capacity = size, mapped = want;
    return p;
  }
};

namespace {
// The core driver allocates, grows and frees its one buffer through these
// (no image is given at creation, so nothing is copied in).
using ImageBuffer = File::ImageBuffer;
ImageBuffer* BufferOf(void* udata) { return static_cast<ImageBuffer*>(udata); }
// Only for reading a file in (HDF5 does so when a file of the name exists).
void* ImageMalloc(std::size_t size, H5FD_file_image_op_t /*op*/, void* udata) {
  ImageBuffer* b = BufferOf(udata);
  b->Release();
  return b->Resize(size);
}
void* ImageMemcpy(void* dest, const void* src, std::size_t size, H5FD_file_image_op_t /*op*/, void* /*udata*/) {
  return std::memcpy(dest, src, size);
}
void* ImageRealloc(void* ptr, std::size_t size, H5FD_file_image_op_t /*op*/, void* udata) {
  ImageBuffer* b = BufferOf(udata);
  if (ptr != b->data) return nullptr;  // not the buffer these callbacks made
  b->written = true;
  return b->Resize(size);
}
herr_t ImageFree(void* ptr, H5FD_file_image_op_t op, void* udata) {
  ImageBuffer* b = BufferOf(udata);
  if (ptr != b->data) return -1;
  if (op == H5FD_FILE_IMAGE_OP_FILE_CLOSE && b->written) {
    b->closed = true;  // kept for WriteImage; ~ImageBuffer unmaps it
  } else {
    b->Release();
  }
  return 0;
}
// The property list's copies share the one buffer record, owned by File.
void* ShareImageBuffer(void* udata) { return udata; }
herr_t KeepImageBuffer(void* /*udata*/) { return 0; }
}  // namespace

File File::CreateInMemory(const std::string& name, bool sealed) {
  SilenceErrorPrinting();
  File f;
  f.path_ = name;
  f.sealed_ = sealed;
  f.image_ = std::make_shared<ImageBuffer>();
  H5Id fapl(CheckId(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate", name));
  Check(H5Pset_fapl_core(fapl.get(), 1 << 20, /*backing_store=*/0), "H5Pset_fapl_core", name);
  H5FD_file_image_callbacks_t callbacks{&ImageMalloc,      &ImageMemcpy,     &ImageRealloc, &ImageFree,
                                        &ShareImageBuffer, &KeepImageBuffer, f.image_.get()};
  Check(H5Pset_file_image_callbacks(fapl.get(), &callbacks), "H5Pset_file_image_callbacks", name);
  H5Id fcpl(CheckId(H5Pcreate(H5P_FILE_CREATE), "H5Pcreate", name));
  if (sealed) Check(H5Pset_userblock(fcpl.get(), kSealBytes), "H5Pset_userblock", name);
  // Under a name no file has: HDF5 reads a file of the create's name in
  // whole first (to see whether it is open already), which for a rerun
  // into the same directory was the previous results.h5, hundreds of MB.
  // Without a backing store the name is only a label.
  const std::string label = name + ".in-memory";
  f.id_ = H5Id(CheckId(H5Fcreate(label.c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get()), "H5Fcreate", name));
  return f;
}

// Streams the file through the checksum: a catalogue is as large as its job
// table (hundreds of MB for a facility's year), and every rank checks it.
bool VerifySeal(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!in) throw Error(path + ": cannot open: " + std::strerror(errno));
  char seal[kSealBytes];
  const std::size_t magic = sizeof kSealMagic - 1;
  if (std::fread(seal, 1, kSealBytes, in.get()) != kSealBytes || std::memcmp(seal, kSealMagic, magic) != 0) {
    return false;
  }
  std::uint32_t crc = 0;
  std::size_t size = 0;
  std::vector<char> buf(1 << 20);
  for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), in.get())) > 0; size += n) {
    crc = crc32_gzip_refl(crc, reinterpret_cast<const unsigned char*>(buf.data()), n);
  }
  if (std::ferror(in.get())) throw Error(path + ": cannot read: " + std::strerror(errno));
  const std::string expected = SealText(crc, size);
  if (std::memcmp(seal, expected.data(), expected.size()) != 0) {
    throw Error(path + ": damaged (its checksum does not match its contents: " +
                std::string(seal, std::find(seal, seal + 80, '\n')) + ", computed " +
                expected.substr(0, expected.size() - 1) + ")");
  }
  return true;
}

namespace {
// The image, its first seal_room bytes the user block's room: the seal put
// there (when there is room for one), then the whole written atomically.
void SealAndWrite(char* image, std::size_t seal_room, std::size_t size, const std::string& path,
                  const std::string& tmp_path) {
  if (seal_room > 0) {
    const std::string seal = SealText(image + seal_room, size);
    std::memset(image, 0, seal_room);
    seal.copy(image, seal.size());
  }
  WriteFileAtomically(path, std::string_view(image, seal_room + size), tmp_path);
}
}  // namespace

void File::WriteImage(const std::string& path, const std::string& tmp_path) {
  Check(H5Fflush(id_.get(), H5F_SCOPE_GLOBAL), "H5Fflush", path_);
  const ssize_t image_size = H5Fget_file_image(id_.get(), nullptr, 0);
  if (image_size < 0) throw Error("HDF5 H5Fget_file_image failed on " + path_ + ":" + ErrorStack());
  const auto size = static_cast<std::size_t>(image_size);
  // The driver's buffer holds the file from address 0, the user block's
  // room included: [seal_room, seal_room + size) is what H5Fget_file_image
  // would copy out. Only a close that really closes hands it over.
  const std::size_t seal_room = sealed_ ? kSealBytes : 0;
  if (!image_ || H5Fget_obj_count(id_.get(), H5F_OBJ_ALL) != 1) return WriteImageCopy(path, tmp_path, size);
  Close();
  if (!image_->closed || image_->capacity < seal_room + size) {
    throw Error("HDF5 did not hand over the image of " + path_ + " at its close (internal)");
  }
  SealAndWrite(static_cast<char*>(image_->data), seal_room, size, path, tmp_path);
  image_.reset();
}

void File::WriteImageCopy(const std::string& path, const std::string& tmp_path, std::size_t size) {
  // The image leaves the user block out (its superblock already says the
  // data start at kSealBytes): it is copied in after room for the seal, so
  // that a catalogue of hundreds of MB is held twice at most (HDF5's and
  // this copy), not three times.
  // Not zeroed first (new char[]): HDF5 fills all of it but the seal's room.
  const std::size_t seal_room = sealed_ ? kSealBytes : 0;
  const std::unique_ptr<char[]> image(new char[seal_room + size]);
  if (H5Fget_file_image(id_.get(), image.get() + seal_room, size) != static_cast<ssize_t>(size)) {
    throw Error("HDF5 H5Fget_file_image failed on " + path_ + ":" + ErrorStack());
  }
  Close();
  SealAndWrite(image.get(), seal_room, size, path, tmp_path);
}

void File::Flush() { Check(H5Fflush(id_.get(), H5F_SCOPE_GLOBAL), "H5Fflush", path_); }

void File::Close() {
  if (!id_.valid()) return;
  // Close explicitly so that a failing close (e.g. disk full) is reported.
  Check(H5Fclose(id_.Release()), "H5Fclose", path_);
}

bool Exists(hid_t loc, const std::string& path) {
  // Check each component so that a missing parent is not an error.
  std::size_t pos = 0;
  while (true) {
    pos = path.find('/', pos + 1);
    const std::string prefix = path.substr(0, pos);
    const htri_t e = H5Lexists(loc, prefix.c_str(), H5P_DEFAULT);
    if (e <= 0) return false;
    if (pos == std::string::npos) return true;
  }
}

H5Id EnsureGroup(hid_t loc, const std::string& path) {
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    const std::string prefix = path.substr(0, pos);
    if (prefix.empty()) continue;
    if (H5Lexists(loc, prefix.c_str(), H5P_DEFAULT) <= 0) {
      H5Id g(CheckId(H5Gcreate2(loc, prefix.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "H5Gcreate2", prefix));
    }
  }
  return OpenGroup(loc, path);
}

H5Id OpenGroup(hid_t loc, const std::string& path) {
  return H5Id(CheckId(H5Gopen2(loc, path.c_str(), H5P_DEFAULT), "H5Gopen2", path));
}

void CreateExternalLink(hid_t loc, const std::string& link_path, const std::string& target_file,
                        const std::string& target_object) {
  Check(
      H5Lcreate_external(target_file.c_str(), target_object.c_str(), loc, link_path.c_str(), H5P_DEFAULT, H5P_DEFAULT),
      "H5Lcreate_external", link_path);
}

template <>
hid_t NativeType<double>() {
  return H5T_NATIVE_DOUBLE;
}
template <>
hid_t NativeType<float>() {
  return H5T_NATIVE_FLOAT;
}
template <>
hid_t NativeType<std::int64_t>() {
  return H5T_NATIVE_INT64;
}
template <>
hid_t NativeType<std::uint64_t>() {
  return H5T_NATIVE_UINT64;
}
template <>
hid_t NativeType<std::int32_t>() {
  return H5T_NATIVE_INT32;
}
template <>
hid_t NativeType<std::uint32_t>() {
  return H5T_NATIVE_UINT32;
}
template <>
hid_t NativeType<std::uint16_t>() {
  return H5T_NATIVE_UINT16;
}
template <>
hid_t NativeType<std::uint8_t>() {
  return H5T_NATIVE_UINT8;
}
template <>
hid_t NativeType<std::int8_t>() {
  return H5T_NATIVE_INT8;
}

template <typename T>
void WriteVector(hid_t loc, const std::string& name, const std::vector<T>& values) {
  const hsize_t n = values.size();
  H5Id space(CheckId(H5Screate_simple(1, &n, nullptr), "H5Screate_simple", name));
  H5Id dcpl(CheckId(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate", name));
  if (n > 0) {
    const hsize_t chunk = std::min<hsize_t>(n, 1 << 16);
    Check(H5Pset_chunk(dcpl.get(), 1, &chunk), "H5Pset_chunk", name);
  }
  H5Id dset(CheckId(H5Dcreate2(loc, name.c_str(), NativeType<T>(), space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                    "H5Dcreate2", name));
  if (n > 0)
    Check(H5Dwrite(dset.get(), NativeType<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), "H5Dwrite", name);
}

namespace {
// The longest string, if a fixed-length column of that size pads at most
// kMaxPadPerString bytes per string on average; else nullopt.
std::optional<std::size_t> CompactFixedSize(const std::vector<std::string>& values) {
  std::size_t longest = 0, total = 0;
  for (const auto& v : values) {
    longest = std::max(longest, v.size());
    total += v.size();
  }
  if ((longest - std::min(longest, total / std::max<std::size_t>(values.size(), 1))) > kMaxPadPerString) {
    return std::nullopt;
  }
  return std::max<std::size_t>(longest, 1);  // HDF5 has no 0-byte string type
}

// A UTF-8 string type: `size` bytes, NUL-padded, or H5T_VARIABLE.
H5Id Utf8StringType(std::size_t size, const std::string& name) {
  H5Id type(CheckId(H5Tcopy(H5T_C_S1), "H5Tcopy", name));
  Check(H5Tset_size(type.get(), size), "H5Tset_size", name);
  if (size != H5T_VARIABLE) Check(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), "H5Tset_strpad", name);
  Check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "H5Tset_cset", name);
  return type;
}

// A 1-D dataset of n strings of `type`, written from `data`.
void WriteStringDataset(hid_t loc, const std::string& name, const H5Id& type, hsize_t n, const void* data) {
  H5Id space(CheckId(H5Screate_simple(1, &n, nullptr), "H5Screate_simple", name));
  H5Id dset(CheckId(H5Dcreate2(loc, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                    "H5Dcreate2", name));
  if (n > 0) Check(H5Dwrite(dset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "H5Dwrite", name);
}

void WriteFixedStrings(hid_t loc, const std::string& name, const std::vector<std::string>& values, std::size_t size) {
  std::vector<char> bytes(values.size() * size, '\0');
  for (std::size_t i = 0; i < values.size(); ++i)
    std::memcpy(bytes.data() + i * size, values[i].data(), values[i].size());
  WriteStringDataset(loc, name, Utf8StringType(size, name), values.size(), bytes.data());
}

void WriteVariableStrings(hid_t loc, const std::string& name, const std::vector<std::string>& values) {
  std::vector<const char*> pointers(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) pointers[i] = values[i].c_str();
  WriteStringDataset(loc, name, Utf8StringType(H5T_VARIABLE, name), values.size(), pointers.data());
}
}  // namespace

void WriteStrings(hid_t loc, const std::string& name, const std::vector<std::string>& values, StringLayout layout) {
  if (layout == StringLayout::kFixedWhenCompact) {
    if (const auto size = CompactFixedSize(values)) return WriteFixedStrings(loc, name, values, *size);
  }
  WriteVariableStrings(loc, name, values);
}

std::int64_t Length(hid_t loc, const std::string& name) {
  H5Id dset(CheckId(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), "H5Dopen2", name));
  H5Id space(CheckId(H5Dget_space(dset.get()), "H5Dget_space", name));
  hsize_t n = 0;
  if (H5Sget_simple_extent_ndims(space.get()) != 1) throw Error("HDF5 dataset " + name + " is not 1-D");
  H5Sget_simple_extent_dims(space.get(), &n, nullptr);
  return static_cast<std::int64_t>(n);
}

template <typename T>
std::vector<T> ReadVector(hid_t loc, const std::string& name) {
  H5Id dset(CheckId(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), "H5Dopen2", name));
  H5Id space(CheckId(H5Dget_space(dset.get()), "H5Dget_space", name));
  hsize_t n = 0;
  if (H5Sget_simple_extent_ndims(space.get()) != 1) throw Error("HDF5 dataset " + name + " is not 1-D");
  H5Sget_simple_extent_dims(space.get(), &n, nullptr);
  std::vector<T> out(n);
  if (n > 0) Check(H5Dread(dset.get(), NativeType<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), "H5Dread", name);
  return out;
}

std::vector<std::string> ReadStrings(hid_t loc, const std::string& name) {
  H5Id dset(CheckId(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), "H5Dopen2", name));
  H5Id space(CheckId(H5Dget_space(dset.get()), "H5Dget_space", name));
  hsize_t n = 0;
  H5Sget_simple_extent_dims(space.get(), &n, nullptr);
  H5Id file_type(CheckId(H5Dget_type(dset.get()), "H5Dget_type", name));
  if (H5Tget_class(file_type.get()) != H5T_STRING) throw Error("HDF5 dataset " + name + " does not hold strings");
  std::vector<std::string> out;
  out.reserve(n);
  if (H5Tis_variable_str(file_type.get()) <= 0) {
    const std::size_t size = H5Tget_size(file_type.get());
    const H5Id type = Utf8StringType(size, name);
    Check(H5Tset_cset(type.get(), H5Tget_cset(file_type.get())), "H5Tset_cset", name);  // as written (h5py: ASCII)
    std::vector<char> bytes(n * size);
    if (n > 0) Check(H5Dread(dset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()), "H5Dread", name);
    for (std::size_t i = 0; i < n; ++i) {
      const char* s = bytes.data() + i * size;
      out.emplace_back(s, static_cast<std::size_t>(std::find(s, s + size, '\0') - s));
    }
    return out;
  }
  const H5Id type = Utf8StringType(H5T_VARIABLE, name);
  std::vector<char*> pointers(n, nullptr);
  if (n > 0) {
    Check(H5Dread(dset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers.data()), "H5Dread", name);
    for (char* p : pointers) out.emplace_back(p ? p : "");
    H5Dvlen_reclaim(type.get(), space.get(), H5P_DEFAULT, pointers.data());
  }
  return out;
}

void WritePackedStrings(hid_t loc, const std::string& name, const std::vector<std::string_view>& values) {
  std::size_t total = 0;
  for (const auto& v : values) total += v.size();
  std::vector<std::uint8_t> bytes(total);
  std::size_t at = 0;
  for (const auto& v : values) {
    std::memcpy(bytes.data() + at, v.data(), v.size());
    at += v.size();
  }
  WriteVector(loc, name, bytes);
  // The offsets in 4 bytes while the text is under 4 GiB (half the bytes of
  // a column of short strings); readers widen them to int64 on read
  // (HDF5 converts), so stores with either width read alike.
  const auto write_offsets = [&]<typename Offset>(Offset) {
    std::vector<Offset> offsets(values.size() + 1);
    Offset end = 0;
    for (std::size_t i = 0; i < values.size(); ++i) offsets[i + 1] = end += static_cast<Offset>(values[i].size());
    WriteVector(loc, name + "_offsets", offsets);
  };
  if (total <= std::numeric_limits<std::uint32_t>::max()) {
    write_offsets(std::uint32_t{});
  } else {
    write_offsets(std::int64_t{});
  }
}

std::vector<std::string> ReadPackedStrings(hid_t loc, const std::string& name) {
  {
    H5Id dset(CheckId(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), "H5Dopen2", name));
    H5Id type(CheckId(H5Dget_type(dset.get()), "H5Dget_type", name));
    if (H5Tget_class(type.get()) == H5T_STRING) return ReadStrings(loc, name);
  }
  const auto bytes = ReadVector<std::uint8_t>(loc, name);
  const auto offsets = ReadVector<std::int64_t>(loc, name + "_offsets");
  if (offsets.empty() || offsets.front() != 0 || offsets.back() != static_cast<std::int64_t>(bytes.size())) {
    throw Error("HDF5 packed strings " + name + ": offsets do not span the bytes (damaged)");
  }
  std::vector<std::string> out;
  out.reserve(offsets.size() - 1);
  for (std::size_t i = 0; i + 1 < offsets.size(); ++i) {
    if (offsets[i + 1] < offsets[i]) throw Error("HDF5 packed strings " + name + ": offsets decrease (damaged)");
    out.emplace_back(reinterpret_cast<const char*>(bytes.data()) + offsets[i],
                     static_cast<std::size_t>(offsets[i + 1] - offsets[i]));
  }
  return out;
}

namespace {
// Dataspaces selecting elements [offset, offset + count) of a 1-D dataset
// (nothing when count is 0, so that a rank with no data can still join a
// collective transfer), and a transfer list, collective if asked.
struct SliceSelection {
  H5Id file_space, mem_space, dxpl;
};
SliceSelection SelectSlice(hid_t dataset, std::int64_t offset, std::int64_t count, bool collective) {
  SliceSelection s;
  s.file_space = H5Id(CheckId(H5Dget_space(dataset), "H5Dget_space", "slice"));
  const hsize_t start = static_cast<hsize_t>(offset);
  const hsize_t n = static_cast<hsize_t>(std::max<std::int64_t>(count, 0));
  s.mem_space = H5Id(CheckId(H5Screate_simple(1, &n, nullptr), "H5Screate_simple", "slice"));
  if (count > 0) {
    Check(H5Sselect_hyperslab(s.file_space.get(), H5S_SELECT_SET, &start, nullptr, &n, nullptr), "H5Sselect_hyperslab",
          "slice");
  } else {
    H5Sselect_none(s.file_space.get());
    H5Sselect_none(s.mem_space.get());
  }
  s.dxpl = H5Id(CheckId(H5Pcreate(H5P_DATASET_XFER), "H5Pcreate", "slice"));
  if (collective) Check(H5Pset_dxpl_mpio(s.dxpl.get(), H5FD_MPIO_COLLECTIVE), "H5Pset_dxpl_mpio", "slice");
  return s;
}
}  // namespace

template <typename T>
void ReadSlice(hid_t dataset, std::int64_t offset, std::int64_t count, T* out, bool collective) {
  const SliceSelection s = SelectSlice(dataset, offset, count, collective);
  Check(H5Dread(dataset, NativeType<T>(), s.mem_space.get(), s.file_space.get(), s.dxpl.get(), out), "H5Dread",
        "slice at " + std::to_string(offset));
}

template <typename T>
H5Id CreateDataset(hid_t loc, const std::string& name, std::int64_t total) {
  const hsize_t n = static_cast<hsize_t>(total);
  H5Id space(CheckId(H5Screate_simple(1, &n, nullptr), "H5Screate_simple", name));
  H5Id dcpl(CheckId(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate", name));
  // Contiguous layout: the big telemetry columns are written once and read in
  // long runs per node; no chunk index to walk.
  Check(H5Pset_layout(dcpl.get(), H5D_CONTIGUOUS), "H5Pset_layout", name);
  Check(H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY), "H5Pset_alloc_time", name);
  return H5Id(CheckId(H5Dcreate2(loc, name.c_str(), NativeType<T>(), space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                      "H5Dcreate2", name));
}

template <typename T>
std::uint32_t WriteSlice(hid_t dataset, std::int64_t offset, std::int64_t count, const T* data, bool collective) {
  const SliceSelection s = SelectSlice(dataset, offset, count, collective);
  Check(H5Dwrite(dataset, NativeType<T>(), s.mem_space.get(), s.file_space.get(), s.dxpl.get(), data), "H5Dwrite",
        "slice at " + std::to_string(offset));
  std::uint32_t local_cause = 0;
  if (collective) {
    std::uint32_t global_cause = 0;
    H5Pget_mpio_no_collective_cause(s.dxpl.get(), &local_cause, &global_cause);
  }
  return local_cause;
}

// Variable-length UTF-8, so that h5py returns str (a fixed-length string
// attribute comes back as bytes).
void SetAttribute(hid_t loc, const std::string& name, const std::string& value) {
  if (H5Aexists(loc, name.c_str()) > 0) H5Adelete(loc, name.c_str());
  H5Id type(CheckId(H5Tcopy(H5T_C_S1), "H5Tcopy", name));
  Check(H5Tset_size(type.get(), H5T_VARIABLE), "H5Tset_size", name);
  Check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "H5Tset_cset", name);
  H5Id space(CheckId(H5Screate(H5S_SCALAR), "H5Screate", name));
  H5Id attr(
      CheckId(H5Acreate2(loc, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2", name));
  const char* text = value.c_str();
  Check(H5Awrite(attr.get(), type.get(), &text), "H5Awrite", name);
}

namespace {
template <typename T>
void SetScalarAttribute(hid_t loc, const std::string& name, T value) {
  if (H5Aexists(loc, name.c_str()) > 0) H5Adelete(loc, name.c_str());
  H5Id space(CheckId(H5Screate(H5S_SCALAR), "H5Screate", name));
  H5Id attr(CheckId(H5Acreate2(loc, name.c_str(), NativeType<T>(), space.get(), H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2",
                    name));
  Check(H5Awrite(attr.get(), NativeType<T>(), &value), "H5Awrite", name);
}
template <typename T>
T GetScalarAttribute(hid_t loc, const std::string& name) {
  H5Id attr(CheckId(H5Aopen(loc, name.c_str(), H5P_DEFAULT), "H5Aopen", name));
  T value{};
  Check(H5Aread(attr.get(), NativeType<T>(), &value), "H5Aread", name);
  return value;
}
}  // namespace

void SetAttribute(hid_t loc, const std::string& name, std::int64_t value) { SetScalarAttribute(loc, name, value); }
void SetAttribute(hid_t loc, const std::string& name, double value) { SetScalarAttribute(loc, name, value); }
std::int64_t GetIntAttribute(hid_t loc, const std::string& name) { return GetScalarAttribute<std::int64_t>(loc, name); }
double GetDoubleAttribute(hid_t loc, const std::string& name) { return GetScalarAttribute<double>(loc, name); }
bool HasAttribute(hid_t loc, const std::string& name) { return H5Aexists(loc, name.c_str()) > 0; }

std::string GetStringAttribute(hid_t loc, const std::string& name) {
  H5Id attr(CheckId(H5Aopen(loc, name.c_str(), H5P_DEFAULT), "H5Aopen", name));
  H5Id type(CheckId(H5Aget_type(attr.get()), "H5Aget_type", name));
  if (H5Tis_variable_str(type.get()) > 0) {  // as SetAttribute writes them
    H5Id mem_type(CheckId(H5Tcopy(H5T_C_S1), "H5Tcopy", name));
    Check(H5Tset_size(mem_type.get(), H5T_VARIABLE), "H5Tset_size", name);
    Check(H5Tset_cset(mem_type.get(), H5Tget_cset(type.get())), "H5Tset_cset", name);
    char* text = nullptr;
    Check(H5Aread(attr.get(), mem_type.get(), &text), "H5Aread", name);
    std::string value = text ? text : "";
    H5free_memory(text);
    return value;
  }
  const std::size_t size = H5Tget_size(type.get());
  std::string value(size, '\0');
  H5Id mem_type(CheckId(H5Tcopy(H5T_C_S1), "H5Tcopy", name));
  Check(H5Tset_size(mem_type.get(), size), "H5Tset_size", name);
  Check(H5Tset_cset(mem_type.get(), H5Tget_cset(type.get())), "H5Tset_cset", name);
  Check(H5Aread(attr.get(), mem_type.get(), value.data()), "H5Aread", name);
  while (!value.empty() && value.back() == '\0') value.pop_back();
  return value;
}

#define WATTRUN_H5_INSTANTIATE(T)                                                             \
  template void WriteVector<T>(hid_t, const std::string&, const std::vector<T>&);             \
  template std::vector<T> ReadVector<T>(hid_t, const std::string&);                           \
  template void ReadSlice<T>(hid_t, std::int64_t, std::int64_t, std::add_pointer_t<T>, bool); \
  template H5Id CreateDataset<T>(hid_t, const std::string&, std::int64_t);                    \
  template std::uint32_t WriteSlice<T>(hid_t, std::int64_t, std::int64_t, const T*, bool);
WATTRUN_H5_INSTANTIATE(double)
WATTRUN_H5_INSTANTIATE(float)
WATTRUN_H5_INSTANTIATE(std::int64_t)
WATTRUN_H5_INSTANTIATE(std::uint64_t)
WATTRUN_H5_INSTANTIATE(std::int32_t)
WATTRUN_H5_INSTANTIATE(std::uint32_t)
WATTRUN_H5_INSTANTIATE(std::uint16_t)
WATTRUN_H5_INSTANTIATE(std::uint8_t)
WATTRUN_H5_INSTANTIATE(std::int8_t)
#undef WATTRUN_H5_INSTANTIATE

}  // namespace wattrun::h5
