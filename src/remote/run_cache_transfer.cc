// Run-cache entries on a remote (refs/runcache/<key hex>, the entry's text):
// listing and reading them, and fetch's part, which brings an entry only
// with everything it names and only when it agrees with its run's record.
//
// A remote is not trusted to be right: an entry that repro would restore
// from must never put wrong outputs in the workspace. So an entry is kept
// only when (1) it parses (ParseRunCache refuses paths leaving the
// repository), (2) every version and blob it names arrived verified, and
// (3) the record of the run it names is a finished stage run whose command,
// dep oids and params hash to the entry's key and whose cairn.out.* tags
// name exactly the entry's output versions.
#include <cstring>
#include <set>

#include "cairn/dataset.h"
#include "cairn/run_record.h"
#include "cairn/tracking.h"
#include "remote/transfer.h"
#include "util/file.h"

namespace cairn {
namespace {

constexpr char kOutTag[] = "cairn.out.";
constexpr char kDepTag[] = "cairn.dep.";

// Why `entry` (stored under `key`) does not describe what `run` did; empty
// when it does.
std::string Disagreement(const Oid& key, const RunCacheEntry& entry, const RunInfo& run) {
  if (run.status != RunStatus::kFinished) return "its run did not finish";
  LockedStage inputs;
  inputs.cmd = run.command;
  inputs.params = run.params;
  std::map<std::string, Oid> outs;
  for (const auto& [tag, value] : run.tags) {
    bool dep = tag.starts_with(kDepTag), out = tag.starts_with(kOutTag);
    if (!dep && !out) continue;
    auto oid = Oid::Parse(value);
    if (!oid.ok()) return "its run's tag " + tag + " is not an oid";
    (dep ? inputs.deps : outs)[tag.substr(std::strlen(dep ? kDepTag : kOutTag))] = *oid;
  }
  auto tagged = run.tags.find("cairn.run_cache_key");
  if (tagged == run.tags.end() || tagged->second != key.Hex()) return "its run was not made for these inputs";
  if (RunCacheKey(inputs) != key) return "its run's command, deps and params do not give its key";
  if (outs != entry.outs) return "it names other outputs than its run made";
  return "";
}

// The record of run `id`: the one this fetch brought, else this clone's.
Result<std::optional<RunInfo>> RunOf(Repo& repo, const std::map<std::string, Oid>& runs, const std::string& id) {
  Oid record;
  if (auto it = runs.find(id); it != runs.end()) {
    record = it->second;
  } else {
    std::error_code ec;
    if (!fs::exists(repo.layout().run(id), ec)) return std::optional<RunInfo>();
    CAIRN_ASSIGN_OR_RETURN(record, ReadRunRef(repo.layout().run(id)));
  }
  if (!repo.store().Has(record)) return std::optional<RunInfo>();
  CAIRN_ASSIGN_OR_RETURN(std::string data, repo.store().Read(record));
  std::optional<Oid> history;
  CAIRN_ASSIGN_OR_RETURN(RunInfo run, DecodeRunRecord(data, "run " + id, &history));
  return std::optional<RunInfo>(std::move(run));
}

struct Candidate {
  Oid key;
  RunCacheEntry entry;
  std::string skipped;  // why it cannot be used (a note); empty while it can
};

}  // namespace

std::string RemoteRunCacheKey(const Oid& key) { return std::string(remote_keys::kRunCache) + key.Hex(); }

Result<std::vector<Oid>> ListRemoteRunCache(Backend& backend, std::vector<std::string>* problems) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<RemoteObject> listed, backend.List(remote_keys::kRunCache));
  std::vector<Oid> keys;
  for (const RemoteObject& o : listed) {
    std::string name = o.key.substr(std::strlen(remote_keys::kRunCache));
    auto key = IsFullHex(name) ? Oid::Parse(name) : Result<Oid>(Status::Corruption("not a key"));
    if (!key.ok()) {
      if (problems) problems->push_back(o.key + ": not a run-cache key (64 hex digits)");
      continue;
    }
    keys.push_back(*key);
  }
  std::sort(keys.begin(), keys.end(), [](const Oid& a, const Oid& b) { return a.Hex() < b.Hex(); });
  return keys;
}

Result<RunCacheEntry> ReadRemoteRunCache(Backend& backend, const Oid& key) {
  CAIRN_ASSIGN_OR_RETURN(std::string text, backend.Get(RemoteRunCacheKey(key)));
  auto entry = ParseRunCache(text);
  if (!entry.ok()) {
    return Status::Corruption("run-cache entry " + RemoteRunCacheKey(key) + " on " + backend.Describe() +
                                  " is damaged: " + entry.status().message(),
                              "delete it on the remote and push the entry again from a clone that has it");
  }
  return std::move(*entry);
}

