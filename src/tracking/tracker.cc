// Opening the tracker and reading runs back.
#include "cairn/tracking.h"
#include "tracking/schema.h"
#include "tracking/tracker_internal.h"
#include "util/sqlite.h"

namespace cairn {

using namespace tracking_internal;

Result<std::unique_ptr<Tracker>> Tracker::Open(Repo& repo) {
  std::unique_ptr<Tracker> t(new Tracker(repo));
  t->impl_ = std::make_unique<Impl>();
  Impl& im = *t->impl_;
  fs::path path = repo.cairn_dir() / "state.db";
  CAIRN_ASSIGN_OR_RETURN(im.db, OpenSqlite(path));
  // The last connection to close checkpoints the WAL: a few fsyncs, but
  // the next process then opens without replaying the log (which costs more).
  CAIRN_RETURN_IF_ERROR(SqliteExec(im.db, "PRAGMA case_sensitive_like=ON"));
  // Creating tables takes the write lock: skip it when they exist.
  Stmt probe(im.db, "SELECT 1 FROM sqlite_master WHERE name = 'run_artifacts'");
  CAIRN_ASSIGN_OR_RETURN(bool exists, probe.Step());
  if (!exists) {
    CAIRN_RETURN_IF_ERROR(SqliteExec(im.db, kTrackingSchema));
    Stmt def(im.db, "INSERT OR IGNORE INTO experiments (id, name, created) VALUES (0, 'Default', ?)");
    def.Bind(1, NowMs());
    CAIRN_RETURN_IF_ERROR(def.Run());
  }
  im.host = HostName();
  return t;
}

Tracker::Tracker(Repo& repo) : repo_(repo) {}
Tracker::~Tracker() = default;

Result<std::string> Tracker::ResolveRunId(const std::string& run) {
  std::lock_guard lock(impl_->mu);
  CAIRN_ASSIGN_OR_RETURN(RunRow r, FindRun(impl_->db, run));
  return r.id;
}

Result<RunInfo> Tracker::GetRun(const std::string& run) {
  std::lock_guard lock(impl_->mu);
  CAIRN_ASSIGN_OR_RETURN(RunRow r, FindRun(impl_->db, run));
  return LoadRun(impl_->db, r.row, /*full=*/true);
}

Result<std::vector<MetricPoint>> Tracker::MetricHistory(const std::string& run, const std::string& key) {
  std::lock_guard lock(impl_->mu);
  CAIRN_ASSIGN_OR_RETURN(RunRow r, FindRun(impl_->db, run));
  CAIRN_ASSIGN_OR_RETURN(auto points, LoadPoints(impl_->db, r.row, &key));
  if (points.empty()) {
    return Status::NotFound("run " + r.id + " has no metric '" + key + "'",
                            "see its metrics with 'cairn runs show " + r.id.substr(0, 8) + "'");
  }
  return points;
}

}  // namespace cairn
