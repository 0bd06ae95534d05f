// Registrations interrupted between their audit entry and their version ref
// (kill -9, power loss). The audit entry says "registered M@N as object X":
// if the next registration took N again for another object, the log would
// tell an untrue story. So a registration records its intent in
// refs/models/<name>/pending before the audit append and removes it after
// the ref; the next one, under the lock, finds a leftover with one stat and
// completes it (or forgets it when no audit entry claims it).
//
// The other changes (alias moves and deletes, deprecations, approvals) do
// the same with refs/models/<name>/intent: written before the audit entry,
// which names it by a nonce (details.intent), removed after the ref.
#include <unistd.h>

#include <charconv>
#include <random>

#include "cairn/audit.h"
#include "registry/registry_internal.h"
#include "util/file.h"

namespace cairn::registry_internal {

fs::path PendingPath(Repo& repo, const std::string& model) { return repo.layout().model(model) / "pending"; }

std::string EncodePending(const PendingRegistration& p) {
  return std::string(kPendingHeader) + "version " + std::to_string(p.version) + "\nobject " + p.oid.ToString() + "\n";
}

Result<std::optional<PendingRegistration>> ReadPending(Repo& repo, const std::string& model) {
  fs::path path = PendingPath(repo, model);
  auto data = ReadFile(path);
  if (!data.ok()) {
    if (data.status().code() == Code::kNotFound) return std::optional<PendingRegistration>();
    return data.status();
  }
  auto damaged = [&] {
    return Status::Corruption("the pending registration " + path.lexically_relative(repo.root()).string() +
                                  " of model " + model + " is damaged",
                              "check 'cairn audit log' for the last model.register of " + model +
                                  ", then remove the file");
  };
  std::string_view text = *data;
  if (!text.starts_with(kPendingHeader)) return damaged();
  text.remove_prefix(kPendingHeader.size());
  PendingRegistration p;
  constexpr std::string_view kVersion = "version ", kObject = "\nobject ";
  size_t object_at = text.find(kObject);
  if (!text.starts_with(kVersion) || object_at == std::string_view::npos || !text.ends_with("\n")) return damaged();
  std::string_view number = text.substr(kVersion.size(), object_at - kVersion.size());
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), p.version);
  if (ec != std::errc() || end != number.data() + number.size() || p.version < 1) return damaged();
  std::string_view oid_text = text.substr(object_at + kObject.size());
  oid_text.remove_suffix(1);
  auto oid = Oid::Parse(oid_text);
  if (!oid.ok()) return damaged();
  p.oid = *oid;
  return std::optional<PendingRegistration>(p);
}

Status CreateVersionRef(Repo& repo, const std::string& model, int64_t n, const Oid& oid) {
  fs::path path = repo.layout().model_version(model, n);
  CAIRN_RETURN_IF_ERROR(MakeDirs(path.parent_path()));
  CAIRN_ASSIGN_OR_RETURN(TempFile tmp, TempFile::Create(path.parent_path(), "version"));
  CAIRN_RETURN_IF_ERROR(tmp.Write(oid.ToString() + "\n"));
  Status s = tmp.CommitNoReplace(path, /*sync=*/true);
  if (s.code() == Code::kAlreadyExists) {
    return Status::AlreadyExists("model " + model + "@" + std::to_string(n) + " already exists",
                                 "another process registered it; register again");
  }
  return s;
}

Status FinishInterruptedRegistration(Repo& repo, const std::string& model) {
  CAIRN_ASSIGN_OR_RETURN(std::optional<PendingRegistration> pending, ReadPending(repo, model));
  if (!pending) return Status::OK();
  CAIRN_ASSIGN_OR_RETURN(std::optional<Oid> ref, ReadVersionRef(repo, model, pending->version));
  if (!ref) {
    // Did its audit entry make it? Only then did the registration happen.
    const std::string subject = "model:" + model + "@" + std::to_string(pending->version);
    CAIRN_ASSIGN_OR_RETURN(std::vector<AuditEntry> entries,
                           ReadAudit(repo, AuditQuery{0, subject, "model.register", 1}));
    bool recorded = false;
    for (const AuditEntry& e : entries) {
      for (const std::string& s : e.subjects) recorded |= s == pending->oid.ToString();
    }
    // Written even if gc has since taken the object (it is a gc root while
    // pending): the log says the version exists, and fsck then reports
    // its object missing rather than the number meaning two things.
    if (recorded) CAIRN_RETURN_IF_ERROR(CreateVersionRef(repo, model, pending->version, pending->oid));
  }
  fs::path path = PendingPath(repo, model);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Status::FromErrno("cannot remove " + path.string(), errno);
  return SyncDirectory(path.parent_path());
}

