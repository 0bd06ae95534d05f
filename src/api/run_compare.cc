// Run comparison (cairn/run_compare.h).
#include "cairn/run_compare.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <set>

#include "cairn/run_record.h"

namespace cairn {
namespace {

using KeyValues = std::map<std::string, std::string>;

// Where Tracker::StartRun keeps a dirty run's uncommitted diff.
constexpr char kGitDiffArtifact[] = "cairn/git.diff";

// Adds one row per key any run has in `get(run)`.
template <typename Get>
void AddSection(const std::vector<RunInfo>& runs, const std::string& section, Get get,
                std::vector<CompareRow>* rows) {
  std::vector<KeyValues> per_run;
  std::set<std::string> keys;
  for (const RunInfo& r : runs) {
    per_run.push_back(get(r));
    for (const auto& [k, v] : per_run.back()) keys.insert(k);
  }
  for (const std::string& k : keys) {
    CompareRow row{section, k, {}, false};
    for (const KeyValues& m : per_run) {
      auto it = m.find(k);
      row.values.push_back(it == m.end() ? "-" : it->second);
    }
    row.differs =
        std::adjacent_find(row.values.begin(), row.values.end(), std::not_equal_to<>()) != row.values.end();
    rows->push_back(std::move(row));
  }
}

// Tags cairn and MLflow set themselves (cairn.*, mlflow.*), not the user.
bool IsSystemTag(const std::string& key) { return key.starts_with("cairn.") || key.starts_with("mlflow."); }

KeyValues EnvPart(const RunInfo& r, bool code) {
  KeyValues m;
  for (const auto& [k, v] : r.env) {
    if (k.starts_with("git.") == code) m[k] = v;
  }
  return m;
}

}  // namespace

std::string FormatDurationMs(int64_t ms) {
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

std::string FormatRunDuration(const RunInfo& run, int64_t now_ms) {
  if (run.status == RunStatus::kRunning) return FormatDurationMs(now_ms - run.start_ms) + "…";
  return FormatDurationMs(run.end_ms - run.start_ms);
}

RunComparison CompareRunInfos(const std::vector<RunInfo>& runs, const CompareOptions& options) {
  const int64_t now = options.now_ms ? options.now_ms : NowMs();
  RunComparison out;
  for (const RunInfo& r : runs) out.runs.push_back(r.id);
  std::vector<CompareRow> rows;
  AddSection(runs, "run", [now](const RunInfo& r) {
    return KeyValues{{"name", r.name},
                     {"experiment", r.experiment},
                     {"status", RunStatusName(r.status)},
                     {"duration", FormatRunDuration(r, now)},
                     {"command", r.command}};
  }, &rows);
  AddSection(runs, "params", [](const RunInfo& r) { return r.params; }, &rows);
  AddSection(runs, "metrics", [](const RunInfo& r) {
    KeyValues m;
    for (const auto& [k, point] : r.metrics) m[k] = FormatMetricValue(point.value);
    return m;
  }, &rows);
  AddSection(runs, "tags", [](const RunInfo& r) { return r.tags; }, &rows);
  AddSection(runs, "data", [](const RunInfo& r) {
    KeyValues m;
    for (const RunInput& in : r.inputs) {
      std::string& v = m[in.dataset];
      // A modified input read other bytes than its version: the row differs
      // from a run that read the version itself.
      v += (v.empty() ? "" : ",") + (in.tag.empty() ? in.version.Short() : in.tag + " " + in.version.Short()) +
           (in.modified ? " (modified)" : "");
    }
    return m;
  }, &rows);
  AddSection(runs, "code", [](const RunInfo& r) {
    KeyValues m = EnvPart(r, true);
    // Two dirty runs of one commit differ by their uncommitted diff.
    for (const RunArtifact& a : r.artifacts) {
      if (a.path == kGitDiffArtifact) m["diff"] = a.oid.Short();
    }
    return m;
  }, &rows);
  AddSection(runs, "env", [](const RunInfo& r) { return EnvPart(r, false); }, &rows);
  for (CompareRow& row : rows) {
    if (!options.include_equal_env && row.section == "env" && !row.differs) {
      ++out.hidden_rows;
      continue;
    }
    if (!options.include_system_tags && row.section == "tags" && IsSystemTag(row.key)) {
      ++out.hidden_rows;
      ++out.hidden_tag_rows;
      continue;
    }
    out.rows.push_back(std::move(row));
  }
  return out;
}

Result<RunComparison> CompareRuns(Tracker& tracker, const std::vector<std::string>& runs,
                                  const CompareOptions& options) {
  if (runs.size() < 2) return Status::InvalidArgument("compare needs at least two runs", "give two or more run ids or names");
  std::vector<RunInfo> infos;
  for (const std::string& id : runs) {
    CAIRN_ASSIGN_OR_RETURN(RunInfo info, tracker.GetRun(id));
    infos.push_back(std::move(info));
  }
  return CompareRunInfos(infos, options);
}

}  // namespace cairn
