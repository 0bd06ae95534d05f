// Cache maintenance: garbage collection and integrity checks.
#ifndef CAIRN_MAINTENANCE_H_
#define CAIRN_MAINTENANCE_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "cairn/gc_roots.h"
#include "cairn/repo.h"
#include "cairn/status.h"
#include "cairn/store.h"

namespace cairn {

struct GcOptions {
  bool apply = false;                         // without it, only report
  int keep_days = 30;                         // other branches' commits (and run-cache entries) younger than this are roots
  std::vector<std::string> protect = {"main", "master"};  // every commit of these is a root
  int64_t copy_grace_seconds = 3600;          // use_dataset copies younger than this are never removed
  bool progress = false;
  // Where the roots come from; nullptr: DefaultGcRoots() (every module's).
  const GcRootRegistry* roots = nullptr;
};

struct GcReport {
  uint64_t root_versions = 0;     // distinct versions kept with their data
  uint64_t commits_scanned = 0;   // git commits whose pointer files were read
  PruneStats prune;               // what was (or would be) removed and kept
  uint64_t copies_removed = 0;      // use_dataset copies under .cairn/datasets/ (removed or would be)
  uint64_t copy_bytes_removed = 0;
  uint64_t derived_removed = 0;   // derived objects' refs whose subject goes (removed or would be)
  bool applied = false;
};

// Removes cached data that no root needs. Roots come from every module's
// contributor (cairn/gc_roots.h): the workspace's pointer files, every tag,
// pointer files in every commit reachable from the protected branches and in
// commits of other branches (local and remote) younger than keep_days, the
// versions cairn.lock names, run records with their histories and
// artifacts, and the outputs of run-cache entries younger than keep_days.
// Version objects (a few hundred bytes each) are always kept so history
// stays readable; their data goes. use_dataset copies (.cairn/datasets/) of
// versions that are not roots go too, unless younger than
// copy_grace_seconds. Derived objects (cairn/derived.h) stay while their
// subject stays; the refs of the others are removed. A contributor's error fails gc before anything is
// removed. Holds the repository lock.
Result<GcReport> CollectGarbage(Repo& repo, const GcOptions& options);

struct FsckProblem {
  std::string what;  // "pack", "object", "tree", "version", "pointer", "tag", "run", "copy", "model", "derived"
  std::string name;  // oid or path (for "copy": the damaged file of the copy, relative to the repository)
  std::string message;
};

struct FsckReport {
  uint64_t objects_checked = 0;
  uint64_t bytes_checked = 0;
  uint64_t pointers_checked = 0;
  uint64_t runs_checked = 0;
  uint64_t copies_checked = 0;  // use_dataset copies under .cairn/datasets, read in full
  uint64_t derived_checked = 0;  // derived object refs (cairn/derived.h)
  std::vector<FsckProblem> problems;
  std::vector<Oid> damaged_copies;  // versions whose use_dataset copy is damaged (RemoveDamagedCopies)
};

// Re-hashes every object, parses every tree and version and checks what they
// reference, and checks every pointer file and tag. Reads and hashes every
// file of every use_dataset copy (.cairn/datasets/) against its version: a
// file edited, truncated, removed or added is a "copy" problem naming the
// file. A damaged pointer file is reported, not an error. Changes nothing.
// Returns an error only when checking itself fails.
Result<FsckReport> Fsck(Repo& repo, bool progress);

// Repairs what `found` (a Fsck report) says is damaged in local packs: under
// the repository lock, rebuilds damaged pack indexes from their packs and
// rewrites packs holding damaged objects without them (see
// ObjectStore::RepairPacks). Loose objects and everything else are left as
// they are; run Fsck again to see what is still missing.
Result<std::vector<PackRepair>> RepairCache(Repo& repo, const FsckReport& found);

// Removes the use_dataset copies `found` (a Fsck report) names as damaged,
// under the repository lock, each checked again first (one made again
// meanwhile is kept). The next use_dataset of the version makes the copy
// again from the cache. Returns the directories removed.
Result<std::vector<std::filesystem::path>> RemoveDamagedCopies(Repo& repo, const FsckReport& found);

}  // namespace cairn

#endif  // CAIRN_MAINTENANCE_H_
