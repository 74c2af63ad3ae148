#include "stages/generate/text_format.h"

#include <zlib.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "core/error.h"

namespace wattrun::generate {

void AppendInt(std::string* out, std::int64_t value) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out->append(buffer, result.ptr);
}

void AppendPadded(std::string* out, std::int64_t value, int width) {
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value < 0 ? -value : value);
  const int digits = static_cast<int>(result.ptr - buffer);
  if (value < 0) out->push_back('-');
  for (int i = digits; i < width; ++i) out->push_back('0');
  out->append(buffer, result.ptr);
}

void AppendDateTime(std::string* out, std::int64_t seconds, char separator) {
  const std::int64_t days = FloorDiv(seconds, 86400);
  const std::int64_t sod = seconds - days * 86400;
  const CivilDate c = CivilFromDays(days);
  AppendPadded(out, c.year, 4);
  out->push_back('-');
  AppendPadded(out, c.month, 2);
  out->push_back('-');
  AppendPadded(out, c.day, 2);
  out->push_back(separator);
  AppendPadded(out, sod / 3600, 2);
  out->push_back(':');
  AppendPadded(out, (sod / 60) % 60, 2);
  out->push_back(':');
  AppendPadded(out, sod % 60, 2);
}

std::string DateTime(std::int64_t seconds, char separator) {
  std::string out;
  AppendDateTime(&out, seconds, separator);
  return out;
}

std::string MonthLabel(std::int64_t days) {
  const CivilDate c = CivilFromDays(days);
  std::string out;
  AppendPadded(&out, c.year, 4);
  out.push_back('-');
  AppendPadded(&out, c.month, 2);
  return out;
}

std::string FormatDouble(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

std::string FormatFixed(double value, int decimals) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::fixed, decimals);
  return std::string(buffer, result.ptr);
}

std::string CsvField(std::string_view value) {
  if (value.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(value);
  std::string out = "\"";
  for (const char c : value) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

struct OutputFile::Gzip {
  z_stream stream{};
  std::unique_ptr<unsigned char[]> out;
  std::size_t out_size = 1 << 20;
};

OutputFile::OutputFile(const std::string& path, bool gzip, std::size_t buffer_bytes)
    : path_(path), buffer_(new char[buffer_bytes]), capacity_(buffer_bytes) {
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr) {
    throw Error("cannot create " + path + ": " + std::strerror(errno));
  }
  if (gzip) {
    gzip_ = std::make_unique<Gzip>();
    gzip_->out.reset(new unsigned char[gzip_->out_size]);
    // windowBits 15 + 16: a gzip wrapper with no name and mtime 0, so that
    // the bytes depend on the content only. Level 1: speed over size.
    if (deflateInit2(&gzip_->stream, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      std::fclose(file_);
      throw Error("zlib deflateInit2 failed for " + path);
    }
  }
}

OutputFile::~OutputFile() {
  if (gzip_) deflateEnd(&gzip_->stream);
  if (file_ != nullptr) std::fclose(file_);
}

void OutputFile::Drain(bool finish) {
  if (!gzip_) {
    if (used_ > 0 && std::fwrite(buffer_.get(), 1, used_, file_) != used_) {
      throw Error("write failed for " + path_ + ": " + std::strerror(errno));
    }
    on_disk_ += static_cast<std::int64_t>(used_);
    return;
  }
  z_stream& z = gzip_->stream;
  z.next_in = reinterpret_cast<unsigned char*>(buffer_.get());
  z.avail_in = static_cast<uInt>(used_);
  int status = Z_OK;
  do {
    z.next_out = gzip_->out.get();
    z.avail_out = static_cast<uInt>(gzip_->out_size);
    status = deflate(&z, finish ? Z_FINISH : Z_NO_FLUSH);
    if (status == Z_STREAM_ERROR) throw Error("zlib deflate failed for " + path_);
    const std::size_t produced = gzip_->out_size - z.avail_out;
    if (produced > 0 && std::fwrite(gzip_->out.get(), 1, produced, file_) != produced) {
      throw Error("write failed for " + path_ + ": " + std::strerror(errno));
    }
    on_disk_ += static_cast<std::int64_t>(produced);
  } while (z.avail_in > 0 || (finish && status != Z_STREAM_END) || z.avail_out == 0);
}

void OutputFile::Flush(std::size_t need) {
  Drain(false);
  uncompressed_ += static_cast<std::int64_t>(used_);
  used_ = 0;
  if (need > capacity_) {
    capacity_ = need;
    buffer_.reset(new char[capacity_]);
  }
}

std::int64_t OutputFile::Close() {
  if (file_ == nullptr) return on_disk_;
  Drain(true);
  uncompressed_ += static_cast<std::int64_t>(used_);
  used_ = 0;
  if (gzip_) {
    deflateEnd(&gzip_->stream);
    gzip_.reset();
  }
  const int rc = std::fclose(file_);
  file_ = nullptr;
  if (rc != 0) throw Error("close failed for " + path_ + ": " + std::strerror(errno));
  return on_disk_;
}

}  // namespace wattrun::generate
