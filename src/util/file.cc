#include "util/file.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <mutex>
#include <random>
#include <unordered_set>
#include <vector>

#include "cairn/object.h"
#include "util/sha256.h"

namespace cairn {
namespace {

FaultHook& Hook() {
  static FaultHook hook;
  return hook;
}

int InjectedErrno(std::string_view op, const fs::path& path) {
  const FaultHook& hook = Hook();
  return hook ? hook(op, path.string()) : 0;
}

std::string RandomSuffix() {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng(std::random_device{}() ^ (uint64_t)getpid() << 20);
  uint64_t v = rng() ^ counter.fetch_add(1);
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuv";
  std::string out;
  for (int i = 0; i < 10; ++i, v >>= 5) out += kDigits[v & 31];
  return out;
}

}  // namespace

void SetFaultHookForTesting(FaultHook hook) { Hook() = std::move(hook); }

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.Release();
  }
  return *this;
}

Result<Fd> OpenRead(const fs::path& path) { return OpenReadAt(AT_FDCWD, path.c_str(), path); }

Result<Fd> OpenReadAt(int dirfd, const char* name, const fs::path& path) {
  if (int err = InjectedErrno("open", path)) return Status::FromErrno("cannot open " + path.string(), err);
  int fd = ::openat(dirfd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound(path.string() + ": no such file");
    return Status::FromErrno("cannot open " + path.string(), err);
  }
  return Fd(fd);
}

Result<size_t> ReadSome(int fd, void* buf, size_t n, const fs::path& path) {
  if (int err = InjectedErrno("read", path)) return Status::FromErrno("cannot read " + path.string(), err);
  for (;;) {
    ssize_t got = ::read(fd, buf, n);
    if (got >= 0) return static_cast<size_t>(got);
    if (errno != EINTR) return Status::FromErrno("cannot read " + path.string(), errno);
  }
}

Status WriteAll(int fd, const void* data, size_t n, const fs::path& path) {
  if (int err = InjectedErrno("write", path)) return Status::FromErrno("cannot write " + path.string(), err);
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t put = ::write(fd, p, n);
    if (put < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("cannot write " + path.string(), errno);
    }
    p += put;
    n -= static_cast<size_t>(put);
  }
  return Status::OK();
}

Status PreadAll(int fd, void* buf, size_t n, off_t offset, const fs::path& path) {
  if (int err = InjectedErrno("read", path)) return Status::FromErrno("cannot read " + path.string(), err);
  char* p = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t got = ::pread(fd, p, n, offset);
    if (got < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("cannot read " + path.string(), errno);
    }
    if (got == 0) return Status::Corruption(path.string() + ": unexpected end of file");
    p += got;
    n -= static_cast<size_t>(got);
    offset += got;
  }
  return Status::OK();
}

Result<std::string> ReadFile(const fs::path& path) {
  CAIRN_ASSIGN_OR_RETURN(Fd fd, OpenRead(path));
  std::string out;
  struct stat st;
  if (::fstat(fd.get(), &st) == 0 && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(size_t got, ReadSome(fd.get(), buf, sizeof buf, path));
    if (got == 0) break;
    out.append(buf, got);
  }
  return out;
}

Result<Oid> HashFd(int fd, const fs::path& path, uint64_t* size,
                   const std::function<void(uint64_t)>& on_bytes) {
  thread_local std::vector<char> buf(1 << 20);
  Sha256 hash;
  uint64_t total = 0;
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(size_t got, ReadSome(fd, buf.data(), buf.size(), path));
    if (got == 0) break;
    hash.Update(buf.data(), got);
    total += got;
    if (on_bytes) on_bytes(got);
  }
  *size = total;
  return hash.Finish();
}

Result<TempFile> TempFile::Create(const fs::path& dir, std::string_view stem, mode_t mode) {
  fs::path path = dir / ("." + std::string(stem) + ".tmp-" + RandomSuffix());
  if (int err = InjectedErrno("create", path)) return Status::FromErrno("cannot create " + path.string(), err);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::FromErrno("cannot create a file in " + dir.string(), errno);
  return TempFile(Fd(fd), std::move(path));
}

TempFile::TempFile(TempFile&& other) noexcept
    : fd_(std::move(other.fd_)), path_(std::move(other.path_)), done_(other.done_) {
  other.done_ = true;
}

TempFile::~TempFile() {
  if (!done_) ::unlink(path_.c_str());
}

Status TempFile::Sync() {
  if (::fsync(fd_.get()) != 0) return Status::FromErrno("cannot sync " + path_.string(), errno);
  return Status::OK();
}

Status TempFile::Commit(const fs::path& dest, bool sync) {
  if (sync && fd_.valid()) CAIRN_RETURN_IF_ERROR(Sync());
  if (fd_.valid() && ::close(fd_.Release()) != 0) return Status::FromErrno("cannot write " + path_.string(), errno);
  if (::rename(path_.c_str(), dest.c_str()) != 0) {
    return Status::FromErrno("cannot rename into " + dest.string(), errno);
  }
  done_ = true;
  if (sync) return SyncDirectory(dest.parent_path());
  return Status::OK();
}

Status TempFile::CommitNoReplace(const fs::path& dest, bool sync) {
  if (sync && fd_.valid()) CAIRN_RETURN_IF_ERROR(Sync());
  if (fd_.valid() && ::close(fd_.Release()) != 0) return Status::FromErrno("cannot write " + path_.string(), errno);
  // link() fails with EEXIST instead of replacing, which makes the create atomic.
  if (::link(path_.c_str(), dest.c_str()) != 0) {
    if (errno == EEXIST) return Status::AlreadyExists(dest.string() + " already exists");
    return Status::FromErrno("cannot create " + dest.string(), errno);
  }
  ::unlink(path_.c_str());
  done_ = true;
  if (sync) return SyncDirectory(dest.parent_path());
  return Status::OK();
}

