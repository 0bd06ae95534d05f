// Opening the tracker on a store, finding runs and reading them back.
#include "cairn/tracking.h"
#include "tracking/sqlite_store.h"
#include "tracking/tracker_internal.h"

namespace cairn {

using namespace tracking_internal;

namespace tracking_internal {

Result<StoredRunState> FindRun(TrackingStore& store, const std::string& run) {
  if (run.empty()) {
    return Status::InvalidArgument("no run given", "pass a run id (or set CAIRN_RUN_ID, as 'cairn run' does for its command)");
  }
  std::vector<StoredRunState> found;
  if (IsHex(run) && run.size() >= 6) {
    CAIRN_ASSIGN_OR_RETURN(found, store.FindRunsByIdPrefix(run, 5));
  }
  if (found.empty()) {  // a run name
    CAIRN_ASSIGN_OR_RETURN(found, store.FindRunsByName(run, 5));
  }
  if (found.empty()) {
    return Status::NotFound("no run '" + run + "'", "list runs with 'cairn runs' (ids may be shortened to 6+ digits)");
  }
  if (found.size() > 1) {
    std::string list;
    for (const StoredRunState& r : found) list += " " + r.id;
    return Status::Ambiguous("'" + run + "' matches several runs:" + list, "give more digits of the run id");
  }
  return found[0];
}

Status NotRunning(const StoredRunState& r, const char* what) {
  return Status::FailedPrecondition(
      "run " + r.id + " has ended (" + RunStatusName(r.status) + "); " + what + " can only be logged while it runs",
      "start a new run; tags and artifacts can still be added to an ended run");
}

}  // namespace tracking_internal

Result<std::unique_ptr<Tracker>> Tracker::Open(Repo& repo) {
  CAIRN_ASSIGN_OR_RETURN(auto store, SqliteTrackingStore::Open(repo.layout().state_db()));
  return Open(repo, std::move(store));
}

Result<std::unique_ptr<Tracker>> Tracker::Open(Repo& repo, std::unique_ptr<TrackingStore> store) {
  if (!store) return Status::InvalidArgument("no tracking store given");
  std::unique_ptr<Tracker> t(new Tracker(repo));
  t->impl_ = std::make_unique<Impl>();
  t->impl_->store = std::move(store);
  t->impl_->host = HostName();
  return t;
}

Tracker::Tracker(Repo& repo) : repo_(repo) {}
Tracker::~Tracker() = default;

TrackingStore& Tracker::store() { return *impl_->store; }

Result<std::string> Tracker::ResolveRunId(const std::string& run) {
  std::lock_guard lock(impl_->mu);
  CAIRN_ASSIGN_OR_RETURN(StoredRunState r, FindRun(*impl_->store, run));
  return r.id;
}

Result<RunInfo> Tracker::GetRun(const std::string& run) {
  std::lock_guard lock(impl_->mu);
  CAIRN_ASSIGN_OR_RETURN(StoredRunState r, FindRun(*impl_->store, run));
  CAIRN_ASSIGN_OR_RETURN(RunInfo info, impl_->store->LoadRun(r.id, /*full=*/true));
  if (info.status == RunStatus::kRunning) info.heartbeat_ms = r.heartbeat_ms;
  return info;
}

Result<std::vector<MetricPoint>> Tracker::MetricHistory(const std::string& run, const std::string& key) {
  std::lock_guard lock(impl_->mu);
  CAIRN_ASSIGN_OR_RETURN(StoredRunState r, FindRun(*impl_->store, run));
  CAIRN_ASSIGN_OR_RETURN(auto points, impl_->store->LoadHistory(r.id, &key));
  if (points.empty()) {
    return Status::NotFound("run " + r.id + " has no metric '" + key + "'",
                            "see its metrics with 'cairn runs show " + r.id.substr(0, 8) + "'");
  }
  return points;
}

}  // namespace cairn
