// Low-level file helpers: every write cairn makes goes through here, so that
// writes are atomic (temp file + rename), errors carry the path, and tests can
// inject faults (disk full, unreadable file) at one place.
#ifndef CAIRN_UTIL_FILE_H_
#define CAIRN_UTIL_FILE_H_

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "cairn/oid.h"
#include "cairn/status.h"

namespace cairn {

namespace fs = std::filesystem;

// Fault injection for tests: when set, the hook is asked before each open,
// read and write with the operation name ("open", "read", "write") and path;
// a non-zero return is used as the errno of a failed call. Not thread-safe to
// change while other threads do I/O.
using FaultHook = std::function<int(std::string_view op, const std::string& path)>;
void SetFaultHookForTesting(FaultHook hook);

// An open file descriptor, closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd();
  Fd(Fd&& other) noexcept : fd_(other.Release()) {}
  Fd& operator=(Fd&& other) noexcept;
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

Result<Fd> OpenRead(const fs::path& path);
// Opens `name` relative to the directory `dirfd` (no path walk from the
// root); `path` is the full path, for messages and fault injection.
Result<Fd> OpenReadAt(int dirfd, const char* name, const fs::path& path);
// Reads up to n bytes; returns the count (0 at end of file).
Result<size_t> ReadSome(int fd, void* buf, size_t n, const fs::path& path);
Status WriteAll(int fd, const void* data, size_t n, const fs::path& path);
Status PreadAll(int fd, void* buf, size_t n, off_t offset, const fs::path& path);

Result<std::string> ReadFile(const fs::path& path);

// Reads `fd` to its end and returns the SHA-256 of its bytes; `*size`
// receives the byte count and `on_bytes` (may be empty) each chunk's length.
// Uses a per-thread 1 MiB buffer, so it is cheap to call for many files.
Result<Oid> HashFd(int fd, const fs::path& path, uint64_t* size,
                   const std::function<void(uint64_t)>& on_bytes = {});

// A file under construction in `dir`; removed on destruction unless
// Commit() renamed it into place.
class TempFile {
 public:
  // The file is created with permissions `mode` (before the umask).
  static Result<TempFile> Create(const fs::path& dir, std::string_view stem, mode_t mode = 0644);
  ~TempFile();
  TempFile(TempFile&& other) noexcept;
  TempFile& operator=(TempFile&&) = delete;

  int fd() const { return fd_.get(); }
  const fs::path& path() const { return path_; }
  Status Write(std::string_view data) { return WriteAll(fd_.get(), data.data(), data.size(), path_); }
  Status Sync();
  // Closes and renames onto `dest` (atomic replace). With `sync`, the data is
  // flushed first and the destination directory after.
  Status Commit(const fs::path& dest, bool sync);
  // Like Commit but fails with AlreadyExists instead of replacing `dest`.
  Status CommitNoReplace(const fs::path& dest, bool sync);

 private:
  TempFile(Fd fd, fs::path path) : fd_(std::move(fd)), path_(std::move(path)) {}
  Fd fd_;
  fs::path path_;
  bool done_ = false;
};

// Writes `data` to `path` atomically: a reader sees the old or the new
// content, never a mix. With `sync`, durable on return. The file (and its
// temp file, from the first byte) has permissions `mode` less the umask; pass
// 0600 for secrets.
Status WriteFileAtomic(const fs::path& path, std::string_view data, bool sync, mode_t mode = 0644);

// The same for a file in the workspace (a pointer, a .gitignore, cairn.lock):
// the temp file is made in `staging` (.cairn/tmp) when that is on the same
// file system, so a command killed before the rename leaves nothing in the
// workspace for git or status to see; else beside `path`.
Status WriteWorkspaceFileAtomic(const fs::path& path, std::string_view data, bool sync, const fs::path& staging);

Status SyncDirectory(const fs::path& dir);
// Flushes every dirty page of the file system holding `path` (one syscall for
// a whole command's worth of objects).
Status SyncFileSystem(const fs::path& path);

// Copies the whole content of `in` to `out` (both positioned at 0): reflink
// when the file system can, else copy_file_range, else read/write.
Status CopyFd(int in, int out, const fs::path& in_path, const fs::path& out_path);

// Copies up to `n` bytes from the current offset of `in` to that of `out`
// inside the kernel (copy_file_range). Returns the count, 0 at end of input.
// NotSupported-style failures (EXDEV, EINVAL, ENOSYS, EOPNOTSUPP) come back as
// InvalidArgument so callers can fall back to read/write.
Result<size_t> CopyChunk(int in, int out, size_t n, const fs::path& in_path, const fs::path& out_path);

// True when `path` is `root` or lies below it (both absolute and normalised;
// compares path components, so "/a/bc" is not inside "/a/b").
bool IsInside(const fs::path& path, const fs::path& root);

// Creates `dir` and its parents; reports the path on failure.
Status MakeDirs(const fs::path& dir);

// The one way to turn a name that came from elsewhere (a tree entry, a file
// name in a version, an artifact path, a lock entry) into a path to write:
// Resolve() refuses a name that is not a safe relative path
// (ValidateRelativePath) and a target whose existing parent directories
// between the root and it include a symlink or a non-directory, so a write
// there cannot land outside the root. The target itself is never followed by
// the writers (they create with O_EXCL, link, or rename over it).
//
// Checked directories are remembered, so resolving 100k files of one tree
// costs one lstat per directory. A directory swapped for a symlink after it
// was checked is not detected (the threat is crafted data, not a concurrent
// local attacker). Thread-safe.
class WriteRoot {
 public:
  explicit WriteRoot(fs::path root);
  ~WriteRoot();
  WriteRoot(const WriteRoot&) = delete;
  WriteRoot& operator=(const WriteRoot&) = delete;

  const fs::path& root() const { return root_; }
  // root/rel, or InvalidArgument naming `rel` and why it was refused.
  Result<fs::path> Resolve(std::string_view rel);
  // Resolve(rel), then creates the target's missing parent directories.
  Result<fs::path> ResolveAndMakeParents(std::string_view rel);

 private:
  struct Checked;
  fs::path root_;
  std::unique_ptr<Checked> checked_;
};

}  // namespace cairn

#endif  // CAIRN_UTIL_FILE_H_
