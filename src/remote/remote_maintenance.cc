// cairn fsck --remote and cairn gc --remote.
#include <cstring>
#include <ctime>
#include <map>
#include <set>

#include "cairn/audit.h"
#include "cairn/dataset.h"
#include "cairn/remote.h"
#include "cairn/gc_roots.h"
#include "remote/derived_sync.h"
#include "remote/model_sync.h"
#include "remote/transfer.h"
#include "util/file.h"
#include "util/progress.h"

namespace cairn {
namespace {

// Reads a small object from the local cache when it is there, else from the remote.
Result<std::string> ReadEither(Repo* repo, RemoteSession& session, const Oid& oid) {
  if (repo && repo->store().Has(oid)) return repo->store().Read(oid);
  return session.ReadObject(oid);
}

// Adds a version and everything it needs to `live`.
Status MarkVersion(Repo* repo, RemoteSession& session, const Oid& v, OidSet* live) {
  if (!live->insert(v).second) return Status::OK();
  CAIRN_ASSIGN_OR_RETURN(std::string data, ReadEither(repo, session, v));
  auto version = Version::Decode(data);
  if (!version.ok()) return version.status().WithContext("version " + v.ToString());
  live->insert(version->object);
  if (version->kind == ObjectKind::kTree) {
    CAIRN_ASSIGN_OR_RETURN(std::string t, ReadEither(repo, session, version->object));
    auto tree = Tree::Decode(t);
    if (!tree.ok()) return tree.status().WithContext("tree " + version->object.ToString());
    for (const TreeEntry& e : tree->entries) live->insert(e.oid);
  }
  return Status::OK();
}

// Every tag on the remote: (dataset, tag name, key).
Result<std::vector<Tag>> RemoteTags(Backend& backend, std::vector<std::string>* problems) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<RemoteObject> listed, backend.List(remote_keys::kTags));
  std::vector<Tag> tags;
  for (const RemoteObject& o : listed) {
    std::string rest = o.key.substr(std::strlen(remote_keys::kTags));
    size_t slash = rest.find('/');
    if (slash == std::string::npos) continue;
    std::string ds = UnescapeDatasetName(rest.substr(0, slash));
    auto tag = ReadRemoteTag(backend, ds, rest.substr(slash + 1));
    if (!tag.ok()) {
      if (problems) problems->push_back(o.key + ": " + tag.status().message());
      continue;
    }
    tags.push_back(std::move(*tag));
  }
  return tags;
}

}  // namespace

