// MetricBuffer: metric points batched in memory and written from a
// background thread.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "cairn/tracking.h"

namespace cairn {

struct MetricBuffer::Impl {
  Tracker& tracker;
  int interval_ms;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<std::string, MetricPoint>> pending;
  Status error;
  bool stop = false;
  std::mutex write_mu;  // keeps batches in order
  std::thread thread;

  Impl(Tracker& t, int interval) : tracker(t), interval_ms(interval) {}

  Status WriteBatch() {
    std::lock_guard write_lock(write_mu);
    std::vector<std::pair<std::string, MetricPoint>> batch;
    {
      std::lock_guard l(mu);
      batch.swap(pending);
    }
    if (batch.empty()) return Status::OK();
    // Group by run, keeping each run's points in the order they were logged.
    bool one_run = std::all_of(batch.begin(), batch.end(), [&](const auto& p) { return p.first == batch[0].first; });
    if (!one_run) {
      std::stable_sort(batch.begin(), batch.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    }
    Status first;
    size_t i = 0;
    while (i < batch.size()) {
      size_t j = i;
      std::vector<MetricPoint> points;
      while (j < batch.size() && batch[j].first == batch[i].first) points.push_back(std::move(batch[j++].second));
      Status s = tracker.LogMetrics(batch[i].first, points);
      if (!s.ok() && first.ok()) first = s;
      i = j;
    }
    return first;
  }

  void Loop() {
    std::unique_lock l(mu);
    while (!stop) {
      cv.wait_for(l, std::chrono::milliseconds(interval_ms));
      if (pending.empty()) continue;
      l.unlock();
      Status s = WriteBatch();
      l.lock();
      if (!s.ok() && error.ok()) error = s;
    }
  }
};

MetricBuffer::MetricBuffer(Tracker& tracker, int interval_ms)
    : impl_(std::make_unique<Impl>(tracker, interval_ms)) {
  impl_->thread = std::thread([this] { impl_->Loop(); });
}

MetricBuffer::~MetricBuffer() {
  Status ignored = Close();  // callers that care call Close() first
  (void)ignored;
}

Status MetricBuffer::Close() {
  {
    std::lock_guard l(impl_->mu);
    if (impl_->stop) return Status::OK();
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  impl_->thread.join();
  Status s = impl_->WriteBatch();
  std::lock_guard l(impl_->mu);
  Status earlier = impl_->error;
  impl_->error = Status::OK();
  return earlier.ok() ? s : earlier;
}

void MetricBuffer::Add(const std::string& run, MetricPoint point) {
  if (point.timestamp_ms == 0) point.timestamp_ms = NowMs();
  std::lock_guard l(impl_->mu);
  impl_->pending.emplace_back(run, std::move(point));
}

Status MetricBuffer::Flush() {
  Status s = impl_->WriteBatch();
  std::lock_guard l(impl_->mu);
  Status earlier = impl_->error;
  impl_->error = Status::OK();
  return earlier.ok() ? s : earlier;
}

}  // namespace cairn
