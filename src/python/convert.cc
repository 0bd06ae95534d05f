#include "python/convert.h"

#include <pybind11/stl.h>

namespace py = pybind11;

namespace cairn::python {

namespace {

py::object IntOrNone(int64_t v, bool present) { return present ? py::object(py::int_(v)) : py::object(py::none()); }

}  // namespace

py::dict RunDict(const RunInfo& r) {
  py::dict d;
  d["id"] = r.id;
  d["name"] = r.name;
  d["experiment"] = r.experiment;
  d["experiment_id"] = r.experiment_id;
  d["status"] = RunStatusName(r.status);
  d["start_time"] = r.start_ms;
  d["end_time"] = IntOrNone(r.end_ms, r.end_ms != 0);
  d["user"] = r.user;
  d["deleted"] = r.deleted;
  d["exit_code"] = IntOrNone(r.exit_code.value_or(0), r.exit_code.has_value());
  d["command"] = r.command;
  d["params"] = r.params;
  d["tags"] = r.tags;
  py::dict metrics, steps, timestamps;
  for (const auto& [k, m] : r.metrics) {
    py::str key(k);
    metrics[key] = py::float_(m.value);
    steps[key] = m.step;
    timestamps[key] = m.timestamp_ms;
  }
  d["metrics"] = metrics;
  d["metric_steps"] = steps;
  d["metric_timestamps"] = timestamps;
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

py::dict ExperimentDict(const Experiment& e) {
  py::dict d;
  d["id"] = e.id;
  d["name"] = e.name;
  d["deleted"] = e.deleted;
  d["created"] = e.created_ms;
  d["runs"] = e.runs;
  return d;
}

py::list HistoryList(const std::vector<MetricPoint>& points) {
  py::list out;
  for (const MetricPoint& p : points) out.append(py::make_tuple(p.step, p.value, p.timestamp_ms));
  return out;
}

}  // namespace cairn::python
