// The SQLite tracking store: opening, transactions, experiments, finding
// runs and heartbeats.
#include "tracking/sqlite_store.h"

#include <string>
#include <utility>

#include "tracking/schema.h"

namespace cairn {
namespace {

Experiment ExperimentAt(Stmt& st) {
  return Experiment{st.Int(0), st.Text(1), st.Int(2) != 0, st.Int(3), st.Int(4)};
}

constexpr const char kExperimentColumns[] =
    "SELECT e.id, e.name, e.deleted, e.created, "
    "(SELECT count(*) FROM runs r WHERE r.experiment_id = e.id AND r.deleted = 0) FROM experiments e ";
constexpr const char kExperimentColumnsUncounted[] = "SELECT e.id, e.name, e.deleted, e.created, 0 FROM experiments e ";

constexpr const char kStateColumns[] =
    "SELECT run_id, status, record, history, host, pid, pid_start, max(heartbeat, start_time) FROM runs ";

}  // namespace

Result<std::unique_ptr<SqliteTrackingStore>> SqliteTrackingStore::Open(const std::filesystem::path& path) {
  CAIRN_ASSIGN_OR_RETURN(sqlite3 * db, OpenSqlite(path));
  std::unique_ptr<SqliteTrackingStore> store(new SqliteTrackingStore(db));
  // The last connection to close checkpoints the WAL: a few fsyncs, but
  // the next process then opens without replaying the log (which costs more).
  CAIRN_RETURN_IF_ERROR(SqliteExec(db, "PRAGMA case_sensitive_like=ON"));
  // Creating tables takes the write lock: skip it when they exist.
  Stmt probe(db, "SELECT 1 FROM sqlite_master WHERE name = 'run_artifacts'");
  CAIRN_ASSIGN_OR_RETURN(bool exists, probe.Step());
  probe.Reset();
  if (!exists) {
    CAIRN_RETURN_IF_ERROR(SqliteExec(db, kTrackingSchema));
    Stmt def(db, "INSERT OR IGNORE INTO experiments (id, name, created) VALUES (0, 'Default', ?)");
    def.Bind(1, NowMs());
    CAIRN_RETURN_IF_ERROR(def.Run());
    return store;
  }
  // Indexes newer versions added: counting an experiment's runs and finding
  // a run by name scanned every run without them.
  Stmt indexes(db, "SELECT count(*) FROM sqlite_master WHERE name IN ('runs_by_experiment', 'runs_by_name')");
  CAIRN_ASSIGN_OR_RETURN(bool counted, indexes.Step());
  bool have_indexes = counted && indexes.Int(0) == 2;
  indexes.Reset();
  if (!have_indexes) {
    CAIRN_RETURN_IF_ERROR(SqliteExec(db,
                                     "CREATE INDEX IF NOT EXISTS runs_by_experiment ON runs(experiment_id, deleted);"
                                     "CREATE INDEX IF NOT EXISTS runs_by_name ON runs(name);"));
  }
  // Columns newer versions added.
  for (auto [table, column] : {std::pair{"runs", "heartbeat"}, std::pair{"run_inputs", "modified"}}) {
    const std::string probe =
        std::string("SELECT 1 FROM pragma_table_info('") + table + "') WHERE name = '" + column + "'";
    Stmt has(db, probe);
    CAIRN_ASSIGN_OR_RETURN(bool present, has.Step());
    has.Reset();
    if (present) continue;
    const std::string add = std::string("ALTER TABLE ") + table + " ADD COLUMN " + column + " INTEGER NOT NULL DEFAULT 0";
    Status s = SqliteExec(db, add.c_str());
    // Another process may have added it first.
    Stmt again(db, probe);
    CAIRN_ASSIGN_OR_RETURN(bool now_has, again.Step());
    if (!now_has) return s;
  }
  return store;
}

SqliteTrackingStore::~SqliteTrackingStore() {
  cache_.clear();
  sqlite3_close(db_);
}

Stmt& SqliteTrackingStore::Cached(const char* sql) {
  std::unique_ptr<Stmt>& st = cache_[sql];
  if (!st) st = std::make_unique<Stmt>(db_, sql);
  return *st;
}

Status SqliteTrackingStore::Transaction(const std::function<Status()>& body) {
  if (txn_depth_ > 0) return body();  // joins the enclosing transaction
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return SqliteError(db_, "begin");
  }
  ++txn_depth_;
  Status s = body();
  --txn_depth_;
  if (s.ok() && sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK) return Status::OK();
  if (s.ok()) s = SqliteError(db_, "commit");
  sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  return s;
}

Result<std::optional<Experiment>> SqliteTrackingStore::FindExperiment(const std::string& name, bool count_runs) {
  static const std::string counted = std::string(kExperimentColumns) + "WHERE e.name = ?";
  static const std::string uncounted = std::string(kExperimentColumnsUncounted) + "WHERE e.name = ?";
  Stmt& st = Cached((count_runs ? counted : uncounted).c_str());
  StmtUse use(st);
  st.Bind(1, name);
  CAIRN_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<Experiment>();
  return std::optional<Experiment>(ExperimentAt(st));
}

