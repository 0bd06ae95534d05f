#include "cairn/repo.h"

#include <fcntl.h>
#include <git2.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "cairn/pointer.h"
#include "repo/state_db.h"
#include "util/file.h"
#include "util/git_lib.h"

namespace cairn {
namespace {

// Bytes of the lock file's record: the holder's pid, spaces, a newline.
// Wider than any pid an earlier writer (a pid and a newline) left.
constexpr size_t kLockRecordWidth = 24;

constexpr char kConfig[] =
    "# cairn repository configuration (TOML). Commit this file.\n"
    "[core]\n"
    "format = 1\n";

// Everything under .cairn/ except the shared config and the audit log's
// public keys stays out of git (the cache, refs, state.db, the datasets
// copies of use_dataset, remote index caches, config.local with secrets …).
constexpr char kGitignore[] =
    "# Everything under .cairn/ except the config and public keys stays out of git.\n"
    "/*\n"
    "!/config\n"
    "!/.gitignore\n"
    "!/keys/\n";
constexpr char kKeysLine[] = "!/keys/\n";

struct GitLib {
  GitLib() { git_libgit2_init(); }
  ~GitLib() { git_libgit2_shutdown(); }
};

void EnsureGitLib() { static GitLib lib; }

// Top of the git work tree containing `dir`, or empty.
Result<fs::path> GitWorkTree(const fs::path& dir) {
  CAIRN_RETURN_IF_ERROR(LoadGitLibrary());
  EnsureGitLib();
  git_repository* repo = nullptr;
  if (git_repository_open_ext(&repo, dir.c_str(), 0, nullptr) != 0) return fs::path();
  fs::path out;
  if (const char* wd = git_repository_workdir(repo)) out = fs::path(wd).lexically_normal();
  git_repository_free(repo);
  std::string s = out.string();
  if (s.size() > 1 && s.back() == '/') s.pop_back();
  return fs::path(s);
}

}  // namespace

RepoLock::~RepoLock() {
  if (fd_ >= 0) {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
}

Repo::~Repo() = default;

Result<std::unique_ptr<Repo>> Repo::Init(const fs::path& dir, bool no_git, bool* created) {
  std::error_code ec;
  fs::path abs = fs::canonical(dir, ec);
  if (ec) return Status::NotFound("directory " + dir.string() + " does not exist");
  fs::path root = abs;
  auto found = GitWorkTree(abs);
  if (!found.ok() && !no_git) return found.status();  // --no-git works without libgit2
  fs::path git_root = found.ok() ? *found : fs::path();
  if (!no_git) {
    if (git_root.empty()) {
      return Status::InvalidArgument(abs.string() + " is not inside a git work tree",
                                     "run 'git init' first, or initialise cairn without git");
    }
    root = git_root;
  }
  const Layout layout(root);
  *created = !fs::exists(layout.config());
  if (*created) {
    CAIRN_RETURN_IF_ERROR(MakeDirs(layout.tmp()));
    CAIRN_RETURN_IF_ERROR(MakeDirs(layout.refs()));
    CAIRN_RETURN_IF_ERROR(WriteFileAtomic(layout.gitignore(), kGitignore, true));
    CAIRN_RETURN_IF_ERROR(WriteFileAtomic(layout.config(), kConfig, true));
  }
  std::unique_ptr<Repo> repo(new Repo());
  repo->root_ = root;
  repo->base_dir_ = abs;
  repo->layout_ = layout;
  repo->has_git_ = !no_git || !git_root.empty();
  CAIRN_RETURN_IF_ERROR(repo->Load());
  return repo;
}

Result<std::unique_ptr<Repo>> Repo::Open(const fs::path& dir) {
  std::error_code ec;
  fs::path abs = fs::canonical(dir, ec);
  if (ec) return Status::NotFound("directory " + dir.string() + " does not exist");
  for (fs::path p = abs;; p = p.parent_path()) {
    if (fs::exists(Layout(p).config())) {
      std::unique_ptr<Repo> repo(new Repo());
      repo->root_ = p;
      repo->base_dir_ = abs;
      repo->layout_ = Layout(p);
      repo->has_git_ = fs::exists(p / ".git");
      CAIRN_RETURN_IF_ERROR(repo->Load());
      return repo;
    }
    if (p == p.root_path()) break;
  }
  return Status::NotFound("not a cairn repository (or any parent up to /): " + abs.string(),
                          "run 'cairn init' at the top of your project");
}

Status Repo::Load() {
  // Repositories made by older versions listed what to ignore one by one and
  // missed later additions (datasets/, remotes/, config.local).
  fs::path ignore = layout_.gitignore();
  auto current = ReadFile(ignore);
  if (current.ok() && current->find("!/config") == std::string::npos) {
    (void)WriteFileAtomic(ignore, kGitignore, false);  // best effort: a read-only clone still works
  } else if (current.ok() && current->find("!/keys/") == std::string::npos) {
    // Made before audit keys existed: the public keys (.cairn/keys/) must be committable.
    std::string text = *current;
    if (!text.empty() && text.back() != '\n') text += '\n';
    (void)WriteFileAtomic(ignore, text + kKeysLine, false);
  }
  CAIRN_ASSIGN_OR_RETURN(store_, ObjectStore::Open(layout_.cache(), layout_.tmp()));
  CAIRN_ASSIGN_OR_RETURN(state_, StateDb::Open(layout_.state_db()));
  return Status::OK();
}

namespace {

// The lock file, opened for the lock: a regular file of the repository's
// own, never followed through a symlink (a clone may hold a hostile one:
// the pid written below would land in the file it names).
Result<int> OpenLockFile(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  const std::string remove_hint = "remove it (rm " + path.string() + ") while no cairn command runs here";
  if (fd < 0) {
    int err = errno;
    if (err == ELOOP) {
      return Status::FailedPrecondition(path.string() + " is a symbolic link; cairn's lock file must be a regular file",
                                        remove_hint);
    }
    if (err == EISDIR) {
      return Status::FailedPrecondition(path.string() + " is a directory; cairn's lock file must be a regular file",
                                        remove_hint);
    }
    return Status::FromErrno("cannot open " + path.string(), err);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::FailedPrecondition(path.string() + " is not a regular file; cairn's lock file must be one",
                                      remove_hint);
  }
  return fd;
}

// The pid a lock file names, when that process is alive: the holder writes
// its pid after taking the lock, so until then the file may name an earlier
// holder, gone since (or hold nothing, or an old cairn's record).
std::string LiveHolder(int fd) {
  char buf[32] = {0};
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string holder = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
  if (holder.empty() || holder.size() > 18 || holder.find_first_not_of("0123456789") != std::string::npos) return "";
  long long pid = std::atoll(holder.c_str());
  if (pid <= 0 || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM)) return "";
  return holder;
}

}  // namespace

Result<RepoLock> Repo::Lock() {
  fs::path path = layout_.writer_lock();
  CAIRN_ASSIGN_OR_RETURN(int fd, OpenLockFile(path));
  double timeout = 60;
  if (const char* t = std::getenv("CAIRN_LOCK_TIMEOUT")) timeout = std::atof(t);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
  bool told = false;
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      int err = errno;
      ::close(fd);
      return Status::FromErrno("cannot lock " + path.string(), err);
    }
    std::string holder = LiveHolder(fd);
    if (std::chrono::steady_clock::now() >= deadline) {
      ::close(fd);
      return Status::Busy("the repository is locked by another cairn command" +
                              (holder.empty() ? std::string() : " (pid " + holder + ")"),
                          "wait for it to finish; if no cairn process is running, run the command again");
    }
    if (!told) {
      if (on_lock_wait_) on_lock_wait_(holder);
      told = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // The pid, padded to a fixed width so that it covers any earlier one
  // without a truncate (which waits for the disk: ~1 ms a lock).
  std::string pid = std::to_string(::getpid());
  pid.resize(kLockRecordWidth - 1, ' ');
  pid += '\n';
  (void)::pwrite(fd, pid.data(), pid.size(), 0);
  // Longer than a record (written by something else): cut once, so the pid
  // is all it holds.
  struct stat st;
  if (::fstat(fd, &st) == 0 && st.st_size > static_cast<off_t>(kLockRecordWidth)) {
    (void)::ftruncate(fd, static_cast<off_t>(kLockRecordWidth));
  }
  RepoLock lock(fd);
  // The store read its pack list when the repository opened, perhaps while
  // another writer (gc) was about to replace packs: what was read before the
  // lock is read again under it.
  CAIRN_RETURN_IF_ERROR(store_->Reload());
  return lock;
}

Result<std::string> Repo::RelativePath(const fs::path& user_path) const {
  std::error_code ec;
  fs::path abs = (user_path.is_absolute() ? user_path : base_dir_ / user_path).lexically_normal();
  std::string s = abs.string();
  if (s.size() > 1 && s.back() == '/') abs = s.substr(0, s.size() - 1);
  if (!IsInside(abs, root_)) {
    return Status::InvalidArgument(user_path.string() + " is outside the repository " + root_.string());
  }
  // Resolve symlinks in the parent directories (the path itself may not exist
  // yet) and check that the result, and a symlink's target, stay inside.
  fs::path parent = fs::weakly_canonical(abs.parent_path(), ec);
  fs::path resolved = parent / abs.filename();
  bool escapes = ec || !IsInside(resolved, root_);
  if (!escapes && fs::is_symlink(resolved, ec)) {
    escapes = !IsInside(fs::weakly_canonical(resolved, ec), root_);
  }
  if (escapes) {
    return Status::InvalidArgument(user_path.string() + " leaves the repository through a symlink",
                                   "track the symlink's target inside the repository instead");
  }
  fs::path rel = resolved.lexically_relative(root_);
  std::string out = rel.generic_string();
  if (out == "." || out.empty()) {
    return Status::InvalidArgument("cannot track the repository root itself", "track a file or subdirectory");
  }
  std::string first = out.substr(0, out.find('/'));
  if (first == ".git" || first == Layout::kDirName) {
    return Status::InvalidArgument(user_path.string() + " is inside " + first + "/, which cairn manages itself");
  }
  return out;
}

fs::path Repo::PointerPath(const std::string& rel) const {
  return root_ / (rel + std::string(kPointerSuffix));
}

std::string Repo::Author() const {
  if (const char* a = std::getenv("CAIRN_AUTHOR")) return a;
  std::string name, email;
  if (has_git_ && LoadGitLibrary().ok()) {  // without libgit2: the login name
    EnsureGitLib();
    git_repository* repo = nullptr;
    if (git_repository_open(&repo, root_.c_str()) == 0) {
      git_config* cfg = nullptr;
      if (git_repository_config_snapshot(&cfg, repo) == 0) {
        const char* v = nullptr;
        if (git_config_get_string(&v, cfg, "user.name") == 0) name = v;
        if (git_config_get_string(&v, cfg, "user.email") == 0) email = v;
        git_config_free(cfg);
      }
      git_repository_free(repo);
    }
  }
  if (name.empty()) {
    if (const passwd* pw = ::getpwuid(::getuid())) name = pw->pw_name;
  }
  if (name.empty()) name = "unknown";
  return email.empty() ? name : name + " <" + email + ">";
}

}  // namespace cairn
