// The fixture of the filter tests: the real tracking schema in an
// in-memory SQLite database with six runs, and helpers that compile a
// filter and return the runs it selects.
#ifndef CAIRN_TRACKING_FILTER_TEST_UTIL_H_
#define CAIRN_TRACKING_FILTER_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdio>
#include <string>
#include <variant>
#include <vector>

#include "tracking/filter.h"
#include "tracking/schema.h"

namespace cairn::filter_test {

// Six runs, "run-a" … "run-f", with varied params, tags, metrics and inputs.
// Run run-b's loss is NaN (stored as NULL); run-c's loss is +infinity.
inline constexpr char kFixture[] = R"sql(
INSERT INTO runs (id, run_id, experiment_id, name, status, start_time, end_time, user) VALUES
  (1, 'run-a', 1, 'baseline',   'FINISHED', 1000, 2000, 'alice'),
  (2, 'run-b', 1, 'Baseline-2', 'RUNNING',  2000, NULL, 'bob'),
  (3, 'run-c', 2, 'sweep',      'FAILED',   3000, 3500, 'alice'),
  (4, 'run-d', 2, 'it''s',      'KILLED',   4000, 4100, 'carol'),
  (5, 'run-e', 3, 'final',      'FINISHED', 5000, 6000, 'bob'),
  (6, 'run-f', 3, 'empty',      'FINISHED', 6000, 7000, 'dave');
INSERT INTO run_params (run, key, value) VALUES
  (1, 'lr', '0.1'), (1, 'model', 'bge'), (1, 'batch size', '32'),
  (2, 'lr', '0.01'), (2, 'model', 'BGE-large'),
  (3, 'lr', '1e-3'), (3, 'model', 't5'),
  (4, 'lr', '0.5'), (4, 'model', 'bge'),
  (5, 'lr', '5'), (5, 'a.b', 'dotted');
INSERT INTO run_tags (run, key, value) VALUES
  (1, 'team', 'Search'), (1, 'mlflow.note', 'first'),
  (2, 'team', 'search'),
  (3, 'team', 'infra'),
  (4, 'my key', 'x y');
INSERT INTO run_metrics (run, key, value, step, ts) VALUES
  (1, 'acc', 0.9, 3, 0), (1, 'loss', 0.5, 3, 0), (1, 'val.acc', 0.85, 3, 0),
  (2, 'acc', 0.95, 1, 0), (2, 'loss', NULL, 1, 0),
  (3, 'acc', 0.7, 2, 0), (3, 'loss', 9e999, 2, 0),
  (4, 'acc', 0.9, 1, 0),
  (5, 'val.acc', 0.99, 1, 0);
INSERT INTO run_inputs (run, dataset, version, tag, source) VALUES
  (1, 'eval', 'a1b2c3d4e5f6', 'v1', ''), (1, 'data/train', 'ffff0000aaaa', '', ''),
  (2, 'eval', 'a1b2ffff0000', 'v2', ''),
  (3, 'eval', 'c0ffee001122', 'v3', ''), (3, 'eval', 'a1b2c3d4e5f6', 'v1', ''),
  (5, 'data/train', 'deadbeef0011', 'gold', '');
)sql";

struct Case {
  const char* filter;
  const char* runs;  // letters of the expected run ids: "ad" is run-a, run-d
};

// `n` copies of `term` joined by `op`.
inline std::string Chain(const std::string& term, const std::string& op, size_t n) {
  std::string out = term;
  for (size_t i = 1; i < n; ++i) out += " " + op + " " + term;
  return out;
}

// "(v0, v1, …)" with `n` values made by `value(i)`.
template <typename F>
std::string List(size_t n, F value) {
  std::string out = "(";
  for (size_t i = 0; i < n; ++i) out += (i ? ", " : "") + value(i);
  return out + ")";
}

inline std::string HexValue(size_t i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "'%08zx'", i);
  return buf;
}

class FilterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK);
    Exec(kTrackingSchema);
    Exec("PRAGMA case_sensitive_like=ON");
    Exec(kFixture);
  }
  void TearDown() override { sqlite3_close(db_); }

  void Exec(const char* sql) {
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db_, sql, nullptr, nullptr, &err), SQLITE_OK) << err;
  }

  // The ids of the runs the filter selects, or {"<error>"}.
  std::vector<std::string> Match(const std::string& filter) {
    return Match(filter, "SELECT r.run_id FROM runs r WHERE ", " ORDER BY r.run_id");
  }

  // The same inside the deepest query Tracker::Search builds (sorted by a
  // metric, in some experiments), so limits are checked where they bind.
  std::vector<std::string> MatchInSearch(const std::string& filter) {
    return Match(
        filter,
        "SELECT r.run_id FROM run_metrics s JOIN runs r ON r.id = s.run WHERE s.key = 'acc' AND "
        "s.value IS NOT NULL AND r.deleted = 0 AND r.experiment_id IN (1, 2, 3) AND (",
        ") ORDER BY r.run_id");
  }

  std::vector<std::string> Match(const std::string& filter, const std::string& before,
                                 const std::string& after) {
    auto compiled = CompileFilter(filter);
    if (!compiled.ok()) {
      ADD_FAILURE() << compiled.status().ToString();
      return {"<error>"};
    }
    std::string sql = before + compiled->sql + after;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sqlite3_errmsg(db_) << " in " << sql.substr(0, 2000);
      return {"<error>"};
    }
    EXPECT_EQ(sqlite3_bind_parameter_count(stmt), static_cast<int>(compiled->binds.size())) << sql;
    int index = 1;
    for (const SqlValue& value : compiled->binds) {
      if (const auto* i = std::get_if<int64_t>(&value)) {
        sqlite3_bind_int64(stmt, index, *i);
      } else if (const auto* d = std::get_if<double>(&value)) {
        sqlite3_bind_double(stmt, index, *d);
      } else {
        const std::string& s = std::get<std::string>(value);
        sqlite3_bind_text(stmt, index, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
      }
      ++index;
    }
    std::vector<std::string> ids;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      ids.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
    }
    EXPECT_EQ(rc, SQLITE_DONE) << sqlite3_errmsg(db_);
    sqlite3_finalize(stmt);
    return ids;
  }

  void ExpectMatches(const std::vector<Case>& cases) {
    for (const Case& c : cases) {
      std::vector<std::string> want;
      for (const char* p = c.runs; *p != '\0'; ++p) want.push_back(std::string("run-") + *p);
      EXPECT_EQ(Match(c.filter), want) << "filter: " << c.filter;
    }
  }

  sqlite3* db_ = nullptr;
};

// The sort keys ParseOrderBy makes of `clauses` are `want`, in order.
struct WantKey {
  OrderKey::Kind kind;
  const char* key;
  bool descending;
};

inline void ExpectOrderKeys(const std::vector<std::string>& clauses,
                            const std::vector<WantKey>& want) {
  auto keys = ParseOrderBy(clauses);
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  ASSERT_EQ(keys->size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ((*keys)[i].kind, want[i].kind) << i;
    EXPECT_EQ((*keys)[i].key, want[i].key) << i;
    EXPECT_EQ((*keys)[i].descending, want[i].descending) << i;
  }
}

}  // namespace cairn::filter_test

#endif  // CAIRN_TRACKING_FILTER_TEST_UTIL_H_
