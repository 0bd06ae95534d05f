// Heartbeats of running runs, refreshed from one background thread per
// keeper: HeartbeatKeeper (many runs: a Python process's) and RunHeartbeat
// (one run: `cairn run`'s, a pipeline stage's).
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "cairn/tracking.h"

namespace cairn {

struct HeartbeatKeeper::Impl {
  using Clock = std::chrono::steady_clock;

  Tracker& tracker;
  const std::chrono::milliseconds interval;
  std::mutex mu;  // guards everything below
  std::condition_variable cv;
  std::set<std::string> runs;    // kept
  std::set<std::string> urgent;  // kept, to beat at once
  std::vector<std::pair<std::string, Status>> errors;
  bool stop = false;
  std::thread thread;

  Impl(Tracker& t, int64_t interval_ms) : tracker(t), interval(interval_ms > 0 ? interval_ms : kHeartbeatIntervalMs) {}

  void Loop() {
    std::unique_lock l(mu);
    Clock::time_point next = Clock::now() + interval;
    while (!stop) {
      cv.wait_until(l, next, [this] { return stop || !urgent.empty(); });
      if (stop) break;
      std::vector<std::string> batch;
      if (Clock::now() >= next) {
        batch.assign(runs.begin(), runs.end());
        next = Clock::now() + interval;
      } else {
        batch.assign(urgent.begin(), urgent.end());
      }
      urgent.clear();
      // Beats are written without the lock: Keep and Release never wait for the disk.
      l.unlock();
      std::vector<std::pair<std::string, Status>> done;
      for (const std::string& run : batch) done.emplace_back(run, tracker.Heartbeat(run));
      l.lock();
      for (auto& [run, s] : done) {
        if (s.code() == Code::kFailedPrecondition) {
          runs.erase(run);  // it has ended: it needs no more beats
        } else if (!s.ok() && runs.count(run)) {
          errors.emplace_back(run, std::move(s));
        }
      }
    }
  }
};

HeartbeatKeeper::HeartbeatKeeper(Tracker& tracker, int64_t interval_ms)
    : impl_(std::make_unique<Impl>(tracker, interval_ms)) {}

HeartbeatKeeper::~HeartbeatKeeper() {
  Status ignored = Stop();  // callers that care call Stop() or TakeErrors() first
  (void)ignored;
}

void HeartbeatKeeper::Keep(const std::string& run, bool beat_now) {
  {
    std::lock_guard l(impl_->mu);
    impl_->runs.insert(run);
    if (beat_now) impl_->urgent.insert(run);
    // Not while a Stop is under way (it forgets this run too).
    if (!impl_->stop && !impl_->thread.joinable()) impl_->thread = std::thread([this] { impl_->Loop(); });
  }
  if (beat_now) impl_->cv.notify_all();
}

void HeartbeatKeeper::Release(const std::string& run) {
  std::lock_guard l(impl_->mu);
  impl_->runs.erase(run);
  impl_->urgent.erase(run);
}

std::vector<std::pair<std::string, Status>> HeartbeatKeeper::TakeErrors() {
  std::lock_guard l(impl_->mu);
  return std::exchange(impl_->errors, {});
}

Status HeartbeatKeeper::Stop() {
  std::thread thread;
  {
    std::lock_guard l(impl_->mu);
    impl_->stop = true;
    thread = std::move(impl_->thread);
  }
  impl_->cv.notify_all();
  if (thread.joinable()) thread.join();
  std::lock_guard l(impl_->mu);
  impl_->stop = false;
  impl_->runs.clear();
  impl_->urgent.clear();
  Status first = impl_->errors.empty() ? Status::OK() : impl_->errors.front().second;
  impl_->errors.clear();
  return first;
}

RunHeartbeat::RunHeartbeat(Tracker& tracker, std::string run, int64_t interval_ms) : keeper_(tracker, interval_ms) {
  keeper_.Keep(run, /*beat_now=*/true);
}

RunHeartbeat::~RunHeartbeat() = default;  // the keeper stops

Status RunHeartbeat::Stop() { return keeper_.Stop(); }

}  // namespace cairn
