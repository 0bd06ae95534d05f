// Renaming a run: MLflow's update_run(name=) and its mlflow.runName tag,
// which front ends map to the run's name rather than to a stored tag.
#include <optional>

#include "cairn/tracking.h"
#include "tracking/tracker_internal.h"

namespace cairn {

using namespace tracking_internal;

Status Tracker::SetRunName(const std::string& run, const std::string& name) {
  std::lock_guard lock(impl_->mu);
  TrackingStore& store = *impl_->store;
  CAIRN_ASSIGN_OR_RETURN(StoredRunState r, FindRun(store, run));
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return Status::InvalidArgument("run name '" + name + "' contains a control character",
                                     "run names are one line of text");
    }
  }
  // A sealed run's record changes: hold the repository lock as other
  // changes after the end do.
  std::optional<RepoLock> repo_lock;
  if (r.record) {
    CAIRN_ASSIGN_OR_RETURN(RepoLock l, repo_.Lock());
    repo_lock.emplace(std::move(l));
  }
  return store.Transaction([&]() -> Status {
    CAIRN_RETURN_IF_ERROR(store.SetName(r.id, name));
    return Reseal(store, repo_, r);
  });
}

}  // namespace cairn
