// Pieces shared by push and fetch: which versions the user's targets name,
// what objects a version, run or run-cache entry consists of, and the
// remote's ref keys.
#ifndef CAIRN_REMOTE_TRANSFER_H_
#define CAIRN_REMOTE_TRANSFER_H_

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/pipeline.h"
#include "cairn/refs.h"
#include "cairn/remote.h"
#include "cairn/repo.h"
#include "cairn/sys/backend.h"
#include "remote/session.h"

namespace cairn {

struct Wanted {
  std::vector<Oid> versions;        // in target order, no repeats
  std::set<std::string> datasets;   // their dataset names
  std::vector<std::string> paths;   // workspace paths the targets named (for checkout)
};

// Resolves targets (empty: every pointer file). A `name@tag` that is not
// known locally is looked up among `remote`'s tags when `remote` is given.
Result<Wanted> ResolveTargets(Repo& repo, const std::vector<std::string>& targets, RemoteSession* remote);

// True for 64 lowercase hex digits (a full oid written without "sha256:").
bool IsFullHex(const std::string& s);

// refs/tags/<escaped dataset>/<tag> on a remote.
std::string RemoteTagKey(const std::string& dataset, const std::string& tag);
// Reads a tag from the remote; NotFound when absent.
Result<Tag> ReadRemoteTag(Backend& backend, const std::string& dataset, const std::string& tag);

// The remote's run refs: refs/runs/<id>/<record hex> → (id, record); only
// those of run `id` when it is given.
Result<std::vector<std::pair<std::string, Oid>>> ListRemoteRuns(Backend& backend, const std::string& id = "");

// The run ids cairn.lock at HEAD names (the provenance of the committed
// outputs) for a transfer of the whole workspace that carries them
// (`options.lock_runs` and no targets); none otherwise. Names that are not
// run ids are skipped. A lock that cannot be read is a warning in `report`
// ("the runs cairn.lock names are not <moved>: …"), not an error: the data
// still moves.
std::vector<std::string> LockRunsToTransfer(Repo& repo, const TransferOptions& options, std::string_view moved,
                                            TransferReport* report);

// Where the index cache of a named remote lives (empty for unnamed ones).
std::filesystem::path IndexCacheDir(Repo& repo, const RemoteSpec& spec);

// Adds to `out` the metric history and artifacts of the record that
// refs/runs/<id> names; Corruption when it is damaged or another run's.
Status RunRecordObjects(std::string_view record, const std::string& id, std::vector<Oid>* out);

// Downloads the objects of `oids` that `store` lacks (each must be on the
// remote), counting them in `report`.
Status DownloadMissing(RemoteSession& session, ObjectStore& store, const std::filesystem::path& tmp,
                       const std::vector<Oid>& oids, bool progress, TransferReport* report);

// ---- run-cache entries on a remote: refs/runcache/<key hex> (doc/formats.md) ----

std::string RemoteRunCacheKey(const Oid& key);
// The keys of the remote's run-cache entries, sorted. A name that is not a
// key is reported in `problems` (may be null) and skipped.
Result<std::vector<Oid>> ListRemoteRunCache(Backend& backend, std::vector<std::string>* problems);
// One entry, parsed (ParseRunCache: paths stay inside the repository).
// Corruption naming the key when the remote's text is not an entry.
Result<RunCacheEntry> ReadRemoteRunCache(Backend& backend, const Oid& key);

// Fetch's part for the run cache: downloads what the remote's entries that
// this clone lacks name (output versions with their trees and blobs,
// metrics blobs) and returns in `usable` the entries whose objects are all
// in `repo`'s store now and that agree with the record of the run they name
// (`runs`: the records this fetch brought, by run id; the clone's own run
// refs otherwise). The caller writes them (WriteRunCache) once the store is
// committed. An entry that cannot be used is skipped with a note (its
// objects or run are not on the remote) or a warning (it is damaged or
// disagrees with its run); neither is an error.
Status FetchRunCache(Repo& repo, RemoteSession& session, const std::map<std::string, Oid>& runs,
                     std::vector<std::pair<Oid, RunCacheEntry>>* usable, TransferReport* report);

}  // namespace cairn

#endif  // CAIRN_REMOTE_TRANSFER_H_