namespace {

fs::path IntentPath(Repo& repo, const std::string& model) { return repo.layout().model(model) / "intent"; }

std::string Nonce() {
  std::random_device device;
  std::mt19937_64 mix((static_cast<uint64_t>(device()) << 32) ^ device() ^ static_cast<uint64_t>(::getpid()));
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 2; ++i) {
    uint64_t v = mix();
    for (int j = 0; j < 16; ++j, v >>= 4) out += hex[v & 15];
  }
  return out;
}

std::string EncodeIntent(const PendingChange& c) {
  return std::string(kIntentHeader) + "action " + c.action + "\nnonce " + c.nonce + "\nversion " +
         std::to_string(c.version) + "\nobject " + (c.version ? c.oid.ToString() : std::string()) + "\nalias " +
         c.alias + "\nfrom " + std::to_string(c.from) + "\n";
}

Result<std::optional<PendingChange>> ReadIntent(Repo& repo, const std::string& model) {
  fs::path path = IntentPath(repo, model);
  auto data = ReadFile(path);
  if (!data.ok()) {
    if (data.status().code() == Code::kNotFound) return std::optional<PendingChange>();
    return data.status();
  }
  std::string where = "the interrupted change " + path.lexically_relative(repo.root()).string();
  auto damaged = [&] {
    return Status::Corruption(where + " of model " + model + " is damaged",
                              "check 'cairn audit log' for the last change of " + model +
                                  " and that its ref shows it, then remove the file");
  };
  auto lines = ParseRefLines(*data, kIntentHeader, where);
  if (!lines.ok()) return damaged();
  auto& f = *lines;
  PendingChange c;
  c.action = f["action"];
  c.nonce = f["nonce"];
  c.alias = f["alias"];
  auto number = [](const std::string& text, int64_t* out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
    return ec == std::errc() && end == text.data() + text.size() && *out >= 0;
  };
  if (c.nonce.empty() || !number(f["version"], &c.version) || !number(f["from"], &c.from)) return damaged();
  if (c.version != 0) {
    auto oid = Oid::Parse(f["object"]);
    if (!oid.ok()) return damaged();
    c.oid = *oid;
  }
  bool alias_change = c.action == "model.alias" || c.action == "model.promote" || c.action == "model.alias.delete";
  bool known = alias_change ? ValidateAliasName(c.alias).ok() && (c.version != 0 || c.action == "model.alias.delete")
                            : (c.action == "model.deprecate" || c.action == "model.approve") && c.version != 0;
  if (!known) return damaged();
  return std::optional<PendingChange>(std::move(c));
}

