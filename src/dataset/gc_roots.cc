// The datasets' gc roots: pointer files in the workspace, tags, and pointer
// files in git history.
#include "cairn/gc_roots.h"

#include "cairn/dataset.h"
#include "cairn/refs.h"
#include "dataset/git_roots.h"

namespace cairn {

Status ContributeDatasetRoots(Repo& repo, const GcRootOptions& options, GcRootSet* roots) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<Tracked> tracked, FindTracked(repo));
  for (const Tracked& t : tracked) roots->versions.insert(t.pointer.version);
  CAIRN_ASSIGN_OR_RETURN(std::vector<Tag> tags, ListTags(repo));
  for (const Tag& t : tags) roots->versions.insert(t.version);
  if (repo.has_git()) {
    CAIRN_ASSIGN_OR_RETURN(GitRootsResult history, PointerVersionsInHistory(repo, options.protect, options.cutoff()));
    roots->commits_scanned += history.commits;
    roots->versions.insert(history.versions.begin(), history.versions.end());
  }
  return Status::OK();
}

}  // namespace cairn
