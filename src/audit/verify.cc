// Verifying the audit log: re-hash every line, follow every `prev`, compare
// with HEAD, check signatures. Each kind of damage leaves its own trace:
//   edited     an entry's hash changed, so the entry after it (or HEAD) names
//              an id no line has, and the edited line is named by nobody;
//   deleted    the same missing id, but the log holds fewer entries than
//              HEAD records;
//   reordered  an entry names one that comes after it;
//   inserted   a line nobody names (not a head either), or a line past
//              HEAD's end that does not follow its heads;
//   truncated  the log is shorter than HEAD records and HEAD's heads are gone.
// A scan reads `prev` without a JSON parse (it comes first, in a fixed form);
// the rest of each body is only checked to be JSON.
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "audit/audit_internal.h"
#include "audit/audit_verify.h"
#include "cairn/audit.h"
#include "util/file.h"

namespace cairn {
namespace audit_internal {
namespace {

// Ids are SHA-256 hex: their first 16 characters are as good a hash as any.
struct IdHash {
  size_t operator()(std::string_view id) const {
    uint64_t a = 0, b = 0;
    if (id.size() >= 16) {
      std::memcpy(&a, id.data(), 8);
      std::memcpy(&b, id.data() + 8, 8);
    } else {
      return std::hash<std::string_view>()(id);
    }
    return static_cast<size_t>((a * 0x9e3779b97f4a7c15ull) ^ (b + (a >> 31)));
  }
};

struct LineInfo {
  std::string_view body, signature;
  std::string id;
  std::vector<std::string_view> prev;
  bool parsed = false;
  bool named = false;     // a later entry or HEAD names it
  bool followed = false;  // a later entry names it
  bool pending = false;   // past HEAD's end
  bool consumed = false;  // already explained by a problem
};

std::string Where(int64_t index, const std::string& id) {
  return "entry " + std::to_string(index) + " (line " + std::to_string(index + 1) + ", " + ShortId(id) + ")";
}

}  // namespace

void VerifyLines(std::string_view data, const Head* head, const KeyRing* keys, AuditVerifyReport* report) {
  auto problem = [&](const std::string& kind, int64_t index, const std::string& id, const std::string& message) {
    report->problems.push_back(AuditProblem{id, index, kind, message});
  };
  std::vector<LineInfo> lines;
  lines.reserve(data.size() / 256 + 1);
  size_t pos = 0;
  int64_t boundary = -1;  // index of the first line past HEAD's end, when a line ends there
  if (head && head->bytes == 0) boundary = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string_view::npos) {
      if (head && static_cast<int64_t>(pos) >= head->bytes) {
        report->notes.push_back("the log ends in an incomplete line of " + std::to_string(data.size() - pos) +
                                " bytes (an interrupted append; the next append removes it)");
      }
      break;
    }
    LineInfo& l = lines.emplace_back();
    LineParts parts = SplitLine(data.substr(pos, nl - pos));
    l.body = parts.body;
    l.signature = parts.signature;
    pos = nl + 1;
    if (head && static_cast<int64_t>(pos) == head->bytes) boundary = static_cast<int64_t>(lines.size());
  }
  // Hashing and checking each line is independent: on every core.
  tbb::parallel_for(tbb::blocked_range<size_t>(0, lines.size(), 1024), [&](const tbb::blocked_range<size_t>& r) {
    for (size_t i = r.begin(); i != r.end(); ++i) {
      LineInfo& l = lines[i];
      l.id = HexSha256(l.body);
      l.parsed = ScanPrev(l.body, &l.prev) && IsJson(l.body);
    }
  });
  const int64_t n = static_cast<int64_t>(lines.size());
  const int64_t covered = boundary >= 0 ? boundary : n;
  report->entries = n;
  std::unordered_map<std::string_view, int64_t, IdHash> index;
  index.reserve(lines.size());
  for (int64_t i = 0; i < n; ++i) {
    LineInfo& l = lines[i];
    l.pending = i >= covered;
    if (!l.parsed) {
      problem("unparsable", i, l.id, Where(i, l.id) + " is not an audit entry in the cairn-audit 1 format");
    }
    auto [it, fresh] = index.emplace(l.id, i);
    if (!fresh) {
      problem("inserted", i, l.id, Where(i, l.id) + " is a copy of entry " + std::to_string(it->second));
      l.consumed = true;
    }
  }
  // Every prev: present and earlier, or missing.
  struct Missing {
    int64_t by;
    std::string id;
  };
  std::vector<Missing> missing;
  std::unordered_map<std::string_view, bool> head_set;
  if (head) {
    for (const std::string& h : head->heads) head_set[h] = true;
  }
  for (int64_t j = 0; j < n; ++j) {
    LineInfo& l = lines[j];
    bool follows_heads = true;  // for a pending line: every prev a head or a known earlier entry
    for (std::string_view p : l.prev) {
      // An entry usually follows the line before it: no lookup then.
      int64_t at = -1;
      if (j > 0 && lines[j - 1].id == p) {
        at = j - 1;
      } else if (auto it = index.find(p); it != index.end()) {
        at = it->second;
      }
      if (at < 0) {
        missing.push_back({j, std::string(p)});
        follows_heads = false;
        continue;
      }
      if (at >= j) {
        problem("reordered", j, l.id,
                Where(j, l.id) + " names " + ShortId(p) + " (entry " + std::to_string(at) +
                    ") as its predecessor, but that entry comes after it");
        follows_heads = false;
      }
      lines[at].named = true;
      lines[at].followed = true;
    }
    if (l.pending && !follows_heads && !l.consumed) {
      problem("inserted", j, l.id,
              Where(j, l.id) + " lies past the end HEAD records and does not follow the log's entries");
      l.consumed = true;
    }
  }
  std::vector<std::string> missing_heads;
  if (head) {
    for (const std::string& h : head->heads) {
      auto it = index.find(h);
      if (it == index.end()) {
        missing_heads.push_back(h);
        continue;
      }
      // A head that a recorded (not pending) entry follows: HEAD is stale or edited.
      for (int64_t j = it->second + 1; lines[it->second].followed && j < covered; ++j) {
        if (std::find(lines[j].prev.begin(), lines[j].prev.end(), std::string_view(h)) != lines[j].prev.end()) {
          problem("head", -1, h, "HEAD names " + ShortId(h) + " (entry " + std::to_string(it->second) +
                                     ") as a head, but entry " + std::to_string(j) + " follows it");
          break;
        }
      }
      lines[it->second].named = true;
    }
  }
  for (LineInfo& l : lines) {
    if (l.pending) l.named = true;  // a pending line that follows the heads is the newest head
  }
  const int64_t recorded = head ? head->entries : covered;
  int64_t deleted = recorded - covered;  // entries HEAD records that are not there
  const int64_t size = static_cast<int64_t>(data.size());
  // The orphan (named by nobody) nearest before `j`, not yet explained.
  auto orphan_before = [&](int64_t j) -> int64_t {
    for (int64_t o = std::min(j, covered) - 1; o >= 0; --o) {
      if (!lines[o].named && !lines[o].consumed) return o;
    }
    return -1;
  };
  if (head && size < head->bytes && !missing_heads.empty()) {
    problem("truncated", covered, missing_heads[0],
            "the log was truncated: HEAD records " + std::to_string(head->entries) + " entries (" +
                std::to_string(head->bytes) + " bytes) ending with " + ShortId(missing_heads[0]) + ", but it holds " +
                std::to_string(n) + " entries (" + std::to_string(size) + " bytes)");
    missing_heads.clear();
    deleted = 0;
    if (int64_t o = orphan_before(n); o >= 0) lines[o].consumed = true;  // the new last entry
  }
  for (const Missing& m : missing) {
    if (lines[m.by].pending && lines[m.by].consumed) continue;  // reported as inserted
    int64_t o = orphan_before(m.by);
    const LineInfo& by = lines[m.by];
    if (deleted > 0 || o < 0) {
      problem("deleted", m.by, m.id,
              "an entry was deleted before " + Where(m.by, by.id) + ": it names " + ShortId(m.id) +
                  " as its predecessor, and no entry has that id");
      if (deleted > 0) --deleted;
      if (o >= 0) lines[o].consumed = true;  // the deleted entry's predecessor
      continue;
    }
    lines[o].consumed = true;
    if (!lines[o].parsed) continue;  // reported as unparsable
    problem("edited", o, lines[o].id,
            Where(o, lines[o].id) + " was edited: " + Where(m.by, by.id) + " names " + ShortId(m.id) +
                " as its predecessor");
  }
  for (const std::string& h : missing_heads) {
    int64_t o = orphan_before(covered);
    if (o < 0) {
      problem("head", -1, h, "HEAD names " + ShortId(h) + " as a head, but no entry has that id");
      continue;
    }
    lines[o].consumed = true;
    if (!lines[o].parsed) continue;
    problem("edited", o, lines[o].id, Where(o, lines[o].id) + " was edited: HEAD names " + ShortId(h) + " as a head");
  }
  for (int64_t o = 0; o < covered; ++o) {
    LineInfo& l = lines[o];
    if (!head || l.named || l.consumed || !l.parsed) continue;  // without HEAD, such an entry is a head
    problem("inserted", o, l.id,
            Where(o, l.id) + " was inserted: no later entry names it" + (head ? " and HEAD does not list it" : ""));
  }
  if (head && report->problems.empty()) {
    int64_t covered_bytes = boundary >= 0 ? head->bytes : static_cast<int64_t>(pos);
    if (covered != head->entries || covered_bytes != head->bytes) {
      problem("head", -1, "",
              "HEAD records " + std::to_string(head->entries) + " entries (" + std::to_string(head->bytes) +
                  " bytes), but the log holds " + std::to_string(covered) + " (" + std::to_string(covered_bytes) +
                  " bytes) up to there");
    }
  }
  if (covered < n) {
    report->notes.push_back(std::to_string(n - covered) +
                            " entries past HEAD's recorded end follow the log (an append interrupted before it "
                            "updated HEAD; the next append records them)");
  }
  for (int64_t i = 0; i < n; ++i) {
    const LineInfo& l = lines[i];
    if (l.signature.empty()) continue;
    ++report->signed_entries;
    Status s = keys ? keys->Check(l.id, l.signature) : Status::NotFound("no public keys were loaded");
    if (!s.ok()) problem("signature", i, l.id, Where(i, l.id) + ": " + s.message());
  }
  // Heads: entries no entry names.
  for (int64_t i = 0; i < n; ++i) {
    if (!lines[i].followed) report->heads.push_back(lines[i].id);
  }
  std::sort(report->heads.begin(), report->heads.end());
  std::stable_sort(report->problems.begin(), report->problems.end(), [](const AuditProblem& a, const AuditProblem& b) {
    return (a.index < 0 ? INT64_MAX : a.index) < (b.index < 0 ? INT64_MAX : b.index);
  });
}

}  // namespace audit_internal

