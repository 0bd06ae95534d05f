// Pieces shared by push and fetch: which versions the user's targets name,
// what objects a version or run consists of, and the remote's ref keys.
#ifndef CAIRN_REMOTE_TRANSFER_H_
#define CAIRN_REMOTE_TRANSFER_H_

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "cairn/refs.h"
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

// The remote's run refs: refs/runs/<id>/<record hex> → (id, record).
Result<std::vector<std::pair<std::string, Oid>>> ListRemoteRuns(Backend& backend);

// Where the index cache of a named remote lives (empty for unnamed ones).
std::filesystem::path IndexCacheDir(Repo& repo, const RemoteSpec& spec);

// Adds to `out` a run record's metric history and artifacts.
Status RunRecordObjects(std::string_view record, const std::string& where, std::vector<Oid>* out);

}  // namespace cairn

#endif  // CAIRN_REMOTE_TRANSFER_H_
