// _cairn: the Python binding of the tracking library. The public Python API
// (python/cairn/__init__.py) wraps one Session per process.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <stdlib.h>

#include <filesystem>

#include "cairn/dataset.h"
#include "cairn/object.h"
#include "cairn/repo.h"
#include "cairn/tracking.h"
#include "util/file.h"

namespace py = pybind11;

namespace cairn {
namespace {

class CairnError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] void Raise(const Status& s) {
  std::string msg = s.message();
  if (!s.hint().empty()) msg += " (hint: " + s.hint() + ")";
  throw CairnError(msg);
}

template <typename T>
T Check(Result<T> r) {
  if (!r.ok()) Raise(r.status());
  return std::move(r).value();
}

void Check(const Status& s) {
  if (!s.ok()) Raise(s);
}

py::object MetricValue(double v) { return py::float_(v); }

py::dict RunDict(const RunInfo& r) {
  py::dict d;
  d["id"] = r.id;
  d["name"] = r.name;
  d["experiment"] = r.experiment;
  d["experiment_id"] = r.experiment_id;
  d["status"] = RunStatusName(r.status);
  d["start_time"] = r.start_ms;
  d["end_time"] = r.end_ms ? py::object(py::int_(r.end_ms)) : py::object(py::none());
  d["user"] = r.user;
  d["deleted"] = r.deleted;
  d["exit_code"] = r.exit_code ? py::object(py::int_(*r.exit_code)) : py::object(py::none());
  d["command"] = r.command;
  d["params"] = r.params;
  d["tags"] = r.tags;
  py::dict metrics, steps;
  for (const auto& [k, m] : r.metrics) {
    metrics[py::str(k)] = MetricValue(m.value);
    steps[py::str(k)] = m.step;
  }
  d["metrics"] = metrics;
  d["metric_steps"] = steps;
  py::list inputs;
  for (const RunInput& in : r.inputs) {
    py::dict i;
    i["dataset"] = in.dataset;
    i["version"] = in.version.ToString();
    i["tag"] = in.tag;
    i["source"] = in.source;
    inputs.append(i);
  }
  d["inputs"] = inputs;
  py::list arts;
  for (const RunArtifact& a : r.artifacts) {
    py::dict i;
    i["path"] = a.path;
    i["oid"] = a.oid.ToString();
    i["size"] = a.size;
    arts.append(i);
  }
  d["artifacts"] = arts;
  d["env"] = r.env;
  return d;
}

// One repository and its tracker, with a metric buffer flushed in the
// background every 100 ms.
class Session {
 public:
  explicit Session(const std::string& dir) {
    repo_ = Check(Repo::Open(dir));
    tracker_ = Check(Tracker::Open(*repo_));
    buffer_ = std::make_unique<MetricBuffer>(*tracker_, 100);
  }
  ~Session() { Close(); }

  void Close() {
    buffer_.reset();  // flushes
  }

  std::string Root() const { return repo_->root().string(); }

  std::string StartRun(const std::string& experiment, const std::string& name,
                       const std::map<std::string, std::string>& params,
                       const std::map<std::string, std::string>& tags, const std::vector<std::string>& inputs) {
    StartRunOptions o;
    o.experiment = experiment;
    o.name = name;
    o.params = params;
    o.tags = tags;
    o.inputs = inputs;
    return Check(tracker_->StartRun(o));
  }

  py::dict EndRun(const std::string& run, const std::string& status) {
    auto st = ParseRunStatus(status);
    if (!st) throw CairnError("unknown status '" + status + "' (FINISHED, FAILED or KILLED)");
    Check(Flush());
    return RunDict(Check(tracker_->EndRun(run, *st)));
  }

  void LogMetric(const std::string& run, const std::string& key, double value, int64_t step, int64_t ts) {
    if (key != last_key_) {
      Check(ValidateMetricKey(key).WithContext("metric"));
      last_key_ = key;
    }
    buffer_->Add(run, MetricPoint{key, value, step, ts});
  }

  Status Flush() { return buffer_ ? buffer_->Flush() : Status::OK(); }

