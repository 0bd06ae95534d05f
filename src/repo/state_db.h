// .cairn/state.db: SQLite indexes that can be rebuilt from objects.
//
//   stat_snapshot: tracked path → every file's (size, mtime, inode, oid), so
//               unchanged files are never re-read;
//   versions:   every version oid created or seen locally, by dataset, for
//               resolving oid prefixes and @latest.
//
// Opened in WAL mode so readers never block the writer. Not thread-safe: use
// from one thread (the command's main thread).
#ifndef CAIRN_REPO_STATE_DB_H_
#define CAIRN_REPO_STATE_DB_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "cairn/oid.h"
#include "cairn/status.h"

struct sqlite3;

namespace cairn {

// What the stat cache knows about one file of a tracked path.
struct StatRecord {
  std::string rel;  // relative to the tracked path; empty for a single file
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint64_t inode = 0;
  int64_t cached_ns = 0;  // when the record was made (for racy-write detection)
  Oid oid;
  bool executable = false;  // a chmod changes no size, mtime or inode, but is a change
};

// The stat cache of one tracked path: every file's record, sorted by rel, and
// the tree/blob oid the files made together when recorded (zero if unknown).
// Stored as one row per tracked path, so loading 100k records is one read.
struct StatSnapshot {
  Oid object;
  std::vector<StatRecord> records;
};

// True when a file with this (size, mtime, inode, executable bit) is known to
// hold rec.oid.
// A file modified within the clock granularity of the recording cannot be
// trusted (it may have changed again in the same tick) and returns false.
bool StatMatches(const StatRecord& rec, uint64_t size, int64_t mtime_ns, uint64_t inode, bool executable);

class StateDb {
 public:
  static Result<std::unique_ptr<StateDb>> Open(const std::filesystem::path& path);
  ~StateDb();

  // The snapshot of repo-relative tracked `path`; empty when none.
  Result<StatSnapshot> LoadStatSnapshot(const std::string& path);
  // Replaces the snapshot of `path`; records must be sorted by rel.
  Status SaveStatSnapshot(const std::string& path, const StatSnapshot& snapshot);

  Status AddVersion(const Oid& oid, const std::string& dataset, int64_t time);
  // Version oids of `dataset` whose hex starts with `hex_prefix` (all when empty).
  Result<std::vector<Oid>> FindVersions(const std::string& dataset, const std::string& hex_prefix);
  Result<std::vector<std::string>> Datasets();

 private:
  explicit StateDb(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

}  // namespace cairn

#endif  // CAIRN_REPO_STATE_DB_H_
