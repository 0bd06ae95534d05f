// The tracking shapes of doc/json.md ("Tracking"). Field names and order
// are part of the contract: change them only with the doc and a version bump.
#include <cmath>
#include <limits>

#include "cairn/json_tracking.h"
#include "cairn/run_compare.h"

namespace cairn {
namespace {

Json OptionalInt(bool present, int64_t value) { return present ? Json(value) : Json(nullptr); }

Json InputJson(const RunInput& in) {
  return {{"dataset", in.dataset}, {"version", in.version.ToString()}, {"tag", in.tag}, {"source", in.source},
          {"modified", in.modified}};
}

}  // namespace

Json MetricValueJson(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  return value;
}

std::optional<double> MetricValueFromJson(const Json& value) {
  if (value.is_number()) return value.get<double>();
  if (!value.is_string()) return std::nullopt;
  const std::string& s = value.get_ref<const std::string&>();
  if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (s == "Infinity") return std::numeric_limits<double>::infinity();
  if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
  return std::nullopt;
}

Json MetricPointJson(const MetricPoint& point) {
  return {{"key", point.key},
          {"value", MetricValueJson(point.value)},
          {"step", point.step},
          {"timestamp", point.timestamp_ms}};
}

Json MetricHistoryJson(const std::vector<MetricPoint>& points) {
  Json out = Json::array();
  for (const MetricPoint& p : points) out.push_back(MetricPointJson(p));
  return out;
}

Json RunJson(const RunInfo& run, RunDetail detail) {
  Json j;
  j["id"] = run.id;
  j["name"] = run.name;
  j["experiment"] = run.experiment;
  j["experiment_id"] = run.experiment_id;
  j["status"] = RunStatusName(run.status);
  j["start_time"] = run.start_ms;
  j["end_time"] = OptionalInt(run.end_ms != 0, run.end_ms);
  j["user"] = run.user;
  j["deleted"] = run.deleted;
  j["exit_code"] = OptionalInt(run.exit_code.has_value(), run.exit_code.value_or(0));
  j["command"] = run.command;
  j["params"] = Json(run.params);
  j["tags"] = Json(run.tags);
  Json metrics = Json::object();
  for (const auto& [key, point] : run.metrics) {
    // The key is the map's: {value, step, timestamp}.
    metrics[key] = {{"value", MetricValueJson(point.value)}, {"step", point.step}, {"timestamp", point.timestamp_ms}};
  }
  j["metrics"] = std::move(metrics);
  if (detail == RunDetail::kSummary) return j;
  j["cwd"] = run.cwd;
  Json inputs = Json::array();
  for (const RunInput& in : run.inputs) inputs.push_back(InputJson(in));
  j["inputs"] = std::move(inputs);
  j["artifacts"] = ArtifactListJson(run.artifacts);
  j["env"] = Json(run.env);
  j["record"] = run.record ? Json(run.record->ToString()) : Json(nullptr);
  j["heartbeat"] = OptionalInt(run.status == RunStatus::kRunning && run.heartbeat_ms != 0, run.heartbeat_ms);
  return j;
}

Json RunListJson(const std::vector<RunInfo>& runs, RunDetail detail) {
  Json out = Json::array();
  for (const RunInfo& r : runs) out.push_back(RunJson(r, detail));
  return out;
}

Json ExperimentJson(const Experiment& e) {
  return {{"id", e.id},           {"name", e.name},          {"runs", e.runs},
          {"deleted", e.deleted}, {"created", e.created_ms}, {"tags", Json(e.tags)}};
}

Json ExperimentListJson(const std::vector<Experiment>& experiments) {
  Json out = Json::array();
  for (const Experiment& e : experiments) out.push_back(ExperimentJson(e));
  return out;
}

Json ArtifactJson(const RunArtifact& a) { return {{"path", a.path}, {"oid", a.oid.ToString()}, {"size", a.size}}; }

Json ArtifactListJson(const std::vector<RunArtifact>& artifacts) {
  Json out = Json::array();
  for (const RunArtifact& a : artifacts) out.push_back(ArtifactJson(a));
  return out;
}

Json RunComparisonJson(const RunComparison& c) {
  Json rows = Json::array();
  for (const CompareRow& row : c.rows) {
    rows.push_back({{"section", row.section}, {"key", row.key}, {"values", row.values}, {"differs", row.differs}});
  }
  return {{"runs", c.runs}, {"rows", std::move(rows)}, {"hidden_rows", c.hidden_rows}};
}

}  // namespace cairn