Result<RemoteFsckReport> FsckRemote(Repo* repo, const RemoteSpec& spec, bool data, bool progress_enabled) {
  RemoteFsckReport report;
  // No index cache: fsck checks what the remote holds now.
  CAIRN_ASSIGN_OR_RETURN(auto session, RemoteSession::Open(spec, fs::path(), /*for_write=*/false, 0));
  (void)repo;
  auto problem = [&](std::string what, std::string name, std::string message) {
    report.problems.push_back({std::move(what), std::move(name), std::move(message)});
  };
  for (const std::string& p : session->load_problems()) problem("index", "", p);
  for (const RemoteSession::DamagedPack& p : session->damaged_packs()) problem("pack", p.key, p.problem);
  report.orphan_packs = session->orphan_packs().size();
  const auto& indexes = session->pack_indexes();
  const RemoteIndex& index = session->index();
  report.packs = indexes.size();
  for (const PackIndex& idx : indexes) {
    report.chunks += idx.chunks.size();
    report.bytes += idx.pack_size;
    for (const Recipe& r : idx.recipes) {
      uint64_t total = 0;
      bool complete = true;
      for (const Oid& c : r.chunks) {
        const RemoteIndex::Location* loc = index.FindChunk(c);
        if (!loc) {
          problem("recipe", r.oid.ToString(), "names chunk " + c.Short() + ", which no index holds");
          complete = false;
          break;
        }
        total += loc->entry.raw;
      }
      if (complete && total != r.size) {
        problem("recipe", r.oid.ToString(),
                "does not add up: its chunks make " + std::to_string(total) + " bytes, not the " +
                    std::to_string(r.size) + " it records (" + remote_keys::Index(idx.pack) + " is damaged)");
      }
    }
  }
  if (data) {
    Progress progress("fsck: packs", indexes.size(), report.bytes, progress_enabled);
    std::mutex mu;
    CAIRN_RETURN_IF_ERROR(ParallelFor(indexes.size(), session->jobs(), [&](size_t i) -> Status {
      const PackIndex& idx = indexes[i];
      std::string key = remote_keys::Pack(idx.pack);
      auto pack = session->backend().Get(key);
      std::string bad;
      if (!pack.ok()) {
        bad = pack.status().message();
      } else if (pack->size() != idx.pack_size || Oid::Of(*pack).Hex() != idx.pack) {
        bad = "content does not match its name (damaged or truncated)";
      } else {
        for (const ChunkEntry& e : idx.chunks) {
          auto raw = DecompressChunk(std::string_view(*pack).substr(e.offset, e.stored), e, key);
          if (!raw.ok()) {
            bad = raw.status().message();
            break;
          }
        }
      }
      progress.Add(1, idx.pack_size);
      if (!bad.empty()) {
        std::lock_guard lock(mu);
        problem("pack", key, bad);
      }
      return Status::OK();
    }));
  }
  // Refs, and everything they need.
  std::vector<std::string> tag_problems;
  CAIRN_ASSIGN_OR_RETURN(std::vector<Tag> tags, RemoteTags(session->backend(), &tag_problems));
  for (const std::string& p : tag_problems) problem("ref", "", p);
  auto need = [&](const std::string& ref, const Oid& oid) {
    report.objects++;
    if (!index.HasObject(oid)) problem("ref", ref, "needs object " + oid.ToString() + ", which the remote lacks");
  };
  for (const Tag& t : tags) {
    std::string ref = t.dataset + "@" + t.name;
    report.refs++;
    OidSet closure;
    Status s = MarkVersion(nullptr, *session, t.version, &closure);
    if (!s.ok()) {
      problem("ref", ref, s.message());
      continue;
    }
    for (const Oid& o : closure) need(ref, o);
  }
  CAIRN_ASSIGN_OR_RETURN(auto runs, ListRemoteRuns(session->backend()));
  for (const auto& [id, record] : runs) {
    std::string ref = "run " + id;
    report.refs++;
    auto data = session->ReadObject(record);
    std::vector<Oid> parts;
    Status s = data.ok() ? RunRecordObjects(*data, id, &parts) : data.status();
    if (!s.ok()) {
      problem("ref", ref, s.message());
      continue;
    }
    for (const Oid& o : parts) need(ref, o);
  }
  std::vector<std::string> key_problems;
  CAIRN_ASSIGN_OR_RETURN(std::vector<Oid> keys, ListRemoteRunCache(session->backend(), &key_problems));
  for (const std::string& p : key_problems) problem("ref", "", p);
  for (const Oid& key : keys) {
    std::string ref = "run-cache entry " + key.Short();
    report.refs++;
    auto entry = ReadRemoteRunCache(session->backend(), key);
    if (!entry.ok()) {
      problem("ref", ref, entry.status().message());
      continue;
    }
    OidSet closure;
    Status s;
    for (const auto& [path, v] : entry->outs) {
      if (s.ok()) s = MarkVersion(nullptr, *session, v, &closure);
    }
    if (!s.ok()) {
      problem("ref", ref, s.message());
      continue;
    }
    for (const auto& [path, blob] : entry->metrics) closure.insert(blob);
    for (const Oid& o : closure) need(ref, o);
  }
  std::vector<std::string> derived_problems;
  CAIRN_ASSIGN_OR_RETURN(std::vector<DerivedRef> derived, ListRemoteDerived(session->backend(), &derived_problems));
  for (const std::string& p : derived_problems) problem("ref", "", p);
  for (const DerivedRef& d : derived) {
    report.refs++;
    need(d.Name(), d.object);
  }
  return report;
}

