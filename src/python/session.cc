#include "python/session.h"

#include <stdlib.h>

#include <filesystem>

#include "cairn/dataset.h"
#include "cairn/object.h"
#include "util/file.h"

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
  RunInput in = Check(tracker_->AddInput(run, ref));
  ResolvedRef resolved = Check(ResolveRef(*repo_, ref));
  // The workspace copy, when it holds exactly this version.
  if (!resolved.path.empty()) {
    auto tracked = FindTracked(*repo_, {repo_->Abs(resolved.path).string()});
    if (tracked.ok() && tracked->size() == 1 && (*tracked)[0].pointer.version == in.version) {
      auto st = GetStatus(*repo_, {repo_->Abs(resolved.path).string()}, {});
      if (st.ok() && st->size() == 1 && (*st)[0].state == TrackedState::kClean) {
        return repo_->Abs(resolved.path).string();
      }
    }
  }
  return Materialize(in.version);
}

// A read-only copy (files 0444) of a version under .cairn/datasets/<version>,
// made once: built in a private temp directory and renamed into place, so
// concurrent users never see a partial copy.
std::string Session::Materialize(const Oid& version_oid) {
  namespace fs = std::filesystem;
  Version v = Check(LoadVersion(*repo_, version_oid));
  Tree files = Check(LoadFiles(*repo_, v));
  fs::path root = repo_->cairn_dir() / "datasets" / version_oid.Hex();
  std::string name = v.filename.empty() ? "data" : v.filename;
  fs::path result = v.kind == ObjectKind::kBlob ? root / name : root;
  std::error_code ec;
  if (fs::exists(root, ec)) return result.string();
  fs::create_directories(repo_->tmp_dir(), ec);
  std::string tmpl = (repo_->tmp_dir() / "dataset-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw CairnError("cannot create a directory in " + repo_->tmp_dir().string());
  fs::path tmp = tmpl;
  WriteRoot tmp_root(tmp);
  for (const TreeEntry& e : files.entries) {
    auto dest_or = tmp_root.ResolveAndMakeParents(v.kind == ObjectKind::kBlob ? name : e.path);
    if (!dest_or.ok()) {
      fs::remove_all(tmp, ec);
      Raise(dest_or.status());
    }
    const fs::path& dest = *dest_or;
    Status s = repo_->store().Materialize(e.oid, dest, LinkMode::kCopy, e.executable);
    if (s.ok()) {
      fs::permissions(dest, fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write,
                      fs::perm_options::remove, ec);
    }
    if (!s.ok()) {
      fs::remove_all(tmp, ec);
      Raise(s);
    }
  }
  fs::create_directories(root.parent_path(), ec);
  fs::rename(tmp, root, ec);
  if (ec) {
    fs::remove_all(tmp, ec);  // another process made the copy first: use it
    if (!fs::exists(root)) throw CairnError("cannot create " + root.string());
  }
  return result.string();
}

}  // namespace cairn::python
