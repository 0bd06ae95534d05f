// The pipeline module's gc roots: what the workspace's cairn.lock names
// ("pipelines") and the outputs of run-cache entries written within
// keep_days ("run-cache"), so that a stage whose inputs come back is restored
// from the cache instead of re-run. Both fail closed: an unreadable lock or
// run-cache entry is an error and gc stops.
#include "cairn/gc_roots.h"

#include "cairn/pipeline.h"
#include "cairn/registry.h"

namespace cairn {

Status ContributePipelineRoots(Repo& repo, const GcRootOptions&, GcRootSet* roots) {
  CAIRN_ASSIGN_OR_RETURN(PipelineLock lock, LoadLock(repo));
  for (const auto& [name, stage] : lock) {
    for (const auto& [path, version] : stage.outs) roots->versions.insert(version);
    for (const auto& [dep, oid] : stage.deps) {
      // A dataset ref's dep is a version; a path's is a blob or tree that a
      // pointer (a root already) or nothing names.
      // A model ref's is a model version object (the "models" roots keep
      // its artifact).
      if (IsModelRef(dep)) {
        roots->objects.insert(oid);
      } else if (IsDatasetRef(dep)) {
        roots->versions.insert(oid);
      }
    }
    for (const auto& [path, blob] : stage.metrics) roots->objects.insert(blob);
  }
  return Status::OK();
}

Status ContributeRunCacheRoots(Repo& repo, const GcRootOptions& options, GcRootSet* roots) {
  // ListRunCache fails (Corruption) on an entry it cannot read: gc stops.
  CAIRN_ASSIGN_OR_RETURN(std::vector<RunCacheListing> entries, ListRunCache(repo));
  for (const RunCacheListing& e : entries) {
    if (e.written_ms / 1000 < options.cutoff())
      continue;  // older than keep_days: its outputs may go
    for (const auto& [out, version] : e.entry.outs) roots->versions.insert(version);
    for (const auto& [file, blob] : e.entry.metrics) roots->objects.insert(blob);
  }
  return Status::OK();
}

}  // namespace cairn
