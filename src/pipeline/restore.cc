// Restoring what a stage computed before (from cairn.lock or the run
// cache): checking that the lock names only declared paths, whether the
// cache holds everything, and writing outputs and metrics files back.
#include <algorithm>

#include "cairn/dataset.h"
#include "cairn/pointer.h"
#include "pipeline/stage.h"
#include "util/file.h"

namespace cairn::pipeline_internal {
namespace {

// Points `path`'s pointer file at `version` and checks it out.
Status RestoreOutput(Repo& repo, const std::string& path, const Oid& version) {
  CAIRN_ASSIGN_OR_RETURN(Version v, LoadVersion(repo, version));
  Pointer p;
  p.dataset = v.dataset;
  p.version = version;
  p.kind = v.kind;
  p.object = v.object;
  p.size = v.size;
  p.files = v.files;
  CAIRN_RETURN_IF_ERROR(WriteWorkspaceFileAtomic(repo.PointerPath(path), p.Encode(), /*sync=*/true, repo.tmp_dir()));
  CheckoutOptions co;
  co.force = true;  // outputs belong to their stage
  return Checkout(repo, {path}, co).status();
}

}  // namespace

Status CheckLockedPaths(const StageSpec& stage, const std::map<std::string, Oid>& outs,
                        const std::map<std::string, Oid>& metrics) {
  for (const auto* m : {&outs, &metrics}) {
    const std::vector<std::string>& declared = m == &outs ? stage.outs : stage.metrics;
    for (const auto& [path, oid] : *m) {
      if (std::find(declared.begin(), declared.end(), path) == declared.end()) {
        return Status::Corruption(std::string(kLockFile) + ": stage '" + stage.name + "' names " +
                                      (m == &outs ? "output '" : "metrics file '") + path +
                                      "', which cairn.yaml does not declare for it",
                                  "restore cairn.lock from git, or delete it to re-run every stage");
      }
    }
  }
  return Status::OK();
}

Status RestoreAll(Repo& repo, const std::map<std::string, Oid>& outs, const std::map<std::string, Oid>& metrics) {
  for (const auto& [path, v] : outs) CAIRN_RETURN_IF_ERROR(RestoreOutput(repo, path, v));
  for (const auto& [path, oid] : metrics) {
    CAIRN_ASSIGN_OR_RETURN(std::string data, repo.store().Read(oid));
    CAIRN_RETURN_IF_ERROR(MakeDirs(repo.Abs(path).parent_path()));
    CAIRN_RETURN_IF_ERROR(WriteWorkspaceFileAtomic(repo.Abs(path), data, /*sync=*/false, repo.tmp_dir()));
  }
  return Status::OK();
}

bool CanRestore(Repo& repo, const std::map<std::string, Oid>& outs, const std::map<std::string, Oid>& metrics) {
  for (const auto& [path, oid] : metrics) {
    if (!repo.store().Has(oid)) return false;
  }
  for (const auto& [path, v] : outs) {
    auto version = LoadVersion(repo, v);
    if (!version.ok()) return false;
    if (!repo.store().Has(version->object)) return false;
    if (version->kind == ObjectKind::kTree) {
      auto tree = LoadFiles(repo, *version);
      if (!tree.ok()) return false;
      for (const TreeEntry& e : tree->entries) {
        if (!repo.store().Has(e.oid)) return false;
      }
    }
  }
  return true;
}

}  // namespace cairn::pipeline_internal
