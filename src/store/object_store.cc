#include "cairn/store.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <set>
#include <thread>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "store/pack.h"
#include "util/file.h"
#include "util/sha256.h"

namespace cairn {

namespace {

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

constexpr size_t kReadBuffer = 1 << 20;
// How often a lookup re-reads the pack list after the pack it found vanished
// (another process replaced it). Each gc replaces a pack once, so more than
// one retry is needed only when several run back to back during one read.
constexpr int kPackRetries = 8;
// A packs/ directory modified less than this long ago may change again within
// the same file system timestamp tick, so its unchanged mtime proves nothing.
constexpr int64_t kStampSlackNs = 100'000'000;

int64_t Ns(const struct timespec& t) { return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec; }

// "<path>: what" -> "what" (the caller names the path itself).
std::string WithoutPath(const std::string& message, const fs::path& path) {
  std::string prefix = path.string() + ": ";
  return message.starts_with(prefix) ? message.substr(prefix.size()) : message;
}

// Where packed objects live. Loaded packs keep their sorted index arrays and
// are searched by binary search (no per-object allocation at open, which
// matters with 100k+ objects); objects packed during this process go to a
// hash-map overlay.
class PackIndex {
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

}  // namespace

struct ObjectStore::Impl {
  fs::path cache_dir;
  fs::path objects_dir;  // cache/sha256
  fs::path packs_dir;    // cache/packs
  fs::path tmp_dir;

  std::mutex mu;  // guards everything below
  PackIndex packed;
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
  Status Refresh() {
    for (int attempt = 0;; ++attempt) {
      struct stat before {};
      bool stamped = ::stat(packs_dir.c_str(), &before) == 0;
      std::unordered_map<std::string, uint32_t> known;  // file name of a listed pack -> its number
      for (uint32_t n = 0; n < packs.size(); ++n) {
        if (!packs[n].gone && packs[n].path.parent_path() == packs_dir) known[packs[n].path.filename()] = n;
      }
      std::unordered_set<uint32_t> listed;
      std::vector<DamagedPack> found_damaged;
      bool vanished = false;
      std::error_code ec;
      for (const auto& entry : fs::directory_iterator(packs_dir, ec)) {
        if (entry.path().extension() != ".idx") continue;
        fs::path pack_path = entry.path();
        pack_path.replace_extension(".pack");
        if (auto it = known.find(pack_path.filename()); it != known.end()) {
          listed.insert(it->second);
          continue;
        }
        auto entries = ReadPackIndex(entry.path());
        if (!entries.ok()) {
          if (entries.status().code() == Code::kNotFound) {
            vanished = true;
          } else {
            found_damaged.push_back(
                DamagedPack{entry.path(), pack_path, WithoutPath(entries.status().message(), entry.path())});
          }
          continue;
        }
        uint32_t n = static_cast<uint32_t>(packs.size());
        packs.push_back(PackFile{pack_path, Fd()});
        packed.AddPack(n, std::move(entries).value());
        listed.insert(n);
      }
      if (ec) return Status::FromErrno("cannot list " + packs_dir.string(), ec.value());
      for (const auto& [name, n] : known) {
        if (listed.count(n)) continue;
        packed.DropPack(n);
        packs[n].gone = true;
      }
      damaged = std::move(found_damaged);
      packs_stamp = before;
      struct timespec now {};
      ::clock_gettime(CLOCK_REALTIME, &now);
      stamp_trusted = stamped && Ns(now) - std::max(Ns(before.st_mtim), Ns(before.st_ctim)) > kStampSlackNs;
      if (!vanished || attempt >= kPackRetries) return Status::OK();
    }
  }

  // Re-reads the pack list if packs/ may have changed since the last
  // listing; true when it did re-read. Cheap (one stat) when nothing changed,
  // so lookups that miss can afford it. Caller holds `mu`.
  bool RefreshIfChanged() {
    struct stat now {};
    if (stamp_trusted && ::stat(packs_dir.c_str(), &now) == 0 && now.st_ino == packs_stamp.st_ino &&
        Ns(now.st_mtim) == Ns(packs_stamp.st_mtim) && Ns(now.st_ctim) == Ns(packs_stamp.st_ctim)) {
      return false;
    }
    return Refresh().ok();
  }

  // Returns an open descriptor for pack `n`. Caller holds `mu`.
  Result<int> PackFd(uint32_t n) {
    PackFile& p = packs[n];
    if (!p.fd.valid()) {
      CAIRN_ASSIGN_OR_RETURN(p.fd, OpenRead(p.path));
    }
    return p.fd.get();
  }

  std::optional<PackLocation> FindPacked(const Oid& oid) {
    return packed.Find(oid);
  }

  // Where an object is now: packed (`*loc` set), loose (true, `*loc` empty)
  // or absent (false). A miss re-reads the pack list when packs/ changed.
  // Caller must not hold `mu`.
  bool Locate(const Oid& oid, std::optional<PackLocation>* loc) {
    {
      std::lock_guard<std::mutex> lock(mu);
      *loc = packed.Find(oid);
      if (*loc) return true;
    }
    struct stat st;
    if (::stat(LoosePath(oid).c_str(), &st) == 0) return true;
    std::lock_guard<std::mutex> lock(mu);
    if (!RefreshIfChanged()) return false;
    *loc = packed.Find(oid);
    return loc->has_value() || ::stat(LoosePath(oid).c_str(), &st) == 0;
  }

