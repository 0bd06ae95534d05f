// cairn fetch / pull, the registry's part (model_sync.h): download what the
// remote's model versions consist of, then write the refs that may be
// written.
#include <algorithm>
#include <optional>
#include <unordered_map>

#include "cairn/audit.h"
#include "cairn/run_record.h"
#include "registry/registry_internal.h"
#include "remote/model_sync.h"
#include "remote/transfer.h"
#include "util/file.h"

namespace cairn {
namespace {

using model_sync::Digest;

std::string VersionName(const std::string& model, int64_t n) { return model + "@" + std::to_string(n); }

std::string AliasVersion(const std::string& model, const std::string& alias, const std::string& text) {
  if (text.empty()) return "deleted";
  auto a = registry_internal::DecodeAlias(text, model, alias);
  return a.ok() ? "v" + std::to_string(a->version) : "unreadable";
}

// Downloads version `n` of `model` and what it names; false (with a
// warning) when the remote lacks a part or the object is not that version.
Result<bool> FetchVersion(Repo& repo, RemoteSession& session, const std::string& model, int64_t n, const Oid& oid,
                          std::map<std::string, Oid>* runs, TransferReport* report) {
  std::string name = VersionName(model, n);
  ObjectStore& store = repo.store();
  const RemoteIndex& index = session.index();
  auto skip = [&](const std::string& why) {
    report->warnings.push_back("remote model " + name + " skipped: " + why);
    return false;
  };
  auto get = [&](const Oid& o) -> Result<std::string> {
    if (!store.Has(o)) {
      if (!index.HasObject(o)) return Status::NotFound("object " + o.ToString() + " is not on the remote");
      CAIRN_RETURN_IF_ERROR(DownloadMissing(session, store, repo.tmp_dir(), {o}, false, report));
    }
    return store.Read(o);
  };
  auto text = get(oid);
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) return skip("its version object is not on the remote");
    return text.status();
  }
  auto v = ModelVersion::Decode(*text, "remote model " + name);
  if (!v.ok()) return skip(v.status().message());
  if (v->model != model || v->version != n) return skip("its object is " + VersionName(v->model, v->version));
  std::vector<Oid> data, records;
  Status parts = model_sync::VersionParts(*v, get, &data, &records);
  if (parts.code() == Code::kNotFound) return skip(parts.message());
  if (parts.code() == Code::kCorruption || parts.code() == Code::kInvalidArgument) return skip(parts.message());
  CAIRN_RETURN_IF_ERROR(parts);
  for (const Oid& o : data) {
    if (!store.Has(o) && !index.HasObject(o)) return skip("object " + o.ToString() + " is not on the remote");
  }
  CAIRN_RETURN_IF_ERROR(DownloadMissing(session, store, repo.tmp_dir(), data, false, report));
  // The producing run, as fetch brings runs: its remote ref and what the
  // record it names holds, so ImportRuns makes it a run of this clone.
  if (!runs->count(v->run) && ValidateRunId(v->run).ok()) {
    CAIRN_ASSIGN_OR_RETURN(auto refs, ListRemoteRuns(session.backend(), v->run));
    if (!refs.empty()) {
      Oid record = refs.back().second;
      auto record_text = get(record);
      std::vector<Oid> run_parts;
      if (record_text.ok() && RunRecordObjects(*record_text, v->run, &run_parts).ok()) {
        bool all = true;
        for (const Oid& o : run_parts) all = all && (store.Has(o) || index.HasObject(o));
        if (all) {
          CAIRN_RETURN_IF_ERROR(DownloadMissing(session, store, repo.tmp_dir(), run_parts, false, report));
          (*runs)[v->run] = record;
        }
      }
    }
  }
  return true;
}

Status WriteNew(const fs::path& path, const std::string& text) {
  CAIRN_RETURN_IF_ERROR(MakeDirs(path.parent_path()));
  CAIRN_ASSIGN_OR_RETURN(TempFile tmp, TempFile::Create(path.parent_path(), "ref"));
  CAIRN_RETURN_IF_ERROR(tmp.Write(text));
  return tmp.CommitNoReplace(path, /*sync=*/true);
}

}  // namespace

