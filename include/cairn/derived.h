// Derived objects: results computed from stored data and kept beside it, so
// they are computed once and travel with the data. A profile of a table is
// one ("profile"); validation results and leakage reports are others.
//
// A derived object is an immutable, content-addressed object in the store
// ("cairn-derived 1", doc/formats.md) naming its kind, its subject (the
// blob or dataset version oid it describes), a key (what else it depends
// on, such as a suite's digest; may be empty), a JSON body and the time it
// was made. One ref per (kind, subject, key) under
// .cairn/refs/derived/<kind>/<subject hex>/<key> names the current object;
// writing a new one for the same triple replaces the ref (the old object
// becomes garbage).
//
// The objects go where their subject goes: `cairn push` and `cairn pull`
// carry those whose subject is a version they transfer (or a blob of it),
// gc keeps those whose subject it keeps and removes the others with their
// refs, and fsck checks every ref.
//
// Thread safety: functions take a Repo, which is used by one thread at a
// time. Across processes, writers take the repository lock.
#ifndef CAIRN_DERIVED_H_
#define CAIRN_DERIVED_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/json.h"
#include "cairn/oid.h"
#include "cairn/repo.h"
#include "cairn/status.h"
#include "cairn/store.h"

namespace cairn {

inline constexpr std::string_view kDerivedFormat = "cairn-derived 1";

struct DerivedObject {
  std::string kind;  // [a-z][a-z0-9-]*, at most 32 bytes ("profile", "validation" …)
  Oid subject;       // the blob or version described
  std::string key;   // "" or [A-Za-z0-9][A-Za-z0-9._-]*, at most 128 bytes
  Json body;         // the result, as its kind documents it
  int64_t created_ms = 0;  // milliseconds since the epoch

  // Canonical bytes: the fields in a fixed order, the body as given, so
  // decoding and encoding again gives the same bytes.
  std::string Encode() const;
  // Corruption naming `where` when `data` is not a derived object.
  static Result<DerivedObject> Decode(std::string_view data, const std::string& where);
};

// Where a derived object is indexed, and the object the ref names.
struct DerivedRef {
  std::string kind;
  Oid subject;
  std::string key;
  Oid object;

  // "refs/derived/<kind>/<subject hex>/<key>" as on a remote; an empty key is
  // written "_" (no key starts with '_').
  std::string Name() const;
};

// InvalidArgument when `kind` or `key` cannot name a ref (see DerivedObject).
Status ValidateDerivedKind(std::string_view kind);
Status ValidateDerivedKey(std::string_view key);
// Parses a ref name as Name() writes it (the object is left zero);
// InvalidArgument when it is not one.
Result<DerivedRef> ParseDerivedRefName(std::string_view name);

// Stores `object` durably and points its ref at it. Takes the repository
// lock (so gc never sees the object without its ref). Returns the oid.
// InvalidArgument for a bad kind or key.
Result<Oid> PutDerived(Repo& repo, const DerivedObject& object);

// The object the ref of (kind, subject, key) names: nullopt when there is no
// ref; Corruption when the ref is damaged, or its object is missing,
// damaged or describes something else (hint: fsck).
Result<std::optional<DerivedObject>> GetDerived(Repo& repo, std::string_view kind, const Oid& subject,
                                                std::string_view key = {});

// Every derived ref in this repository, sorted by kind, subject, key.
// Names under refs/derived/ that are not refs are listed in `problems`
// (may be null) and skipped; a ref whose content is not an oid is a problem
// too.
Result<std::vector<DerivedRef>> ListDerived(Repo& repo, std::vector<std::string>* problems = nullptr);

// Writes a ref for an object already in the store (a fetch brought it),
// after checking that the object decodes and is what the ref says. Keeps an
// existing ref (AlreadyExists). The caller holds the repository lock.
Status ImportDerived(Repo& repo, const DerivedRef& ref);

// gc: adds to `live` every derived object whose subject is in `live`, and
// (with `apply`) removes the refs of the others, whose subject goes. The
// caller holds the repository lock. `removed` (may be null) counts them.
Status CollectDerived(Repo& repo, OidSet* live, bool apply, uint64_t* removed);

struct DerivedProblem {
  std::string ref;  // Name() of the ref, or the path of a stray file
  std::string message;
};
// fsck: every ref names an object that is here, decodes and agrees with it.
// `checked` counts the refs.
Result<std::vector<DerivedProblem>> CheckDerived(Repo& repo, uint64_t* checked);
// The body of a kind this build writes (profile, validation) has the shape
// and the consistency its writer gives it; Corruption, naming the field,
// when not. Every load (GetDerived, import from a remote, fsck) checks it.
// Other kinds: OK.
Status CheckDerivedBody(const DerivedObject& object);

// fsck --repair: removes each ref whose object is missing, damaged or about
// something else (a derived object is computed again from its subject the
// next time it is asked for). Takes the repository lock. Returns the names
// of the refs removed.
Result<std::vector<std::string>> RemoveDamagedDerived(Repo& repo);

}  // namespace cairn

#endif  // CAIRN_DERIVED_H_