  // An object's bytes, packed or loose (not verified); `*packed` tells
  // which. When the pack that held it vanished (another process's gc
  // rewrote it), the pack list is re-read and the object looked up again, a
  // bounded number of times. Caller must not hold `mu`.
  Result<std::string> ReadBytes(const Oid& oid, bool* packed) {
    for (int attempt = 0;; ++attempt) {
      *packed = false;
      std::optional<PackLocation> loc;
      if (!Locate(oid, &loc)) {
        return Status::NotFound("object " + oid.ToString() + " is not in the cache",
                                "fetch it from a remote, or re-add the data it belongs to");
      }
      if (!loc) {
        auto r = ReadFile(LoosePath(oid));
        if (r.ok() || r.status().code() != Code::kNotFound) return r;
        if (attempt >= kPackRetries) {
          return Status::NotFound("object " + oid.ToString() + " is not in the cache",
                                  "fetch it from a remote, or re-add the data it belongs to");
        }
        continue;  // removed since we looked (by gc); perhaps packed now
      }
      *packed = true;
      auto r = ReadPacked(*loc);
      if (r.ok()) return r;
      if (r.status().code() == Code::kNotFound) {
        std::lock_guard<std::mutex> lock(mu);
        if (attempt < kPackRetries) {
          CAIRN_RETURN_IF_ERROR(Refresh());
          continue;
        }
        return Status::Corruption("object " + oid.ToString() + " is in " + packs[loc->pack].path.string() +
                                      ", which is missing although its index is there",
                                  "run 'cairn fsck --repair' to drop the index, then fetch or re-add the data");
      }
      if (r.status().code() == Code::kCorruption) {
        // A repair from a remote leaves a good loose copy beside a bad packed one.
        auto loose = ReadFile(LoosePath(oid));
        if (loose.ok()) {
          *packed = false;
          return loose;
        }
        return Status::Corruption("object " + oid.ToString() + " is damaged: " + r.status().message(),
                                  "run 'cairn fsck' to list damaged objects and 'cairn fsck --repair' to drop them");
      }
      return r.status();
    }
  }

  Result<std::string> ReadPacked(const PackLocation& loc) {
    std::string out(loc.length, '\0');
    int fd;
    fs::path path;
    {
      std::unique_lock<std::mutex> lock(mu);
      // If the pack is still being written, flush it so pread sees its
      // buffered bytes. Search again after every wait: a pack may be
      // finished (and its OpenPack freed) meanwhile.
      for (;;) {
        OpenPack* op = nullptr;
        for (auto& candidate : open_packs) {
          if (candidate->pack == loc.pack) op = candidate.get();
        }
        if (op == nullptr) break;
        if (op->busy) {
          pack_released.wait(lock);
          continue;
        }
        CAIRN_RETURN_IF_ERROR(op->writer.Flush());
        break;
      }
      CAIRN_ASSIGN_OR_RETURN(fd, PackFd(loc.pack));
      path = packs[loc.pack].path;
    }
    CAIRN_RETURN_IF_ERROR(PreadAll(fd, out.data(), out.size(), static_cast<off_t>(loc.offset), path));
    return out;
  }

  // Returns an idle open pack marked busy, creating one if all are busy.
  // Caller holds `mu`.
  Result<OpenPack*> AcquirePack() {
    for (auto& op : open_packs) {
      if (!op->busy) {
        op->busy = true;
        return op.get();
      }
    }
    CAIRN_ASSIGN_OR_RETURN(PackWriter w, PackWriter::Create(tmp_dir));
    uint32_t n = static_cast<uint32_t>(packs.size());
    packs.push_back(PackFile{w.temp_path(), Fd()});
    open_packs.push_back(std::make_unique<OpenPack>(OpenPack{std::move(w), n, true}));
    return open_packs.back().get();
  }

  // Records an append and closes the pack once it is full. Caller holds `mu`.
  Status ReleasePack(OpenPack* op, const Oid& oid, const Result<PackEntry>& e) {
    op->busy = false;
    pack_released.notify_all();
    if (!e.ok()) return e.status();
    packed.Insert(oid, PackLocation{op->pack, e->offset, e->length});
    if (op->writer.size() >= kMaxPackSize) return FinishPack(op);
    return Status::OK();
  }

  // Appends a small object; the write itself runs without `mu`. Caller must
  // not hold `mu`.
  Status AppendPacked(const Oid& oid, std::string_view data) {
    OpenPack* op;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (packed.Find(oid)) return Status::OK();
      CAIRN_ASSIGN_OR_RETURN(op, AcquirePack());
    }
    Result<PackEntry> e = op->writer.Append(oid, data);
    std::lock_guard<std::mutex> lock(mu);
    return ReleasePack(op, oid, e);
  }

