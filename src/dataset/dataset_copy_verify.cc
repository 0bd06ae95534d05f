// Verifying use_dataset copies by content (dataset/dataset_copies.h): every
// file of a complete copy is read and hashed against the version it copies,
// which use_dataset's one-stat-per-file check cannot see (an edit that keeps
// size and mtime). Also fsck's use of it and the removal of damaged copies.
#include <sys/stat.h>

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include "cairn/dataset.h"
#include "cairn/maintenance.h"
#include "dataset/dataset_copies.h"
#include "util/file.h"
#include "util/list_dir.h"

namespace cairn {
namespace {

bool HasManifest(Repo& repo, const Oid& version) {
  struct stat st;
  return ::lstat((repo.layout().dataset_copies() / (version.Hex() + ".manifest")).c_str(), &st) == 0;
}

// What a copy of `version` must hold: relative path → (size, oid).
std::map<std::string, const TreeEntry*> ExpectedFiles(const Version& v, const Tree& files) {
  std::map<std::string, const TreeEntry*> out;
  for (const TreeEntry& e : files.entries) {
    // A single-file version is copied under its file name (see
    // MaterializeDatasetVersion), "data" when it has none.
    const std::string path = v.kind == ObjectKind::kBlob ? (v.filename.empty() ? "data" : v.filename) : e.path;
    out[path] = &e;
  }
  return out;
}

// The regular files below `root` (relative, '/'-separated); anything else
// but directories is damage (and goes to `*others`, never opened: a FIFO
// would block).
std::vector<std::string> ListCopy(const fs::path& root, const Oid& version, const std::string& dataset,
                                  std::vector<CopyDamage>* damage, std::vector<std::string>* others) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const std::string rel = it->path().lexically_relative(root).generic_string();
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0) {
      damage->push_back({version, dataset, rel, "cannot be read: " + std::string(std::strerror(errno)), false});
      others->push_back(rel);
      continue;
    }
    if (S_ISDIR(st.st_mode)) continue;
    if (!S_ISREG(st.st_mode)) {
      damage->push_back({version, dataset, rel, "is not a regular file (the version holds only files)"});
      others->push_back(rel);
      continue;
    }
    out.push_back(rel);
  }
  if (ec) damage->push_back({version, dataset, "", "cannot be listed: " + ec.message(), false});
  return out;
}

// Reads and hashes one file; "" when it matches `want`. `*definite` is
// cleared when the file cannot be read (not known to differ).
std::string CheckFile(const fs::path& path, const TreeEntry& want, bool* definite) {
  auto fd = OpenRead(path);
  *definite = fd.ok();
  if (!fd.ok()) return "cannot be read: " + fd.status().message();
  uint64_t size = 0;
  auto oid = HashFd(fd->get(), path, &size);
  *definite = oid.ok();
  if (!oid.ok()) return "cannot be read: " + oid.status().message();
  if (size != want.size) {
    return "is " + std::to_string(size) + " bytes, the version's file " + std::to_string(want.size) +
           " (edited or truncated)";
  }
  if (*oid != want.oid) return "has other content than the version's file (" + want.oid.Short() + "): edited";
  return {};
}

}  // namespace

std::vector<CopyDamage> VerifyDatasetCopy(Repo& repo, const Oid& version) {
  std::vector<CopyDamage> damage;
  const fs::path root = repo.layout().dataset_copy(version.Hex());
  auto v = LoadVersion(repo, version);
  auto files = v.ok() ? LoadFiles(repo, *v) : Result<Tree>(v.status());
  if (!files.ok()) {
    // Nothing can tell whether it is intact, and nothing could make it
    // again: it may be the only complete local copy of the version.
    damage.push_back({version, v.ok() ? v->dataset : "", "",
                      "cannot be checked: " + files.status().message(), false});
    return damage;
  }
  const std::string dataset = v->dataset;
  auto want = ExpectedFiles(*v, *files);
  std::vector<std::string> others;
  std::vector<std::string> have = ListCopy(root, version, dataset, &damage, &others);
  for (const std::string& rel : others) want.erase(rel);  // reported as what it is, not also as removed
  std::vector<std::pair<std::string, const TreeEntry*>> to_hash;
  for (const std::string& rel : have) {
    auto it = want.find(rel);
    if (it == want.end()) {
      damage.push_back({version, dataset, rel, "was added (the version has no such file)"});
      continue;
    }
    to_hash.emplace_back(rel, it->second);
    want.erase(it);
  }
  for (const auto& [rel, e] : want) damage.push_back({version, dataset, rel, "was removed"});
  std::mutex mu;
  tbb::parallel_for(tbb::blocked_range<size_t>(0, to_hash.size(), 16), [&](const tbb::blocked_range<size_t>& r) {
    for (size_t i = r.begin(); i != r.end(); ++i) {
      bool definite = true;
      std::string why = CheckFile(root / to_hash[i].first, *to_hash[i].second, &definite);
      if (why.empty()) continue;
      std::lock_guard lock(mu);
      damage.push_back({version, dataset, to_hash[i].first, std::move(why), definite});
    }
  });
  std::sort(damage.begin(), damage.end(), [](const CopyDamage& a, const CopyDamage& b) { return a.file < b.file; });
  return damage;
}

Result<std::vector<CopyDamage>> VerifyDatasetCopies(Repo& repo, uint64_t* copies_checked) {
  std::vector<CopyDamage> out;
  const fs::path dir = repo.layout().dataset_copies();
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirNames(dir));
  for (const std::string& name : names) {
    auto version = Oid::Parse("sha256:" + name);
    std::error_code ec;
    // Not a copy cairn made, or a manifest.
    if (!version.ok() || !fs::is_directory(fs::symlink_status(dir / name, ec))) continue;
    // Without a manifest a copy is being built or removed (or was killed
    // doing so): use_dataset never hands it out and makes it again.
    if (!HasManifest(repo, *version)) continue;
    ++*copies_checked;
    std::vector<CopyDamage> damage = VerifyDatasetCopy(repo, *version);
    // Removed (or being made again) while it was read: not damage.
    if (!damage.empty() && !HasManifest(repo, *version)) continue;
    out.insert(out.end(), damage.begin(), damage.end());
  }
  return out;
}

bool DefinitelyDamaged(const std::vector<CopyDamage>& damage) {
  return std::any_of(damage.begin(), damage.end(), [](const CopyDamage& d) { return d.definite; });
}

Result<std::vector<fs::path>> RemoveDamagedCopies(Repo& repo, const FsckReport& found) {
  std::vector<fs::path> removed;
  if (found.damaged_copies.empty()) return removed;
  CAIRN_ASSIGN_OR_RETURN(RepoLock lock, repo.Lock());
  for (const Oid& version : found.damaged_copies) {
    // Checked again under the lock: use_dataset may have made it again
    // since (a changed file's stat gives it away), and an intact copy may
    // be being read. One that cannot be checked is kept.
    if (!HasManifest(repo, version) || !DefinitelyDamaged(VerifyDatasetCopy(repo, version))) continue;
    const fs::path root = repo.layout().dataset_copy(version.Hex());
    CAIRN_RETURN_IF_ERROR(RemoveDatasetCopy(repo, DatasetCopy{version, root, 0}));
    removed.push_back(root);
  }
  return removed;
}

}  // namespace cairn
