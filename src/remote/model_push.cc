// cairn push, the registry's part (model_sync.h): plan before the upload,
// publish the refs after it.
#include "registry/registry_internal.h"
#include "remote/model_sync.h"
#include "remote/transfer.h"
#include "util/file.h"

namespace cairn {
namespace {

using model_sync::Digest;
using model_sync::ModelPrefix;

std::string VersionName(const std::string& model, int64_t n) { return model + "@" + std::to_string(n); }

// "v3 (moved by alice at 2026-12-01 22:10)" for an alias ref's text; "absent" for none.
std::string DescribeAlias(const std::string& model, const std::string& alias, const std::string& text) {
  if (text.empty()) return "absent";
  auto a = registry_internal::DecodeAlias(text, model, alias);
  if (!a.ok()) return "unreadable";
  return "v" + std::to_string(a->version) + (a->user.empty() ? "" : " (moved by " + a->user + ")");
}

// Adds version `n` of `model` to the upload: its parts the remote lacks are
// checked to be here. FailedPrecondition when neither side has one.
Status AddVersion(Repo& repo, const RemoteIndex& remote, const std::string& model, int64_t n, const Oid& oid,
                  std::vector<Oid>* data, std::vector<Oid>* meta) {
  std::string name = VersionName(model, n);
  auto lacking = [&](const Oid& o) {
    return Status::FailedPrecondition("model " + name + " needs object " + o.ToString() +
                                          ", which is neither in this clone's cache nor on the remote",
                                      "push from the clone that registered it, or fetch it first");
  };
  if (!repo.store().Has(oid)) return remote.HasObject(oid) ? Status::OK() : lacking(oid);
  CAIRN_ASSIGN_OR_RETURN(std::string text, repo.store().Read(oid));
  CAIRN_ASSIGN_OR_RETURN(ModelVersion v, ModelVersion::Decode(text, "model " + name));
  if (v.model != model || v.version != n) {
    return Status::Corruption("model " + name + " names the object of " + VersionName(v.model, v.version),
                              "run 'cairn fsck'");
  }
  auto read = [&](const Oid& o) -> Result<std::string> {
    if (!repo.store().Has(o)) return lacking(o);
    return repo.store().Read(o);
  };
  std::vector<Oid> parts, records;
  CAIRN_RETURN_IF_ERROR(model_sync::VersionParts(v, read, &parts, &records));
  for (const Oid& o : parts) {
    if (repo.store().Has(o)) data->push_back(o);
    else if (!remote.HasObject(o)) return lacking(o);
  }
  meta->insert(meta->end(), records.begin(), records.end());
  meta->push_back(oid);
  return Status::OK();
}

}  // namespace

Status PlanModelPush(Repo& repo, RemoteSession& session, const RemoteSpec& spec, const ModelSelection& selection,
                     std::vector<Oid>* data, std::vector<Oid>* meta, ModelPushPlan* plan, TransferReport* report) {
  if (!selection.Any()) return Status::OK();
  Backend& backend = session.backend();
  CAIRN_ASSIGN_OR_RETURN(RegistryRefs local, model_sync::ReadLocal(repo, selection));
  for (const std::string& name : selection.names) {
    if (!local.count(name)) report->warnings.push_back("model " + name + " is not in this clone's registry");
  }
  if (local.empty()) return Status::OK();  // nothing to push: not even a listing
  CAIRN_ASSIGN_OR_RETURN(RegistryRefs remote, model_sync::ListRemote(backend, selection, &report->warnings));
  model_sync::Seen seen = model_sync::LoadSeen(repo, spec);
  for (auto& [model, mine] : local) {
    ModelRefSet& theirs = remote[model];
    std::set<int64_t> common;
    for (int64_t n : theirs.version_numbers) {
      if (mine.versions.count(n)) common.insert(n);
    }
    CAIRN_RETURN_IF_ERROR(model_sync::ReadRemoteVersions(backend, model, common, seen, &theirs));
    std::string conflict;
    for (int64_t n : common) {
      if (theirs.versions[n] == mine.versions[n]) continue;
      conflict = "model " + VersionName(model, n) + " is " + mine.versions[n].ToString() + " here but " +
                 theirs.versions[n].ToString() + " on the remote: two clones registered version " +
                 std::to_string(n) + " independently";
      break;
    }
    if (!conflict.empty()) {
      report->refused.push_back(conflict + "; nothing of model " + model +
                                " was pushed (version numbers are immutable). Pull to get the remote's versions "
                                "(yours is kept and skipped), then register your artifact again as a new version "
                                "in one of the clones");
      continue;
    }
    std::vector<Oid> d, m;
    Status s;
    for (const auto& [n, oid] : mine.versions) {
      if (theirs.version_numbers.count(n)) continue;
      s = AddVersion(repo, session.index(), model, n, oid, &d, &m);
      if (!s.ok()) break;
    }
    if (s.code() == Code::kFailedPrecondition) {
      report->refused.push_back(s.message() + "; nothing of model " + model + " was pushed");
      continue;
    }
    CAIRN_RETURN_IF_ERROR(s);
    for (auto& [alias, text] : theirs.aliases) {
      auto got = backend.Get(ModelPrefix(model) + "aliases/" + alias);
      if (!got.ok() && got.status().code() != Code::kNotFound) return got.status();
      text = got.ok() ? *got : "";  // deleted since the listing: absent
    }
    data->insert(data->end(), d.begin(), d.end());
    meta->insert(meta->end(), m.begin(), m.end());
    plan->local[model] = mine;
    plan->remote[model] = theirs;
  }
  // The producing runs go as runs go (their refs, so a pull imports them).
  for (const auto& [model, mine] : plan->local) {
    for (const auto& [n, oid] : mine.versions) {
      auto text = repo.store().Read(oid);
      if (!text.ok()) continue;
      auto v = ModelVersion::Decode(*text, "model " + VersionName(model, n));
      if (v.ok() && ValidateRunId(v->run).ok()) plan->run_ids.push_back(v->run);
    }
  }
  std::sort(plan->run_ids.begin(), plan->run_ids.end());
  plan->run_ids.erase(std::unique(plan->run_ids.begin(), plan->run_ids.end()), plan->run_ids.end());
  return Status::OK();
}

Status PublishModels(Repo& repo, RemoteSession& session, const RemoteSpec& spec, const ModelPushPlan& plan,
                     TransferReport* report) {
  if (plan.local.empty()) return Status::OK();
  Backend& backend = session.backend();
  const Layout& layout = repo.layout();
  model_sync::Seen seen = model_sync::LoadSeen(repo, spec);
  for (const auto& local_model : plan.local) {
    // Named references, not a structured binding: lambdas below capture them (clang 14 cannot).
    const std::string& model = local_model.first;
    const ModelRefSet& mine = local_model.second;
    const ModelRefSet& theirs = plan.remote.at(model);
    std::string prefix = ModelPrefix(model);
    bool wrote = false;
    std::map<int64_t, Oid> published = theirs.versions;
    for (const auto& [n, oid] : mine.versions) {
      if (theirs.version_numbers.count(n)) continue;
      CAIRN_RETURN_IF_ERROR(backend.Put(prefix + "versions/" + std::to_string(n), oid.ToString() + "\n"));
      published[n] = oid;
      report->model_versions++;
      wrote = true;
    }
    for (int64_t n : mine.deprecated) {
      if (theirs.deprecated.count(n) || !published.count(n)) continue;
      CAIRN_ASSIGN_OR_RETURN(std::string text, ReadFile(layout.model_deprecation(model, n)));
      CAIRN_RETURN_IF_ERROR(backend.Put(prefix + "deprecated/" + std::to_string(n), text));
      report->deprecations++;
      wrote = true;
    }
    for (const auto& [n, entry] : mine.approvals) {
      if (theirs.approvals.count({n, entry}) || !published.count(n)) continue;
      CAIRN_ASSIGN_OR_RETURN(std::string text, ReadFile(layout.model_approval(model, n, entry)));
      CAIRN_RETURN_IF_ERROR(backend.Put(prefix + "approvals/" + std::to_string(n) + "/" + entry, text));
      report->approvals++;
      wrote = true;
    }
    // Aliases last: what they name is published now.
    bool known = seen.models.count(model) > 0;
    std::map<std::string, std::string>& last = seen.aliases[model];
    std::set<std::string> names;
    for (const auto& [a, t] : mine.aliases) names.insert(a);
    for (const auto& [a, t] : theirs.aliases) names.insert(a);
    std::map<std::string, std::string> now;  // the remote's aliases after this push, as digests
    for (const std::string& alias : names) {
      std::string here = mine.aliases.count(alias) ? mine.aliases.at(alias) : "";
      std::string there = theirs.aliases.count(alias) ? theirs.aliases.at(alias) : "";
      std::string seen_digest = last.count(alias) ? last.at(alias) : "";
      auto keep_seen = [&] {  // what this clone last saw stays what it last saw
        if (seen_digest.empty()) now.erase(alias);
        else now[alias] = seen_digest;
      };
      if (!there.empty()) now[alias] = Digest(there);
      if (here == there) continue;
      auto refuse = [&] {
        report->refused.push_back("alias " + model + "@" + alias + " was moved on the remote since this clone last "
                                  "pulled (remote: " + DescribeAlias(model, alias, there) + ", here: " +
                                  DescribeAlias(model, alias, here) + "); run 'cairn pull' first, then push again");
        keep_seen();  // still not seen: the next push refuses again until a pull
      };
      if (here.empty()) {
        // Deleted here since the last sync: delete it there too, unless it moved there meanwhile.
        if (known && !seen_digest.empty()) {
          if (seen_digest != Digest(there)) {
            refuse();
            continue;
          }
          CAIRN_RETURN_IF_ERROR(backend.Delete(prefix + "aliases/" + alias));
          now.erase(alias);
          report->aliases++;
          wrote = true;
          continue;
        }
        keep_seen();  // new to this clone: nothing to push (a pull brings it)
        continue;
      }
      // The remote has not moved since this clone last saw it: unchanged
      // from the seen state, or absent with nothing known about it.
      bool unmoved = known ? (there.empty() ? seen_digest.empty() : seen_digest == Digest(there)) : there.empty();
      if (!unmoved) {
        refuse();
        continue;
      }
      {
        auto a = registry_internal::DecodeAlias(here, model, alias);
        if (!a.ok()) return a.status();
        if (!published.count(a->version) || published.at(a->version) != a->oid) {
          report->refused.push_back("alias " + model + "@" + alias + " names version " + std::to_string(a->version) +
                                    ", which the remote does not hold as it is here");
          keep_seen();
          continue;
        }
        CAIRN_RETURN_IF_ERROR(backend.Put(prefix + "aliases/" + alias, here));
        now[alias] = Digest(here);
      }
      report->aliases++;
      wrote = true;
    }
    last = now;
    seen.models.insert(model);
    seen.versions[model] = published;
    if (wrote) report->models++;
  }
  return model_sync::SaveSeen(repo, spec, seen);
}

}  // namespace cairn