  std::string UseDataset(const std::string& run, const std::string& ref) {
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

  Tracker& tracker() { return *tracker_; }

 private:
  // A read-only copy (files 0444) of a version under
  // .cairn/datasets/<version>, made once: built in a private temp directory
  // and renamed into place, so concurrent users never see a partial copy.
  std::string Materialize(const Oid& version_oid) {
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
      if (s.ok()) fs::permissions(dest, fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write,
                                  fs::perm_options::remove, ec);
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

  std::unique_ptr<Repo> repo_;
  std::unique_ptr<Tracker> tracker_;
  std::unique_ptr<MetricBuffer> buffer_;
  std::string last_key_;
};

}  // namespace
}  // namespace cairn

PYBIND11_MODULE(_cairn, m) {
  using namespace cairn;
  m.doc() = "cairn tracking library (use the 'cairn' package, not this module)";
  static py::exception<CairnError> error(m, "CairnError");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const CairnError& e) {
      PyErr_SetString(error.ptr(), e.what());
    }
  });
  using Release = py::call_guard<py::gil_scoped_release>;
  py::class_<Session>(m, "Session")
      .def(py::init<const std::string&>(), Release())
      .def("close", &Session::Close, Release())
      .def("root", &Session::Root)
      .def("start_run", &Session::StartRun, Release())
      .def("end_run", &Session::EndRun)
      .def("log_metric", &Session::LogMetric)
      .def("flush", [](Session& s) {
        Status st;
        {
          py::gil_scoped_release release;
          st = s.Flush();
        }
        Check(st);
      })
      .def("log_params",
           [](Session& s, const std::string& run, const std::map<std::string, std::string>& params) {
             Check(s.tracker().LogParams(run, params));
           },
           Release())
      .def("set_tags",
           [](Session& s, const std::string& run, const std::map<std::string, std::string>& tags) {
             Check(s.tracker().SetTags(run, tags));
           },
           Release())
      .def("set_env",
           [](Session& s, const std::string& run, const std::map<std::string, std::string>& env) {
             Check(s.tracker().SetEnv(run, env));
           },
           Release())
      .def("log_artifact",
           [](Session& s, const std::string& run, const std::string& path, const std::string& artifact_path) {
             std::vector<std::string> out;
             for (const RunArtifact& a : Check(s.tracker().LogArtifact(run, path, artifact_path))) {
               out.push_back(a.path);
             }
             return out;
           },
           Release())
      .def("use_dataset", &Session::UseDataset, Release())
      .def("resolve_run", [](Session& s, const std::string& run) { return Check(s.tracker().ResolveRunId(run)); })
      .def("get_run",
           [](Session& s, const std::string& run) {
             RunInfo info;
             {
               py::gil_scoped_release release;
               Check(s.Flush());
               info = Check(s.tracker().GetRun(run));
             }
             return RunDict(info);
           })
      .def("search",
           [](Session& s, const std::vector<std::string>& experiments, const std::string& filter,
              const std::vector<std::string>& order_by, int64_t max_results) {
             SearchOptions o;
             o.experiments = experiments;
             o.filter = filter;
             o.order_by = order_by;
             o.limit = max_results;
             o.full = true;  // Run objects carry inputs and env
             SearchResult r;
             {
               py::gil_scoped_release release;
               Check(s.Flush());
               r = Check(s.tracker().Search(o));
             }
             py::list out;
             for (const RunInfo& run : r.runs) out.append(RunDict(run));
             return out;
           })
      .def("metric_history",
           [](Session& s, const std::string& run, const std::string& key) {
             std::vector<MetricPoint> points;
             {
               py::gil_scoped_release release;
               Check(s.Flush());
               points = Check(s.tracker().MetricHistory(run, key));
             }
             py::list out;
             for (const MetricPoint& p : points) out.append(py::make_tuple(p.step, p.value, p.timestamp_ms));
             return out;
           })
      .def("create_experiment",
           [](Session& s, const std::string& name) { return Check(s.tracker().CreateExperiment(name)).id; })
      .def("experiments", [](Session& s) {
        py::list out;
        for (const Experiment& e : Check(s.tracker().ListExperiments(false))) {
          py::dict d;
          d["id"] = e.id;
          d["name"] = e.name;
          d["runs"] = e.runs;
          out.append(d);
        }
        return out;
      });
}