  // The same, for callers that hold `mu` (single-threaded maintenance).
  Status AppendPackedLocked(const Oid& oid, std::string_view data) {
    if (packed.Find(oid)) return Status::OK();
    CAIRN_ASSIGN_OR_RETURN(OpenPack* op, AcquirePack());
    return ReleasePack(op, oid, op->writer.Append(oid, data));
  }

  // Moves one open pack into place with its index. Caller holds `mu`, and the
  // pack is not busy.
  Status FinishPack(OpenPack* op) {
    CAIRN_ASSIGN_OR_RETURN(fs::path final_path, op->writer.Finish(packs_dir, tmp_dir));
    // A pack with the same name (the same objects: a repair rebuilding an
    // intact pack) was just replaced by this one.
    for (uint32_t n = 0; n < packs.size(); ++n) {
      if (n == op->pack || packs[n].path != final_path) continue;
      packed.DropPack(n);
      packs[n].gone = true;
    }
    packs[op->pack].path = final_path;
    packs[op->pack].fd = Fd();
    packs[op->pack].gone = false;
    for (auto it = open_packs.begin(); it != open_packs.end(); ++it) {
      if (it->get() == op) {
        open_packs.erase(it);
        break;
      }
    }
    return Status::OK();
  }

  // Caller holds `mu`; no append may be in flight (see Commit's contract).
  Status FinishPacks() {
    while (!open_packs.empty()) CAIRN_RETURN_IF_ERROR(FinishPack(open_packs.back().get()));
    return Status::OK();
  }

  // With `sync`, the object is durable on return (file and directory
  // fsync), instead of at the next Commit().
  Status PutLooseFromTemp(TempFile* tmp, const Oid& oid, bool sync = false) {
    fs::path dest = LoosePath(oid);
    struct stat st;
    if (::stat(dest.c_str(), &st) == 0) return Status::OK();  // already stored; tmp is dropped
    ::fchmod(tmp->fd(), 0444);  // discourages writes through hard links
    Status s = tmp->Commit(dest, sync);
    if (s.code() == Code::kIOError) {
      CAIRN_RETURN_IF_ERROR(MakeDirs(dest.parent_path()));
      return tmp->Commit(dest, sync);
    }
    return s;
  }

  Status PutLoose(const Oid& oid, std::string_view data, bool sync = false) {
    struct stat st;
    if (::stat(LoosePath(oid).c_str(), &st) == 0) return Status::OK();
    CAIRN_ASSIGN_OR_RETURN(TempFile tmp, TempFile::Create(tmp_dir, "obj"));
    CAIRN_RETURN_IF_ERROR(tmp.Write(data));
    return PutLooseFromTemp(&tmp, oid, sync);
  }
};

namespace {

// Copies `in` into `tmp` in the kernel, 64 MiB at a time, while a second
// thread hashes what has been copied, reading it back from `tmp`. Hashing the
// stored bytes (not the source) means the oid always matches what is in the
// cache, even if the source changes meanwhile. InvalidArgument when the file
// system cannot copy in the kernel (nothing has been written then).
Result<uint64_t> CopyAndHash(int in, int out, const fs::path& path, const fs::path& out_path, Sha256* hash,
                             const std::function<void(uint64_t)>& on_bytes) {
  constexpr size_t kChunk = 64u << 20;
  CAIRN_ASSIGN_OR_RETURN(size_t first, CopyChunk(in, out, kChunk, path, out_path));
  CAIRN_ASSIGN_OR_RETURN(Fd reread, OpenRead(out_path));
  std::mutex mu;
  std::condition_variable cv;
  uint64_t copied = first;
  bool done = first == 0;
  Status hash_status;
  std::thread hasher([&] {
    std::vector<char> buf(kReadBuffer);
    uint64_t pos = 0;
    for (;;) {
      uint64_t avail;
      bool finished;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return copied > pos || done; });
        avail = copied;
        finished = done;
      }
      while (pos < avail) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), avail - pos));
        Status s = PreadAll(reread.get(), buf.data(), n, static_cast<off_t>(pos), out_path);
        if (!s.ok()) {
          hash_status = s;
          return;
        }
        hash->Update(buf.data(), n);
        pos += n;
        if (on_bytes) on_bytes(n);
      }
      if (finished) return;
    }
  });
  Status copy_status;
  while (!done) {
    auto got = CopyChunk(in, out, kChunk, path, out_path);
    std::lock_guard<std::mutex> lock(mu);
    if (!got.ok()) {
      copy_status = got.status();
      done = true;
    } else {
      copied += *got;
      done = *got == 0;
    }
    cv.notify_one();
  }
  hasher.join();
  if (!copy_status.ok()) {
    // A copy that fails half-way for lack of support must not fall back with
    // bytes already written; report it as the I/O error it is.
    if (copy_status.code() == Code::kInvalidArgument) return Status::IOError("in-kernel copy of " + path.string() + " failed half-way");
    return copy_status;
  }
  CAIRN_RETURN_IF_ERROR(hash_status);
  return copied;
}

