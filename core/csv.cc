#include "core/csv.h"

#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "core/error.h"

namespace wattrun {

namespace {

constexpr std::size_t kInitialBufferBytes = std::size_t{1} << 20;
// A "line" longer than this is taken as a sign of a binary file.
constexpr std::size_t kMaxLineBytes = std::size_t{256} << 20;
// Compressed bytes read(2) at a time from a gzip file.
constexpr std::size_t kGzipInputBytes = std::size_t{1} << 18;
// At most this much output per inflate call (ISA-L counts in 32 bits).
constexpr std::size_t kMaxInflateOutBytes = std::size_t{1} << 30;
// The inflater thread runs at most this many blocks of this size ahead of
// the reader: a gzip reader's memory is fixed, whatever the file's size.
constexpr std::size_t kInflatedBlockBytes = std::size_t{1} << 20;
constexpr std::size_t kInflatedBlocks = 4;

std::uint32_t LoadLe32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

bool EndsWith(const std::string& text, std::string_view suffix) {
  return text.size() >= suffix.size() && std::string_view(text).substr(text.size() - suffix.size()) == suffix;
}

// Runs a byte producer (a gzip stream's inflation) in a thread of its own,
// at most kInflatedBlocks blocks of kInflatedBlockBytes ahead of the reader,
// so that parsing the lines of one block overlaps inflating the next ones
// (a rank parsing a big .gz file uses a second core, the one its idle peers
// leave). The bytes taken are those the producer gives, in order; its error
// (a damaged stream) comes after the bytes before the damage.
class ReadAhead {
 public:
  // Fills dst with up to room bytes; returns how many, fewer only at the end
  // of the stream or with *error set.
  using Producer = std::function<std::size_t(char* dst, std::size_t room, std::string* error)>;

  explicit ReadAhead(Producer produce) : produce_(std::move(produce)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~ReadAhead() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    freed_.notify_one();
    thread_.join();
  }
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // Copies up to room (> 0) of the next bytes into dst and returns how many;
  // 0 at the end of the stream, or with *error set once the bytes before
  // the damage are taken (and on every call after).
  std::size_t Take(char* dst, std::size_t room, std::string* error) {
    for (;;) {
      if (finished_) {
        *error = final_error_;
        return 0;
      }
      if (!have_current_) {
        std::unique_lock<std::mutex> lock(mutex_);
        filled_.wait(lock, [this] { return !full_.empty(); });
        current_ = std::move(full_.front());
        full_.pop_front();
        have_current_ = true;
        taken_ = 0;
      }
      const std::size_t n = std::min(room, current_.size - taken_);
      std::memcpy(dst, current_.data.get() + taken_, n);
      taken_ += n;
      if (taken_ == current_.size) {
        if (current_.size == 0 || !current_.error.empty()) {
          if (n > 0) return n;  // the error comes on the next call
          finished_ = true;
          final_error_ = current_.error;
          continue;
        }
        Recycle();
      }
      if (n > 0) return n;
    }
  }

 private:
  struct Block {
    std::unique_ptr<char[]> data;
    std::size_t size = 0;
    std::string error;
  };

  // The thread: fills free blocks in order until the stream ends or fails.
  void Run() {
    for (;;) {
      Block block;
      if (allocated_ < kInflatedBlocks) {
        // Blocks come as the stream needs them (a small file uses one), zeroed
        // like the reader's own buffer: nothing read depends on old contents.
        ++allocated_;
        block.data = std::make_unique<char[]>(kInflatedBlockBytes);
      } else {
        std::unique_lock<std::mutex> lock(mutex_);
        freed_.wait(lock, [this] { return stop_ || !free_.empty(); });
        if (stop_) return;
        block = std::move(free_.back());
        free_.pop_back();
      }
      block.size = 0;
      block.error.clear();
      try {
        block.size = produce_(block.data.get(), kInflatedBlockBytes, &block.error);
      } catch (const std::exception& e) {
        block.error = e.what();
      }
      const bool last = block.size == 0 || !block.error.empty();
      {
        std::lock_guard<std::mutex> lock(mutex_);
        full_.push_back(std::move(block));
      }
      filled_.notify_one();
      if (last) return;
    }
  }

  void Recycle() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      free_.push_back(std::move(current_));
    }
    have_current_ = false;
    freed_.notify_one();
  }

  Producer produce_;
  std::mutex mutex_;
  std::condition_variable filled_;  // a block was produced
  std::condition_variable freed_;   // a block was taken, or stop_ set
  std::deque<Block> full_;          // produced, not yet taken, in order
  std::vector<Block> free_;         // guarded by mutex_, like full_ and stop_
  bool stop_ = false;
  std::size_t allocated_ = 0;  // the thread's: blocks made so far
  // The reader's side (its thread only).
  Block current_;
  std::size_t taken_ = 0;
  bool have_current_ = false;
  bool finished_ = false;
  std::string final_error_;
  std::thread thread_;  // last: started once the rest is built
};

}  // namespace

