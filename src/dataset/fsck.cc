// cairn fsck and fsck --repair: integrity checks of the local cache.
#include <unistd.h>

#include <tbb/parallel_for.h>

#include <algorithm>
#include <mutex>

#include "cairn/dataset.h"
#include "cairn/derived.h"
#include "cairn/maintenance.h"
#include "cairn/object.h"
#include "cairn/refs.h"
#include "cairn/registry.h"
#include "dataset/dataset_copies.h"
#include "dataset/object_kind.h"
#include "store/pack.h"
#include "cairn/run_record.h"
#include "util/list_dir.h"
#include "util/progress.h"

namespace cairn {
namespace {

// Why a version cannot be checked out from this cache ("" when it can): its
// tree is missing or damaged, or some of its blobs are missing.
std::string IncompleteVersion(Repo& repo, const Version& version) {
  auto files = LoadFiles(repo, version);
  if (!files.ok()) return files.status().message();
  uint64_t missing = 0;
  const TreeEntry* first = nullptr;
  for (const TreeEntry& e : files->entries) {
    if (repo.store().Has(e.oid)) continue;
    if (missing++ == 0) first = &e;
  }
  if (missing == 0) return {};
  return std::to_string(missing) + " file(s) of this version are not in the cache (first: " + first->path + ", " +
         first->oid.ToString() + ")";
}

// IncompleteVersion of the version `oid` names ("" when it is complete).
std::string IncompleteVersionOid(Repo& repo, const Oid& oid) {
  auto version = LoadVersion(repo, oid);
  return version.ok() ? IncompleteVersion(repo, *version) : version.status().message();
}

// Packs whose record headers disagree with their index (a flipped byte in a
// header or in the magic): reads go by the index and still succeed, but the
// pack is no longer self-describing, so an index could not be rebuilt from it.
std::vector<std::filesystem::path> PacksDisagreeingWithIndex(Repo& repo) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (const auto& f : std::filesystem::directory_iterator(repo.layout().packs(), ec)) {
    if (f.path().extension() != ".pack") continue;
    std::filesystem::path idx = f.path();
    idx.replace_extension(".idx");
    auto indexed = ReadPackIndex(idx);
    if (!indexed.ok()) continue;  // no index yet, or a damaged one (reported as such)
    Status tail;
    auto scanned = ScanPack(f.path(), &tail);
    auto by_offset = [](const PackEntry& a, const PackEntry& b) { return a.offset < b.offset; };
    std::sort(indexed->begin(), indexed->end(), by_offset);
    bool same = scanned.ok() && tail.ok() && scanned->size() == indexed->size();
    for (size_t i = 0; same && i < scanned->size(); ++i) {
      const PackEntry &a = (*scanned)[i], &b = (*indexed)[i];
      same = a.oid == b.oid && a.offset == b.offset && a.length == b.length;
    }
    if (!same) out.push_back(f.path());
  }
  return out;
}

}  // namespace

