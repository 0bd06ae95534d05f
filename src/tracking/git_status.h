// A run's git state read in-process with libgit2, for the common case of a
// clean work tree: no git process per run start (a sweep starts thousands).
#ifndef CAIRN_TRACKING_GIT_STATUS_H_
#define CAIRN_TRACKING_GIT_STATUS_H_

#include <filesystem>
#include <optional>
#include <string>

namespace cairn::tracking_internal {

// What a clean work tree records: the commit HEAD names and its branch
// (empty when HEAD is detached).
struct CleanGitState {
  std::string commit;
  std::string branch;
};

// The state of the git work tree whose top is `root` when it is clean by
// the provenance rule of env.cc: no tracked file differs from HEAD (index or
// work tree) and no untracked file that git does not ignore, leaving out the
// files cairn writes itself (*.cairn pointers, .gitignore files, cairn.lock,
// .cairn/). Nothing (std::nullopt) when it is dirty, and also whenever the
// answer is not certain: libgit2 cannot be loaded, `root` is not the top of
// its work tree, HEAD is unborn or not a branch under refs/heads/, or any
// libgit2 call fails. The caller then asks git itself, which also writes the
// diff of a dirty tree. Thread-safe (one libgit2 repository per call).
std::optional<CleanGitState> ReadCleanGitState(const std::filesystem::path& root);

// A new-file patch of the untracked file `path` (relative to the work tree
// `root`) holding `content`, as `git diff --no-index /dev/null PATH` writes
// it (text or binary, `git apply` restores the file and its executable
// bit), made in-process: a start in a work tree with many untracked files
// runs no git process per file. Nothing when libgit2 is missing or fails.
std::optional<std::string> UntrackedFilePatch(const std::string& path, const std::string& content, bool executable);

// True when a status path (relative to the work tree, '/'-separated) is one
// of the files cairn writes itself, which never make a run dirty. The same
// rule as the pathspec env.cc gives `git status`.
bool IsCairnWrittenPath(std::string_view path);

}  // namespace cairn::tracking_internal

#endif  // CAIRN_TRACKING_GIT_STATUS_H_
