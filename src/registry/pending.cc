// Registrations interrupted between their audit entry and their version ref
// (kill -9, power loss). The audit entry says "registered M@N as object X":
// if the next registration took N again for another object, the log would
// tell an untrue story. So a registration records its intent in
// refs/models/<name>/pending before the audit append and removes it after
// the ref; the next one, under the lock, finds a leftover with one stat and
// completes it (or forgets it when no audit entry claims it).
#include <unistd.h>

#include <charconv>

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

}  // namespace cairn::registry_internal
