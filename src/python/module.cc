// _cairn: the Python binding of the tracking library. The public Python API
// is the package python/cairn/ (session.py holds the Session of the process;
// fluent.py, client.py, experiments.py, artifacts.py and search.py call it;
// __init__.py re-exports them); this file only maps Session and Tracker
// calls to Python, releasing the GIL around disk work and around waits for
// the Session's background threads, which never call into Python.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string_view>

#include "cairn/version.h"
#include "python/convert.h"
#include "python/session.h"
#include "util/shell_quote.h"

namespace py = pybind11;

namespace cairn::python {

void BindData(py::module_& m);  // data.cc

namespace {

using Release = py::call_guard<py::gil_scoped_release>;

// Runs `f` without the GIL after writing buffered metrics, so what it reads
// includes every point logged so far.
template <typename F>
auto Flushed(Session& s, F f) {
  py::gil_scoped_release release;
  Check(s.Flush());
  return f();
}

// Issues what went wrong in the Session's background threads (a heartbeat
// that could not be written) and use_dataset's notes as RuntimeWarnings; the
// GIL is held.
void Warn(Session& s) {
  for (const std::string& w : s.TakeWarnings()) {
    if (PyErr_WarnEx(PyExc_RuntimeWarning, ("cairn: " + w).c_str(), 1) != 0) throw py::error_already_set();
  }
}

// The text of a Python str, CairnError (not pybind's TypeError) when it is
// not UTF-8 (a lone surrogate such as '\udcff').
std::string Utf8Arg(const py::handle& value, const char* what) {
  Py_ssize_t size = 0;
  const char* text = PyUnicode_Check(value.ptr()) ? PyUnicode_AsUTF8AndSize(value.ptr(), &size) : nullptr;
  if (text == nullptr) {
    PyErr_Clear();
    throw CairnError(std::string(what) + " is not valid text (it holds a lone surrogate or is not a str)");
  }
  return std::string(text, static_cast<size_t>(size));
}

// A Python int as int64_t, CairnError when it does not fit.
int64_t Int64Arg(const py::handle& value, const char* what) {
  if (!PyLong_Check(value.ptr())) throw CairnError(std::string(what) + " must be an int");
  int overflow = 0;
  long long v = PyLong_AsLongLongAndOverflow(value.ptr(), &overflow);
  if (overflow != 0 || (v == -1 && PyErr_Occurred())) {
    PyErr_Clear();
    throw CairnError(std::string(what) + " must be a whole number below 2**63");
  }
  return v;
}

// 0: active runs only, 1: deleted only, 2: all (MLflow's ViewType order).
SearchOptions SearchFor(const std::vector<std::string>& experiments, const std::string& filter,
                        const std::vector<std::string>& order_by, int64_t max_results, int view, bool full) {
  SearchOptions o;
  o.experiments = experiments;
  o.filter = filter;
  o.order_by = order_by;
  o.limit = max_results;
  o.include_deleted = view == 2;
  o.deleted_only = view == 1;
  o.full = full;
  return o;
}

void BindRuns(py::class_<Session>& c) {
  c.def(
       "start_run",
       [](Session& s, const std::string& experiment, const std::string& name,
          const std::map<std::string, std::string>& params, const std::map<std::string, std::string>& tags,
          const std::vector<std::string>& inputs, int64_t start_time, bool detached, const std::string& code_dir,
          const std::string& command, const std::string& cwd, const std::map<std::string, std::string>& env) {
         std::string id;
         {
           py::gil_scoped_release release;
           id = s.StartRun(experiment, name, params, tags, inputs, start_time, detached, code_dir, command, cwd, env);
         }
         Warn(s);  // a modified workspace input: the run reads other data than its version
         return id;
       },
       py::arg("experiment"), py::arg("name"), py::arg("params"), py::arg("tags"), py::arg("inputs"),
       py::arg("start_time") = 0, py::arg("detached") = false, py::arg("code_dir") = "", py::arg("command") = "",
       py::arg("cwd") = "", py::arg("env") = std::map<std::string, std::string>{})
      .def("keep_alive", &Session::KeepAlive, Release())
      .def("_pause_for_fork", &Session::PauseForFork, Release())
      .def("_resume_after_fork", &Session::ResumeAfterFork)
      .def(
          "end_run",
          [](Session& s, const std::string& run, const std::string& status, int64_t end_time) {
            RunInfo info;
            {
              py::gil_scoped_release release;
              info = s.EndRun(run, status, end_time);
            }
            Warn(s);
            return RunDict(info);
          },
          py::arg("run"), py::arg("status"), py::arg("end_time") = 0)
      .def("log_metric", &Session::LogMetric)
      .def("log_metrics_now",
           [](Session& s, const std::string& run, const std::vector<std::tuple<std::string, double, int64_t,
                                                                             int64_t>>& points) {
             std::vector<MetricPoint> batch;
             for (const auto& [key, value, step, ts] : points) batch.push_back(MetricPoint{key, value, step, ts});
             py::gil_scoped_release release;
             s.LogMetricsNow(run, batch);
           })
      .def("flush",
           [](Session& s) {
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
      .def("set_run_name",
           [](Session& s, const std::string& run, const std::string& name) {
             Check(s.tracker().SetRunName(run, name));
           },
           Release())
      .def("set_env",
           [](Session& s, const std::string& run, const std::map<std::string, std::string>& env) {
             Check(s.tracker().SetEnv(run, env));
           },
           Release())
      .def("log_artifact",
           [](Session& s, const std::string& run, const std::string& path, const std::string& artifact_path,
              const std::string& base_dir) {
             std::vector<std::string> out;
             for (const RunArtifact& a : Check(s.tracker().LogArtifact(run, path, artifact_path, base_dir))) {
               out.push_back(a.path);
             }
             return out;
           },
           Release(), py::arg("run"), py::arg("path"), py::arg("artifact_path"), py::arg("base_dir"))
      .def("log_artifact_bytes",
           [](Session& s, const std::string& run, const std::string& artifact_path, const py::bytes& data) {
             std::string_view bytes = data;  // the bytes object outlives the call
             py::gil_scoped_release release;
             return Check(s.tracker().LogUserArtifactBytes(run, artifact_path, bytes)).path;
           })
      .def("use_dataset",
           [](Session& s, const std::string& run, const std::string& ref) {
             std::string path;
             {
               py::gil_scoped_release release;
               path = s.UseDataset(run, ref);
             }
             Warn(s);  // its notes
             return path;
           })
      .def("use_model",
           [](Session& s, const std::string& run, const std::string& ref) { return s.UseModel(run, ref); },
           Release())
      .def("resolve_run", [](Session& s, const std::string& run) { return Check(s.tracker().ResolveRunId(run)); })
      .def("get_run",
           [](Session& s, const std::string& run) {
             return RunDict(Flushed(s, [&] { return Check(s.tracker().GetRun(run)); }));
           })
      .def("delete_run", [](Session& s, const std::string& run) { Check(s.tracker().DeleteRun(run)); }, Release())
      .def("restore_run", [](Session& s, const std::string& run) { Check(s.tracker().RestoreRun(run)); },
           Release())
      .def(
          "search",
          [](Session& s, const std::vector<std::string>& experiments, const py::object& filter,
             const std::vector<std::string>& order_by, const py::object& max_results, int view, bool full) {
            SearchOptions o = SearchFor(experiments, Utf8Arg(filter, "filter"), order_by,
                                        Int64Arg(max_results, "max_results"), view, full);
            SearchResult r = Flushed(s, [&] { return Check(s.tracker().Search(o)); });
            py::list out;
            for (const RunInfo& run : r.runs) out.append(RunDict(run, full));
            return py::make_tuple(out, r.warnings);  // the warnings: misspelt keys the filter names
          },
          py::arg("experiments"), py::arg("filter"), py::arg("order_by"), py::arg("max_results"),
          py::arg("view") = 0, py::arg("full") = true)
      .def("metric_history", [](Session& s, const std::string& run, const std::string& key) {
        return HistoryList(Flushed(s, [&] { return Check(s.tracker().MetricHistory(run, key)); }));
      });
}

void BindExperiments(py::class_<Session>& c) {
  c.def(
       "create_experiment",
       [](Session& s, const std::string& name, const std::map<std::string, std::string>& tags) {
         Experiment e;
         {
           py::gil_scoped_release release;
           e = Check(s.tracker().CreateExperiment(name, tags));
         }
         return ExperimentDict(e);
       },
       py::arg("name"), py::arg("tags") = std::map<std::string, std::string>{})
      .def("set_experiment_tags",
           [](Session& s, const std::string& name, const std::map<std::string, std::string>& tags) {
             Check(s.tracker().SetExperimentTags(name, tags));
           },
           Release())
      .def(
          "experiments",
          [](Session& s, bool include_deleted) {
            py::list out;
            for (const Experiment& e : Check(s.tracker().ListExperiments(include_deleted))) {
              out.append(ExperimentDict(e));
            }
            return out;
          },
          py::arg("include_deleted") = false)
      .def("get_experiment",
           [](Session& s, const std::string& name) -> py::object {
             auto e = s.tracker().GetExperiment(name);
             if (!e.ok() && e.status().code() == Code::kNotFound) return py::none();
             return ExperimentDict(Check(std::move(e)));
           })
      .def("get_or_create_experiment",
           [](Session& s, const std::string& name) {
             return ExperimentDict(Check(s.tracker().GetOrCreateExperiment(name)));
           })
      .def("rename_experiment",
           [](Session& s, const std::string& from, const std::string& to) {
             Check(s.tracker().RenameExperiment(from, to));
           })
      .def("delete_experiment", [](Session& s, const std::string& name) { Check(s.tracker().DeleteExperiment(name)); })
      .def("restore_experiment",
           [](Session& s, const std::string& name) { Check(s.tracker().RestoreExperiment(name)); });
}

}  // namespace
}  // namespace cairn::python

PYBIND11_MODULE(_cairn, m) {
  using namespace cairn::python;
  m.doc() = "cairn tracking library (use the 'cairn' package, not this module)";
  m.attr("__version__") = cairn::kVersion;
  // Words quoted as 'cairn run' quotes the command line it records.
  m.def("shell_join", &cairn::ShellJoin, py::arg("words"));
  // The root of the repository containing `dir` (searching upwards), "" when
  // none does (get_tracking_uri names a directory without opening a session).
  m.def(
      "repo_root",
      [](const std::string& dir) {
        auto repo = cairn::Repo::Open(dir);
        return repo.ok() ? (*repo)->root().string() : std::string();
      },
      Release(), py::arg("dir"));
  static py::exception<CairnError> error(m, "CairnError");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const CairnError& e) {
      PyErr_SetString(error.ptr(), e.what());
    }
  });
  py::class_<Session> session(m, "Session");
  session.def(py::init<const std::string&, int64_t>(), Release(), py::arg("dir"), py::arg("heartbeat_interval_ms") = 0)
      .def("close",
           [](Session& s) {
             {
               py::gil_scoped_release release;
               s.Close();
             }
             Warn(s);
           })
      .def("root", &Session::Root);
  BindRuns(session);
  BindExperiments(session);
  BindData(m);
}
