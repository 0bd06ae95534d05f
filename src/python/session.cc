#include "python/session.h"

#include "cairn/use_dataset.h"

namespace cairn::python {

void Raise(const Status& s) {
  std::string msg = s.message();
  if (!s.hint().empty()) msg += " (hint: " + s.hint() + ")";
  throw CairnError(msg);
}

Session::Session(const std::string& dir) {
  repo_ = Check(Repo::Open(dir));
  tracker_ = Check(Tracker::Open(*repo_));
  buffer_ = std::make_unique<MetricBuffer>(*tracker_, 100);
}

Session::~Session() {
  if (buffer_) (void)buffer_->Close();  // the destructor cannot report; Close() did if called
}

void Session::Close() {
  if (buffer_) Check(buffer_->Close());
}

std::string Session::StartRun(const std::string& experiment, const std::string& name,
                              const std::map<std::string, std::string>& params,
                              const std::map<std::string, std::string>& tags,
                              const std::vector<std::string>& inputs) {
  StartRunOptions o;
  o.experiment = experiment;
  o.name = name;
  o.params = params;
  o.tags = tags;
  o.inputs = inputs;
  return Check(tracker_->StartRun(o));
}

RunInfo Session::EndRun(const std::string& run, const std::string& status) {
  auto st = ParseRunStatus(status);
  if (!st || *st == RunStatus::kRunning) {
    throw CairnError("unknown end status '" + status + "' (FINISHED, FAILED or KILLED)");
  }
  Status flushed = Flush();
  RunInfo info = Check(tracker_->EndRun(run, *st));
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
  return Check(cairn::UseDataset(*tracker_, run, ref)).path.string();
}

}  // namespace cairn::python
