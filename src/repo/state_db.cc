#include "repo/state_db.h"

#include <sqlite3.h>

#include <chrono>
#include <cstring>
#include <memory>

#include "util/sqlite.h"

namespace cairn {
namespace {

// Timestamps of ext4 come from a coarse kernel clock; treat anything written
// within this window of the recording as possibly changed again unseen.
constexpr int64_t kRacyWindowNs = 50'000'000;

// The executable bit rides in the top bit of the size (no file is 2^63 bytes);
// records written before it was kept read as not executable, so an
// executable file is re-hashed once, which is safe.
constexpr uint64_t kExecutableBit = uint64_t{1} << 63;

}  // namespace

bool StatMatches(const StatRecord& e, uint64_t size, int64_t mtime_ns, uint64_t inode, bool executable) {
  return e.size == size && e.mtime_ns == mtime_ns && e.inode == inode && e.executable == executable &&
         mtime_ns + kRacyWindowNs < e.cached_ns;
}

Result<std::unique_ptr<StateDb>> StateDb::Open(const std::filesystem::path& path) {
  CAIRN_ASSIGN_OR_RETURN(sqlite3* db, OpenSqlite(path));
  std::unique_ptr<StateDb> state(new StateDb(db));
  CAIRN_RETURN_IF_ERROR(SqliteExec(db,
      "CREATE TABLE IF NOT EXISTS stat_snapshot (path TEXT PRIMARY KEY, object BLOB, records BLOB);"
      "CREATE TABLE IF NOT EXISTS versions (oid BLOB PRIMARY KEY, dataset TEXT, time INTEGER);"
      "CREATE INDEX IF NOT EXISTS versions_by_dataset ON versions(dataset, time);"));
  return state;
}

StateDb::~StateDb() { sqlite3_close(db_); }

namespace {

template <typename T>
void Put(std::string* out, T v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof v);
}

template <typename T>
bool Get(std::string_view* in, T* v) {
  if (in->size() < sizeof *v) return false;
  std::memcpy(v, in->data(), sizeof *v);
  in->remove_prefix(sizeof *v);
  return true;
}

}  // namespace

Result<StatSnapshot> StateDb::LoadStatSnapshot(const std::string& path) {
  StatSnapshot snap;
  Stmt st(db_, "SELECT object, records FROM stat_snapshot WHERE path = ?1");
  CAIRN_RETURN_IF_ERROR(st.status());
  sqlite3_bind_text(st.get(), 1, path.data(), static_cast<int>(path.size()), SQLITE_STATIC);
  int rc = sqlite3_step(st.get());
  if (rc == SQLITE_DONE) return snap;
  if (rc != SQLITE_ROW) return SqliteError(db_, "read stat cache");
  if (sqlite3_column_bytes(st.get(), 0) == Oid::kSize) {
    std::array<uint8_t, Oid::kSize> b;
    std::memcpy(b.data(), sqlite3_column_blob(st.get(), 0), Oid::kSize);
    snap.object = Oid(b);
  }
  std::string_view in(static_cast<const char*>(sqlite3_column_blob(st.get(), 1)),
                      static_cast<size_t>(sqlite3_column_bytes(st.get(), 1)));
  uint64_t count = 0;
  if (!Get(&in, &count) || count > in.size()) return StatSnapshot{};  // damaged: an empty cache is safe
  snap.records.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    StatRecord r;
    uint32_t len = 0;
    std::array<uint8_t, Oid::kSize> oid;
    if (!Get(&in, &len) || in.size() < len) return StatSnapshot{};
    r.rel.assign(in.data(), len);
    in.remove_prefix(len);
    if (!Get(&in, &r.size) || !Get(&in, &r.mtime_ns) || !Get(&in, &r.inode) || !Get(&in, &r.cached_ns) ||
        !Get(&in, &oid)) {
      return StatSnapshot{};
    }
    r.oid = Oid(oid);
    r.executable = (r.size & kExecutableBit) != 0;
    r.size &= ~kExecutableBit;
    snap.records.push_back(std::move(r));
  }
  return snap;
}

Status StateDb::SaveStatSnapshot(const std::string& path, const StatSnapshot& snap) {
  std::string blob;
  blob.reserve(snap.records.size() * 80 + 8);
  Put<uint64_t>(&blob, snap.records.size());
  for (const StatRecord& r : snap.records) {
    Put<uint32_t>(&blob, static_cast<uint32_t>(r.rel.size()));
    blob += r.rel;
    Put(&blob, r.size | (r.executable ? kExecutableBit : 0));
    Put(&blob, r.mtime_ns);
    Put(&blob, r.inode);
    Put(&blob, r.cached_ns);
    Put(&blob, r.oid.bytes());
  }
  Stmt st(db_, "INSERT OR REPLACE INTO stat_snapshot VALUES (?1, ?2, ?3)");
  CAIRN_RETURN_IF_ERROR(st.status());
  sqlite3_bind_text(st.get(), 1, path.data(), static_cast<int>(path.size()), SQLITE_STATIC);
  if (snap.object.IsZero()) {
    sqlite3_bind_null(st.get(), 2);
  } else {
    sqlite3_bind_blob(st.get(), 2, snap.object.bytes().data(), Oid::kSize, SQLITE_STATIC);
  }
  sqlite3_bind_blob64(st.get(), 3, blob.data(), blob.size(), SQLITE_STATIC);
  if (sqlite3_step(st.get()) != SQLITE_DONE) return SqliteError(db_, "write stat cache");
  return Status::OK();
}

Status StateDb::AddVersion(const Oid& oid, const std::string& dataset, int64_t time) {
  Stmt st(db_, "INSERT OR IGNORE INTO versions VALUES (?1, ?2, ?3)");
  CAIRN_RETURN_IF_ERROR(st.status());
  sqlite3_bind_blob(st.get(), 1, oid.bytes().data(), Oid::kSize, SQLITE_STATIC);
  sqlite3_bind_text(st.get(), 2, dataset.data(), static_cast<int>(dataset.size()), SQLITE_STATIC);
  sqlite3_bind_int64(st.get(), 3, time);
  if (sqlite3_step(st.get()) != SQLITE_DONE) return SqliteError(db_, "record version");
  return Status::OK();
}

Result<std::vector<Oid>> StateDb::FindVersions(const std::string& dataset, const std::string& hex_prefix) {
  Stmt st(db_, "SELECT oid FROM versions WHERE dataset = ?1 ORDER BY time");
  CAIRN_RETURN_IF_ERROR(st.status());
  sqlite3_bind_text(st.get(), 1, dataset.data(), static_cast<int>(dataset.size()), SQLITE_STATIC);
  std::vector<Oid> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    if (sqlite3_column_bytes(st.get(), 0) != Oid::kSize) continue;
    std::array<uint8_t, Oid::kSize> b;
    std::memcpy(b.data(), sqlite3_column_blob(st.get(), 0), Oid::kSize);
    Oid oid(b);
    if (oid.Hex().compare(0, hex_prefix.size(), hex_prefix) == 0) out.push_back(oid);
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, "read versions");
  return out;
}

Result<std::vector<std::string>> StateDb::Datasets() {
  Stmt st(db_, "SELECT DISTINCT dataset FROM versions ORDER BY dataset");
  CAIRN_RETURN_IF_ERROR(st.status());
  std::vector<std::string> out;
  while (sqlite3_step(st.get()) == SQLITE_ROW) {
    out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0)));
  }
  return out;
}

}  // namespace cairn
