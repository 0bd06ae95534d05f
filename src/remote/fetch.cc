// cairn fetch and cairn get: download what is missing, verified, by chunks.
#include <sys/stat.h>

#include <cstring>
#include <map>
#include <optional>

#include "cairn/audit.h"
#include "cairn/dataset.h"
#include "cairn/pipeline.h"
#include "cairn/remote.h"
#include "cairn/tracking.h"
#include "remote/derived_sync.h"
#include "remote/model_sync.h"
#include "remote/transfer.h"
#include "util/file.h"

namespace cairn {
namespace {

// The run refs a fetch brings: all of the remote's with `runs`; else, for
// the whole workspace, those of the runs cairn.lock at HEAD names that the
// remote holds (one it lacks is a note; a lock that cannot be read, a
// warning: the data still comes).
Result<std::vector<std::pair<std::string, Oid>>> RunsToFetch(Backend& backend, Repo& repo,
                                                            const TransferOptions& options, TransferReport* report) {
  if (options.runs) return ListRemoteRuns(backend);
  std::vector<std::pair<std::string, Oid>> out;
  for (const std::string& id : LockRunsToTransfer(repo, options, "fetched", report)) {
    CAIRN_ASSIGN_OR_RETURN(auto refs, ListRemoteRuns(backend, id));
    if (refs.empty()) {
      std::error_code ec;
      if (!fs::exists(repo.layout().run(id), ec)) {
        report->notes.push_back("run " + id + ", which cairn.lock names, is not on the remote" +
                                " (it was not pushed from the clone that ran it)");
      }
      continue;
    }
    out.insert(out.end(), refs.begin(), refs.end());
  }
  return out;
}

// Fetches versions, then their trees, then the trees' blobs.
Status FetchVersions(RemoteSession& session, ObjectStore& store, const fs::path& tmp, const std::vector<Oid>& versions,
                     bool progress, TransferReport* report, std::vector<Version>* loaded) {
  CAIRN_RETURN_IF_ERROR(DownloadMissing(session, store, tmp, versions, false, report));
  std::vector<Oid> trees, blobs;
  for (const Oid& v : versions) {
    CAIRN_ASSIGN_OR_RETURN(std::string data, store.Read(v));
    auto decoded = Version::Decode(data);
    if (!decoded.ok()) return decoded.status().WithContext("version " + v.ToString());
    Version version = std::move(decoded).value();
    (version.kind == ObjectKind::kTree ? trees : blobs).push_back(version.object);
    loaded->push_back(std::move(version));
  }
  CAIRN_RETURN_IF_ERROR(DownloadMissing(session, store, tmp, trees, false, report));
  for (const Oid& t : trees) {
    CAIRN_ASSIGN_OR_RETURN(std::string data, store.Read(t));
    auto tree = Tree::Decode(data);
    if (!tree.ok()) return tree.status().WithContext("tree " + t.ToString());
    for (const TreeEntry& e : tree->entries) blobs.push_back(e.oid);
  }
  return DownloadMissing(session, store, tmp, blobs, progress, report);
}

}  // namespace

Result<TransferReport> Fetch(Repo& repo, const RemoteSpec& spec, const TransferOptions& options) {
  TransferReport report;
  CAIRN_ASSIGN_OR_RETURN(auto session,
                         RemoteSession::Open(spec, IndexCacheDir(repo, spec), /*for_write=*/false, options.jobs));
  std::vector<std::string> targets = options.targets;
  ModelSelection models;
  CAIRN_RETURN_IF_ERROR(SplitModelTargets(&targets, &models));
  Wanted wanted;
  if (!targets.empty() || options.targets.empty()) {  // not only model:NAME targets
    CAIRN_ASSIGN_OR_RETURN(wanted, ResolveTargets(repo, targets, session.get()));
  }
  Backend& backend = session->backend();

  // The remote's tags of these datasets: small, so all of them come, with
  // their version objects (so 'cairn log' and tag lists work); their data
  // comes only when asked for ('cairn fetch data@v1').
  std::vector<Tag> new_tags;
  std::vector<Oid> tag_versions;
  for (const std::string& ds : wanted.datasets) {
    std::string prefix = std::string(remote_keys::kTags) + EscapeDatasetName(ds) + "/";
    CAIRN_ASSIGN_OR_RETURN(std::vector<RemoteObject> listed, backend.List(prefix));
    for (const RemoteObject& o : listed) {
      std::string name = o.key.substr(prefix.size());
      if (Status valid = ValidateTagName(name); !valid.ok()) {  // a remote names what it likes: skip, never fail
        report.warnings.push_back("remote tag " + ds + "@" + name + " skipped: " + valid.message());
        continue;
      }
      CAIRN_ASSIGN_OR_RETURN(auto mine, ReadTag(repo, ds, name));
      CAIRN_ASSIGN_OR_RETURN(Tag theirs, ReadRemoteTag(backend, ds, name));
      if (mine) {
        if (mine->version != theirs.version) {
          report.warnings.push_back("tag " + ds + "@" + name + " names version " + theirs.version.Short() +
                                    " on the remote but " + mine->version.Short() + " here; yours is kept");
        }
        continue;
      }
      if (session->index().HasObject(theirs.version)) tag_versions.push_back(theirs.version);
      new_tags.push_back(std::move(theirs));
    }
  }

  std::optional<RepoLock> lock;
  {
    CAIRN_ASSIGN_OR_RETURN(RepoLock held, repo.Lock());
    lock.emplace(std::move(held));
  }
  std::vector<Version> loaded;
  Status s = FetchVersions(*session, repo.store(), repo.tmp_dir(), wanted.versions, options.progress, &report, &loaded);
  if (s.ok()) s = DownloadMissing(*session, repo.store(), repo.tmp_dir(), tag_versions, false, &report);
  // And their file lists (small), so that the profiles of every tagged
  // version come too and 'cairn show NAME@TAG --profile' needs no data.
  if (s.ok()) {
    std::vector<Oid> trees;
    for (const Oid& v : tag_versions) {
      auto version = LoadVersion(repo, v);
      if (version.ok() && version->kind == ObjectKind::kTree && session->index().HasObject(version->object)) {
        trees.push_back(version->object);
      }
    }
    s = DownloadMissing(*session, repo.store(), repo.tmp_dir(), trees, false, &report);
  }
  std::map<std::string, Oid> runs;
  if (s.ok()) {
    auto listed = RunsToFetch(backend, repo, options, &report);
    if (!listed.ok()) s = listed.status();
    if (s.ok()) {
      // Several refs for one run mean a push was interrupted while moving
      // it; the lexically last record is taken, the next push cleans up.
      for (const auto& [id, record] : *listed) runs[id] = record;
      std::vector<Oid> records;
      for (const auto& [id, record] : runs) records.push_back(record);
      s = DownloadMissing(*session, repo.store(), repo.tmp_dir(), records, false, &report);
      std::vector<Oid> parts;
      for (auto it = runs.begin(); s.ok() && it != runs.end(); ++it) {
        auto data = repo.store().Read(it->second);
        s = data.ok() ? RunRecordObjects(*data, it->first, &parts) : data.status();
        if (s.code() == Code::kCorruption) s = Status::OK();  // ImportRuns skips it, with a warning
      }
      if (s.ok()) s = DownloadMissing(*session, repo.store(), repo.tmp_dir(), parts, options.progress, &report);
    }
  }
  // Derived objects (profiles …) of the fetched versions and their files.
  std::vector<DerivedRef> derived;
  if (s.ok()) {
    std::vector<Oid> versions = wanted.versions;
    versions.insert(versions.end(), tag_versions.begin(), tag_versions.end());
    auto subjects = DerivedSubjects(repo, versions);
    s = subjects.ok() ? FetchDerived(repo, *session, *subjects, &derived, &report) : subjects.status();
  }
  ModelFetchPlan model_plan;
  if (s.ok()) s = FetchModels(repo, *session, spec, models, &runs, &model_plan, &report);
  std::vector<std::pair<Oid, RunCacheEntry>> entries;
  if (s.ok() && options.runs) s = FetchRunCache(repo, *session, runs, &entries, &report);
  // Whatever arrived is verified and worth keeping, even after an error.
  Status committed = repo.store().Commit();
  CAIRN_RETURN_IF_ERROR(s);
  CAIRN_RETURN_IF_ERROR(committed);
  report.versions = wanted.versions.size();
  for (const Tag& t : new_tags) {
    if (!repo.store().Has(t.version)) continue;  // its version is not on the remote: leave the tag there
    // A remote's tag may name another dataset's version: importing it would
    // hand that data out under this dataset's name.
    CAIRN_ASSIGN_OR_RETURN(Version tagged, LoadVersion(repo, t.version));
    if (tagged.dataset != t.dataset) {
      report.warnings.push_back("remote tag " + t.dataset + "@" + t.name + " skipped: it names version " +
                                t.version.Short() + " of dataset " + tagged.dataset);
      continue;
    }
    Status c = ImportTag(repo, t);  // its audit entry comes with the remote's log
    if (c.ok()) report.tags++;
    else if (c.code() != Code::kAlreadyExists) return c;
  }
  CAIRN_RETURN_IF_ERROR(WriteFetchedDerived(repo, derived, &report));
  // The remote's audit entries join the local log (a DAG, like commits),
  // before the model refs: a remote alias is taken only when the entry it
  // names says so. A damaged segment or log does not undo the fetch of the data.
  auto audit = FetchAudit(repo, backend, IndexCacheDir(repo, spec).string());
  if (audit.ok()) {
    report.audit = static_cast<uint64_t>(*audit);
  } else {
    report.warnings.push_back("audit entries were not merged: " + audit.status().message() +
                              (audit.status().hint().empty() ? "" : " (" + audit.status().hint() + ")"));
  }
  // Model refs once what they name is committed.
  CAIRN_RETURN_IF_ERROR(WriteFetchedModels(repo, spec, model_plan, &report));
  lock.reset();  // ImportRuns takes it itself
  if (!runs.empty()) {
    CAIRN_ASSIGN_OR_RETURN(auto tracker, Tracker::Open(repo));
    CAIRN_ASSIGN_OR_RETURN(int64_t imported,
                           tracker->ImportRuns(std::vector<std::pair<std::string, Oid>>(runs.begin(), runs.end()),
                                                                &report.warnings));
    report.runs = static_cast<uint64_t>(imported);
  }
  // Last: an entry is used by repro as soon as it exists, so everything it
  // names is committed (and its run indexed) before.
  for (const auto& [key, entry] : entries) {
    CAIRN_RETURN_IF_ERROR(WriteRunCache(repo, key, entry));
    report.run_cache++;
  }
  report.requests = backend.stats().requests;
  return report;
}

Result<TransferReport> GetVersion(const RemoteSpec& spec, const std::string& ref, const std::string& out_dir,
                                  bool force, bool progress) {
  TransferReport report;
  size_t at = ref.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == ref.size()) {
    return Status::InvalidArgument("'" + ref + "' does not name a version",
                                   "give DATASET@TAG (or DATASET@<64-hex version oid>)");
  }
  std::string dataset = ref.substr(0, at), name = ref.substr(at + 1);
  fs::path out = fs::absolute(out_dir).lexically_normal();
  std::error_code ec;
  bool exists = fs::exists(out, ec);
  if (exists && !fs::is_directory(out, ec)) {
    return Status::FailedPrecondition(out.string() + " exists and is not a directory", "pick another output directory");
  }
  if (exists && !fs::is_empty(out, ec) && !force) {
    return Status::FailedPrecondition(out.string() + " is not empty",
                                      "pick an empty or new directory, or force writing into it");
  }
  CAIRN_ASSIGN_OR_RETURN(auto session, RemoteSession::Open(spec, {}, /*for_write=*/false, 0));
  Oid version;
  if (IsFullHex(name)) {
    CAIRN_ASSIGN_OR_RETURN(version, Oid::Parse(name));
  } else {
    CAIRN_ASSIGN_OR_RETURN(Tag tag, ReadRemoteTag(session->backend(), dataset, name));
    version = tag.version;
  }

