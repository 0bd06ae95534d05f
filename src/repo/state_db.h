// .cairn/state.db: SQLite indexes that can be rebuilt from objects.
//
//   stat_cache: repo-relative path → (size, mtime, inode, oid), so unchanged
//               files are never re-read;
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
#include <unordered_map>
#include <vector>

#include "cairn/oid.h"
#include "cairn/status.h"

struct sqlite3;

namespace cairn {

struct StatEntry {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint64_t inode = 0;
  int64_t cached_ns = 0;  // when the entry was recorded (for racy-write detection)
  Oid oid;
};

// True when a file with this (size, mtime, inode) is known to hold entry.oid.
// A file modified within the clock granularity of the recording cannot be
// trusted (it may have changed again in the same tick) and returns false.
bool StatMatches(const StatEntry& entry, uint64_t size, int64_t mtime_ns, uint64_t inode);

class StateDb {
 public:
  static Result<std::unique_ptr<StateDb>> Open(const std::filesystem::path& path);
  ~StateDb();

  // Entries whose path equals `prefix` or lies below `prefix/`.
  Result<std::unordered_map<std::string, StatEntry>> LoadStatEntries(const std::string& prefix);
  Status PutStatEntries(const std::vector<std::pair<std::string, StatEntry>>& entries);

  Status AddVersion(const Oid& oid, const std::string& dataset, int64_t time);
  // Version oids of `dataset` whose hex starts with `hex_prefix` (all when empty).
  Result<std::vector<Oid>> FindVersions(const std::string& dataset, const std::string& hex_prefix);
  Result<std::vector<std::string>> Datasets();

 private:
  explicit StateDb(sqlite3* db) : db_(db) {}
  Status Exec(const char* sql);
  sqlite3* db_;
};

}  // namespace cairn

#endif  // CAIRN_REPO_STATE_DB_H_
