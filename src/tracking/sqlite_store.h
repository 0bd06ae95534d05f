// The SQLite tracking store: the tables of src/tracking/schema.h in
// .cairn/state.db. Split by concept: sqlite_store.cc (opening,
// transactions, experiments, finding runs, heartbeats), sqlite_runs.cc
// (writing and loading runs), sqlite_search.cc (search and key lookups),
// sqlite_index.cc (the index of sealed records and gc oids).
#ifndef CAIRN_TRACKING_SQLITE_STORE_H_
#define CAIRN_TRACKING_SQLITE_STORE_H_

#include <sqlite3.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "cairn/sys/tracking_store.h"
#include "util/sqlite.h"

namespace cairn {

class SqliteTrackingStore final : public TrackingStore {
 public:
  // Opens (creating the tables, or adding columns newer versions need) the
  // database at `path`.
  static Result<std::unique_ptr<SqliteTrackingStore>> Open(const std::filesystem::path& path);
  ~SqliteTrackingStore() override;

  Status Transaction(const std::function<Status()>& body) override;

  Result<std::optional<Experiment>> FindExperiment(const std::string& name, bool count_runs) override;
  Result<std::optional<Experiment>> FindExperimentById(int64_t id, bool count_runs) override;
  Result<std::vector<Experiment>> ListExperiments() override;
  Result<Experiment> CreateExperiment(const std::string& name, int64_t created_ms) override;
  Status PutExperiment(const Experiment& e) override;

  Result<std::vector<StoredRunState>> FindRunsByIdPrefix(const std::string& prefix, int limit) override;
  Result<std::vector<StoredRunState>> FindRunsByName(const std::string& name, int limit) override;
  Result<std::vector<StoredRunState>> RunningRuns(const std::string& host) override;

  Status InsertRun(const NewRun& run) override;
  Status AddParams(const std::string& run, const std::map<std::string, std::string>& params) override;
  Status AddMetrics(const std::string& run, const std::vector<MetricPoint>& points) override;
  Status SetTags(const std::string& run, const std::map<std::string, std::string>& tags) override;
  Status MergeEnv(const std::string& run, const std::map<std::string, std::string>& env) override;
  Status AddInput(const std::string& run, const RunInput& input, bool replaces_workspace) override;
  Status AddArtifacts(const std::string& run, const std::vector<RunArtifact>& artifacts) override;
  Status SetEnded(const std::string& run, RunStatus status, int64_t end_ms, std::optional<int> exit_code) override;
  Status SetDeleted(const std::string& run, bool deleted) override;
  Status SetRecord(const std::string& run, const Oid& record, const std::optional<Oid>& history) override;
  Status Heartbeat(const std::string& run, int64_t now_ms) override;

  Result<RunInfo> LoadRun(const std::string& run, bool full) override;
  Result<std::vector<MetricPoint>> LoadHistory(const std::string& run, const std::string* key) override;
  Result<std::vector<RunInfo>> Search(const RunQuery& query) override;
  Result<std::vector<RunInfo>> LoadRunLinks(const std::string& tag_prefix) override;
  Result<std::vector<std::string>> MissingKeys(RunKeyKind kind, const std::vector<std::string>& keys,
                                               const std::vector<int64_t>& experiment_ids) override;

  Status IndexSealedRun(const RunInfo& run, const Oid& record, const std::optional<Oid>& history,
                        const std::vector<MetricPoint>& points) override;
  Status DropSealedRuns() override;
  Status CollectOids(OidSet* oids) override;
  Status SetName(const std::string& run, const std::string& name) override;

 private:
  explicit SqliteTrackingStore(sqlite3* db) : db_(db) {}

  // A statement prepared once and kept (reset after every use by Use).
  Stmt& Cached(const char* sql);
  // The row id of a run; NotFound naming it when there is none.
  Result<int64_t> Row(const std::string& run);
  Result<std::vector<StoredRunState>> QueryStates(Stmt& st);
  Status InsertKv(const char* table, int64_t row, const std::map<std::string, std::string>& kv);
  Result<std::map<std::string, std::string>> LoadKv(const char* table, int64_t row);
  Result<RunInfo> LoadRow(int64_t row, bool full);
  // Removes the runs matching `condition` (SQL over the runs table) and
  // everything indexed under them.
  Status DeleteRuns(const std::string& condition);

  sqlite3* db_;
  int txn_depth_ = 0;
  std::map<const char*, std::unique_ptr<Stmt>> cache_;
};

// Resets a statement when the scope ends, so a cached one holds no read
// transaction and is ready for the next use.
class StmtUse {
 public:
  explicit StmtUse(Stmt& st) : st_(st) {}
  ~StmtUse() { st_.Reset(); }
  StmtUse(const StmtUse&) = delete;
  StmtUse& operator=(const StmtUse&) = delete;

 private:
  Stmt& st_;
};

}  // namespace cairn

#endif  // CAIRN_TRACKING_SQLITE_STORE_H_
