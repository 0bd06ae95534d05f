// The content-addressed object store under .cairn/cache/.
//
// Every object (file blob, tree manifest, dataset version) is stored under its
// oid and never changes. Large blobs are kept as whole files so checkout can
// reflink or copy them; small blobs (< kSmallBlobLimit) are appended to pack
// files, because creating one file per small object costs more than hashing it.
// Trees and versions are always stored as loose files.
//
// Writes are atomic: a loose object appears by rename(), a pack becomes visible
// only when its index is renamed into place. Nothing is fsynced per object;
// Commit() makes all writes since the last Commit() durable with one syncfs().
//
// Thread safety: Put*, Has, Read and Materialize may be called from many
// threads at once, and so may Reload. Commit, Prune and RepairPacks must not
// run concurrently with anything.
// Across processes, callers serialise writers with the repository lock.
#ifndef CAIRN_STORE_H_
#define CAIRN_STORE_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "cairn/oid.h"
#include "cairn/status.h"

namespace cairn {

// How Materialize puts an object into the workspace.
enum class LinkMode {
  kCopy,      // reflink where the file system can, else a real copy (default, always safe)
  kHardlink,  // hard link to the cached file (read-only data only)
  kSymlink,   // symbolic link to the cached file (read-only data only)
};

using OidSet = std::unordered_set<Oid, OidHash>;

struct PruneStats {
  uint64_t objects_removed = 0;
  uint64_t bytes_removed = 0;
  uint64_t objects_kept = 0;
  uint64_t bytes_kept = 0;
  uint64_t packs_rewritten = 0;
};

// A pack whose index could not be read when the store last listed its packs.
// Its objects are invisible (as if absent) until `cairn fsck --repair`
// rebuilds the index from the pack.
struct DamagedPack {
  std::filesystem::path index;
  std::filesystem::path pack;
  std::string problem;  // what is wrong with the index
};

// What RepairPacks did to one pack.
struct PackRepair {
  std::filesystem::path pack;
  std::string problem;           // why it was repaired
  uint64_t objects_kept = 0;     // verified and indexed again
  uint64_t objects_dropped = 0;  // bytes that no longer match their oid (or are cut off)
};

class ObjectStore {
 public:
  static constexpr uint64_t kSmallBlobLimit = 128 * 1024;
  static constexpr uint64_t kMaxPackSize = 256ull << 20;

  // Opens (creating directories as needed) the store in `cache_dir`, staging
  // temporary files in `tmp_dir`, which must be on the same file system.
  // A damaged pack index does not fail the open: that pack is skipped and
  // listed by DamagedPacks().
  static Result<std::unique_ptr<ObjectStore>> Open(const std::filesystem::path& cache_dir,
                                                   const std::filesystem::path& tmp_dir);
  ~ObjectStore();
  ObjectStore(const ObjectStore&) = delete;
  ObjectStore& operator=(const ObjectStore&) = delete;

  // Re-reads the list of packs: packs another process wrote become visible,
  // packs it removed (gc rewrites packs) are forgotten, though one this store
  // already has open stays readable. Objects written through this store are
  // kept. Call it after taking the repository lock: the list was read when
  // the store opened, and another writer may have changed it meanwhile.
  // Reads and lookups that miss also re-read the list when the packs
  // directory changed, so readers never need to call this.
  Status Reload();

  // Packs skipped because their index is damaged (as of the last listing).
  std::vector<DamagedPack> DamagedPacks();

  bool Has(const Oid& oid);
  // Size in bytes of a stored object; NotFound if absent.
  Result<uint64_t> Size(const Oid& oid);

  // Reads the file at `path` once, hashing and storing it. `on_bytes` (may be
  // empty) is called with the byte count of each chunk read, for progress.
  // Returns the blob oid; `*size` receives the byte count.
  // `size_hint`, when known from a recent stat, saves an fstat; the file's
  // actual length always wins.
  Result<Oid> PutFile(const std::filesystem::path& path, uint64_t* size,
                      const std::function<void(uint64_t)>& on_bytes = {}, int64_t size_hint = -1);
  // The same for a file the caller opened (read-only, at offset 0); `path`
  // names it in messages. Takes ownership of `fd`.
  Result<Oid> PutOpenFile(int fd, const std::filesystem::path& path, uint64_t* size,
                          const std::function<void(uint64_t)>& on_bytes = {}, int64_t size_hint = -1);
  // Stores `data` as a blob (packed when small) and returns its oid.
  Result<Oid> PutBlob(std::string_view data);
  // Stores a tree or version encoding as a loose object and returns its oid.
  Result<Oid> PutObject(std::string_view data);
  // The same, durable on return: two fsyncs instead of waiting for Commit(),
  // which syncs the whole file system (cheaper for a few objects, such as a
  // run record, on a busy disk).
  Result<Oid> PutObjectDurable(std::string_view data);

  // Returns an object's bytes. With `verify`, re-hashes them and returns
  // Corruption when they do not match the oid.
  Result<std::string> Read(const Oid& oid, bool verify = true);
  // Creates `dest` (which must not exist) holding the object's bytes, using
  // `mode` when the object is a loose file (packed objects are always copied).
  // Copies get permissions 0755 when `executable`, else 0644.
  Status Materialize(const Oid& oid, const std::filesystem::path& dest, LinkMode mode,
                     bool executable = false);
  // The file holding a loose object, for reading in place (for example by
  // mmap). NotFound when the object is packed or absent.
  Result<std::filesystem::path> LooseFile(const Oid& oid);
  // Takes the file at `temp` (in the store's tmp_dir, fully written) as a
  // loose object: hashes it and renames it into place. Returns its oid. The
  // file is gone afterwards, whatever the result.
  Result<Oid> AdoptFile(const std::filesystem::path& temp);

  // Re-hashes one object; Corruption when it does not match its oid.
  Status Verify(const Oid& oid);

  // Loose objects (trees, versions, large blobs) whose hex oid starts with
  // `hex_prefix` (at least 2 lowercase hex digits).
  Result<std::vector<Oid>> FindLoose(const std::string& hex_prefix);

  // Finishes the open pack and makes every object written so far durable.
  Status Commit();
  // Drops the objects written to the open pack since the last Commit() (used
  // when a command fails half-way, so no temp file outlives it).
  void DiscardPending();

  // Calls `fn` for every stored object with its size and whether it is packed.
  Status ForEach(const std::function<Status(const Oid&, uint64_t size, bool packed)>& fn);

  // Rebuilds the index of every damaged pack from the pack itself (each
  // record carries its oid and length), and rewrites every pack holding an
  // object of `bad` (found damaged by a check). Each object is re-hashed on
  // the way: those whose bytes no longer match their oid are dropped, so that
  // adding or fetching the data again stores them anew. The rewritten packs
  // are durable before the damaged ones are removed. Must not run
  // concurrently with anything; across processes, hold the repository lock.
  Result<std::vector<PackRepair>> RepairPacks(const OidSet& bad);

  // Removes every object not in `live`. Without `apply`, only counts. Packs
  // holding garbage are rewritten with their live objects. Also removes
  // leftovers of interrupted commands (temp files, packs without index).
  Result<PruneStats> Prune(const OidSet& live, bool apply);

  struct Impl;

 private:
  explicit ObjectStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn

#endif  // CAIRN_STORE_H_
