// The SQLite tracking store: run search (the filter of tracking/filter.h
// compiled to SQL over the tables, walking the metric index when the order
// or a selective bound allows) and the keys no run has.
// GCC 12 reports a false maybe-uninitialized in the copy of a std::variant
// holding a string when a vector of them grows (a known GCC bug, PR 105562).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <unordered_map>

#include "tracking/filter.h"
#include "tracking/sqlite_store.h"

namespace cairn {

namespace {

// SQL for the value a run has under an order key, with its binds.
std::string OrderExpr(const OrderKey& k, std::vector<SqlValue>* binds) {
  switch (k.kind) {
    case OrderKey::Kind::kMetric:
      binds->push_back(k.key);
      return "(SELECT value FROM run_metrics WHERE run = r.id AND key = ?)";
    case OrderKey::Kind::kParam:
      binds->push_back(k.key);
      return "(SELECT value FROM run_params WHERE run = r.id AND key = ?)";
    case OrderKey::Kind::kTag:
      binds->push_back(k.key);
      return "(SELECT value FROM run_tags WHERE run = r.id AND key = ?)";
    case OrderKey::Kind::kAttribute:
      return "r." + k.key;
  }
  return "r.start_time";
}

std::string OrderClause(const std::vector<OrderKey>& keys, size_t from, std::vector<SqlValue>* binds) {
  std::string sql;
  for (size_t i = from; i < keys.size(); ++i) {
    sql += OrderExpr(keys[i], binds) + (keys[i].descending ? " DESC NULLS LAST, " : " ASC NULLS LAST, ");
  }
  return sql + "r.start_time DESC, r.run_id";
}

Result<std::vector<int64_t>> QueryIds(sqlite3* db, const std::string& sql, const std::vector<SqlValue>& binds) {
  Stmt st(db, sql);
  CAIRN_RETURN_IF_ERROR(st.status());
  for (size_t i = 0; i < binds.size(); ++i) st.Bind(static_cast<int>(i + 1), binds[i]);
  std::vector<int64_t> ids;
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    ids.push_back(st.Int(0));
  }
  return ids;
}

std::string IdList(const std::vector<int64_t>& ids) {
  std::string out;
  for (int64_t id : ids) out += (out.empty() ? "" : ", ") + std::to_string(id);
  return out;
}

}  // namespace

Result<std::vector<RunInfo>> SqliteTrackingStore::Search(const RunQuery& options) {
  sqlite3* db = db_;
  CAIRN_ASSIGN_OR_RETURN(SqlFragment filter, CompileFilter(options.filter));
  CAIRN_ASSIGN_OR_RETURN(std::vector<OrderKey> order, ParseOrderBy(options.order_by));
  if (options.limit < 0) return Status::InvalidArgument("the limit must not be negative");
  // The base condition: lifecycle, experiments, statuses, the filter.
  using Lifecycle = RunQuery::Lifecycle;
  std::string where = options.lifecycle == Lifecycle::kDeletedOnly ? "r.deleted = 1"
                      : options.lifecycle == Lifecycle::kAll       ? "1"
                                                                   : "r.deleted = 0";
  std::vector<SqlValue> where_binds;
  if (!options.experiment_ids.empty()) where += " AND r.experiment_id IN (" + IdList(options.experiment_ids) + ")";
  if (!options.statuses.empty()) {
    std::string names;
    for (RunStatus s : options.statuses) names += std::string(names.empty() ? "'" : ", '") + RunStatusName(s) + "'";
    where += " AND r.status IN (" + names + ")";
  }
  where += " AND (" + filter.sql + ")";
  where_binds.insert(where_binds.end(), filter.binds.begin(), filter.binds.end());

  std::vector<int64_t> ids;
  if (!order.empty() && order[0].kind == OrderKey::Kind::kMetric) {
    // Walk the (key, value) index in order and stop at the limit; runs
    // without the metric (or with NaN) come after, as NULLS LAST would.
    // Filter bounds on the same metric narrow the walk.
    std::vector<SqlValue> binds{order[0].key};
    std::string range;
    for (const MetricBound& b : filter.bounds) {
      if (b.key != order[0].key) continue;
      range += " AND s.value " + b.op + " ?";
      binds.push_back(b.value);
    }
    binds.insert(binds.end(), where_binds.begin(), where_binds.end());
    std::string rest = OrderClause(order, 1, &binds);
    std::string sql = "SELECT r.id FROM run_metrics s JOIN runs r ON r.id = s.run WHERE s.key = ? AND "
                      "s.value IS NOT NULL" +
                      range + " AND " + where + " ORDER BY s.value " + (order[0].descending ? "DESC" : "ASC") +
                      ", " + rest + " LIMIT " + std::to_string(options.limit);
    CAIRN_ASSIGN_OR_RETURN(ids, QueryIds(db, sql, binds));
    // With a bound on the metric, runs without it cannot match.
    if (static_cast<int64_t>(ids.size()) < options.limit && range.empty()) {
      std::vector<SqlValue> binds2 = where_binds;
      binds2.push_back(order[0].key);
      std::string rest2 = OrderClause(order, 1, &binds2);
      std::string sql2 = "SELECT r.id FROM runs r WHERE " + where +
                         " AND NOT EXISTS (SELECT 1 FROM run_metrics s WHERE s.run = r.id AND s.key = ? AND "
                         "s.value IS NOT NULL) ORDER BY " +
                         rest2 + " LIMIT " + std::to_string(options.limit - static_cast<int64_t>(ids.size()));
      CAIRN_ASSIGN_OR_RETURN(auto more, QueryIds(db, sql2, binds2));
      ids.insert(ids.end(), more.begin(), more.end());
    }
  } else {
    // A selective metric bound (few runs satisfy it) drives the query from
    // the metric index; otherwise runs are scanned in order, and matches are
    // common enough that the limit is reached early.
    constexpr int64_t kSelective = 5000;
    const MetricBound* driver = nullptr;
    int64_t fewest = kSelective;
    for (const MetricBound& b : filter.bounds) {
      Stmt count(db, "SELECT count(*) FROM (SELECT 1 FROM run_metrics WHERE key = ? AND value " + b.op + " ? LIMIT " +
                         std::to_string(kSelective) + ")");
      count.Bind(1, b.key).Bind(2, b.value);
      CAIRN_ASSIGN_OR_RETURN(bool row, count.Step());
      if (row && count.Int(0) < fewest) {
        fewest = count.Int(0);
        driver = &b;
      }
    }
    std::vector<SqlValue> binds;
    std::string drive;
    if (driver) {
      drive = "r.id IN (SELECT run FROM run_metrics WHERE key = ? AND value " + driver->op + " ?) AND ";
      binds = {driver->key, driver->value};
    }
    binds.insert(binds.end(), where_binds.begin(), where_binds.end());
    std::string sql = "SELECT r.id FROM runs r WHERE " + drive + where + " ORDER BY " +
                      OrderClause(order, 0, &binds) + " LIMIT " + std::to_string(options.limit);
    CAIRN_ASSIGN_OR_RETURN(ids, QueryIds(db, sql, binds));
  }
  std::vector<RunInfo> result;
  for (int64_t id : ids) {
    CAIRN_ASSIGN_OR_RETURN(RunInfo run, LoadRow(id, options.full));
    result.push_back(std::move(run));
  }
  return result;
}

