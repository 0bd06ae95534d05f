// A cairn repository: a work tree (usually also a git work tree) with a
// .cairn/ directory, whose paths the repository's Layout owns (see
// cairn/layout.h and doc/formats.md).
//
// A Repo is used by one command at a time; it is not thread-safe, except for
// store(), which is.
#ifndef CAIRN_REPO_H_
#define CAIRN_REPO_H_

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "cairn/layout.h"
#include "cairn/status.h"
#include "cairn/store.h"

namespace cairn {

class StateDb;

// Holds the repository's writer lock (.cairn/lock) until destroyed.
class RepoLock {
 public:
  RepoLock() = default;
  explicit RepoLock(int fd) : fd_(fd) {}
  ~RepoLock();
  RepoLock(RepoLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  RepoLock& operator=(RepoLock&&) = delete;

 private:
  int fd_ = -1;
};

class Repo {
 public:
  // Creates .cairn/ in `dir` (or, unless `no_git`, at the top of the git
  // work tree containing `dir`). Harmless when it already exists:
  // `*created` tells which. InvalidArgument when not in a git work tree and
  // `no_git` is false.
  static Result<std::unique_ptr<Repo>> Init(const std::filesystem::path& dir, bool no_git,
                                            bool* created);
  // Opens the repository containing `dir` (searching upwards). NotFound with
  // a hint to run 'cairn init' when there is none.
  static Result<std::unique_ptr<Repo>> Open(const std::filesystem::path& dir);
  ~Repo();

  const std::filesystem::path& root() const { return root_; }
  bool has_git() const { return has_git_; }
  // Every path under .cairn/.
  const Layout& layout() const { return layout_; }
  // Shorthands for layout().dir(), .tmp() and .refs().
  std::filesystem::path cairn_dir() const { return layout_.dir(); }
  std::filesystem::path tmp_dir() const { return layout_.tmp(); }
  std::filesystem::path refs_dir() const { return layout_.refs(); }
  // The directory relative user paths are taken from: the `dir` given to
  // Open or Init (made absolute then). The library never uses the process's
  // working directory after that.
  const std::filesystem::path& base_dir() const { return base_dir_; }

  ObjectStore& store() { return *store_; }
  StateDb& state() { return *state_; }

  // Called once (with the holder's pid, as text, or "" when the lock file
  // does not name it yet) when Lock() has to wait for another process:
  // front ends tell the user. Not called when unset.
  using LockWaitCallback = std::function<void(const std::string& holder_pid)>;
  void set_lock_wait_callback(LockWaitCallback callback) { on_lock_wait_ = std::move(callback); }

  // Takes the writer lock. When another process holds it, waits (calling the
  // lock-wait callback once) up to $CAIRN_LOCK_TIMEOUT seconds (default 60),
  // then Busy.
  // Once locked, the store re-reads its pack list (another writer may have
  // replaced packs since the repository was opened).
  Result<RepoLock> Lock();

  // Maps a user-supplied path (relative to base_dir(), or absolute) to a '/'-separated path relative to the repository root.
  // InvalidArgument when it lies outside the repository, leaves it through a
  // symlink, or is inside .git or .cairn.
  Result<std::string> RelativePath(const std::filesystem::path& user_path) const;
  std::filesystem::path Abs(const std::string& rel) const { return root_ / rel; }
  std::filesystem::path PointerPath(const std::string& rel) const;

  // "Name <email>" from $CAIRN_AUTHOR, git config, or the login name.
  std::string Author() const;

 private:
  Repo() = default;
  Status Load();

  std::filesystem::path root_;
  std::filesystem::path base_dir_;
  Layout layout_;
  LockWaitCallback on_lock_wait_;
  bool has_git_ = false;
  std::unique_ptr<ObjectStore> store_;
  std::unique_ptr<StateDb> state_;
};

}  // namespace cairn

#endif  // CAIRN_REPO_H_
