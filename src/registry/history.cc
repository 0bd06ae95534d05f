// ModelHistory: the moves of a model's aliases as the audit log recorded
// them (who, when, why, from which version to which, forced or not), and
// which version held an alias at a given time.
#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "cairn/audit.h"
#include "cairn/gate.h"
#include "cairn/registry.h"

namespace cairn {
namespace {

// A version number in `value` (a number, "3", "v3", "model:NAME@3"), or 0.
int64_t VersionOf(const Json& value) {
  if (value.is_number_integer()) return value.get<int64_t>();
  if (value.is_object()) {
    for (const char* key : {"version", "number"}) {
      if (value.contains(key)) return VersionOf(value[key]);
    }
    return 0;
  }
  if (!value.is_string()) return 0;
  std::string text = value.get<std::string>();
  size_t at = text.rfind('@');
  if (at != std::string::npos) text = text.substr(at + 1);
  if (!text.empty() && text[0] == 'v') text = text.substr(1);
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  return ec == std::errc() && end == text.data() + text.size() ? n : 0;
}

int64_t FirstVersion(const Json& details, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    if (details.contains(key)) {
      if (int64_t v = VersionOf(details[key])) return v;
    }
  }
  return 0;
}

bool IsAliasMove(const std::string& action) {
  return action == "model.alias" || action == "model.promote" || action == "model.alias.delete";
}

// The event an alias entry records. Its details name the alias and the
// versions it moved from and to; the subject model:NAME@N stands in for
// the version when the details do not give it.
AliasEvent EventOf(const AuditEntry& entry, const std::string& model) {
  AliasEvent event;
  const Json& d = entry.details;
  event.action = entry.action;
  event.alias = d.contains("alias") && d["alias"].is_string() ? d["alias"].get<std::string>() : std::string();
  if (entry.action != "model.alias.delete") {
    event.version = FirstVersion(d, {"to", "version"});
    if (event.version == 0) {
      std::string prefix = "model:" + model + "@";
      for (const std::string& subject : entry.subjects) {
        if (subject.rfind(prefix, 0) == 0) event.version = VersionOf(Json(subject));
      }
    }
  }
  event.previous = FirstVersion(d, {"from", "previous"});
  event.user = entry.user;
  event.host = entry.host;
  event.reason = entry.reason;
  event.time_ms = entry.time_ms;
  event.forced = d.contains("forced") && d["forced"].is_boolean() && d["forced"].get<bool>();
  event.audit_entry = entry.id;
  return event;
}

}  // namespace

Result<int64_t> ParseHistoryTime(std::string_view text) { return ParseTimeArgument(text, DayBound::kEnd); }

Result<std::vector<AliasEvent>> ModelHistory(Repo& repo, const std::string& model, const HistoryQuery& query) {
  CAIRN_RETURN_IF_ERROR(ValidateModelName(model));
  if (!query.alias.empty()) CAIRN_RETURN_IF_ERROR(ValidateAliasName(query.alias));
  // NotFound (listing the models there are) for a model never registered.
  ModelRef latest;
  latest.model = model;
  latest.alias = "latest";
  CAIRN_RETURN_IF_ERROR(ResolveModel(repo, latest).status());
  AuditQuery audit;
  audit.subject = "model:" + model;
  audit.action = "model.";
  CAIRN_ASSIGN_OR_RETURN(std::vector<AuditEntry> entries, ReadAudit(repo, audit));
  std::vector<AliasEvent> events;
  for (const AuditEntry& entry : entries) {
    if (!IsAliasMove(entry.action)) continue;
    AliasEvent event = EventOf(entry, model);
    if (event.alias.empty()) continue;
    if (!query.alias.empty() && event.alias != query.alias) continue;
    events.push_back(std::move(event));
  }
  // Time order: two clones' entries interleave in the merged log by when
  // they were merged, not when they happened.
  std::stable_sort(events.begin(), events.end(),
                   [](const AliasEvent& a, const AliasEvent& b) { return a.time_ms < b.time_ms; });
  if (!query.at_ms) return events;
  // Per alias, the last move at or before then.
  std::map<std::string, AliasEvent> in_effect;
  for (AliasEvent& event : events) {
    if (event.time_ms <= *query.at_ms) in_effect[event.alias] = std::move(event);
  }
  std::vector<AliasEvent> out;
  for (auto& [alias, event] : in_effect) {
    if (event.version != 0) out.push_back(std::move(event));
  }
  return out;
}

Json AliasEventJson(const AliasEvent& event) {
  Json out = Json::object();
  out["alias"] = event.alias;
  out["version"] = event.version == 0 ? Json(nullptr) : Json(event.version);
  out["previous"] = event.previous == 0 ? Json(nullptr) : Json(event.previous);
  out["action"] = event.action;
  out["user"] = event.user;
  out["host"] = event.host;
  out["reason"] = event.reason;
  out["time_ms"] = event.time_ms;
  out["forced"] = event.forced;
  out["audit_entry"] = event.audit_entry;
  return out;
}

}  // namespace cairn
