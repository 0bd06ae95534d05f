// The line format of an audit entry (cairn-audit 1): a canonical JSON body
// whose SHA-256 is the entry's id, then optionally a TAB and a signature.
// Fields come in a fixed order with `prev` first, so a verifier reads the
// chain with a scan instead of a JSON parse.

#include "audit/audit_internal.h"
#include "cairn/audit.h"
#include "util/sha256.h"

namespace cairn {
namespace audit_internal {
namespace {

// JSON text of a string; invalid UTF-8 is replaced (U+FFFD) rather than
// refused, so any user name or reason can be recorded.
std::string Quote(const std::string& s) {
  return DumpJson(Json(s));
}

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

LineParts SplitLine(std::string_view line) {
  size_t tab = line.find('\t');
  if (tab == std::string_view::npos) return {line, {}};
  return {line.substr(0, tab), line.substr(tab + 1)};
}

bool ScanPrev(std::string_view body, std::vector<std::string_view>* prev) {
  prev->clear();
  if (body.substr(0, kBodyStart.size()) != kBodyStart) return false;
  size_t pos = kBodyStart.size();
  if (pos < body.size() && body[pos] == ']') return true;
  for (;;) {
    // "<64 hex>" then ',' or ']'
    if (pos + kIdLen + 3 > body.size() || body[pos] != '"' || body[pos + kIdLen + 1] != '"') return false;
    std::string_view id = body.substr(pos + 1, kIdLen);
    if (!IsLowerHex(id)) return false;
    prev->push_back(id);
    char next = body[pos + kIdLen + 2];
    pos += kIdLen + 3;
    if (next == ']') return true;
    if (next != ',') return false;
  }
}

std::string HexSha256(std::string_view data) {
  // One hasher per thread: OpenSSL's one-shot SHA256() sets up a context per
  // call, which is most of the cost for entries of a few hundred bytes.
  thread_local Sha256 hasher;
  hasher.Update(data);
  const Oid digest = hasher.Finish();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * Oid::kSize, '0');
  for (size_t i = 0; i < Oid::kSize; ++i) {
    out[2 * i] = kHex[digest.bytes()[i] >> 4];
    out[2 * i + 1] = kHex[digest.bytes()[i] & 15];
  }
  return out;
}

std::string ShortId(std::string_view id) { return std::string(id.substr(0, 12)) + "\u2026"; }

std::string EncodeBody(const AuditEntry& e) {
  std::string out(kBodyStart);
  for (size_t i = 0; i < e.prev.size(); ++i) {
    if (i) out += ',';
    out += '"' + e.prev[i] + '"';
  }
  out += "],\"time_ms\":" + std::to_string(e.time_ms);
  out += ",\"user\":" + Quote(e.user);
  out += ",\"host\":" + Quote(e.host);
  out += ",\"action\":" + Quote(e.action);
  out += ",\"subjects\":[";
  for (size_t i = 0; i < e.subjects.size(); ++i) {
    if (i) out += ',';
    out += Quote(e.subjects[i]);
  }
  out += "],\"reason\":" + Quote(e.reason);
  const Json& details = e.details.is_object() ? e.details : Json::object();
  out += ",\"details\":" + DumpJson(details);
  out += '}';
  return out;
}

}  // namespace audit_internal

using namespace audit_internal;

std::string EncodeAuditEntry(const AuditEntry& entry) {
  std::string line = EncodeBody(entry);
  if (!entry.signature.empty()) line += '\t' + entry.signature;
  return line;
}

Result<AuditEntry> DecodeAuditEntry(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  LineParts parts = SplitLine(line);
  auto bad = [&](const std::string& why) {
    std::string shown(parts.body.substr(0, 60));
    return Status::Corruption("audit entry is not in the cairn-audit 1 format (" + why + "): " + shown +
                                  (parts.body.size() > 60 ? "\u2026" : ""),
                              "run 'cairn audit verify' to see which entries are damaged");
  };
  std::vector<std::string_view> prev;
  if (!ScanPrev(parts.body, &prev)) return bad("it does not start with its prev ids");
  Json j = Json::parse(parts.body.begin(), parts.body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  static constexpr const char* kKeys[] = {"prev", "time_ms", "user", "host", "action", "subjects", "reason", "details"};
  if (j.size() != std::size(kKeys)) return bad("it has " + std::to_string(j.size()) + " fields, not 8");
  size_t k = 0;
  for (auto it = j.begin(); it != j.end(); ++it, ++k) {
    if (it.key() != kKeys[k]) return bad("field " + std::to_string(k + 1) + " is '" + it.key() + "', not '" + kKeys[k] + "'");
  }
  AuditEntry e;
  for (std::string_view p : prev) e.prev.emplace_back(p);
  if (!j["time_ms"].is_number_integer()) return bad("time_ms is not an integer");
  e.time_ms = j["time_ms"].get<int64_t>();
  for (const char* key : {"user", "host", "action", "reason"}) {
    if (!j[key].is_string()) return bad(std::string(key) + " is not a string");
  }
  e.user = j["user"].get<std::string>();
  e.host = j["host"].get<std::string>();
  e.action = j["action"].get<std::string>();
  e.reason = j["reason"].get<std::string>();
  if (!j["subjects"].is_array()) return bad("subjects is not an array");
  for (const Json& s : j["subjects"]) {
    if (!s.is_string()) return bad("a subject is not a string");
    e.subjects.push_back(s.get<std::string>());
  }
  if (!j["details"].is_object()) return bad("details is not an object");
  e.details = j["details"];
  // Only the canonical form has one id: a body that re-encodes differently
  // (spaces, escapes) was not written by cairn.
  if (EncodeBody(e) != parts.body) return bad("not in canonical form");
  e.id = HexSha256(parts.body);
  e.signature = std::string(parts.signature);
  return e;
}

Json AuditEntryJson(const AuditEntry& e) {
  Json j = Json::object();
  j["id"] = e.id;
  j["prev"] = e.prev;
  j["time_ms"] = e.time_ms;
  j["user"] = e.user;
  j["host"] = e.host;
  j["action"] = e.action;
  j["subjects"] = e.subjects;
  j["reason"] = e.reason;
  j["details"] = e.details.is_object() ? e.details : Json::object();
  j["signature"] = e.signature.empty() ? Json(nullptr) : Json(e.signature);
  return j;
}

Json AuditVerifyJson(const AuditVerifyReport& r) {
  Json j = Json::object();
  j["ok"] = r.ok();
  j["entries"] = r.entries;
  j["signed_entries"] = r.signed_entries;
  j["heads"] = r.heads;
  Json problems = Json::array();
  for (const AuditProblem& p : r.problems) {
    Json q = Json::object();
    q["kind"] = p.kind;
    q["index"] = p.index < 0 ? Json(nullptr) : Json(p.index);
    q["entry"] = p.entry;
    q["message"] = p.message;
    problems.push_back(std::move(q));
  }
  j["problems"] = std::move(problems);
  j["notes"] = r.notes;
  return j;
}

}  // namespace cairn
