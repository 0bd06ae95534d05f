// The object store's internals, shared by the files that implement it:
// object_store.cc (the public API), pack_list.cc (finding and reading
// packed and loose objects), pack_append.cc (writing packs and loose
// objects), verified_copy.cc (in-kernel copies checked against their oid)
// and prune.cc (gc and repair of packs). Not part of the public API.
#ifndef CAIRN_STORE_OBJECT_STORE_IMPL_H_
#define CAIRN_STORE_OBJECT_STORE_IMPL_H_

#include <sys/stat.h>

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cairn/store.h"
#include "store/pack.h"
#include "util/file.h"

namespace cairn {

struct PackLocation {
  uint32_t pack = 0;  // index into Impl::packs
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct PackFile {
  fs::path path;  // .pack; for the open writer, its temp file
  Fd fd;
  // Its index is gone (gc or repair replaced the pack): no longer searched,
  // but an open `fd` stays, so a read that found an object here just before
  // still gets its bytes.
  bool gone = false;
};

inline constexpr size_t kReadBuffer = 1 << 20;
// How often a lookup re-reads the pack list after the pack it found vanished
// (another process replaced it). Each gc replaces a pack once, so more than
// one retry is needed only when several run back to back during one read.
inline constexpr int kPackRetries = 8;
// A packs/ directory modified less than this long ago may change again within
// the same file system timestamp tick, so its unchanged mtime proves nothing.
inline constexpr int64_t kStampSlackNs = 100'000'000;

inline int64_t Ns(const struct timespec& t) { return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec; }

// "<path>: what" -> "what" (the caller names the path itself).
inline std::string WithoutPath(const std::string& message, const fs::path& path) {
  std::string prefix = path.string() + ": ";
  return message.starts_with(prefix) ? message.substr(prefix.size()) : message;
}

// Where packed objects live. Loaded packs keep their sorted index arrays and
// are searched by binary search (no per-object allocation at open, which
// matters with 100k+ objects); objects packed during this process go to a
// hash-map overlay.
class CachePackIndex {
 public:
  void AddPack(uint32_t n, std::vector<PackEntry> sorted) {
    if (packs_.size() <= n) packs_.resize(n + 1);
    packs_[n] = std::move(sorted);
  }
  void Insert(const Oid& oid, PackLocation loc) { overlay_[oid] = loc; }
  std::optional<PackLocation> Find(const Oid& oid) const {
    auto it = overlay_.find(oid);
    if (it != overlay_.end()) return it->second;
    for (size_t n = packs_.size(); n-- > 0;) {
      const auto& v = packs_[n];
      auto e = std::lower_bound(v.begin(), v.end(), oid, [](const PackEntry& a, const Oid& b) { return a.oid < b; });
      if (e != v.end() && e->oid == oid) return PackLocation{static_cast<uint32_t>(n), e->offset, e->length};
    }
    return std::nullopt;
  }
  // Forgets every object of pack `n` (it is being rewritten or abandoned).
  void DropPack(uint32_t n) {
    if (n < packs_.size()) packs_[n].clear();
    for (auto it = overlay_.begin(); it != overlay_.end();) {
      it = it->second.pack == n ? overlay_.erase(it) : std::next(it);
    }
  }
  // The entries of loaded pack `n` (sorted by oid).
  const std::vector<PackEntry>& Entries(uint32_t n) const {
    static const std::vector<PackEntry> kNone;
    return n < packs_.size() ? packs_[n] : kNone;
  }
  template <typename F>
  void ForEach(F fn) const {
    for (size_t n = 0; n < packs_.size(); ++n) {
      for (const PackEntry& e : packs_[n]) fn(e.oid, PackLocation{static_cast<uint32_t>(n), e.offset, e.length});
    }
    for (const auto& [oid, loc] : overlay_) fn(oid, loc);
  }

