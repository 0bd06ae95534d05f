// Copies of stored bytes checked against their oid on the way.
#include "store/verified_copy.h"

#include <linux/fs.h>
#include <sys/ioctl.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "store/object_store_impl.h"
#include "util/sha256.h"

namespace cairn {

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

}  // namespace cairn
