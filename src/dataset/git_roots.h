// Reading pointer files out of git history (libgit2, no git process).
#ifndef CAIRN_DATASET_GIT_ROOTS_H_
#define CAIRN_DATASET_GIT_ROOTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "cairn/repo.h"
#include "cairn/store.h"

namespace cairn {

struct GitRootsResult {
  OidSet versions;  // version oids named by pointer files in the selected commits
  uint64_t commits = 0;
};

// Every commit reachable from a branch named in `protect` (local, or a
// remote's branch of that name), and commits of other branches whose commit
// time is after `cutoff` (seconds since the epoch).
Result<GitRootsResult> PointerVersionsInHistory(Repo& repo, const std::vector<std::string>& protect,
                                                int64_t cutoff);

}  // namespace cairn

#endif  // CAIRN_DATASET_GIT_ROOTS_H_