Status FetchModels(Repo& repo, RemoteSession& session, const RemoteSpec& spec, const ModelSelection& selection,
                   std::map<std::string, Oid>* runs, ModelFetchPlan* plan, TransferReport* report) {
  if (!selection.Any()) return Status::OK();
  Backend& backend = session.backend();
  CAIRN_ASSIGN_OR_RETURN(plan->local, model_sync::ReadLocal(repo, selection));
  CAIRN_ASSIGN_OR_RETURN(plan->remote, model_sync::ListRemote(backend, selection, &report->warnings));
  model_sync::Seen seen = model_sync::LoadSeen(repo, spec);
  for (const std::string& name : selection.names) {
    if (!plan->remote.count(name)) report->warnings.push_back("model " + name + " is not on the remote");
  }
  for (auto& [model, theirs] : plan->remote) {
    ModelRefSet& mine = plan->local[model];
    CAIRN_RETURN_IF_ERROR(model_sync::ReadRemoteVersions(backend, model, theirs.version_numbers, seen, &theirs));
    for (const auto& [n, oid] : theirs.versions) {
      if (mine.versions.count(n)) {
        if (mine.versions[n] != oid) {
          report->warnings.push_back("model " + VersionName(model, n) + " is " + mine.versions[n].ToString() +
                                     " here but " + oid.ToString() + " on the remote (registered independently); " +
                                     "the remote's version " + std::to_string(n) + " is skipped and yours kept");
        }
        continue;
      }
      CAIRN_ASSIGN_OR_RETURN(bool arrived, FetchVersion(repo, session, model, n, oid, runs, report));
      if (arrived) plan->arrived.insert({model, n});
    }
    std::map<std::string, std::string>& texts = plan->texts[model];
    std::string prefix = model_sync::ModelPrefix(model);
    for (auto it = theirs.aliases.begin(); it != theirs.aliases.end();) {
      auto got = backend.Get(prefix + "aliases/" + it->first);
      if (!got.ok() && got.status().code() != Code::kNotFound) return got.status();
      if (!got.ok()) {  // deleted since the listing
        it = theirs.aliases.erase(it);
        continue;
      }
      (it++)->second = std::move(*got);
    }
    for (int64_t n : theirs.deprecated) {
      std::string key = "deprecated/" + std::to_string(n);
      if (mine.deprecated.count(n)) continue;
      CAIRN_ASSIGN_OR_RETURN(texts[key], backend.Get(prefix + key));
    }
    for (const auto& [n, entry] : theirs.approvals) {
      std::string key = "approvals/" + std::to_string(n) + "/" + entry;
      if (mine.approvals.count({n, entry})) continue;
      CAIRN_ASSIGN_OR_RETURN(texts[key], backend.Get(prefix + key));
    }
  }
  return Status::OK();
}