Status WriteFileAtomic(const fs::path& path, std::string_view data, bool sync, mode_t mode) {
  fs::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  CAIRN_ASSIGN_OR_RETURN(TempFile tmp, TempFile::Create(dir, path.filename().string(), mode));
  CAIRN_RETURN_IF_ERROR(tmp.Write(data));
  return tmp.Commit(path, sync);
}

Status WriteWorkspaceFileAtomic(const fs::path& path, std::string_view data, bool sync, const fs::path& staging) {
  fs::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  struct stat a, b;
  if (staging.empty() || ::stat(staging.c_str(), &a) != 0 || ::stat(dir.c_str(), &b) != 0 || a.st_dev != b.st_dev) {
    return WriteFileAtomic(path, data, sync);
  }
  CAIRN_ASSIGN_OR_RETURN(TempFile tmp, TempFile::Create(staging, path.filename().string()));
  CAIRN_RETURN_IF_ERROR(tmp.Write(data));
  return tmp.Commit(path, sync);
}

Status SyncDirectory(const fs::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("cannot open directory " + dir.string(), errno);
  Fd guard(fd);
  if (::fsync(fd) != 0) return Status::FromErrno("cannot sync " + dir.string(), errno);
  return Status::OK();
}

Status SyncFileSystem(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("cannot open " + path.string(), errno);
  Fd guard(fd);
  if (::syncfs(fd) != 0) return Status::FromErrno("cannot sync " + path.string(), errno);
  return Status::OK();
}

Status CopyFd(int in, int out, const fs::path& in_path, const fs::path& out_path) {
  if (::ioctl(out, FICLONE, in) == 0) return Status::OK();
  if (InjectedErrno("write", out_path) == 0) {
    bool fallback = false;
    for (;;) {
      ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, 1 << 30, 0);
      if (n == 0) return Status::OK();
      if (n > 0) continue;
      if (errno == EINTR) continue;
      if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
        fallback = true;
        break;
      }
      return Status::FromErrno("cannot copy " + in_path.string() + " to " + out_path.string(), errno);
    }
    if (!fallback) return Status::OK();
    if (::lseek(in, 0, SEEK_SET) < 0 || ::lseek(out, 0, SEEK_SET) < 0 || ::ftruncate(out, 0) < 0) {
      return Status::FromErrno("cannot copy to " + out_path.string(), errno);
    }
  }
  std::vector<char> buf(1 << 20);
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(size_t got, ReadSome(in, buf.data(), buf.size(), in_path));
    if (got == 0) return Status::OK();
    CAIRN_RETURN_IF_ERROR(WriteAll(out, buf.data(), got, out_path));
  }
}

Result<size_t> CopyChunk(int in, int out, size_t n, const fs::path& in_path, const fs::path& out_path) {
  if (int err = InjectedErrno("write", out_path)) return Status::FromErrno("cannot write " + out_path.string(), err);
  for (;;) {
    ssize_t got = ::copy_file_range(in, nullptr, out, nullptr, n, 0);
    if (got >= 0) return static_cast<size_t>(got);
    if (errno == EINTR) continue;
    if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
      return Status::InvalidArgument("copy_file_range is not supported here");
    }
    return Status::FromErrno("cannot copy " + in_path.string() + " to " + out_path.string(), errno);
  }
}

bool IsInside(const fs::path& path, const fs::path& root) {
  auto [r, p] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  return r == root.end();
}

Status MakeDirs(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::FromErrno("cannot create directory " + dir.string(), ec.value());
  return Status::OK();
}

struct WriteRoot::Checked {
  std::mutex mu;
  std::unordered_set<std::string> dirs;  // relative directories known to be real directories
};

WriteRoot::WriteRoot(fs::path root) : root_(std::move(root)), checked_(std::make_unique<Checked>()) {}
WriteRoot::~WriteRoot() = default;

Result<fs::path> WriteRoot::Resolve(std::string_view rel) {
  CAIRN_RETURN_IF_ERROR(ValidateRelativePath(rel, "path"));
  // Walk the parent directories from the root down; stop at the first one
  // that does not exist yet (nothing below it can be a symlink).
  for (size_t slash = rel.find('/'); slash != std::string_view::npos; slash = rel.find('/', slash + 1)) {
    std::string dir(rel.substr(0, slash));
    {
      std::lock_guard<std::mutex> lock(checked_->mu);
      if (checked_->dirs.count(dir)) continue;
    }
    fs::path abs = root_ / dir;
    struct stat st;
    if (::lstat(abs.c_str(), &st) != 0) {
      if (errno == ENOENT) break;
      return Status::FromErrno("cannot stat " + abs.string(), errno);
    }
    if (S_ISLNK(st.st_mode)) {
      return Status::InvalidArgument("refusing to write " + (root_ / std::string(rel)).string() + ": " + abs.string() +
                                         " is a symlink, and cairn never writes through one",
                                     "replace the symlink with a directory, or write somewhere else");
    }
    if (!S_ISDIR(st.st_mode)) {
      return Status::FailedPrecondition("cannot write " + (root_ / std::string(rel)).string() + ": " + abs.string() +
                                            " is a file, not a directory",
                                        "move it away or remove it");
    }
    std::lock_guard<std::mutex> lock(checked_->mu);
    checked_->dirs.insert(std::move(dir));
  }
  return root_ / std::string(rel);
}

Result<fs::path> WriteRoot::ResolveAndMakeParents(std::string_view rel) {
  CAIRN_ASSIGN_OR_RETURN(fs::path target, Resolve(rel));
  CAIRN_RETURN_IF_ERROR(MakeDirs(target.parent_path()));
  return target;
}

}  // namespace cairn
