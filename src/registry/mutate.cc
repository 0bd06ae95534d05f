// Changing registry state: aliases, deprecations and approvals. Each takes
// the repository lock (alias moves the alias lock, PromoteLock, before it),
// completes a change of the model that was interrupted, validates against
// the state read under the lock, writes its intent, appends its audit entry,
// and only then writes its ref: the log never misses a change that took
// effect, and a change the log records is completed even if killed.
#include <unistd.h>

#include <cctype>

#include "cairn/audit.h"
#include "cairn/gate.h"
#include "registry/promote_lock.h"
#include "registry/registry_internal.h"
#include "util/file.h"

namespace cairn {

using namespace registry_internal;

namespace {

std::string Subject(const std::string& model, int64_t n) { return "model:" + model + "@" + std::to_string(n); }

Status NotDeprecated(const ModelVersionState& st, const std::string& what) {
  if (!st.deprecated) return Status::OK();
  std::string ref = st.version.model + "@" + std::to_string(st.version.version);
  return Status::FailedPrecondition(
      "model " + ref + " is deprecated" + (st.deprecated_reason.empty() ? "" : " (" + st.deprecated_reason + ")") +
          ": it cannot be " + what,
      "choose another version ('cairn model versions " + st.version.model + "')");
}

bool SameButForCase(const std::string& a, const std::string& b) {
  if (a == b || a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

}  // namespace

Status registry_internal::CheckAliasCase(Repo& repo, const std::string& model, const std::string& alias) {
  std::vector<std::string> names;
  CAIRN_ASSIGN_OR_RETURN(std::vector<AliasState> aliases, ListAliases(repo, model));
  for (const AliasState& a : aliases) names.push_back(a.alias);
  if (auto gates = LoadGates(repo, model); gates.ok()) {
    for (const auto& [declared, rules] : gates->alias_rules) names.push_back(declared);
  }
  for (const std::string& name : names) {
    if (!SameButForCase(name, alias)) continue;
    return Status::InvalidArgument("alias '" + alias + "' differs only in case from '" + name + "' of model " + model,
                                   "use '" + name + "': aliases are case-sensitive, so '" + alias +
                                       "' would be another alias, without the gates and history of '" + name + "'");
  }
  return Status::OK();
}

Result<AliasState> registry_internal::MoveAliasLocked(Repo& repo, std::string_view ref, const std::string& alias,
                                   const std::string& reason, const std::string& action, const Json& details,
                                   const AliasSnapshot* expected, const AuditEvent* before) {
  CAIRN_ASSIGN_OR_RETURN(ModelRef parsed, ParseModelRef(ref));
  CAIRN_RETURN_IF_ERROR(ValidateAliasName(alias));
  CAIRN_ASSIGN_OR_RETURN(RepoLock lock, repo.Lock());
  CAIRN_RETURN_IF_ERROR(FinishInterruptedChange(repo, parsed.model));
  CAIRN_ASSIGN_OR_RETURN(ModelVersionState st, ResolveModel(repo, parsed));
  CAIRN_RETURN_IF_ERROR(NotDeprecated(st, "given an alias"));
  const std::string& model = st.version.model;
  const int64_t n = st.version.version;
  CAIRN_RETURN_IF_ERROR(CheckAliasCase(repo, model, alias));
  if (expected) {
    // Compare and swap: the gates decided against these holders.
    for (const auto& [name, then] : *expected) {
      CAIRN_ASSIGN_OR_RETURN(std::optional<AliasState> now, ReadAlias(repo, model, name));
      bool same = now.has_value() == then.has_value() &&
                  (!now || (now->version == then->version && now->oid == then->oid));
      if (same) continue;
      auto held = [](const std::optional<AliasState>& a) { return a ? "v" + std::to_string(a->version) : "unset"; };
      return Status::FailedPrecondition(model + "@" + name + " moved while the gates ran (" + held(then) + " -> " +
                                            held(now) + "): " + alias + " was not moved",
                                        "run the promotion again: its gates then see the new holder");
    }
  }
  // A damaged alias file is replaced: moving the alias again is the repair.
  auto read = ReadAlias(repo, model, alias);
  if (!read.ok() && read.status().code() != Code::kCorruption) return read.status();
  std::optional<AliasState> previous = read.ok() ? *read : std::nullopt;
  PendingChange change;
  change.action = action;
  change.version = n;
  change.oid = st.oid;
  change.alias = alias;
  change.from = previous ? previous->version : 0;
  CAIRN_RETURN_IF_ERROR(BeginChange(repo, model, &change));
  if (before) CAIRN_RETURN_IF_ERROR(AppendAudit(repo, *before).status());
  AuditEvent event;
  event.action = action;
  event.subjects = {Subject(model, n), "model:" + model, st.oid.ToString()};
  event.reason = reason;
  event.details = details.is_object() ? details : Json::object();
  event.details["alias"] = alias;
  event.details["from"] = previous ? Json(previous->version) : Json(nullptr);
  event.details["to"] = n;
  event.details["intent"] = change.nonce;
  CAIRN_ASSIGN_OR_RETURN(AuditEntry entry, AppendAudit(repo, event));
  CAIRN_RETURN_IF_ERROR(FinishChange(repo, model, change, entry));
  AliasState a;
  a.alias = alias;
  a.version = n;
  a.oid = st.oid;
  a.audit_entry = entry.id;
  a.user = entry.user.empty() ? repo.Author() : entry.user;
  a.time_ms = entry.time_ms ? entry.time_ms : NowMs();
  return a;
}

Result<AliasState> SetAlias(Repo& repo, std::string_view ref, const std::string& alias, const std::string& reason,
                            const std::string& action, const Json& details) {
  // Every alias move waits for a promotion in progress, whose gates read
  // the aliases: a move between its gates and its move would be undone.
  CAIRN_ASSIGN_OR_RETURN(PromoteLock alias_lock, PromoteLock::Take(repo));
  return MoveAliasLocked(repo, ref, alias, reason, action, details, nullptr, nullptr);
}

Status DeleteAlias(Repo& repo, const std::string& model, const std::string& alias, const std::string& reason,
                   int64_t expected_version) {
  CAIRN_RETURN_IF_ERROR(ValidateModelName(model));
  CAIRN_RETURN_IF_ERROR(ValidateAliasName(alias));
  CAIRN_ASSIGN_OR_RETURN(PromoteLock alias_lock, PromoteLock::Take(repo));
  CAIRN_ASSIGN_OR_RETURN(RepoLock lock, repo.Lock());
  CAIRN_RETURN_IF_ERROR(FinishInterruptedChange(repo, model));
  auto read = ReadAlias(repo, model, alias);
  // A damaged alias file can still be deleted by name (the repair fsck
  // suggests), but not as "the alias of version V": what it names is unknown.
  if (!read.ok() && (read.status().code() != Code::kCorruption || expected_version != 0)) return read.status();
  bool damaged = !read.ok();
  std::optional<AliasState> previous = read.ok() ? *read : std::nullopt;
  if (previous && expected_version != 0 && previous->version != expected_version) {
    return Status::FailedPrecondition(model + "@" + alias + " names v" + std::to_string(previous->version) +
                                          ", not v" + std::to_string(expected_version) + ": it was not deleted",
                                      "delete it whatever it names with 'cairn model alias " + model + " " + alias +
                                          " --delete'");
  }
  if (!previous && !damaged) {
    CAIRN_ASSIGN_OR_RETURN(std::vector<int64_t> numbers, VersionNumbers(repo, model));
    if (numbers.empty()) return NoSuchModel(repo, model);
    CAIRN_ASSIGN_OR_RETURN(std::vector<AliasState> aliases, ListAliases(repo, model));
    return Status::NotFound("model " + model + " has no alias '" + alias + "'", Candidates(numbers, aliases));
  }
  PendingChange change;
  change.action = "model.alias.delete";
  change.alias = alias;
  AuditEvent event;
  event.action = "model.alias.delete";
  event.reason = reason;
  if (previous) {
    change.version = change.from = previous->version;
    change.oid = previous->oid;
    event.subjects = {Subject(model, previous->version), "model:" + model, previous->oid.ToString()};
    event.details = {{"alias", alias}, {"from", previous->version}, {"to", nullptr}};
  } else {
    event.subjects = {"model:" + model};
    event.details = {{"alias", alias}, {"from", nullptr}, {"to", nullptr}, {"damaged", true}};
  }
  CAIRN_RETURN_IF_ERROR(BeginChange(repo, model, &change));
  event.details["intent"] = change.nonce;
  CAIRN_ASSIGN_OR_RETURN(AuditEntry entry, AppendAudit(repo, event));
  return FinishChange(repo, model, change, entry);
}

Result<ModelVersionState> DeprecateModel(Repo& repo, std::string_view ref, const std::string& reason) {
  CAIRN_ASSIGN_OR_RETURN(ModelRef parsed, ParseModelRef(ref));
  CAIRN_ASSIGN_OR_RETURN(RepoLock lock, repo.Lock());
  CAIRN_RETURN_IF_ERROR(FinishInterruptedChange(repo, parsed.model));
  CAIRN_ASSIGN_OR_RETURN(ModelVersionState st, ResolveModel(repo, parsed));
  const std::string& model = st.version.model;
  const int64_t n = st.version.version;
  if (st.deprecated) {
    return Status::FailedPrecondition("model " + model + "@" + std::to_string(n) + " is already deprecated",
                                      "nothing to do; 'cairn model show " + model + "@" + std::to_string(n) +
                                          "' says by whom and why");
  }
  AuditEvent event;
  event.action = "model.deprecate";
  event.subjects = {Subject(model, n), "model:" + model, st.oid.ToString()};
  event.reason = reason;
  event.details = {{"version", n}, {"aliases", st.aliases}};
  PendingChange change;
  change.action = event.action;
  change.version = n;
  change.oid = st.oid;
  CAIRN_RETURN_IF_ERROR(BeginChange(repo, model, &change));
  event.details["intent"] = change.nonce;
  CAIRN_ASSIGN_OR_RETURN(AuditEntry entry, AppendAudit(repo, event));
  CAIRN_RETURN_IF_ERROR(FinishChange(repo, model, change, entry));
  Deprecation d{entry.user.empty() ? repo.Author() : entry.user, entry.time_ms ? entry.time_ms : NowMs(), reason,
                entry.id};
  st.deprecated = true;
  st.deprecated_by = d.user;
  st.deprecated_reason = OneLine(reason);
  st.deprecated_ms = d.time_ms;
  return st;
}

Result<Approval> ApproveModel(Repo& repo, std::string_view ref, const std::string& message) {
  CAIRN_ASSIGN_OR_RETURN(ModelRef parsed, ParseModelRef(ref));
  if (BlankIdentity(repo.Author())) {
    return Status::InvalidArgument("no identity to approve as: the user name is empty",
                                   "set git config user.name and user.email, or CAIRN_AUTHOR=\"Name <email>\"");
  }
  CAIRN_ASSIGN_OR_RETURN(RepoLock lock, repo.Lock());
  CAIRN_RETURN_IF_ERROR(FinishInterruptedChange(repo, parsed.model));
  CAIRN_ASSIGN_OR_RETURN(ModelVersionState st, ResolveModel(repo, parsed));
  CAIRN_RETURN_IF_ERROR(NotDeprecated(st, "approved"));
  const std::string& model = st.version.model;
  const int64_t n = st.version.version;
  AuditEvent event;
  event.action = "model.approve";
  event.subjects = {Subject(model, n), "model:" + model, st.oid.ToString()};
  event.reason = message;
  event.details = {{"version", n}};
  PendingChange change;
  change.action = event.action;
  change.version = n;
  change.oid = st.oid;
  CAIRN_RETURN_IF_ERROR(BeginChange(repo, model, &change));
  event.details["intent"] = change.nonce;
  CAIRN_ASSIGN_OR_RETURN(AuditEntry entry, AppendAudit(repo, event));
  CAIRN_RETURN_IF_ERROR(FinishChange(repo, model, change, entry));
  Approval a{entry.user.empty() ? repo.Author() : entry.user, entry.time_ms ? entry.time_ms : NowMs(),
             OneLine(message), entry.id};
  return a;
}

}  // namespace cairn