 private:
  std::vector<std::vector<PackEntry>> packs_;
  std::unordered_map<Oid, PackLocation, OidHash> overlay_;
};

struct ObjectStore::Impl {
  fs::path cache_dir;
  fs::path objects_dir;  // cache/sha256
  fs::path packs_dir;    // cache/packs
  fs::path tmp_dir;

  std::mutex mu;  // guards everything below
  CachePackIndex packed;
  std::vector<PackFile> packs;
  // Packs being written. Each is used by one thread at a time (busy), so
  // threads append in parallel and write their buffers without holding `mu`.
  struct OpenPack {
    PackWriter writer;
    uint32_t pack;  // index in `packs`
    bool busy = false;
  };
  std::vector<std::unique_ptr<OpenPack>> open_packs;
  std::condition_variable pack_released;
  std::vector<DamagedPack> damaged;  // indexes skipped at the last listing
  // stat() of packs/ taken just before the last listing: while it is
  // unchanged (and not recent), the list is current.
  struct stat packs_stamp {};
  bool stamp_trusted = false;

  fs::path LoosePath(const Oid& oid) const {
    std::string hex = oid.Hex();
    return objects_dir / hex.substr(0, 2) / hex.substr(2);
  }

  // Brings the pack list up to date with packs/: loads the indexes of packs
  // not known yet, forgets packs whose index is gone, and notes damaged
  // indexes (skipped, so one bad index costs only its own objects). An index
  // removed between listing and reading it (a concurrent gc) is skipped and
  // the directory listed again, since its replacement may have been created
  // after the listing started. Caller holds `mu`.
  Status Refresh();

  // Re-reads the pack list if packs/ may have changed since the last
  // listing; true when it did re-read. Cheap (one stat) when nothing changed,
  // so lookups that miss can afford it. Caller holds `mu`.
  bool RefreshIfChanged();
  // Whether the packs directory has the stamp of the last Refresh (and the
  // stamp can be trusted: it is older than the file system's time slack).
  bool PacksUnchanged() const;

  // Returns an open descriptor for pack `n`. Caller holds `mu`.
  Result<int> PackFd(uint32_t n);

  std::optional<PackLocation> FindPacked(const Oid& oid) {
    return packed.Find(oid);
  }

  // Where an object is now: packed (`*loc` set), loose (true, `*loc` empty)
  // or absent (false). A miss re-reads the pack list when packs/ changed.
  // Caller must not hold `mu`.
  bool Locate(const Oid& oid, std::optional<PackLocation>* loc);

  // An object's bytes, packed or loose (not verified); `*packed` tells
  // which. When the pack that held it vanished (another process's gc
  // rewrote it), the pack list is re-read and the object looked up again, a
  // bounded number of times. Caller must not hold `mu`.
  Result<std::string> ReadBytes(const Oid& oid, bool* packed);

  Result<std::string> ReadPacked(const PackLocation& loc);

  // Returns an idle open pack marked busy, creating one if all are busy.
  // Caller holds `mu`.
  Result<OpenPack*> AcquirePack();

  // Records an append and closes the pack once it is full. Caller holds `mu`.
  Status ReleasePack(OpenPack* op, const Oid& oid, const Result<PackEntry>& e);

  // Appends a small object; the write itself runs without `mu`. Caller must
  // not hold `mu`.
  Status AppendPacked(const Oid& oid, std::string_view data);

  // The same, for callers that hold `mu` (single-threaded maintenance).
  Status AppendPackedLocked(const Oid& oid, std::string_view data);

  // Moves one open pack into place with its index. Caller holds `mu`, and the
  // pack is not busy.
  Status FinishPack(OpenPack* op);

  // Caller holds `mu`; no append may be in flight (see Commit's contract).
  Status FinishPacks();

  // With `sync`, the object is durable on return (file and directory
  // fsync), instead of at the next Commit().
  Status PutLooseFromTemp(TempFile* tmp, const Oid& oid, bool sync = false);

  Status PutLoose(const Oid& oid, std::string_view data, bool sync = false);
};

}  // namespace cairn

#endif  // CAIRN_STORE_OBJECT_STORE_IMPL_H_
