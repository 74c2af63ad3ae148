#include "core/csv.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>

#include "core/error.h"

namespace wattrun {

namespace {

constexpr std::size_t kInitialBufferBytes = std::size_t{1} << 20;
// A "line" longer than this is taken as a sign of a binary file.
constexpr std::size_t kMaxLineBytes = std::size_t{256} << 20;
constexpr unsigned kGzipBufferBytes = 1u << 18;

bool EndsWith(const std::string& text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         std::string_view(text).substr(text.size() - suffix.size()) == suffix;
}

}  // namespace

bool SplitCsvLine(std::string_view line, char delimiter, std::vector<std::string_view>* fields,
                  std::string* storage) {
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

// The open file behind a LineReader: a descriptor, or a zlib stream over it.
struct LineReader::Source {
  int fd = -1;
  gzFile gz = nullptr;
  bool gzip = false;
  bool named_gz_but_plain = false;
  bool checked = false;

  ~Source() {
    if (gz != nullptr) gzclose(gz);
    if (fd >= 0) ::close(fd);
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
    source_->gz = gzdopen(source_->fd, "rb");
    if (source_->gz == nullptr) {
      throw InputError(path_, 0, "cannot open gzip stream");
    }
    source_->fd = -1;  // now owned by the gzip stream
    gzbuffer(source_->gz, kGzipBufferBytes);
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
    const unsigned ask = room > (1u << 30) ? (1u << 30) : static_cast<unsigned>(room);
    if (!pending_error_.empty()) throw InputError(path_, 0, pending_error_);
    const int got = gzread(source_->gz, dst, ask);
    int code = Z_OK;
    const char* message = gzerror(source_->gz, &code);
    if (got < 0 || (code != Z_OK && code != Z_STREAM_END)) {
      const std::string error = std::string("corrupt gzip stream: ") +
                                (code == Z_BUF_ERROR ? "unexpected end of file" : message);
      // Hand out the complete lines decompressed before the damage first;
      // the error comes on the next read.
      if (got <= 0) throw InputError(path_, 0, error);
      pending_error_ = error;
    }
    end_ += static_cast<std::size_t>(got);
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
                         "line longer than " + std::to_string(kMaxLineBytes >> 20) +
                             " MiB (not a text file?)");
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
  while (end > begin && (text[end - 1] == ' ' || text[end - 1] == '\t' ||
                         text[end - 1] == '\r' || text[end - 1] == '\n')) {
    --end;
  }
  return text.substr(begin, end - begin);
}

}  // namespace wattrun