using namespace audit_internal;

Result<AuditVerifyReport> VerifyAudit(Repo& repo) {
  const Layout& layout = repo.layout();
  AuditVerifyReport report;
  std::string data;
  auto log = ReadFile(AuditLogPath(layout));
  if (log.ok()) {
    data = std::move(log).value();
  } else if (log.status().code() != Code::kNotFound) {
    return log.status();
  }
  std::optional<Head> head;
  auto text = ReadFile(AuditHeadPath(layout));
  if (text.ok()) {
    auto decoded = DecodeHead(*text, AuditHeadPath(layout).string());
    if (decoded.ok()) {
      head = std::move(decoded).value();
    } else {
      report.problems.push_back(AuditProblem{"", -1, "head", decoded.status().message()});
    }
  } else if (text.status().code() != Code::kNotFound) {
    return text.status();
  } else if (!data.empty()) {
    report.problems.push_back(AuditProblem{"", -1, "head", "the log has entries but its HEAD (" +
                                                               AuditHeadPath(layout).string() + ") is missing"});
  }
  KeyRing keys;
  std::vector<std::string> skipped;
  CAIRN_RETURN_IF_ERROR(keys.Load(KeysDirPath(layout).string(), &skipped));
  for (const std::string& s : skipped) {
    report.notes.push_back(".cairn/keys/" + s + " is not an Ed25519 public key named by its key id; ignored");
  }
  VerifyLines(data, head ? &*head : nullptr, &keys, &report);
  return report;
}

}  // namespace cairn
