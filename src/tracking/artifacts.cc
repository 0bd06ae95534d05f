// Run artifacts: files, directories and bytes stored in the object store
// and listed in the run.
#include <algorithm>

#include "cairn/object.h"
#include "cairn/tracking.h"
#include "tracking/tracker_internal.h"
#include "util/file.h"
#include "util/sqlite.h"

namespace cairn {

using namespace tracking_internal;

namespace {

Status ValidateArtifactPath(const std::string& path) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("artifact path '" + path + "' " + why,
                                   "artifact paths are relative and '/'-separated, without '.' or '..' parts");
  };
  if (path.empty()) return bad("is empty");
  if (path.front() == '/') return bad("is absolute");
  CAIRN_RETURN_IF_ERROR(ValidateTreePath(path));
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string_view part(path.data() + start, end - start);
    if (part.empty() || part == "." || part == "..") return bad("has an empty, '.' or '..' part");
    start = end + 1;
  }
  return Status::OK();
}

}  // namespace

Result<std::vector<RunArtifact>> Tracker::LogArtifact(const std::string& run, const fs::path& source,
                                                      const std::string& artifact_path) {
  std::lock_guard lock(impl_->mu);
  sqlite3* db = impl_->db;
  CAIRN_ASSIGN_OR_RETURN(RunRow r, FindRun(db, run));
  auto rel = repo_.RelativePath(source);
  if (!rel.ok()) {
    return Status::InvalidArgument("artifact " + source.string() + ": " + rel.status().message(),
                                   "artifacts must be files inside the repository; copy it in first");
  }
  fs::path abs = repo_.Abs(*rel);
  std::error_code ec;
  auto st = fs::symlink_status(abs, ec);
  if (ec || !fs::exists(st)) {
    return Status::NotFound("artifact " + source.string() + " does not exist", "check the path");
  }
  std::string base = artifact_path.empty() ? abs.filename().string() : artifact_path;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  CAIRN_RETURN_IF_ERROR(ValidateArtifactPath(base));
  if (base == "cairn" || base.starts_with("cairn/")) {
    return Status::InvalidArgument("artifact paths under cairn/ are reserved for what cairn records itself",
                                   "choose another artifact path");
  }
  std::vector<std::pair<fs::path, std::string>> files;  // source, artifact path
  if (fs::is_directory(st)) {
    for (auto it = fs::recursive_directory_iterator(abs, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (it->is_regular_file() && !it->is_symlink()) {
        files.emplace_back(it->path(), base + "/" + fs::relative(it->path(), abs).generic_string());
      }
    }
    if (ec) return Status::FromErrno("cannot read " + abs.string(), ec.value());
    std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  } else if (fs::is_regular_file(st)) {
    files.emplace_back(abs, base);
  } else {
    return Status::InvalidArgument("artifact " + source.string() + " is not a regular file or directory");
  }
  if (files.empty()) {
    return Status::InvalidArgument("artifact directory " + source.string() + " holds no files", "nothing was logged");
  }
  CAIRN_ASSIGN_OR_RETURN(RepoLock repo_lock, repo_.Lock());
  std::vector<RunArtifact> arts;
  for (const auto& [src, path] : files) {
    uint64_t size = 0;
    auto oid = repo_.store().PutFile(src, &size);
    if (!oid.ok()) {
      repo_.store().DiscardPending();
      return oid.status();
    }
    arts.push_back(RunArtifact{path, *oid, size});
  }
  CAIRN_RETURN_IF_ERROR(repo_.store().Commit());
  Txn txn(db);
  CAIRN_RETURN_IF_ERROR(txn.Begin());
  CAIRN_RETURN_IF_ERROR(InsertArtifacts(db, r.row, arts));
  CAIRN_RETURN_IF_ERROR(Reseal(db, repo_, r));
  CAIRN_RETURN_IF_ERROR(txn.Commit());
  return arts;
}

Result<RunArtifact> Tracker::LogArtifactBytes(const std::string& run, const std::string& artifact_path,
                                              std::string_view bytes) {
  std::lock_guard lock(impl_->mu);
  sqlite3* db = impl_->db;
  CAIRN_ASSIGN_OR_RETURN(RunRow r, FindRun(db, run));
  CAIRN_RETURN_IF_ERROR(ValidateArtifactPath(artifact_path));
  CAIRN_ASSIGN_OR_RETURN(RepoLock repo_lock, repo_.Lock());
  // Loose, not packed: one small pack per run would slow every lookup.
  CAIRN_ASSIGN_OR_RETURN(Oid oid, repo_.store().PutObjectDurable(bytes));
  RunArtifact art{artifact_path, oid, bytes.size()};
  Txn txn(db);
  CAIRN_RETURN_IF_ERROR(txn.Begin());
  CAIRN_RETURN_IF_ERROR(InsertArtifacts(db, r.row, {art}));
  CAIRN_RETURN_IF_ERROR(Reseal(db, repo_, r));
  CAIRN_RETURN_IF_ERROR(txn.Commit());
  return art;
}

}  // namespace cairn
