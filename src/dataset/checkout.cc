// cairn checkout: make the workspace match the pointer files, never losing
// content that is not safely in the cache.
#include <sys/stat.h>
#include <tbb/parallel_for.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <unordered_map>

#include "cairn/dataset.h"
#include "dataset/workspace.h"
#include "util/file.h"
#include "util/progress.h"

namespace cairn {
namespace {

struct Write {
  std::string rel;  // relative to the tracked path ("" for a single file)
  TreeEntry entry;
};

struct Plan {
  std::string path;
  bool single_file = false;
  bool replace_whole = false;  // the path exists with the wrong type (file vs directory)
  std::vector<Write> writes;
  std::vector<std::string> removes;  // relative to the tracked path
  std::vector<WorkFile> unchanged;   // to refresh the stat cache
};

std::string Join(const std::string& path, const std::string& rel) {
  return rel.empty() ? path : path + "/" + rel;
}

// Writes one file atomically: materialise next to the destination, then rename.
Status WriteOne(Repo& repo, const fs::path& dest, const TreeEntry& e, LinkMode mode) {
  CAIRN_RETURN_IF_ERROR(MakeDirs(dest.parent_path()));
  fs::path tmp = dest.parent_path() / ("." + dest.filename().string() + ".cairn-tmp-" + std::to_string(::getpid()));
  ::unlink(tmp.c_str());
  Status s = repo.store().Materialize(e.oid, tmp, mode);
  if (s.ok() && mode == LinkMode::kCopy) {
    if (::chmod(tmp.c_str(), e.executable ? 0755 : 0644) != 0) s = Status::FromErrno("cannot chmod " + tmp.string(), errno);
  }
  if (s.ok() && ::rename(tmp.c_str(), dest.c_str()) != 0) s = Status::FromErrno("cannot write " + dest.string(), errno);
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

void RemoveEmptyDirs(const fs::path& root, const fs::path& start) {
  for (fs::path d = start; d != root && d.has_relative_path(); d = d.parent_path()) {
    if (::rmdir(d.c_str()) != 0) break;
  }
}

}  // namespace

Result<std::vector<CheckoutResult>> Checkout(Repo& repo, const std::vector<std::string>& filter,
                                             const CheckoutOptions& options) {
  CAIRN_ASSIGN_OR_RETURN(RepoLock lock, repo.Lock());
  CAIRN_ASSIGN_OR_RETURN(std::vector<Tracked> tracked, FindTracked(repo, filter));

  std::vector<Plan> plans;
  std::vector<std::string> conflicts;
  std::vector<std::string> missing;
  for (const Tracked& t : tracked) {
    Plan plan;
    plan.path = t.path;
    CAIRN_ASSIGN_OR_RETURN(Version v, LoadVersion(repo, t.pointer.version));
    CAIRN_ASSIGN_OR_RETURN(Tree want, LoadFiles(repo, v));
    plan.single_file = v.kind == ObjectKind::kBlob;
    if (plan.single_file) want.entries[0].path = "";

    PathKind kind;
    CAIRN_ASSIGN_OR_RETURN(std::vector<WorkFile> have, ListWorkFiles(repo, t.path, &kind));
    if (kind != PathKind::kMissing && (kind == PathKind::kFile) != plan.single_file) {
      plan.replace_whole = true;  // every existing file goes; each must be safe to drop
      for (WorkFile& f : have) f.rel = kind == PathKind::kFile ? "" : f.rel;
    }
    CAIRN_RETURN_IF_ERROR(HashWorkFiles(repo, t.path, &have, /*store=*/false, nullptr, nullptr, nullptr));
    std::unordered_map<std::string, const WorkFile*> by_rel;
    for (const WorkFile& f : have) by_rel[f.rel] = &f;

    for (const TreeEntry& e : want.entries) {
      if (!repo.store().Has(e.oid)) missing.push_back(Join(t.path, e.path));
      auto it = plan.replace_whole ? by_rel.end() : by_rel.find(e.path);
      if (it != by_rel.end()) {
        const WorkFile& f = *it->second;
        by_rel.erase(it);
        if (f.oid == e.oid) {
          if (f.executable != e.executable) plan.writes.push_back(Write{e.path, e});
          else plan.unchanged.push_back(f);
          continue;
        }
        if (!repo.store().Has(f.oid)) conflicts.push_back(Join(t.path, f.rel) + " (modified)");
      }
      plan.writes.push_back(Write{e.path, e});
    }
    for (const auto& [rel, f] : by_rel) {
      if (!repo.store().Has(f->oid)) {
        conflicts.push_back(Join(t.path, rel) + (plan.replace_whole ? " (modified)" : " (untracked)"));
      }
      plan.removes.push_back(rel);
    }
    plans.push_back(std::move(plan));
  }
  if (!missing.empty()) {
    std::string list;
    for (size_t i = 0; i < missing.size() && i < 10; ++i) list += "\n  " + missing[i];
    if (missing.size() > 10) list += "\n  ... and " + std::to_string(missing.size() - 10) + " more";
    return Status::NotFound(std::to_string(missing.size()) + " file(s) needed are not in the cache:" + list,
                            "fetch them from a remote ('cairn pull'); nothing was changed");
  }
  if (!conflicts.empty() && !options.force) {
    std::sort(conflicts.begin(), conflicts.end());
    std::string list;
    for (size_t i = 0; i < conflicts.size() && i < 20; ++i) list += "\n  " + conflicts[i];
    if (conflicts.size() > 20) list += "\n  ... and " + std::to_string(conflicts.size() - 20) + " more";
    return Status::FailedPrecondition(
        "checkout would overwrite or delete content that is not in the cache:" + list,
        "save it with 'cairn add', move it away, or use --force to discard it; nothing was changed");
  }

  uint64_t total_files = 0, total_bytes = 0;
  for (const Plan& p : plans) {
    for (const Write& w : p.writes) total_bytes += w.entry.size;
    total_files += p.writes.size();
  }
  Progress progress("checkout", total_files, total_bytes, options.progress);
  std::vector<CheckoutResult> results;
  for (Plan& plan : plans) {
    CheckoutResult r{plan.path};
    fs::path base = repo.Abs(plan.path);
    if (plan.replace_whole) {
      std::error_code ec;
      fs::remove_all(base, ec);
      if (ec) return Status::FromErrno("cannot remove " + base.string(), ec.value());
      r.files_removed = plan.removes.size();
    } else {
      for (const std::string& rel : plan.removes) {
        fs::path p = rel.empty() ? base : base / rel;
        if (::unlink(p.c_str()) != 0 && errno != ENOENT) return Status::FromErrno("cannot remove " + p.string(), errno);
        RemoveEmptyDirs(base, p.parent_path());
        r.files_removed++;
      }
    }
    std::atomic<bool> failed{false};
    std::mutex mu;
    Status first_error;
    std::vector<WorkFile> written(plan.writes.size());
    tbb::parallel_for(tbb::blocked_range<size_t>(0, plan.writes.size(), 8), [&](const tbb::blocked_range<size_t>& range) {
      for (size_t i = range.begin(); i != range.end() && !failed.load(); ++i) {
        const Write& w = plan.writes[i];
        fs::path dest = w.rel.empty() ? base : base / w.rel;
        Status s = WriteOne(repo, dest, w.entry, options.mode);
        struct stat st;
        if (s.ok() && ::stat(dest.c_str(), &st) != 0) s = Status::FromErrno("cannot stat " + dest.string(), errno);
        if (!s.ok()) {
          std::lock_guard<std::mutex> l(mu);
          if (!failed.exchange(true)) first_error = s;
          return;
        }
        written[i] = WorkFile{w.rel, static_cast<uint64_t>(st.st_size),
                              static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
                              static_cast<uint64_t>(st.st_ino), w.entry.executable, w.entry.oid, false};
        progress.Add(1, w.entry.size);
      }
    });
    if (failed) return first_error;
    r.files_written = plan.writes.size();
    for (const Write& w : plan.writes) r.bytes_written += w.entry.size;
    written.insert(written.end(), plan.unchanged.begin(), plan.unchanged.end());
    CAIRN_RETURN_IF_ERROR(RecordWorkFiles(repo, plan.path, written));
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace cairn