Status WriteFetchedModels(Repo& repo, const RemoteSpec& spec, const ModelFetchPlan& plan, TransferReport* report) {
  if (plan.remote.empty()) return Status::OK();
  const Layout& layout = repo.layout();
  model_sync::Seen seen = model_sync::LoadSeen(repo, spec);
  // The local audit log (the remote's entries merged already), read when
  // the first remote alias is to be taken: each must match the entry it names.
  std::optional<Result<std::unordered_map<std::string, AuditEntry>>> log;
  auto audit_entry = [&](const std::string& id) -> Result<const AuditEntry*> {
    if (!log) {
      auto entries = ReadAudit(repo);
      if (!entries.ok()) {
        log = entries.status();
      } else {
        std::unordered_map<std::string, AuditEntry> by_id;
        for (AuditEntry& e : *entries) by_id.emplace(e.id, std::move(e));
        log = std::move(by_id);
      }
    }
    if (!log->ok()) return log->status();
    auto it = (*log)->find(id);
    return it == (*log)->end() ? nullptr : &it->second;
  };
  // Whether the log records a deletion of MODEL@ALIAS at or after `since_ms`.
  auto audit_deletion = [&](const std::string& model, const std::string& alias, int64_t since_ms) -> Result<bool> {
    CAIRN_RETURN_IF_ERROR(audit_entry("").status());  // reads the log once
    for (const auto& [id, e] : **log) {
      if (e.action != "model.alias.delete" || e.time_ms < since_ms || !e.details.is_object() ||
          e.details.value("alias", Json()) != Json(alias)) {
        continue;
      }
      if (std::find(e.subjects.begin(), e.subjects.end(), "model:" + model) != e.subjects.end()) return true;
    }
    return false;
  };
  for (const auto& remote_model : plan.remote) {
    // Named references, not a structured binding: lambdas below capture them (clang 14 cannot).
    const std::string& model = remote_model.first;
    const ModelRefSet& theirs = remote_model.second;
    const ModelRefSet& mine = plan.local.at(model);
    const std::map<std::string, std::string>& texts = plan.texts.at(model);
    bool wrote = false;
    std::map<int64_t, Oid> versions = mine.versions;
    for (const auto& [n, oid] : theirs.versions) {
      if (versions.count(n) || !plan.arrived.count({model, n})) continue;
      if (!repo.store().Has(oid)) continue;
      Status s = WriteNew(layout.model_version(model, n), oid.ToString() + "\n");
      if (s.code() == Code::kAlreadyExists) continue;  // registered here meanwhile: yours is kept
      CAIRN_RETURN_IF_ERROR(s);
      versions[n] = oid;
      report->model_versions++;
      wrote = true;
    }
    // The same object on both sides: what the remote says about it applies here.
    auto agree = [&](int64_t n) {
      return versions.count(n) && theirs.versions.count(n) && versions.at(n) == theirs.versions.at(n);
    };
    std::string name = "model " + model;
    // A remote approval or deprecation is taken only when the entry it names records it.
    auto audited = [&](const std::string& what, const std::string& id, const std::string& action, int64_t n,
                       const std::string& user, int64_t time_ms) -> Status {
      CAIRN_ASSIGN_OR_RETURN(const AuditEntry* e, audit_entry(id));
      return registry_internal::CheckRefAudit(what, id, e, action, "model:" + VersionName(model, n), user, time_ms);
    };
    for (int64_t n : theirs.deprecated) {
      std::string key = "deprecated/" + std::to_string(n);
      if (mine.deprecated.count(n) || !agree(n)) continue;
      const std::string& text = texts.at(key);
      auto d = registry_internal::DecodeDeprecation(text, "remote deprecation of " + VersionName(model, n));
      if (!d.ok()) {
        report->warnings.push_back(d.status().message() + ": skipped");
        continue;
      }
      if (Status s = audited("deprecation of " + VersionName(model, n), d->audit_entry, "model.deprecate", n, d->user,
                             d->time_ms);
          !s.ok()) {
        report->warnings.push_back("remote " + s.message() + ": skipped (" + s.hint() + ")");
        continue;
      }
      CAIRN_RETURN_IF_ERROR(MakeDirs(layout.model_deprecation(model, n).parent_path()));
      CAIRN_RETURN_IF_ERROR(WriteFileAtomic(layout.model_deprecation(model, n), text, /*sync=*/true));
      report->deprecations++;
      wrote = true;
    }
    for (const auto& [n, entry] : theirs.approvals) {
      std::string key = "approvals/" + std::to_string(n) + "/" + entry;
      if (mine.approvals.count({n, entry}) || !agree(n)) continue;
      const std::string& text = texts.at(key);
      auto a = registry_internal::DecodeApproval(text, "remote approval " + entry + " of " + VersionName(model, n), entry);
      if (!a.ok()) {
        report->warnings.push_back(a.status().message() + ": skipped");
        continue;
      }
      if (Status s = audited("approval of " + VersionName(model, n) + " by " + a->user, entry, "model.approve", n,
                             a->user, a->time_ms);
          !s.ok()) {
        report->warnings.push_back("remote " + s.message() + ": skipped (" + s.hint() + ")");
        continue;
      }
      fs::path path = layout.model_approval(model, n, entry);
      CAIRN_RETURN_IF_ERROR(MakeDirs(path.parent_path()));
      CAIRN_RETURN_IF_ERROR(WriteFileAtomic(path, text, /*sync=*/true));
      report->approvals++;
      wrote = true;
    }
    // Aliases: the remote's wins where this clone's has not moved since the last sync.
    bool known = seen.models.count(model) > 0;
    const std::map<std::string, std::string>& last = seen.aliases[model];
    std::set<std::string> names;
    for (const auto& [a, t] : mine.aliases) names.insert(a);
    for (const auto& [a, t] : theirs.aliases) names.insert(a);
    std::set<std::string> untaken;  // refused: not remembered as seen, so a later pull looks again
    for (const std::string& alias : names) {
      std::string here = mine.aliases.count(alias) ? mine.aliases.at(alias) : "";
      std::string there = theirs.aliases.count(alias) ? theirs.aliases.at(alias) : "";
      if (here == there) continue;
      std::string seen_digest = last.count(alias) ? last.at(alias) : "";
      auto unmoved = [&](const std::string& text) {
        return known ? (text.empty() ? seen_digest.empty() : seen_digest == Digest(text)) : text.empty();
      };
      std::string which = name + "@" + alias;
      if (there.empty() && theirs.aliases.count(alias)) {  // a file with nothing in it is not a deletion
        report->warnings.push_back("remote alias " + which + " is an empty file: skipped");
        untaken.insert(alias);
        continue;
      }
      if (!unmoved(here)) {
        if (there.empty() && !known) continue;  // only here: the next push publishes it
        if (!(known && unmoved(there))) {
          report->warnings.push_back("alias " + which + " was moved both here (to " + AliasVersion(model, alias, here) +
                                     ") and on the remote (to " + AliasVersion(model, alias, there) +
                                     ") since the last sync; yours is kept: 'cairn push' publishes it" +
                                     (there.empty() ? std::string()
                                                    : ", or take theirs with 'cairn model alias " + model + "@" +
                                                          AliasVersion(model, alias, there).substr(1) + " " + alias +
                                                          "'"));
        }
        continue;  // moved here only: the next push publishes it
      }
      fs::path path = layout.model_alias(model, alias);
      if (there.empty()) {
        // Gone from the remote: deleted there only if the log says so, after this clone's move.
        auto mine_state = registry_internal::DecodeAlias(here, model, alias);
        int64_t since = mine_state.ok() ? mine_state->time_ms : 0;
        auto deleted = audit_deletion(model, alias, since);
        if (!deleted.ok() || !*deleted) {
          report->warnings.push_back("alias " + which + " is gone from the remote, but " +
                                     (deleted.ok() ? std::string("no audit entry records its deletion")
                                                   : deleted.status().message()) +
                                     ": kept here ('cairn push' puts it back on the remote)");
          untaken.insert(alias);
          continue;
        }
        std::error_code ec;
        fs::remove(path, ec);
        if (ec) return Status::FromErrno("cannot remove " + path.string(), ec.value());
      } else {
        auto a = registry_internal::DecodeAlias(there, model, alias);
        if (!a.ok()) {
          report->warnings.push_back("remote " + a.status().message() + ": skipped");
          continue;
        }
        if (!versions.count(a->version) || versions.at(a->version) != a->oid) {
          report->warnings.push_back("remote alias " + which + " skipped: it names version " +
                                     std::to_string(a->version) + " (" + a->oid.Short() +
                                     "), which this clone does not hold as the remote does");
          continue;
        }
        auto entry = audit_entry(a->audit_entry);
        Status agrees = entry.ok() ? registry_internal::CheckAliasAudit(model, *a, *entry) : entry.status();
        if (!agrees.ok()) {
          report->warnings.push_back("remote alias " + which + " skipped: " + agrees.message() +
                                     (agrees.hint().empty() ? "" : " (" + agrees.hint() + ")"));
          untaken.insert(alias);
          continue;
        }
        CAIRN_RETURN_IF_ERROR(MakeDirs(path.parent_path()));
        CAIRN_RETURN_IF_ERROR(WriteFileAtomic(path, there, /*sync=*/true));
      }
      report->aliases++;
      wrote = true;
    }
    std::map<std::string, std::string> now;
    for (const auto& [alias, text] : theirs.aliases) {
      if (!untaken.count(alias)) now[alias] = Digest(text);
      else if (last.count(alias)) now[alias] = last.at(alias);
    }
    seen.aliases[model] = now;
    seen.models.insert(model);
    seen.versions[model] = theirs.versions;
    if (wrote) report->models++;
  }
  return model_sync::SaveSeen(repo, spec, seen);
}

}  // namespace cairn
