#include "dataset/git_roots.h"

#include <git2.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <unordered_set>

#include "cairn/pointer.h"
#include "util/git_ptr.h"

namespace cairn {
namespace {

struct GitOidHash {
  size_t operator()(const git_oid& o) const {
    size_t h;
    std::memcpy(&h, o.id, sizeof h);
    return h;
  }
};
struct GitOidEq {
  bool operator()(const git_oid& a, const git_oid& b) const { return git_oid_cmp(&a, &b) == 0; }
};

class Scanner {
 public:
  Scanner(git_repository* repo, OidSet* out) : repo_(repo), out_(out) {}

  Status ScanTree(const git_oid& id) {
    if (!seen_trees_.insert(id).second) return Status::OK();
    GitPtr<git_tree, git_tree_free> tree;
    if (git_tree_lookup(&tree.p, repo_, &id) != 0) return GitError("read tree");
    size_t n = git_tree_entrycount(tree.p);
    for (size_t i = 0; i < n; ++i) {
      const git_tree_entry* e = git_tree_entry_byindex(tree.p, i);
      git_object_t type = git_tree_entry_type(e);
      std::string_view name = git_tree_entry_name(e);
      if (type == GIT_OBJECT_TREE) {
        CAIRN_RETURN_IF_ERROR(ScanTree(*git_tree_entry_id(e)));
      } else if (type == GIT_OBJECT_BLOB && name.size() > kPointerSuffix.size() &&
                 name.substr(name.size() - kPointerSuffix.size()) == kPointerSuffix) {
        CAIRN_RETURN_IF_ERROR(ScanPointer(*git_tree_entry_id(e)));
      }
    }
    return Status::OK();
  }

 private:
  Status ScanPointer(const git_oid& id) {
    if (!seen_blobs_.insert(id).second) return Status::OK();
    GitPtr<git_blob, git_blob_free> blob;
    if (git_blob_lookup(&blob.p, repo_, &id) != 0) return GitError("read blob");
    std::string_view data(static_cast<const char*>(git_blob_rawcontent(blob.p)),
                          static_cast<size_t>(git_blob_rawsize(blob.p)));
    auto p = Pointer::Decode(data, "pointer in git history");
    if (p.ok()) out_->insert(p->version);  // damaged historical pointers protect nothing
    return Status::OK();
  }

  git_repository* repo_;
  OidSet* out_;
  std::unordered_set<git_oid, GitOidHash, GitOidEq> seen_trees_, seen_blobs_;
};

bool IsProtected(const std::string& ref, const std::vector<std::string>& protect) {
  for (const std::string& b : protect) {
    if (ref == "refs/heads/" + b) return true;
    if (ref.rfind("refs/remotes/", 0) == 0 && ref.size() > b.size() + 1 &&
        ref.compare(ref.size() - b.size() - 1, std::string::npos, "/" + b) == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace

Result<GitRootsResult> PointerVersionsInHistory(Repo& repo, const std::vector<std::string>& protect,
                                                int64_t cutoff) {
  GitRootsResult result;
  // Without the library, history could not be read: gc must not go on as
  // if there were no history roots.
  CAIRN_RETURN_IF_ERROR(LoadGitLibrary());
  GitScope scope;
  GitPtr<git_repository, git_repository_free> git;
  if (git_repository_open(&git.p, repo.root().c_str()) != 0) return result;  // no git: no history roots

  std::vector<std::pair<std::string, bool>> refs;  // name, protected
  GitPtr<git_reference_iterator, git_reference_iterator_free> it;
  if (git_reference_iterator_new(&it.p, git.p) != 0) return GitError("list branches");
  git_reference* ref = nullptr;
  while (git_reference_next(&ref, it.p) == 0) {
    std::string name = git_reference_name(ref);
    git_reference_free(ref);
    if (name.rfind("refs/heads/", 0) == 0 || name.rfind("refs/remotes/", 0) == 0) {
      if (name.size() >= 5 && name.compare(name.size() - 5, 5, "/HEAD") == 0) continue;
      refs.emplace_back(name, IsProtected(name, protect));
    }
  }
  Scanner scanner(git.p, &result.versions);
  std::unordered_set<git_oid, GitOidHash, GitOidEq> seen_commits;
  // Protected branches first, so their commits are scanned in full once.
  std::stable_sort(refs.begin(), refs.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const auto& [name, is_protected] : refs) {
    GitPtr<git_revwalk, git_revwalk_free> walk;
    if (git_revwalk_new(&walk.p, git.p) != 0) return GitError("walk history");
    git_revwalk_sorting(walk.p, GIT_SORT_TIME);
    if (git_revwalk_push_ref(walk.p, name.c_str()) != 0) continue;  // e.g. an unborn branch
    git_oid id;
    while (git_revwalk_next(&id, walk.p) == 0) {
      GitPtr<git_commit, git_commit_free> commit;
      if (git_commit_lookup(&commit.p, git.p, &id) != 0) return GitError("read commit");
      if (!is_protected && git_commit_time(commit.p) < cutoff) break;  // time-sorted: the rest is older
      if (!seen_commits.insert(id).second) continue;
      result.commits++;
      CAIRN_RETURN_IF_ERROR(scanner.ScanTree(*git_commit_tree_id(commit.p)));
    }
  }
  return result;
}

}  // namespace cairn