bool SplitCsvLine(std::string_view line, char delimiter, std::vector<std::string_view>* fields, std::string* storage) {
  fields->clear();
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find('"') == std::string_view::npos) {
    std::size_t i = 0;
    for (;;) {
      const std::size_t j = line.find(delimiter, i);
      if (j == std::string_view::npos) {
        fields->push_back(line.substr(i));
        return true;
      }
      fields->push_back(line.substr(i, j - i));
      i = j + 1;
    }
  }
  // Unquoted text is never longer than the line, so the views into storage
  // stay valid while it is filled.
  storage->assign(line.size(), '\0');
  char* out = storage->data();
  std::size_t w = 0;
  std::size_t i = 0;
  const std::size_t n = line.size();
  for (;;) {
    if (i < n && line[i] == '"') {
      ++i;
      const std::size_t start = w;
      bool closed = false;
      while (i < n) {
        if (line[i] != '"') {
          out[w++] = line[i++];
        } else if (i + 1 < n && line[i + 1] == '"') {
          out[w++] = '"';
          i += 2;
        } else {
          ++i;
          closed = true;
          break;
        }
      }
      if (!closed) return false;
      // Text between a closing quote and the delimiter is kept as written.
      while (i < n && line[i] != delimiter) out[w++] = line[i++];
      fields->emplace_back(out + start, w - start);
    } else {
      std::size_t j = line.find(delimiter, i);
      if (j == std::string_view::npos) j = n;
      fields->push_back(line.substr(i, j - i));
      i = j;
    }
    if (i >= n) return true;
    ++i;  // the delimiter
  }
}

CsvHeader::CsvHeader(const std::vector<std::string_view>& names) {
  names_.reserve(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    std::string_view name = names[i];
    if (i == 0 && name.substr(0, 3) == "\xEF\xBB\xBF") name.remove_prefix(3);
    names_.emplace_back(Trim(name));
  }
}

int CsvHeader::Find(std::string_view name) const {
  for (std::size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return static_cast<int>(i);
  }
  return -1;
}

int CsvHeader::Require(std::string_view name, const std::string& file) const {
  const int index = Find(name);
  if (index < 0) {
    throw InputError(file, 1, "missing required column '" + std::string(name) + "'");
  }
  return index;
}

// The open file behind a LineReader: a descriptor and, for gzip, ISA-L's
// inflate state and the compressed bytes read from the descriptor.
struct LineReader::Source {
  int fd = -1;
  bool gzip = false;
  bool named_gz_but_plain = false;
  bool checked = false;

  // gzip only. The members of the file are inflated one after another in
  // ISAL_GZIP mode, so that ISA-L verifies each member's trailer (CRC-32 and
  // ISIZE). Each member's header is parsed here with isal_read_gzip_header
  // and a header record that lives as long as the header does: ISA-L 2.30's
  // isal_inflate parses it with a fresh record on every call and so rejects
  // (as a header CRC mismatch) or misreads a header with FHCRC or optional
  // fields when it is split between two reads of the file.
  std::unique_ptr<inflate_state> inflate;
  isal_gzip_header header{};
  std::unique_ptr<std::uint8_t[]> in;  // kGzipInputBytes; inflate->next_in points into it
  bool in_eof = false;                 // read(2) returned 0
  bool done = false;                   // the last member ended with a good trailer
  // Inflates ahead in a thread; stopped before the state it uses goes.
  std::unique_ptr<ReadAhead> ahead;

  ~Source() {
    ahead.reset();
    if (fd >= 0) ::close(fd);
  }

  // Moves the unconsumed input to the front of `in` and reads more after it.
  // Returns "" or a read error.
  std::string ReadInput() {
    inflate_state& z = *inflate;
    const std::size_t keep = z.avail_in;
    if (keep > 0 && z.next_in != in.get()) std::memmove(in.get(), z.next_in, keep);
    z.next_in = in.get();
    ssize_t got;
    do {
      got = ::read(fd, in.get() + keep, kGzipInputBytes - keep);
    } while (got < 0 && errno == EINTR);
    if (got < 0) return std::string("read error: ") + std::strerror(errno);
    if (got == 0) in_eof = true;
    z.avail_in = static_cast<std::uint32_t>(keep + static_cast<std::size_t>(got));
    return "";
  }

