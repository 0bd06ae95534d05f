// Run artifacts: files, directories and bytes stored in the object store
// and listed in the run.
#include <algorithm>

#include "cairn/object.h"
#include "cairn/tracking.h"
#include "tracking/tracker_internal.h"
#include "util/file.h"

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

// cairn/ holds what cairn records itself (stdout, stderr, the git diff): a
// user's artifact there would replace or pose as one of those.
Status RefuseReserved(const std::string& path) {
  if (path == "cairn" || path.starts_with("cairn/")) {
    return Status::InvalidArgument("artifact paths under cairn/ are reserved for what cairn records itself",
                                   "choose another artifact path");
  }
  return Status::OK();
}

// Whether `abs` (absolute, normalised) lies outside `root` by its text.
bool OutsideLexically(const fs::path& abs, const fs::path& root) {
  fs::path rel = abs.lexically_relative(root);
  return rel.empty() || *rel.begin() == "..";
}

// Where `source` is and the artifact path it gets by default: its path
// relative to the repository root for a file inside it, its file name for
// one outside (whose bytes are copied like any other). A relative `source`
// is taken from `base_dir` (default: repo.base_dir()). A path inside that leaves the repository
// through a symlink is InvalidArgument.
Status LocateSource(Repo& repo, const fs::path& source, const fs::path& base_dir, fs::path* abs,
                    std::string* default_path) {
  if (!base_dir.empty() && !base_dir.is_absolute()) {
    return Status::InvalidArgument("artifact base directory '" + base_dir.string() + "' is not absolute",
                                   "pass the front end's working directory as an absolute path");
  }
  std::error_code ec;
  fs::path given = source;
  if (source.is_relative()) {
    // Without a base, the repository's base directory (where the front end
    // opened it), never the process's working directory.
    given = (base_dir.empty() ? repo.base_dir() : base_dir) / source;
  }
  if (ec) return Status::FromErrno("artifact " + source.string(), ec.value());
  given = given.lexically_normal();
  std::string text = given.string();
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  given = text;
  if (OutsideLexically(given, repo.root())) {
    *abs = given;
    *default_path = given.filename().string();
    return Status::OK();
  }
  // Inside by its text but leaving through a symlink is refused: a link in
  // the work tree must not carry files from elsewhere into the store (and
  // on to remotes) unnoticed.
  auto rel = repo.RelativePath(given);
  if (!rel.ok()) {
    return Status::InvalidArgument("artifact " + source.string() + ": " + rel.status().message(),
                                   rel.status().hint());
  }
  *abs = repo.Abs(*rel);
  *default_path = *rel;
  return Status::OK();
}

}  // namespace

Result<std::vector<RunArtifact>> Tracker::LogArtifact(const std::string& run, const fs::path& source,
                                                      const std::string& artifact_path, const fs::path& base_dir) {
  std::lock_guard lock(impl_->mu);
  TrackingStore& store = *impl_->store;
  CAIRN_ASSIGN_OR_RETURN(StoredRunState r, FindRun(store, run));
  fs::path abs;
  std::string default_path;
  CAIRN_RETURN_IF_ERROR(LocateSource(repo_, source, base_dir, &abs, &default_path));
  std::error_code ec;
  auto st = fs::status(abs, ec);
  if (ec || !fs::exists(st)) {
    return Status::NotFound("artifact " + source.string() + " does not exist", "check the path");
  }
  std::string base = artifact_path.empty() ? default_path : artifact_path;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  CAIRN_RETURN_IF_ERROR(ValidateArtifactPath(base));
  CAIRN_RETURN_IF_ERROR(RefuseReserved(base));
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
  CAIRN_RETURN_IF_ERROR(store.Transaction([&]() -> Status {
    CAIRN_RETURN_IF_ERROR(store.AddArtifacts(r.id, arts));
    return Reseal(store, repo_, r);
  }));
  return arts;
}

Result<RunArtifact> Tracker::LogArtifactBytes(const std::string& run, const std::string& artifact_path,
                                              std::string_view bytes) {
  std::lock_guard lock(impl_->mu);
  TrackingStore& store = *impl_->store;
  CAIRN_ASSIGN_OR_RETURN(StoredRunState r, FindRun(store, run));
  CAIRN_RETURN_IF_ERROR(ValidateArtifactPath(artifact_path));
  CAIRN_ASSIGN_OR_RETURN(RepoLock repo_lock, repo_.Lock());
  // Loose, not packed: one small pack per run would slow every lookup.
  CAIRN_ASSIGN_OR_RETURN(Oid oid, repo_.store().PutObjectDurable(bytes));
  RunArtifact art{artifact_path, oid, bytes.size()};
  CAIRN_RETURN_IF_ERROR(store.Transaction([&]() -> Status {
    CAIRN_RETURN_IF_ERROR(store.AddArtifacts(r.id, {art}));
    return Reseal(store, repo_, r);
  }));
  return art;
}

Result<RunArtifact> Tracker::LogUserArtifactBytes(const std::string& run, const std::string& artifact_path,
                                                  std::string_view bytes) {
  CAIRN_RETURN_IF_ERROR(ValidateArtifactPath(artifact_path));
  CAIRN_RETURN_IF_ERROR(RefuseReserved(artifact_path));
  return LogArtifactBytes(run, artifact_path, bytes);
}

}  // namespace cairn
