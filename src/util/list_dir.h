// Listing a directory for decisions that must fail closed (gc roots,
// reindex, fsck): a directory that is missing is empty, one that exists but
// cannot be listed is an error, never an empty list.
#ifndef CAIRN_UTIL_LIST_DIR_H_
#define CAIRN_UTIL_LIST_DIR_H_

#include <filesystem>
#include <string>
#include <vector>

#include "cairn/status.h"

namespace cairn {

// The names in `dir`, sorted; without those starting with '.' (temp files
// of atomic writes) unless `include_hidden`. Empty when nothing exists at `dir` (not even a symlink).
// IOError "cannot list <dir>: <reason>" when it is not a directory, cannot
// be read, or is a symlink to nothing. Thread-safe.
Result<std::vector<std::string>> ListDirNames(const std::filesystem::path& dir, bool include_hidden = false);

}  // namespace cairn

#endif  // CAIRN_UTIL_LIST_DIR_H_