Status Mismatch(const Oid& oid, const fs::path& where) {
  return Status::Corruption("object " + oid.ToString() + " in " + where.string() +
                                " is corrupt (its content hash differs); nothing was written from it",
                            "run 'cairn fetch' to fetch a good copy from a remote (checkout and pull do this "
                            "themselves when a remote is configured), then 'cairn fsck'");
}

// Copies the loose object file `in` (opened at `src`) into `out` (a new,
// empty file at `dest`) and checks that the bytes that landed hash to `oid`.
// Hashing runs beside the in-kernel copy, reading back what was written, so
// the check costs little more than the copy.
Status CopyVerified(int in, int out, const fs::path& src, const fs::path& dest, const Oid& oid) {
  if (::ioctl(out, FICLONE, in) == 0) {  // shared extents: hash what dest now holds
    CAIRN_ASSIGN_OR_RETURN(Fd reread, OpenRead(dest));
    uint64_t size = 0;
    CAIRN_ASSIGN_OR_RETURN(Oid got, HashFd(reread.get(), dest, &size));
    return got == oid ? Status::OK() : Mismatch(oid, src);
  }
  Sha256 hash;
  auto copied = CopyAndHash(in, out, src, dest, &hash, {});
  if (!copied.ok()) {
    if (copied.status().code() != Code::kInvalidArgument) return copied.status();
    std::vector<char> buf(kReadBuffer);  // no in-kernel copy here: read, hash, write
    for (;;) {
      CAIRN_ASSIGN_OR_RETURN(size_t got, ReadSome(in, buf.data(), buf.size(), src));
      if (got == 0) break;
      hash.Update(buf.data(), got);
      CAIRN_RETURN_IF_ERROR(WriteAll(out, buf.data(), got, dest));
    }
  }
  return hash.Finish() == oid ? Status::OK() : Mismatch(oid, src);
}

}  // namespace

ObjectStore::ObjectStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ObjectStore::~ObjectStore() = default;

Result<std::unique_ptr<ObjectStore>> ObjectStore::Open(const fs::path& cache_dir,
                                                       const fs::path& tmp_dir) {
  auto impl = std::make_unique<Impl>();
  impl->cache_dir = cache_dir;
  impl->objects_dir = cache_dir / "sha256";
  impl->packs_dir = cache_dir / "packs";
  impl->tmp_dir = tmp_dir;
  CAIRN_RETURN_IF_ERROR(MakeDirs(impl->objects_dir));
  CAIRN_RETURN_IF_ERROR(MakeDirs(impl->packs_dir));
  CAIRN_RETURN_IF_ERROR(MakeDirs(tmp_dir));
  {
    std::lock_guard<std::mutex> lock(impl->mu);
    CAIRN_RETURN_IF_ERROR(impl->Refresh());
  }
  return std::unique_ptr<ObjectStore>(new ObjectStore(std::move(impl)));
}

Status ObjectStore::Reload() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->Refresh();
}

std::vector<DamagedPack> ObjectStore::DamagedPacks() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->damaged;
}

bool ObjectStore::Has(const Oid& oid) {
  std::optional<PackLocation> loc;
  return impl_->Locate(oid, &loc);
}

Result<uint64_t> ObjectStore::Size(const Oid& oid) {
  for (int attempt = 0; attempt <= kPackRetries; ++attempt) {
    std::optional<PackLocation> loc;
    if (!impl_->Locate(oid, &loc)) break;
    if (loc) return loc->length;
    struct stat st;
    if (::stat(impl_->LoosePath(oid).c_str(), &st) == 0) return static_cast<uint64_t>(st.st_size);
  }
  return Status::NotFound("object " + oid.ToString() + " is not in the cache");
}

Result<Oid> ObjectStore::PutFile(const fs::path& path, uint64_t* size,
                                 const std::function<void(uint64_t)>& on_bytes, int64_t size_hint) {
  CAIRN_ASSIGN_OR_RETURN(Fd in, OpenRead(path));
  return PutOpenFile(in.Release(), path, size, on_bytes, size_hint);
}

