#include "python/convert.h"

#include "cairn/json_tracking.h"

namespace py = pybind11;

namespace cairn::python {

py::object FromJson(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
    case Json::value_t::discarded:
      return py::none();
    case Json::value_t::boolean:
      return py::bool_(j.get<bool>());
    case Json::value_t::number_integer:
      return py::int_(j.get<int64_t>());
    case Json::value_t::number_unsigned:
      return py::int_(j.get<uint64_t>());
    case Json::value_t::number_float:
      return py::float_(j.get<double>());
    case Json::value_t::string:
      return py::str(j.get_ref<const std::string&>());
    case Json::value_t::binary:
      return py::bytes(std::string(j.get_binary().begin(), j.get_binary().end()));
    case Json::value_t::array: {
      py::list out;
      for (const Json& item : j) out.append(FromJson(item));
      return out;
    }
    case Json::value_t::object: {
      py::dict out;
      for (const auto& [key, value] : j.items()) out[py::str(key)] = FromJson(value);
      return out;
    }
  }
  return py::none();
}

py::dict RunDict(const RunInfo& r, bool full) {
  return py::dict(FromJson(RunJson(r, full ? RunDetail::kFull : RunDetail::kSummary)));
}

py::dict ExperimentDict(const Experiment& e) { return py::dict(FromJson(ExperimentJson(e))); }

py::list HistoryList(const std::vector<MetricPoint>& points) {
  py::list out;
  for (const MetricPoint& p : points) out.append(py::make_tuple(p.step, p.value, p.timestamp_ms));
  return out;
}

}  // namespace cairn::python
