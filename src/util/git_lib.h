// libgit2 is loaded on first use (git_lib.cc). Code that reads git calls
// LoadGitLibrary() first: when the library cannot be loaded, that is an
// Unavailable status for the caller to return, never an exit.
#ifndef CAIRN_UTIL_GIT_LIB_H_
#define CAIRN_UTIL_GIT_LIB_H_

#include "cairn/status.h"

namespace cairn {

// OK once libgit2 is loaded (the first call loads it); Unavailable naming
// the library and why it failed otherwise. Thread-safe.
Status LoadGitLibrary();

}  // namespace cairn

#endif  // CAIRN_UTIL_GIT_LIB_H_
