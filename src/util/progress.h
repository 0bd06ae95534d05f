// A progress bar on stderr: files, bytes, rate and ETA, redrawn ~10 times a
// second by a background thread. Disabled (no thread, no output) unless
// enabled at construction, which the CLI does only when stderr is a terminal.
// Add() is thread-safe and cheap (two relaxed atomic adds).
#ifndef CAIRN_UTIL_PROGRESS_H_
#define CAIRN_UTIL_PROGRESS_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace cairn {

class Progress {
 public:
  Progress(std::string label, uint64_t total_files, uint64_t total_bytes, bool enabled);
  ~Progress();  // draws the final state and ends the line
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void Add(uint64_t files, uint64_t bytes) {
    files_.fetch_add(files, std::memory_order_relaxed);
    bytes_.fetch_add(bytes, std::memory_order_relaxed);
  }
  void AddBytes(uint64_t bytes) { bytes_.fetch_add(bytes, std::memory_order_relaxed); }

 private:
  void Draw(bool final);
  void Loop();

  std::string label_;
  uint64_t total_files_, total_bytes_;
  bool enabled_;
  std::atomic<uint64_t> files_{0}, bytes_{0};
  double start_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// "1.5 GiB", "312 KiB", "17 B".
std::string HumanBytes(uint64_t bytes);

}  // namespace cairn

#endif  // CAIRN_UTIL_PROGRESS_H_
