// Cache maintenance: garbage collection and integrity checks.
#ifndef CAIRN_MAINTENANCE_H_
#define CAIRN_MAINTENANCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "cairn/repo.h"
#include "cairn/status.h"
#include "cairn/store.h"

namespace cairn {

struct GcOptions {
  bool apply = false;                         // without it, only report
  int keep_days = 30;                         // other branches' commits younger than this are roots
  std::vector<std::string> protect = {"main", "master"};  // every commit of these is a root
  bool progress = false;
};

struct GcReport {
  uint64_t root_versions = 0;     // distinct versions kept with their data
  uint64_t commits_scanned = 0;   // git commits whose pointer files were read
  PruneStats prune;               // what was (or would be) removed and kept
  bool applied = false;
};

// Removes cached data that no root needs. Roots: the workspace's pointer
// files, every tag, pointer files in every commit reachable from the
// protected branches, and in commits of other branches (local and remote)
// younger than keep_days. Version objects (a few hundred bytes each) are
// always kept so history stays readable; their data goes.
Result<GcReport> CollectGarbage(Repo& repo, const GcOptions& options);

struct FsckProblem {
  std::string what;  // "pack", "object", "tree", "version", "pointer", "tag", "run"
  std::string name;  // oid or path
  std::string message;
};

struct FsckReport {
  uint64_t objects_checked = 0;
  uint64_t bytes_checked = 0;
  uint64_t pointers_checked = 0;
  uint64_t runs_checked = 0;
  std::vector<FsckProblem> problems;
};

// Re-hashes every object, parses every tree and version and checks what they
// reference, and checks every pointer file and tag. A damaged pointer file is
// reported, not an error. Returns an error only when checking itself fails.
Result<FsckReport> Fsck(Repo& repo, bool progress);

// Repairs what `found` (a Fsck report) says is damaged in local packs: under
// the repository lock, rebuilds damaged pack indexes from their packs and
// rewrites packs holding damaged objects without them (see
// ObjectStore::RepairPacks). Loose objects and everything else are left as
// they are; run Fsck again to see what is still missing.
Result<std::vector<PackRepair>> RepairCache(Repo& repo, const FsckReport& found);

}  // namespace cairn

#endif  // CAIRN_MAINTENANCE_H_
