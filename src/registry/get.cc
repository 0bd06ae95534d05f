// `cairn model get`: the artifact of a version, materialised from the cache
// with every byte checked against its oid, and a provenance.json beside it.
// Built in a temporary directory beside the destination and renamed into
// place, so a failure leaves nothing half-written in it.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <vector>

#include "cairn/registry.h"
#include "registry/registry_internal.h"
#include "util/file.h"

namespace cairn {
namespace {

constexpr char kProvenanceFile[] = "provenance.json";

std::string RandomSuffix() {
  std::random_device rd;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  return buf;
}

// Removes a directory this call made, unless Release()d.
class TempTree {
 public:
  explicit TempTree(fs::path path) : path_(std::move(path)) {}
  ~TempTree() {
    if (path_.empty()) return;
    std::error_code ec;
    fs::remove_all(path_, ec);  // never follows symlinks
  }
  const fs::path& path() const { return path_; }
  void Release() { path_.clear(); }

 private:
  fs::path path_;
};

// OK when `dir` may receive the model: absent, or an empty directory, or
// (with force) any directory. Sets *exists.
Status CheckDestination(const fs::path& dir, bool force, bool* exists) {
  struct stat st;
  *exists = false;
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::OK();
    return Status::FromErrno("cannot inspect " + dir.string(), errno);
  }
  *exists = true;
  if (S_ISLNK(st.st_mode)) {
    return Status::InvalidArgument(dir.string() + " is a symbolic link; cairn does not write through links",
                                   "choose another -o");
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::FailedPrecondition(dir.string() + " exists and is not a directory", "choose another -o");
  }
  std::error_code ec;
  bool empty = fs::is_empty(dir, ec);
  if (ec) return Status::FromErrno("cannot list " + dir.string(), ec.value());
  if (!empty && !force) {
    return Status::FailedPrecondition(dir.string() + " is not empty",
                                      "pass --force to replace its content, or choose another -o");
  }
  return Status::OK();
}

}  // namespace

Result<GetModelResult> GetModel(Repo& repo, std::string_view ref, const fs::path& out_dir, bool force) {
  CAIRN_ASSIGN_OR_RETURN(ModelVersionState st, ResolveModel(repo, ref));
  if (out_dir.empty()) return Status::InvalidArgument("model get needs an output directory (-o DIR)");
  fs::path dir = (out_dir.is_absolute() ? out_dir : repo.base_dir() / out_dir).lexically_normal();
  if (dir.filename().empty()) dir = dir.parent_path();  // "out/" → "out"
  // Never the repository itself, its .cairn or .git, or a directory
  // holding them or the current directory: --force would move them away.
  std::error_code ec;
  fs::path resolved = fs::weakly_canonical(dir, ec);
  if (ec) resolved = dir;
  fs::path repo_root = fs::weakly_canonical(repo.root(), ec);
  std::vector<fs::path> kept_dirs = {repo_root, fs::weakly_canonical(repo.base_dir(), ec)};
  // The process's own working directory too, which -C does not change: a
  // shell sitting in DIR would be left in a deleted directory.
  if (char* cwd = ::getcwd(nullptr, 0)) {
    kept_dirs.push_back(fs::weakly_canonical(cwd, ec));
    std::free(cwd);
  }
  for (const fs::path& kept : kept_dirs) {
    if (IsInside(kept, resolved) || IsInside(resolved, repo_root / Layout::kDirName)) {
      return Status::InvalidArgument("cannot write a model into " + dir.string() +
                                         ": it is or holds the repository or the current directory",
                                     "choose an output directory of its own, e.g. -o deploy/");
    }
  }
  if (IsInside(resolved, repo_root / ".git")) {
    return Status::InvalidArgument("cannot write a model inside .git", "choose another -o");
  }
  return registry_internal::WriteModel(repo, std::move(st), dir, force);
}

