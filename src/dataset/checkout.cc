// cairn checkout: make the workspace match the pointer files, never losing
// content that is not safely in the cache.
#include <sys/stat.h>
#include <tbb/parallel_for.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "cairn/audit.h"
#include "cairn/dataset.h"
#include "dataset/workspace.h"
#include "util/file.h"
#include "util/progress.h"

namespace cairn {
namespace {

struct Write {
  std::string rel;  // relative to the tracked path ("" for a single file)
  TreeEntry entry;
  bool exists = false;  // a file is there now and gets replaced
  fs::path dest;        // resolved through WriteRoot before anything is written
};

// New files are written in place for speed; their paths are journaled first
// so that after a crash the next checkout knows the half-written files are
// its own and may replace them without --force.
fs::path JournalPath(Repo& repo) { return repo.layout().checkout_journal(); }

// Whether journal entry `entry` (a file or a beside-temp name) belongs to
// tracked path `path`.
bool JournalEntryOf(const std::string& entry, const std::string& path) {
  if (entry == path || entry.starts_with(path + "/")) return true;
  const fs::path p(path);
  const std::string beside = (p.parent_path() / ("." + p.filename().string() + ".cairn-tmp-")).string();
  return entry.starts_with(beside);
}

}  // namespace

std::unordered_set<std::string> ReadCheckoutJournal(Repo& repo) {
  std::unordered_set<std::string> out;
  auto data = ReadFile(JournalPath(repo));
  if (!data.ok()) return out;
  size_t pos = 0;
  while (pos < data->size()) {
    size_t nl = data->find('\n', pos);
    if (nl == std::string::npos) break;  // a torn last line names nothing
    out.insert(data->substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

namespace {

struct Plan {
  std::string path;
  bool single_file = false;
  bool replace_whole = false;  // the path exists with the wrong type (file vs directory)
  std::vector<Write> writes;
  std::vector<std::string> removes;  // relative to the tracked path
  std::vector<WorkFile> unchanged;   // to refresh the stat cache
  Oid object;                        // what the files make once written
};

std::string Join(const std::string& path, const std::string& rel) {
  return rel.empty() ? path : path + "/" + rel;
}

fs::path BesideTemp(const fs::path& dest) {
  return dest.parent_path() / ("." + dest.filename().string() + ".cairn-tmp-" + std::to_string(::getpid()));
}

// Temp files of checkouts that were killed. Only a checkout (under the
// repository lock) writes there, so every one found while holding the lock
// is a leftover.
void RemoveStaleTempDirs(Repo& repo) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(repo.tmp_dir(), ec)) {
    // The journal (checkout-journal) is not a temp dir: it outlives the
    // checkout that wrote it until its paths are checked out again.
    if (entry.path() == JournalPath(repo)) continue;
    if (entry.path().filename().string().starts_with("checkout-")) fs::remove_all(entry.path(), ec);
  }
}

bool SameFileSystem(const fs::path& a, const fs::path& b) {
  struct stat sa, sb;
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev;
}

// Writes one file. A new file is created in place (an interrupted checkout
// leaves it listed in the journal, so the next checkout may replace it); an
// existing file is replaced atomically through a temp file and rename. The
// temp file lives in `tmp_dir` (.cairn/tmp/checkout-PID, which the next
// checkout removes) unless that is on another file system, when it goes
// beside the file under a name the journal lists.
Status WriteOne(Repo& repo, const fs::path& dest, const TreeEntry& e, LinkMode mode, bool exists,
                const fs::path& tmp_dir, size_t index) {
  // A link shares the cached file's read-only mode, so executables are copied.
  if (e.executable) mode = LinkMode::kCopy;
  if (!exists) {
    Status s = repo.store().Materialize(e.oid, dest, mode, e.executable);
    std::error_code ec;  // the non-throwing overload: a name may be too long for the file system
    if (s.ok() || s.code() != Code::kIOError || !fs::exists(fs::symlink_status(dest, ec))) return s;
    ::unlink(dest.c_str());  // raced with a leftover: fall through to replace it
  }
  fs::path tmp = tmp_dir.empty() ? BesideTemp(dest) : tmp_dir / std::to_string(index);
  Status s = repo.store().Materialize(e.oid, tmp, mode, e.executable);
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
  return CheckoutLocked(repo, filter, options);
}

Result<std::vector<CheckoutResult>> CheckoutLocked(Repo& repo, const std::vector<std::string>& filter,
                                                   const CheckoutOptions& options) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<Tracked> tracked, FindTracked(repo, filter));
  RemoveStaleTempDirs(repo);
  WriteRoot root(repo.root());

  // Entries of other paths (a killed checkout of another path that was not
  // retried yet) are kept: only what this checkout makes right is dropped.
  const std::unordered_set<std::string> journaled = ReadCheckoutJournal(repo);
  auto ours = [&](const std::string& path) { return journaled.count(path) > 0; };
  std::vector<Plan> plans;
  std::vector<std::string> conflicts;
  std::vector<std::string> missing;
  for (const Tracked& t : tracked) {
    Plan plan;
    plan.path = t.path;
    CAIRN_ASSIGN_OR_RETURN(Version v, LoadVersion(repo, t.pointer.version));
    CAIRN_ASSIGN_OR_RETURN(Tree want, LoadFiles(repo, v));
    plan.single_file = v.kind == ObjectKind::kBlob;
    plan.object = v.object;
    if (plan.single_file) want.entries[0].path = "";

    PathKind kind;
    CAIRN_ASSIGN_OR_RETURN(std::vector<WorkFile> have, ListWorkFiles(repo, t.path, &kind));
    if (kind != PathKind::kMissing && (kind == PathKind::kFile) != plan.single_file) {
      plan.replace_whole = true;  // every existing file goes; each must be safe to drop
    }
    CAIRN_RETURN_IF_ERROR(HashWorkFiles(repo, t.path, &have, /*store=*/false, nullptr).status());
    std::unordered_map<std::string, const WorkFile*> by_rel;
    for (const WorkFile& f : have) by_rel[f.rel] = &f;

    for (const TreeEntry& e : want.entries) {
      if (!repo.store().Has(e.oid)) missing.push_back(Join(t.path, e.path));
      auto it = plan.replace_whole ? by_rel.end() : by_rel.find(e.path);
      if (it != by_rel.end()) {
        const WorkFile& f = *it->second;
        by_rel.erase(it);
        if (f.oid == e.oid) {
          if (f.executable != e.executable) {
            plan.writes.push_back(Write{e.path, e, true});
          } else {
            plan.unchanged.push_back(f);
          }
          continue;
        }
        if (!repo.store().Has(f.oid) && !ours(Join(t.path, f.rel))) {
          conflicts.push_back(Join(t.path, f.rel) + " (modified)");
        }
        plan.writes.push_back(Write{e.path, e, true});
        continue;
      }
      plan.writes.push_back(Write{e.path, e, false});
    }
    for (const auto& [rel, f] : by_rel) {
      if (!repo.store().Has(f->oid) && !ours(Join(t.path, rel))) {
        conflicts.push_back(Join(t.path, rel) + (plan.replace_whole ? " (modified)" : " (untracked)"));
      }
      plan.removes.push_back(rel);
    }
    // Every destination goes through the one check that keeps writes inside
    // the repository (tree entries were validated when decoded as well).
    // A path whose type changes is resolved once it is removed: until then a
    // file stands where the new files' parent directory goes.
    CAIRN_RETURN_IF_ERROR(root.Resolve(t.path).status());
    for (Write& w : plan.writes) {
      if (!plan.replace_whole) {
        CAIRN_ASSIGN_OR_RETURN(w.dest, root.Resolve(Join(t.path, w.rel)));
      }
    }
    plans.push_back(std::move(plan));
  }
  if (!missing.empty()) {
    std::string list;
    for (size_t i = 0; i < missing.size() && i < 10; ++i) list += "\n  " + missing[i];
    if (missing.size() > 10) list += "\n  ... and " + std::to_string(missing.size() - 10) + " more";
    if (!repo.store().DamagedPacks().empty()) {  // they may be in a pack whose index is damaged
      return Status::NotFound(std::to_string(missing.size()) + " file(s) needed are not in the cache:" + list,
                              "a pack index is damaged: run 'cairn fsck --repair', or fetch them from a remote "
                              "('cairn pull'); nothing was changed");
    }
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
        "save it with 'cairn add', move it away, or force the checkout to discard it; nothing was changed");
  }
  if (!conflicts.empty()) {
    // --force discards content that is nowhere else: recorded before it goes.
    std::sort(conflicts.begin(), conflicts.end());
    AuditEvent event;
    event.action = "force";
    for (const Plan& p : plans) {
      if (event.subjects.size() < 20) event.subjects.push_back("path:" + p.path);
    }
    Json paths = Json::array();
    for (size_t i = 0; i < conflicts.size() && i < 100; ++i) paths.push_back(conflicts[i]);
    event.details = Json{{"command", "checkout"}, {"discarded", conflicts.size()}, {"paths", paths}};
    auto entry = AppendAudit(repo, event);
    if (!entry.ok()) {
      return entry.status().WithContext("checkout --force would discard unsaved content, but cannot audit it; nothing "
                                        "was changed");
    }
  }

