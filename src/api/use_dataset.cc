// use_dataset (cairn/use_dataset.h): resolve a ref, fetch what the cache
// lacks, hand out the workspace copy or a read-only copy, record the input.
#include "cairn/use_dataset.h"

#include <stdlib.h>

#include <system_error>

#include "cairn/dataset.h"
#include "cairn/remote.h"
#include "util/file.h"

namespace cairn {
namespace {

// The workspace path of `resolved` when it holds exactly that version,
// unmodified; empty otherwise.
fs::path CleanWorkspaceCopy(Repo& repo, const ResolvedRef& resolved) {
  if (resolved.path.empty()) return {};
  auto tracked = FindTracked(repo, {resolved.path});
  if (!tracked.ok() || tracked->size() != 1 || (*tracked)[0].pointer.version != resolved.version) return {};
  auto st = GetStatus(repo, {resolved.path}, {});
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

// Removes a directory tree, ignoring errors (a failed copy's leftovers).
void RemoveTree(const fs::path& dir) {
  std::error_code ec;
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::add, ec);
  fs::remove_all(dir, ec);
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

}  // namespace

Result<fs::path> MaterializeDatasetVersion(Repo& repo, const Oid& version) {
  CAIRN_ASSIGN_OR_RETURN(Version v, LoadVersion(repo, version));
  CAIRN_ASSIGN_OR_RETURN(Tree files, LoadFiles(repo, v));
  const fs::path root = repo.layout().dataset_copy(version.Hex());
  const std::string name = v.filename.empty() ? "data" : v.filename;
  const fs::path result = v.kind == ObjectKind::kBlob ? root / name : root;
  std::error_code ec;
  if (fs::exists(root, ec)) return result;
  CAIRN_RETURN_IF_ERROR(MakeDirs(repo.tmp_dir()));
  std::string tmpl = (repo.tmp_dir() / "dataset-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) return Status::FromErrno("cannot create a directory in " + repo.tmp_dir().string(), errno);
  const fs::path tmp = tmpl;
  Status copied = CopyFiles(repo, v, files, name, tmp);
  if (!copied.ok()) {
    RemoveTree(tmp);
    return copied;
  }
  CAIRN_RETURN_IF_ERROR(MakeDirs(root.parent_path()));
  fs::rename(tmp, root, ec);
  if (ec) {
    RemoveTree(tmp);  // another process made the copy first: use it
    std::error_code exists_ec;
    if (!fs::exists(root, exists_ec)) return Status::IOError("cannot create " + root.string() + ": " + ec.message());
  }
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
  out.input.dataset = resolved->dataset;
  out.input.version = resolved->version;
  if (options.prefer_workspace) {
    out.path = CleanWorkspaceCopy(repo, *resolved);
    if (!out.path.empty()) {
      out.workspace = true;
      return out;
    }
  }
  auto path = MaterializeDatasetVersion(repo, resolved->version);
  if (!path.ok() && path.status().code() == Code::kNotFound && options.fetch && !out.fetched) {
    CAIRN_RETURN_IF_ERROR(
        FetchVersion(repo, resolved->dataset + "@" + resolved->version.Hex(), options, path.status()));
    out.fetched = true;
    path = MaterializeDatasetVersion(repo, resolved->version);
  }
  if (!path.ok()) return path.status();
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
