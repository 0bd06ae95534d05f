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
    for (int64_t n : numbers) {
      const std::string ref = "model:" + model + "@" + std::to_string(n);
      auto oid = ReadVersionRef(repo, model, n);
      if (!oid.ok() || !*oid) {
        problem(ref, oid.ok() ? "the version ref vanished" : oid.status().message());
        continue;
      }
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
    // ListAliases checks each alias against its version's ref: what it
    // leaves out is what is wrong.
    std::vector<RegistryProblem> skipped;
    auto aliases = ListAliases(repo, model, &skipped);
    if (!aliases.ok()) problem("model:" + model, aliases.status().message());
    for (RegistryProblem& p : skipped) {
      if (!p.file.empty()) p.message += " (" + p.file + ")";
      out.push_back(std::move(p));
    }
  }
  return out;
}

}  // namespace cairn