Result<Oid> ObjectStore::PutOpenFile(int fd, const fs::path& path, uint64_t* size,
                                     const std::function<void(uint64_t)>& on_bytes, int64_t size_hint) {
  Fd in(fd);
  if (size_hint < 0) {
    struct stat st;
    if (::fstat(in.get(), &st) != 0) return Status::FromErrno("cannot stat " + path.string(), errno);
    size_hint = st.st_size;
  }
  if (static_cast<uint64_t>(size_hint) < kSmallBlobLimit) {
    // Ask for one byte more than expected: a short read of a regular file
    // means end of file, so the usual case is a single read() call. The
    // buffer is reused per thread (no allocation or zero-fill per file).
    thread_local std::vector<char> buf;
    size_t want = static_cast<size_t>(size_hint) + 1;
    if (buf.size() < want) buf.resize(std::max<size_t>(want, kSmallBlobLimit + 1));
    size_t have = 0;
    for (;;) {
      CAIRN_ASSIGN_OR_RETURN(size_t got, ReadSome(in.get(), buf.data() + have, buf.size() - have, path));
      have += got;
      if (got == 0 || have < buf.size()) break;
      buf.resize(buf.size() * 2);  // the file grew while we read
    }
    std::string_view data(buf.data(), have);
    if (on_bytes) on_bytes(have);
    *size = have;
    if (have >= kSmallBlobLimit) {  // grew past the limit: store it as a loose blob
      Oid oid = Oid::Of(data);
      CAIRN_RETURN_IF_ERROR(impl_->PutLoose(oid, data));
      return oid;
    }
    return PutBlob(data);
  }
  CAIRN_ASSIGN_OR_RETURN(TempFile tmp, TempFile::Create(impl_->tmp_dir, "blob"));
  Sha256 hash;
  uint64_t total = 0;
  auto copied = CopyAndHash(in.get(), tmp.fd(), path, tmp.path(), &hash, on_bytes);
  if (copied.ok()) {
    total = *copied;
  } else if (copied.status().code() == Code::kInvalidArgument) {
    // No in-kernel copy here: one pass that reads, hashes and writes.
    std::vector<char> buf(kReadBuffer);
    for (;;) {
      CAIRN_ASSIGN_OR_RETURN(size_t got, ReadSome(in.get(), buf.data(), buf.size(), path));
      if (got == 0) break;
      hash.Update(buf.data(), got);
      CAIRN_RETURN_IF_ERROR(WriteAll(tmp.fd(), buf.data(), got, tmp.path()));
      total += got;
      if (on_bytes) on_bytes(got);
    }
  } else {
    return copied.status();
  }
  Oid oid = hash.Finish();
  *size = total;
  if (total < kSmallBlobLimit) {  // shrank while we read: keep the small-object rule
    CAIRN_ASSIGN_OR_RETURN(std::string data, ReadFile(tmp.path()));
    return PutBlob(data);
  }
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->packed.Find(oid)) return oid;
  }
  CAIRN_RETURN_IF_ERROR(impl_->PutLooseFromTemp(&tmp, oid));
  return oid;
}

Result<Oid> ObjectStore::PutBlob(std::string_view data) {
  Oid oid = Oid::Of(data);
  if (data.size() < kSmallBlobLimit) {
    CAIRN_RETURN_IF_ERROR(impl_->AppendPacked(oid, data));
    return oid;
  }
  CAIRN_RETURN_IF_ERROR(impl_->PutLoose(oid, data));
  return oid;
}

Result<Oid> ObjectStore::PutObject(std::string_view data) {
  Oid oid = Oid::Of(data);
  CAIRN_RETURN_IF_ERROR(impl_->PutLoose(oid, data));
  return oid;
}

Result<Oid> ObjectStore::PutObjectDurable(std::string_view data) {
  Oid oid = Oid::Of(data);
  CAIRN_RETURN_IF_ERROR(impl_->PutLoose(oid, data, /*sync=*/true));
  return oid;
}

Result<std::string> ObjectStore::Read(const Oid& oid, bool verify) {
  bool packed = false;
  CAIRN_ASSIGN_OR_RETURN(std::string data, impl_->ReadBytes(oid, &packed));
  if (verify && Oid::Of(data) != oid) {
    // A repair from a remote leaves a good loose copy beside a bad packed one.
    auto loose = packed ? ReadFile(impl_->LoosePath(oid)) : Result<std::string>(Status::NotFound(""));
    if (loose.ok() && Oid::Of(*loose) == oid) return std::move(loose).value();
    return Status::Corruption("object " + oid.ToString() + " is corrupt (its content hash differs)",
                              "run 'cairn fsck' to list damaged objects");
  }
  return data;
}

