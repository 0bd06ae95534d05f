// Finding pointer files and comparing tracked paths with the workspace.
#include <dirent.h>

#include <algorithm>
#include <set>

#include "cairn/dataset.h"
#include "dataset/workspace.h"
#include "repo/state_db.h"
#include "util/file.h"
#include "util/progress.h"
#include "util/trace.h"

namespace cairn {
namespace {

bool Covers(const std::string& outer, const std::string& inner) {
  return inner == outer || (inner.size() > outer.size() && inner.compare(0, outer.size(), outer) == 0 &&
                            inner[outer.size()] == '/');
}

Status WalkPointers(const fs::path& dir, const std::string& rel, std::vector<std::string>* out) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return Status::FromErrno("cannot list " + dir.string(), errno);
  std::vector<std::pair<std::string, unsigned char>> entries;
  while (dirent* e = ::readdir(d)) entries.emplace_back(e->d_name, e->d_type);
  ::closedir(d);
  std::set<std::string> tracked;
  for (const auto& [name, type] : entries) {
    if (HasPointerSuffix(name) &&
        (type == DT_REG || type == DT_UNKNOWN)) {
      std::string data_name = name.substr(0, name.size() - kPointerSuffix.size());
      tracked.insert(data_name);
      out->push_back(rel.empty() ? data_name : rel + "/" + data_name);
    }
  }
  for (const auto& [name, type] : entries) {
    if (name == "." || name == ".." || tracked.count(name)) continue;
    if (rel.empty() && (name == ".git" || name == Layout::kDirName)) continue;
    bool is_dir = type == DT_DIR;
    if (type == DT_UNKNOWN) {
      std::error_code ec;
      is_dir = fs::is_directory(fs::symlink_status(dir / name, ec));
    }
    if (is_dir) CAIRN_RETURN_IF_ERROR(WalkPointers(dir / name, rel.empty() ? name : rel + "/" + name, out));
  }
  return Status::OK();
}

}  // namespace

const char* FileChangeKindName(FileChangeKind kind) {
  switch (kind) {
    case FileChangeKind::kAdded:
      return "added";
    case FileChangeKind::kDeleted:
      return "deleted";
    case FileChangeKind::kModified:
      return "modified";
  }
  return "?";
}

const char* TrackedStateName(TrackedState s) {
  switch (s) {
    case TrackedState::kClean:
      return "clean";
    case TrackedState::kModified:
      return "modified";
    case TrackedState::kMissingFromWorkspace:
      return "missing-from-workspace";
    case TrackedState::kMissingFromCache:
      return "missing-from-cache";
  }
  return "?";
}

namespace {

// `wanted` are repo-relative paths; `filter` names them in errors.
Result<std::vector<Tracked>> FindWanted(Repo& repo, std::vector<std::string> wanted,
                                        const std::vector<std::string>& filter) {
  for (std::string& rel : wanted) {
    if (HasPointerSuffix(rel)) rel.resize(rel.size() - kPointerSuffix.size());
  }
  std::vector<std::string> paths;
  CAIRN_RETURN_IF_ERROR(WalkPointers(repo.root(), "", &paths));
  std::sort(paths.begin(), paths.end());
  std::vector<Tracked> out;
  std::vector<bool> matched(wanted.size(), false);
  for (const std::string& path : paths) {
    bool keep = wanted.empty();
    for (size_t i = 0; i < wanted.size(); ++i) {
      if (Covers(wanted[i], path) || Covers(path, wanted[i])) {
        keep = true;
        matched[i] = true;
      }
    }
    if (!keep) continue;
    std::string where = path + std::string(kPointerSuffix);
    // A pointer file comes from git, so from anyone with push access: one
    // named .git.cairn or .cairn.cairn would hand those directories to checkout.
    for (size_t start = 0; start <= path.size();) {
      size_t end = std::min(path.find('/', start), path.size());
      std::string_view part(path.data() + start, end - start);
      if (part == ".git" || part == Layout::kDirName) {
        return Status::Corruption(where + ": tracks " + std::string(part) + "/, which cairn never writes",
                                  "remove " + where + " (it came from git: check who committed it)");
      }
      start = end + 1;
    }
    CAIRN_ASSIGN_OR_RETURN(std::string data, ReadFile(repo.PointerPath(path)));
    CAIRN_ASSIGN_OR_RETURN(Pointer p, Pointer::Decode(data, where));
    out.push_back(Tracked{path, std::move(p)});
  }
  for (size_t i = 0; i < wanted.size(); ++i) {
    if (!matched[i]) {
      return Status::NotFound(filter[i] + " is not tracked by cairn", "track it with 'cairn add " + filter[i] + "'");
    }
  }
  return out;
}

}  // namespace

Result<std::vector<Tracked>> FindTracked(Repo& repo, const std::vector<std::string>& filter) {
  std::vector<std::string> wanted;
  for (const std::string& f : filter) {
    CAIRN_ASSIGN_OR_RETURN(std::string rel, repo.RelativePath(f));
    wanted.push_back(std::move(rel));
  }
  return FindWanted(repo, std::move(wanted), filter);
}

Result<std::vector<Tracked>> FindTrackedAt(Repo& repo, const std::vector<std::string>& paths) {
  return FindWanted(repo, paths, paths);
}

std::vector<FileChange> DiffTrees(const Tree& from, const Tree& to) {
  std::vector<FileChange> out;
  size_t i = 0, j = 0;
  const auto& a = from.entries;
  const auto& b = to.entries;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && a[i].path < b[j].path)) {
      out.push_back(FileChange{a[i].path, FileChangeKind::kDeleted, a[i].size, 0});
      ++i;
    } else if (i == a.size() || b[j].path < a[i].path) {
      out.push_back(FileChange{b[j].path, FileChangeKind::kAdded, 0, b[j].size});
      ++j;
    } else {
      if (a[i].oid != b[j].oid || a[i].executable != b[j].executable) {
        out.push_back(FileChange{a[i].path, FileChangeKind::kModified, a[i].size, b[j].size});
      }
      ++i;
      ++j;
    }
  }
  return out;
}