namespace registry_internal {

Result<GetModelResult> WriteModel(Repo& repo, ModelVersionState st, const fs::path& dir, bool force) {
  std::error_code ec;
  bool exists = false;
  CAIRN_RETURN_IF_ERROR(CheckDestination(dir, force, &exists));
  const ModelArtifact& artifact = st.version.artifact;
  if (artifact.filename == kProvenanceFile) {
    return Status::InvalidArgument("the artifact is named provenance.json, the name of the sidecar cairn writes",
                                   "register it under another name");
  }
  fs::path parent = dir.parent_path();
  CAIRN_RETURN_IF_ERROR(MakeDirs(parent));
  TempTree temp(parent / (".cairn-get-" + std::to_string(::getpid()) + "-" + RandomSuffix()));
  if (::mkdir(temp.path().c_str(), 0755) != 0) return Status::FromErrno("cannot create " + temp.path().string(), errno);

  ObjectStore& store = repo.store();
  std::vector<TreeEntry> files;
  WriteRoot root(temp.path());
  const std::string where = "model " + st.version.model + "@" + std::to_string(st.version.version);
  // The bytes are checked against their oid by Materialize; the sizes the
  // version object (and a tree) claim are checked against the bytes written,
  // and provenance.json reports what was written.
  auto written_size = [&](const fs::path& dest, uint64_t claimed, const std::string& name) -> Result<uint64_t> {
    struct stat fst;
    if (::stat(dest.c_str(), &fst) != 0) return Status::FromErrno("cannot inspect " + dest.string(), errno);
    uint64_t real = static_cast<uint64_t>(fst.st_size);
    if (real != claimed) {
      return Status::Corruption(where + ": " + name + " is " + std::to_string(real) + " bytes but the version says " +
                                    std::to_string(claimed),
                                "run 'cairn fsck'; the version object was damaged or forged");
    }
    return real;
  };
  if (artifact.kind == ObjectKind::kBlob) {
    CAIRN_ASSIGN_OR_RETURN(fs::path dest, root.Resolve(artifact.filename));
    CAIRN_RETURN_IF_ERROR(store.Materialize(artifact.object, dest, LinkMode::kCopy));
    CAIRN_ASSIGN_OR_RETURN(uint64_t size, written_size(dest, artifact.size, artifact.filename));
    files.push_back(TreeEntry{artifact.filename, false, size, artifact.object});
  } else {
    CAIRN_ASSIGN_OR_RETURN(std::string data, store.Read(artifact.object));
    CAIRN_ASSIGN_OR_RETURN(Tree tree, Tree::Decode(data));  // validates every path
    uint64_t total = 0;
    for (TreeEntry& e : tree.entries) {
      CAIRN_ASSIGN_OR_RETURN(fs::path dest, root.ResolveAndMakeParents(artifact.filename + "/" + e.path));
      CAIRN_RETURN_IF_ERROR(store.Materialize(e.oid, dest, LinkMode::kCopy, e.executable));
      CAIRN_ASSIGN_OR_RETURN(e.size, written_size(dest, e.size, artifact.filename + "/" + e.path));
      total += e.size;
    }
    if (total != artifact.size || tree.entries.size() != artifact.files) {
      return Status::Corruption(where + ": the artifact's " + std::to_string(tree.entries.size()) + " files hold " +
                                    std::to_string(total) + " bytes but the version says " +
                                    std::to_string(artifact.files) + " files, " + std::to_string(artifact.size) +
                                    " bytes",
                                "run 'cairn fsck'; the version object was damaged or forged");
    }
    files = std::move(tree.entries);
  }
  CAIRN_RETURN_IF_ERROR(WriteFileAtomic(temp.path() / kProvenanceFile, DumpJson(ProvenanceJson(st, &files), 2) + "\n",
                                        /*sync=*/false));
  CAIRN_RETURN_IF_ERROR(SyncFileSystem(temp.path()));

  // Into place: an empty directory is replaced by rename(2) itself; a full
  // one (with force) is moved aside first and removed after.
  bool empty = exists && fs::is_empty(dir, ec);
  std::optional<TempTree> old;
  if (exists && !empty) {
    old.emplace(parent / (".cairn-old-" + std::to_string(::getpid()) + "-" + RandomSuffix()));
    if (::rename(dir.c_str(), old->path().c_str()) != 0) {
      old->Release();
      return Status::FromErrno("cannot move " + dir.string() + " aside", errno);
    }
  }
  if (::rename(temp.path().c_str(), dir.c_str()) != 0) {
    int err = errno;
    if (old) {
      if (::rename(old->path().c_str(), dir.c_str()) == 0) old->Release();
    }
    return Status::FromErrno("cannot move the model into " + dir.string(), err);
  }
  temp.Release();
  CAIRN_RETURN_IF_ERROR(SyncDirectory(parent));
  GetModelResult result;
  // Before the move: `artifact` refers into `st`.
  result.artifact = dir / artifact.filename;
  result.provenance = dir / kProvenanceFile;
  result.state = std::move(st);
  return result;
}

}  // namespace registry_internal
}  // namespace cairn
