// The SQLite run index: finding, loading and inserting the rows of a run
// (see src/tracking/schema.h).
#include <nlohmann/json.hpp>

#include "cairn/tracking.h"
#include "tracking/tracker_internal.h"
#include "util/sqlite.h"

namespace cairn {

using namespace tracking_internal;

namespace tracking_internal {

using nlohmann::json;

Result<RunRow> FindRun(sqlite3* db, const std::string& run) {
  if (run.empty()) {
    return Status::InvalidArgument("no run given",
                                   "pass a run id (or set CAIRN_RUN_ID, which 'cairn run' does for its command)");
  }
  std::vector<RunRow> found;
  auto collect = [&](Stmt& st) -> Status {
    for (;;) {
      CAIRN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return Status::OK();
      found.push_back(RunRow{st.Int(0), st.Text(1), *ParseRunStatus(st.Text(2)), !st.IsNull(3)});
    }
  };
  if (IsHex(run) && run.size() >= 6) {
    Stmt st(db, "SELECT id, run_id, status, record FROM runs WHERE run_id >= ? AND run_id < ? LIMIT 5");
    st.Bind(1, run).Bind(2, run + "g");
    CAIRN_RETURN_IF_ERROR(collect(st));
  }
  if (found.empty()) {  // a run name
    Stmt st(db, "SELECT id, run_id, status, record FROM runs WHERE name = ? AND name != '' LIMIT 5");
    st.Bind(1, run);
    CAIRN_RETURN_IF_ERROR(collect(st));
  }
  if (found.empty()) {
    return Status::NotFound("no run '" + run + "'", "list runs with 'cairn runs' (ids may be shortened to 6+ digits)");
  }
  if (found.size() > 1) {
    std::string list;
    for (const RunRow& r : found) list += " " + r.id;
    return Status::Ambiguous("'" + run + "' matches several runs:" + list, "give more digits of the run id");
  }
  return found[0];
}

Status InsertInput(sqlite3* db, int64_t row, const RunInput& in) {
  Stmt st(db, "INSERT OR REPLACE INTO run_inputs (run, dataset, version, tag, source) VALUES (?, ?, ?, ?, ?)");
  st.Bind(1, row).Bind(2, in.dataset).Bind(3, in.version.Hex()).Bind(4, in.tag).Bind(5, in.source);
  return st.Run();
}

Status InsertKv(sqlite3* db, const char* table, int64_t row, const std::map<std::string, std::string>& kv) {
  Stmt st(db, std::string("INSERT OR REPLACE INTO ") + table + " (run, key, value) VALUES (?, ?, ?)");
  for (const auto& [k, v] : kv) {
    st.Bind(1, row).Bind(2, k).Bind(3, v);
    CAIRN_RETURN_IF_ERROR(st.Run());
  }
  return Status::OK();
}

Status InsertArtifacts(sqlite3* db, int64_t row, const std::vector<RunArtifact>& arts) {
  Stmt st(db, "INSERT OR REPLACE INTO run_artifacts (run, path, oid, size) VALUES (?, ?, ?, ?)");
  for (const RunArtifact& a : arts) {
    st.Bind(1, row).Bind(2, a.path).Bind(3, a.oid.ToString()).Bind(4, static_cast<int64_t>(a.size));
    CAIRN_RETURN_IF_ERROR(st.Run());
  }
  return Status::OK();
}

Result<std::map<std::string, std::string>> LoadKv(sqlite3* db, const char* table, int64_t row) {
  Stmt st(db, std::string("SELECT key, value FROM ") + table + " WHERE run = ?");
  st.Bind(1, row);
  std::map<std::string, std::string> out;
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool r, st.Step());
    if (!r) break;
    out[st.Text(0)] = st.Text(1);
  }
  return out;
}

// Reads a run's row and, with `full`, its inputs, artifacts and env.
Result<RunInfo> LoadRun(sqlite3* db, int64_t row, bool full) {
  Stmt st(db,
          "SELECT r.run_id, r.experiment_id, coalesce(e.name, ''), r.name, r.status, r.start_time, "
          "coalesce(r.end_time, 0), r.user, r.deleted, r.exit_code, r.command, r.cwd, r.env, r.record "
          "FROM runs r LEFT JOIN experiments e ON e.id = r.experiment_id WHERE r.id = ?");
  st.Bind(1, row);
  CAIRN_ASSIGN_OR_RETURN(bool found, st.Step());
  if (!found) return Status::NotFound("run row vanished", "run 'cairn reindex'");
  RunInfo run;
  run.id = st.Text(0);
  run.experiment_id = st.Int(1);
  run.experiment = st.Text(2);
  run.name = st.Text(3);
  run.status = ParseRunStatus(st.Text(4)).value_or(RunStatus::kFailed);
  run.start_ms = st.Int(5);
  run.end_ms = st.Int(6);
  run.user = st.Text(7);
  run.deleted = st.Int(8) != 0;
  if (!st.IsNull(9)) run.exit_code = static_cast<int>(st.Int(9));
  run.command = st.Text(10);
  run.cwd = st.Text(11);
  if (full) {
    json env = json::parse(st.Text(12), nullptr, false);
    if (env.is_object()) {
      for (const auto& [k, v] : env.items()) {
        if (v.is_string()) run.env[k] = v.get<std::string>();
      }
    }
  }
  if (!st.IsNull(13)) {
    auto oid = Oid::Parse(st.Text(13));
    if (oid.ok()) run.record = *oid;
  }
  CAIRN_ASSIGN_OR_RETURN(run.params, LoadKv(db, "run_params", row));
  CAIRN_ASSIGN_OR_RETURN(run.tags, LoadKv(db, "run_tags", row));
  Stmt m(db, "SELECT key, value, step, ts FROM run_metrics WHERE run = ?");
  m.Bind(1, row);
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool r, m.Step());
    if (!r) break;
    std::string key = m.Text(0);
    run.metrics[key] = MetricPoint{key, m.Real(1), m.Int(2), m.Int(3)};
  }
  if (!full) return run;
  Stmt in(db, "SELECT dataset, version, tag, source FROM run_inputs WHERE run = ? ORDER BY dataset");
  in.Bind(1, row);
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool r, in.Step());
    if (!r) break;
    auto oid = Oid::Parse("sha256:" + in.Text(1));
    if (!oid.ok()) continue;
    run.inputs.push_back(RunInput{in.Text(0), *oid, in.Text(2), in.Text(3)});
  }
  Stmt art(db, "SELECT path, oid, size FROM run_artifacts WHERE run = ? ORDER BY path");
  art.Bind(1, row);
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool r, art.Step());
    if (!r) break;
    auto oid = Oid::Parse(art.Text(1));
    if (!oid.ok()) continue;
    run.artifacts.push_back(RunArtifact{art.Text(0), *oid, static_cast<uint64_t>(art.Int(2))});
  }
  return run;
}

