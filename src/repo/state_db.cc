#include "repo/state_db.h"

#include <sqlite3.h>

#include <chrono>
#include <memory>

namespace cairn {
namespace {

// Timestamps of ext4 come from a coarse kernel clock; treat anything written
// within this window of the recording as possibly changed again unseen.
constexpr int64_t kRacyWindowNs = 50'000'000;

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Stmt() { sqlite3_finalize(stmt_); }
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

Status DbError(sqlite3* db, const std::string& what) {
  return Status::IOError("state database: " + what + ": " + sqlite3_errmsg(db),
                         "the database is an index; delete .cairn/state.db to rebuild it");
}

}  // namespace

bool StatMatches(const StatEntry& e, uint64_t size, int64_t mtime_ns, uint64_t inode) {
  return e.size == size && e.mtime_ns == mtime_ns && e.inode == inode &&
         mtime_ns + kRacyWindowNs < e.cached_ns;
}

Result<std::unique_ptr<StateDb>> StateDb::Open(const std::filesystem::path& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    Status s = Status::IOError("cannot open " + path.string() + ": " + sqlite3_errmsg(db));
    sqlite3_close(db);
    return s;
  }
  std::unique_ptr<StateDb> state(new StateDb(db));
  sqlite3_busy_timeout(db, 30000);
  CAIRN_RETURN_IF_ERROR(state->Exec("PRAGMA journal_mode=WAL"));
  CAIRN_RETURN_IF_ERROR(state->Exec("PRAGMA synchronous=NORMAL"));
  CAIRN_RETURN_IF_ERROR(state->Exec(
      "CREATE TABLE IF NOT EXISTS stat_cache (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER,"
      " inode INTEGER, cached_ns INTEGER, oid BLOB) WITHOUT ROWID;"
      "CREATE TABLE IF NOT EXISTS versions (oid BLOB PRIMARY KEY, dataset TEXT, time INTEGER);"
      "CREATE INDEX IF NOT EXISTS versions_by_dataset ON versions(dataset, time);"));
  return state;
}

StateDb::~StateDb() { sqlite3_close(db_); }

Status StateDb::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Status::IOError("state database: " + msg,
                           "the database is an index; delete .cairn/state.db to rebuild it");
  }
  return Status::OK();
}

Result<std::unordered_map<std::string, StatEntry>> StateDb::LoadStatEntries(const std::string& prefix) {
  std::unordered_map<std::string, StatEntry> out;
  // path = prefix, or prefix/ <= path < prefix0 ('0' follows '/').
  Stmt st(db_,
          "SELECT path, size, mtime_ns, inode, cached_ns, oid FROM stat_cache"
          " WHERE path = ?1 OR (path >= ?2 AND path < ?3)");
  if (!st.ok()) return DbError(db_, "prepare");
  std::string lo = prefix + "/", hi = prefix + "0";
  sqlite3_bind_text(st.get(), 1, prefix.data(), static_cast<int>(prefix.size()), SQLITE_STATIC);
  sqlite3_bind_text(st.get(), 2, lo.data(), static_cast<int>(lo.size()), SQLITE_STATIC);
  sqlite3_bind_text(st.get(), 3, hi.data(), static_cast<int>(hi.size()), SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    StatEntry e;
    e.size = static_cast<uint64_t>(sqlite3_column_int64(st.get(), 1));
    e.mtime_ns = sqlite3_column_int64(st.get(), 2);
    e.inode = static_cast<uint64_t>(sqlite3_column_int64(st.get(), 3));
    e.cached_ns = sqlite3_column_int64(st.get(), 4);
    if (sqlite3_column_bytes(st.get(), 5) != Oid::kSize) continue;
    std::array<uint8_t, Oid::kSize> b;
    std::memcpy(b.data(), sqlite3_column_blob(st.get(), 5), Oid::kSize);
    e.oid = Oid(b);
    const char* path = reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0));
    out.emplace(path, e);
  }
  if (rc != SQLITE_DONE) return DbError(db_, "read stat cache");
  return out;
}

Status StateDb::PutStatEntries(const std::vector<std::pair<std::string, StatEntry>>& entries) {
  if (entries.empty()) return Status::OK();
  CAIRN_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Stmt st(db_, "INSERT OR REPLACE INTO stat_cache VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!st.ok()) {
    Exec("ROLLBACK");
    return DbError(db_, "prepare");
  }
  for (const auto& [path, e] : entries) {
    sqlite3_bind_text(st.get(), 1, path.data(), static_cast<int>(path.size()), SQLITE_STATIC);
    sqlite3_bind_int64(st.get(), 2, static_cast<int64_t>(e.size));
    sqlite3_bind_int64(st.get(), 3, e.mtime_ns);
    sqlite3_bind_int64(st.get(), 4, static_cast<int64_t>(e.inode));
    sqlite3_bind_int64(st.get(), 5, e.cached_ns);
    sqlite3_bind_blob(st.get(), 6, e.oid.bytes().data(), Oid::kSize, SQLITE_STATIC);
    if (sqlite3_step(st.get()) != SQLITE_DONE) {
      Status s = DbError(db_, "write stat cache");
      Exec("ROLLBACK");
      return s;
    }
    sqlite3_reset(st.get());
  }
  return Exec("COMMIT");
}

Status StateDb::AddVersion(const Oid& oid, const std::string& dataset, int64_t time) {
  Stmt st(db_, "INSERT OR IGNORE INTO versions VALUES (?1, ?2, ?3)");
  if (!st.ok()) return DbError(db_, "prepare");
  sqlite3_bind_blob(st.get(), 1, oid.bytes().data(), Oid::kSize, SQLITE_STATIC);
  sqlite3_bind_text(st.get(), 2, dataset.data(), static_cast<int>(dataset.size()), SQLITE_STATIC);
  sqlite3_bind_int64(st.get(), 3, time);
  if (sqlite3_step(st.get()) != SQLITE_DONE) return DbError(db_, "record version");
  return Status::OK();
}

Result<std::vector<Oid>> StateDb::FindVersions(const std::string& dataset, const std::string& hex_prefix) {
  Stmt st(db_, "SELECT oid FROM versions WHERE dataset = ?1 ORDER BY time");
  if (!st.ok()) return DbError(db_, "prepare");
  sqlite3_bind_text(st.get(), 1, dataset.data(), static_cast<int>(dataset.size()), SQLITE_STATIC);
  std::vector<Oid> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    if (sqlite3_column_bytes(st.get(), 0) != Oid::kSize) continue;
    std::array<uint8_t, Oid::kSize> b;
    std::memcpy(b.data(), sqlite3_column_blob(st.get(), 0), Oid::kSize);
    Oid oid(b);
    if (oid.Hex().compare(0, hex_prefix.size(), hex_prefix) == 0) out.push_back(oid);
  }
  if (rc != SQLITE_DONE) return DbError(db_, "read versions");
  return out;
}

Result<std::vector<std::string>> StateDb::Datasets() {
  Stmt st(db_, "SELECT DISTINCT dataset FROM versions ORDER BY dataset");
  if (!st.ok()) return DbError(db_, "prepare");
  std::vector<std::string> out;
  while (sqlite3_step(st.get()) == SQLITE_ROW) {
    out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0)));
  }
  return out;
}

}  // namespace cairn
