// The registry's refs on both sides of a transfer, the seen-state kept
// beside a remote's index cache, and remote gc's model roots
// (model_sync.h).
#include <charconv>
#include <cstring>
#include <sstream>

#include "cairn/run_record.h"
#include "remote/model_sync.h"
#include "remote/transfer.h"
#include "util/file.h"
#include "util/list_dir.h"

namespace cairn {
namespace fs = std::filesystem;

namespace model_sync {
namespace {

constexpr std::string_view kSeenHeader = "cairn-registry-seen 1\n";

bool IsEntryId(const std::string& s) { return IsFullHex(s); }

fs::path SeenPath(Repo& repo, const RemoteSpec& spec) {
  fs::path dir = IndexCacheDir(repo, spec);
  return dir.empty() ? fs::path() : dir / "registry-seen";
}

}  // namespace

std::string ModelPrefix(const std::string& model) { return std::string(kRemoteModels) + model + "/"; }

bool ParseVersionNumber(const std::string& name, int64_t* n) {
  if (name.empty() || name.size() > 18 || name[0] == '0') return false;
  if (name.find_first_not_of("0123456789") != std::string::npos) return false;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), *n);
  return ec == std::errc() && end == name.data() + name.size();
}

Result<Oid> ParseVersionRef(std::string_view text, const std::string& where) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  auto oid = Oid::Parse(text);
  if (!oid.ok()) return Status::Corruption(where + " is damaged: not an oid", "run 'cairn fsck'");
  return *oid;
}

std::string Digest(std::string_view text) { return Oid::Of(text).Hex(); }

Result<RegistryRefs> ListRemote(Backend& backend, const ModelSelection& selection, std::vector<std::string>* warnings) {
  RegistryRefs out;
  if (!selection.Any()) return out;
  CAIRN_ASSIGN_OR_RETURN(std::vector<RemoteObject> listed, backend.List(kRemoteModels));
  for (const RemoteObject& o : listed) {
    std::vector<std::string> parts;
    std::stringstream rest(o.key.substr(std::strlen(kRemoteModels)));
    for (std::string p; std::getline(rest, p, '/');) parts.push_back(p);
    auto skip = [&](const std::string& why) { warnings->push_back("remote ref " + o.key + " skipped: " + why); };
    if (parts.size() < 3) {
      skip("not a registry ref");
      continue;
    }
    const std::string& model = parts[0];
    if (Status s = ValidateModelName(model); !s.ok()) {
      skip(s.message());
      continue;
    }
    if (!selection.Wants(model)) continue;
    ModelRefSet& refs = out[model];
    int64_t n = 0;
    const std::string& kind = parts[1];
    if (kind == "versions" && parts.size() == 3 && ParseVersionNumber(parts[2], &n)) {
      refs.version_numbers.insert(n);
    } else if (kind == "aliases" && parts.size() == 3 && ValidateAliasName(parts[2]).ok()) {
      refs.aliases[parts[2]] = "";
    } else if (kind == "deprecated" && parts.size() == 3 && ParseVersionNumber(parts[2], &n)) {
      refs.deprecated.insert(n);
    } else if (kind == "approvals" && parts.size() == 4 && ParseVersionNumber(parts[2], &n) && IsEntryId(parts[3])) {
      refs.approvals.insert({n, parts[3]});
    } else {
      skip("not a registry ref (versions/N, aliases/ALIAS, deprecated/N or approvals/N/ENTRY)");
    }
  }
  return out;
}

Result<RegistryRefs> ReadLocal(Repo& repo, const ModelSelection& selection) {
  RegistryRefs out;
  if (!selection.Any()) return out;
  const Layout& layout = repo.layout();
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> models, ListDirNames(layout.models()));
  for (const std::string& model : models) {
    if (!ValidateModelName(model).ok() || !selection.Wants(model)) continue;
    ModelRefSet& refs = out[model];
    CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> versions, ListDirNames(layout.model_versions(model)));
    for (const std::string& name : versions) {
      int64_t n = 0;
      if (!ParseVersionNumber(name, &n)) continue;
      CAIRN_ASSIGN_OR_RETURN(std::string text, ReadFile(layout.model_version(model, n)));
      CAIRN_ASSIGN_OR_RETURN(refs.versions[n], ParseVersionRef(text, "ref of model " + model + "@" + name));
      refs.version_numbers.insert(n);
    }
    CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> aliases, ListDirNames(layout.model_aliases(model)));
    for (const std::string& alias : aliases) {
      if (!ValidateAliasName(alias).ok()) continue;
      CAIRN_ASSIGN_OR_RETURN(refs.aliases[alias], ReadFile(layout.model_alias(model, alias)));
    }
    CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> deprecated, ListDirNames(layout.model_deprecations(model)));
    for (const std::string& name : deprecated) {
      int64_t n = 0;
      if (ParseVersionNumber(name, &n)) refs.deprecated.insert(n);
    }
    fs::path approvals = layout.model_approvals(model, 1).parent_path();
    CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> numbers, ListDirNames(approvals));
    for (const std::string& name : numbers) {
      int64_t n = 0;
      if (!ParseVersionNumber(name, &n)) continue;
      CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> entries, ListDirNames(approvals / name));
      for (const std::string& e : entries) {
        if (IsEntryId(e)) refs.approvals.insert({n, e});
      }
    }
  }
  return out;
}

