// SQLite pieces shared by the indexes in .cairn/state.db (the stat cache and
// version index in src/repo/state_db.cc, the run index in src/tracking).
#ifndef CAIRN_UTIL_SQLITE_H_
#define CAIRN_UTIL_SQLITE_H_

#include <sqlite3.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <variant>

#include "cairn/status.h"

namespace cairn {

// "state database: <what>: <SQLite's message>", with a hint that the
// database is an index that can be rebuilt.
Status SqliteError(sqlite3* db, const std::string& what);

// Opens (creating) a database in WAL mode with synchronous=NORMAL and a 30 s
// busy timeout; the caller closes it.
Result<sqlite3*> OpenSqlite(const std::filesystem::path& path);

// Runs one or more statements without results.
Status SqliteExec(sqlite3* db, const char* sql);

// A prepared statement with typed binds and reads. NaN binds as NULL (SQLite
// has no NaN) and NULL reads back as NaN.
class Stmt {
 public:
  Stmt(sqlite3* db, std::string_view sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &st_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Status status() const { return rc_ == SQLITE_OK ? Status::OK() : SqliteError(db_, "prepare"); }
  sqlite3_stmt* get() { return st_; }

  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(st_, i, v);
    return *this;
  }
  Stmt& Bind(int i, int v) { return Bind(i, static_cast<int64_t>(v)); }
  Stmt& Bind(int i, double v) {
    if (std::isnan(v)) {
      sqlite3_bind_null(st_, i);
    } else {
      sqlite3_bind_double(st_, i, v);
    }
    return *this;
  }
  Stmt& Bind(int i, std::string_view v) {
    sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, const char* v) { return Bind(i, std::string_view(v)); }
  Stmt& Bind(int i, const std::string& v) { return Bind(i, std::string_view(v)); }
  template <typename... T>
  Stmt& Bind(int i, const std::variant<T...>& v) {
    std::visit([&](const auto& x) { Bind(i, x); }, v);
    return *this;
  }
  // Binds text the caller keeps alive until the next Step (no copy).
  Stmt& BindStatic(int i, std::string_view v) {
    sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& BindNull(int i) {
    sqlite3_bind_null(st_, i);
    return *this;
  }

  // True on a row, false when done.
  Result<bool> Step() {
    if (rc_ != SQLITE_OK) return SqliteError(db_, "prepare");
    int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqliteError(db_, "query");
  }
  // Steps once (a statement without results) and resets.
  Status Run() {
    auto r = Step();
    Reset();
    return r.ok() ? Status::OK() : r.status();
  }
  // Resets for the next execution; every parameter must be bound again.
  void Reset() { sqlite3_reset(st_); }

  int64_t Int(int c) { return sqlite3_column_int64(st_, c); }
  bool IsNull(int c) { return sqlite3_column_type(st_, c) == SQLITE_NULL; }
  double Real(int c) { return IsNull(c) ? std::nan("") : sqlite3_column_double(st_, c); }
  std::string Text(int c) {
    const unsigned char* t = sqlite3_column_text(st_, c);
    return t ? std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(sqlite3_column_bytes(st_, c)))
             : std::string();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
  int rc_;
};

}  // namespace cairn

#endif  // CAIRN_UTIL_SQLITE_H_