Status ObjectStore::Materialize(const Oid& oid, const fs::path& dest, LinkMode mode, bool executable) {
  const mode_t perms = executable ? 0755 : 0644;
  std::optional<PackLocation> loc;
  (void)impl_->Locate(oid, &loc);  // re-reads a pack list that changed since it was read
  fs::path src = impl_->LoosePath(oid);
  struct stat st;
  bool loose = ::stat(src.c_str(), &st) == 0;
  // Every byte that reaches the workspace is checked against its oid first.
  // A packed copy that fails the check gives way to a loose one (which is
  // where a repair from a remote puts a good copy).
  if (loc) {
    bool packed = false;
    CAIRN_ASSIGN_OR_RETURN(std::string data, impl_->ReadBytes(oid, &packed));  // follows a pack gc replaced
    if (Oid::Of(data) == oid) {
      int fd = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, perms);
      if (fd < 0) return Status::FromErrno("cannot create " + dest.string(), errno);
      Fd out(fd);
      Status s = ::fchmod(fd, perms) == 0 ? WriteAll(fd, data.data(), data.size(), dest)  // fchmod: umask
                                          : Status::FromErrno("cannot chmod " + dest.string(), errno);
      if (!s.ok()) ::unlink(dest.c_str());
      return s;
    }
    if (!loose) return Mismatch(oid, impl_->packs_dir);
  }
  if (!loose) {
    return Status::NotFound("object " + oid.ToString() + " is not in the cache",
                            "fetch it from a remote, or re-add the data it belongs to");
  }
  CAIRN_ASSIGN_OR_RETURN(Fd in, OpenRead(src));
  if (mode == LinkMode::kHardlink || mode == LinkMode::kSymlink) {
    // A link shares the cached file: check it before anyone sees it.
    uint64_t size = 0;
    CAIRN_ASSIGN_OR_RETURN(Oid got, HashFd(in.get(), src, &size));
    if (got != oid) return Mismatch(oid, src);
    if (mode == LinkMode::kHardlink) {
      if (::link(src.c_str(), dest.c_str()) == 0) return Status::OK();
      if (errno != EXDEV && errno != EPERM && errno != EMLINK) {
        return Status::FromErrno("cannot link " + dest.string(), errno);
      }
      if (::lseek(in.get(), 0, SEEK_SET) < 0) return Status::FromErrno("cannot read " + src.string(), errno);
    } else {
      std::error_code ec;
      fs::path target = fs::absolute(src, ec);
      if (::symlink(target.c_str(), dest.c_str()) == 0) return Status::OK();
      return Status::FromErrno("cannot create symlink " + dest.string(), errno);
    }
  }
  int fd = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, perms);
  if (fd < 0) return Status::FromErrno("cannot create " + dest.string(), errno);
  Fd out(fd);
  Status s = ::fchmod(fd, perms) == 0 ? CopyVerified(in.get(), out.get(), src, dest, oid)
                                      : Status::FromErrno("cannot chmod " + dest.string(), errno);
  if (!s.ok()) ::unlink(dest.c_str());  // never leave bad or partial bytes behind
  return s;
}

Status ObjectStore::Verify(const Oid& oid) {
  std::optional<PackLocation> loc;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    loc = impl_->FindPacked(oid);
  }
  if (loc) return Read(oid, true).status();
  fs::path path = impl_->LoosePath(oid);
  auto opened = OpenRead(path);
  // Gone since it was listed: perhaps packed by now (Read follows the packs).
  if (!opened.ok() && opened.status().code() == Code::kNotFound) return Read(oid, true).status();
  CAIRN_ASSIGN_OR_RETURN(Fd in, std::move(opened));
  uint64_t size = 0;
  CAIRN_ASSIGN_OR_RETURN(Oid actual, HashFd(in.get(), path, &size));
  if (actual != oid) {
    return Status::Corruption("object " + oid.ToString() + " is corrupt (its content hash differs)");
  }
  return Status::OK();
}

Result<fs::path> ObjectStore::LooseFile(const Oid& oid) {
  fs::path path = impl_->LoosePath(oid);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::NotFound("object " + oid.ToString() + " is not a loose object");
  return path;
}

Result<Oid> ObjectStore::AdoptFile(const fs::path& temp) {
  struct Remover {
    const fs::path& p;
    ~Remover() { ::unlink(p.c_str()); }
  } remover{temp};
  CAIRN_ASSIGN_OR_RETURN(Fd fd, OpenRead(temp));
  uint64_t size = 0;
  CAIRN_ASSIGN_OR_RETURN(Oid oid, HashFd(fd.get(), temp, &size));
  if (size < kSmallBlobLimit) {
    CAIRN_ASSIGN_OR_RETURN(std::string data, ReadFile(temp));
    return PutBlob(data);
  }
  fs::path dest = impl_->LoosePath(oid);
  struct stat st;
  if (::stat(dest.c_str(), &st) == 0) return oid;
  ::chmod(temp.c_str(), 0444);
  if (::rename(temp.c_str(), dest.c_str()) != 0) {
    CAIRN_RETURN_IF_ERROR(MakeDirs(dest.parent_path()));
    if (::rename(temp.c_str(), dest.c_str()) != 0) return Status::FromErrno("cannot store " + dest.string(), errno);
  }
  return oid;
}

Result<std::vector<Oid>> ObjectStore::FindLoose(const std::string& hex_prefix) {
  std::vector<Oid> out;
  if (hex_prefix.size() < 2) return out;
  fs::path dir = impl_->objects_dir / hex_prefix.substr(0, 2);
  std::string rest = hex_prefix.substr(2);
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(dir, ec)) {
    std::string name = f.path().filename().string();
    if (name.compare(0, rest.size(), rest) != 0) continue;
    auto oid = Oid::Parse(hex_prefix.substr(0, 2) + name);
    if (oid.ok()) out.push_back(*oid);
  }
  return out;  // a missing fan-out directory just means no match
}

Status ObjectStore::Commit() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    std::vector<uint32_t> finished;
    for (const auto& op : impl_->open_packs) finished.push_back(op->pack);
    Status s = impl_->FinishPacks();
    if (!s.ok()) {
      // All or nothing: packs of this batch that did land are withdrawn, so a
      // failed command leaves the cache as it found it.
      for (uint32_t n : finished) {
        impl_->packed.DropPack(n);
        fs::path pack = impl_->packs[n].path;
        if (pack.extension() != ".pack") continue;  // never finished: its temp file goes with it
        fs::path idx = pack;
        idx.replace_extension(".idx");
        impl_->packs[n].fd = Fd();
        impl_->packs[n].gone = true;
        ::unlink(idx.c_str());
        ::unlink(pack.c_str());
      }
      impl_->open_packs.clear();
      return s;
    }
  }
  return SyncFileSystem(impl_->cache_dir);
}