Seen LoadSeen(Repo& repo, const RemoteSpec& spec) {
  Seen seen;
  fs::path path = SeenPath(repo, spec);
  if (path.empty()) return seen;
  auto data = ReadFile(path);
  if (!data.ok() || !std::string_view(*data).starts_with(kSeenHeader)) return seen;
  seen.exists = true;
  std::istringstream in(data->substr(kSeenHeader.size()));
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string kind, model, name, value;
    fields >> kind >> model >> name >> value;
    int64_t n = 0;
    if (kind == "model" && !model.empty()) {
      seen.models.insert(model);
    } else if (kind == "version" && ParseVersionNumber(name, &n)) {
      auto oid = Oid::Parse(value);
      if (oid.ok()) seen.versions[model][n] = *oid;
    } else if (kind == "alias" && IsFullHex(value)) {
      seen.aliases[model][name] = value;
    }
  }
  return seen;
}

Status SaveSeen(Repo& repo, const RemoteSpec& spec, const Seen& seen) {
  fs::path path = SeenPath(repo, spec);
  if (path.empty()) return Status::OK();
  std::string text(kSeenHeader);
  for (const std::string& model : seen.models) text += "model " + model + " -\n";
  for (const auto& [model, versions] : seen.versions) {
    for (const auto& [n, oid] : versions) text += "version " + model + " " + std::to_string(n) + " " + oid.ToString() + "\n";
  }
  for (const auto& [model, aliases] : seen.aliases) {
    for (const auto& [alias, digest] : aliases) text += "alias " + model + " " + alias + " " + digest + "\n";
  }
  CAIRN_RETURN_IF_ERROR(MakeDirs(path.parent_path()));
  return WriteFileAtomic(path, text, /*sync=*/true);
}

Status ReadRemoteVersions(Backend& backend, const std::string& model, const std::set<int64_t>& numbers,
                          const Seen& seen, ModelRefSet* refs) {
  auto cached = seen.versions.find(model);
  for (int64_t n : numbers) {
    if (cached != seen.versions.end() && cached->second.count(n)) {
      refs->versions[n] = cached->second.at(n);
      continue;
    }
    std::string key = ModelPrefix(model) + "versions/" + std::to_string(n);
    CAIRN_ASSIGN_OR_RETURN(std::string text, backend.Get(key));
    CAIRN_ASSIGN_OR_RETURN(refs->versions[n], ParseVersionRef(text, "remote ref " + key));
  }
  return Status::OK();
}

Status VersionParts(const ModelVersion& v, const std::function<Result<std::string>(const Oid&)>& read,
                    std::vector<Oid>* data, std::vector<Oid>* records) {
  data->push_back(v.artifact.object);
  if (v.artifact.kind == ObjectKind::kTree) {
    CAIRN_ASSIGN_OR_RETURN(std::string text, read(v.artifact.object));
    auto tree = Tree::Decode(text);
    if (!tree.ok()) return tree.status().WithContext("artifact tree of model " + v.model + "@" + std::to_string(v.version));
    for (const TreeEntry& e : tree->entries) data->push_back(e.oid);
  }
  if (v.run_record) {
    records->push_back(*v.run_record);
    CAIRN_ASSIGN_OR_RETURN(std::string record, read(*v.run_record));
    CAIRN_RETURN_IF_ERROR(RunRecordObjects(record, v.run, data));
  }
  return Status::OK();
}

}  // namespace model_sync

Status SplitModelTargets(std::vector<std::string>* targets, ModelSelection* selection) {
  selection->all = targets->empty();
  std::vector<std::string> rest;
  for (const std::string& t : *targets) {
    if (!IsModelRef(t)) {
      rest.push_back(t);
      continue;
    }
    std::string name = t.substr(std::strlen("model:"));
    name = name.substr(0, name.find('@'));
    CAIRN_RETURN_IF_ERROR(ValidateModelName(name));
    selection->names.insert(name);
  }
  *targets = std::move(rest);
  return Status::OK();
}

Status MarkRemoteModels(Repo* repo, RemoteSession& session, OidSet* live, uint64_t* versions) {
  Backend& backend = session.backend();
  std::vector<std::string> ignored;
  ModelSelection all;
  all.all = true;
  CAIRN_ASSIGN_OR_RETURN(RegistryRefs remote, model_sync::ListRemote(backend, all, &ignored));
  auto read = [&](const Oid& oid) -> Result<std::string> {
    if (repo && repo->store().Has(oid)) return repo->store().Read(oid);
    return session.ReadObject(oid);
  };
  for (auto& [model, refs] : remote) {
    CAIRN_RETURN_IF_ERROR(model_sync::ReadRemoteVersions(backend, model, refs.version_numbers, {}, &refs));
    for (const auto& [n, oid] : refs.versions) {
      ++*versions;
      if (!session.index().HasObject(oid)) continue;  // its objects never arrived: nothing of it to keep
      live->insert(oid);
      CAIRN_ASSIGN_OR_RETURN(std::string text, read(oid));
      std::string where = "remote model " + model + "@" + std::to_string(n);
      CAIRN_ASSIGN_OR_RETURN(ModelVersion v, ModelVersion::Decode(text, where));
      std::vector<Oid> data, records;
      CAIRN_RETURN_IF_ERROR(model_sync::VersionParts(v, read, &data, &records));
      live->insert(data.begin(), data.end());
      live->insert(records.begin(), records.end());
    }
  }
  return Status::OK();
}

}  // namespace cairn
