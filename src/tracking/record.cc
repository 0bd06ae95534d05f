#include "cairn/run_record.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "cairn/json.h"
#include "cairn/object.h"
#include "util/file.h"

namespace cairn {
namespace {

using nlohmann::json;

constexpr std::string_view kRecordFormat = "cairn-run 1";
constexpr std::string_view kHistoryHeader = "cairn-metrics 1\n";

// JSON has no NaN or infinities: those are written as strings.
json ValueJson(double v) {
  if (std::isfinite(v)) return v;
  return FormatMetricValue(v);
}

std::optional<double> ValueFromJson(const json& j) {
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) return ParseMetricValue(j.get<std::string>());
  return std::nullopt;
}

Status Bad(const std::string& where, const std::string& what) {
  return Status::Corruption(where + ": damaged run record: " + what,
                            "run 'cairn fsck'; the record can be restored from a remote that holds it");
}

// True when parent[key] is a JSON float. nlohmann converts a float to an
// integer with a plain cast, undefined behaviour when it does not fit (1e300),
// so the integer fields are checked before they are read.
bool FloatAt(const json& parent, const char* key) {
  if (!parent.is_object()) return false;
  auto it = parent.find(key);
  return it != parent.end() && it->is_number_float();
}

bool HasFloatInIntegerField(const json& j) {
  if (FloatAt(j, "start_time") || FloatAt(j, "end_time") || FloatAt(j, "exit_code")) return true;
  if (auto e = j.find("experiment"); e != j.end() && FloatAt(*e, "id")) return true;
  if (auto m = j.find("metrics"); m != j.end() && m->is_structured()) {
    for (const json& point : *m) {
      if (FloatAt(point, "step") || FloatAt(point, "timestamp")) return true;
    }
  }
  if (auto a = j.find("artifacts"); a != j.end() && a->is_structured()) {
    for (const json& artifact : *a) {
      if (FloatAt(artifact, "size")) return true;
    }
  }
  return false;
}

}  // namespace

std::string FormatMetricValue(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, ec == std::errc() ? end : buf);
}

std::optional<double> ParseMetricValue(std::string_view text) {
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "nan") return std::nan("");
  if (lower == "inf" || lower == "+inf" || lower == "infinity" || lower == "+infinity") return INFINITY;
  if (lower == "-inf" || lower == "-infinity") return -INFINITY;
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

std::string EncodeRunRecord(const RunInfo& run, const std::optional<Oid>& metric_history) {
  json j;
  j["format"] = kRecordFormat;
  j["id"] = run.id;
  j["experiment"] = {{"id", run.experiment_id}, {"name", run.experiment}};
  j["name"] = run.name;
  j["status"] = RunStatusName(run.status);
  j["start_time"] = run.start_ms;
  j["end_time"] = run.end_ms;
  j["user"] = run.user;
  j["deleted"] = run.deleted;
  j["exit_code"] = run.exit_code ? json(*run.exit_code) : json(nullptr);
  j["command"] = run.command;
  j["cwd"] = run.cwd;
  j["params"] = run.params;
  j["tags"] = run.tags;
  j["env"] = run.env;
  json metrics = json::object();
  for (const auto& [key, m] : run.metrics) {
    metrics[key] = {{"value", ValueJson(m.value)}, {"step", m.step}, {"timestamp", m.timestamp_ms}};
  }
  j["metrics"] = metrics;
  j["metric_history"] = metric_history ? json(metric_history->ToString()) : json(nullptr);
  json inputs = json::array();
  for (const RunInput& in : run.inputs) {
    json input = {{"dataset", in.dataset}, {"version", in.version.ToString()}, {"tag", in.tag},
                  {"source", in.source}};
    if (in.modified) input["modified"] = true;  // absent when false: older records stay byte for byte
    inputs.push_back(std::move(input));
  }
  j["inputs"] = inputs;
  json artifacts = json::array();
  for (const RunArtifact& a : run.artifacts) {
    artifacts.push_back({{"path", a.path}, {"oid", a.oid.ToString()}, {"size", a.size}});
  }
  j["artifacts"] = artifacts;
  return DumpJson(j, 1) + "\n";
}