void ObjectStore::DiscardPending() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (auto& op : impl_->open_packs) impl_->packed.DropPack(op->pack);
  impl_->open_packs.clear();  // their TempFiles remove the partial packs
}

Status ObjectStore::ForEach(const std::function<Status(const Oid&, uint64_t, bool)>& fn) {
  std::vector<std::pair<Oid, uint64_t>> packed;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->packed.ForEach([&](const Oid& oid, const PackLocation& loc) { packed.emplace_back(oid, loc.length); });
  }
  for (const auto& [oid, size] : packed) CAIRN_RETURN_IF_ERROR(fn(oid, size, true));
  std::error_code ec;
  for (const auto& dir : fs::directory_iterator(impl_->objects_dir, ec)) {
    if (!dir.is_directory()) continue;
    for (const auto& f : fs::directory_iterator(dir.path(), ec)) {
      std::string hex = dir.path().filename().string() + f.path().filename().string();
      auto oid = Oid::Parse(hex);
      if (!oid.ok()) continue;  // a stray file; fsck of the store ignores it
      std::error_code size_ec;
      uint64_t size = f.file_size(size_ec);
      CAIRN_RETURN_IF_ERROR(fn(*oid, size, false));
    }
  }
  if (ec) return Status::FromErrno("cannot list " + impl_->objects_dir.string(), ec.value());
  return Status::OK();
}

Result<PruneStats> ObjectStore::Prune(const OidSet& live, bool apply) {
  PruneStats stats;
  std::lock_guard<std::mutex> lock(impl_->mu);
  CAIRN_RETURN_IF_ERROR(impl_->FinishPacks());

  // Loose objects.
  std::error_code ec;
  for (const auto& dir : fs::directory_iterator(impl_->objects_dir, ec)) {
    if (!dir.is_directory()) continue;
    for (const auto& f : fs::directory_iterator(dir.path(), ec)) {
      auto oid = Oid::Parse(dir.path().filename().string() + f.path().filename().string());
      std::error_code size_ec;
      uint64_t size = f.file_size(size_ec);
      if (oid.ok() && live.count(*oid)) {
        stats.objects_kept++;
        stats.bytes_kept += size;
        continue;
      }
      stats.objects_removed++;
      stats.bytes_removed += size;
      if (apply && ::unlink(f.path().c_str()) != 0 && errno != ENOENT) {
        return Status::FromErrno("cannot remove " + f.path().string(), errno);
      }
    }
  }
  if (ec) return Status::FromErrno("cannot list " + impl_->objects_dir.string(), ec.value());

  // Packs: group entries by pack, rewrite the ones holding garbage.
  std::vector<std::vector<std::pair<Oid, PackLocation>>> by_pack(impl_->packs.size());
  impl_->packed.ForEach([&](const Oid& oid, const PackLocation& loc) { by_pack[loc.pack].emplace_back(oid, loc); });
  std::vector<uint32_t> rewrite;
  for (uint32_t n = 0; n < by_pack.size(); ++n) {
    uint64_t dead = 0;
    for (const auto& [oid, loc] : by_pack[n]) {
      if (live.count(oid)) {
        stats.objects_kept++;
        stats.bytes_kept += loc.length;
      } else {
        stats.objects_removed++;
        stats.bytes_removed += loc.length;
        dead++;
      }
    }
    if (dead > 0) rewrite.push_back(n);
  }
  if (apply && !rewrite.empty()) {
    for (uint32_t n : rewrite) {
      CAIRN_ASSIGN_OR_RETURN(int fd, impl_->PackFd(n));
      impl_->packed.DropPack(n);  // its live objects are re-appended below
      for (const auto& [oid, loc] : by_pack[n]) {
        if (!live.count(oid)) continue;
        std::string data(loc.length, '\0');
        CAIRN_RETURN_IF_ERROR(PreadAll(fd, data.data(), data.size(), static_cast<off_t>(loc.offset),
                                       impl_->packs[n].path));
        CAIRN_RETURN_IF_ERROR(impl_->AppendPackedLocked(oid, data));
      }
    }
    CAIRN_RETURN_IF_ERROR(impl_->FinishPacks());
    // The new packs are durable before the old ones go.
    CAIRN_RETURN_IF_ERROR(SyncFileSystem(impl_->cache_dir));
    for (uint32_t n : rewrite) {
      fs::path pack = impl_->packs[n].path;
      fs::path idx = pack;
      idx.replace_extension(".idx");
      impl_->packs[n].fd = Fd();
      impl_->packs[n].gone = true;
      ::unlink(idx.c_str());  // index first: a pack without index is invisible
      ::unlink(pack.c_str());
      stats.packs_rewritten++;
    }
  }

  if (apply) {
    // Leftovers of interrupted commands: packs whose index never landed, and
    // temp files older than an hour (younger ones may belong to a live reader).
    for (const auto& f : fs::directory_iterator(impl_->packs_dir, ec)) {
      if (f.path().extension() != ".pack") continue;
      fs::path idx = f.path();
      idx.replace_extension(".idx");
      if (!fs::exists(idx)) fs::remove(f.path(), ec);
    }
    auto cutoff = fs::file_time_type::clock::now() - std::chrono::hours(1);
    for (const auto& f : fs::directory_iterator(impl_->tmp_dir, ec)) {
      std::error_code t_ec;
      if (f.last_write_time(t_ec) < cutoff) fs::remove_all(f.path(), t_ec);
    }
  }
  return stats;
}

