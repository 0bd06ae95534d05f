// cairn add: snapshot paths into the store and write their pointer files.
#include <sys/stat.h>

#include "cairn/dataset.h"
#include "cairn/refs.h"
#include "dataset/workspace.h"
#include "repo/state_db.h"
#include "util/file.h"
#include "util/progress.h"
#include "util/trace.h"

namespace cairn {
namespace {

// Adds "/<name>" to the .gitignore beside the tracked path, so git holds the
// pointer but never the data.
Status IgnoreInGit(Repo& repo, const std::string& rel) {
  fs::path abs = repo.Abs(rel);
  fs::path gitignore = abs.parent_path() / ".gitignore";
  std::string line = "/" + abs.filename().string();
  std::string content;
  auto existing = ReadFile(gitignore);
  if (existing.ok()) {
    content = *existing;
    size_t pos = 0;
    while (pos < content.size()) {
      size_t nl = content.find('\n', pos);
      if (nl == std::string::npos) nl = content.size();
      if (content.compare(pos, nl - pos, line) == 0) return Status::OK();
      pos = nl + 1;
    }
    if (!content.empty() && content.back() != '\n') content += '\n';
  } else if (existing.status().code() != Code::kNotFound) {
    return existing.status();
  }
  content += line + "\n";
  return WriteWorkspaceFileAtomic(gitignore, content, /*sync=*/false, repo.tmp_dir());
}

struct Pending {
  AddResult result;
  Pointer pointer;
  Version version;
  std::vector<WorkFile> files;
};

Status CheckNotNested(Repo& repo, const std::string& rel) {
  for (fs::path p = fs::path(rel).parent_path(); !p.empty(); p = p.parent_path()) {
    if (fs::exists(repo.PointerPath(p.generic_string()))) {
      return Status::InvalidArgument(rel + " is inside the tracked path " + p.generic_string(),
                                     "re-add " + p.generic_string() + " instead");
    }
  }
  return Status::OK();
}

Result<Pending> Snapshot(Repo& repo, const std::string& user_path, const AddOptions& options) {
  CAIRN_ASSIGN_OR_RETURN(std::string rel, repo.RelativePath(user_path));
  if (HasPointerSuffix(rel)) {
    return Status::InvalidArgument(user_path + " is a pointer file", "add the data path it points to instead");
  }
  CAIRN_RETURN_IF_ERROR(CheckNotNested(repo, rel));
  PathKind kind;
  std::optional<TraceScope> phase(std::in_place, "add: list files");
  CAIRN_ASSIGN_OR_RETURN(std::vector<WorkFile> files, ListWorkFiles(repo, rel, &kind));
  phase.emplace("add: hash and store");
  if (kind == PathKind::kMissing) return Status::NotFound(user_path + ": no such file or directory",
                                                               "paths are taken from the current directory");
  for (const WorkFile& f : files) {
    if (kind == PathKind::kDirectory) {
      Status s = ValidateTreePath(f.rel);
      if (!s.ok()) return Status::InvalidArgument(s.message() + " (in " + rel + ")", s.hint());
    }
    if (HasPointerSuffix(f.rel)) {
      return Status::InvalidArgument(rel + " contains the pointer file " + rel + "/" + f.rel,
                                     "track the paths inside it separately, or remove that pointer first");
    }
  }

  std::optional<Pointer> previous;
  fs::path pointer_path = repo.PointerPath(rel);
  auto existing = ReadFile(pointer_path);
  if (existing.ok()) {
    CAIRN_ASSIGN_OR_RETURN(Pointer p, Pointer::Decode(*existing, rel + std::string(kPointerSuffix)));
    previous = p;
  } else if (existing.status().code() != Code::kNotFound) {
    return existing.status();
  }

  Pending out;
  std::string dataset = !options.name.empty() ? options.name : previous ? previous->dataset : rel;
  CAIRN_RETURN_IF_ERROR(ValidateDatasetName(dataset));
  if (previous && previous->dataset != dataset) {
    return Status::InvalidArgument(rel + " is already tracked as dataset '" + previous->dataset + "'",
                                   "drop --name, or remove " + rel + ".cairn to start a new dataset");
  }

  uint64_t total = 0;
  for (const WorkFile& f : files) total += f.size;
  {
    Progress progress("add " + rel, files.size(), total, options.progress);
    CAIRN_ASSIGN_OR_RETURN(HashSummary summary, HashWorkFiles(repo, rel, &files, /*store=*/true, &progress,
                                                                      /*record=*/false));
    out.result.files_hashed = summary.files_hashed;
    out.result.bytes_hashed = summary.bytes_hashed;
  }

  // The blobs are durable (their pack finished) before a tree can name them,
  // so an interrupted add never leaves a tree pointing at missing data.
  phase.emplace("add: finish pack and sync");
  CAIRN_RETURN_IF_ERROR(repo.store().Commit());
  phase.emplace("add: tree, version, stat cache");
  Version& v = out.version;
  v.dataset = dataset;
  if (kind == PathKind::kFile) {
    v.kind = ObjectKind::kBlob;
    v.object = files[0].oid;
    v.size = files[0].size;
    v.files = 1;
    v.filename = fs::path(rel).filename().string();
    v.executable = files[0].executable;
  } else {
    Tree tree = ToTree(files, "");
    CAIRN_RETURN_IF_ERROR(tree.Normalize());
    CAIRN_ASSIGN_OR_RETURN(v.object, repo.store().PutObject(tree.Encode()));
    v.kind = ObjectKind::kTree;
    v.size = tree.TotalSize();
    v.files = tree.entries.size();
  }

  out.result.path = rel;
  out.result.dataset = dataset;
  out.result.files = v.files;
  out.result.bytes = v.size;
  CAIRN_RETURN_IF_ERROR(RecordWorkFiles(repo, rel, files, v.object));
  out.files = std::move(files);
  bool same_mode = true;
  if (previous && v.kind == ObjectKind::kBlob) {
    auto prev = LoadVersion(repo, previous->version);
    same_mode = prev.ok() && prev->executable == v.executable && prev->filename == v.filename;
  }
  if (previous && previous->object == v.object && previous->kind == v.kind && same_mode &&
      repo.store().Has(previous->version)) {
    out.result.unchanged = true;
    out.result.version = previous->version;
    return out;
  }

  std::optional<Oid> parent;
  if (previous) {
    parent = previous->version;
  } else {
    CAIRN_ASSIGN_OR_RETURN(parent, ReadLatest(repo, dataset));
    if (parent && !repo.store().Has(*parent)) parent.reset();  // never name a version we do not hold
  }
  if (parent) v.parents.push_back(*parent);
  v.author = repo.Author();
  v.time = NowNs() / 1'000'000'000;
  v.message = options.message;
  CAIRN_ASSIGN_OR_RETURN(out.result.version, repo.store().PutObject(v.Encode()));
  out.result.parent = parent;
  out.pointer = Pointer{dataset, out.result.version, v.kind, v.object, v.size, v.files};
  return out;
}

Result<std::vector<AddResult>> AddLocked(Repo& repo, const std::vector<std::string>& paths,
                                         const AddOptions& options) {
  if (paths.empty()) return Status::InvalidArgument("nothing to add", "name a file or directory");
  if (!options.name.empty() && paths.size() > 1) {
    return Status::InvalidArgument("--name applies to one path, but " + std::to_string(paths.size()) +
                                   " were given");
  }
  std::vector<Pending> pending;
  for (const std::string& p : paths) {
    CAIRN_ASSIGN_OR_RETURN(Pending one, Snapshot(repo, p, options));
    for (const Pending& other : pending) {
      if (other.result.path == one.result.path) {
        return Status::InvalidArgument(p + " was given twice");
      }
    }
    pending.push_back(std::move(one));
  }
  // Every object is durable before any pointer names it.
  TraceScope phase("add: sync and write pointers");
  CAIRN_RETURN_IF_ERROR(repo.store().Commit());
  std::vector<AddResult> results;
  for (Pending& p : pending) {
    const std::string& rel = p.result.path;
    if (!p.result.unchanged) {
      CAIRN_RETURN_IF_ERROR(WriteWorkspaceFileAtomic(repo.PointerPath(rel), p.pointer.Encode(), /*sync=*/true, repo.tmp_dir()));
      CAIRN_RETURN_IF_ERROR(SetLatest(repo, p.result.dataset, p.result.version));
      CAIRN_RETURN_IF_ERROR(repo.state().AddVersion(p.result.version, p.result.dataset, p.version.time));
    }
    if (repo.has_git()) CAIRN_RETURN_IF_ERROR(IgnoreInGit(repo, rel));
    results.push_back(std::move(p.result));
  }
  return results;
}

}  // namespace

Result<std::vector<AddResult>> Add(Repo& repo, const std::vector<std::string>& paths,
                                   const AddOptions& options) {
  CAIRN_ASSIGN_OR_RETURN(RepoLock lock, repo.Lock());
  auto result = AddLocked(repo, paths, options);
  if (!result.ok()) repo.store().DiscardPending();
  return result;
}

}  // namespace cairn