Result<std::vector<RunInfo>> SqliteTrackingStore::LoadRunLinks(const std::string& tag_prefix) {
  std::vector<RunInfo> runs;
  std::unordered_map<int64_t, size_t> at;  // row id → index in runs
  {
    Stmt st(db_, "SELECT r.id, r.run_id FROM runs r WHERE r.deleted = 0 ORDER BY " + OrderClause({}, 0, nullptr));
    CAIRN_RETURN_IF_ERROR(st.status());
    for (;;) {
      CAIRN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      at.emplace(st.Int(0), runs.size());
      runs.emplace_back().id = st.Text(1);
    }
  }
  {
    // substr, not LIKE: a prefix holding '_' or '%' means itself.
    Stmt st(db_, "SELECT run, key, value FROM run_tags WHERE substr(key, 1, ?) = ?");
    CAIRN_RETURN_IF_ERROR(st.status());
    st.Bind(1, static_cast<int64_t>(tag_prefix.size())).Bind(2, tag_prefix);
    for (;;) {
      CAIRN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      if (auto it = at.find(st.Int(0)); it != at.end()) runs[it->second].tags[st.Text(1)] = st.Text(2);
    }
  }
  Stmt st(db_, "SELECT run, dataset, version, tag, source, modified FROM run_inputs ORDER BY run, dataset");
  CAIRN_RETURN_IF_ERROR(st.status());
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    auto it = at.find(st.Int(0));
    if (it == at.end()) continue;
    auto oid = Oid::Parse("sha256:" + st.Text(2));
    if (!oid.ok()) continue;  // as LoadRow: an unparsable stored version is skipped
    runs[it->second].inputs.push_back(RunInput{st.Text(1), *oid, st.Text(3), st.Text(4), st.Int(5) != 0});
  }
  return runs;
}

Result<std::vector<std::string>> SqliteTrackingStore::MissingKeys(RunKeyKind kind, const std::vector<std::string>& keys,
                                                                  const std::vector<int64_t>& experiment_ids) {
  const char* table = kind == RunKeyKind::kMetric ? "run_metrics" : kind == RunKeyKind::kParam ? "run_params" : "run_tags";
  std::string sql = std::string("SELECT 1 FROM ") + table + " k WHERE k.key = ?";
  if (!experiment_ids.empty()) {
    sql += " AND k.run IN (SELECT id FROM runs WHERE experiment_id IN (" + IdList(experiment_ids) + "))";
  }
  sql += " LIMIT 1";
  Stmt st(db_, sql);
  CAIRN_RETURN_IF_ERROR(st.status());
  std::vector<std::string> missing;
  for (const std::string& key : keys) {
    st.Bind(1, key);
    CAIRN_ASSIGN_OR_RETURN(bool found, st.Step());
    st.Reset();
    if (!found) missing.push_back(key);
  }
  return missing;
}

}  // namespace cairn
