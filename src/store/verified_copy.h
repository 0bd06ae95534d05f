// In-kernel copies whose bytes are hashed as they land (store internals).
#ifndef CAIRN_STORE_VERIFIED_COPY_H_
#define CAIRN_STORE_VERIFIED_COPY_H_

#include <cstdint>
#include <filesystem>
#include <functional>

#include "cairn/oid.h"
#include "cairn/status.h"

namespace cairn {

class Sha256;

// Copies `in` into `out` in the kernel, 64 MiB at a time, while a second
// thread hashes what has been copied, reading it back from `out_path`.
// Hashing the stored bytes (not the source) means the oid always matches
// what is in the cache, even if the source changes meanwhile.
// InvalidArgument when the file system cannot copy in the kernel (nothing
// has been written then). Returns the bytes copied.
Result<uint64_t> CopyAndHash(int in, int out, const std::filesystem::path& path, const std::filesystem::path& out_path,
                             Sha256* hash, const std::function<void(uint64_t)>& on_bytes);

// Corruption: the object `oid` in `where` does not hash to its oid.
Status Mismatch(const Oid& oid, const std::filesystem::path& where);

// Copies the loose object file `in` (opened at `src`) into `out` (a new,
// empty file at `dest`) and checks that the bytes that landed hash to
// `oid`; Corruption naming `src` when they do not.
Status CopyVerified(int in, int out, const std::filesystem::path& src, const std::filesystem::path& dest,
                    const Oid& oid);

}  // namespace cairn

#endif  // CAIRN_STORE_VERIFIED_COPY_H_
