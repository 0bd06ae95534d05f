#include "util/sqlite.h"

namespace cairn {
namespace {

constexpr const char kIndexHint[] =
    "state.db is an index: 'cairn reindex' rebuilds the run tables from the run records, and the stat "
    "cache refills itself";

}  // namespace

Status SqliteError(sqlite3* db, const std::string& what) {
  return Status::IOError("state database: " + what + ": " + sqlite3_errmsg(db), kIndexHint);
}

Result<sqlite3*> OpenSqlite(const std::filesystem::path& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    Status s = Status::IOError("cannot open " + path.string() + ": " + sqlite3_errmsg(db));
    sqlite3_close(db);
    return s;
  }
  sqlite3_busy_timeout(db, 30000);
  Status s = SqliteExec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL");
  if (!s.ok()) {
    sqlite3_close(db);
    return s;
  }
  return db;
}

Status SqliteExec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db);
    sqlite3_free(err);
    return Status::IOError("state database: " + msg, kIndexHint);
  }
  return Status::OK();
}

}  // namespace cairn
