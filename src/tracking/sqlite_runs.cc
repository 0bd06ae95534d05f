// The SQLite tracking store: writing a run's rows and loading them back.
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "cairn/json.h"
#include "tracking/sqlite_store.h"

namespace cairn {
namespace {

using nlohmann::json;

const char* KvInsert(const char* table) {
  if (std::string_view(table) == "run_params") return "INSERT OR REPLACE INTO run_params (run, key, value) VALUES (?, ?, ?)";
  return "INSERT OR REPLACE INTO run_tags (run, key, value) VALUES (?, ?, ?)";
}

const char* KvSelect(const char* table) {
  if (std::string_view(table) == "run_params") return "SELECT key, value FROM run_params WHERE run = ?";
  return "SELECT key, value FROM run_tags WHERE run = ?";
}

}  // namespace

Status SqliteTrackingStore::InsertKv(const char* table, int64_t row, const std::map<std::string, std::string>& kv) {
  Stmt& st = Cached(KvInsert(table));
  StmtUse use(st);
  for (const auto& [k, v] : kv) {
    st.Bind(1, row).Bind(2, k).Bind(3, v);
    CAIRN_RETURN_IF_ERROR(st.Run());
  }
  return Status::OK();
}

Result<std::map<std::string, std::string>> SqliteTrackingStore::LoadKv(const char* table, int64_t row) {
  Stmt& st = Cached(KvSelect(table));
  StmtUse use(st);
  st.Bind(1, row);
  std::map<std::string, std::string> out;
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool r, st.Step());
    if (!r) break;
    out[st.Text(0)] = st.Text(1);
  }
  return out;
}

