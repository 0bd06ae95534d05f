// Small helpers for code that calls libgit2 directly (include <git2.h>
// first). Call LoadGitLibrary() before any of them: git_lib.cc forwards the
// libgit2 symbols to a library loaded at run time.
#ifndef CAIRN_UTIL_GIT_PTR_H_
#define CAIRN_UTIL_GIT_PTR_H_

#include <string>

#include "cairn/status.h"
#include "util/git_lib.h"

namespace cairn {

// Owns one libgit2 object; frees it with `Free`.
template <typename T, void (*Free)(T*)>
struct GitPtr {
  T* p = nullptr;
  GitPtr() = default;
  GitPtr(const GitPtr&) = delete;
  GitPtr& operator=(const GitPtr&) = delete;
  ~GitPtr() {
    if (p) Free(p);
  }
};

// libgit2's init/shutdown pair for one scope.
struct GitScope {
  GitScope() { git_libgit2_init(); }
  GitScope(const GitScope&) = delete;
  GitScope& operator=(const GitScope&) = delete;
  ~GitScope() { git_libgit2_shutdown(); }
};

// An IOError naming `what` and libgit2's last error message.
inline Status GitError(const std::string& what) {
  const git_error* e = git_error_last();
  return Status::IOError("git: " + what + ": " + (e ? e->message : "unknown error"));
}

}  // namespace cairn

#endif  // CAIRN_UTIL_GIT_PTR_H_