  uint64_t total_files = 0, total_bytes = 0;
  for (const Plan& p : plans) {
    for (const Write& w : p.writes) total_bytes += w.entry.size;
    total_files += p.writes.size();
  }
  fs::path tmp_dir = repo.tmp_dir() / ("checkout-" + std::to_string(::getpid()));
  std::string journal;
  for (const std::string& entry : journaled) journal += entry + "\n";
  const size_t journal_kept = journal.size();
  std::vector<bool> tmp_beside(plans.size(), false);
  for (size_t i = 0; i < plans.size(); ++i) {
    const Plan& p = plans[i];
    bool replaces = false;
    for (const Write& w : p.writes) {
      if (!w.exists || p.replace_whole) journal += Join(p.path, w.rel) + "\n";
      replaces |= w.exists && !p.replace_whole;
    }
    if (!replaces) continue;
    fs::path base = repo.Abs(p.path);
    tmp_beside[i] = !SameFileSystem(repo.tmp_dir(), p.single_file ? base.parent_path() : base);
    if (!tmp_beside[i]) continue;
    for (const Write& w : p.writes) {
      if (w.exists) journal += (fs::path(Join(p.path, w.rel)).parent_path() / BesideTemp(w.dest).filename()).string() + "\n";
    }
  }
  CAIRN_RETURN_IF_ERROR(MakeDirs(tmp_dir));
  struct RemoveTmp {
    fs::path p;
    ~RemoveTmp() {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  } remove_tmp{tmp_dir};
  if (journal.size() > journal_kept) CAIRN_RETURN_IF_ERROR(WriteFileAtomic(JournalPath(repo), journal, /*sync=*/true));
  Progress progress("checkout", total_files, total_bytes, options.progress);
  std::vector<CheckoutResult> results;
  std::vector<Oid> damaged;  // objects whose cached bytes failed verification
  Status first_damage;
  for (size_t plan_index = 0; plan_index < plans.size(); ++plan_index) {
    Plan& plan = plans[plan_index];
    const fs::path plan_tmp = tmp_beside[plan_index] ? fs::path() : tmp_dir;
    const size_t damaged_before = damaged.size();
    CheckoutResult r{plan.path};
    fs::path base = repo.Abs(plan.path);
    if (plan.replace_whole) {
      std::error_code ec;
      fs::remove_all(base, ec);
      if (ec) return Status::FromErrno("cannot remove " + base.string(), ec.value());
      r.files_removed = plan.removes.size();
      for (Write& w : plan.writes) {
        CAIRN_ASSIGN_OR_RETURN(w.dest, root.Resolve(Join(plan.path, w.rel)));
      }
    } else {
      for (const std::string& rel : plan.removes) {
        fs::path p = rel.empty() ? base : base / rel;
        if (::unlink(p.c_str()) != 0 && errno != ENOENT) return Status::FromErrno("cannot remove " + p.string(), errno);
        RemoveEmptyDirs(base, p.parent_path());
        r.files_removed++;
      }
    }
    if (!plan.single_file) CAIRN_RETURN_IF_ERROR(MakeDirs(base));  // an empty dataset is an empty directory
    std::unordered_set<std::string> dirs;
    for (const Write& w : plan.writes) {
      if (!w.rel.empty()) dirs.insert(w.dest.parent_path().string());
    }
    for (const std::string& d : dirs) CAIRN_RETURN_IF_ERROR(MakeDirs(d));
    std::atomic<bool> failed{false};
    std::mutex mu;
    Status first_error;
    std::vector<WorkFile> written(plan.writes.size());
    tbb::parallel_for(tbb::blocked_range<size_t>(0, plan.writes.size(), 8), [&](const tbb::blocked_range<size_t>& range) {
      for (size_t i = range.begin(); i != range.end() && !failed.load(); ++i) {
        const Write& w = plan.writes[i];
        const fs::path& dest = w.dest;
        Status s = WriteOne(repo, dest, w.entry, options.mode, w.exists && !plan.replace_whole, plan_tmp, i);
        struct stat st;
        if (s.ok() && ::stat(dest.c_str(), &st) != 0) s = Status::FromErrno("cannot stat " + dest.string(), errno);
        if (!s.ok()) {
          std::lock_guard<std::mutex> l(mu);
          if (s.code() == Code::kCorruption) {
            // Damaged cached bytes: go on with the other files, so one pass
            // finds every damaged object and a repair can fetch them all.
            if (first_damage.ok()) first_damage = s;
            damaged.push_back(w.entry.oid);
            continue;
          }
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
    if (damaged.size() > damaged_before) continue;  // nothing is recorded for a plan with damage
    r.files_written = plan.writes.size();
    for (const Write& w : plan.writes) r.bytes_written += w.entry.size;
    written.insert(written.end(), plan.unchanged.begin(), plan.unchanged.end());
    std::sort(written.begin(), written.end(), [](const WorkFile& a, const WorkFile& b) { return a.rel < b.rel; });
    CAIRN_RETURN_IF_ERROR(RecordWorkFiles(repo, plan.path, written, plan.object));
    results.push_back(std::move(r));
  }
  if (!damaged.empty()) {
    std::sort(damaged.begin(), damaged.end());
    damaged.erase(std::unique(damaged.begin(), damaged.end()), damaged.end());
    if (options.damaged) *options.damaged = damaged;
    if (damaged.size() == 1) return first_damage;
    return Status::Corruption(std::to_string(damaged.size()) + " cached objects are corrupt; first: " +
                                  first_damage.message(),
                              first_damage.hint());
  }
  // The paths checked out are now as their pointers say; other paths'
  // entries stay for their own retry.
  std::string rest;
  for (const std::string& entry : ReadCheckoutJournal(repo)) {
    bool done = std::any_of(plans.begin(), plans.end(), [&](const Plan& p) { return JournalEntryOf(entry, p.path); });
    if (!done) rest += entry + "\n";
  }
  if (rest.empty()) {
    ::unlink(JournalPath(repo).c_str());
  } else {
    CAIRN_RETURN_IF_ERROR(WriteFileAtomic(JournalPath(repo), rest, /*sync=*/true));
  }
  return results;
}

}  // namespace cairn
