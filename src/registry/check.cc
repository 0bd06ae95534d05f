// The registry's part of `cairn fsck`: every ref readable, every version
// object present and the version its ref says, every artifact complete in
// the cache, every alias naming its version's object.
#include "registry/registry_internal.h"
#include "util/file.h"
#include "util/list_dir.h"

namespace cairn {

using namespace registry_internal;

Result<std::vector<RegistryProblem>> CheckRegistry(Repo& repo) {
  std::vector<RegistryProblem> out;
  auto problem = [&](const std::string& ref, const std::string& message) { out.push_back({ref, message}); };
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> models, ModelNames(repo));
  ObjectStore& store = repo.store();
  for (const std::string& model : models) {
    CAIRN_ASSIGN_OR_RETURN(std::vector<int64_t> numbers, VersionNumbers(repo, model));
    std::map<int64_t, Oid> objects;
    for (int64_t n : numbers) {
      const std::string ref = "model:" + model + "@" + std::to_string(n);
      auto oid = ReadVersionRef(repo, model, n);
      if (!oid.ok() || !*oid) {
        problem(ref, oid.ok() ? "the version ref vanished" : oid.status().message());
        continue;
      }
      objects[n] = **oid;
      auto v = LoadVersionObject(repo, **oid, model, n);
      if (!v.ok()) {
        problem(ref, v.status().message());
        continue;
      }
      const ModelArtifact& a = v->artifact;
      if (!store.Has(a.object)) {
        problem(ref, "artifact " + a.path + " (" + a.object.Short() + ") is missing from the cache");
      } else if (a.kind == ObjectKind::kTree) {
        auto data = store.Read(a.object);
        auto tree = data.ok() ? Tree::Decode(*data) : Result<Tree>(data.status());
        if (!tree.ok()) {
          problem(ref, "artifact tree " + a.object.Short() + ": " + tree.status().message());
        } else {
          for (const TreeEntry& e : tree->entries) {
            if (!store.Has(e.oid)) problem(ref, "artifact file " + a.path + "/" + e.path + " is missing from the cache");
          }
        }
      }
      auto state = LoadState(repo, model, n, {});  // deprecation and approvals parse
      if (!state.ok()) problem(ref, state.status().message());
    }
    auto aliases = ListAliases(repo, model);
    if (!aliases.ok()) {
      problem("model:" + model, aliases.status().message());
      continue;
    }
    for (const AliasState& a : *aliases) {
      const std::string ref = "model:" + model + "@" + a.alias;
      auto it = objects.find(a.version);
      if (it == objects.end()) {
        problem(ref, "names version " + std::to_string(a.version) + ", which does not exist");
      } else if (it->second != a.oid) {
        problem(ref, "names object " + a.oid.Short() + " but version " + std::to_string(a.version) + " is " +
                         it->second.Short());
      }
    }
  }
  return out;
}

}  // namespace cairn
