#include "remote/transfer.h"

#include <cstring>

#include "cairn/dataset.h"
#include "cairn/run_record.h"
#include "cairn/tracking.h"
#include "util/file.h"

namespace cairn {
namespace {

void AddVersion(Wanted* w, const Oid& v, const std::string& dataset) {
  if (std::find(w->versions.begin(), w->versions.end(), v) == w->versions.end()) w->versions.push_back(v);
  w->datasets.insert(dataset);
}

}  // namespace

bool IsFullHex(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::vector<std::string> LockRunsToTransfer(Repo& repo, const TransferOptions& options, std::string_view moved,
                                            TransferReport* report) {
  std::vector<std::string> ids;
  if (!options.lock_runs || !options.targets.empty()) return ids;
  auto named = CommittedLockRuns(repo);
  if (!named.ok()) {
    report->warnings.push_back("the runs cairn.lock names are not " + std::string(moved) + ": " +
                               named.status().message());
    return ids;
  }
  for (const std::string& id : *named) {
    if (ValidateRunId(id).ok()) ids.push_back(id);
  }
  return ids;
}

std::string RemoteTagKey(const std::string& dataset, const std::string& tag) {
  return std::string(remote_keys::kTags) + EscapeDatasetName(dataset) + "/" + tag;
}

Result<Tag> ReadRemoteTag(Backend& backend, const std::string& dataset, const std::string& tag) {
  auto data = backend.Get(RemoteTagKey(dataset, tag));
  if (!data.ok()) {
    if (data.status().code() == Code::kNotFound) {
      return Status::NotFound("no tag " + dataset + "@" + tag + " on " + backend.Describe(),
                              "list the remote's tags by fetching, or check the name");
    }
    return data.status();
  }
  return DecodeTag(*data, dataset, tag);
}

Result<Wanted> ResolveTargets(Repo& repo, const std::vector<std::string>& targets, RemoteSession* remote) {
  Wanted w;
  if (targets.empty()) {
    CAIRN_ASSIGN_OR_RETURN(std::vector<Tracked> tracked, FindTracked(repo));
    for (const Tracked& t : tracked) {
      AddVersion(&w, t.pointer.version, t.pointer.dataset);
      w.paths.push_back(t.path);
    }
    return w;
  }
  for (const std::string& target : targets) {
    size_t at = target.find('@');
    if (at == std::string::npos) {
      // A path (file or directory holding pointer files), else a dataset name.
      auto rel = repo.RelativePath(target);
      if (rel.ok()) {
        CAIRN_ASSIGN_OR_RETURN(std::vector<Tracked> tracked, FindTrackedAt(repo, {*rel}));
        if (!tracked.empty()) {
          for (const Tracked& t : tracked) {
            AddVersion(&w, t.pointer.version, t.pointer.dataset);
            w.paths.push_back(t.path);
          }
          continue;
        }
      }
      CAIRN_ASSIGN_OR_RETURN(ResolvedRef r, ResolveRef(repo, target));
      AddVersion(&w, r.version, r.dataset);
      if (!r.path.empty()) w.paths.push_back(r.path);
      continue;
    }
    auto r = ResolveRef(repo, target);
    if (r.ok()) {
      AddVersion(&w, r->version, r->dataset);
      continue;
    }
    if (!remote || r.status().code() != Code::kNotFound) return r.status();
    // Not known here: a tag (or a full version oid) on the remote.
    std::string dataset = target.substr(0, at), name = target.substr(at + 1);
    if (auto rel = repo.RelativePath(dataset); rel.ok()) {
      if (auto tracked = FindTrackedAt(repo, {*rel}); tracked.ok() && tracked->size() == 1) {
        dataset = (*tracked)[0].pointer.dataset;
      }
    }
    if (IsFullHex(name)) {
      CAIRN_ASSIGN_OR_RETURN(Oid v, Oid::Parse(name));
      AddVersion(&w, v, dataset);
      continue;
    }
    auto tag = ReadRemoteTag(remote->backend(), dataset, name);
    if (!tag.ok()) return tag.status().code() == Code::kNotFound ? r.status() : tag.status();
    AddVersion(&w, tag->version, dataset);
  }
  return w;
}

Result<std::vector<std::pair<std::string, Oid>>> ListRemoteRuns(Backend& backend, const std::string& id) {
  std::string prefix = std::string(remote_keys::kRuns) + (id.empty() ? "" : id + "/");
  CAIRN_ASSIGN_OR_RETURN(std::vector<RemoteObject> listed, backend.List(prefix));
  std::vector<std::pair<std::string, Oid>> out;
  for (const RemoteObject& o : listed) {
    std::string rest = o.key.substr(std::strlen(remote_keys::kRuns));
    size_t slash = rest.find('/');
    if (slash == std::string::npos) continue;
    auto oid = Oid::Parse(rest.substr(slash + 1));
    if (!oid.ok()) continue;
    out.emplace_back(rest.substr(0, slash), *oid);
  }
  return out;
}

Status DownloadMissing(RemoteSession& session, ObjectStore& store, const fs::path& tmp,
                       const std::vector<Oid>& oids, bool progress, TransferReport* report) {
  std::vector<Oid> missing;
  OidSet seen;
  for (const Oid& o : oids) {
    if (seen.insert(o).second && !store.Has(o)) missing.push_back(o);
  }
  report->objects += seen.size();
  report->objects_moved += missing.size();
  if (missing.empty()) return Status::OK();
  CAIRN_RETURN_IF_ERROR(session.Download(store, tmp, missing, progress, &report->chunks_moved, &report->bytes_moved));
  for (const Oid& o : missing) {
    auto size = store.Size(o);
    if (size.ok()) report->bytes_logical += *size;
  }
  return Status::OK();
}

fs::path IndexCacheDir(Repo& repo, const RemoteSpec& spec) {
  if (spec.name.empty()) return {};
  return repo.layout().remote_index_cache(spec.name);
}

Status RunRecordObjects(std::string_view record, const std::string& id, std::vector<Oid>* out) {
  std::optional<Oid> history;
  CAIRN_ASSIGN_OR_RETURN(RunInfo run, DecodeRunRecordOf(record, id, &history));
  if (history) out->push_back(*history);
  for (const RunArtifact& a : run.artifacts) out->push_back(a.oid);
  return Status::OK();
}

}  // namespace cairn
