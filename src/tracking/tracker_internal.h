// What the tracker's source files share: the Tracker's state, the SQLite
// run index helpers (run_index.cc), sealing (sealing.cc), experiment rows
// (experiments.cc), ids and names (ids.cc) and process liveness
// (liveness.cc). Internal to src/tracking.
#ifndef CAIRN_TRACKING_TRACKER_INTERNAL_H_
#define CAIRN_TRACKING_TRACKER_INTERNAL_H_

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/status.h"
#include "cairn/tracking.h"
#include "util/file.h"
#include "util/sqlite.h"

namespace cairn {

struct Tracker::Impl {
  sqlite3* db = nullptr;
  std::recursive_mutex mu;
  std::string host;
  std::unique_ptr<Stmt> insert_point, upsert_latest;

  ~Impl() {
    insert_point.reset();
    upsert_latest.reset();
    sqlite3_close(db);
  }
};

namespace tracking_internal {

// ---- ids and names (ids.cc) ----
std::string RandomRunId();
bool IsHex(std::string_view s);
std::string HostName();
std::string LoginName();
fs::path RunRefPath(Repo& repo, const std::string& id);
fs::path ExperimentRefPath(Repo& repo, int64_t id);
// Names in `dir` not starting with '.', sorted; empty when it cannot be read.
std::vector<std::string> ListDir(const fs::path& dir);
Status ValidateExperimentName(const std::string& name);

// ---- process liveness (liveness.cc) ----
// Start time of a process (clock ticks since boot); 0 when there is no such process.
int64_t ProcessStart(int64_t pid);

// A write transaction, rolled back unless committed.
class Txn {
 public:
  explicit Txn(sqlite3* db) : db_(db) {}
  ~Txn() {
    if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  Status Begin() {
    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return SqliteError(db_, "begin");
    }
    open_ = true;
    return Status::OK();
  }
  Status Commit() {
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) return SqliteError(db_, "commit");
    open_ = false;
    return Status::OK();
  }

 private:
  sqlite3* db_;
  bool open_ = false;
};

// ---- experiments (experiments.cc) ----
Status WriteExperimentRef(Repo& repo, const Experiment& e);
Result<std::optional<Experiment>> FindExperiment(sqlite3* db, const std::string& name);
Status NoExperiment(const std::string& name);

// ---- the SQLite run index (run_index.cc) ----
struct RunRow {
  int64_t row = 0;
  std::string id;
  RunStatus status = RunStatus::kRunning;
  bool sealed = false;
};

// A run by id, unique id prefix (≥ 6 hex) or name.
Result<RunRow> FindRun(sqlite3* db, const std::string& run);
Status InsertInput(sqlite3* db, int64_t row, const RunInput& in);
Status InsertKv(sqlite3* db, const char* table, int64_t row, const std::map<std::string, std::string>& kv);
Status InsertArtifacts(sqlite3* db, int64_t row, const std::vector<RunArtifact>& arts);
// Reads a run's row and, with `full`, its inputs, artifacts and env.
Result<RunInfo> LoadRun(sqlite3* db, int64_t row, bool full);
// A run's metric points in logging order (of one key, when given).
Result<std::vector<MetricPoint>> LoadPoints(sqlite3* db, int64_t row, const std::string* key);
// Inserts the index rows of a sealed run.
Status IndexRecord(sqlite3* db, const RunInfo& run, const Oid& record, const std::optional<Oid>& history,
                   const std::vector<MetricPoint>& points);
// Removes the runs matching `condition` (SQL over the runs table) and
// everything indexed under them.
Status DeleteRuns(sqlite3* db, const std::string& condition);

// ---- sealing (sealing.cc) ----
Status WriteRunRef(Repo& repo, const std::string& id, const Oid& record);
// Writes the run's record (and metric history when `history` is empty and
// points exist), makes them durable, moves the ref, and notes the record in
// the table. The caller holds the repository lock.
Status Seal(sqlite3* db, Repo& repo, int64_t row, std::optional<Oid> history);
// Re-seals an ended run after a change (tags, artifacts, delete/restore).
Status Reseal(sqlite3* db, Repo& repo, const RunRow& r);

}  // namespace tracking_internal
}  // namespace cairn

#endif  // CAIRN_TRACKING_TRACKER_INTERNAL_H_