Result<RunInfo> DecodeRunRecord(std::string_view data, const std::string& where,
                                std::optional<Oid>* metric_history) {
  json j = json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Bad(where, "not JSON");
  auto format = j.find("format");
  if (format == j.end() || !format->is_string() || format->get<std::string>() != kRecordFormat) {
    return Status::Corruption(where + ": not a '" + std::string(kRecordFormat) + "' record",
                              "a newer cairn may have written it; upgrade cairn");
  }
  if (HasFloatInIntegerField(j)) return Bad(where, "a time, step, exit code, id or size is not a whole number");
  RunInfo run;
  std::string part = "the record";  // what is being read, for errors
  try {
    run.id = j.at("id").get<std::string>();
    run.experiment_id = j.at("experiment").at("id").get<int64_t>();
    run.experiment = j.at("experiment").at("name").get<std::string>();
    run.name = j.at("name").get<std::string>();
    auto status = ParseRunStatus(j.at("status").get<std::string>());
    if (!status) return Bad(where, "unknown status");
    run.status = *status;
    run.start_ms = j.at("start_time").get<int64_t>();
    run.end_ms = j.at("end_time").get<int64_t>();
    run.user = j.at("user").get<std::string>();
    run.deleted = j.at("deleted").get<bool>();
    if (!j.at("exit_code").is_null()) run.exit_code = j.at("exit_code").get<int>();
    run.command = j.at("command").get<std::string>();
    run.cwd = j.at("cwd").get<std::string>();
    run.params = j.at("params").get<std::map<std::string, std::string>>();
    run.tags = j.at("tags").get<std::map<std::string, std::string>>();
    run.env = j.at("env").get<std::map<std::string, std::string>>();
    for (const auto& [key, m] : j.at("metrics").items()) {
      part = "metric " + key;
      auto v = ValueFromJson(m.at("value"));
      if (!v) return Bad(where, "metric " + key + " has no value");
      run.metrics[key] = MetricPoint{key, *v, m.at("step").get<int64_t>(), m.at("timestamp").get<int64_t>()};
    }
    part = "the record";
    metric_history->reset();
    if (!j.at("metric_history").is_null()) {
      auto oid = Oid::Parse(j.at("metric_history").get<std::string>());
      if (!oid.ok()) return Bad(where, "bad metric history oid");
      *metric_history = *oid;
    }
    for (const json& in : j.at("inputs")) {
      part = "input " + std::to_string(run.inputs.size() + 1);
      auto oid = Oid::Parse(in.at("version").get<std::string>());
      if (!oid.ok()) return Bad(where, "bad input version oid");
      std::string dataset = in.at("dataset").get<std::string>();
      if (Status s = ValidateDatasetName(dataset); !s.ok()) return Bad(where, "input " + s.message());
      bool modified = in.contains("modified") && in.at("modified").get<bool>();
      run.inputs.push_back(RunInput{std::move(dataset), *oid, in.at("tag").get<std::string>(),
                                    in.at("source").get<std::string>(), modified});
    }
    std::set<std::string> artifact_paths;
    for (const json& a : j.at("artifacts")) {
      part = "artifact " + std::to_string(run.artifacts.size() + 1);
      auto oid = Oid::Parse(a.at("oid").get<std::string>());
      if (!oid.ok()) return Bad(where, "bad artifact oid");
      std::string path = a.at("path").get<std::string>();
      // Checked when logged and again here: a record may come from a remote
      // or a teammate, and 'artifacts get' joins this path to its -o.
      if (Status s = ValidateRelativePath(path, "artifact path"); !s.ok()) return Bad(where, s.message());
      if (!artifact_paths.insert(path).second) return Bad(where, "artifact path '" + path + "' appears twice");
      run.artifacts.push_back(RunArtifact{std::move(path), *oid, a.at("size").get<uint64_t>()});
    }
  } catch (const json::exception& e) {
    // Say which field, not the JSON library's text ("[json.exception…]").
    std::string what = e.what();
    size_t open = what.find("key '"), close = open == std::string::npos ? open : what.find("' not found", open);
    if (e.id == 403 && close != std::string::npos) {
      return Bad(where, part + " lacks '" + what.substr(open + 5, close - open - 5) + "'");
    }
    return Bad(where, part + " has a field of the wrong type");
  }
  return run;
}

Result<Oid> ReadRunRef(const std::filesystem::path& path) {
  CAIRN_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  while (!data.empty() && (data.back() == '\n' || data.back() == ' ')) data.pop_back();
  auto oid = Oid::Parse(data);
  if (!oid.ok()) return Status::Corruption(path.string() + ": not an oid", "run 'cairn fsck'");
  return *oid;
}

std::string EncodeMetricHistory(const std::vector<MetricPoint>& points) {
  std::string out(kHistoryHeader);
  out.reserve(points.size() * 40);
  char buf[64];
  for (const MetricPoint& p : points) {
    out += p.key;
    int n = std::snprintf(buf, sizeof buf, "\t%lld\t%lld\t", static_cast<long long>(p.step),
                          static_cast<long long>(p.timestamp_ms));
    out.append(buf, static_cast<size_t>(n));
    out += FormatMetricValue(p.value);
    out += '\n';
  }
  return out;
}

Result<std::vector<MetricPoint>> DecodeMetricHistory(std::string_view data, const std::string& where) {
  if (!data.starts_with(kHistoryHeader)) return Bad(where, "not a metric history");
  data.remove_prefix(kHistoryHeader.size());
  std::vector<MetricPoint> points;
  while (!data.empty()) {
    size_t nl = data.find('\n');
    if (nl == std::string_view::npos) return Bad(where, "truncated metric history");
    std::string_view line = data.substr(0, nl);
    data.remove_prefix(nl + 1);
    std::string_view f[4];
    for (int i = 0; i < 3; ++i) {
      size_t tab = line.find('\t');
      if (tab == std::string_view::npos) return Bad(where, "bad metric history line");
      f[i] = line.substr(0, tab);
      line.remove_prefix(tab + 1);
    }
    f[3] = line;
    MetricPoint p;
    p.key = std::string(f[0]);
    auto step = std::from_chars(f[1].data(), f[1].data() + f[1].size(), p.step);
    auto ts = std::from_chars(f[2].data(), f[2].data() + f[2].size(), p.timestamp_ms);
    auto v = ParseMetricValue(f[3]);
    if (step.ec != std::errc() || ts.ec != std::errc() || !v) return Bad(where, "bad metric history line");
    p.value = *v;
    points.push_back(std::move(p));
  }
  return points;
}

}  // namespace cairn
