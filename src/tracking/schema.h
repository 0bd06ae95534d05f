// The tracking tables in .cairn/state.db (an index over run records; see
// doc/formats.md). Shared by the tracker and the filter compiler, whose SQL
// refers to these names with the runs table aliased as `r`.
#ifndef CAIRN_TRACKING_SCHEMA_H_
#define CAIRN_TRACKING_SCHEMA_H_

namespace cairn {

// Metric values are REAL; NaN is stored as NULL (SQLite has no NaN).
// Timestamps are milliseconds since the epoch. `heartbeat` is the last time
// the owner of a RUNNING run said it was alive (the start time until then);
// databases from before it get the column when opened.
inline constexpr const char kTrackingSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS experiments (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  deleted INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL UNIQUE,
  experiment_id INTEGER NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  start_time INTEGER NOT NULL,
  end_time INTEGER,
  user TEXT NOT NULL DEFAULT '',
  deleted INTEGER NOT NULL DEFAULT 0,
  exit_code INTEGER,
  command TEXT NOT NULL DEFAULT '',
  cwd TEXT NOT NULL DEFAULT '',
  host TEXT NOT NULL DEFAULT '',
  pid INTEGER NOT NULL DEFAULT 0,
  pid_start INTEGER NOT NULL DEFAULT 0,
  heartbeat INTEGER NOT NULL DEFAULT 0,
  env TEXT NOT NULL DEFAULT '{}',
  history TEXT,
  record TEXT);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs(start_time);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs(status);
CREATE INDEX IF NOT EXISTS runs_by_experiment ON runs(experiment_id, deleted);
CREATE INDEX IF NOT EXISTS runs_by_name ON runs(name);
CREATE TABLE IF NOT EXISTS run_params (
  run INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (run, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS run_params_by_key ON run_params(key, value);
CREATE TABLE IF NOT EXISTS run_tags (
  run INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (run, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS run_metrics (
  run INTEGER NOT NULL, key TEXT NOT NULL, value REAL, step INTEGER NOT NULL, ts INTEGER NOT NULL,
  PRIMARY KEY (run, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS run_metrics_by_key ON run_metrics(key, value);
CREATE TABLE IF NOT EXISTS run_metric_points (
  run INTEGER NOT NULL, key TEXT NOT NULL, value REAL, step INTEGER NOT NULL, ts INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS run_metric_points_by_run ON run_metric_points(run, key);
CREATE TABLE IF NOT EXISTS run_inputs (
  run INTEGER NOT NULL, dataset TEXT NOT NULL, version TEXT NOT NULL, tag TEXT NOT NULL DEFAULT '',
  source TEXT NOT NULL, modified INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (run, dataset, version)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS run_artifacts (
  run INTEGER NOT NULL, path TEXT NOT NULL, oid TEXT NOT NULL, size INTEGER NOT NULL,
  PRIMARY KEY (run, path)) WITHOUT ROWID;
)sql";

}  // namespace cairn

#endif  // CAIRN_TRACKING_SCHEMA_H_
