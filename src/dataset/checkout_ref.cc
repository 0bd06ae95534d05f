// cairn checkout PATH@REF: one version of one tracked path, without moving
// git. The pointer file is rewritten to name the version and the workspace
// made to match it; local changes are refused unless forced.
#include <algorithm>
#include <cctype>

#include "cairn/dataset.h"
#include "dataset/workspace.h"
#include "util/file.h"

namespace cairn {
namespace {

std::string ChangeList(const std::vector<FileChange>& changes) {
  std::string list;
  for (size_t i = 0; i < changes.size() && i < 20; ++i) {
    list += "\n  " + changes[i].path + " (" + FileChangeKindName(changes[i].kind) + ")";
  }
  if (changes.size() > 20) list += "\n  ... and " + std::to_string(changes.size() - 20) + " more";
  return list;
}

}  // namespace

bool IsVersionRef(const std::string& arg) {
  if (arg.find('@') != std::string::npos) return true;
  size_t tilde = arg.rfind('~');
  if (tilde == std::string::npos || tilde == 0 || tilde + 1 == arg.size()) return false;
  return std::all_of(arg.begin() + static_cast<std::ptrdiff_t>(tilde) + 1, arg.end(),
                     [](unsigned char c) { return std::isdigit(c) != 0; });
}

Result<CheckoutResult> CheckoutRef(Repo& repo, const std::string& ref, const CheckoutOptions& options) {
  CAIRN_ASSIGN_OR_RETURN(ResolvedRef resolved, ResolveRef(repo, ref));
  if (resolved.path.empty()) {
    return Status::FailedPrecondition("dataset " + resolved.dataset + " has no pointer file in this workspace",
                                      "check out a git commit that tracks it first; nothing was changed");
  }
  CAIRN_ASSIGN_OR_RETURN(Version version, LoadVersion(repo, resolved.version));
  CAIRN_ASSIGN_OR_RETURN(Tree files, LoadFiles(repo, version));
  uint64_t missing = 0;
  for (const TreeEntry& e : files.entries) missing += repo.store().Has(e.oid) ? 0 : 1;
  if (missing > 0) {
    return Status::NotFound(std::to_string(missing) + " file(s) of " + ref + " are not in the cache",
                            "fetch them from a remote ('cairn pull " + ref + "'); nothing was changed");
  }

  CAIRN_ASSIGN_OR_RETURN(RepoLock lock, repo.Lock());
  const std::string abs = repo.Abs(resolved.path).string();
  if (!options.force) {
    CAIRN_ASSIGN_OR_RETURN(std::vector<PathStatus> status, GetStatus(repo, {abs}, StatusOptions{}));
    if (!status.empty() && status[0].state == TrackedState::kModified) {
      return Status::FailedPrecondition(
          resolved.path + " has changes that are not recorded:" + ChangeList(status[0].changes),
          "record them with 'cairn add " + resolved.path + "' first, or discard them; nothing was changed");
    }
  }
  const fs::path pointer_path = repo.PointerPath(resolved.path);
  CAIRN_ASSIGN_OR_RETURN(std::string previous, ReadFile(pointer_path));
  Pointer pointer;
  pointer.dataset = version.dataset;
  pointer.version = resolved.version;
  pointer.kind = version.kind;
  pointer.object = version.object;
  pointer.size = version.size;
  pointer.files = version.files;
  CAIRN_RETURN_IF_ERROR(WriteWorkspaceFileAtomic(pointer_path, pointer.Encode(), /*sync=*/true, repo.tmp_dir()));
  auto results = CheckoutLocked(repo, {abs}, options);
  if (!results.ok()) {
    // Nothing of the data changed (Checkout refuses before writing) or the
    // error says what did: the pointer goes back to what it named.
    Status restored = WriteWorkspaceFileAtomic(pointer_path, previous, /*sync=*/true, repo.tmp_dir());
    if (!restored.ok()) return results.status().WithContext("and restoring " + pointer_path.string() + " failed");
    return results.status();
  }
  if (results->empty()) return Status::IOError("checkout of " + resolved.path + " returned nothing");
  return (*results)[0];
}

}  // namespace cairn
