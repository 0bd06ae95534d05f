// Library values as Python objects. Shapes come from the library's
// serializers (cairn/json_tracking.h, documented in doc/json.md); this file
// only turns JSON into the matching Python values, so the Python module's
// dicts are the CLI's --json and the server's bodies.
#ifndef CAIRN_PYTHON_CONVERT_H_
#define CAIRN_PYTHON_CONVERT_H_

#include <pybind11/pybind11.h>

#include <vector>

#include "cairn/json.h"
#include "cairn/tracking.h"

namespace cairn::python {

// null → None, booleans, integers, floats, strings, arrays → list,
// objects → dict (keys in the serializer's order).
pybind11::object FromJson(const Json& j);

// A run in doc/json.md's "Run" shape (full: with inputs, artifacts, env).
pybind11::dict RunDict(const RunInfo& r, bool full = true);

// doc/json.md's "Experiment" shape.
pybind11::dict ExperimentDict(const Experiment& e);

// Each point as a (step, value, timestamp_ms) tuple (cairn.get_metric_history).
pybind11::list HistoryList(const std::vector<MetricPoint>& points);

}  // namespace cairn::python

#endif  // CAIRN_PYTHON_CONVERT_H_
