#include "util/progress.h"

#include <chrono>
#include <cstdio>

namespace cairn {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string HumanBytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  }
  return buf;
}

Progress::Progress(std::string label, uint64_t total_files, uint64_t total_bytes, bool enabled)
    : label_(std::move(label)),
      total_files_(total_files),
      total_bytes_(total_bytes),
      enabled_(enabled),
      start_(Now()) {
  if (enabled_) thread_ = std::thread([this] { Loop(); });
}

Progress::~Progress() {
  if (!enabled_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  Draw(true);
}

void Progress::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_; })) Draw(false);
}

void Progress::Draw(bool final) {
  uint64_t files = files_.load(std::memory_order_relaxed);
  uint64_t bytes = bytes_.load(std::memory_order_relaxed);
  double elapsed = Now() - start_;
  double rate = elapsed > 0 ? static_cast<double>(bytes) / elapsed : 0;
  double frac = total_bytes_ > 0 ? static_cast<double>(bytes) / static_cast<double>(total_bytes_)
                : total_files_ > 0 ? static_cast<double>(files) / static_cast<double>(total_files_)
                                   : 1.0;
  if (frac > 1) frac = 1;
  constexpr int kWidth = 24;
  int filled = static_cast<int>(frac * kWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kWidth - filled), '.');
  char eta[32] = "";
  if (!final && rate > 0 && total_bytes_ > bytes) {
    std::snprintf(eta, sizeof eta, " ETA %.0fs", static_cast<double>(total_bytes_ - bytes) / rate);
  }
  std::fprintf(stderr, "\r%s [%s] %3.0f%% %llu/%llu files, %s/%s, %s/s%s\033[K%s", label_.c_str(),
               bar.c_str(), frac * 100, static_cast<unsigned long long>(files),
               static_cast<unsigned long long>(total_files_), HumanBytes(bytes).c_str(),
               HumanBytes(total_bytes_).c_str(), HumanBytes(static_cast<uint64_t>(rate)).c_str(), eta,
               final ? "\n" : "");
  std::fflush(stderr);
}

}  // namespace cairn
