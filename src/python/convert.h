// Library values as Python objects: the dicts python/cairn/__init__.py wraps
// in its Run and Experiment classes.
#ifndef CAIRN_PYTHON_CONVERT_H_
#define CAIRN_PYTHON_CONVERT_H_

#include <pybind11/pybind11.h>

#include <vector>

#include "cairn/tracking.h"

namespace cairn::python {

// id, name, experiment, experiment_id, status, start_time and end_time (ms;
// end_time None while running), user, deleted, exit_code, command, params,
// tags, metrics (latest value per key), metric_steps, metric_timestamps,
// inputs, artifacts, env.
pybind11::dict RunDict(const RunInfo& r);

// id, name, deleted, created (ms), runs (active runs).
pybind11::dict ExperimentDict(const Experiment& e);

// Each point as a (step, value, timestamp_ms) tuple.
pybind11::list HistoryList(const std::vector<MetricPoint>& points);

}  // namespace cairn::python

#endif  // CAIRN_PYTHON_CONVERT_H_
