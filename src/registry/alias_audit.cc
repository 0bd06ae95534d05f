// Whether an alias ref agrees with the audit entry it names: the check a
// pull makes before it takes a remote's alias (registry_internal.h).
#include <algorithm>

#include "cairn/audit.h"
#include "registry/registry_internal.h"

namespace cairn::registry_internal {

Status CheckRefAudit(const std::string& what, const std::string& entry_id, const AuditEntry* entry,
                     const std::string& action, const std::string& subject, const std::string& user, int64_t time_ms) {
  if (!entry) {
    return Status::Corruption(what + " names audit entry " + entry_id.substr(0, 12) + ", which is not in the audit log",
                              "a registry change without an entry saying who made it is not taken; run "
                              "'cairn audit verify --remote NAME' to see what the remote holds");
  }
  std::string why;
  if (entry->action != action) {
    why = "it is a '" + entry->action + "' entry, not '" + action + "'";
  } else if (std::find(entry->subjects.begin(), entry->subjects.end(), subject) == entry->subjects.end()) {
    why = "it is not about " + subject.substr(6);
  } else if (entry->user != user || entry->time_ms != time_ms) {
    why = "it names another user or time";
  } else {
    return Status::OK();
  }
  return Status::Corruption(what + " does not match the audit entry it names (" + entry_id.substr(0, 12) + "): " + why,
                            "the ref was altered after the change; run 'cairn audit verify --remote NAME' and "
                            "restore the remote's refs/models from a clone you trust");
}

Status CheckAliasAudit(const std::string& model, const AliasState& a, const AuditEntry* entry) {
  std::string which = model + "@" + a.alias + " (version " + std::to_string(a.version) + ")";
  if (!entry) {
    return Status::Corruption("alias " + which + " names audit entry " + a.audit_entry.substr(0, 12) +
                                  ", which is not in the audit log",
                              "an alias moved without an entry saying who moved it is not taken; run "
                              "'cairn audit verify --remote NAME' to see what the remote holds");
  }
  std::string why;
  if (entry->action != "model.alias" && entry->action != "model.promote") {
    why = "it is a '" + entry->action + "' entry";
  } else if (!entry->details.is_object() || entry->details.value("alias", Json()) != Json(a.alias)) {
    why = "it moved another alias";
  } else if (entry->details.value("to", Json()) != Json(a.version)) {
    why = "it moved the alias to another version";
  } else if (std::find(entry->subjects.begin(), entry->subjects.end(), "model:" + model) == entry->subjects.end() ||
             std::find(entry->subjects.begin(), entry->subjects.end(), a.oid.ToString()) == entry->subjects.end()) {
    why = "it is about another model or version object";
  } else if (entry->user != a.user || entry->time_ms != a.time_ms) {
    why = "it names another user or time";
  } else {
    return Status::OK();
  }
  return Status::Corruption("alias " + which + " does not match the audit entry it names (" +
                                a.audit_entry.substr(0, 12) + "): " + why,
                            "the alias ref was altered after the move; run 'cairn audit verify --remote NAME' "
                            "and restore the remote's refs/models from a clone you trust");
}

}  // namespace cairn::registry_internal
