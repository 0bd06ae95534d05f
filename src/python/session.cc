#include "python/session.h"

#include <unistd.h>

#include <filesystem>
#include <system_error>
#include <utility>

#include "cairn/use_dataset.h"
#include "cairn/use_model.h"

namespace cairn::python {

void Raise(const Status& s) {
  std::string msg = s.message();
  if (!s.hint().empty()) msg += " (hint: " + s.hint() + ")";
  throw CairnError(msg);
}

Session::Session(const std::string& dir, int64_t heartbeat_interval_ms)
    : heartbeat_interval_ms_(heartbeat_interval_ms > 0 ? heartbeat_interval_ms : kHeartbeatIntervalMs),
      keeper_pid_(::getpid()),
      pid_(::getpid()) {
  repo_ = Check(Repo::Open(dir));
  tracker_ = Check(Tracker::Open(*repo_));
  buffer_ = std::make_unique<MetricBuffer>(*tracker_, 100);
}

Session::~Session() {
  if (Abandon()) return;
  StopHeartbeats({});  // before the tracker they call goes
  if (buffer_) (void)buffer_->Close();  // the destructor cannot report; Close() did if called
}

void Session::Close() {
  if (Abandon()) return;
  StopHeartbeats({});
  if (buffer_) Check(buffer_->Close());
}

bool Session::Abandon() {
  if (::getpid() == pid_) return false;
  // A forked child's copy: its threads are the parent's (they do not exist
  // here, and a lock one of them held stays locked), its buffered points
  // the parent writes, its database connection the parent's. Nothing of it
  // is used, stopped or freed here.
  (void)keeper_.release();
  (void)buffer_.release();
  (void)tracker_.release();
  (void)repo_.release();
  return true;
}

std::string Session::StartRun(const std::string& experiment, const std::string& name,
                              const std::map<std::string, std::string>& params,
                              const std::map<std::string, std::string>& tags,
                              const std::vector<std::string>& inputs, int64_t start_ms, bool detached,
                              const std::string& code_dir, const std::string& command,
                              const std::string& cwd, const std::map<std::string, std::string>& env) {
  StartRunOptions o;
  o.env = env;
  o.command = command;
  if (!cwd.empty()) {
    std::error_code ec;  // as 'cairn run': relative to the root (".." steps when outside it)
    o.cwd = std::filesystem::relative(cwd, repo_->root(), ec).generic_string();
    if (ec || o.cwd.empty()) o.cwd = cwd;
  }
  o.code_dir = code_dir;
  o.detached = detached;
  o.experiment = experiment;
  o.name = name;
  o.params = params;
  o.tags = tags;
  o.inputs = inputs;
  o.start_ms = start_ms;
  std::vector<std::string> warnings;
  o.on_warning = [&warnings](const std::string& w) { warnings.push_back(w); };
  std::string id = Check(tracker_->StartRun(o));
  {
    std::lock_guard lock(mu_);
    warnings_.insert(warnings_.end(), warnings.begin(), warnings.end());
  }
  Keep(id, /*beat_now=*/false);  // its start is its first beat
  return id;
}

void Session::KeepAlive(const std::string& run) {
  // A full id needs no lookup (StartRun's, on the hot path of a sweep).
  std::string id = ValidateRunId(run).ok() ? run : Check(tracker_->ResolveRunId(run));
  Keep(id, /*beat_now=*/true);
}

void Session::Keep(const std::string& id, bool beat_now) {
  std::lock_guard lock(mu_);
  if (keeper_ && keeper_pid_ != ::getpid()) {
    // A forked child: the keeper it inherited names a thread of the parent,
    // which it cannot use, join or stop. Its own runs get a keeper of its own.
    (void)keeper_.release();
  }
  if (!keeper_) {
    keeper_ = std::make_unique<HeartbeatKeeper>(*tracker_, heartbeat_interval_ms_);
    keeper_pid_ = ::getpid();
  }
  keeper_->Keep(id, beat_now);
}

void Session::StopHeartbeats(const std::string& run) {
  std::unique_ptr<HeartbeatKeeper> stopping;
  {
    std::lock_guard lock(mu_);
    if (!keeper_) return;
    if (keeper_pid_ != ::getpid()) {
      // A forked child's copy of its parent's keeper (see Keep): left alone.
      if (run.empty()) (void)keeper_.release();
      return;
    }
    if (!run.empty()) {
      keeper_->Release(run);
      CollectHeartbeatErrors();
      return;
    }
    CollectHeartbeatErrors();
    stopping = std::move(keeper_);
  }
  // Joined outside the lock: a beat in progress may take a while.
  Status s = stopping->Stop();
  if (!s.ok()) {
    std::lock_guard lock(mu_);
    warnings_.push_back("heartbeat: " + s.message());
  }
}

void Session::CollectHeartbeatErrors() {
  for (auto& [id, s] : keeper_->TakeErrors()) warnings_.push_back("heartbeat of run " + id + ": " + s.message());
}

std::vector<std::string> Session::TakeWarnings() {
  std::lock_guard lock(mu_);
  if (keeper_ && keeper_pid_ == ::getpid()) CollectHeartbeatErrors();
  return std::exchange(warnings_, {});
}

RunInfo Session::EndRun(const std::string& run, const std::string& status, int64_t end_ms) {
  auto st = ParseRunStatus(status);
  if (!st || *st == RunStatus::kRunning) {
    throw CairnError("unknown end status '" + status + "' (FINISHED, FAILED or KILLED)");
  }
  Status flushed = Flush();
  auto ended = tracker_->EndRun(run, *st, std::nullopt, end_ms);
  // A run that has ended (here or elsewhere) needs no more beats; one that
  // could not end (a bad end time) keeps them.
  if (ended.ok()) {
    StopHeartbeats(ended->id);
  } else if (ended.status().code() == Code::kFailedPrecondition) {
    if (auto id = tracker_->ResolveRunId(run); id.ok()) StopHeartbeats(*id);
  }
  RunInfo info = Check(std::move(ended));
  Check(flushed.WithContext("writing buffered metrics (run " + info.id + " was ended all the same)"));
  return info;
}

void Session::LogMetric(const std::string& run, const std::string& key, double value, int64_t step, int64_t ts) {
  if (key != last_key_) {
    Check(ValidateMetricKey(key).WithContext("metric"));
    last_key_ = key;
  }
  buffer_->Add(run, MetricPoint{key, value, step, ts});
}

void Session::LogMetricsNow(const std::string& run, const std::vector<MetricPoint>& points) {
  for (const MetricPoint& p : points) Check(ValidateMetricKey(p.key).WithContext("metric"));
  Check(Flush());
  Check(tracker_->LogMetrics(run, points));
}

Status Session::Flush() { return buffer_ ? buffer_->Flush() : Status::OK(); }

std::string Session::UseDataset(const std::string& run, const std::string& ref) {
  UseDatasetOptions options;
  // Notes (a changed copy made again) reach the user as warnings, like the
  // background threads' errors.
  options.message = [this](const std::string& note) {
    std::lock_guard lock(mu_);
    warnings_.push_back(note);
  };
  return Check(cairn::UseDataset(*tracker_, run, ref, options)).path.string();
}

std::string Session::UseModel(const std::string& run, const std::string& ref) {
  return Check(cairn::UseModel(*tracker_, run, ref)).path.string();
}

}  // namespace cairn::python
