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

// Lists the directory `rel` of the copy at `root` ("" for the copy itself),
// recursively, without following symlinks: regular files go to `*files`;
// anything else but directories is damage (and goes to `*others`, never
// opened: a FIFO would block); a directory that cannot be read goes to
// `*unreadable` (what is in it is not known, so nothing there is missing).
void ListCopyDir(const fs::path& root, const std::string& rel, const Oid& version, const std::string& dataset,
                 std::vector<CopyDamage>* damage, std::vector<std::string>* files,
                 std::vector<std::string>* others, std::vector<std::string>* unreadable) {
  std::error_code ec;
  std::vector<std::string> names;
  for (auto it = fs::directory_iterator(rel.empty() ? root : root / rel, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  if (ec) {
    damage->push_back({version, dataset, rel, "is a directory that cannot be read: " + ec.message(), false});
    unreadable->push_back(rel);
    return;
  }
  for (const std::string& name : names) {
    const std::string child = rel.empty() ? name : rel + "/" + name;
    struct stat st;
    if (::lstat((root / child).c_str(), &st) != 0) {
      damage->push_back({version, dataset, child, "cannot be read: " + std::string(std::strerror(errno)), false});
      others->push_back(child);
    } else if (S_ISDIR(st.st_mode)) {
      ListCopyDir(root, child, version, dataset, damage, files, others, unreadable);
    } else if (!S_ISREG(st.st_mode)) {
      damage->push_back({version, dataset, child, "is not a regular file (the version holds only files)"});
      others->push_back(child);
    } else {
      files->push_back(child);
    }
  }
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
  std::vector<std::string> have, others, unreadable;
  ListCopyDir(root, "", version, dataset, &damage, &have, &others, &unreadable);
  for (const std::string& rel : others) want.erase(rel);  // reported as what it is, not also as removed
  for (const std::string& dir : unreadable) {
    // What an unreadable directory holds is not known: not reported as removed.
    std::erase_if(want, [&](const auto& kv) { return dir.empty() || kv.first.starts_with(dir + "/"); });
  }
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

namespace {

std::string DatasetOf(Repo& repo, const Oid& version) {
  auto v = LoadVersion(repo, version);
  return v.ok() ? v->dataset : "";
}

// Everything wrong with the entry .cairn/datasets/<hex of version>.
// `*is_copy` is cleared when there is nothing to check: no entry, or (not
// `under_lock`) a directory without a manifest that a live process may be
// building or removing. `*had_manifest` tells whether it had a manifest.
std::vector<CopyDamage> CheckCopyEntry(Repo& repo, const Oid& version, bool under_lock, bool* is_copy,
                                       bool* had_manifest) {
  const fs::path root = repo.layout().dataset_copy(version.Hex());
  *is_copy = true;
  *had_manifest = false;
  struct stat st;
  if (::lstat(root.c_str(), &st) != 0) {
    *is_copy = false;
    return {};
  }
  if (!S_ISDIR(st.st_mode)) {
    return {CopyDamage{version, DatasetOf(repo, version), "",
             S_ISLNK(st.st_mode) ? "is a symlink, not the directory use_dataset made"
                                 : "is not a directory (use_dataset makes one)"}};
  }
  const ManifestState manifest = DatasetCopyManifest(repo, version);
  if (manifest == ManifestState::kMissing) {
    // Built in .cairn/tmp and renamed into place, the manifest written
    // before the builder's temporary directory goes (and removed after the
    // remover's is made): without a live one, nobody will finish it.
    if (!under_lock && (DatasetCopyBeingMade(repo) || HasManifest(repo, version))) {
      *is_copy = false;
      return {};
    }
    return {CopyDamage{version, DatasetOf(repo, version), "",
             "is incomplete (a directory without a manifest, left by a killed build or removal)"}};
  }
  *had_manifest = true;
  std::vector<CopyDamage> damage = VerifyDatasetCopy(repo, version);
  if (manifest == ManifestState::kDamaged) {
    // Definite unless the copy itself could not be checked (then it may be
    // the only complete local copy of the version).
    const bool checkable = std::none_of(damage.begin(), damage.end(),
                                        [](const CopyDamage& d) { return d.file.empty() && !d.definite; });
    damage.insert(damage.begin(), CopyDamage{version, DatasetOf(repo, version), "",
                                   "has a damaged manifest (" + version.Hex() +
                                       ".manifest is empty, garbage or names a path outside the copy)",
                                   checkable});
  }
  return damage;
}

bool DefinitelyDamaged(const std::vector<CopyDamage>& damage) {
  return std::any_of(damage.begin(), damage.end(), [](const CopyDamage& d) { return d.definite; });
}

}  // namespace

Result<std::vector<CopyDamage>> VerifyDatasetCopies(Repo& repo, uint64_t* copies_checked) {
  std::vector<CopyDamage> out;
  const fs::path dir = repo.layout().dataset_copies();
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirNames(dir));
  for (const std::string& name : names) {
    auto version = Oid::Parse("sha256:" + name);
    if (!version.ok()) continue;  // not a copy cairn made, or a manifest
    bool is_copy = false, had_manifest = false;
    std::vector<CopyDamage> damage = CheckCopyEntry(repo, *version, /*under_lock=*/false, &is_copy, &had_manifest);
    if (!is_copy) continue;
    ++*copies_checked;
    // Removed (or being made again) while it was read: not damage.
    if (!damage.empty() && had_manifest && !HasManifest(repo, *version)) continue;
    out.insert(out.end(), damage.begin(), damage.end());
  }
  return out;
}

Result<std::vector<fs::path>> RemoveDamagedCopies(Repo& repo, const FsckReport& found) {
  std::vector<fs::path> removed;
  if (found.damaged_copies.empty()) return removed;
  CAIRN_ASSIGN_OR_RETURN(RepoLock lock, repo.Lock());
  for (const Oid& version : found.damaged_copies) {
    // Checked again under the lock: use_dataset may have made it again
    // since (a changed file's stat gives it away), and an intact copy may
    // be being read. One that cannot be checked is kept.
    bool is_copy = false, had_manifest = false;
    if (!DefinitelyDamaged(CheckCopyEntry(repo, version, /*under_lock=*/true, &is_copy, &had_manifest))) continue;
    const fs::path root = repo.layout().dataset_copy(version.Hex());
    CAIRN_RETURN_IF_ERROR(RemoveDatasetCopy(repo, DatasetCopy{version, root, 0}));
    removed.push_back(root);
  }
  return removed;
}

}  // namespace cairn