Result<Tree> WorkspaceFiles(Repo& repo, const std::string& path, bool progress) {
  PathKind kind;
  CAIRN_ASSIGN_OR_RETURN(std::vector<WorkFile> files, ListWorkFiles(repo, path, &kind));
  uint64_t total = 0;
  for (const WorkFile& f : files) total += f.size;
  {
    Progress bar("hash " + path, files.size(), total, progress);
    CAIRN_RETURN_IF_ERROR(HashWorkFiles(repo, path, &files, /*store=*/false, &bar).status());
  }
  Tree tree = ToTree(files, fs::path(path).filename().string());
  CAIRN_RETURN_IF_ERROR(tree.Normalize());
  return tree;
}

namespace {

// A cached version of `dataset` whose data is `object` (none when the
// object is not in the cache: then no version holds it here).
Result<std::optional<Oid>> CachedVersionOf(Repo& repo, const std::string& dataset, const Oid& object) {
  if (!repo.store().Has(object)) return std::optional<Oid>();
  CAIRN_ASSIGN_OR_RETURN(std::vector<Oid> versions, repo.state().FindVersions(dataset, ""));
  for (const Oid& oid : versions) {
    auto v = LoadVersion(repo, oid);
    if (v.ok() && v->object == object) return std::optional<Oid>(oid);
  }
  return std::optional<Oid>();
}

Result<PathStatus> StatusOf(Repo& repo, const Tracked& t, const StatusOptions& options) {
  PathStatus st;
  st.tracked = t;
  const std::string name = fs::path(t.path).filename().string();
  PathKind kind;
  std::optional<TraceScope> phase(std::in_place, "status: list files");
  CAIRN_ASSIGN_OR_RETURN(std::vector<WorkFile> files, ListWorkFiles(repo, t.path, &kind));
  phase.emplace("status: match stat cache");
  if (kind == PathKind::kMissing) {
    st.state = repo.store().Has(t.pointer.version) ? TrackedState::kMissingFromWorkspace
                                                   : TrackedState::kMissingFromCache;
    return st;
  }
  uint64_t total = 0;
  for (const WorkFile& f : files) total += f.size;
  HashSummary summary;
  {
    Progress bar("status " + t.path, files.size(), total, options.progress);
    CAIRN_ASSIGN_OR_RETURN(summary, HashWorkFiles(repo, t.path, &files, /*store=*/false, &bar));
  }
  phase.reset();
  bool is_tree = t.pointer.kind == ObjectKind::kTree;
  // Fast path: no file changed since the stat cache saw these very files make
  // the pointer's object, and that object and its version are still cached.
  if (summary.all_cached && summary.recorded_object == t.pointer.object &&
      (kind == PathKind::kDirectory) == is_tree && repo.store().Has(t.pointer.object) &&
      repo.store().Has(t.pointer.version)) {
    return st;
  }
  auto version = LoadVersion(repo, t.pointer.version);
  Result<Tree> expected = version.ok() ? LoadFiles(repo, *version) : Result<Tree>(version.status());
  if (!expected.ok()) {
    if (expected.status().code() != Code::kNotFound) return expected.status();
    st.state = TrackedState::kMissingFromCache;
    return st;
  }
  if (!is_tree) expected->entries[0].path = name;
  Tree actual = ToTree(files, name);
  CAIRN_RETURN_IF_ERROR(actual.Normalize());
  if (kind == PathKind::kFile && is_tree) {
    actual.entries.clear();  // a file where a directory belongs: every expected file is gone
    actual.entries.push_back(TreeEntry{name + " (file)", false, files[0].size, files[0].oid});
  }
  st.changes = DiffTrees(*expected, actual);
  if (!st.changes.empty()) {
    st.state = TrackedState::kModified;
    // After 'git checkout' of another commit the workspace still holds the
    // data of the version checked out before: say so, since recording it
    // again ('cairn add') would put that data on this commit.
    std::optional<Oid> object;
    if (kind == PathKind::kDirectory && is_tree) {
      Tree rel = ToTree(files, "");
      if (rel.Normalize().ok()) object = Oid::Of(rel.Encode());
    } else if (kind == PathKind::kFile && !is_tree) {
      object = files[0].oid;
    }
    if (object) {
      CAIRN_ASSIGN_OR_RETURN(st.cached_version, CachedVersionOf(repo, t.pointer.dataset, *object));
    }
    return st;
  }
  // Data that is in the workspace but whose blobs are gone from the cache
  // cannot be restored after an edit: report it.
  for (const TreeEntry& e : expected->entries) {
    if (!repo.store().Has(e.oid)) {
      st.state = TrackedState::kMissingFromCache;
      return st;
    }
  }
  CAIRN_RETURN_IF_ERROR(RecordWorkFiles(repo, t.path, files, t.pointer.object));
  return st;
}

}  // namespace

Result<std::vector<PathStatus>> GetStatus(Repo& repo, const std::vector<std::string>& filter,
                                          const StatusOptions& options) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<Tracked> tracked, FindTracked(repo, filter));
  std::vector<PathStatus> out;
  for (Tracked& t : tracked) {
    CAIRN_ASSIGN_OR_RETURN(PathStatus st, StatusOf(repo, t, options));
    out.push_back(std::move(st));
  }
  return out;
}

}  // namespace cairn