Result<FsckReport> Fsck(Repo& repo, bool progress_enabled) {
  FsckReport report;
  // A damaged index hides its pack's objects (the store skipped it).
  for (const DamagedPack& d : repo.store().DamagedPacks()) {
    report.problems.push_back(FsckProblem{"pack", d.index.lexically_relative(repo.root()).string(),
                                          d.problem + "; its objects are unreadable until " +
                                              "'cairn fsck --repair' rebuilds the index from the pack"});
  }
  for (const std::filesystem::path& pack : PacksDisagreeingWithIndex(repo)) {
    report.problems.push_back(FsckProblem{"pack", pack.lexically_relative(repo.root()).string(),
                                          "its record headers disagree with its index (damaged); 'cairn fsck "
                                          "--repair' rewrites it from the objects that still match their oids"});
  }
  std::vector<std::pair<Oid, uint64_t>> objects;
  uint64_t total = 0;
  CAIRN_RETURN_IF_ERROR(repo.store().ForEach([&](const Oid& oid, uint64_t size, bool) {
    objects.emplace_back(oid, size);
    total += size;
    return Status::OK();
  }));
  std::mutex mu;
  std::vector<Oid> trees, versions;
  {
    Progress progress("fsck", objects.size(), total, progress_enabled);
    tbb::parallel_for(tbb::blocked_range<size_t>(0, objects.size(), 64), [&](const tbb::blocked_range<size_t>& r) {
      for (size_t i = r.begin(); i != r.end(); ++i) {
        const auto& [oid, size] = objects[i];
        Status s;
        std::optional<StoredKind> kind;
        if (size < (16u << 20)) {  // small enough to hold: one read both verifies and classifies
          auto data = repo.store().Read(oid, /*verify=*/true);
          s = data.status();
          if (data.ok()) kind = ClassifyObject(*data);
        } else {
          s = repo.store().Verify(oid);  // large objects are blobs; stream them
        }
        std::lock_guard<std::mutex> lock(mu);
        if (!s.ok()) report.problems.push_back(FsckProblem{"object", oid.ToString(), s.message()});
        if (kind == StoredKind::kTree) trees.push_back(oid);
        if (kind == StoredKind::kVersion) versions.push_back(oid);
        progress.Add(1, size);
      }
    });
  }
  report.objects_checked = objects.size();
  report.bytes_checked = total;
  auto problem = [&](const char* what, const std::string& name, const std::string& msg) {
    report.problems.push_back(FsckProblem{what, name, msg});
  };
  for (const Oid& t : trees) {
    auto data = repo.store().Read(t, false);
    auto tree = data.ok() ? Tree::Decode(*data) : Result<Tree>(data.status());
    if (!tree.ok()) {
      problem("tree", t.ToString(), tree.status().message());
      continue;
    }
    // Missing blobs matter only for trees something needs: the closures of
    // pointers, tags and runs are checked below. A tree nothing names may
    // lack its blobs (gc, killed half-way, removed the blobs first).
  }
  for (const Oid& v : versions) {
    auto version = LoadVersion(repo, v);
    if (!version.ok()) {
      problem("version", v.ToString(), version.status().message());
      continue;
    }
    // A parent may legitimately be absent (a clone that fetched only the
    // versions its pointers need), so only the version itself is checked.
  }
  // Pointer files: each must parse and name a complete version.
  std::vector<std::string> pointer_paths;
  {
    auto all = FindTracked(repo);
    if (!all.ok()) {
      // A damaged pointer stops FindTracked; report it and go on with the tags.
      problem("pointer", "", all.status().message());
    } else {
      for (const Tracked& t : *all) {
        report.pointers_checked++;
        const std::string where = t.path + std::string(kPointerSuffix);
        auto version = LoadVersion(repo, t.pointer.version);
        if (!version.ok()) {
          problem("pointer", where, version.status().message());
          continue;
        }
        if (version->object != t.pointer.object || version->dataset != t.pointer.dataset ||
            version->kind != t.pointer.kind || version->size != t.pointer.size || version->files != t.pointer.files) {
          problem("pointer", where, "does not agree with the version it names");
        }
        if (std::string why = IncompleteVersion(repo, *version); !why.empty()) problem("pointer", where, why);
      }
    }
  }
  auto tags = ListTags(repo);
  if (!tags.ok()) {
    problem("tag", "", tags.status().message());
  } else {
    // A tag is a promise that its version can be checked out: the version,
    // its tree and every blob must be here, not only the version object.
    for (const Tag& t : *tags) {
      const std::string name = t.dataset + "@" + t.name;
      if (!repo.store().Has(t.version)) {
        problem("tag", name, "names a version not in the cache");
        continue;
      }
      auto version = LoadVersion(repo, t.version);
      if (!version.ok()) {
        problem("tag", name, version.status().message());
        continue;
      }
      if (std::string why = IncompleteVersion(repo, *version); !why.empty()) problem("tag", name, why);
    }
  }
  // Run refs: each names a record that parses and whose objects are here.
  auto ids = ListDirNames(repo.layout().runs());
  if (!ids.ok()) problem("run", "refs/runs", ids.status().message());
  for (const std::string& id : ids.ok() ? *ids : std::vector<std::string>()) {
    report.runs_checked++;
    auto record = ReadRunRef(repo.layout().runs() / id);
    if (!record.ok()) {
      problem("run", id, "ref is damaged: " + record.status().message());
      continue;
    }
    auto data = repo.store().Read(*record, /*verify=*/false);
    if (!data.ok()) {
      problem("run", id, data.status().message());
      continue;
    }
    std::optional<Oid> history;
    auto run = DecodeRunRecordOf(*data, id, &history);
    if (!run.ok()) {
      problem("run", id, run.status().message());
      continue;
    }
    if (history && !repo.store().Has(*history)) problem("run", id, "metric history " + history->ToString() + " is missing");
    for (const RunArtifact& a : run->artifacts) {
      if (!repo.store().Has(a.oid)) problem("run", id, "artifact " + a.path + " is missing from the cache");
    }
  }
  // The model registry: versions, their artifacts, aliases.
  auto models = CheckRegistry(repo);
  if (!models.ok()) problem("model", "refs/models", models.status().message());
  for (const RegistryProblem& p : models.ok() ? *models : std::vector<RegistryProblem>()) {
    problem("model", p.ref, p.message);
  }
  // Derived objects: each ref names an object that is here and agrees with it.
  auto derived = CheckDerived(repo, &report.derived_checked);
  if (!derived.ok()) problem("derived", "refs/derived", derived.status().message());
  for (const DerivedProblem& p : derived.ok() ? *derived : std::vector<DerivedProblem>()) {
    problem("derived", p.ref, p.message);
  }
  // use_dataset copies: what a program reads must be the version it asked
  // for, so every file is read (use_dataset itself only stats them).
  auto copies = VerifyDatasetCopies(repo, &report.copies_checked);
  if (!copies.ok()) problem("copy", ".cairn/datasets", copies.status().message());
  for (const CopyDamage& d : copies.ok() ? *copies : std::vector<CopyDamage>()) {
    const std::filesystem::path root = repo.layout().dataset_copy(d.version.Hex());
    const std::string where = (d.file.empty() ? root : root / d.file).lexically_relative(repo.root()).string();
    const std::string copy_of = "the use_dataset copy of " +
                                (d.dataset.empty() ? std::string("version") : d.dataset) + "@" + d.version.Short();
    const std::string what = (d.file.empty() ? "it " : d.file + " ") + d.problem;
    if (!d.definite) {
      // It may be the only complete local copy of the version: kept.
      problem("copy", where, copy_of + ": " + what + "; repair keeps the copy (it may be the only complete local copy)");
      continue;
    }
    problem("copy", where, copy_of + " is damaged: " + what + "; repair removes the copy" +
                               (IncompleteVersionOid(repo, d.version).empty()
                                    ? " and the next use_dataset makes it again from the cache"
                                    : " (the cache cannot make it again: the version is not complete here)"));
    if (report.damaged_copies.empty() || report.damaged_copies.back() != d.version) {
      report.damaged_copies.push_back(d.version);
    }
  }
  return report;
}

