// Garbage-collection roots: what local gc (CollectGarbage) and remote gc
// (GcRemote) must keep. Each module that names stored objects contributes
// its own roots through one function of the signature below, so gc needs no
// knowledge of runs, pipelines or (later) models and audit records, and no
// module includes another's internals to be kept alive.
//
// Failing closed: a contributor that cannot read what it owns (a damaged run
// ref, an unreadable run-cache entry) returns an error, and the collection
// fails with it. gc then removes nothing. A contributor never skips what it
// cannot read.
#ifndef CAIRN_GC_ROOTS_H_
#define CAIRN_GC_ROOTS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cairn/repo.h"
#include "cairn/status.h"
#include "cairn/store.h"

namespace cairn {

struct GcRootOptions {
  // Commits of other branches (and run-cache entries) younger than this are
  // roots; every commit of the `protect` branches is.
  int keep_days = 30;
  std::vector<std::string> protect = {"main", "master"};
  int64_t now = 0;  // seconds since the epoch; the time gc started

  int64_t cutoff() const { return now - int64_t{keep_days} * 86400; }
};

// What the contributors found. Both sets only grow.
struct GcRootSet {
  // Dataset versions: gc keeps the version object, its tree and every blob.
  OidSet versions;
  // Objects kept as they are (run records, metric histories, artifacts, the
  // blobs of metrics files). A tree named here keeps only itself.
  OidSet objects;
  uint64_t commits_scanned = 0;  // git commits whose pointer files were read
};

// Adds its module's roots to `roots`. Any error fails the collection.
using GcRootContributor =
    std::function<Status(Repo& repo, const GcRootOptions& options, GcRootSet* roots)>;

class GcRootRegistry {
 public:
  // Adds (or, for an existing name, replaces) a contributor.
  void Add(std::string name, GcRootContributor contributor);
  // Calls every contributor in the order added. The first error is returned
  // with "gc roots of <name>" as context; `roots` then holds a partial set
  // that must not be used to delete anything.
  Status Collect(Repo& repo, const GcRootOptions& options, GcRootSet* roots) const;
  std::vector<std::string> names() const;

 private:
  std::vector<std::pair<std::string, GcRootContributor>> contributors_;
};

// The contributors of the modules, in this order:
//   "datasets"  pointer files in the workspace, every tag, pointer files in
//               git history (ContributeDatasetRoots);
//   "pipelines" the versions the workspace's cairn.lock names;
//   "runs"      every run record, its metric history and artifacts, and the
//               artifacts of running runs;
//   "run-cache" the output versions and metrics blobs of run-cache entries
//               written within keep_days.
//   "models"    every model version object, its artifact (blob, or tree and
//               its blobs) and its run record (ContributeModelRoots, declared
//               in cairn/registry.h, defined in src/registry/gc_roots.cc).
// Built once, on first use, by explicit registration (no static
// initialisers, which a static library's link can drop); thread-safe to read.
// Every binary that collects garbage links every contributor through it.
const GcRootRegistry& DefaultGcRoots();

// The modules' contributors (what each adds: see above), each defined in its
// own module against that module's public API: src/dataset/gc_roots.cc,
// src/pipeline/gc_roots.cc ("pipelines", "run-cache"), src/tracking/gc_roots.cc.
// The registry knows only these declarations, never a module's internals.
Status ContributeDatasetRoots(Repo& repo, const GcRootOptions& options, GcRootSet* roots);
Status ContributePipelineRoots(Repo& repo, const GcRootOptions& options, GcRootSet* roots);
Status ContributeRunRoots(Repo& repo, const GcRootOptions& options, GcRootSet* roots);
Status ContributeRunCacheRoots(Repo& repo, const GcRootOptions& options, GcRootSet* roots);

}  // namespace cairn

#endif  // CAIRN_GC_ROOTS_H_