Result<std::vector<PackRepair>> ObjectStore::RepairPacks(const OidSet& bad) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  CAIRN_RETURN_IF_ERROR(impl_->FinishPacks());
  CAIRN_RETURN_IF_ERROR(impl_->Refresh());
  struct Job {
    PackRepair report;
    fs::path index;
    std::vector<PackEntry> entries;  // in file order
    std::optional<uint32_t> loaded;  // its number, when its index was readable
  };
  std::vector<Job> jobs;
  for (const DamagedPack& d : impl_->damaged) {
    Job job;
    job.report.pack = d.pack;
    job.report.problem = "its index " + d.index.filename().string() + " is damaged (" + d.problem + ")";
    job.index = d.index;
    Status tail;
    auto scanned = ScanPack(d.pack, &tail);  // records carry their oid and length
    if (scanned.ok()) job.entries = std::move(scanned).value();
    const Status& trouble = scanned.ok() ? tail : scanned.status();
    if (!trouble.ok()) job.report.problem += "; the pack: " + WithoutPath(trouble.message(), d.pack);
    jobs.push_back(std::move(job));
  }
  for (uint32_t n = 0; n < impl_->packs.size(); ++n) {
    const PackFile& p = impl_->packs[n];
    if (p.gone || p.path.parent_path() != impl_->packs_dir) continue;
    const std::vector<PackEntry>& entries = impl_->packed.Entries(n);
    size_t damaged = std::count_if(entries.begin(), entries.end(), [&](const PackEntry& e) { return bad.count(e.oid); });
    if (damaged == 0) continue;
    Job job;
    job.report.pack = p.path;
    job.report.problem = std::to_string(damaged) + " damaged object(s)";
    job.index = p.path;
    job.index.replace_extension(".idx");
    job.entries = entries;
    std::sort(job.entries.begin(), job.entries.end(),
              [](const PackEntry& a, const PackEntry& b) { return a.offset < b.offset; });
    job.loaded = n;
    jobs.push_back(std::move(job));
  }
  std::vector<PackRepair> out;
  if (jobs.empty()) return out;

  // Copy every object that still matches its oid into new packs, in the old
  // order: a pack whose objects are all intact is rebuilt byte for byte,
  // under its own name.
  const uint32_t first_new = static_cast<uint32_t>(impl_->packs.size());
  for (Job& job : jobs) {
    if (job.loaded) impl_->packed.DropPack(*job.loaded);
    auto fd = OpenRead(job.report.pack);
    if (!fd.ok()) {
      if (fd.status().code() != Code::kNotFound) return fd.status();
      job.report.problem += "; the pack is missing";
      job.report.objects_dropped = job.entries.size();
      continue;
    }
    for (const PackEntry& e : job.entries) {
      std::string data(e.length, '\0');
      Status s = PreadAll(fd->get(), data.data(), data.size(), static_cast<off_t>(e.offset), job.report.pack);
      if (!s.ok() && s.code() != Code::kCorruption) return s;  // an I/O error is no reason to drop data
      if (!s.ok() || Oid::Of(data) != e.oid) {
        job.report.objects_dropped++;
        continue;
      }
      CAIRN_RETURN_IF_ERROR(impl_->AppendPackedLocked(e.oid, data));
      job.report.objects_kept++;
    }
  }
  CAIRN_RETURN_IF_ERROR(impl_->FinishPacks());
  // The new packs are durable before the damaged ones go.
  CAIRN_RETURN_IF_ERROR(SyncFileSystem(impl_->cache_dir));
  std::set<fs::path> written;
  for (uint32_t n = first_new; n < impl_->packs.size(); ++n) written.insert(impl_->packs[n].path);
  for (Job& job : jobs) {
    if (!written.count(job.report.pack)) {  // else it was rebuilt in place
      if (job.loaded) {
        impl_->packs[*job.loaded].fd = Fd();
        impl_->packs[*job.loaded].gone = true;
      }
      ::unlink(job.index.c_str());  // index first: a pack without index is invisible
      ::unlink(job.report.pack.c_str());
    }
    out.push_back(std::move(job.report));
  }
  CAIRN_RETURN_IF_ERROR(impl_->Refresh());
  return out;
}

}  // namespace cairn
