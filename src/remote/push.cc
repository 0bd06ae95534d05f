// cairn push: upload what the targets need, chunked, deduplicated, packed.
#include <sys/mman.h>
#include <sys/stat.h>
#include <tbb/parallel_for.h>

#include <atomic>
#include <set>

#include "cairn/audit.h"
#include "cairn/dataset.h"
#include "cairn/pipeline.h"
#include "cairn/remote.h"
#include "cairn/run_record.h"
#include "cairn/tracking.h"
#include "remote/derived_sync.h"
#include "remote/model_sync.h"
#include "remote/transfer.h"
#include "util/file.h"
#include "util/progress.h"

namespace cairn {
namespace {

// A read-only view of an object's bytes: the loose file mapped in place, or
// a packed object read into memory.
class ObjectBytes {
 public:
  static Result<ObjectBytes> Open(ObjectStore& store, const Oid& oid) {
    ObjectBytes b;
    auto path = store.LooseFile(oid);
    if (!path.ok()) {
      CAIRN_ASSIGN_OR_RETURN(b.owned_, store.Read(oid, /*verify=*/true));
      b.view_ = b.owned_;
      return b;
    }
    CAIRN_ASSIGN_OR_RETURN(Fd fd, OpenRead(*path));
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return Status::FromErrno("cannot stat " + path->string(), errno);
    if (st.st_size == 0) return b;
    void* p = ::mmap(nullptr, st.st_size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (p == MAP_FAILED) return Status::FromErrno("cannot map " + path->string(), errno);
    ::madvise(p, st.st_size, MADV_SEQUENTIAL);
    b.map_ = p;
    b.map_size_ = st.st_size;
    b.view_ = std::string_view(static_cast<const char*>(p), st.st_size);
    b.mapped_ = true;
    return b;
  }
  ObjectBytes(ObjectBytes&& o) noexcept
      : owned_(std::move(o.owned_)), map_(o.map_), map_size_(o.map_size_), mapped_(o.mapped_) {
    view_ = mapped_ ? o.view_ : std::string_view(owned_);
    o.map_ = nullptr;
    o.mapped_ = false;
  }
  ~ObjectBytes() {
    if (map_) ::munmap(map_, map_size_);
  }
  std::string_view view() const { return view_; }
  bool mapped() const { return mapped_; }

 private:
  ObjectBytes() = default;
  std::string owned_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  bool mapped_ = false;
  std::string_view view_;
};

struct Counters {
  std::atomic<uint64_t> chunks{0};
  std::atomic<uint64_t> bytes{0};
};

// Runs fn(i) for i in [0, n) on TBB's threads (CPU work: hashing,
// compressing); after the first error the remaining calls are skipped and
// that error is returned.
Status TbbForEach(size_t n, const std::function<Status(size_t)>& fn) {
  std::atomic<bool> failed{false};
  Status first;
  std::mutex mu;
  tbb::parallel_for(size_t{0}, n, [&](size_t i) {
    if (failed) return;
    Status s = fn(i);
    if (!s.ok()) {
      std::lock_guard lock(mu);
      if (first.ok()) first = s;
      failed = true;
    }
  });
  return first;
}

Status CheckChunk(PackUploader& up, const Oid& oid, std::string_view chunk) {
  if (up.Has(oid)) return Status::OK();
  thread_local std::string stored;
  stored.clear();
  Codec codec = CompressChunk(chunk, &stored);
  return up.AddChunk(oid, stored, static_cast<uint32_t>(chunk.size()), codec);
}

// Splits one object into chunks and hands the new ones to the uploader.
Status PushObject(ObjectStore& store, const Chunker& chunker, PackUploader& up, const Oid& oid, Counters* counters,
                  Progress* progress) {
  auto bytes = ObjectBytes::Open(store, oid);
  if (!bytes.ok()) {
    if (bytes.status().code() == Code::kNotFound) {
      return Status::NotFound("object " + oid.ToString() + " is not in the local cache",
                              "it was never fetched here; run 'cairn fetch' first or push from the clone that made it");
    }
    return bytes.status();
  }
  std::string_view data = bytes->view();
  std::vector<std::string_view> pieces;
  for (size_t at = 0; at < data.size() || pieces.empty();) {
    size_t n = chunker.Next(data.substr(at));
    pieces.push_back(data.substr(at, n));
    at += n;
    if (n == 0) break;
  }
  counters->chunks += pieces.size();
  if (pieces.size() == 1) {
    if (bytes->mapped() && Oid::Of(data) != oid) {
      return Status::Corruption("cached object " + oid.ToString() + " is damaged", "run 'cairn fsck'");
    }
    Status s = CheckChunk(up, oid, data);
    progress->Add(1, data.size());
    return s;
  }
  std::vector<Oid> oids(pieces.size());
  Oid whole;
  CAIRN_RETURN_IF_ERROR(TbbForEach(pieces.size() + 1, [&](size_t i) {
    if (i == pieces.size()) {  // the whole object's hash, checked against its oid, alongside
      whole = Oid::Of(data);
      return Status::OK();
    }
    oids[i] = Oid::Of(pieces[i]);
    progress->AddBytes(pieces[i].size());
    return CheckChunk(up, oids[i], pieces[i]);
  }));
  if (whole != oid) return Status::Corruption("cached object " + oid.ToString() + " is damaged", "run 'cairn fsck'");
  progress->Add(1, 0);
  return up.AddRecipe(Recipe{oid, data.size(), std::move(oids)});
}

// Adds a version's objects: its tree and the tree's blobs to `data`, the
// version itself to `meta` (uploaded after the data, so a version on the
// remote implies its data is there). A version whose data this clone lacks
// (a tag fetched without its data) is skipped when the remote already has
// it; otherwise that is an error.
Status VersionObjects(Repo& repo, const RemoteIndex& remote, const Oid& v, std::vector<Oid>* data,
                      std::vector<Oid>* meta) {
  auto missing = [&](const Oid& o) {
    return Status::NotFound("version " + v.ToString() + " needs object " + o.ToString() + ", which is not in the local cache",
                            "fetch it first ('cairn fetch'), or push from the clone that made it");
  };
  if (!repo.store().Has(v)) return remote.HasObject(v) ? Status::OK() : missing(v);
  CAIRN_ASSIGN_OR_RETURN(Version version, LoadVersion(repo, v));
  std::vector<Oid> parts = {version.object};
  if (version.kind == ObjectKind::kTree) {
    if (!repo.store().Has(version.object)) return remote.HasObject(v) ? Status::OK() : missing(version.object);
    CAIRN_ASSIGN_OR_RETURN(Tree tree, LoadFiles(repo, version));
    for (const TreeEntry& e : tree.entries) parts.push_back(e.oid);
  }
  for (const Oid& o : parts) {
    if (!repo.store().Has(o)) return remote.HasObject(v) ? Status::OK() : missing(o);
  }
  data->insert(data->end(), parts.begin(), parts.end());
  meta->push_back(v);
  return Status::OK();
}

// Uploads `objects` (those the remote lacks) through `up`, in parallel.
Status UploadAll(Repo& repo, const Chunker& chunker, PackUploader& up, const std::vector<Oid>& objects,
                 Counters* counters, Progress* progress) {
  return TbbForEach(objects.size(), [&](size_t i) {
    return PushObject(repo.store(), chunker, up, objects[i], counters, progress);
  });
}

// Keeps the first occurrence of each oid (a dataset's files stay together in
// packs) and drops what the remote has.
std::vector<Oid> Missing(const std::vector<Oid>& objects, const RemoteIndex& remote, OidSet* seen) {
  std::vector<Oid> out;
  for (const Oid& o : objects) {
    if (seen->insert(o).second && !remote.HasObject(o)) out.push_back(o);
  }
  return out;
}

// The runs a push carries: every finished run with `runs`; else, for the
// whole workspace, those cairn.lock at HEAD names (the provenance of the
// committed outputs). A committed lock that cannot be read is a warning:
// the data still goes.
Result<std::vector<std::string>> RunsToPush(Repo& repo, const TransferOptions& options, TransferReport* report) {
  std::vector<std::string> ids;
  if (options.runs) {
    std::error_code ec;
    for (const auto& f : fs::directory_iterator(repo.layout().runs(), ec)) {
      std::string id = f.path().filename().string();
      if (id.size() == 32) ids.push_back(id);
    }
    return ids;
  }
  return LockRunsToTransfer(repo, options, "pushed", report);
}

// The run-cache entries a push carries, adding what they name to `data`
// (output versions' trees and blobs, metrics blobs) and `meta` (the
// versions). An entry is left out, with a note, when this clone lacks an
// object it names and the remote lacks it too (gc removed the outputs), or
// when its run is not pushed with it: on the remote, an entry must be
// usable and checkable against its run's record.
Result<std::vector<RunCacheListing>> RunCacheToPush(Repo& repo, const RemoteIndex& remote,
                                                    const std::vector<std::pair<std::string, Oid>>& runs,
                                                    std::vector<Oid>* data, std::vector<Oid>* meta,
                                                    TransferReport* report) {
  std::set<std::string> pushed;
  for (const auto& [id, record] : runs) pushed.insert(id);
  CAIRN_ASSIGN_OR_RETURN(std::vector<RunCacheListing> listed, ListRunCache(repo));
  std::vector<RunCacheListing> out;
  for (RunCacheListing& l : listed) {
    std::string name = "run-cache entry " + l.key.Short();
    if (l.entry.run.empty() || !pushed.count(l.entry.run)) {
      report->notes.push_back(name + " is not pushed: the run it names is not in this clone");
      continue;
    }
    std::vector<Oid> d, m;
    Status s;
    for (const auto& [path, v] : l.entry.outs) {
      s = VersionObjects(repo, remote, v, &d, &m);
      if (!s.ok()) break;
    }
    for (const auto& [path, blob] : l.entry.metrics) {
      if (!s.ok()) break;
      if (repo.store().Has(blob)) d.push_back(blob);
      else if (!remote.HasObject(blob)) s = Status::NotFound("metrics file " + path + " is not in the cache");
    }
    if (s.code() == Code::kNotFound) {
      report->notes.push_back(name + " is not pushed: what it names is no longer in this clone's cache");
      continue;
    }
    CAIRN_RETURN_IF_ERROR(s);
    data->insert(data->end(), d.begin(), d.end());
    meta->insert(meta->end(), m.begin(), m.end());
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace

Result<TransferReport> Push(Repo& repo, const RemoteSpec& spec, const TransferOptions& options) {
  TransferReport report;
  std::vector<std::string> targets = options.targets;
  ModelSelection models;
  CAIRN_RETURN_IF_ERROR(SplitModelTargets(&targets, &models));
  Wanted wanted;
  if (!targets.empty() || options.targets.empty()) {  // not only model:NAME targets
    CAIRN_ASSIGN_OR_RETURN(wanted, ResolveTargets(repo, targets, nullptr));
  }
  std::vector<Tag> tags;
  for (const std::string& ds : wanted.datasets) {
    CAIRN_ASSIGN_OR_RETURN(std::vector<Tag> t, ListTags(repo, ds));
    for (Tag& tag : t) {
      if (std::find(wanted.versions.begin(), wanted.versions.end(), tag.version) == wanted.versions.end()) {
        wanted.versions.push_back(tag.version);
      }
      tags.push_back(std::move(tag));
    }
  }
  CAIRN_ASSIGN_OR_RETURN(auto session,
                         RemoteSession::Open(spec, IndexCacheDir(repo, spec), /*for_write=*/true, options.jobs));
  const RemoteIndex& remote = session->index();
  std::vector<Oid> data, meta;
  for (const Oid& v : wanted.versions) CAIRN_RETURN_IF_ERROR(VersionObjects(repo, remote, v, &data, &meta));
  report.versions = wanted.versions.size();
  // Derived objects (profiles …) of these versions and their files go with them.
  std::vector<DerivedRef> derived;
  {
    CAIRN_ASSIGN_OR_RETURN(OidSet subjects, DerivedSubjects(repo, wanted.versions));
    CAIRN_RETURN_IF_ERROR(PlanDerivedPush(repo, subjects, &meta, &derived, &report.warnings));
  }
  // The registry: refused models are left out; the versions the remote
  // lacks add their artifacts to the data and their objects to the meta.
  ModelPushPlan model_plan;
  CAIRN_RETURN_IF_ERROR(PlanModelPush(repo, *session, spec, models, &data, &meta, &model_plan, &report));

  // Runs and run-cache entries: their data with the datasets', their
  // records and refs after.
  std::vector<std::pair<std::string, Oid>> runs;
  std::vector<std::string> absent;  // runs cairn.lock names that this clone lacks
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> run_ids, RunsToPush(repo, options, &report));
  for (const std::string& id : run_ids) {
    fs::path ref = repo.layout().run(id);
    std::error_code ec;
    if (!options.runs && !fs::exists(ref, ec)) {
      absent.push_back(id);
      continue;
    }
    CAIRN_ASSIGN_OR_RETURN(Oid record, ReadRunRef(ref));
    CAIRN_ASSIGN_OR_RETURN(std::string text, repo.store().Read(record));
    CAIRN_RETURN_IF_ERROR(RunRecordObjects(text, id, &data));
    meta.push_back(record);
    runs.emplace_back(id, record);
  }
  for (const std::string& id : model_plan.run_ids) {  // the runs that produced pushed models
    if (std::any_of(runs.begin(), runs.end(), [&](const auto& r) { return r.first == id; })) continue;
    fs::path ref = repo.layout().run(id);
    std::error_code ec;
    if (!fs::exists(ref, ec)) continue;  // the version object carries its record anyway
    CAIRN_ASSIGN_OR_RETURN(Oid record, ReadRunRef(ref));
    CAIRN_ASSIGN_OR_RETURN(std::string text, repo.store().Read(record));
    CAIRN_RETURN_IF_ERROR(RunRecordObjects(text, id, &data));
    meta.push_back(record);
    runs.emplace_back(id, record);
  }
  std::sort(runs.begin(), runs.end());
  std::vector<RunCacheListing> entries;
  if (options.runs) {
    CAIRN_ASSIGN_OR_RETURN(entries, RunCacheToPush(repo, remote, runs, &data, &meta, &report));
  }
  OidSet seen;
  std::vector<Oid> missing_data = Missing(data, remote, &seen);
  std::vector<Oid> missing_meta = Missing(meta, remote, &seen);
  report.objects = seen.size();
  report.objects_moved = missing_data.size() + missing_meta.size();
  for (const auto* list : {&missing_data, &missing_meta}) {
    for (const Oid& o : *list) {
      CAIRN_ASSIGN_OR_RETURN(uint64_t size, repo.store().Size(o));
      report.bytes_logical += size;
    }
  }

  Counters counters;
  {
    PackUploader up(session->backend(), remote, session->jobs());
    Progress progress("push", report.objects_moved, report.bytes_logical, options.progress);
    // Data first, then the versions and run records that name it.
    Status s = UploadAll(repo, session->chunker(), up, missing_data, &counters, &progress);
    if (s.ok()) s = UploadAll(repo, session->chunker(), up, missing_meta, &counters, &progress);
    Status finished = up.Finish();
    CAIRN_RETURN_IF_ERROR(s);
    CAIRN_RETURN_IF_ERROR(finished);
    report.chunks = counters.chunks;
    report.chunks_moved = up.chunks_added();
    report.packs = up.packs_written();
  }

  // Refs last: everything they name is on the remote now.
  Backend& backend = session->backend();
  CAIRN_ASSIGN_OR_RETURN(std::vector<RemoteObject> listed, backend.List("refs/"));
  std::set<std::string> remote_keys;
  for (const RemoteObject& o : listed) remote_keys.insert(o.key);
  for (const Tag& tag : tags) {
    std::string key = RemoteTagKey(tag.dataset, tag.name);
    if (remote_keys.count(key)) {
      CAIRN_ASSIGN_OR_RETURN(Tag theirs, ReadRemoteTag(backend, tag.dataset, tag.name));
      if (theirs.version != tag.version) {
        report.warnings.push_back("tag " + tag.dataset + "@" + tag.name + " names version " +
                                  theirs.version.Short() + " on the remote but " + tag.version.Short() +
                                  " here; the remote's tag is kept (tags are immutable)");
      }
      continue;
    }
    CAIRN_RETURN_IF_ERROR(backend.Put(key, EncodeTag(tag)));
    report.tags++;
  }
  CAIRN_RETURN_IF_ERROR(PublishDerived(backend, remote_keys, derived, &report));
  for (const auto& [id, record] : runs) {
    std::string prefix = std::string(remote_keys::kRuns) + id + "/";
    std::string key = prefix + record.Hex();
    if (remote_keys.count(key)) continue;
    CAIRN_RETURN_IF_ERROR(backend.Put(key, record.ToString() + "\n"));
    for (auto it = remote_keys.lower_bound(prefix); it != remote_keys.end() && it->rfind(prefix, 0) == 0; ++it) {
      CAIRN_RETURN_IF_ERROR(backend.Delete(*it));  // the record this run had before (tags changed …)
    }
    report.runs++;
  }
  for (const RunCacheListing& l : entries) {
    std::string key = RemoteRunCacheKey(l.key);
    if (remote_keys.count(key)) continue;  // the remote's entry for the same inputs is as good: kept
    CAIRN_RETURN_IF_ERROR(backend.Put(key, EncodeRunCache(l.entry)));
    report.run_cache++;
  }
  for (const std::string& id : absent) {
    std::string prefix = std::string(remote_keys::kRuns) + id + "/";
    auto it = remote_keys.lower_bound(prefix);
    if (it != remote_keys.end() && it->starts_with(prefix)) continue;  // pushed before, from another clone
    report.notes.push_back("run " + id + ", which cairn.lock names, is neither in this clone nor on the remote: " +
                           "its record is not pushed (push from the clone that ran it)");
  }
  // The registry's refs after the runs they name; aliases last of all.
  CAIRN_RETURN_IF_ERROR(PublishModels(repo, *session, spec, model_plan, &report));

  // The audit log with the refs it records (golden tags, gc …). A log that
  // cannot be read or merged does not undo the push of the data. Not after
  // a refusal: the remote's log would record moves the remote does not
  // hold (the push that follows a pull publishes them).
  if (!report.refused.empty()) {
    report.notes.push_back("audit entries were not pushed, since part of the registry was refused: "
                           "'cairn pull', then 'cairn push' publishes them");
    report.requests = backend.stats().requests;
    report.bytes_moved = backend.stats().bytes_sent;
    return report;
  }
  int64_t merged = 0;
  auto audit = PushAudit(repo, backend, IndexCacheDir(repo, spec).string(), &merged);
  if (audit.ok()) {
    report.audit = static_cast<uint64_t>(*audit);
  } else {
    report.warnings.push_back("audit entries were not pushed: " + audit.status().message() +
                              (audit.status().hint().empty() ? "" : " (" + audit.status().hint() + ")"));
  }
  if (merged > 0) {
    report.notes.push_back(std::to_string(merged) + " audit entries from the remote were merged into the local log");
  }
  report.requests = backend.stats().requests;
  report.bytes_moved = backend.stats().bytes_sent;
  return report;
}

}  // namespace cairn
