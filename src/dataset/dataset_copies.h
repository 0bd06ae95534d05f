// Copies that Python's use_dataset makes under .cairn/datasets/<version hex>/
// of versions not in the workspace. They duplicate cached data, so gc removes
// the copy of every version it does not keep as a root (the copy would
// outlive the data it came from), except copies used within a grace period
// (the process that used one may still be reading it).
//
// A copy is complete only once its manifest, .cairn/datasets/<hex>.manifest,
// exists: the tree is built in .cairn/tmp/dataset-PID-XXXXXX, renamed into
// place and the manifest written last, all under the repository lock. The
// manifest lists each file's (size, mtime_ns, path), so a reuse can check
// with one stat per file that nobody changed the copy; its mtime is the
// copy's last use. Removal goes the other way: the manifest first, then the
// directory is renamed into .cairn/tmp (atomic) and deleted there, so a
// killed removal never leaves a partial copy where a reader looks.
#ifndef CAIRN_DATASET_DATASET_COPIES_H_
#define CAIRN_DATASET_DATASET_COPIES_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "cairn/repo.h"
#include "cairn/store.h"

namespace cairn {

struct DatasetCopy {
  Oid version;
  std::filesystem::path path;
  uint64_t bytes = 0;  // its files' sizes; a symlink counts as a link, never as what it points to
};

// Copies of versions not in `root_versions` last used (manifest mtime; the
// directory's for a copy without one) before now - grace_seconds. Entries
// that are not named by a version hex are not cairn's and are never listed.
Result<std::vector<DatasetCopy>> StaleDatasetCopies(Repo& repo, const OidSet& root_versions, int64_t now,
                                                    int64_t grace_seconds);

// Removes a copy: its manifest, then its directory (renamed into .cairn/tmp
// first). The caller holds the repository lock.
Status RemoveDatasetCopy(Repo& repo, const DatasetCopy& copy);

enum class CopyState {
  kMissing,   // no directory
  kComplete,  // directory and manifest, every file as the manifest says
  kPartial,   // a directory without a manifest (a killed build or removal)
  kChanged,   // a file differs from the manifest, or one was added or removed, or the manifest is damaged
};

// Stat-checks the copy of `version` against its manifest (no file is read).
CopyState CheckDatasetCopy(Repo& repo, const Oid& version);

// One way a copy differs from the version it copies.
struct CopyDamage {
  Oid version;
  std::string dataset;  // the version's dataset ("" when the version cannot be read)
  std::string file;     // relative to the copy; "" for the copy as a whole
  std::string problem;  // e.g. "was removed", "is 3 bytes, the version's file 10 (edited or truncated)"
  // True when the copy certainly differs from the version (a file's size or
  // content, an extra or missing file, an entry that is not a regular file,
  // a copy that is not a directory); false when it could not be checked (the
  // version or its file list is not readable, a file or directory cannot be
  // read). Only definite damage makes a copy removable: one that cannot be
  // checked may be the only complete local copy of its version.
  bool definite = true;
};

// Reads every file of the copy of `version` and checks it against the
// version: the same set of files, each with the version's size and content
// hash. Empty when the copy is intact. A copy whose version or file list
// cannot be read is reported too, as not definite (nothing can tell whether
// it is intact, and nothing could make it again).
// Reads the files on several threads; reads only, never changes anything.
std::vector<CopyDamage> VerifyDatasetCopy(Repo& repo, const Oid& version);

// VerifyDatasetCopy for every entry .cairn/datasets/<version hex>, and
// more: one that is not a directory (a file or a symlink in a copy's place),
// a damaged manifest, and a directory without a manifest that no live
// process is building or removing (incomplete: a killed build or removal)
// are definite damage. `*copies_checked` counts the entries checked.
// IOError when .cairn/datasets cannot be listed.
Result<std::vector<CopyDamage>> VerifyDatasetCopies(Repo& repo, uint64_t* copies_checked);

enum class ManifestState {
  kMissing,  // no manifest: the copy is being built or removed, or was killed doing so
  kValid,    // parses, and every path in it stays inside the copy
  kDamaged,  // empty, garbage, or naming a path outside the copy
};
ManifestState DatasetCopyManifest(Repo& repo, const Oid& version);

// True while some live process owns a .cairn/tmp/dataset-PID-* directory:
// a copy without a manifest may be being built or removed by it (both keep
// their temporary directory until the manifest is written or gone).
bool DatasetCopyBeingMade(Repo& repo);

// Writes the manifest of the (complete) copy of `version`, making it
// complete. The caller holds the repository lock.
Status WriteDatasetCopyManifest(Repo& repo, const Oid& version);

// Marks the copy of `version` used now (its manifest's mtime), so gc's grace
// period counts from the last use.
void TouchDatasetCopy(Repo& repo, const Oid& version);

// A new private directory .cairn/tmp/dataset-PID-XXXXXX.
Result<std::filesystem::path> MakeDatasetTempDir(Repo& repo);

// Removes .cairn/tmp/dataset-* directories whose process is gone: the PID in
// the name is not alive on this host (and, for names without a PID, made by
// older versions, the directory is older than a day). A live concurrent
// materialisation's directory is never touched. Errors are ignored (a
// leftover stays until the next try).
void RemoveStaleDatasetTempDirs(Repo& repo);

// Removes a tree whose files and directories may be read-only.
void RemoveReadOnlyTree(const std::filesystem::path& dir);

}  // namespace cairn

#endif  // CAIRN_DATASET_DATASET_COPIES_H_
