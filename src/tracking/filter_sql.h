// SQL emitters for the filter syntax tree (include/cairn/filter.h), one per
// database, over the run tables of src/tracking/schema.h with the runs
// table aliased as `r`. User text never reaches the SQL: every key and
// value becomes a bind, in the order of its placeholder.
#ifndef CAIRN_TRACKING_FILTER_SQL_H_
#define CAIRN_TRACKING_FILTER_SQL_H_

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "cairn/filter.h"

namespace cairn {

using SqlValue = std::variant<int64_t, double, std::string>;

// A comparison `metrics.key op value` (op one of = < <= > >=) that every
// matching run must satisfy: a conjunct at the top level of the filter. The
// search uses them to walk the (key, value) index instead of scanning runs.
struct MetricBound {
  std::string key;
  std::string op;
  double value = 0;
};

// An SQL boolean expression with placeholders, bound in order: binds[i]
// goes to the i-th placeholder ('?' in SQLite, $first+i in PostgreSQL).
struct SqlFragment {
  std::string sql;
  std::vector<SqlValue> binds;
  std::vector<MetricBound> bounds;
};

// SQLite, as the tracker's state.db runs it: '?' placeholders, LIKE
// case-sensitive (the connection sets PRAGMA case_sensitive_like=ON), ILIKE
// as lower() LIKE lower(), NaN stored as NULL. An empty tree is "1".
SqlFragment EmitSqliteFilter(const FilterTree& tree);

// PostgreSQL over the same tables and columns: placeholders $N from
// `first_placeholder` (so the fragment can follow other binds), native
// ILIKE, columns of runs quoted ("user" is reserved), params and tags read
// as numbers only when they look like one, NaN metrics never matching. An
// empty tree is "TRUE".
SqlFragment EmitPostgresFilter(const FilterTree& tree, int first_placeholder = 1);

}  // namespace cairn

#endif  // CAIRN_TRACKING_FILTER_SQL_H_
