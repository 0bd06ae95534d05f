// The registry's gc roots ("models" in DefaultGcRoots): every model version
// object, its artifact (the blob, or the tree and every blob in it) and its
// run record, so a registered model survives its run's deletion. Fails
// closed: a version ref or object it cannot read fails gc.
#include "cairn/gc_roots.h"
#include "cairn/registry.h"
#include "registry/registry_internal.h"

namespace cairn {

using namespace registry_internal;

Status ContributeModelRoots(Repo& repo, const GcRootOptions&, GcRootSet* roots) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> models, ModelNames(repo));
  for (const std::string& model : models) {
    CAIRN_ASSIGN_OR_RETURN(std::vector<int64_t> numbers, VersionNumbers(repo, model));
    std::vector<std::pair<int64_t, Oid>> versions;
    for (int64_t n : numbers) {
      CAIRN_ASSIGN_OR_RETURN(std::optional<Oid> oid, ReadVersionRef(repo, model, n));
      if (oid) versions.emplace_back(n, *oid);  // else removed since the listing
    }
    // A registration in flight (or killed) keeps its version until the
    // next registration completes or forgets it.
    CAIRN_ASSIGN_OR_RETURN(std::optional<PendingRegistration> pending, ReadPending(repo, model));
    if (pending) versions.emplace_back(pending->version, pending->oid);
    for (const auto& [n, oid] : versions) {
      roots->objects.insert(oid);
      auto loaded = LoadVersionObject(repo, oid, model, n);
      if (!loaded.ok() && loaded.status().code() == Code::kNotFound) continue;  // not fetched: nothing to keep
      if (!loaded.ok()) return loaded.status();
      const ModelVersion& v = *loaded;
      roots->objects.insert(v.artifact.object);
      if (v.run_record) roots->objects.insert(*v.run_record);
      if (v.artifact.kind == ObjectKind::kTree) {
        auto data = repo.store().Read(v.artifact.object);
        if (!data.ok()) {
          // Absent (not fetched): nothing of it to keep. Damaged: stop.
          if (data.status().code() == Code::kNotFound) continue;
          return data.status().WithContext("artifact tree of model " + model + "@" + std::to_string(n));
        }
        CAIRN_ASSIGN_OR_RETURN(Tree tree, Tree::Decode(*data));
        for (const TreeEntry& e : tree.entries) roots->objects.insert(e.oid);
      }
    }
  }
  return Status::OK();
}

}  // namespace cairn
