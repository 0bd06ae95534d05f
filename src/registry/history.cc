// ModelHistory: the moves of a model's aliases as the audit log recorded
// them (who, when, why, from which version to which, forced or not), and
// which version held an alias at a given time.
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
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

bool Digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

Status BadTime(std::string_view text) {
  return Status::InvalidArgument("cannot read the time '" + std::string(text) + "'",
                                 "give a date (2026-03-01), a date and time (2026-03-01T12:30:00Z, "
                                 "2026-03-01T12:30:00+02:00) or seconds since the epoch");
}

}  // namespace

Result<int64_t> ParseHistoryTime(std::string_view text) {
  if (Digits(text)) {
    int64_t seconds = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec != std::errc() || seconds > 253402300799) return BadTime(text);
    return seconds * 1000;
  }
  std::string s(text);
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, used = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%n", &year, &month, &day, &used) != 3 || used != 10) return BadTime(text);
  bool date_only = s.size() == 10;
  int64_t millis = 0;
  int64_t offset_s = 0;
  if (!date_only) {
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return BadTime(text);
    size_t at = 11;
    int n = 0;
    if (std::sscanf(s.c_str() + at, "%2d:%2d%n", &hour, &minute, &n) != 2 || n != 5) return BadTime(text);
    at += 5;
    if (at < s.size() && s[at] == ':') {
      if (std::sscanf(s.c_str() + at + 1, "%2d%n", &second, &n) != 1 || n != 2) return BadTime(text);
      at += 3;
      if (at < s.size() && s[at] == '.') {
        size_t start = ++at;
        int64_t scale = 100;
        while (at < s.size() && s[at] >= '0' && s[at] <= '9') {
          millis += (s[at] - '0') * scale;
          scale /= 10;
          ++at;
        }
        if (at == start) return BadTime(text);
      }
    }
    if (at < s.size()) {
      if (s[at] == 'Z' || s[at] == 'z') {
        ++at;
      } else if (s[at] == '+' || s[at] == '-') {
        int oh = 0, om = 0;
        if (std::sscanf(s.c_str() + at + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5 || oh > 23 || om > 59)
          return BadTime(text);
        offset_s = (s[at] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
        at += 6;
      }
    }
    if (at != s.size()) return BadTime(text);
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return BadTime(text);
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  time_t seconds = ::timegm(&tm);
  if (tm.tm_mday != day) return BadTime(text);  // 2026-02-30 normalised to March
  int64_t ms = (static_cast<int64_t>(seconds) - offset_s) * 1000 + millis;
  // A date alone means the whole day: the state at its end.
  if (date_only) ms += 86400 * 1000 - 1;
  return ms;
}

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
