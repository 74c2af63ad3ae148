#include "core/progress.h"

#include <chrono>
#include <cmath>

namespace wattrun {
namespace {

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string Amount(double v, ProgressUnit unit, const std::string& noun) {
  if (unit == ProgressUnit::kBytes) return FormatBytes(v);
  return FormatCount(static_cast<std::int64_t>(std::llround(v))) + " " + noun;
}

}  // namespace

void MakeOutputLineBuffered() {
  std::setvbuf(stdout, nullptr, _IOLBF, 1 << 16);
  std::setvbuf(stderr, nullptr, _IOLBF, 1 << 16);
}

std::string FormatBytes(double bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  int u = 0;
  while (std::fabs(bytes) >= 1000 && u < 5) {
    bytes /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

std::string FormatCount(std::int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string FormatDuration(double seconds) {
  char buf[48];
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  if (seconds < 10) {
    std::snprintf(buf, sizeof buf, "%.1f s", seconds);
  } else if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.0f s", seconds);
  } else if (seconds < 3600) {
    std::snprintf(buf, sizeof buf, "%d min %d s", static_cast<int>(seconds / 60), static_cast<int>(seconds) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%d h %d min", static_cast<int>(seconds / 3600),
                  static_cast<int>(seconds / 60) % 60);
  }
  return buf;
}

Progress::Progress(int rank, int ranks, ProgressOptions options)
    : rank_(rank), ranks_(ranks), options_(options), prints_(options.enabled && (rank == 0 || options.verbose)) {
  if (prints_) ticker_ = std::thread([this] { Tick(); });
}

Progress::~Progress() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

void Progress::Begin(const std::string& stage, std::int64_t local_total, std::int64_t global_total,
                     const std::string& noun, ProgressUnit unit) {
  {
    std::lock_guard lock(mutex_);
    stage_ = stage;
    noun_ = noun;
    unit_ = unit;
    local_total_ = local_total;
    global_total_ = global_total;
    done_.store(0);
    started_s_ = NowSeconds();
    running_ = true;
  }
  wake_.notify_all();
}

void Progress::End() {
  std::lock_guard lock(mutex_);
  if (!running_) return;
  if (prints_) std::fprintf(options_.out, "%s\n", LineLocked(true).c_str());
  running_ = false;
  wake_.notify_all();
}

std::string Progress::Line(bool final_line) const {
  std::lock_guard lock(mutex_);
  return LineLocked(final_line);
}

std::string Progress::LineLocked(bool final_line) const {
  const double elapsed = NowSeconds() - started_s_;
  const auto done = static_cast<double>(done_.load(std::memory_order_relaxed));
  const double rate = elapsed > 0 ? done / elapsed : 0;
  std::string line = "wattrun: ";
  if (ranks_ > 1 && options_.verbose) line += "rank " + std::to_string(rank_) + ": ";
  line += stage_ + ": ";
  const std::string share = ranks_ > 1 ? " on rank " + std::to_string(rank_) : "";
  const std::string all = ranks_ > 1 ? "; " + Amount(static_cast<double>(global_total_), unit_, noun_) + " on " +
                                           std::to_string(ranks_) + " ranks"
                                     : "";
  if (final_line) {
    line += "done, " + Amount(done, unit_, noun_) + share + (ranks_ > 1 ? " (" + all.substr(2) + ")" : "") + " in " +
            FormatDuration(elapsed);
  } else {
    const double total = static_cast<double>(local_total_);
    char pct[16];
    std::snprintf(pct, sizeof pct, "%.0f%%", total > 0 ? 100.0 * done / total : 0.0);
    const double eta = rate > 0 ? (total - done) / rate : -1;
    line += std::string(pct) + " (" + Amount(done, unit_, noun_) + " of " + Amount(total, unit_, noun_) + share + all +
            "), " + Amount(rate, unit_, noun_) + "/s, ETA " + FormatDuration(eta);
  }
  return line;
}

// Wakes every interval while a stage runs and prints its line.
void Progress::Tick() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    if (!running_) {
      wake_.wait(lock, [this] { return stop_ || running_; });
      continue;
    }
    const double started = started_s_;
    const bool woken_early = wake_.wait_for(lock, std::chrono::duration<double>(options_.interval_s),
                                            [this, started] { return stop_ || !running_ || started_s_ != started; });
    if (woken_early) continue;
    std::fprintf(options_.out, "%s\n", LineLocked(false).c_str());
  }
}

}  // namespace wattrun
