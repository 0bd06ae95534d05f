// What pipelines read from git, with libgit2 (no git process): the
// cairn.lock committed at HEAD (the runs it names are the provenance of the
// committed outputs, so pushes carry them), and the origin URL that names
// the repository in OpenLineage.
#include <git2.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "cairn/json_pipeline.h"
#include "cairn/pipeline.h"
#include "util/git_ptr.h"

namespace cairn {
namespace {

// The text of cairn.lock at HEAD; nullopt when there is no git repository,
// no commit yet, or no cairn.lock in the commit.
Result<std::optional<std::string>> LockAtHead(Repo& repo) {
  if (Status loaded = LoadGitLibrary(); !loaded.ok()) {
    if (!std::filesystem::exists(repo.root() / ".git")) return std::optional<std::string>();
    return loaded;  // the committed lock cannot be read: say so rather than guess
  }
  GitScope scope;
  GitPtr<git_repository, git_repository_free> git;
  if (git_repository_open(&git.p, repo.root().c_str()) != 0) return std::optional<std::string>();
  GitPtr<git_revwalk, git_revwalk_free> walk;
  if (git_revwalk_new(&walk.p, git.p) != 0) return GitError("walk history");
  git_revwalk_sorting(walk.p, GIT_SORT_TOPOLOGICAL);  // the tip comes first
  if (git_revwalk_push_ref(walk.p, "HEAD") != 0) return std::optional<std::string>();  // unborn branch
  git_oid id;
  if (git_revwalk_next(&id, walk.p) != 0) return std::optional<std::string>();
  GitPtr<git_commit, git_commit_free> commit;
  if (git_commit_lookup(&commit.p, git.p, &id) != 0) return GitError("read HEAD");
  GitPtr<git_tree, git_tree_free> tree;
  if (git_tree_lookup(&tree.p, git.p, git_commit_tree_id(commit.p)) != 0) return GitError("read HEAD's tree");
  for (size_t i = 0, n = git_tree_entrycount(tree.p); i < n; ++i) {
    const git_tree_entry* e = git_tree_entry_byindex(tree.p, i);
    if (std::string_view(git_tree_entry_name(e)) != kLockFile || git_tree_entry_type(e) != GIT_OBJECT_BLOB) continue;
    GitPtr<git_blob, git_blob_free> blob;
    if (git_blob_lookup(&blob.p, git.p, git_tree_entry_id(e)) != 0) return GitError("read HEAD:cairn.lock");
    const char* data = static_cast<const char*>(git_blob_rawcontent(blob.p));
    return std::optional<std::string>(std::string(data, git_blob_rawsize(blob.p)));
  }
  return std::optional<std::string>(std::string());  // committed, without a lock
}

// "scheme://user:secret@host/path" without "user:secret@".
std::string WithoutCredentials(std::string url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  size_t start = scheme + 3, slash = url.find('/', start), at = url.find('@', start);
  if (at != std::string::npos && (slash == std::string::npos || at < slash)) url.erase(start, at + 1 - start);
  return url;
}

}  // namespace

std::string OpenLineageNamespace(Repo& repo) {
  if (!LoadGitLibrary().ok()) return "cairn";
  GitScope scope;
  GitPtr<git_repository, git_repository_free> git;
  if (git_repository_open(&git.p, repo.root().c_str()) != 0) return "cairn";
  GitPtr<git_config, git_config_free> config;
  if (git_repository_config_snapshot(&config.p, git.p) != 0) return "cairn";
  const char* url = nullptr;
  if (git_config_get_string(&url, config.p, "remote.origin.url") != 0 || !url || !*url) return "cairn";
  return WithoutCredentials(url);
}

Result<std::vector<std::string>> CommittedLockRuns(Repo& repo) {
  CAIRN_ASSIGN_OR_RETURN(std::optional<std::string> text, LockAtHead(repo));
  PipelineLock lock;
  if (text) {
    if (!text->empty()) {
      auto parsed = ParseLock(*text);
      if (!parsed.ok()) return parsed.status().WithContext("HEAD:" + std::string(kLockFile));
      lock = std::move(*parsed);
    }
  } else {
    CAIRN_ASSIGN_OR_RETURN(lock, LoadLock(repo));
  }
  std::set<std::string> runs;
  for (const auto& [name, stage] : lock) {
    if (!stage.run.empty()) runs.insert(stage.run);
  }
  return std::vector<std::string>(runs.begin(), runs.end());
}

}  // namespace cairn
