// Finding objects in the cache and reading them: the pack list and its
// refresh when another process replaced packs.
#include "store/object_store_impl.h"

#include <sys/stat.h>

#include <ctime>

namespace cairn {

Status ObjectStore::Impl::Refresh() {
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

bool ObjectStore::Impl::PacksUnchanged() const {
  struct stat now {};
  return stamp_trusted && ::stat(packs_dir.c_str(), &now) == 0 && now.st_ino == packs_stamp.st_ino &&
         Ns(now.st_mtim) == Ns(packs_stamp.st_mtim) && Ns(now.st_ctim) == Ns(packs_stamp.st_ctim);
}

bool ObjectStore::Impl::RefreshIfChanged() {
  if (PacksUnchanged()) return false;
  return Refresh().ok();
}

Result<int> ObjectStore::Impl::PackFd(uint32_t n) {
  PackFile& p = packs[n];
  if (!p.fd.valid()) {
    CAIRN_ASSIGN_OR_RETURN(p.fd, OpenRead(p.path));
  }
  return p.fd.get();
}

bool ObjectStore::Impl::Locate(const Oid& oid, std::optional<PackLocation>* loc) {
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

Result<std::string> ObjectStore::Impl::ReadBytes(const Oid& oid, bool* packed) {
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

Result<std::string> ObjectStore::Impl::ReadPacked(const PackLocation& loc) {
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
  // The index's checksum proves it intact, not truthful: check the length
  // against the pack before allocating it.
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::FromErrno("cannot stat " + path.string(), errno);
  uint64_t pack_size = static_cast<uint64_t>(st.st_size);
  if (loc.offset > pack_size || loc.length > pack_size - loc.offset) {
    return Status::Corruption(path.string() + ": its index records an object past the end of the pack");
  }
  std::string out(loc.length, '\0');
  CAIRN_RETURN_IF_ERROR(PreadAll(fd, out.data(), out.size(), static_cast<off_t>(loc.offset), path));
  return out;
}

}  // namespace cairn