  // Everything is staged beside the destination (same file system, so the
  // files are linked, not copied, and appear by rename) and removed at the
  // end, with any parent directories this call created if it fails.
  fs::path first_created;
  for (fs::path p = out.parent_path(); !p.empty() && !fs::exists(p, ec); p = p.parent_path()) first_created = p;
  CAIRN_RETURN_IF_ERROR(MakeDirs(out.parent_path()));
  struct RemoveParents {
    fs::path p;
    bool keep = false;
    ~RemoveParents() {
      std::error_code e;
      if (!keep && !p.empty()) fs::remove_all(p, e);
    }
  } parents{first_created};
  fs::path stage = out.parent_path() / (".cairn-get-" + out.filename().string() + "-" + std::to_string(::getpid()));
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      std::error_code e;
      fs::remove_all(p, e);
    }
  } cleanup{stage};
  CAIRN_ASSIGN_OR_RETURN(auto store, ObjectStore::Open(stage / "cache", stage / "tmp"));
  std::vector<Version> loaded;
  CAIRN_RETURN_IF_ERROR(FetchVersions(*session, *store, stage / "tmp", {version}, progress, &report, &loaded));
  const Version& v = loaded[0];
  if (v.dataset != dataset) {
    return Status::InvalidArgument("version " + version.Short() + " belongs to dataset '" + v.dataset + "', not '" +
                                   dataset + "'");
  }
  std::vector<TreeEntry> files;
  if (v.kind == ObjectKind::kTree) {
    CAIRN_ASSIGN_OR_RETURN(std::string data, store->Read(v.object));
    auto tree = Tree::Decode(data);
    if (!tree.ok()) return tree.status().WithContext("tree " + v.object.ToString());
    files = std::move(tree->entries);
  } else {
    files.push_back(TreeEntry{v.filename.empty() ? fs::path(v.dataset).filename().string() : v.filename,
                              v.executable, v.size, v.object});
  }
  fs::path built = stage / "out";
  CAIRN_RETURN_IF_ERROR(MakeDirs(built));
  WriteRoot built_root(built);
  for (const TreeEntry& e : files) {
    CAIRN_ASSIGN_OR_RETURN(fs::path dest, built_root.ResolveAndMakeParents(e.path));
    CAIRN_RETURN_IF_ERROR(store->Materialize(e.oid, dest, LinkMode::kHardlink, e.executable));
    ::chmod(dest.c_str(), e.executable ? 0755 : 0644);  // the stage's cache goes away; the file is ours
  }
  if (!exists || fs::is_empty(out, ec)) {
    if (exists) fs::remove(out, ec);
    if (::rename(built.c_str(), out.c_str()) != 0) return Status::FromErrno("cannot create " + out.string(), errno);
  } else {
    WriteRoot out_root(out);  // the user's directory may hold symlinks: never write through one
    for (const TreeEntry& e : files) {  // --force into a non-empty directory: file by file
      CAIRN_ASSIGN_OR_RETURN(fs::path dest, out_root.ResolveAndMakeParents(e.path));
      if (::rename((built / e.path).c_str(), dest.c_str()) != 0) {
        return Status::FromErrno("cannot write " + dest.string(), errno);
      }
    }
  }
  parents.keep = true;
  report.versions = 1;
  report.requests = session->backend().stats().requests;
  return report;
}

}  // namespace cairn
