#include "registry/promote_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

namespace cairn {

Result<PromoteLock> PromoteLock::Take(Repo& repo) {
  // Beside repro.lock (doc/formats.md); not yet a Layout accessor, so that
  // adding it did not rebuild every file that includes layout.h.
  std::string path = (repo.layout().dir() / "promote.lock").string();
  // O_NOFOLLOW: a symlink planted in a clone must not make us write elsewhere.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return Status::FromErrno("cannot open " + path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::FailedPrecondition(path + " is not a regular file", "remove it; cairn makes it again");
  }
  double timeout = 60;
  if (const char* t = std::getenv("CAIRN_LOCK_TIMEOUT")) timeout = std::atof(t);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout);
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      int err = errno;
      ::close(fd);
      return Status::FromErrno("cannot lock " + path, err);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      char pid[24] = {};
      (void)!::pread(fd, pid, sizeof pid - 1, 0);
      ::close(fd);
      std::string holder(pid);
      while (!holder.empty() && (holder.back() == ' ' || holder.back() == '\n')) holder.pop_back();
      return Status::Busy("another model promotion or alias move is running in this repository" +
                              (holder.empty() ? std::string() : " (pid " + holder + ")"),
                          "wait for it to finish, then run the command again");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // The pid at a fixed width, so it covers an earlier one without a truncate.
  std::string me = std::to_string(::getpid());
  me.resize(15, ' ');
  me += '\n';
  (void)!::pwrite(fd, me.data(), me.size(), 0);
  return PromoteLock(fd);
}

PromoteLock::~PromoteLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace cairn
