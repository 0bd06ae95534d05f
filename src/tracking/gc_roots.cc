// The tracking module's gc roots ("runs" in DefaultGcRoots): every run
// record, its metric history and artifacts, and the artifacts of running
// runs. The tracker collects them itself (Tracker::CollectRoots) and fails on
// a run it cannot read, so gc stops instead of deleting what that run names.
#include "cairn/gc_roots.h"

#include "cairn/tracking.h"

namespace cairn {

Status ContributeRunRoots(Repo& repo, const GcRootOptions&, GcRootSet* roots) {
  CAIRN_ASSIGN_OR_RETURN(auto tracker, Tracker::Open(repo));
  return tracker->CollectRoots(&roots->objects);
}

}  // namespace cairn
