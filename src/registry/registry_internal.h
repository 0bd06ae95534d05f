// Registry internals shared by the files of src/registry/: the text forms
// of the mutable refs (alias, deprecation, approval; doc/formats.md) and
// the readers every operation builds on. Not a public API.
#ifndef CAIRN_REGISTRY_REGISTRY_INTERNAL_H_
#define CAIRN_REGISTRY_REGISTRY_INTERNAL_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cairn/audit.h"
#include "cairn/registry.h"

namespace cairn::registry_internal {

inline constexpr std::string_view kVersionFormat = "cairn-model-version 1";
inline constexpr std::string_view kAliasHeader = "cairn-alias 1\n";
inline constexpr std::string_view kDeprecationHeader = "cairn-deprecation 1\n";
inline constexpr std::string_view kApprovalHeader = "cairn-approval 1\n";
inline constexpr std::string_view kPendingHeader = "cairn-model-pending 1\n";
inline constexpr std::string_view kIntentHeader = "cairn-model-intent 1\n";

// A registration in flight (refs/models/<name>/pending): written before its
// audit entry, removed after its version ref, so a registration killed in
// between is found by the next one with one stat (doc/formats.md).
struct PendingRegistration {
  int64_t version = 0;
  Oid oid;  // the version object, stored before the intent
};
std::filesystem::path PendingPath(Repo& repo, const std::string& model);
std::string EncodePending(const PendingRegistration& p);
// nullopt when there is none; Corruption when the file is damaged.
Result<std::optional<PendingRegistration>> ReadPending(Repo& repo, const std::string& model);
// Under the repository lock, before numbering: completes a registration
// that was killed after its audit entry (writes its version ref: the entry
// records that it happened), or forgets one killed before it (its number is
// free: nothing claims it). Reads the audit log only when a pending file
// is there.
Status FinishInterruptedRegistration(Repo& repo, const std::string& model);
// Creates refs/models/<model>/versions/<n> exclusively; AlreadyExists when
// another process took the number.
Status CreateVersionRef(Repo& repo, const std::string& model, int64_t n, const Oid& oid);

// A change of a model's mutable refs in flight (refs/models/<name>/intent,
// doc/formats.md): an alias move (model.alias, model.promote), an alias
// delete, a deprecation or an approval. Written durably before its audit
// entry (which carries `nonce` as details.intent), removed after its ref:
// a change killed in between is completed by the next change of that model
// under the lock when its entry made it to the log (the log says it
// happened), and forgotten when it did not.
struct PendingChange {
  std::string action;   // the audit action
  std::string nonce;    // random; set by BeginChange
  int64_t version = 0;  // the version concerned (a delete: the one the alias named; 0 for a damaged alias)
  Oid oid;              // its object
  std::string alias;    // alias moves and deletes
  int64_t from = 0;     // alias moves and deletes: the version the alias named before (0: none or damaged)
};
// Writes the intent (durably) after giving `change` a nonce; the caller
// puts change->nonce into its audit event's details["intent"].
Status BeginChange(Repo& repo, const std::string& model, PendingChange* change);
// Writes the ref `change` makes, with what `entry` (its audit entry)
// recorded (id, user, time, reason), then removes the intent.
Status FinishChange(Repo& repo, const std::string& model, const PendingChange& change, const AuditEntry& entry);
// Under the repository lock, before a change of `model`: completes or
// forgets a change of it that was interrupted (one stat when there is none;
// the audit log is read only when an intent is there). An alias is not
// moved by the roll-forward when it names neither what it named before the
// interrupted change nor its target (something else moved it since).
Status FinishInterruptedChange(Repo& repo, const std::string& model);
// Test seam: when set, called after a change's audit entry is appended and
// before its ref is written; a non-OK status returns at once, as a process
// killed there would leave things (entry appended, intent left, no ref).
std::function<Status(const std::string& action)>& AfterAuditHookForTesting();

// The aliases a promotion's gates read, as they were then (nullopt: unset).
using AliasSnapshot = std::map<std::string, std::optional<AliasState>>;
// SetAlias for a caller that holds the alias lock (PromoteLock) itself.
// With `expected`, moves only while every alias in it still names what it
// named then: FailedPrecondition ("moved while the gates ran") otherwise,
// with nothing appended. `before` (may be null) is appended to the audit
// log under the same lock just before the move's own entry (promote's
// "force" entry), so neither is recorded for a move that is refused.
Result<AliasState> MoveAliasLocked(Repo& repo, std::string_view ref, const std::string& alias,
                                   const std::string& reason, const std::string& action, const Json& details,
                                   const AliasSnapshot* expected, const AuditEvent* before);

// InvalidArgument when `alias` differs only in case from an alias `model`
// has, or from one its cairn.yaml alias_gates declare ("Production" beside
// "production" would be another alias, without production's gates). An
// unreadable cairn.yaml is left to the gates to report.
Status CheckAliasCase(Repo& repo, const std::string& model, const std::string& alias);

// "key value" lines after `header` (the refs' text form); Corruption naming
// `where` otherwise.
Result<std::map<std::string, std::string>> ParseRefLines(std::string_view data, std::string_view header,
                                                         const std::string& where);

struct Deprecation {
  std::string user;
  int64_t time_ms = 0;
  std::string reason;
  std::string audit_entry;
};

// Newlines and other control characters become spaces: every value of these
// line-based files is one line.
std::string OneLine(std::string_view text);
std::string HostName();

std::string EncodeAlias(const AliasState& alias);
Result<AliasState> DecodeAlias(std::string_view data, const std::string& model, const std::string& alias);

// OK when `entry` (the audit entry alias ref `a` of `model` names, or
// nullptr when the log has none) records this move: a model.alias or
// model.promote of that alias to a.version's object, by a.user at
// a.time_ms. Corruption saying what differs otherwise (a ref edited on a
// remote: fetch does not take it).
Status CheckAliasAudit(const std::string& model, const AliasState& a, const AuditEntry* entry);
// OK when `entry` (the audit entry `entry_id` a ref described as `what`
// names; nullptr when the log has none) is an `action` entry about
// `subject` ("model:NAME@N") by `user` at `time_ms`; Corruption saying what
// differs otherwise. Pull checks approvals and deprecations this way.
Status CheckRefAudit(const std::string& what, const std::string& entry_id, const AuditEntry* entry,
                     const std::string& action, const std::string& subject, const std::string& user, int64_t time_ms);
std::string EncodeDeprecation(const Deprecation& d);
Result<Deprecation> DecodeDeprecation(std::string_view data, const std::string& where);
std::string EncodeApproval(const Approval& a);
Result<Approval> DecodeApproval(std::string_view data, const std::string& where, const std::string& entry);

// Version numbers of `model`, ascending (empty when the model does not exist).
Result<std::vector<int64_t>> VersionNumbers(Repo& repo, const std::string& model);
// Models in the registry, sorted.
Result<std::vector<std::string>> ModelNames(Repo& repo);
// The version object refs/models/<model>/versions/<n> names; nullopt when absent.
Result<std::optional<Oid>> ReadVersionRef(Repo& repo, const std::string& model, int64_t n);
// Reads and decodes a version object, checking it is that model's version n.
Result<ModelVersion> LoadVersionObject(Repo& repo, const Oid& oid, const std::string& model, int64_t n);
// The state of version n: its object, aliases naming it (from `aliases`),
// deprecation and approvals.
Result<ModelVersionState> LoadState(Repo& repo, const std::string& model, int64_t n,
                                    const std::vector<AliasState>& aliases);
// NotFound for a model that has no versions, naming the nearest models.
Status NoSuchModel(Repo& repo, const std::string& model);
// "versions 1..5, aliases production, staging" for messages.
std::string Candidates(const std::vector<int64_t>& versions, const std::vector<AliasState>& aliases);
// Names in `names` closest to `wanted` (edit distance), at most `n`.
std::vector<std::string> Nearest(const std::string& wanted, const std::vector<std::string>& names, size_t n);

// GetModel's writing, after its checks of `dir` (absolute): for cairn's
// own read-only copies under .cairn/models/ (use_model), which GetModel
// refuses as a user's destination.
Result<GetModelResult> WriteModel(Repo& repo, ModelVersionState st, const std::filesystem::path& dir, bool force);

}  // namespace cairn::registry_internal

#endif  // CAIRN_REGISTRY_REGISTRY_INTERNAL_H_
