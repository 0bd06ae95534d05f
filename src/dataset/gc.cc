// cairn gc: removes cached data that no gc root needs.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <limits>

#include "cairn/audit.h"
#include "cairn/dataset.h"
#include "cairn/derived.h"
#include "cairn/gc_roots.h"
#include "cairn/maintenance.h"
#include "cairn/registry.h"
#include "cairn/tracking.h"
#include "dataset/dataset_copies.h"
#include "dataset/object_kind.h"
#include "dataset/workspace.h"
#include "util/progress.h"

namespace cairn {
namespace {

// Adds a version's data (its tree and the tree's blobs, or its blob) to `live`.
Status MarkVersionData(Repo& repo, const Oid& version_oid, OidSet* live) {
  auto v = LoadVersion(repo, version_oid);
  if (!v.ok()) return v.status().code() == Code::kNotFound ? Status::OK() : v.status();
  live->insert(v->object);
  if (v->kind == ObjectKind::kTree) {
    auto tree = LoadFiles(repo, *v);
    if (!tree.ok()) return tree.status().code() == Code::kNotFound ? Status::OK() : tree.status();
    for (const TreeEntry& e : tree->entries) live->insert(e.oid);
  }
  return Status::OK();
}

// The dataset versions that RUNNING runs record as inputs: a run may be
// reading them (through a use_dataset copy) right now, however old the
// copy, so their data and copies stay until the run ends.
Status AddRunningInputs(Repo& repo, OidSet* versions) {
  CAIRN_ASSIGN_OR_RETURN(auto tracker, Tracker::Open(repo));
  SearchOptions search;
  search.statuses = {RunStatus::kRunning};
  search.full = true;
  search.include_deleted = true;
  search.limit = std::numeric_limits<int64_t>::max();
  CAIRN_ASSIGN_OR_RETURN(SearchResult running, tracker->Search(search));
  for (const RunInfo& run : running.runs) {
    for (const RunInput& input : run.inputs) {
      // A model input names a model version object, which the "models"
      // roots keep with its artifact; it is no dataset version.
      if (!IsModelRef(input.dataset)) versions->insert(input.version);
    }
  }
  return Status::OK();
}

// Temp files of writes killed before their rename (".obj.tmp-XXXX",
// ".blob.tmp-XXXX" under .cairn/tmp): a live writer keeps touching its
// file, so one untouched for an hour is a leftover.
constexpr int64_t kStaleTempSeconds = 3600;

void RemoveStaleTempFiles(Repo& repo, int64_t now) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(repo.tmp_dir(), ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(".") || name.find(".tmp-") == std::string::npos) continue;
    struct stat st;
    if (::lstat(entry.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (st.st_mtime + kStaleTempSeconds < now) ::unlink(entry.path().c_str());
  }
}

}  // namespace

Result<GcReport> CollectGarbage(Repo& repo, const GcOptions& options) {
  CAIRN_ASSIGN_OR_RETURN(RepoLock lock, repo.Lock());
  GcReport report;
  GcRootOptions root_options;
  root_options.keep_days = options.keep_days;
  root_options.protect = options.protect;
  root_options.now = NowNs() / 1'000'000'000;
  GcRootSet roots;
  CAIRN_RETURN_IF_ERROR(options.roots ? options.roots->Collect(repo, root_options, &roots)
                                      : DefaultGcRoots().Collect(repo, root_options, &roots));
  report.commits_scanned = roots.commits_scanned;
  CAIRN_RETURN_IF_ERROR(AddRunningInputs(repo, &roots.versions).WithContext("gc roots of running runs"));

  OidSet live = roots.objects;
  // Every version object stays (they are tiny and keep 'cairn log' readable).
  std::vector<Oid> small_loose;
  CAIRN_RETURN_IF_ERROR(repo.store().ForEach([&](const Oid& oid, uint64_t size, bool packed) {
    if (!packed && size < (1u << 16)) small_loose.push_back(oid);
    return Status::OK();
  }));
  for (const Oid& oid : small_loose) {
    auto data = repo.store().Read(oid, /*verify=*/false);
    if (data.ok() && ClassifyObject(*data) == StoredKind::kVersion) live.insert(oid);
  }
  {
    Progress progress("gc: marking", roots.versions.size(), 0, options.progress);
    for (const Oid& v : roots.versions) {
      if (repo.store().Has(v)) report.root_versions++;
      CAIRN_RETURN_IF_ERROR(MarkVersionData(repo, v, &live));
      progress.Add(1, 0);
    }
  }
  // Derived objects (profiles …) live as long as what they describe; the
  // refs of the others go with their subject.
  CAIRN_RETURN_IF_ERROR(CollectDerived(repo, &live, options.apply, &report.derived_removed)
                            .WithContext("gc of derived objects"));
  // use_dataset copies of versions that are no longer roots.
  CAIRN_ASSIGN_OR_RETURN(std::vector<DatasetCopy> copies,
                         StaleDatasetCopies(repo, roots.versions, root_options.now, options.copy_grace_seconds));
  for (const DatasetCopy& c : copies) {
    if (options.apply) CAIRN_RETURN_IF_ERROR(RemoveDatasetCopy(repo, c));
    report.copies_removed++;
    report.copy_bytes_removed += c.bytes;
  }
  // Leftovers of killed use_dataset builds and copy removals.
  if (options.apply) RemoveStaleDatasetTempDirs(repo);
  // And of killed object writes.
  if (options.apply) RemoveStaleTempFiles(repo, root_options.now);
  CAIRN_ASSIGN_OR_RETURN(report.prune, repo.store().Prune(live, options.apply));
  report.applied = options.apply;
  if (options.apply) {
    // What gc removed is a governance event: data only gc can lose.
    AuditEvent event;
    event.action = "gc";
    event.subjects = {"cache"};
    event.details = Json{{"objects_removed", report.prune.objects_removed},
                         {"bytes_removed", report.prune.bytes_removed},
                         {"packs_rewritten", report.prune.packs_rewritten},
                         {"objects_kept", report.prune.objects_kept},
                         {"copies_removed", report.copies_removed},
                         {"copy_bytes_removed", report.copy_bytes_removed},
                         {"root_versions", report.root_versions},
                         {"keep_days", options.keep_days}};
    auto entry = AppendAudit(repo, event);
    if (!entry.ok()) return entry.status().WithContext("gc removed what it reports, but cannot audit it");
  }
  return report;
}

}  // namespace cairn
