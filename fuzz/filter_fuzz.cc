// CompileFilter and ParseOrderBy: the --where and --sort text of 'cairn runs'
// (and of the Python API, the REST search, and anything that passes user
// text through). What compiles must be SQL that SQLite accepts against the
// real tracking schema, with exactly one bind per placeholder: user text
// reaches SQL only as binds, so a '?' count that differs means text leaked
// into the SQL. The PostgreSQL emitter of the same tree must number its
// placeholders $1..$N, one per bind, and hold no '?'.
#include <sqlite3.h>

#include <algorithm>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "cairn/filter.h"
#include "tracking/filter.h"
#include "tracking/filter_sql.h"
#include "tracking/schema.h"

namespace {

sqlite3* Db() {
  static sqlite3* db = [] {
    sqlite3* d = nullptr;
    if (sqlite3_open(":memory:", &d) != SQLITE_OK ||
        sqlite3_exec(d, cairn::kTrackingSchema, nullptr, nullptr, nullptr) != SQLITE_OK ||
        sqlite3_exec(d, "PRAGMA case_sensitive_like=ON", nullptr, nullptr, nullptr) != SQLITE_OK) {
      cairn::fuzz::Fail(__FILE__, __LINE__, "schema", sqlite3_errmsg(d));
    }
    return d;
  }();
  return db;
}

// Whether `sql` holds exactly the placeholders $1..$n, and no '?' outside
// quotes (the emitter writes quoted SQL literals of its own, such as 'NaN').
bool PostgresPlaceholdersAre(const std::string& sql, size_t n) {
  std::vector<bool> seen(n + 1, false);
  bool quoted = false;
  for (size_t i = 0; i < sql.size(); ++i) {
    if (sql[i] == '\'') quoted = !quoted;
    if (quoted) continue;
    if (sql[i] == '?') return false;
    if (sql[i] != '$') continue;
    size_t number = 0;
    size_t j = i + 1;
    for (; j < sql.size() && sql[j] >= '0' && sql[j] <= '9'; ++j) number = number * 10 + (sql[j] - '0');
    if (j == i + 1 || number == 0 || number > n) return false;
    seen[number] = true;
    i = j - 1;
  }
  for (size_t k = 1; k <= n; ++k) {
    if (!seen[k]) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cairn;
  std::string_view text = fuzz::AsText(data, size);
  auto sql = CompileFilter(text);
  if (sql.ok()) {
    size_t marks = static_cast<size_t>(std::count(sql->sql.begin(), sql->sql.end(), '?'));
    FUZZ_CHECK(marks == sql->binds.size(), "placeholders and binds differ:\n" + sql->sql);
    std::string query = "SELECT r.id FROM runs r WHERE r.deleted = 0 AND (" + sql->sql + ")";
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(Db(), query.c_str(), -1, &stmt, nullptr);
    FUZZ_CHECK(rc == SQLITE_OK, std::string("SQLite rejects the compiled filter: ") +
                                    sqlite3_errmsg(Db()) + "\n" + query);
    FUZZ_CHECK(static_cast<size_t>(sqlite3_bind_parameter_count(stmt)) == sql->binds.size(),
               "SQLite counts other placeholders:\n" + query);
    for (size_t i = 0; i < sql->binds.size(); ++i) {
      int at = static_cast<int>(i + 1);
      const SqlValue& v = sql->binds[i];
      if (const auto* n = std::get_if<int64_t>(&v)) {
        sqlite3_bind_int64(stmt, at, *n);
      } else if (const auto* d = std::get_if<double>(&v)) {
        sqlite3_bind_double(stmt, at, *d);
      } else {
        const std::string& s = std::get<std::string>(v);
        sqlite3_bind_text(stmt, at, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
      }
    }
    rc = sqlite3_step(stmt);
    FUZZ_CHECK(rc == SQLITE_DONE,
               std::string("the compiled filter fails to run: ") + sqlite3_errmsg(Db()));
    sqlite3_finalize(stmt);
    for (const MetricBound& b : sql->bounds) {
      FUZZ_CHECK(b.op == "=" || b.op == "<" || b.op == "<=" || b.op == ">" || b.op == ">=",
                 "bound with operator '" + b.op + "'");
    }
  } else {
    FUZZ_CHECK(sql.status().code() == Code::kInvalidArgument, fuzz::Describe(sql.status()));
  }

  auto tree = ParseFilter(text);
  FUZZ_CHECK(tree.ok() == sql.ok(), "ParseFilter and CompileFilter disagree");
  if (tree.ok()) {
    SqlFragment pg = EmitPostgresFilter(*tree);
    FUZZ_CHECK(pg.binds.size() == sql->binds.size(), "the emitters bind different values:\n" + pg.sql);
    FUZZ_CHECK(PostgresPlaceholdersAre(pg.sql, pg.binds.size()), "PostgreSQL placeholders are not $1..$N:\n" + pg.sql);
    for (const FilterKeyRef& key : ReferencedKeys(*tree)) {
      FUZZ_CHECK(!key.key.empty() && key.pos < text.size(), "a referenced key is empty or outside the filter");
    }
  }

  auto order = ParseOrderBy({std::string(text)});
  if (!order.ok()) {
    FUZZ_CHECK(order.status().code() == Code::kInvalidArgument, fuzz::Describe(order.status()));
  }
  return 0;
}
