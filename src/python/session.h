// The state behind the Python module: one repository, its tracker and a
// metric buffer per Session (python/cairn/session.py holds one per process,
// reopened when the tracking URI changes, and one per repository a Client
// names; the fluent API and the client, python/cairn/fluent.py and
// client.py, call it). Errors become CairnError, the Python exception the
// package re-exports.
#ifndef CAIRN_PYTHON_SESSION_H_
#define CAIRN_PYTHON_SESSION_H_

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cairn/repo.h"
#include "cairn/status.h"
#include "cairn/tracking.h"

namespace cairn::python {

class CairnError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws CairnError with the status's message and hint.
[[noreturn]] void Raise(const Status& s);

template <typename T>
T Check(Result<T> r) {
  if (!r.ok()) Raise(r.status());
  return std::move(r).value();
}

inline void Check(const Status& s) {
  if (!s.ok()) Raise(s);
}

// A repository and its tracker, with a metric buffer flushed in the
// background every 100 ms. Thread-safe as the Tracker is; callers release
// the GIL around calls that touch the disk.
class Session {
 public:
  // Opens the repository containing `dir` (searching upwards).
  explicit Session(const std::string& dir);
  ~Session();  // closes, dropping the buffer's last error: call Close() to see it

  // Writes what is buffered and stops the buffer; throws the first write
  // error since the last flush. Later metric points are refused. Idempotent.
  void Close();

  std::string Root() const { return repo_->root().string(); }
  Tracker& tracker() { return *tracker_; }

  std::string StartRun(const std::string& experiment, const std::string& name,
                       const std::map<std::string, std::string>& params,
                       const std::map<std::string, std::string>& tags, const std::vector<std::string>& inputs);

  // Ends the run even when writing its buffered metrics failed, then throws
  // that error: a failed last batch must not leave the run RUNNING, nor pass
  // unnoticed.
  RunInfo EndRun(const std::string& run, const std::string& status);

  // Buffers one point (the hot path: validates the key only when it changes).
  void LogMetric(const std::string& run, const std::string& key, double value, int64_t step, int64_t ts);

  // Writes points now, after what is buffered (log_batch keeps their order).
  void LogMetricsNow(const std::string& run, const std::vector<MetricPoint>& points);

  // Writes buffered points; returns the first write error since the last flush.
  Status Flush();

  // Records `ref` as an input of `run` and returns a local path holding that
  // version (cairn/use_dataset.h: the workspace copy when it is exactly that
  // version, else a read-only copy, fetched from the default remote first
  // when the cache lacks it).
  std::string UseDataset(const std::string& run, const std::string& ref);

 private:
  std::unique_ptr<Repo> repo_;
  std::unique_ptr<Tracker> tracker_;
  std::unique_ptr<MetricBuffer> buffer_;
  std::string last_key_;
};

}  // namespace cairn::python

#endif  // CAIRN_PYTHON_SESSION_H_