  // Inflates straight into dst until room bytes are written or the stream
  // ends; returns the bytes written. A damaged stream sets *damage (the bytes
  // before the damage are still counted).
  std::size_t Inflate(char* dst, std::size_t room, std::string* damage) {
    inflate_state& z = *inflate;
    const auto ask = static_cast<std::uint32_t>(room < kMaxInflateOutBytes ? room : kMaxInflateOutBytes);
    z.next_out = reinterpret_cast<std::uint8_t*>(dst);
    z.avail_out = ask;
    int idle_calls = 0;
    while (z.avail_out > 0 && !done) {
      if (z.block_state == ISAL_BLOCK_FINISH) {
        // A member ended with a good trailer. Another member follows if the
        // next bytes are the gzip magic; anything else after a member is
        // ignored, as zlib's gzread does.
        if (z.avail_in < 2 && !in_eof) {
          *damage = ReadInput();
          if (!damage->empty()) break;
          continue;
        }
        if (z.avail_in >= 2 && z.next_in[0] == 0x1f && z.next_in[1] == 0x8b) {
          isal_inflate_reset(&z);  // keeps next_in/avail_in, next_out/avail_out, crc_flag
          isal_gzip_header_init(&header);
          continue;
        }
        done = true;
        break;
      }
      if (z.avail_in == 0 && !in_eof) {
        *damage = ReadInput();
        if (!damage->empty()) break;
      }
      if (z.wrapper_flag == 0) {  // in a member's header
        const int code = isal_read_gzip_header(&z, &header);
        if (code == ISAL_DECOMP_OK) continue;  // sets wrapper_flag: isal_inflate goes on from here
        if (code != ISAL_END_INPUT) {
          *damage = InflateError(code);
          break;
        }
        if (in_eof && z.avail_in == 0) {
          *damage = "unexpected end of file";
          break;
        }
        if (z.avail_in != 0 && ++idle_calls > 2) {  // END_INPUT uses all input; never seen
          *damage = "inflate makes no progress";
          break;
        }
        continue;  // all input used: read more
      }
      const std::uint32_t in_before = z.avail_in;
      const std::uint32_t out_before = z.avail_out;
      const int code = isal_inflate(&z);
      if (code != ISAL_DECOMP_OK) {
        *damage = InflateError(code);
        break;
      }
      if (z.block_state == ISAL_BLOCK_FINISH) continue;
      if (z.avail_in != in_before || z.avail_out != out_before) {
        idle_calls = 0;
      } else if (z.avail_in == 0 && in_eof) {
        *damage = "unexpected end of file";  // all input used, the member unfinished
        break;
      } else if (++idle_calls > 2) {
        *damage = "inflate makes no progress";
        break;
      }
    }
    return ask - z.avail_out;
  }

  // What ISA-L reports, in zlib's words where it has them (those the reader
  // gave before: "unknown compression method", "incorrect data check", ...).
  std::string InflateError(int code) const {
    const inflate_state& z = *inflate;
    switch (code) {
      case ISAL_INVALID_BLOCK:
        return "invalid deflate block";
      case ISAL_INVALID_SYMBOL:
        return "invalid code in deflate data";
      case ISAL_INVALID_LOOKBACK:
        return "invalid distance too far back";
      case ISAL_INVALID_WRAPPER:
        return "incorrect header check";
      case ISAL_UNSUPPORTED_METHOD:
        return "unknown compression method";
      case ISAL_NEED_DICT:
        return "needs a preset dictionary";
      case ISAL_INCORRECT_CHECKSUM: {
        if (z.block_state != ISAL_BLOCK_FINISH) return "header crc mismatch";
        // The trailer is the 8 bytes just before next_in; when they are
        // still in the input buffer, say which of its two fields is wrong.
        if (z.next_in - in.get() >= 8) {
          const std::uint8_t* trailer = z.next_in - 8;
          if (LoadLe32(trailer) != z.crc) return "incorrect data check";
          if (LoadLe32(trailer + 4) != z.total_out) return "incorrect length check";
        }
        return "incorrect data check or length";
      }
      default:
        return "inflate error " + std::to_string(code);
    }
  }
};

LineReader::LineReader(const std::string& path) : path_(path), source_(new Source) {
  source_->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (source_->fd < 0) {
    throw InputError(path_, 0, std::string("cannot open: ") + std::strerror(errno));
  }
  unsigned char magic[2] = {0, 0};
  ssize_t got;
  do {
    got = ::pread(source_->fd, magic, 2, 0);
  } while (got < 0 && errno == EINTR);
  if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    source_->gzip = true;
    source_->inflate = std::make_unique<inflate_state>();  // zeroed: a damaged stream reads nothing left over
    source_->in.reset(new std::uint8_t[kGzipInputBytes]);
    isal_inflate_init(source_->inflate.get());
    isal_gzip_header_init(&source_->header);
    source_->inflate->crc_flag = ISAL_GZIP;
    source_->inflate->next_in = source_->in.get();
    source_->inflate->avail_in = 0;
    Source* source = source_.get();
    source_->ahead = std::make_unique<ReadAhead>(
        [source](char* dst, std::size_t room, std::string* damage) { return source->Inflate(dst, room, damage); });
  } else if (got > 0 && EndsWith(path_, ".gz")) {
    source_->named_gz_but_plain = true;
  }
  buffer_.resize(kInitialBufferBytes);
}