Status SqliteTrackingStore::InsertRun(const NewRun& run) {
  const RunInfo& r = run.info;
  Stmt& st = Cached(
      "INSERT INTO runs (run_id, experiment_id, name, status, start_time, user, command, cwd, host, pid, "
      "pid_start, heartbeat, env) VALUES (?, ?, ?, 'RUNNING', ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  st.Bind(1, r.id)
      .Bind(2, r.experiment_id)
      .Bind(3, r.name)
      .Bind(4, r.start_ms)
      .Bind(5, r.user)
      .Bind(6, r.command)
      .Bind(7, r.cwd)
      .Bind(8, run.host)
      .Bind(9, run.pid)
      .Bind(10, run.pid_start)
      .Bind(11, run.heartbeat_ms ? run.heartbeat_ms : r.start_ms)
      .Bind(12, DumpJson(json(r.env)));
  CAIRN_RETURN_IF_ERROR(st.Run());
  int64_t row = sqlite3_last_insert_rowid(db_);
  CAIRN_RETURN_IF_ERROR(InsertKv("run_params", row, r.params));
  CAIRN_RETURN_IF_ERROR(InsertKv("run_tags", row, r.tags));
  for (const RunInput& in : r.inputs) CAIRN_RETURN_IF_ERROR(AddInput(r.id, in, /*replaces_workspace=*/false));
  return Status::OK();
}

Status SqliteTrackingStore::AddParams(const std::string& run, const std::map<std::string, std::string>& params) {
  CAIRN_ASSIGN_OR_RETURN(int64_t row, Row(run));
  Stmt& get = Cached("SELECT value FROM run_params WHERE run = ? AND key = ?");
  Stmt& put = Cached("INSERT INTO run_params (run, key, value) VALUES (?, ?, ?)");
  StmtUse use_get(get), use_put(put);
  for (const auto& [k, v] : params) {
    get.Bind(1, row).Bind(2, k);
    CAIRN_ASSIGN_OR_RETURN(bool exists, get.Step());
    std::string old = exists ? get.Text(0) : std::string();
    get.Reset();
    if (exists) {
      if (old == v) continue;
      return Status::InvalidArgument("param '" + k + "' of run " + run + " is already '" + old +
                                         "'; params are write-once (new value '" + v + "')",
                                     "log a changing value as a metric or a tag, or start a new run");
    }
    put.Bind(1, row).Bind(2, k).Bind(3, v);
    CAIRN_RETURN_IF_ERROR(put.Run());
  }
  return Status::OK();
}

Status SqliteTrackingStore::AddMetrics(const std::string& run, const std::vector<MetricPoint>& points) {
  CAIRN_ASSIGN_OR_RETURN(int64_t row, Row(run));
  // Latest point per key in this batch: highest step, then newest, then last.
  std::unordered_map<std::string_view, const MetricPoint*> latest;
  for (const MetricPoint& p : points) {
    const MetricPoint*& l = latest[p.key];
    if (!l || p.step > l->step || (p.step == l->step && p.timestamp_ms >= l->timestamp_ms)) l = &p;
  }
  Stmt& insert = Cached("INSERT INTO run_metric_points (run, key, value, step, ts) VALUES (?, ?, ?, ?, ?)");
  Stmt& upsert = Cached(
      "INSERT INTO run_metrics (run, key, value, step, ts) VALUES (?, ?, ?, ?, ?) "
      "ON CONFLICT (run, key) DO UPDATE SET value = excluded.value, step = excluded.step, ts = excluded.ts "
      "WHERE excluded.step > run_metrics.step OR "
      "(excluded.step = run_metrics.step AND excluded.ts >= run_metrics.ts)");
  CAIRN_RETURN_IF_ERROR(insert.status());
  CAIRN_RETURN_IF_ERROR(upsert.status());
  for (const MetricPoint& p : points) {
    insert.Bind(1, row).BindStatic(2, p.key).Bind(3, p.value).Bind(4, p.step).Bind(5, p.timestamp_ms);
    CAIRN_RETURN_IF_ERROR(insert.Run());
  }
  for (const auto& [key, p] : latest) {
    upsert.Bind(1, row).Bind(2, key).Bind(3, p->value).Bind(4, p->step).Bind(5, p->timestamp_ms);
    CAIRN_RETURN_IF_ERROR(upsert.Run());
  }
  return Status::OK();
}

Status SqliteTrackingStore::SetTags(const std::string& run, const std::map<std::string, std::string>& tags) {
  CAIRN_ASSIGN_OR_RETURN(int64_t row, Row(run));
  return InsertKv("run_tags", row, tags);
}

Status SqliteTrackingStore::MergeEnv(const std::string& run, const std::map<std::string, std::string>& env) {
  CAIRN_ASSIGN_OR_RETURN(int64_t row, Row(run));
  Stmt get(db_, "SELECT env FROM runs WHERE id = ?");
  get.Bind(1, row);
  CAIRN_ASSIGN_OR_RETURN(bool found, get.Step());
  json j = found ? json::parse(get.Text(0), nullptr, false) : json::object();
  get.Reset();
  if (!j.is_object()) j = json::object();
  for (const auto& [k, v] : env) j[k] = v;
  Stmt put(db_, "UPDATE runs SET env = ? WHERE id = ?");
  put.Bind(1, DumpJson(j)).Bind(2, row);
  return put.Run();
}

Status SqliteTrackingStore::AddInput(const std::string& run, const RunInput& in, bool replaces_workspace) {
  CAIRN_ASSIGN_OR_RETURN(int64_t row, Row(run));
  if (replaces_workspace) {
    Stmt del(db_, "DELETE FROM run_inputs WHERE run = ? AND dataset = ? AND source = 'workspace'");
    del.Bind(1, row).Bind(2, in.dataset);
    CAIRN_RETURN_IF_ERROR(del.Run());
  }
  Stmt& st = Cached(
      "INSERT OR REPLACE INTO run_inputs (run, dataset, version, tag, source, modified) VALUES (?, ?, ?, ?, ?, ?)");
  st.Bind(1, row).Bind(2, in.dataset).Bind(3, in.version.Hex()).Bind(4, in.tag).Bind(5, in.source);
  st.Bind(6, int64_t{in.modified});
  return st.Run();
}

Status SqliteTrackingStore::AddArtifacts(const std::string& run, const std::vector<RunArtifact>& arts) {
  CAIRN_ASSIGN_OR_RETURN(int64_t row, Row(run));
  Stmt& st = Cached("INSERT OR REPLACE INTO run_artifacts (run, path, oid, size) VALUES (?, ?, ?, ?)");
  for (const RunArtifact& a : arts) {
    st.Bind(1, row).Bind(2, a.path).Bind(3, a.oid.ToString()).Bind(4, static_cast<int64_t>(a.size));
    CAIRN_RETURN_IF_ERROR(st.Run());
  }
  return Status::OK();
}

Status SqliteTrackingStore::SetEnded(const std::string& run, RunStatus status, int64_t end_ms,
                                     std::optional<int> exit_code) {
  Stmt& st = Cached("UPDATE runs SET status = ?, end_time = ?, exit_code = ? WHERE run_id = ?");
  st.Bind(1, RunStatusName(status)).Bind(2, end_ms);
  if (exit_code) {
    st.Bind(3, *exit_code);
  } else {
    st.BindNull(3);
  }
  st.Bind(4, run);
  return st.Run();
}

Status SqliteTrackingStore::SetDeleted(const std::string& run, bool deleted) {
  Stmt& st = Cached("UPDATE runs SET deleted = ? WHERE run_id = ?");
  st.Bind(1, deleted ? 1 : 0).Bind(2, run);
  return st.Run();
}

Status SqliteTrackingStore::SetName(const std::string& run, const std::string& name) {
  Stmt& st = Cached("UPDATE runs SET name = ? WHERE run_id = ?");
  st.Bind(1, name).Bind(2, run);
  return st.Run();
}

Status SqliteTrackingStore::SetRecord(const std::string& run, const Oid& record, const std::optional<Oid>& history) {
  Stmt& st = Cached("UPDATE runs SET record = ?, history = ? WHERE run_id = ?");
  st.Bind(1, record.ToString());
  if (history) {
    st.Bind(2, history->ToString());
  } else {
    st.BindNull(2);
  }
  st.Bind(3, run);
  return st.Run();
}

Result<RunInfo> SqliteTrackingStore::LoadRun(const std::string& run, bool full) {
  CAIRN_ASSIGN_OR_RETURN(int64_t row, Row(run));
  return LoadRow(row, full);
}

Result<RunInfo> SqliteTrackingStore::LoadRow(int64_t row, bool full) {
  Stmt& st = Cached(
      "SELECT r.run_id, r.experiment_id, coalesce(e.name, ''), r.name, r.status, r.start_time, "
      "coalesce(r.end_time, 0), r.user, r.deleted, r.exit_code, r.command, r.cwd, r.env, r.record "
      "FROM runs r LEFT JOIN experiments e ON e.id = r.experiment_id WHERE r.id = ?");
  RunInfo run;
  {
    StmtUse use(st);
    st.Bind(1, row);
    CAIRN_ASSIGN_OR_RETURN(bool found, st.Step());
    if (!found) return Status::NotFound("run row vanished", "rebuild the index with a reindex");
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
  }
  CAIRN_ASSIGN_OR_RETURN(run.params, LoadKv("run_params", row));
  CAIRN_ASSIGN_OR_RETURN(run.tags, LoadKv("run_tags", row));
  {
    Stmt& m = Cached("SELECT key, value, step, ts FROM run_metrics WHERE run = ?");
    StmtUse use(m);
    m.Bind(1, row);
    for (;;) {
      CAIRN_ASSIGN_OR_RETURN(bool r, m.Step());
      if (!r) break;
      std::string key = m.Text(0);
      run.metrics[key] = MetricPoint{key, m.Real(1), m.Int(2), m.Int(3)};
    }
  }
  if (!full) return run;
  {
    Stmt& in = Cached("SELECT dataset, version, tag, source, modified FROM run_inputs WHERE run = ? ORDER BY dataset");
    StmtUse use(in);
    in.Bind(1, row);
    for (;;) {
      CAIRN_ASSIGN_OR_RETURN(bool r, in.Step());
      if (!r) break;
      auto oid = Oid::Parse("sha256:" + in.Text(1));
      if (!oid.ok()) continue;
      run.inputs.push_back(RunInput{in.Text(0), *oid, in.Text(2), in.Text(3), in.Int(4) != 0});
    }
  }
  Stmt& art = Cached("SELECT path, oid, size FROM run_artifacts WHERE run = ? ORDER BY path");
  StmtUse use(art);
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

Result<std::vector<MetricPoint>> SqliteTrackingStore::LoadHistory(const std::string& run, const std::string* key) {
  CAIRN_ASSIGN_OR_RETURN(int64_t row, Row(run));
  Stmt& st = Cached(key ? "SELECT key, value, step, ts FROM run_metric_points WHERE run = ? AND key = ? ORDER BY rowid"
                        : "SELECT key, value, step, ts FROM run_metric_points WHERE run = ? ORDER BY rowid");
  StmtUse use(st);
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

}  // namespace cairn
