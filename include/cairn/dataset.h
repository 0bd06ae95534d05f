// Dataset versioning: snapshot tracked paths into the store, compare them
// with the workspace, restore them, and walk their history.
//
// Every function takes the Repo of the current command. Functions that write
// (Add, Checkout) take the repository lock themselves. All return
// InvalidArgument for bad paths/refs, NotFound for unknown ones, and IOError
// when the system refuses; on error nothing in the workspace has changed
// unless the message says otherwise.
#ifndef CAIRN_DATASET_H_
#define CAIRN_DATASET_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cairn/object.h"
#include "cairn/pointer.h"
#include "cairn/repo.h"
#include "cairn/status.h"
#include "cairn/store.h"

namespace cairn {

// ---- add ----------------------------------------------------------------

struct AddOptions {
  std::string name;     // dataset name; default: the path relative to the root
  std::string message;
  bool progress = false;
};

struct AddResult {
  std::string path;  // repo-relative
  std::string dataset;
  Oid version;
  std::optional<Oid> parent;
  bool unchanged = false;  // the workspace already matched the pointer
  uint64_t files = 0, bytes = 0;
  uint64_t files_hashed = 0, bytes_hashed = 0;  // read this time (others came from the stat cache)
};

// Snapshots each path (file or directory) into the cache and writes its
// pointer file and .gitignore entry. Objects are durable before any pointer
// is written. InvalidArgument for paths outside the repo, inside .git/.cairn,
// or special files; IOError when reading or writing fails (the previous
// pointer stays as it was).
Result<std::vector<AddResult>> Add(Repo& repo, const std::vector<std::string>& paths,
                                   const AddOptions& options);

// ---- tracked paths and status -------------------------------------------

struct Tracked {
  std::string path;  // repo-relative path of the data (pointer path minus ".cairn")
  Pointer pointer;
};

// Pointer files in the workspace, sorted by path. With `filter` (paths as a
// user gives them: relative to repo.base_dir(), or absolute), only those at
// or below the given paths. A damaged pointer is an error naming it.
Result<std::vector<Tracked>> FindTracked(Repo& repo, const std::vector<std::string>& filter = {});
// The same for '/'-separated paths relative to the repository root (what
// cairn.yaml, locks and run records hold), whatever the base directory.
Result<std::vector<Tracked>> FindTrackedAt(Repo& repo, const std::vector<std::string>& paths);

enum class FileChangeKind { kAdded, kDeleted, kModified };

struct FileChange {
  std::string path;  // relative to the dataset root
  FileChangeKind kind;
  uint64_t old_size = 0, new_size = 0;
};

// "added", "deleted" or "modified" (the names used in --json output).
const char* FileChangeKindName(FileChangeKind kind);

enum class TrackedState { kClean, kModified, kMissingFromWorkspace, kMissingFromCache };
const char* TrackedStateName(TrackedState s);

struct PathStatus {
  Tracked tracked;
  TrackedState state = TrackedState::kClean;
  std::vector<FileChange> changes;  // when modified
  // When modified: a version of the dataset in the cache whose data the
  // workspace holds exactly (typically after 'git checkout' of another
  // commit, before 'cairn checkout'); then restoring the pointer's version,
  // not recording a new one, is what the user wants.
  std::optional<Oid> cached_version;
};

struct StatusOptions {
  bool progress = false;
};

Result<std::vector<PathStatus>> GetStatus(Repo& repo, const std::vector<std::string>& filter,
                                          const StatusOptions& options);

// ---- checkout -------------------------------------------------------------

struct CheckoutOptions {
  bool force = false;
  LinkMode mode = LinkMode::kCopy;
  bool progress = false;
  // When not null, receives the objects whose cached bytes failed
  // verification (Checkout then returns Corruption), for a repair.
  std::vector<Oid>* damaged = nullptr;
};

struct CheckoutResult {
  std::string path;
  uint64_t files_written = 0, files_removed = 0, bytes_written = 0;
};

// Makes the workspace match the pointer files. Content that is not safely in
// the cache (modified or untracked files) is never overwritten or deleted
// without `force`: FailedPrecondition listing those files, nothing changed.
// NotFound (nothing changed) when the cache lacks an object the pointers need.
// Every byte written is checked against its oid on the way: a damaged cached
// object is never written (Corruption naming it; the other files are written,
// and `options.damaged` lists the damaged objects). Names in trees are
// validated when decoded, and every write stays inside the repository and
// never goes through a symlink (WriteRoot). Holds the repository lock.
Result<std::vector<CheckoutResult>> Checkout(Repo& repo, const std::vector<std::string>& filter,
                                             const CheckoutOptions& options);

// True when a checkout argument names a version rather than a path:
// it holds '@' (data/raw@v1.0.0) or ends in ~N (data/raw~2).
bool IsVersionRef(const std::string& arg);

// Checks out one version of one tracked path without moving git: `ref`
// (data/raw@v1.0.0, data/raw~1, …; see ResolveRef) names a version of a
// dataset whose pointer file is in the workspace; the pointer is rewritten
// to name that version and the path made to match it (so 'git diff' shows
// the pointer change). Without `force`, FailedPrecondition listing them
// when the path has changes the pointer does not record; NotFound when the
// cache lacks some of the version's files; FailedPrecondition when no
// pointer of that dataset is in the workspace. Nothing changed on error.
// Holds the repository lock.
Result<CheckoutResult> CheckoutRef(Repo& repo, const std::string& ref, const CheckoutOptions& options);

// ---- refs, history ----------------------------------------------------------

struct ResolvedRef {
  std::string dataset;
  Oid version;
  std::string path;  // tracked path of the dataset in the workspace, if any
};

// Resolves `name`, `name@tag`, `name@<oid prefix, ≥ 7 hex>`, `name@latest`,
// `name~N` (N first-parent steps back). A workspace path (relative to the
// current directory) may stand in for `name`. Ambiguous prefixes and unknown
// names list the candidates.
Result<ResolvedRef> ResolveRef(Repo& repo, const std::string& ref);

Result<Version> LoadVersion(Repo& repo, const Oid& version);
// The files of a version; a single-file version yields one entry whose path is
// the file's name.
Result<Tree> LoadFiles(Repo& repo, const Version& version);

struct LogEntry {
  Oid oid;
  Version version;
  std::vector<std::string> tags;
  bool data_present = true;  // false once gc removed the version's data
};

// Versions from `ref` back through first parents, newest first.
Result<std::vector<LogEntry>> Log(Repo& repo, const ResolvedRef& ref, size_t limit = 0);

std::vector<FileChange> DiffTrees(const Tree& from, const Tree& to);
// Hashes the workspace content of a tracked path (using the stat cache) into
// a Tree, without storing anything.
Result<Tree> WorkspaceFiles(Repo& repo, const std::string& path, bool progress);

}  // namespace cairn

#endif  // CAIRN_DATASET_H_