LineReader::~LineReader() = default;

bool LineReader::is_gzip() const { return source_->gzip; }

bool LineReader::Fill() {
  char* dst = buffer_.data() + end_;
  const std::size_t room = buffer_.size() - end_;
  if (source_->gzip) {
    if (!pending_error_.empty()) throw InputError(path_, 0, pending_error_);
    std::string damage;
    const std::size_t got = source_->ahead->Take(dst, room, &damage);
    if (!damage.empty()) {
      const std::string error = "corrupt gzip stream: " + damage;
      // Hand out the complete lines decompressed before the damage first;
      // the error comes on the next read.
      if (got == 0) throw InputError(path_, 0, error);
      pending_error_ = error;
    }
    end_ += got;
    return got > 0;
  }
  ssize_t got;
  do {
    got = ::read(source_->fd, dst, room);
  } while (got < 0 && errno == EINTR);
  if (got < 0) throw InputError(path_, 0, std::string("read error: ") + std::strerror(errno));
  end_ += static_cast<std::size_t>(got);
  return got > 0;
}

bool LineReader::Next(std::string_view* line) {
  if (!source_->checked) {
    source_->checked = true;
    if (source_->named_gz_but_plain) {
      throw InputError(path_, 0, "named .gz but is not a gzip file");
    }
  }
  for (;;) {
    if (scan_ < end_) {
      const char* base = buffer_.data();
      const void* newline = std::memchr(base + scan_, '\n', end_ - scan_);
      if (newline != nullptr) {
        const std::size_t at = static_cast<std::size_t>(static_cast<const char*>(newline) - base);
        std::size_t stop = at;
        if (stop > begin_ && base[stop - 1] == '\r') --stop;
        *line = std::string_view(base + begin_, stop - begin_);
        begin_ = scan_ = at + 1;
        ++line_number_;
        return true;
      }
      scan_ = end_;
    }
    if (eof_) {
      if (begin_ == end_) return false;
      std::size_t stop = end_;
      if (buffer_[stop - 1] == '\r') --stop;
      *line = std::string_view(buffer_.data() + begin_, stop - begin_);
      begin_ = scan_ = end_;
      ++line_number_;
      return true;
    }
    if (begin_ > 0) {
      std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      scan_ -= begin_;
      begin_ = 0;
    }
    if (end_ == buffer_.size()) {
      if (buffer_.size() >= kMaxLineBytes) {
        throw InputError(path_, line_number_ + 1,
                         "line longer than " + std::to_string(kMaxLineBytes >> 20) + " MiB (not a text file?)");
      }
      buffer_.resize(buffer_.size() * 2);
    }
    if (!Fill()) eof_ = true;
  }
}

bool ParseInt64(std::string_view text, std::int64_t* value) {
  if (text.empty()) return false;
  const char* first = text.data();
  const char* last = first + text.size();
  std::int64_t parsed = 0;
  const auto [ptr, ec] = std::from_chars(first, last, parsed);
  if (ec != std::errc() || ptr != last) return false;
  *value = parsed;
  return true;
}

bool ParseDouble(std::string_view text, double* value) {
  if (text.empty()) return false;
  const char* first = text.data();
  const char* last = first + text.size();
  double parsed = 0.0;
  const auto [ptr, ec] = std::from_chars(first, last, parsed, std::chars_format::general);
  if (ec != std::errc() || ptr != last || !std::isfinite(parsed)) return false;
  *value = parsed;
  return true;
}

bool ParseBool(std::string_view text, bool* value) {
  if (text == "True" || text == "true" || text == "TRUE" || text == "1") {
    *value = true;
    return true;
  }
  if (text == "False" || text == "false" || text == "FALSE" || text == "0") {
    *value = false;
    return true;
  }
  return false;
}

std::string_view Trim(std::string_view text) {
  std::size_t begin = 0;
  std::size_t end = text.size();
  while (begin < end && (text[begin] == ' ' || text[begin] == '\t')) ++begin;
  while (end > begin &&
         (text[end - 1] == ' ' || text[end - 1] == '\t' || text[end - 1] == '\r' || text[end - 1] == '\n')) {
    --end;
  }
  return text.substr(begin, end - begin);
}

}  // namespace wattrun
