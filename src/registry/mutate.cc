// Changing registry state: aliases, deprecations and approvals. Each takes
// the repository lock, validates against the state read under it, appends
// its audit entry, and only then writes its ref: the log never misses a
// change that took effect.
#include <unistd.h>

#include "cairn/audit.h"
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

}  // namespace

Result<AliasState> SetAlias(Repo& repo, std::string_view ref, const std::string& alias, const std::string& reason,
                            const std::string& action, const Json& details) {
  CAIRN_ASSIGN_OR_RETURN(ModelRef parsed, ParseModelRef(ref));
  CAIRN_RETURN_IF_ERROR(ValidateAliasName(alias));
  CAIRN_ASSIGN_OR_RETURN(RepoLock lock, repo.Lock());
  CAIRN_ASSIGN_OR_RETURN(ModelVersionState st, ResolveModel(repo, parsed));
  CAIRN_RETURN_IF_ERROR(NotDeprecated(st, "given an alias"));
  const std::string& model = st.version.model;
  const int64_t n = st.version.version;
  // A damaged alias file is replaced: moving the alias again is the repair.
  auto read = ReadAlias(repo, model, alias);
  if (!read.ok() && read.status().code() != Code::kCorruption) return read.status();
  std::optional<AliasState> previous = read.ok() ? *read : std::nullopt;
  AuditEvent event;
  event.action = action;
  event.subjects = {Subject(model, n), "model:" + model, st.oid.ToString()};
  event.reason = reason;
  event.details = details.is_object() ? details : Json::object();
  event.details["alias"] = alias;
  event.details["from"] = previous ? Json(previous->version) : Json(nullptr);
  event.details["to"] = n;
  CAIRN_ASSIGN_OR_RETURN(AuditEntry entry, AppendAudit(repo, event));
  AliasState a;
  a.alias = alias;
  a.version = n;
  a.oid = st.oid;
  a.audit_entry = entry.id;
  a.user = entry.user.empty() ? repo.Author() : entry.user;
  a.time_ms = entry.time_ms ? entry.time_ms : NowMs();
  fs::path path = repo.layout().model_alias(model, alias);
  CAIRN_RETURN_IF_ERROR(MakeDirs(path.parent_path()));
  // A short temp name: an alias may be 255 characters, the longest file name.
  CAIRN_ASSIGN_OR_RETURN(TempFile tmp, TempFile::Create(path.parent_path(), "alias"));
  CAIRN_RETURN_IF_ERROR(tmp.Write(EncodeAlias(a)));
  CAIRN_RETURN_IF_ERROR(tmp.Commit(path, /*sync=*/true));
  return a;
}

Status DeleteAlias(Repo& repo, const std::string& model, const std::string& alias, const std::string& reason,
                   int64_t expected_version) {
  CAIRN_RETURN_IF_ERROR(ValidateModelName(model));
  CAIRN_RETURN_IF_ERROR(ValidateAliasName(alias));
  CAIRN_ASSIGN_OR_RETURN(RepoLock lock, repo.Lock());
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
  AuditEvent event;
  event.action = "model.alias.delete";
  event.reason = reason;
  if (previous) {
    event.subjects = {Subject(model, previous->version), "model:" + model, previous->oid.ToString()};
    event.details = {{"alias", alias}, {"from", previous->version}, {"to", nullptr}};
  } else {
    event.subjects = {"model:" + model};
    event.details = {{"alias", alias}, {"from", nullptr}, {"to", nullptr}, {"damaged", true}};
  }
  CAIRN_RETURN_IF_ERROR(AppendAudit(repo, event).status());
  fs::path path = repo.layout().model_alias(model, alias);
  if (::unlink(path.c_str()) != 0) return Status::FromErrno("cannot delete " + path.string(), errno);
  return SyncDirectory(path.parent_path());
}

Result<ModelVersionState> DeprecateModel(Repo& repo, std::string_view ref, const std::string& reason) {
  CAIRN_ASSIGN_OR_RETURN(ModelRef parsed, ParseModelRef(ref));
  CAIRN_ASSIGN_OR_RETURN(RepoLock lock, repo.Lock());
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
  CAIRN_ASSIGN_OR_RETURN(AuditEntry entry, AppendAudit(repo, event));
  Deprecation d{entry.user.empty() ? repo.Author() : entry.user, entry.time_ms ? entry.time_ms : NowMs(), reason,
                entry.id};
  fs::path path = repo.layout().model_deprecation(model, n);
  CAIRN_RETURN_IF_ERROR(MakeDirs(path.parent_path()));
  CAIRN_ASSIGN_OR_RETURN(TempFile tmp, TempFile::Create(path.parent_path(), "deprecation"));
  CAIRN_RETURN_IF_ERROR(tmp.Write(EncodeDeprecation(d)));
  CAIRN_RETURN_IF_ERROR(tmp.CommitNoReplace(path, /*sync=*/true));
  st.deprecated = true;
  st.deprecated_by = d.user;
  st.deprecated_reason = OneLine(reason);
  st.deprecated_ms = d.time_ms;
  return st;
}

Result<Approval> ApproveModel(Repo& repo, std::string_view ref, const std::string& message) {
  CAIRN_ASSIGN_OR_RETURN(ModelRef parsed, ParseModelRef(ref));
  CAIRN_ASSIGN_OR_RETURN(RepoLock lock, repo.Lock());
  CAIRN_ASSIGN_OR_RETURN(ModelVersionState st, ResolveModel(repo, parsed));
  CAIRN_RETURN_IF_ERROR(NotDeprecated(st, "approved"));
  const std::string& model = st.version.model;
  const int64_t n = st.version.version;
  AuditEvent event;
  event.action = "model.approve";
  event.subjects = {Subject(model, n), "model:" + model, st.oid.ToString()};
  event.reason = message;
  event.details = {{"version", n}};
  CAIRN_ASSIGN_OR_RETURN(AuditEntry entry, AppendAudit(repo, event));
  Approval a{entry.user.empty() ? repo.Author() : entry.user, entry.time_ms ? entry.time_ms : NowMs(),
             OneLine(message), entry.id};
  fs::path path = repo.layout().model_approval(model, n, entry.id);
  CAIRN_RETURN_IF_ERROR(MakeDirs(path.parent_path()));
  CAIRN_RETURN_IF_ERROR(WriteFileAtomic(path, EncodeApproval(a), /*sync=*/true));
  return a;
}

}  // namespace cairn
