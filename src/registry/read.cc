// Reading the registry: models, versions, aliases, and resolving a model
// ref to one version. Reads only the refs a call needs (model show reads
// one version ref, its object, the aliases, its deprecation and approvals).
#include <algorithm>
#include <map>

#include "registry/registry_internal.h"
#include "util/file.h"
#include "util/list_dir.h"

namespace cairn {

using namespace registry_internal;

Result<std::vector<AliasState>> ListAliases(Repo& repo, const std::string& model,
                                            std::vector<RegistryProblem>* skipped) {
  CAIRN_RETURN_IF_ERROR(ValidateModelName(model));
  fs::path dir = repo.layout().model_aliases(model);
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirNames(dir));
  std::vector<AliasState> out;
  std::map<int64_t, std::optional<Oid>> versions;  // each version ref read once
  for (const std::string& name : names) {
    if (!ValidateAliasName(name).ok()) continue;  // not an alias file (a stray name)
    auto problem = [&](const std::string& message) {
      if (skipped) {
        fs::path file = (dir / name).lexically_relative(repo.root());
        skipped->push_back({"model:" + model + "@" + name, message, file.string()});
      }
    };
    CAIRN_ASSIGN_OR_RETURN(std::string data, ReadFile(dir / name));
    auto a = DecodeAlias(data, model, name);
    if (!a.ok()) {
      std::string message = a.status().message();
      if (std::string own = "alias " + model + "@" + name + " "; message.starts_with(own)) {
        message.erase(0, own.size());
      }
      problem(message);
      continue;
    }
    // The alias must name its version by that version's own object: a file
    // naming another object (another model's) is no alias of this model.
    if (!versions.count(a->version)) {
      auto oid = ReadVersionRef(repo, model, a->version);
      versions[a->version] = oid.ok() ? *oid : std::nullopt;
    }
    const std::optional<Oid>& actual = versions[a->version];
    if (!actual) {
      problem("names version " + std::to_string(a->version) + ", which does not exist or is damaged");
      continue;
    }
    if (*actual != a->oid) {
      problem("names object " + a->oid.Short() + " but version " + std::to_string(a->version) + " is " +
              actual->Short());
      continue;
    }
    out.push_back(std::move(*a));
  }
  return out;  // ListDirNames sorts
}

Result<std::optional<AliasState>> ReadAlias(Repo& repo, const std::string& model, const std::string& alias) {
  CAIRN_RETURN_IF_ERROR(ValidateModelName(model));
  CAIRN_RETURN_IF_ERROR(ValidateAliasName(alias));
  auto data = ReadFile(repo.layout().model_alias(model, alias));
  if (!data.ok()) {
    if (data.status().code() == Code::kNotFound) return std::optional<AliasState>();
    return data.status();
  }
  CAIRN_ASSIGN_OR_RETURN(AliasState a, DecodeAlias(*data, model, alias));
  return std::optional<AliasState>(std::move(a));
}

Result<std::vector<ModelVersionState>> ListModelVersions(Repo& repo, const std::string& model) {
  CAIRN_RETURN_IF_ERROR(ValidateModelName(model));
  CAIRN_ASSIGN_OR_RETURN(std::vector<int64_t> numbers, VersionNumbers(repo, model));
  if (numbers.empty()) return NoSuchModel(repo, model);
  std::vector<RegistryProblem> skipped;
  CAIRN_ASSIGN_OR_RETURN(std::vector<AliasState> aliases, ListAliases(repo, model, &skipped));
  std::vector<ModelVersionState> out;
  out.reserve(numbers.size());
  for (int64_t n : numbers) {
    CAIRN_ASSIGN_OR_RETURN(ModelVersionState st, LoadState(repo, model, n, aliases));
    st.warnings = skipped;
    out.push_back(std::move(st));
  }
  return out;
}

