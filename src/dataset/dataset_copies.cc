#include "dataset/dataset_copies.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <ctime>
#include <map>
#include <optional>

#include "cairn/object.h"
#include "util/file.h"
#include "util/list_dir.h"

namespace cairn {
namespace {

constexpr std::string_view kManifestHeader = "cairn-dataset-copy 1\n";
constexpr std::string_view kTempPrefix = "dataset-";

fs::path ManifestPath(Repo& repo, const Oid& version) {
  return repo.layout().dataset_copies() / (version.Hex() + ".manifest");
}

struct FileStamp {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

// Every regular file below `root` ("" for `root` itself when it is a file),
// or nullopt when something there cannot be read or is not a regular file
// or directory.
std::optional<std::map<std::string, FileStamp>> StampTree(const fs::path& root) {
  std::map<std::string, FileStamp> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0) return std::nullopt;
    if (S_ISDIR(st.st_mode)) continue;
    if (!S_ISREG(st.st_mode)) return std::nullopt;
    out[it->path().lexically_relative(root).generic_string()] =
        FileStamp{static_cast<uint64_t>(st.st_size),
                  static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
  }
  if (ec) return std::nullopt;
  return out;
}

std::optional<std::map<std::string, FileStamp>> ReadManifest(const fs::path& path) {
  auto data = ReadFile(path);
  if (!data.ok() || !data->starts_with(kManifestHeader)) return std::nullopt;
  std::map<std::string, FileStamp> out;
  size_t pos = kManifestHeader.size();
  while (pos < data->size()) {
    size_t nl = data->find('\n', pos);
    if (nl == std::string::npos) return std::nullopt;  // torn: never written that way (atomic write)
    std::string_view line(data->data() + pos, nl - pos);
    pos = nl + 1;
    FileStamp s;
    size_t sp1 = line.find(' ');
    size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) return std::nullopt;
    auto r1 = std::from_chars(line.data(), line.data() + sp1, s.size);
    auto r2 = std::from_chars(line.data() + sp1 + 1, line.data() + sp2, s.mtime_ns);
    if (r1.ec != std::errc() || r2.ec != std::errc()) return std::nullopt;
    // Anyone who can write .cairn can write this file: a path must stay in the copy.
    const std::string_view path = line.substr(sp2 + 1);
    if (!ValidateRelativePath(path, "copy manifest path").ok()) return std::nullopt;
    out[std::string(path)] = s;
  }
  return out;
}

// The bytes below `path`, following no symlink: a symlink counts as the
// link it is (its own size), never as what it points to.
uint64_t TreeBytes(const fs::path& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return 0;
  if (!S_ISDIR(st.st_mode)) return S_ISREG(st.st_mode) || S_ISLNK(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
  uint64_t bytes = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator(path, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    bytes += TreeBytes(it->path());
  }
  return bytes;
}

bool ProcessAlive(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

}  // namespace

Result<std::vector<DatasetCopy>> StaleDatasetCopies(Repo& repo, const OidSet& root_versions, int64_t now,
                                                    int64_t grace_seconds) {
  std::vector<DatasetCopy> out;
  const fs::path dir = repo.layout().dataset_copies();
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirNames(dir));
  std::error_code ec;
  for (const std::string& name : names) {
    const fs::directory_entry entry(dir / name, ec);
    auto oid = Oid::Parse("sha256:" + name);
    // Anything else there is not a copy cairn made (or is a manifest): leave
    // it. A symlink in a copy's place goes as a link.
    const fs::file_status link = entry.symlink_status(ec);
    if (!oid.ok() || !(fs::is_directory(link) || fs::is_symlink(link))) continue;
    if (root_versions.count(*oid)) continue;
    struct stat st;
    const fs::path manifest = ManifestPath(repo, *oid);
    if (::lstat(manifest.c_str(), &st) != 0 && ::lstat(entry.path().c_str(), &st) != 0) {
      return Status::FromErrno("cannot stat " + entry.path().string(), errno);
    }
    // A copy used moments ago may still be read by the process that used it.
    if (st.st_mtime > now - grace_seconds) continue;
    out.push_back(DatasetCopy{*oid, entry.path(), TreeBytes(entry.path())});
  }
  return out;
}

void RemoveReadOnlyTree(const fs::path& dir) {
  // Read-only directories (0555) must be writable before their entries can
  // be unlinked. Nothing is followed: a symlink (planted in a copy, or a copy
  // that is one) is unlinked as a link, and what it points to is never
  // changed or descended into.
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(dir, ec);
  if (ec) return;
  if (fs::is_directory(st)) {
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::add | fs::perm_options::nofollow, ec);
    std::vector<fs::path> entries;
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
      entries.push_back(it->path());
    }
    for (const fs::path& e : entries) RemoveReadOnlyTree(e);
  }
  fs::remove(dir, ec);
}

