// use_dataset (cairn/use_dataset.h): resolve a ref, fetch what the cache
// lacks, hand out the workspace copy or a read-only copy, record the input.
#include "cairn/use_dataset.h"

#include <stdio.h>

#include <system_error>

#include "cairn/dataset.h"
#include "cairn/remote.h"
#include "dataset/dataset_copies.h"
#include "util/file.h"

namespace cairn {
namespace {

// The workspace path of `resolved` when it holds exactly that version,
// unmodified; empty otherwise.
fs::path CleanWorkspaceCopy(Repo& repo, const ResolvedRef& resolved) {
  if (resolved.path.empty()) return {};
  auto tracked = FindTrackedAt(repo, {resolved.path});
  if (!tracked.ok() || tracked->size() != 1 || (*tracked)[0].pointer.version != resolved.version) return {};
  auto st = GetStatus(repo, {repo.Abs(resolved.path).string()}, {});
  if (!st.ok() || st->size() != 1 || (*st)[0].state != TrackedState::kClean) return {};
  return repo.Abs(resolved.path);
}

// Fetches `target` from the remote the options name into the cache.
Status FetchVersion(Repo& repo, const std::string& target, const UseDatasetOptions& options, const Status& missing) {
  auto remote = FindRemote(repo, options.remote);
  if (!remote.ok()) {
    if (remote.status().code() != Code::kNotFound) return remote.status();
    return Status::NotFound(missing.message(), "the cache lacks it and no remote is configured to fetch it from");
  }
  TransferOptions transfer;
  transfer.targets = {target};
  auto report = Fetch(repo, *remote, transfer);
  if (!report.ok()) return report.status().WithContext("fetching " + target + " from remote " + remote->name);
  return Status::OK();
}

Status CopyFiles(Repo& repo, const Version& v, const Tree& files, const std::string& name, const fs::path& tmp) {
  WriteRoot root(tmp);
  for (const TreeEntry& e : files.entries) {
    CAIRN_ASSIGN_OR_RETURN(fs::path dest, root.ResolveAndMakeParents(v.kind == ObjectKind::kBlob ? name : e.path));
    CAIRN_RETURN_IF_ERROR(repo.store().Materialize(e.oid, dest, LinkMode::kCopy, e.executable));
    std::error_code ec;
    fs::permissions(dest, fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write,
                    fs::perm_options::remove, ec);
    if (ec) return Status::FromErrno("cannot make " + dest.string() + " read-only", ec.value());
  }
  return Status::OK();
}

// Corruption when `resolved` names a version of another dataset (a wrong
// tag); OK when the version is not here to tell.
Status CheckVersionDataset(Repo& repo, const std::string& ref, const ResolvedRef& resolved) {
  auto v = LoadVersion(repo, resolved.version);
  if (!v.ok()) return v.status().code() == Code::kNotFound ? Status::OK() : v.status();
  if (v->dataset == resolved.dataset) return Status::OK();
  return Status::Corruption(ref + " names version " + resolved.version.Short() + " of dataset " + v->dataset +
                                ", not of " + resolved.dataset,
                            "a tag was made or imported wrongly: delete it");
}

}  // namespace

Result<fs::path> MaterializeDatasetVersion(Repo& repo, const Oid& version, const MessageCallback& message) {
  CAIRN_ASSIGN_OR_RETURN(Version v, LoadVersion(repo, version));
  CAIRN_ASSIGN_OR_RETURN(Tree files, LoadFiles(repo, v));
  const fs::path root = repo.layout().dataset_copy(version.Hex());
  const std::string name = v.filename.empty() ? "data" : v.filename;
  const fs::path result = v.kind == ObjectKind::kBlob ? root / name : root;
  // Complete and unchanged (one stat per file): hand it out. The manifest's
  // mtime is the last use that gc's grace period counts from.
  if (CheckDatasetCopy(repo, version) == CopyState::kComplete) {
    TouchDatasetCopy(repo, version);
    return result;
  }
  // Built without the lock (it may take long), published under it.
  RemoveStaleDatasetTempDirs(repo);
  CAIRN_ASSIGN_OR_RETURN(fs::path tmp, MakeDatasetTempDir(repo));
  Status copied = MakeDirs(tmp / "copy");
  if (copied.ok()) copied = CopyFiles(repo, v, files, name, tmp / "copy");
  if (!copied.ok()) {
    RemoveReadOnlyTree(tmp);
    return copied;
  }
  auto lock = repo.Lock();
  if (!lock.ok()) {
    RemoveReadOnlyTree(tmp);
    return lock.status();
  }
  switch (CheckDatasetCopy(repo, version)) {
    case CopyState::kComplete:  // another process published it meanwhile
      RemoveReadOnlyTree(tmp);
      TouchDatasetCopy(repo, version);
      return result;
    case CopyState::kChanged:
      if (message) {
        message("the copy of " + v.dataset + "@" + version.Short() + " in " + root.string() +
                " was changed after it was made; it is made again from the cache");
      }
      [[fallthrough]];
    case CopyState::kPartial: {
      // Under the lock nobody is publishing: a copy without a manifest is a
      // killed build or removal.
      Status removed = RemoveDatasetCopy(repo, DatasetCopy{version, root, 0});
      if (!removed.ok()) {
        RemoveReadOnlyTree(tmp);
        return removed;
      }
      break;
    }
    case CopyState::kMissing:
      break;
  }
  Status s = MakeDirs(root.parent_path());
  if (s.ok() && ::rename((tmp / "copy").c_str(), root.c_str()) != 0) {
    s = Status::FromErrno("cannot create " + root.string(), errno);
  }
  // The manifest last (now it is complete), before the temporary directory
  // goes: until then fsck sees a live builder and does not call it incomplete.
  if (s.ok()) s = WriteDatasetCopyManifest(repo, version);
  RemoveReadOnlyTree(tmp);
  if (!s.ok()) return s;
  return result;
}

Result<UsedDataset> LocateDataset(Repo& repo, const std::string& ref, const UseDatasetOptions& options) {
  UsedDataset out;
  auto resolved = ResolveRef(repo, ref);
  if (!resolved.ok() && resolved.status().code() == Code::kNotFound && options.fetch &&
      ref.find('@') != std::string::npos) {
    // A tag (or version) the remote may know.
    CAIRN_RETURN_IF_ERROR(FetchVersion(repo, ref, options, resolved.status()));
    out.fetched = true;
    resolved = ResolveRef(repo, ref);
  }
  if (!resolved.ok()) return resolved.status();
  CAIRN_RETURN_IF_ERROR(CheckVersionDataset(repo, ref, *resolved));
  out.input.dataset = resolved->dataset;
  out.input.version = resolved->version;
  if (options.prefer_workspace) {
    out.path = CleanWorkspaceCopy(repo, *resolved);
    if (!out.path.empty()) {
      out.workspace = true;
      return out;
    }
  }
  auto path = MaterializeDatasetVersion(repo, resolved->version, options.message);
  if (!path.ok() && path.status().code() == Code::kNotFound && options.fetch && !out.fetched) {
    CAIRN_RETURN_IF_ERROR(
        FetchVersion(repo, resolved->dataset + "@" + resolved->version.Hex(), options, path.status()));
    out.fetched = true;
    path = MaterializeDatasetVersion(repo, resolved->version, options.message);
  }
  if (!path.ok()) return path.status();
  if (out.fetched) CAIRN_RETURN_IF_ERROR(CheckVersionDataset(repo, ref, *resolved));
  out.path = std::move(*path);
  return out;
}

Result<UsedDataset> UseDataset(Tracker& tracker, const std::string& run, const std::string& ref,
                               const UseDatasetOptions& options) {
  // Fail early, before any fetch, when the run cannot take inputs.
  CAIRN_ASSIGN_OR_RETURN(RunInfo info, tracker.GetRun(run));
  if (info.status != RunStatus::kRunning) {
    return Status::FailedPrecondition("run " + info.id + " has ended (" + RunStatusName(info.status) +
                                      "): it takes no more inputs");
  }
  CAIRN_ASSIGN_OR_RETURN(UsedDataset used, LocateDataset(tracker.repo(), ref, options));
  CAIRN_ASSIGN_OR_RETURN(used.input, tracker.AddInput(info.id, ref));
  return used;
}

}  // namespace cairn