Result<std::vector<MetricPoint>> LoadPoints(sqlite3* db, int64_t row, const std::string* key) {
  Stmt st(db, key ? "SELECT key, value, step, ts FROM run_metric_points WHERE run = ? AND key = ? ORDER BY rowid"
                  : "SELECT key, value, step, ts FROM run_metric_points WHERE run = ? ORDER BY rowid");
  st.Bind(1, row);
  if (key) st.Bind(2, *key);
  std::vector<MetricPoint> out;
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool r, st.Step());
    if (!r) break;
    out.push_back(MetricPoint{st.Text(0), st.Real(1), st.Int(2), st.Int(3)});
  }
  return out;
}

Status IndexRecord(sqlite3* db, const RunInfo& run, const Oid& record, const std::optional<Oid>& history,
                   const std::vector<MetricPoint>& points) {
  Stmt ins(db,
           "INSERT INTO runs (run_id, experiment_id, name, status, start_time, end_time, user, deleted, exit_code, "
           "command, cwd, env, history, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  ins.Bind(1, run.id)
      .Bind(2, run.experiment_id)
      .Bind(3, run.name)
      .Bind(4, RunStatusName(run.status))
      .Bind(5, run.start_ms)
      .Bind(6, run.end_ms)
      .Bind(7, run.user)
      .Bind(8, run.deleted ? 1 : 0);
  if (run.exit_code) {
    ins.Bind(9, *run.exit_code);
  } else {
    ins.BindNull(9);
  }
  ins.Bind(10, run.command).Bind(11, run.cwd).Bind(12, json(run.env).dump());
  if (history) {
    ins.Bind(13, history->ToString());
  } else {
    ins.BindNull(13);
  }
  ins.Bind(14, record.ToString());
  CAIRN_RETURN_IF_ERROR(ins.Run());
  int64_t row = sqlite3_last_insert_rowid(db);
  CAIRN_RETURN_IF_ERROR(InsertKv(db, "run_params", row, run.params));
  CAIRN_RETURN_IF_ERROR(InsertKv(db, "run_tags", row, run.tags));
  for (const RunInput& in : run.inputs) CAIRN_RETURN_IF_ERROR(InsertInput(db, row, in));
  CAIRN_RETURN_IF_ERROR(InsertArtifacts(db, row, run.artifacts));
  Stmt m(db, "INSERT INTO run_metrics (run, key, value, step, ts) VALUES (?, ?, ?, ?, ?)");
  for (const auto& [key, p] : run.metrics) {
    m.Bind(1, row).Bind(2, key).Bind(3, p.value).Bind(4, p.step).Bind(5, p.timestamp_ms);
    CAIRN_RETURN_IF_ERROR(m.Run());
  }
  Stmt pt(db, "INSERT INTO run_metric_points (run, key, value, step, ts) VALUES (?, ?, ?, ?, ?)");
  for (const MetricPoint& p : points) {
    pt.Bind(1, row).Bind(2, p.key).Bind(3, p.value).Bind(4, p.step).Bind(5, p.timestamp_ms);
    CAIRN_RETURN_IF_ERROR(pt.Run());
  }
  return Status::OK();
}

// Removes the runs matching `condition` (SQL over the runs table) and
// everything indexed under them.
Status DeleteRuns(sqlite3* db, const std::string& condition) {
  for (const char* table :
       {"run_params", "run_tags", "run_metrics", "run_metric_points", "run_inputs", "run_artifacts"}) {
    std::string sql = std::string("DELETE FROM ") + table + " WHERE run IN (SELECT id FROM runs WHERE " + condition + ")";
    CAIRN_RETURN_IF_ERROR(SqliteExec(db, sql.c_str()));
  }
  return SqliteExec(db, ("DELETE FROM runs WHERE " + condition).c_str());
}

}  // namespace tracking_internal

}  // namespace cairn