Status RemoveDatasetCopy(Repo& repo, const DatasetCopy& copy) {
  const fs::path manifest = ManifestPath(repo, copy.version);
  // The trash directory first: while a copy has no manifest, a live
  // .cairn/tmp/dataset-PID-* tells fsck it is being removed.
  CAIRN_ASSIGN_OR_RETURN(fs::path trash, MakeDatasetTempDir(repo));
  if (::unlink(manifest.c_str()) != 0 && errno != ENOENT) {
    int err = errno;
    RemoveReadOnlyTree(trash);
    return Status::FromErrno("cannot remove " + manifest.string(), err);
  }
  const fs::path moved = trash / "copy";
  if (::rename(copy.path.c_str(), moved.c_str()) != 0) {
    int err = errno;
    RemoveReadOnlyTree(trash);
    if (err == ENOENT) return Status::OK();
    return Status::FromErrno("cannot move " + copy.path.string() + " to " + moved.string(), err);
  }
  RemoveReadOnlyTree(trash);
  return Status::OK();
}

CopyState CheckDatasetCopy(Repo& repo, const Oid& version) {
  const fs::path root = repo.layout().dataset_copy(version.Hex());
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(root, ec))) {
    return fs::exists(fs::symlink_status(root, ec)) ? CopyState::kChanged : CopyState::kMissing;
  }
  auto want = ReadManifest(ManifestPath(repo, version));
  if (!want) {
    // No manifest: a killed build or removal. One that does not parse was
    // damaged after the copy was made.
    return DatasetCopyManifest(repo, version) == ManifestState::kMissing ? CopyState::kPartial : CopyState::kChanged;
  }
  auto have = StampTree(root);
  return have && *have == *want ? CopyState::kComplete : CopyState::kChanged;
}

ManifestState DatasetCopyManifest(Repo& repo, const Oid& version) {
  const fs::path manifest = ManifestPath(repo, version);
  struct stat st;
  if (::lstat(manifest.c_str(), &st) != 0) return ManifestState::kMissing;
  return S_ISREG(st.st_mode) && ReadManifest(manifest) ? ManifestState::kValid : ManifestState::kDamaged;
}

namespace {

// The pid in a temp dir's name (dataset-<pid>-XXXXXX); nothing for an older
// cairn's dataset-XXXXXX. `rest` is the name after the prefix.
std::optional<pid_t> TempDirOwner(std::string_view rest) {
  size_t dash = rest.find('-');
  pid_t pid = 0;
  if (dash == std::string_view::npos || std::from_chars(rest.data(), rest.data() + dash, pid).ptr != rest.data() + dash) {
    return std::nullopt;
  }
  return pid;
}

}  // namespace

bool DatasetCopyBeingMade(Repo& repo) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(repo.tmp_dir(), ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(kTempPrefix)) continue;
    std::optional<pid_t> owner = TempDirOwner(std::string_view(name).substr(kTempPrefix.size()));
    if (owner && ProcessAlive(*owner)) return true;
  }
  return false;
}

Status WriteDatasetCopyManifest(Repo& repo, const Oid& version) {
  const fs::path root = repo.layout().dataset_copy(version.Hex());
  auto stamps = StampTree(root);
  if (!stamps) return Status::IOError("cannot read the copy " + root.string());
  std::string text(kManifestHeader);
  for (const auto& [path, s] : *stamps) {
    text += std::to_string(s.size) + " " + std::to_string(s.mtime_ns) + " " + path + "\n";
  }
  return WriteFileAtomic(ManifestPath(repo, version), text, /*sync=*/false);
}

void TouchDatasetCopy(Repo& repo, const Oid& version) {
  ::utimensat(AT_FDCWD, ManifestPath(repo, version).c_str(), nullptr, 0);
}

Result<fs::path> MakeDatasetTempDir(Repo& repo) {
  CAIRN_RETURN_IF_ERROR(MakeDirs(repo.tmp_dir()));
  std::string tmpl =
      (repo.tmp_dir() / (std::string(kTempPrefix) + std::to_string(::getpid()) + "-XXXXXX")).string();
  if (!::mkdtemp(tmpl.data())) return Status::FromErrno("cannot create a directory in " + repo.tmp_dir().string(), errno);
  return fs::path(tmpl);
}

void RemoveStaleDatasetTempDirs(Repo& repo) {
  std::error_code ec;
  const int64_t day_ago = static_cast<int64_t>(::time(nullptr)) - 86400;
  for (const auto& entry : fs::directory_iterator(repo.tmp_dir(), ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(kTempPrefix)) continue;
    bool stale = false;
    if (std::optional<pid_t> owner = TempDirOwner(std::string_view(name).substr(kTempPrefix.size()))) {
      stale = !ProcessAlive(*owner);
    } else {
      struct stat st;  // an older cairn's dataset-XXXXXX: no PID to ask
      stale = ::lstat(entry.path().c_str(), &st) == 0 && st.st_mtime < day_ago;
    }
    if (stale) RemoveReadOnlyTree(entry.path());
  }
}

}  // namespace cairn
