// The machinery every remote command shares: opening a remote and reading
// its indexes, uploading packs in order, and downloading objects by chunks.
#ifndef CAIRN_REMOTE_SESSION_H_
#define CAIRN_REMOTE_SESSION_H_

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "cairn/store.h"
#include "cairn/sys/backend.h"
#include "remote/chunker.h"
#include "remote/packfile.h"

namespace cairn {

// Runs fn(i) for i in [0, n) on up to `jobs` threads; stops handing out work
// after the first error and returns it.
Status ParallelFor(size_t n, int jobs, const std::function<Status(size_t)>& fn);

// Remote layout (doc/formats.md): every key the format uses.
namespace remote_keys {
inline constexpr char kMarker[] = "cairn-remote";
inline constexpr char kPacks[] = "packs/";
inline constexpr char kTags[] = "refs/tags/";
inline constexpr char kRuns[] = "refs/runs/";
inline constexpr char kRunCache[] = "refs/runcache/";
inline std::string Pack(const std::string& hex) { return "packs/" + hex + ".pack"; }
inline std::string Index(const std::string& hex) { return "packs/" + hex + ".idx"; }
}  // namespace remote_keys

// An open remote: its backend, chunking parameters and merged index.
class RemoteSession {
 public:
  // Opens the remote. `index_cache` (may be empty) keeps downloaded indexes
  // between commands; they are immutable, so only new ones are fetched.
  // With `for_write`, an empty remote gets its format marker.
  static Result<std::unique_ptr<RemoteSession>> Open(const RemoteSpec& spec,
                                                     const std::filesystem::path& index_cache,
                                                     bool for_write, int jobs);

  Backend& backend() { return *backend_; }
  const RemoteIndex& index() const { return index_; }
  const Chunker& chunker() const { return chunker_; }
  int jobs() const { return jobs_; }
  std::string Describe() const { return backend_->Describe(); }

  // Packs with an index, and their sizes/times (from the listing).
  const std::vector<RemoteObject>& indexed_packs() const { return indexed_packs_; }
  // Pack files with no index (an upload interrupted before its index).
  const std::vector<RemoteObject>& orphan_packs() const { return orphan_packs_; }
  // Indexes as decoded, in the order of index().packs().
  const std::vector<PackIndex>& pack_indexes() const { return pack_indexes_; }
  // Problems met while loading (a damaged index, an index without its pack).
  const std::vector<std::string>& load_problems() const { return load_problems_; }

  // A pack whose size is not the one its (intact) index records: cut short
  // or overwritten, so its chunks cannot be trusted to be there. Its chunks
  // are not in index() (a push stores them anew), but reads of objects
  // that only it holds fail as Corruption naming it, not as missing.
  struct DamagedPack {
    std::string key;      // packs/<hex>.pack
    std::string problem;  // what is wrong with it
  };
  const std::vector<DamagedPack>& damaged_packs() const { return damaged_packs_; }

  // Downloads the objects in `oids` (which must all be on the remote) into
  // `store`, verifying every chunk and every object; large objects are
  // assembled in `tmp_dir` (on the store's file system). Adds the number of
  // chunks and wire bytes read to `*chunks` / `*bytes`.
  Status Download(ObjectStore& store, const std::filesystem::path& tmp_dir, const std::vector<Oid>& oids,
                  bool progress, uint64_t* chunks, uint64_t* bytes);
  // Reads one small object (a version, tree or run record) straight from
  // the remote, verified.
  Result<std::string> ReadObject(const Oid& oid);

 private:
  RemoteSession() = default;
  Status LoadIndex(const std::filesystem::path& cache);
  // Why `oid`, which index() lacks, cannot be read: Corruption naming the
  // damaged pack that holds (a chunk of) it, else NotFound.
  Status Lacking(const Oid& oid, const Status& why) const;

  std::unique_ptr<Backend> backend_;
  Chunker chunker_;
  int jobs_ = 4;
  RemoteIndex index_;
  std::vector<PackIndex> pack_indexes_;
  std::vector<RemoteObject> indexed_packs_, orphan_packs_;
  std::vector<std::string> load_problems_;
  RemoteIndex damaged_index_;  // the chunks and recipes of damaged packs, in damaged_packs_'s order
  std::vector<DamagedPack> damaged_packs_;
};

// Collects chunks and recipes into packs of ~kTargetPackSize and uploads
// them on worker threads. A pack's index is uploaded only after the pack and
// after every earlier pack's index, so an index never names a missing chunk
// and a recipe never names a chunk that is not yet indexed. Thread-safe.
class PackUploader {
 public:
  static constexpr size_t kTargetPackSize = 32 << 20;

  PackUploader(Backend& backend, const RemoteIndex& existing, int jobs);
  ~PackUploader();

  // True when the chunk is already on the remote or added in this session
  // (the caller need not compress it).
  bool Has(const Oid& chunk);
  // Adds a compressed chunk unless a racing caller already did.
  Status AddChunk(const Oid& oid, std::string_view stored, uint32_t raw, Codec codec);
  // Adds a recipe; every chunk it names must have been added or be on the
  // remote already.
  Status AddRecipe(Recipe recipe);
  // Uploads what is left and waits for every upload. Returns the first error.
  Status Finish();

  uint64_t chunks_added() const { return chunks_added_; }
  uint64_t packs_written() const { return packs_written_; }
  uint64_t bytes_written() const { return bytes_written_; }

 private:
  struct Job {
    uint64_t seq;
    std::string pack;
    PackIndex index;
  };
  // Queues the pack being built for upload, waiting while too many are
  // queued; with `only_if_full`, only if it still is full after the wait.
  Status SealLocked(std::unique_lock<std::mutex>& lock, bool only_if_full);
  void Worker();

  Backend& backend_;
  const RemoteIndex& existing_;
  std::mutex mu_;
  std::condition_variable cv_;
  PackBuilder builder_;
  std::unordered_set<Oid, OidHash> added_;
  std::deque<Job> queue_;
  uint64_t next_seq_ = 0, published_seq_ = 0;
  size_t in_flight_ = 0;
  size_t max_queued_;
  bool stop_ = false;
  Status error_;
  std::vector<std::thread> workers_;
  uint64_t chunks_added_ = 0, packs_written_ = 0, bytes_written_ = 0;
};

}  // namespace cairn

#endif  // CAIRN_REMOTE_SESSION_H_