Result<std::vector<PackRepair>> RepairCache(Repo& repo, const FsckReport& found) {
  CAIRN_ASSIGN_OR_RETURN(RepoLock lock, repo.Lock());
  OidSet bad;
  for (const FsckProblem& p : found.problems) {
    if (p.what != "object") continue;
    if (auto oid = Oid::Parse(p.name); oid.ok()) bad.insert(*oid);
  }
  // A pack whose headers are damaged is rewritten whole: naming its objects
  // makes RepairPacks copy every one that still matches its oid.
  for (const std::filesystem::path& pack : PacksDisagreeingWithIndex(repo)) {
    std::filesystem::path idx = pack;
    idx.replace_extension(".idx");
    if (auto indexed = ReadPackIndex(idx); indexed.ok()) {
      for (const PackEntry& e : *indexed) bad.insert(e.oid);
    }
  }
  // A damaged loose object goes too (re-checked first): while its file is
  // there, adding or fetching the data again would skip it as stored.
  for (const Oid& oid : bad) {
    auto loose = repo.store().LooseFile(oid);
    if (!loose.ok() || repo.store().Verify(oid).code() != Code::kCorruption) continue;
    if (::unlink(loose->c_str()) != 0 && errno != ENOENT) {
      return Status::FromErrno("cannot remove damaged object " + loose->string(), errno);
    }
  }
  return repo.store().RepairPacks(bad);  // re-checks every object it keeps
}

}  // namespace cairn