Result<RemoteGcReport> GcRemote(Repo& repo, const RemoteSpec& spec, const RemoteGcOptions& options) {
  RemoteGcReport report;
  // No index cache: a damaged index on the remote must stop gc.
  CAIRN_ASSIGN_OR_RETURN(auto session, RemoteSession::Open(spec, fs::path(), /*for_write=*/false, 0));
  if (!session->load_problems().empty()) {
    return Status::Corruption("the remote's indexes are damaged: " + session->load_problems()[0],
                              "check the remote with 'cairn fsck' on it and repair it before collecting garbage");
  }
  if (!session->damaged_packs().empty()) {
    const RemoteSession::DamagedPack& p = session->damaged_packs()[0];
    return Status::Corruption("the remote's pack " + p.key + " is damaged: " + p.problem,
                              "check the remote with 'cairn fsck' on it and repair it before collecting garbage");
  }
  const RemoteIndex& index = session->index();
  Backend& backend = session->backend();

  // Roots: what local gc keeps (every module's contributor), plus the
  // remote's own tags, runs and run-cache entries.
  GcRootOptions root_options;
  root_options.keep_days = options.keep_days;
  root_options.protect = options.protect;
  root_options.now = std::time(nullptr);
  GcRootSet roots;
  CAIRN_RETURN_IF_ERROR((options.roots ? *options.roots : DefaultGcRoots()).Collect(repo, root_options, &roots));
  CAIRN_ASSIGN_OR_RETURN(std::vector<Tag> remote_tags, RemoteTags(backend, nullptr));
  for (const Tag& t : remote_tags) roots.versions.insert(t.version);

  OidSet live = roots.objects;
  for (const Oid& v : roots.versions) {
    if (!index.HasObject(v)) continue;  // never pushed: nothing of it to keep
    report.root_versions++;
    CAIRN_RETURN_IF_ERROR(MarkVersion(&repo, *session, v, &live));
  }
  CAIRN_ASSIGN_OR_RETURN(auto runs, ListRemoteRuns(backend));
  for (const auto& [id, record] : runs) {
    report.runs++;
    live.insert(record);
    CAIRN_ASSIGN_OR_RETURN(std::string data, ReadEither(&repo, *session, record));
    std::vector<Oid> parts;
    CAIRN_RETURN_IF_ERROR(RunRecordObjects(data, id, &parts));
    live.insert(parts.begin(), parts.end());
  }
  // Model versions on the remote keep their objects, artifacts and runs.
  uint64_t model_versions = 0;
  CAIRN_RETURN_IF_ERROR(MarkRemoteModels(&repo, *session, &live, &model_versions));
  report.model_versions = model_versions;
  // Run-cache entries on the remote keep what they name. One that cannot be
  // read fails gc: what it names is unknown, so nothing may go.
  std::vector<std::string> key_problems;
  CAIRN_ASSIGN_OR_RETURN(std::vector<Oid> keys, ListRemoteRunCache(backend, &key_problems));
  if (!key_problems.empty()) {
    return Status::Corruption("the remote holds an unexpected run-cache ref: " + key_problems[0],
                              "remove it from the remote before collecting garbage");
  }
  for (const Oid& key : keys) {
    CAIRN_ASSIGN_OR_RETURN(RunCacheEntry entry, ReadRemoteRunCache(backend, key));
    for (const auto& [path, v] : entry.outs) {
      if (!index.HasObject(v)) continue;  // never pushed: nothing of it to keep
      CAIRN_RETURN_IF_ERROR(MarkVersion(&repo, *session, v, &live));
    }
    for (const auto& [path, blob] : entry.metrics) live.insert(blob);
  }
  // Derived objects (profiles …) stay while what they describe stays; the
  // refs of the others go first (a ref never names a removed object).
  std::vector<std::string> derived_problems;
  CAIRN_ASSIGN_OR_RETURN(std::vector<DerivedRef> derived, ListRemoteDerived(backend, &derived_problems));
  if (!derived_problems.empty()) {
    return Status::Corruption("the remote holds an unexpected derived ref: " + derived_problems[0],
                              "remove it from the remote before collecting garbage");
  }
  std::vector<DerivedRef> dead_derived;
  for (const DerivedRef& d : derived) {
    if (live.count(d.subject)) {
      live.insert(d.object);
      report.derived++;
    } else {
      dead_derived.push_back(d);
    }
  }
  report.derived_removed = dead_derived.size();
  OidSet live_chunks, live_recipes;
  for (const Oid& o : live) {
    auto chunks = index.ObjectChunks(o);
    if (!chunks.ok()) continue;
    report.live_objects++;
    if (index.FindRecipe(o)) live_recipes.insert(o);
    for (const RemoteIndex::Location* loc : *chunks) live_chunks.insert(loc->entry.oid);
  }

  // Decide per pack. A chunk or recipe held twice counts only where the
  // index found it first; the copy elsewhere is garbage.
  const auto& indexes = session->pack_indexes();
  const auto& listed = session->indexed_packs();
  int64_t young = std::time(nullptr) - options.grace_seconds;
  enum class Fate { kKeep, kDelete, kRewrite };
  std::vector<Fate> fate(indexes.size(), Fate::kKeep);
  RemoteIndex kept;
  for (uint32_t i = 0; i < indexes.size(); ++i) {
    const PackIndex& idx = indexes[i];
    report.packs_total++;
    report.bytes_total += idx.pack_size;
    uint64_t live_bytes = 0;
    bool has_live = false;
    for (const ChunkEntry& e : idx.chunks) {
      if (live_chunks.count(e.oid) && index.FindChunk(e.oid)->pack == i) {
        live_bytes += e.stored;
        has_live = true;
      }
    }
    for (const Recipe& r : idx.recipes) {
      if (live_recipes.count(r.oid) && index.FindRecipe(r.oid) == &r) has_live = true;
    }
    if (listed[i].mtime > young) {
      // Maybe a push in progress: leave it.
    } else if (!has_live) {
      fate[i] = Fate::kDelete;
    } else if (live_bytes < options.repack_below * idx.pack_size) {
      fate[i] = Fate::kRewrite;
    }
    if (fate[i] == Fate::kKeep) kept.Add(idx);
  }
  for (uint32_t i = 0; i < indexes.size(); ++i) {
    if (fate[i] == Fate::kDelete) report.packs_deleted++;
    if (fate[i] == Fate::kRewrite) report.packs_rewritten++;
  }
  std::vector<RemoteObject> orphans;
  for (const RemoteObject& o : session->orphan_packs()) {
    if (o.mtime <= young) orphans.push_back(o);
  }

  uint64_t rewritten_live = 0;
  if (options.apply) {
    for (const DerivedRef& d : dead_derived) CAIRN_RETURN_IF_ERROR(backend.Delete(d.Name()));
    PackUploader up(backend, kept, session->jobs());
    Status s;
    for (uint32_t i = 0; s.ok() && i < indexes.size(); ++i) {
      if (fate[i] != Fate::kRewrite) continue;
      const PackIndex& idx = indexes[i];
      std::string key = remote_keys::Pack(idx.pack);
      auto pack = backend.Get(key);
      if (!pack.ok()) {
        s = pack.status();
        break;
      }
      for (const ChunkEntry& e : idx.chunks) {
        if (!live_chunks.count(e.oid) || index.FindChunk(e.oid)->pack != i) continue;
        std::string_view stored = std::string_view(*pack).substr(e.offset, e.stored);
        auto raw = DecompressChunk(stored, e, backend.Describe() + "/" + key);  // never copy damage forward
        s = raw.ok() ? up.AddChunk(e.oid, stored, e.raw, e.codec) : raw.status();
        if (!s.ok()) break;
        rewritten_live += e.stored;
      }
    }
    // Recipes whose index goes away move to the new packs' indexes.
    for (uint32_t i = 0; s.ok() && i < indexes.size(); ++i) {
      if (fate[i] == Fate::kKeep) continue;
      for (const Recipe& r : indexes[i].recipes) {
        if (live_recipes.count(r.oid) && index.FindRecipe(r.oid) == &r) s = up.AddRecipe(r);
      }
    }
    Status finished = up.Finish();
    CAIRN_RETURN_IF_ERROR(s);
    CAIRN_RETURN_IF_ERROR(finished);
    report.packs_written = up.packs_written();
    // Only now, with the live data safe in new packs: indexes first, so no
    // index ever names a missing pack.
    for (uint32_t i = 0; i < indexes.size(); ++i) {
      if (fate[i] == Fate::kKeep) continue;
      CAIRN_RETURN_IF_ERROR(backend.Delete(remote_keys::Index(indexes[i].pack)));
      CAIRN_RETURN_IF_ERROR(backend.Delete(remote_keys::Pack(indexes[i].pack)));
    }
    for (const RemoteObject& o : orphans) CAIRN_RETURN_IF_ERROR(backend.Delete(o.key));
    // RemoveStale removes what is strictly older than its cutoff: the same rule as above.
    CAIRN_ASSIGN_OR_RETURN(uint64_t stale, backend.RemoveStale(young + 1));
    report.orphans_removed = orphans.size() + stale;
  } else {
    report.orphans_removed = orphans.size();
  }
  for (uint32_t i = 0; i < indexes.size(); ++i) {
    if (fate[i] != Fate::kKeep) report.bytes_freed += indexes[i].pack_size;
  }
  for (const RemoteObject& o : orphans) report.bytes_freed += o.size;
  report.bytes_freed -= std::min(report.bytes_freed, rewritten_live);
  report.applied = options.apply;
  if (options.apply) {
    AuditEvent event;
    event.action = "remote.gc";
    event.subjects = {"remote:" + (spec.name.empty() ? backend.Describe() : spec.name)};
    event.details = Json{{"remote", backend.Describe()},
                         {"packs_deleted", report.packs_deleted},
                         {"packs_rewritten", report.packs_rewritten},
                         {"packs_written", report.packs_written},
                         {"bytes_freed", report.bytes_freed},
                         {"orphans_removed", report.orphans_removed},
                         {"live_objects", report.live_objects},
                         {"keep_days", options.keep_days}};
    auto entry = AppendAudit(repo, event);
    if (!entry.ok()) return entry.status().WithContext("remote gc removed what it reports, but cannot audit it");
  }
  return report;
}

}  // namespace cairn
