// Sealing ended runs into records named by refs/runs/<id>, rebuilding the
// index from the records (reindex), adopting records from elsewhere
// (import) and the gc roots they hold.
#include <nlohmann/json.hpp>

#include "cairn/object.h"
#include "cairn/tracking.h"
#include "tracking/record.h"
#include "tracking/tracker_internal.h"
#include "util/file.h"
#include "util/sqlite.h"

namespace cairn {

using namespace tracking_internal;

namespace tracking_internal {

using nlohmann::json;

Status WriteRunRef(Repo& repo, const std::string& id, const Oid& record) {
  fs::path path = RunRefPath(repo, id);
  CAIRN_RETURN_IF_ERROR(MakeDirs(path.parent_path()));
  return WriteFileAtomic(path, record.ToString() + "\n", /*sync=*/true);
}

// Writes the run's record (and metric history when `history` is empty and
// points exist), makes them durable, moves the ref, and notes the record in
// the table. The caller holds the repository lock.
Status Seal(sqlite3* db, Repo& repo, int64_t row, std::optional<Oid> history) {
  CAIRN_ASSIGN_OR_RETURN(RunInfo run, LoadRun(db, row, /*full=*/true));
  if (!history) {
    CAIRN_ASSIGN_OR_RETURN(std::vector<MetricPoint> points, LoadPoints(db, row, nullptr));
    if (!points.empty()) {
      CAIRN_ASSIGN_OR_RETURN(Oid h, repo.store().PutObjectDurable(EncodeMetricHistory(points)));
      history = h;
    }
  }
  CAIRN_ASSIGN_OR_RETURN(Oid record, repo.store().PutObjectDurable(EncodeRunRecord(run, history)));
  CAIRN_RETURN_IF_ERROR(WriteRunRef(repo, run.id, record));
  Stmt st(db, "UPDATE runs SET record = ?, history = ? WHERE id = ?");
  st.Bind(1, record.ToString());
  if (history) {
    st.Bind(2, history->ToString());
  } else {
    st.BindNull(2);
  }
  st.Bind(3, row);
  return st.Run();
}

// Re-seals an ended run after a change (tags, artifacts, delete/restore).
Status Reseal(sqlite3* db, Repo& repo, const RunRow& r) {
  if (!r.sealed) return Status::OK();
  Stmt st(db, "SELECT history FROM runs WHERE id = ?");
  st.Bind(1, r.row);
  CAIRN_ASSIGN_OR_RETURN(bool found, st.Step());
  std::optional<Oid> history;
  if (found && !st.IsNull(0)) {
    auto oid = Oid::Parse(st.Text(0));
    if (oid.ok()) history = *oid;
  }
  // Without one (a run that logged no points), Seal looks for points again.
  return Seal(db, repo, r.row, history);
}

}  // namespace tracking_internal

namespace {

// Indexes a sealed run from its record (replacing any row of that id). With
// `trust_id` (records made in this clone), a run whose experiment was renamed
// stays in it; otherwise (records from another clone, whose experiment ids
// mean nothing here) the run joins, or creates, the experiment of its name.
Status IndexSealedRun(sqlite3* db, Repo& repo, const std::string& id, const Oid& record, bool trust_id) {
  CAIRN_ASSIGN_OR_RETURN(std::string data, repo.store().Read(record));
  std::optional<Oid> history;
  CAIRN_ASSIGN_OR_RETURN(RunInfo run, DecodeRunRecord(data, "run " + id, &history));
  std::vector<MetricPoint> points;
  if (history) {
    CAIRN_ASSIGN_OR_RETURN(std::string h, repo.store().Read(*history));
    CAIRN_ASSIGN_OR_RETURN(points, DecodeMetricHistory(h, "metric history of run " + id));
  }
  // A run still marked RUNNING whose record exists was sealed by a process
  // that died before updating the index: the record wins.
  Stmt old(db, "SELECT id FROM runs WHERE run_id = ?");
  old.Bind(1, id);
  CAIRN_ASSIGN_OR_RETURN(bool stale, old.Step());
  if (stale) CAIRN_RETURN_IF_ERROR(DeleteRuns(db, "id = " + std::to_string(old.Int(0))));
  // The record's experiment id is this clone's when the record was made
  // here (the experiment may have been renamed since), but means nothing
  // for a record imported from another clone, which is matched by name.
  std::optional<Experiment> exp;
  {
    Stmt by_id(db, "SELECT name FROM experiments WHERE id = ?");
    by_id.Bind(1, run.experiment_id);
    CAIRN_ASSIGN_OR_RETURN(bool row, by_id.Step());
    std::string id_name = row ? by_id.Text(0) : std::string();
    CAIRN_ASSIGN_OR_RETURN(exp, FindExperiment(db, row && id_name == run.experiment ? id_name : run.experiment));
    if (!exp && row && trust_id) {
      CAIRN_ASSIGN_OR_RETURN(exp, FindExperiment(db, id_name));
    }
  }
  if (!exp) {
    Stmt ins(db, "INSERT INTO experiments (name, created) VALUES (?, ?)");
    ins.Bind(1, run.experiment).Bind(2, run.start_ms);
    CAIRN_RETURN_IF_ERROR(ins.Run());
    CAIRN_ASSIGN_OR_RETURN(exp, FindExperiment(db, run.experiment));
    CAIRN_RETURN_IF_ERROR(WriteExperimentRef(repo, *exp));
  }
  run.experiment_id = exp->id;
  return IndexRecord(db, run, record, history, points);
}

}  // namespace

Result<int64_t> Tracker::Reindex() {
  std::lock_guard lock(impl_->mu);
  sqlite3* db = impl_->db;
  CAIRN_ASSIGN_OR_RETURN(RepoLock repo_lock, repo_.Lock());
  Txn txn(db);
  CAIRN_RETURN_IF_ERROR(txn.Begin());
  CAIRN_RETURN_IF_ERROR(DeleteRuns(db, "record IS NOT NULL"));
  for (const std::string& name : ListDir(repo_.refs_dir() / "experiments")) {
    fs::path path = repo_.refs_dir() / "experiments" / name;
    CAIRN_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
    json j = json::parse(data, nullptr, false);
    if (!j.is_object() || !j.contains("id") || !j.contains("name")) {
      return Status::Corruption(path.string() + ": damaged experiment file", "fix or remove it");
    }
    Stmt st(db, "INSERT OR REPLACE INTO experiments (id, name, deleted, created) VALUES (?, ?, ?, ?)");
    st.Bind(1, j["id"].get<int64_t>())
        .Bind(2, j["name"].get<std::string>())
        .Bind(3, j.value("deleted", false) ? 1 : 0)
        .Bind(4, j.value("created", int64_t{0}));
    CAIRN_RETURN_IF_ERROR(st.Run());
  }
  int64_t count = 0;
  for (const std::string& id : ListDir(repo_.refs_dir() / "runs")) {
    if (!ValidateRunId(id).ok()) continue;
    CAIRN_ASSIGN_OR_RETURN(Oid record, ReadRunRef(RunRefPath(repo_, id)));
    CAIRN_RETURN_IF_ERROR(IndexSealedRun(db, repo_, id, record, /*trust_id=*/true));
    ++count;
  }
  CAIRN_RETURN_IF_ERROR(txn.Commit());
  return count;
}

Result<int64_t> Tracker::ImportRuns(const std::vector<std::pair<std::string, Oid>>& runs) {
  std::lock_guard lock(impl_->mu);
  sqlite3* db = impl_->db;
  CAIRN_ASSIGN_OR_RETURN(RepoLock repo_lock, repo_.Lock());
  Txn txn(db);
  CAIRN_RETURN_IF_ERROR(txn.Begin());
  int64_t count = 0;
  for (const auto& [id, record] : runs) {
    CAIRN_RETURN_IF_ERROR(ValidateRunId(id));
    auto current = ReadRunRef(RunRefPath(repo_, id));
    if (current.ok() && *current == record) continue;
    CAIRN_RETURN_IF_ERROR(IndexSealedRun(db, repo_, id, record, /*trust_id=*/false));
    CAIRN_RETURN_IF_ERROR(WriteRunRef(repo_, id, record));
    ++count;
  }
  CAIRN_RETURN_IF_ERROR(txn.Commit());
  return count;
}

Status Tracker::CollectRoots(OidSet* live) {
  std::lock_guard lock(impl_->mu);
  sqlite3* db = impl_->db;
  auto add = [&](const std::string& text) {
    auto oid = Oid::Parse(text);
    if (oid.ok()) live->insert(*oid);
  };
  Stmt arts(db, "SELECT oid FROM run_artifacts");
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool row, arts.Step());
    if (!row) break;
    add(arts.Text(0));
  }
  Stmt runs(db, "SELECT record, history FROM runs WHERE record IS NOT NULL");
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool row, runs.Step());
    if (!row) break;
    add(runs.Text(0));
    if (!runs.IsNull(1)) add(runs.Text(1));
  }
  // Records named by refs but missing from the index (before a reindex).
  for (const std::string& id : ListDir(repo_.refs_dir() / "runs")) {
    auto record = ReadRunRef(RunRefPath(repo_, id));
    if (!record.ok() || live->count(*record)) continue;
    live->insert(*record);
    auto data = repo_.store().Read(*record);
    if (!data.ok()) continue;
    std::optional<Oid> history;
    auto run = DecodeRunRecord(*data, "run " + id, &history);
    if (!run.ok()) continue;
    if (history) live->insert(*history);
    for (const RunArtifact& a : run->artifacts) live->insert(a.oid);
  }
  return Status::OK();
}

}  // namespace cairn
