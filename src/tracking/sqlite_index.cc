// The SQLite tracking store: the index of sealed run records (rebuilt from
// the records by a reindex) and the oids the store names, for gc.
#include <nlohmann/json.hpp>

#include "cairn/json.h"
#include "tracking/sqlite_store.h"

namespace cairn {

using nlohmann::json;

Status SqliteTrackingStore::IndexSealedRun(const RunInfo& run, const Oid& record, const std::optional<Oid>& history,
                                           const std::vector<MetricPoint>& points) {
  sqlite3* db = db_;
  // A run still marked RUNNING whose record exists was sealed by a process
  // that died before updating the index: the record wins.
  {
    Stmt old(db, "SELECT id FROM runs WHERE run_id = ?");
    old.Bind(1, run.id);
    CAIRN_ASSIGN_OR_RETURN(bool stale, old.Step());
    if (stale) CAIRN_RETURN_IF_ERROR(DeleteRuns("id = " + std::to_string(old.Int(0))));
  }
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
  ins.Bind(10, run.command).Bind(11, run.cwd).Bind(12, DumpJson(json(run.env)));
  if (history) {
    ins.Bind(13, history->ToString());
  } else {
    ins.BindNull(13);
  }
  ins.Bind(14, record.ToString());
  CAIRN_RETURN_IF_ERROR(ins.Run());
  int64_t row = sqlite3_last_insert_rowid(db);
  CAIRN_RETURN_IF_ERROR(InsertKv("run_params", row, run.params));
  CAIRN_RETURN_IF_ERROR(InsertKv("run_tags", row, run.tags));
  for (const RunInput& in : run.inputs) CAIRN_RETURN_IF_ERROR(AddInput(run.id, in, /*replaces_workspace=*/false));
  CAIRN_RETURN_IF_ERROR(AddArtifacts(run.id, run.artifacts));
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
Status SqliteTrackingStore::DeleteRuns(const std::string& condition) {
  sqlite3* db = db_;
  for (const char* table :
       {"run_params", "run_tags", "run_metrics", "run_metric_points", "run_inputs", "run_artifacts"}) {
    std::string sql = std::string("DELETE FROM ") + table + " WHERE run IN (SELECT id FROM runs WHERE " + condition + ")";
    CAIRN_RETURN_IF_ERROR(SqliteExec(db, sql.c_str()));
  }
  return SqliteExec(db, ("DELETE FROM runs WHERE " + condition).c_str());
}

Status SqliteTrackingStore::DropSealedRuns() { return DeleteRuns("record IS NOT NULL"); }

Status SqliteTrackingStore::CollectOids(OidSet* live) {
  auto add = [&](const std::string& text) {
    auto oid = Oid::Parse(text);
    if (oid.ok()) live->insert(*oid);
  };
  Stmt arts(db_, "SELECT oid FROM run_artifacts");
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool row, arts.Step());
    if (!row) break;
    add(arts.Text(0));
  }
  Stmt runs(db_, "SELECT record, history FROM runs WHERE record IS NOT NULL");
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool row, runs.Step());
    if (!row) break;
    add(runs.Text(0));
    if (!runs.IsNull(1)) add(runs.Text(1));
  }
  return Status::OK();
}

}  // namespace cairn
