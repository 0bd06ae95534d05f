// cairn checkout PATH@REF: one version of one tracked path, without moving
// git. The pointer file is rewritten to name the version and the workspace
// made to match it; local changes are refused unless forced.
#include <algorithm>
#include <cctype>
#include <unordered_map>
#include <unordered_set>

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

// Whether the workspace files of tracked `path` hold only recorded content:
// each file is that path's file in one of `versions` (a checkout killed
// half-way from one to the other leaves such a mix) or a file a killed
// checkout journaled as its own. Missing files lose nothing: their content
// is a cached version's. Then a checkout may replace them all.
Result<bool> HoldsOnlyRecordedFiles(Repo& repo, const std::string& path, const std::vector<Oid>& versions) {
  std::unordered_map<std::string, std::unordered_set<Oid, OidHash>> recorded;
  for (const Oid& oid : versions) {
    auto v = LoadVersion(repo, oid);
    if (!v.ok()) continue;
    auto files = LoadFiles(repo, *v);
    if (!files.ok()) continue;
    for (const TreeEntry& e : files->entries) recorded[v->kind == ObjectKind::kBlob ? "" : e.path].insert(e.oid);
  }
  PathKind kind;
  CAIRN_ASSIGN_OR_RETURN(std::vector<WorkFile> have, ListWorkFiles(repo, path, &kind));
  CAIRN_RETURN_IF_ERROR(HashWorkFiles(repo, path, &have, /*store=*/false, nullptr, /*record=*/false).status());
  const std::unordered_set<std::string> journaled = ReadCheckoutJournal(repo);
  for (const WorkFile& f : have) {
    auto it = recorded.find(f.rel);
    if (it != recorded.end() && it->second.count(f.oid)) continue;
    if (journaled.count(WorkFilePath(path, f))) continue;
    return false;
  }
  return true;
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
  if (version.dataset != resolved.dataset) {
    return Status::Corruption(ref + " names version " + resolved.version.Short() + " of dataset " + version.dataset +
                                  ", not of " + resolved.dataset,
                              "a tag was made or imported wrongly: delete it; nothing was changed");
  }
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
      // After a killed checkout of this path the pointer names the new
      // version while the files are a mix of both: nothing there is lost.
      CAIRN_ASSIGN_OR_RETURN(bool recorded, HoldsOnlyRecordedFiles(repo, resolved.path,
                                                                    {status[0].tracked.pointer.version,
                                                                     resolved.version}));
      if (!recorded) {
          return Status::FailedPrecondition(
            resolved.path + " has changes that are not recorded:" + ChangeList(status[0].changes),
            "record them with 'cairn add " + resolved.path + "' first, or discard them; nothing was changed");
      }
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
