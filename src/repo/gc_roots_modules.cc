// The gc-root contributors of the tracking and pipeline modules, written
// against their public headers only. They belong in src/tracking and
// src/pipeline (issue 12: each module contributes its own roots); until
// those modules' owners move them there, they live here so that gc keeps
// everything it kept before, and run-cache outputs besides.
#include <sys/stat.h>

#include "cairn/gc_roots.h"
#include "cairn/pipeline.h"
#include "cairn/tracking.h"
#if __has_include("pipeline/run_cache.h")
#include "pipeline/run_cache.h"  // until cairn/pipeline.h has ListRunCache
#define CAIRN_INTERIM_RUN_CACHE 1
#endif
#include "util/file.h"

namespace cairn {
namespace {

// Names in `dir` (none when it does not exist); an unreadable directory is
// an error, never an empty list.
[[maybe_unused]] Result<std::vector<std::string>> Names(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return names;
    return Status::FromErrno("cannot list " + dir.string(), ec.value());
  }
  for (const auto& e : it) names.push_back(e.path().filename().string());
  return names;
}

}  // namespace

Status ContributeRunRoots(Repo& repo, const GcRootOptions&, GcRootSet* roots) {
  CAIRN_ASSIGN_OR_RETURN(auto tracker, Tracker::Open(repo));
  return tracker->CollectRoots(&roots->objects);
}

Status ContributePipelineRoots(Repo& repo, const GcRootOptions&, GcRootSet* roots) {
  CAIRN_ASSIGN_OR_RETURN(PipelineLock lock, LoadLock(repo));
  for (const auto& [name, stage] : lock) {
    for (const auto& [path, version] : stage.outs) roots->versions.insert(version);
    for (const auto& [dep, oid] : stage.deps) {
      // A dataset ref's dep is a version; a path's is a blob or tree that a
      // pointer (a root already) or nothing names.
      if (IsDatasetRef(dep)) roots->versions.insert(oid);
    }
    for (const auto& [path, blob] : stage.metrics) roots->objects.insert(blob);
  }
  return Status::OK();
}

#ifdef CAIRN_INTERIM_RUN_CACHE
Status ContributeRunCacheRoots(Repo& repo, const GcRootOptions& options, GcRootSet* roots) {
  const fs::path dir = repo.layout().run_cache();
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> names, Names(dir));
  for (const std::string& name : names) {
    if (name.starts_with(".")) continue;  // temp files of atomic writes
    const fs::path path = dir / name;
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return Status::FromErrno("cannot stat " + path.string(), errno);
    if (st.st_mtime < options.cutoff()) continue;  // older than keep_days: its outputs may go
    auto key = Oid::Parse("sha256:" + name);
    if (!key.ok()) return Status::Corruption("run-cache entry " + path.string() + " is not named by a key");
    CAIRN_ASSIGN_OR_RETURN(std::optional<RunCacheEntry> entry, ReadRunCache(repo, *key));
    if (!entry) return Status::Corruption("run-cache entry " + path.string() + " cannot be read");
    for (const auto& [out, version] : entry->outs) roots->versions.insert(version);
    for (const auto& [file, blob] : entry->metrics) roots->objects.insert(blob);
  }
  return Status::OK();
}
#else
Status ContributeRunCacheRoots(Repo& repo, const GcRootOptions& options, GcRootSet* roots) {
  // ListRunCache fails (Corruption) on an entry it cannot read: gc stops.
  CAIRN_ASSIGN_OR_RETURN(std::vector<RunCacheListing> entries, ListRunCache(repo));
  for (const RunCacheListing& e : entries) {
    if (e.written_ms / 1000 < options.cutoff()) continue;  // older than keep_days: its outputs may go
    for (const auto& [out, version] : e.entry.outs) roots->versions.insert(version);
    for (const auto& [file, blob] : e.entry.metrics) roots->objects.insert(blob);
  }
  return Status::OK();
}
#endif

}  // namespace cairn
