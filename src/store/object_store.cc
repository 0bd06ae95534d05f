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

#include "store/object_store_impl.h"
#include "store/pack.h"
#include "store/verified_copy.h"
#include "util/file.h"
#include "util/sha256.h"

namespace cairn {

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
  // Packs are immutable and every change renames into or out of the packs
  // directory, so an unchanged (trusted) stamp means nothing to re-read: a
  // run's repository locks no longer rescan every pack index each time.
  if (impl_->PacksUnchanged()) return Status::OK();
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

}  // namespace cairn