// The ref `c` makes. `rolling_forward`: the change was interrupted, and
// what happened since is respected (see FinishInterruptedChange).
Status WriteChangeRef(Repo& repo, const std::string& model, const PendingChange& c, const AuditEntry& entry,
                      bool rolling_forward) {
  const std::string user = entry.user.empty() ? repo.Author() : entry.user;
  const int64_t time_ms = entry.time_ms ? entry.time_ms : NowMs();
  if (c.action == "model.alias" || c.action == "model.promote" || c.action == "model.alias.delete") {
    fs::path path = repo.layout().model_alias(model, c.alias);
    if (rolling_forward) {
      auto now = ReadAlias(repo, model, c.alias);
      if (!now.ok() && now.status().code() != Code::kCorruption) return now.status();
      if (now.ok()) {
        const std::optional<AliasState>& held = *now;
        if (held && held->audit_entry == entry.id) return Status::OK();  // it got there
        int64_t version = held ? held->version : 0;
        bool was_damaged = c.action == "model.alias.delete" && c.from == 0;
        if (version != c.from || was_damaged) return Status::OK();  // moved since: left as it is
      }
    }
    if (c.action == "model.alias.delete") {
      if (::unlink(path.c_str()) != 0 && !(rolling_forward && errno == ENOENT)) {
        return Status::FromErrno("cannot delete " + path.string(), errno);
      }
      return SyncDirectory(path.parent_path());
    }
    AliasState a;
    a.alias = c.alias;
    a.version = c.version;
    a.oid = c.oid;
    a.audit_entry = entry.id;
    a.user = user;
    a.time_ms = time_ms;
    CAIRN_RETURN_IF_ERROR(MakeDirs(path.parent_path()));
    // A short temp name: an alias may be 255 characters, the longest file name.
    CAIRN_ASSIGN_OR_RETURN(TempFile tmp, TempFile::Create(path.parent_path(), "alias"));
    CAIRN_RETURN_IF_ERROR(tmp.Write(EncodeAlias(a)));
    return tmp.Commit(path, /*sync=*/true);
  }
  if (c.action == "model.deprecate") {
    Deprecation d{user, time_ms, entry.reason, entry.id};
    fs::path path = repo.layout().model_deprecation(model, c.version);
    CAIRN_RETURN_IF_ERROR(MakeDirs(path.parent_path()));
    CAIRN_ASSIGN_OR_RETURN(TempFile tmp, TempFile::Create(path.parent_path(), "deprecation"));
    CAIRN_RETURN_IF_ERROR(tmp.Write(EncodeDeprecation(d)));
    Status s = tmp.CommitNoReplace(path, /*sync=*/true);
    if (rolling_forward && s.code() == Code::kAlreadyExists) return Status::OK();
    return s;
  }
  // model.approve: the file name is the entry id, so writing it again is harmless.
  Approval a{user, time_ms, OneLine(entry.reason), entry.id};
  fs::path path = repo.layout().model_approval(model, c.version, entry.id);
  CAIRN_RETURN_IF_ERROR(MakeDirs(path.parent_path()));
  return WriteFileAtomic(path, EncodeApproval(a), /*sync=*/true);
}

Status RemoveIntent(Repo& repo, const std::string& model) {
  fs::path path = IntentPath(repo, model);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Status::FromErrno("cannot remove " + path.string(), errno);
  return Status::OK();
}

}  // namespace

std::function<Status(const std::string& action)>& AfterAuditHookForTesting() {
  static std::function<Status(const std::string& action)> hook;
  return hook;
}

Status BeginChange(Repo& repo, const std::string& model, PendingChange* change) {
  change->nonce = Nonce();
  fs::path path = IntentPath(repo, model);
  CAIRN_RETURN_IF_ERROR(MakeDirs(path.parent_path()));
  return WriteFileAtomic(path, EncodeIntent(*change), /*sync=*/true);
}

Status FinishChange(Repo& repo, const std::string& model, const PendingChange& change, const AuditEntry& entry) {
  if (const auto& hook = AfterAuditHookForTesting()) CAIRN_RETURN_IF_ERROR(hook(change.action));
  CAIRN_RETURN_IF_ERROR(WriteChangeRef(repo, model, change, entry, /*rolling_forward=*/false));
  // Done: a leftover intent would only be found complete and removed.
  return RemoveIntent(repo, model);
}

Status FinishInterruptedChange(Repo& repo, const std::string& model) {
  CAIRN_ASSIGN_OR_RETURN(std::optional<PendingChange> pending, ReadIntent(repo, model));
  if (!pending) return Status::OK();
  // Did its audit entry make it? Only then did the change happen.
  CAIRN_ASSIGN_OR_RETURN(std::vector<AuditEntry> entries,
                         ReadAudit(repo, AuditQuery{0, "model:" + model, pending->action, 0}));
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    const Json& d = it->details;
    if (d.is_object() && d.contains("intent") && d["intent"].is_string() &&
        d["intent"].get<std::string>() == pending->nonce) {
      CAIRN_RETURN_IF_ERROR(WriteChangeRef(repo, model, *pending, *it, /*rolling_forward=*/true));
      break;
    }
  }
  CAIRN_RETURN_IF_ERROR(RemoveIntent(repo, model));
  return SyncDirectory(IntentPath(repo, model).parent_path());
}

}  // namespace cairn::registry_internal