Status FetchRunCache(Repo& repo, RemoteSession& session, const std::map<std::string, Oid>& runs,
                     std::vector<std::pair<Oid, RunCacheEntry>>* usable, TransferReport* report) {
  Backend& backend = session.backend();
  const RemoteIndex& index = session.index();
  ObjectStore& store = repo.store();
  CAIRN_ASSIGN_OR_RETURN(std::vector<Oid> keys, ListRemoteRunCache(backend, &report->warnings));
  std::vector<Candidate> candidates;
  for (const Oid& key : keys) {
    std::error_code ec;
    if (fs::exists(repo.layout().run_cache_entry(key.Hex()), ec)) continue;  // this clone's own entry is kept
    auto entry = ReadRemoteRunCache(backend, key);
    if (!entry.ok()) {
      if (entry.status().code() != Code::kCorruption) return entry.status();
      report->warnings.push_back(entry.status().message() + "; skipped");
      continue;
    }
    candidates.push_back(Candidate{key, std::move(*entry), ""});
  }
  // An object is there when this clone has it or the remote's index does.
  auto need = [&](Candidate& c, const Oid& oid, std::vector<Oid>* wanted) {
    if (!c.skipped.empty()) return;
    if (!store.Has(oid) && !index.HasObject(oid)) {
      c.skipped = "object " + oid.Short() + " it names is not on the remote";
      return;
    }
    wanted->push_back(oid);
  };
  // Versions first, then their trees, then the trees' blobs (and metrics blobs).
  std::vector<Oid> versions;
  for (Candidate& c : candidates) {
    for (const auto& [path, v] : c.entry.outs) need(c, v, &versions);
  }
  CAIRN_RETURN_IF_ERROR(DownloadMissing(session, store, repo.tmp_dir(), versions, false, report));
  std::vector<Oid> trees, blobs;
  std::vector<std::vector<Oid>> trees_of(candidates.size());
  for (size_t i = 0; i < candidates.size(); ++i) {
    Candidate& c = candidates[i];
    for (const auto& [path, v] : c.entry.outs) {
      if (!c.skipped.empty()) break;
      auto version = LoadVersion(repo, v);
      if (!version.ok()) {
        c.skipped = "version " + v.Short() + " cannot be read: " + version.status().message();
        break;
      }
      need(c, version->object, version->kind == ObjectKind::kTree ? &trees : &blobs);
      if (version->kind == ObjectKind::kTree) trees_of[i].push_back(version->object);
    }
    for (const auto& [path, blob] : c.entry.metrics) need(c, blob, &blobs);
  }
  CAIRN_RETURN_IF_ERROR(DownloadMissing(session, store, repo.tmp_dir(), trees, false, report));
  for (size_t i = 0; i < candidates.size(); ++i) {
    Candidate& c = candidates[i];
    for (const Oid& t : trees_of[i]) {
      if (!c.skipped.empty()) break;
      auto data = store.Read(t);
      auto tree = data.ok() ? Tree::Decode(*data) : Result<Tree>(data.status());
      if (!tree.ok()) {
        c.skipped = "tree " + t.Short() + " cannot be read: " + tree.status().message();
        break;
      }
      for (const TreeEntry& e : tree->entries) need(c, e.oid, &blobs);
    }
  }
  // Blobs of entries skipped meanwhile may still come: harmless (gc takes them).
  CAIRN_RETURN_IF_ERROR(DownloadMissing(session, store, repo.tmp_dir(), blobs, false, report));

  for (Candidate& c : candidates) {
    std::string name = "run-cache entry " + c.key.Short();
    if (!c.skipped.empty()) {
      report->notes.push_back(name + " skipped: " + c.skipped);
      continue;
    }
    if (c.entry.run.empty()) {
      report->notes.push_back(name + " skipped: it names no run");
      continue;
    }
    auto run = RunOf(repo, runs, c.entry.run);
    if (!run.ok()) {
      report->warnings.push_back(name + " skipped: " + run.status().message());
      continue;
    }
    if (!*run) {
      report->notes.push_back(name + " skipped: its run " + c.entry.run + " is not on the remote");
      continue;
    }
    if (std::string why = Disagreement(c.key, c.entry, **run); !why.empty()) {
      report->warnings.push_back(name + " on " + backend.Describe() + " skipped: " + why);
      continue;
    }
    usable->emplace_back(c.key, std::move(c.entry));
  }
  return Status::OK();
}

}  // namespace cairn
