// Push, pull, gc and fsck of derived objects on a remote (cairn/derived.h;
// doc/formats.md, "Derived objects"). On a remote, a derived object's ref
// has the name and text it has locally (refs/derived/<kind>/<subject
// hex>/<key> → "sha256:<hex>\n") and its object travels in packs like any
// other. Refs are written after their objects, and a ref that exists on the
// other side is kept there (both describe the same subject; the first one
// stays).
#ifndef CAIRN_REMOTE_DERIVED_SYNC_H_
#define CAIRN_REMOTE_DERIVED_SYNC_H_

#include <set>
#include <string>
#include <vector>

#include "cairn/derived.h"
#include "cairn/remote.h"
#include "cairn/repo.h"
#include "cairn/store.h"
#include "remote/session.h"

namespace cairn {

inline constexpr char kRemoteDerived[] = "refs/derived/";

// The subjects a transfer of `versions` covers: each version, its tree or
// blob, and the tree's blobs, as far as they are in the local store.
Result<OidSet> DerivedSubjects(Repo& repo, const std::vector<Oid>& versions);

// Push, before uploading: the local derived refs whose subject is in
// `subjects` and whose object is here and reads back whole (a damaged one
// is left out, with a warning); their objects go to `meta`.
Status PlanDerivedPush(Repo& repo, const OidSet& subjects, std::vector<Oid>* meta, std::vector<DerivedRef>* refs,
                       std::vector<std::string>* warnings);
// Push, after the objects are up: writes the refs the remote lacks
// (`remote_keys`: every key under refs/ on the remote).
Status PublishDerived(Backend& backend, const std::set<std::string>& remote_keys, const std::vector<DerivedRef>& refs,
                      TransferReport* report);

// Fetch, under the repository lock: the remote's derived refs whose subject
// is in `subjects` and which this clone lacks; downloads (verified) their
// objects. A remote ref that cannot be read or names an object the remote
// lacks is a warning.
Status FetchDerived(Repo& repo, RemoteSession& session, const OidSet& subjects, std::vector<DerivedRef>* arrived,
                    TransferReport* report);
// Fetch, after the store is committed: writes the refs (ImportDerived
// checks each object against its ref; a mismatch is a warning).
Status WriteFetchedDerived(Repo& repo, const std::vector<DerivedRef>& arrived, TransferReport* report);

// Every derived ref on the remote, with the object it names; names that
// are not refs, and refs whose text is not an oid, go to `problems`.
Result<std::vector<DerivedRef>> ListRemoteDerived(Backend& backend, std::vector<std::string>* problems);

}  // namespace cairn

#endif  // CAIRN_REMOTE_DERIVED_SYNC_H_
