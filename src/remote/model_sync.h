// Push and pull of the model registry (doc/registry.md, "Sharing models"):
// version refs, aliases, approvals and deprecations under refs/models/ on
// a remote, with the objects the versions name (version object, artifact
// blob or tree and its blobs, the producing run's record and what it
// names).
//
// Rules: a version ref is immutable — the same number naming another
// object on the other side is a conflict (push refuses the model, pull
// skips the version). Approvals and deprecations merge by union. An alias
// moved on the remote since this clone last saw it is refused on push (like
// a non-fast-forward); pull takes the remote's alias when the local one has
// not moved since the last sync, and keeps the local one (with a warning)
// when both moved. What was last seen of each remote is kept beside its
// index cache (Layout::remote_index_cache, "registry-seen"); without it,
// push refuses any remote alias that differs from the local one.
#ifndef CAIRN_REMOTE_MODEL_SYNC_H_
#define CAIRN_REMOTE_MODEL_SYNC_H_

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cairn/registry.h"
#include "cairn/remote.h"
#include "cairn/repo.h"
#include "cairn/store.h"
#include "remote/session.h"

namespace cairn {

inline constexpr char kRemoteModels[] = "refs/models/";

// One model's refs on one side, keyed as below refs/models/<name>/.
struct ModelRefSet {
  std::map<int64_t, Oid> versions;            // N → version object (pull: only those read)
  std::set<int64_t> version_numbers;          // every N listed
  std::map<std::string, std::string> aliases;  // alias → the text of its ref
  std::set<int64_t> deprecated;
  std::set<std::pair<int64_t, std::string>> approvals;  // (N, audit entry id)
};
using RegistryRefs = std::map<std::string, ModelRefSet>;

// Which models a transfer carries: every model (a transfer without
// targets), the ones named by "model:NAME" targets, or none.
struct ModelSelection {
  bool all = false;
  std::set<std::string> names;
  bool Wants(const std::string& model) const { return all || names.count(model); }
  bool Any() const { return all || !names.empty(); }
};
// Moves the "model:NAME" targets (NAME, or NAME@anything: the whole model
// goes) out of `targets` into `selection`; with no targets at all, every
// model is selected. InvalidArgument for a bad model name.
Status SplitModelTargets(std::vector<std::string>* targets, ModelSelection* selection);

// What a push of the registry will write once the objects are up.
struct ModelPushPlan {
  RegistryRefs local, remote;  // of the models to push (refused ones left out)
  std::vector<std::string> run_ids;  // producing runs whose refs go too
};

// Push, before uploading: reads the selected models here and on the remote,
// refuses (report->refused) a model whose version N names another object on
// the remote, and adds what the versions the remote lacks consist of to
// `data` (artifacts, run-record parts) and `meta` (records, version objects).
Status PlanModelPush(Repo& repo, RemoteSession& session, const RemoteSpec& spec, const ModelSelection& selection,
                     std::vector<Oid>* data, std::vector<Oid>* meta, ModelPushPlan* plan, TransferReport* report);
// Push, after the objects are on the remote: writes version refs, approvals,
// deprecations, then aliases (refusing those moved on the remote since the
// last sync) and remembers what the remote now holds.
Status PublishModels(Repo& repo, RemoteSession& session, const RemoteSpec& spec, const ModelPushPlan& plan,
                     TransferReport* report);

// What a fetch of the registry will write once the objects are committed.
struct ModelFetchPlan {
  RegistryRefs local, remote;
  std::map<std::string, std::map<std::string, std::string>> texts;  // model → key below it → remote text
  std::set<std::pair<std::string, int64_t>> arrived;  // versions whose objects were all downloaded
};

// Fetch, under the repository lock: lists the selected models on the
// remote, downloads (verified) the objects of every version this clone
// lacks, and the texts of the refs it may write; adds the producing runs'
// remote refs to `runs` (for ImportRuns).
Status FetchModels(Repo& repo, RemoteSession& session, const RemoteSpec& spec, const ModelSelection& selection,
                   std::map<std::string, Oid>* runs, ModelFetchPlan* plan, TransferReport* report);
// Fetch, after the store is committed: writes the version refs whose
// objects arrived, the approvals and deprecations this clone lacks, and the
// aliases the rules allow; remembers what the remote held.
Status WriteFetchedModels(Repo& repo, const RemoteSpec& spec, const ModelFetchPlan& plan, TransferReport* report);

// ---- shared by model_push.cc, model_fetch.cc and remote gc ----
namespace model_sync {

// refs/models/<model>/ on a remote.
std::string ModelPrefix(const std::string& model);
// A version number as a ref name: digits without a leading zero.
bool ParseVersionNumber(const std::string& name, int64_t* n);
// "sha256:<hex>\n" of a version ref; Corruption naming `where` otherwise.
Result<Oid> ParseVersionRef(std::string_view text, const std::string& where);
// sha256 hex of a ref's text (what the seen-state remembers of an alias).
std::string Digest(std::string_view text);

// The selected models on the remote, from one listing (version numbers,
// alias names with empty texts, deprecations, approvals). Names that are not
// valid model, alias or entry names are skipped with a warning.
Result<RegistryRefs> ListRemote(Backend& backend, const ModelSelection& selection, std::vector<std::string>* warnings);
// The selected models here, with every ref's oid or text.
Result<RegistryRefs> ReadLocal(Repo& repo, const ModelSelection& selection);

// What this clone last saw of a remote's registry.
struct Seen {
  bool exists = false;                                   // the file was there
  std::set<std::string> models;                          // models synced at least once
  std::map<std::string, std::map<int64_t, Oid>> versions;  // immutable, so a cache of the remote's refs
  std::map<std::string, std::map<std::string, std::string>> aliases;  // model → alias → Digest
};
// Best effort: a missing or unreadable file is an empty Seen.
Seen LoadSeen(Repo& repo, const RemoteSpec& spec);
Status SaveSeen(Repo& repo, const RemoteSpec& spec, const Seen& seen);

// Fills refs->versions for `numbers` from the remote (the seen cache first).
Status ReadRemoteVersions(Backend& backend, const std::string& model, const std::set<int64_t>& numbers,
                          const Seen& seen, ModelRefSet* refs);

// The objects version `v` names beyond itself: the artifact (and a tree's
// blobs) into `data`, the run record into `records` and what the record
// names into `data`. `read` returns an object's bytes.
Status VersionParts(const ModelVersion& v, const std::function<Result<std::string>(const Oid&)>& read,
                    std::vector<Oid>* data, std::vector<Oid>* records);

}  // namespace model_sync

// Remote gc's roots: every model version ref on the remote keeps its
// version object, artifact and run record (and what the record names).
// `versions` counts the refs.
Status MarkRemoteModels(Repo* repo, RemoteSession& session, OidSet* live, uint64_t* versions);

}  // namespace cairn

#endif  // CAIRN_REMOTE_MODEL_SYNC_H_
