#include "cli/runs_common.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace cairn::cli {

Result<std::pair<std::string, std::string>> ParseKeyValue(const std::string& text, const char* what) {
  size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    return Status::InvalidArgument(std::string(what) + " '" + text + "' is not KEY=VALUE",
                                   std::string("example: ") + what + " lr=0.01");
  }
  return std::make_pair(text.substr(0, eq), text.substr(eq + 1));
}

Result<std::map<std::string, std::string>> ParseKeyValues(const std::vector<std::string>& texts, const char* what) {
  std::map<std::string, std::string> out;
  for (const std::string& t : texts) {
    CAIRN_ASSIGN_OR_RETURN(auto kv, ParseKeyValue(t, what));
    auto [it, inserted] = out.emplace(kv.first, kv.second);
    if (!inserted && it->second != kv.second) {
      return Status::InvalidArgument(std::string(what) + " " + kv.first + " is given twice with different values");
    }
  }
  return out;
}

Result<std::unique_ptr<Tracker>> OpenTracker(const Context& ctx, std::unique_ptr<Repo>* repo) {
  CAIRN_ASSIGN_OR_RETURN(*repo, OpenRepo(ctx));
  CAIRN_ASSIGN_OR_RETURN(auto tracker, Tracker::Open(**repo));
  CAIRN_RETURN_IF_ERROR(tracker->ReapDeadRuns().status());
  return tracker;
}

std::string RunOrEnv(const std::string& run) {
  if (!run.empty()) return run;
  const char* env = std::getenv("CAIRN_RUN_ID");
  return env ? env : "";
}

std::string FormatMetric(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

Json MetricJson(double v) {
  if (std::isfinite(v)) return v;
  return FormatMetric(v);
}

std::string FormatMs(int64_t ms) {
  time_t t = static_cast<time_t>(ms / 1000);
  tm local;
  localtime_r(&t, &local);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &local);
  return buf;
}

std::string FormatDuration(int64_t ms) {
  char buf[32];
  if (ms < 1000) {
    std::snprintf(buf, sizeof buf, "%lldms", static_cast<long long>(ms));
  } else if (ms < 60'000) {
    std::snprintf(buf, sizeof buf, "%.1fs", ms / 1000.0);
  } else if (ms < 3'600'000) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(ms / 60'000),
                  static_cast<long long>(ms / 1000 % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(ms / 3'600'000),
                  static_cast<long long>(ms / 60'000 % 60));
  }
  return buf;
}

Json RunJson(const RunInfo& run, bool full) {
  Json j;
  j["id"] = run.id;
  j["name"] = run.name;
  j["experiment"] = run.experiment;
  j["experiment_id"] = run.experiment_id;
  j["status"] = RunStatusName(run.status);
  j["start_time"] = run.start_ms;
  j["end_time"] = run.end_ms ? Json(run.end_ms) : Json(nullptr);
  j["user"] = run.user;
  j["deleted"] = run.deleted;
  j["exit_code"] = run.exit_code ? Json(*run.exit_code) : Json(nullptr);
  j["params"] = Json(run.params);
  j["tags"] = Json(run.tags);
  Json metrics = Json::object();
  for (const auto& [k, m] : run.metrics) {
    metrics[k] = {{"value", MetricJson(m.value)}, {"step", m.step}, {"timestamp", m.timestamp_ms}};
  }
  j["metrics"] = metrics;
  if (!full) return j;
  j["command"] = run.command;
  j["cwd"] = run.cwd;
  Json inputs = Json::array();
  for (const RunInput& in : run.inputs) {
    inputs.push_back(
        {{"dataset", in.dataset}, {"version", in.version.ToString()}, {"tag", in.tag}, {"source", in.source}});
  }
  j["inputs"] = inputs;
  Json arts = Json::array();
  for (const RunArtifact& a : run.artifacts) {
    arts.push_back({{"path", a.path}, {"oid", a.oid.ToString()}, {"size", a.size}});
  }
  j["artifacts"] = arts;
  j["env"] = Json(run.env);
  j["record"] = run.record ? Json(run.record->ToString()) : Json(nullptr);
  return j;
}

}  // namespace cairn::cli