Result<std::vector<ModelSummary>> ListModels(Repo& repo) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> names, ModelNames(repo));
  std::vector<ModelSummary> out;
  for (const std::string& name : names) {
    CAIRN_ASSIGN_OR_RETURN(std::vector<int64_t> numbers, VersionNumbers(repo, name));
    if (numbers.empty()) continue;
    ModelSummary s;
    s.name = name;
    s.versions = static_cast<int64_t>(numbers.size());
    s.latest = numbers.back();
    // A damaged latest version is a warning here, not the end of the list.
    auto oid = ReadVersionRef(repo, name, s.latest);
    auto v = !oid.ok() ? Result<ModelVersion>(oid.status())
             : *oid    ? LoadVersionObject(repo, **oid, name, s.latest)
                       : Result<ModelVersion>(Status::NotFound("the version ref vanished"));
    if (v.ok()) {
      s.updated_ms = v->time_ms;
    } else {
      s.warnings.push_back({"model:" + name + "@" + std::to_string(s.latest), v.status().message(),
                            repo.layout().model_version(name, s.latest).lexically_relative(repo.root()).string()});
    }
    CAIRN_ASSIGN_OR_RETURN(std::vector<AliasState> aliases, ListAliases(repo, name, &s.warnings));
    for (const AliasState& a : aliases) {
      s.aliases[a.alias] = a.version;
      s.updated_ms = std::max(s.updated_ms, a.time_ms);
    }
    out.push_back(std::move(s));
  }
  return out;
}

Result<ModelVersionState> ResolveModel(Repo& repo, const ModelRef& ref) {
  CAIRN_RETURN_IF_ERROR(ValidateModelName(ref.model));
  const std::string& model = ref.model;
  std::vector<RegistryProblem> skipped;
  CAIRN_ASSIGN_OR_RETURN(std::vector<AliasState> aliases, ListAliases(repo, model, &skipped));
  int64_t n = ref.version;
  if (n == 0 && ref.alias == "latest") {
    CAIRN_ASSIGN_OR_RETURN(std::vector<int64_t> numbers, VersionNumbers(repo, model));
    if (numbers.empty()) return NoSuchModel(repo, model);
    n = numbers.back();
  } else if (n == 0) {
    auto it = std::find_if(aliases.begin(), aliases.end(), [&](const AliasState& a) { return a.alias == ref.alias; });
    if (it == aliases.end()) {
      for (const RegistryProblem& p : skipped) {
        if (p.ref == "model:" + model + "@" + ref.alias) {
          return Status::Corruption("alias " + model + "@" + ref.alias + " (" + p.file + ") " + p.message,
                                    "run 'cairn fsck'; move the alias again with 'cairn model alias " + model +
                                        "@V " + ref.alias + "'");
        }
      }
      CAIRN_ASSIGN_OR_RETURN(std::vector<int64_t> numbers, VersionNumbers(repo, model));
      if (numbers.empty()) return NoSuchModel(repo, model);
      return Status::NotFound("model " + model + " has no alias '" + ref.alias + "'", Candidates(numbers, aliases));
    }
    n = it->version;
  }
  auto st = LoadState(repo, model, n, aliases);
  if (!st.ok() && st.status().code() == Code::kNotFound) {
    CAIRN_ASSIGN_OR_RETURN(std::optional<Oid> oid, ReadVersionRef(repo, model, n));
    if (!oid) {
      CAIRN_ASSIGN_OR_RETURN(std::vector<int64_t> numbers, VersionNumbers(repo, model));
      if (numbers.empty()) return NoSuchModel(repo, model);
      return Status::NotFound("model " + model + " has no version " + std::to_string(n), Candidates(numbers, aliases));
    }
  }
  if (st.ok()) st->warnings = std::move(skipped);
  return st;
}

Result<ModelVersionState> ResolveModel(Repo& repo, std::string_view ref) {
  CAIRN_ASSIGN_OR_RETURN(ModelRef parsed, ParseModelRef(ref));
  return ResolveModel(repo, parsed);
}

}  // namespace cairn
