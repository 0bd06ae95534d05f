// Run artifacts: listing and download (cairn/artifacts.h).
#include "cairn/artifacts.h"

#include <unistd.h>

#include <atomic>
#include <set>
#include <system_error>

#include "util/file.h"

namespace cairn {
namespace {

bool Below(const std::string& path, const std::string& dir) {
  return dir.empty() || (path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/');
}

std::string Trimmed(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (path == "/") path.clear();
  return path;
}

// A temp name beside `dest` that no other process (or earlier crash) uses:
// hidden, with this process's pid and a counter, so a user's file is never
// taken for one.
fs::path TempBeside(const fs::path& dest) {
  static std::atomic<uint64_t> counter{0};
  std::string name = "." + dest.filename().string() + ".cairn-tmp-" + std::to_string(::getpid()) + "-" +
                     std::to_string(counter.fetch_add(1));
  return dest.parent_path() / name;
}

// Writes one artifact to `dest` atomically: a temp file beside it, then rename.
Status WriteOne(Repo& repo, const RunArtifact& a, const fs::path& dest) {
  std::error_code ec;
  fs::path tmp = TempBeside(dest);
  if (fs::symlink_status(tmp, ec).type() != fs::file_type::not_found) {
    return Status::AlreadyExists("cannot write " + dest.string() + ": temp file " + tmp.string() + " exists");
  }
  if (Status s = repo.store().Materialize(a.oid, tmp, LinkMode::kCopy); !s.ok()) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    return s;
  }
  fs::rename(tmp, dest, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    return Status::IOError("cannot write " + dest.string() + ": " + ec.message());
  }
  return Status::OK();
}

}  // namespace

Result<std::vector<RunArtifact>> ListArtifacts(Tracker& tracker, const std::string& run, const std::string& prefix) {
  CAIRN_ASSIGN_OR_RETURN(RunInfo info, tracker.GetRun(run));
  const std::string dir = Trimmed(prefix);
  std::vector<RunArtifact> out;
  for (const RunArtifact& a : info.artifacts) {
    if (a.path == dir || Below(a.path, dir)) out.push_back(a);
  }
  return out;
}

Result<ArtifactSelection> SelectArtifacts(const RunInfo& run, const std::string& path) {
  ArtifactSelection sel;
  sel.run = run.id;
  sel.path = Trimmed(path);
  for (const RunArtifact& a : run.artifacts) {
    if (a.path == sel.path) {
      sel.directory = false;
      sel.artifacts = {a};
      return sel;
    }
    if (!sel.path.empty() && Below(a.path, sel.path)) {
      sel.artifacts.push_back(a);
      sel.directory = true;
    }
  }
  if (sel.artifacts.empty()) {
    return Status::NotFound("run " + run.id.substr(0, 8) + " has no artifact '" + sel.path + "'");
  }
  return sel;
}

Result<ArtifactSelection> SelectArtifacts(Tracker& tracker, const std::string& run, const std::string& path) {
  CAIRN_ASSIGN_OR_RETURN(RunInfo info, tracker.GetRun(run));
  return SelectArtifacts(info, path);
}

Result<std::string> ReadArtifact(Repo& repo, const RunArtifact& artifact) { return repo.store().Read(artifact.oid); }

Result<std::vector<fs::path>> DownloadArtifacts(Repo& repo, const ArtifactSelection& selection, const fs::path& dest,
                                                const DownloadOptions& options) {
  if (!dest.is_absolute()) {
    return Status::InvalidArgument("artifact destination " + dest.string() + " is not an absolute path");
  }
  // Check every destination before writing any; a directory's artifact paths
  // (from a record that may come from a remote) stay below `dest`.
  WriteRoot root(dest);
  std::vector<fs::path> dests;
  for (const RunArtifact& a : selection.artifacts) {
    if (!selection.directory) {
      dests.push_back(dest);
      continue;
    }
    CAIRN_ASSIGN_OR_RETURN(fs::path d, root.Resolve(a.path.substr(selection.path.size() + 1)));
    dests.push_back(std::move(d));
  }
  // A record may hold both "a" and "a/b" (one path a file, the other a
  // directory): no layout holds both, so nothing is written.
  std::set<std::string> names;
  for (const RunArtifact& a : selection.artifacts) names.insert(a.path);
  for (const std::string& name : names) {
    for (size_t slash = name.find('/'); slash != std::string::npos; slash = name.find('/', slash + 1)) {
      if (names.count(name.substr(0, slash))) {
        return Status::FailedPrecondition("run " + selection.run.substr(0, 8) + " has artifacts " +
                                          name.substr(0, slash) + " and " + name +
                                          ": one would be a file and a directory at once");
      }
    }
  }
  for (const fs::path& d : dests) {
    std::error_code ec;
    fs::file_status st = fs::symlink_status(d, ec);
    if (st.type() == fs::file_type::not_found) continue;
    if (st.type() == fs::file_type::directory) return Status::FailedPrecondition(d.string() + " is a directory");
    if (!options.overwrite) return Status::AlreadyExists(d.string() + " exists");
  }
  for (size_t i = 0; i < dests.size(); ++i) {
    const fs::path& d = dests[i];
    if (selection.directory) {
      CAIRN_RETURN_IF_ERROR(root.ResolveAndMakeParents(selection.artifacts[i].path.substr(selection.path.size() + 1))
                                .status());
    } else if (d.has_parent_path()) {
      CAIRN_RETURN_IF_ERROR(MakeDirs(d.parent_path()));
    }
    CAIRN_RETURN_IF_ERROR(WriteOne(repo, selection.artifacts[i], d));
    if (options.on_written) options.on_written(selection.artifacts[i], d);
  }
  return dests;
}

}  // namespace cairn
