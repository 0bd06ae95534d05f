// The state behind the Python module: one repository, its tracker, a
// metric buffer and the heartbeats of the runs it owns per Session
// (python/cairn/session.py holds one per process, reopened when the
// tracking URI changes, and one per repository a Client names; the fluent
// API and the client, python/cairn/fluent.py and client.py, call it).
// Errors become CairnError, the Python exception the package re-exports.
#ifndef CAIRN_PYTHON_SESSION_H_
#define CAIRN_PYTHON_SESSION_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <mutex>
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
// background every 100 ms, and a HeartbeatKeeper beating every run the Session
// started or was told to keep alive, from its start until it ends here (or
// the Session closes), so the liveness check (doc/tracking.md, "Liveness")
// never reaps a run whose Python process is alive, and reaps it when the
// process dies. Those threads only call the tracker, never Python.
// Thread-safe as the Tracker is; callers release the GIL around calls that
// touch the disk or wait for a thread.
class Session {
 public:
  // Opens the repository containing `dir` (searching upwards). Runs beat
  // every `heartbeat_interval_ms` (0: kHeartbeatIntervalMs).
  explicit Session(const std::string& dir, int64_t heartbeat_interval_ms = 0);
  ~Session();  // closes, dropping the buffer's last error: call Close() to see it

  // Stops the heartbeats (runs still RUNNING stay so: the liveness check
  // ends them once this process is gone), writes what is buffered and stops
  // the buffer; throws the first write error since the last flush. Later
  // metric points are refused. Idempotent.
  void Close();

  std::string Root() const { return repo_->root().string(); }
  Tracker& tracker() { return *tracker_; }

  // Starts a run owned by this process (start time `start_ms`, 0: now), or
  // with no owner process when `detached` (see StartRunOptions), and keeps
  // it alive until EndRun. `code_dir` holds the code that runs (the main
  // script's directory): its git state and, when it lies in this
  // repository, the workspace inputs are recorded (StartRunOptions::code_dir).
  // `command` is the shell-quoted command line of the process (as 'cairn
  // run' records one); `cwd` its absolute working directory, recorded
  // relative to the repository root as 'cairn run' does ("." at the root).
  // `env` holds the front end's environment facts (the interpreter and its
  // packages), recorded with the start (StartRunOptions::env).
  std::string StartRun(const std::string& experiment, const std::string& name,
                       const std::map<std::string, std::string>& params,
                       const std::map<std::string, std::string>& tags, const std::vector<std::string>& inputs,
                       int64_t start_ms = 0, bool detached = false, const std::string& code_dir = {},
                       const std::string& command = {}, const std::string& cwd = {},
                       const std::map<std::string, std::string>& env = {});

  // Keeps a RUNNING run alive from now until EndRun or Close (MLflow's
  // start_run(run_id=) resuming a run). Idempotent.
  void KeepAlive(const std::string& run);

  // Ends the run (end time `end_ms`, 0: now) even when writing its buffered
  // metrics failed, then throws that error: a failed last batch must not
  // leave the run RUNNING, nor pass unnoticed. Its heartbeat stops once it
  // has ended.
  RunInfo EndRun(const std::string& run, const std::string& status, int64_t end_ms = 0);

  // What went wrong in the background since the last call (a heartbeat that
  // could not be written) and use_dataset's notes, one message each, for the
  // front end to warn with.
  std::vector<std::string> TakeWarnings();

  // Buffers one point (the hot path: validates the key only when it changes).
  void LogMetric(const std::string& run, const std::string& key, double value, int64_t step, int64_t ts);

  // Writes points now, after what is buffered (log_batch keeps their order).
  void LogMetricsNow(const std::string& run, const std::vector<MetricPoint>& points);

  // Around a fork (os.register_at_fork): before it, waits until no
  // background write of this session is under way and holds them back;
  // after it, in the parent, lets them go on. The child never uses this
  // session (see Abandon).
  void PauseForFork() { tracker_->PauseForFork(); }
  void ResumeAfterFork() { tracker_->ResumeAfterFork(); }

  // Writes buffered points; returns the first write error since the last flush.
  Status Flush();

  // Records `ref` as an input of `run` and returns a local path holding that
  // version (cairn/use_dataset.h: the workspace copy when it is exactly that
  // version, else a read-only copy, fetched from the default remote first
  // when the cache lacks it). Its notes for the user (a changed copy made
  // again) are kept for TakeWarnings.
  std::string UseDataset(const std::string& run, const std::string& ref);
  // Records a model version (`ref`: model:NAME@ALIAS, NAME@3, models:/NAME@ALIAS,
  // models:/NAME/3) as an input of `run` and returns the path of its
  // artifact in a read-only copy (cairn/use_model.h).
  std::string UseModel(const std::string& run, const std::string& ref);

 private:
  // Stops the heartbeat of `run` (all runs' when empty), keeping its error
  // for TakeWarnings.
  void StopHeartbeats(const std::string& run);
  // Keeps `id` (a full run id) alive in keeper_, made at the first run.
  void Keep(const std::string& id, bool beat_now);
  // Moves the keeper's errors to warnings_ (mu_ held, keeper_ set).
  void CollectHeartbeatErrors();
  // In a process forked from the one that opened the session: leaks every
  // member (see the definition) and returns true. The Python module opens a
  // new session in a forked child; this one must never be used there.
  bool Abandon();

  std::unique_ptr<Repo> repo_;
  std::unique_ptr<Tracker> tracker_;
  std::unique_ptr<MetricBuffer> buffer_;
  std::string last_key_;
  int64_t heartbeat_interval_ms_;
  pid_t keeper_pid_;  // the process whose thread keeper_'s is: a forked child has none of them
  pid_t pid_;         // the process that opened the session (see Abandon)
  std::mutex mu_;  // guards keeper_ and warnings_
  std::unique_ptr<HeartbeatKeeper> keeper_;  // made with the first run kept
  std::vector<std::string> warnings_;
};

}  // namespace cairn::python

#endif  // CAIRN_PYTHON_SESSION_H_