Result<std::optional<Experiment>> SqliteTrackingStore::FindExperimentById(int64_t id, bool count_runs) {
  static const std::string counted = std::string(kExperimentColumns) + "WHERE e.id = ?";
  static const std::string uncounted = std::string(kExperimentColumnsUncounted) + "WHERE e.id = ?";
  Stmt& st = Cached((count_runs ? counted : uncounted).c_str());
  StmtUse use(st);
  st.Bind(1, id);
  CAIRN_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<Experiment>();
  return std::optional<Experiment>(ExperimentAt(st));
}

Result<std::vector<Experiment>> SqliteTrackingStore::ListExperiments() {
  Stmt st(db_, std::string(kExperimentColumns) + "ORDER BY e.id");
  std::vector<Experiment> out;
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(ExperimentAt(st));
  }
  return out;
}

Result<Experiment> SqliteTrackingStore::CreateExperiment(const std::string& name, int64_t created_ms) {
  Stmt st(db_, "INSERT OR IGNORE INTO experiments (name, created) VALUES (?, ?)");
  st.Bind(1, name).Bind(2, created_ms);
  CAIRN_RETURN_IF_ERROR(st.Run());
  if (sqlite3_changes(db_) == 0) {
    return Status::AlreadyExists("experiment '" + name + "' exists", "pick another name");
  }
  CAIRN_ASSIGN_OR_RETURN(auto e, FindExperiment(name, /*count_runs=*/false));  // a new one has none
  if (!e) return Status::Corruption("experiment '" + name + "' vanished after its creation");
  return *e;
}

Status SqliteTrackingStore::PutExperiment(const Experiment& e) {
  Stmt st(db_, "INSERT OR REPLACE INTO experiments (id, name, deleted, created) VALUES (?, ?, ?, ?)");
  st.Bind(1, e.id).Bind(2, e.name).Bind(3, e.deleted ? 1 : 0).Bind(4, e.created_ms);
  return st.Run();
}

Result<std::vector<StoredRunState>> SqliteTrackingStore::QueryStates(Stmt& st) {
  std::vector<StoredRunState> out;
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    StoredRunState s;
    s.id = st.Text(0);
    s.status = ParseRunStatus(st.Text(1)).value_or(RunStatus::kFailed);
    if (!st.IsNull(2)) {
      auto oid = Oid::Parse(st.Text(2));
      if (oid.ok()) s.record = *oid;
    }
    if (!st.IsNull(3)) {
      auto oid = Oid::Parse(st.Text(3));
      if (oid.ok()) s.history = *oid;
    }
    s.host = st.Text(4);
    s.pid = st.Int(5);
    s.pid_start = st.Int(6);
    s.heartbeat_ms = st.Int(7);
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<StoredRunState>> SqliteTrackingStore::FindRunsByIdPrefix(const std::string& prefix, int limit) {
  static const std::string sql = std::string(kStateColumns) + "WHERE run_id >= ? AND run_id < ? LIMIT ?";
  Stmt& st = Cached(sql.c_str());
  StmtUse use(st);
  st.Bind(1, prefix).Bind(2, prefix + "g").Bind(3, limit);
  return QueryStates(st);
}

Result<std::vector<StoredRunState>> SqliteTrackingStore::FindRunsByName(const std::string& name, int limit) {
  static const std::string sql = std::string(kStateColumns) + "WHERE name = ? AND name != '' LIMIT ?";
  Stmt& st = Cached(sql.c_str());
  StmtUse use(st);
  st.Bind(1, name).Bind(2, limit);
  return QueryStates(st);
}

Result<std::vector<StoredRunState>> SqliteTrackingStore::RunningRuns(const std::string& host) {
  static const std::string sql = std::string(kStateColumns) + "WHERE status = 'RUNNING' AND (? = '' OR host = ?)";
  Stmt& st = Cached(sql.c_str());
  StmtUse use(st);
  st.Bind(1, host).Bind(2, host);
  return QueryStates(st);
}

Result<int64_t> SqliteTrackingStore::Row(const std::string& run) {
  Stmt& st = Cached("SELECT id FROM runs WHERE run_id = ?");
  StmtUse use(st);
  st.Bind(1, run);
  CAIRN_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::NotFound("no run '" + run + "' in the run index", "rebuild the index with a reindex");
  return st.Int(0);
}

Status SqliteTrackingStore::Heartbeat(const std::string& run, int64_t now_ms) {
  Stmt& st = Cached("UPDATE runs SET heartbeat = ? WHERE run_id = ? AND status = 'RUNNING'");
  st.Bind(1, now_ms).Bind(2, run);
  CAIRN_RETURN_IF_ERROR(st.Run());
  if (sqlite3_changes(db_) == 0) return Status::NotFound("run " + run + " is not running");
  return Status::OK();
}

}  // namespace cairn
