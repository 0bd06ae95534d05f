// Reading the workspace: listing the files of a tracked path, and hashing them
// in parallel with the stat cache so unchanged files are never re-read.
#ifndef CAIRN_DATASET_WORKSPACE_H_
#define CAIRN_DATASET_WORKSPACE_H_

#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "cairn/object.h"
#include "cairn/repo.h"
#include "cairn/status.h"

namespace cairn {

class Progress;

struct WorkFile {
  std::string rel;  // relative to the tracked path; empty when the path is a file
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint64_t inode = 0;
  bool executable = false;
  Oid oid;
  bool from_cache = false;  // oid came from the stat cache
};

enum class PathKind { kMissing, kFile, kDirectory };

// Lists regular files at or below repo-relative `path`. Symlinks are followed
// when they resolve to a regular file inside the repository; other symlinks,
// sockets, devices and FIFOs are InvalidArgument errors naming the file.
Result<std::vector<WorkFile>> ListWorkFiles(Repo& repo, const std::string& path, PathKind* kind);

struct HashSummary {
  uint64_t files_hashed = 0, bytes_hashed = 0;  // read this time
  // True when every file was answered by the stat cache and the file set is
  // the one recorded; then `recorded_object` is the tree/blob oid they made
  // when recorded (zero if unknown).
  bool all_cached = false;
  Oid recorded_object;
};

// Sorts `files` by rel and sets each one's `oid`: from the stat cache when it
// still matches, else by reading the file (and, with `store`, storing its
// bytes). Runs on all cores. With `record`, saves fresh hashes in the stat
// cache; callers that call RecordWorkFiles right after pass false, so the
// snapshot is written once.
Result<HashSummary> HashWorkFiles(Repo& repo, const std::string& path, std::vector<WorkFile>* files,
                                  bool store, Progress* progress, bool record = true);

// Records the stat cache of tracked `path` as exactly `files` (sorted by
// rel), which together make `object` (zero if unknown).
Status RecordWorkFiles(Repo& repo, const std::string& path, const std::vector<WorkFile>& files,
                       const Oid& object);

// Full path of a work file.
std::string WorkFilePath(const std::string& path, const WorkFile& f);

// Checkout (cairn/dataset.h) for a caller that already holds the
// repository lock.
struct CheckoutOptions;
struct CheckoutResult;
Result<std::vector<CheckoutResult>> CheckoutLocked(Repo& repo, const std::vector<std::string>& filter,
                                                   const CheckoutOptions& options);

// Files (repo-relative) that a checkout killed before it finished may have
// half-written: the next checkout of their path may replace them. Empty when
// there is no journal.
std::unordered_set<std::string> ReadCheckoutJournal(Repo& repo);

Tree ToTree(const std::vector<WorkFile>& files, const std::string& single_name);

int64_t NowNs();

}  // namespace cairn

#endif  // CAIRN_DATASET_WORKSPACE_H_
