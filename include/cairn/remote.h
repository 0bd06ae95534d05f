// Remotes: where dataset versions and run records are shared between clones.
//
// A remote stores objects split into content-defined chunks, compressed and
// packed (doc/formats.md, "Remote format"), so a new version that changes 1%
// of a file uploads about 1% of it and a million small files are a few
// hundred uploads. Remotes are named in .cairn/config (committed); secrets go
// only to .cairn/config.local (ignored by git), and only when asked.
//
// Every write is ordered so a remote never names data it lacks: packs, then
// their indexes, then refs. Pushes are idempotent: an interrupted push, run
// again, uploads only what is still missing.
#ifndef CAIRN_REMOTE_H_
#define CAIRN_REMOTE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "cairn/dataset.h"
#include "cairn/gc_roots.h"
#include "cairn/repo.h"
#include "cairn/status.h"
#include "cairn/sys/backend.h"

namespace cairn {

// ---- configuration (.cairn/config) -------------------------------------------

struct RemoteList {
  std::vector<RemoteSpec> remotes;  // sorted by name
  std::string default_name;         // empty when none is the default
};

// Checks a remote name: [A-Za-z0-9._-], starting with a letter or digit.
Status ValidateRemoteName(const std::string& name);
Result<RemoteList> ListRemotes(Repo& repo);
// The remote called `name`, or the default one when `name` is empty (the
// only one when there is exactly one). NotFound with a hint otherwise.
// Relative directory URLs are resolved against the repository root.
Result<RemoteSpec> FindRemote(Repo& repo, const std::string& name);
// Adds (or with `force`, replaces) a remote. Credentials in `spec` are
// written to .cairn/config.local, never to the committed config.
Status AddRemote(Repo& repo, const RemoteSpec& spec, bool make_default, bool force);
Status RemoveRemote(Repo& repo, const std::string& name);
// Makes `name` (which must exist) the default remote.
Status SetDefaultRemote(Repo& repo, const std::string& name);

// ---- transfers ---------------------------------------------------------------

struct TransferOptions {
  // Paths of tracked datasets or refs (name@tag, name@oid…); empty means the
  // versions every pointer file in the workspace names.
  std::vector<std::string> targets;
  // Also transfer every finished run (records, histories, artifacts) and
  // every run-cache entry with the versions and blobs it names.
  bool runs = false;
  int jobs = 0;           // parallel transfers; 0 picks a default per backend
  bool progress = false;  // draw progress bars on stderr
  // Without targets, also transfer the runs that cairn.lock at HEAD names
  // (CommittedLockRuns: the provenance of the committed outputs), even
  // without `runs`. On fetch, a run the remote lacks is a note.
  bool lock_runs = true;
};

struct TransferReport {
  uint64_t versions = 0;        // dataset versions transferred or found up to date
  uint64_t tags = 0;            // tags written (remote on push, local on fetch)
  uint64_t runs = 0;            // run refs written
  uint64_t run_cache = 0;       // run-cache entries written (remote on push, local on fetch)
  uint64_t derived = 0;         // derived object refs written (profiles …; remote on push, local on fetch)
  uint64_t models = 0;          // models whose registry refs were written (remote on push, local on fetch)
  uint64_t model_versions = 0;  // model version refs written
  uint64_t aliases = 0;         // aliases written or deleted
  uint64_t approvals = 0;       // approvals written
  uint64_t deprecations = 0;    // deprecations written
  uint64_t objects = 0;         // objects considered
  uint64_t objects_moved = 0;   // objects the other side lacked
  uint64_t bytes_logical = 0;   // size of the objects the other side lacked
  uint64_t chunks = 0;          // chunks of those objects (push only)
  uint64_t chunks_moved = 0;    // chunks actually sent/received (not deduplicated)
  uint64_t bytes_moved = 0;     // bytes on the wire (compressed chunks, indexes, refs)
  uint64_t packs = 0;           // packs written (push only)
  uint64_t requests = 0;        // backend requests
  uint64_t audit = 0;           // audit entries uploaded (push) or merged into the local log (fetch)
  std::vector<std::string> warnings;  // e.g. a tag that names a different version on each side
  // Expected gaps that are not problems, e.g. a run cairn.lock names that
  // the remote does not hold, or a run-cache entry whose outputs are gone.
  std::vector<std::string> notes;
  // Push only: registry changes the remote refused (a version number that
  // names another object there, an alias moved there since the last pull).
  // Everything else went; the CLI exits 2 when this is not empty.
  std::vector<std::string> refused;
};

// Uploads what the targets need (and every tag of their datasets with the
// versions those tags name), then the runs and run-cache entries `options`
// asks for. NotFound when the local cache lacks an object the targets need
// (nothing referring to it is uploaded). A run-cache entry whose objects or
// run this clone lacks is not pushed (a note says so). Without targets
// (or with "model:NAME" targets: those models only) the model registry goes
// too: versions with their artifacts and runs, approvals, deprecations and
// aliases (doc/registry.md, "Sharing models"); what the remote refuses is
// listed in TransferReport::refused.
Result<TransferReport> Push(Repo& repo, const RemoteSpec& remote, const TransferOptions& options);
// Downloads into the cache what the targets need that the cache lacks, and
// the remote's tags of their datasets, then the runs and run-cache entries
// `options` asks for (FetchRunCache in src/remote: an entry is written only
// when what it names arrived). Without targets (or with "model:NAME"
// targets) the model registry comes too; a version ref is written only
// once the objects it names arrived. Every byte is checked against its oid
// before it is stored; Corruption names the damaged pack.
Result<TransferReport> Fetch(Repo& repo, const RemoteSpec& remote, const TransferOptions& options);

// Downloads one version (`dataset@tag` or `dataset@<64-hex version oid>`)
// into `out_dir` without a repository. `out_dir` must not exist or be empty
// unless `force`. Nothing is left in `out_dir` on failure.
Result<TransferReport> GetVersion(const RemoteSpec& remote, const std::string& ref,
                                  const std::string& out_dir, bool force, bool progress);

// ---- repair ------------------------------------------------------------------

struct RepairReport {
  std::string remote;         // the remote good copies came from ("" when none was tried)
  std::vector<Oid> repaired;  // damaged objects replaced by a verified copy
};

// Checkout (see dataset.h) that heals the cache: when cached objects turn out
// damaged, they are dropped from the cache (RepairPacks for packed ones, the
// file for loose ones), fetched again from the default remote and the
// checkout runs once more. Without a remote, or when the remote lacks them,
// the Corruption of the first checkout is returned, its hint unchanged.
// `report` (may be null) says what was repaired.
Result<std::vector<CheckoutResult>> CheckoutAndRepair(Repo& repo, const std::vector<std::string>& filter,
                                                      const CheckoutOptions& options, RepairReport* report);

// Drops the given damaged objects from the cache and fetches verified copies
// from `remote`. Objects that turn out intact are left alone. NotFound when
// the remote lacks one of them (the others are repaired).
Status RepairObjects(Repo& repo, const RemoteSpec& remote, const std::vector<Oid>& damaged,
                     RepairReport* report);

// ---- maintenance -------------------------------------------------------------

struct RemoteProblem {
  std::string what;  // "pack", "index", "recipe", "ref", "object"
  std::string name;
  std::string message;
};

struct RemoteFsckReport {
  uint64_t packs = 0, chunks = 0, bytes = 0, refs = 0, objects = 0;
  uint64_t orphan_packs = 0;  // packs without an index: left by interrupted pushes (gc removes them)
  std::vector<RemoteProblem> problems;
};

// Checks every index, every ref and the objects it needs, and (with
// `data`) downloads every pack and verifies its hash and each chunk.
Result<RemoteFsckReport> FsckRemote(Repo* repo, const RemoteSpec& remote, bool data, bool progress);

struct RemoteGcOptions {
  bool apply = false;
  int64_t grace_seconds = 3600;  // packs and temp files younger than this are never removed
  double repack_below = 0.5;     // packs with less live data than this fraction are rewritten
  int keep_days = 30;            // as for local gc
  std::vector<std::string> protect = {"main", "master"};  // as for local gc
  bool progress = false;
  // Where the local roots come from; nullptr: DefaultGcRoots().
  const GcRootRegistry* roots = nullptr;
};

struct RemoteGcReport {
  uint64_t root_versions = 0, runs = 0;
  uint64_t derived = 0;          // derived objects kept (their subject is live)
  uint64_t derived_removed = 0;  // derived refs whose subject goes (removed with apply)
  uint64_t model_versions = 0;  // model version refs on the remote (roots)
  uint64_t live_objects = 0;
  uint64_t packs_total = 0, packs_deleted = 0, packs_rewritten = 0, packs_written = 0;
  uint64_t bytes_total = 0, bytes_freed = 0;  // on the remote, before and removed
  uint64_t orphans_removed = 0;               // index-less packs and stale temp files
  bool applied = false;
};

// Removes what no root needs from the remote. Roots: the same as local gc
// (every module's contributor, cairn/gc_roots.h; a contributor's error
// fails gc before anything is removed) plus every tag, run ref,
// model version ref and run-cache entry on the remote (an entry that cannot be read fails gc). Not safe while another clone pushes to the
// same remote (as with DVC's gc -c and restic prune).
Result<RemoteGcReport> GcRemote(Repo& repo, const RemoteSpec& remote, const RemoteGcOptions& options);

}  // namespace cairn

#endif  // CAIRN_REMOTE_H_
