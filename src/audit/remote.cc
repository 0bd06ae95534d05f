// The audit log on remotes: segments audit/<id of its last entry>.log, each
// holding the lines one push added (object stores cannot append). Fetch
// merges segments it has not seen; push merges first, then uploads what the
// remote lacks as one segment; verify --remote checks the chain they hold.
#include <algorithm>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "audit/audit_internal.h"
#include "audit/audit_verify.h"
#include "cairn/audit.h"
#include "util/file.h"

namespace cairn {
namespace audit_internal {
namespace {

constexpr std::string_view kSegmentPrefix = "audit/";
constexpr std::string_view kSegmentSuffix = ".log";
const char kRemoteHint[] = "run 'cairn audit verify --remote NAME' to see what is damaged";

// The segment name (64 hex) of a key, or "" when the key is not a segment.
std::string SegmentName(std::string_view key) {
  if (!key.starts_with(kSegmentPrefix) || !key.ends_with(kSegmentSuffix)) return "";
  std::string_view name = key.substr(kSegmentPrefix.size(), key.size() - kSegmentPrefix.size() - kSegmentSuffix.size());
  std::vector<std::string_view> check;
  std::string probe = std::string(kBodyStart) + "\"" + std::string(name) + "\"]";
  if (name.size() != kIdLen || !ScanPrev(probe, &check)) return "";
  return std::string(name);
}

std::string SegmentKey(const std::string& name) {
  return std::string(kSegmentPrefix) + name + std::string(kSegmentSuffix);
}

// Complete lines of `data` (without newlines).
std::vector<std::string_view> SplitLines(std::string_view data) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string_view::npos) nl = data.size();
    out.push_back(data.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

// Decodes a whole segment; Corruption naming it when a line does not parse
// or its last entry's id is not its name.
Status DecodeSegment(const std::string& name, std::string_view data, std::vector<AuditEntry>* out) {
  std::vector<std::string_view> lines = SplitLines(data);
  if (lines.empty() || data.back() != '\n') {
    return Status::Corruption("remote audit segment " + SegmentKey(name) + " is empty or incomplete", kRemoteHint);
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    auto e = DecodeAuditEntry(lines[i]);
    if (!e.ok()) {
      return Status::Corruption("remote audit segment " + SegmentKey(name) + ", line " + std::to_string(i + 1) + ": " +
                                    e.status().message(),
                                kRemoteHint);
    }
    out->push_back(std::move(e).value());
  }
  if (out->back().id != name) {
    return Status::Corruption("remote audit segment " + SegmentKey(name) + " was altered: its last entry is " +
                                  ShortId(out->back().id) + ", not the entry it is named after",
                              kRemoteHint);
  }
  return Status::OK();
}

// Brings the local log up to date with the remote's segments (merging the
// new ones and caching them) and returns the ids of every remote entry.
Status SyncSegments(Repo& repo, Backend& backend, const std::string& cache_dir,
                    std::unordered_set<std::string>* remote_ids, int64_t* merged) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<RemoteObject> listed, backend.List(std::string(kSegmentPrefix)));
  fs::path cache = cache_dir.empty() ? fs::path() : fs::path(cache_dir) / "audit";
  std::vector<AuditEntry> fresh;
  std::vector<std::pair<std::string, std::string>> to_cache;  // name, data
  for (const RemoteObject& o : listed) {
    std::string name = SegmentName(o.key);
    if (name.empty()) continue;  // a temp file or something not ours
    if (!cache.empty()) {
      // Seen before: checked and merged then, so its ids are all it is needed for.
      auto data = ReadFile(cache / (name + ".log"));
      std::vector<std::string_view> lines;
      if (data.ok()) lines = SplitLines(*data);
      if (!lines.empty() && HexSha256(SplitLine(lines.back()).body) == name) {
        for (std::string_view l : lines) remote_ids->insert(HexSha256(SplitLine(l).body));
        continue;
      }
    }
    std::vector<AuditEntry> entries;
    CAIRN_ASSIGN_OR_RETURN(std::string data, backend.Get(o.key));
    CAIRN_RETURN_IF_ERROR(DecodeSegment(name, data, &entries));
    to_cache.emplace_back(name, std::move(data));
    for (const AuditEntry& e : entries) remote_ids->insert(e.id);
    fresh.insert(fresh.end(), std::make_move_iterator(entries.begin()), std::make_move_iterator(entries.end()));
  }
  if (!fresh.empty()) {
    auto added = MergeAudit(repo, fresh);
    if (!added.ok() && added.status().code() == Code::kCorruption && !cache.empty()) {
      // Entries of segments seen before that this log no longer has (it was
      // reset): merge everything the remote holds.
      std::vector<AuditEntry> all;
      for (const RemoteObject& o : listed) {
        std::string name = SegmentName(o.key);
        if (name.empty()) continue;
        CAIRN_ASSIGN_OR_RETURN(std::string data, backend.Get(o.key));
        CAIRN_RETURN_IF_ERROR(DecodeSegment(name, data, &all));
      }
      added = MergeAudit(repo, all);
    }
    if (!added.ok()) return added.status();
    if (merged) *merged += *added;
  }
  if (!cache.empty() && !to_cache.empty()) {
    CAIRN_RETURN_IF_ERROR(MakeDirs(cache));
    for (const auto& [name, data] : to_cache) {
      CAIRN_RETURN_IF_ERROR(WriteFileAtomic(cache / (name + ".log"), data, /*sync=*/false));
    }
  }
  return Status::OK();
}

}  // namespace
}  // namespace audit_internal

using namespace audit_internal;

Result<int64_t> FetchAudit(Repo& repo, Backend& backend, const std::string& cache_dir) {
  std::unordered_set<std::string> remote_ids;
  int64_t merged = 0;
  CAIRN_RETURN_IF_ERROR(SyncSegments(repo, backend, cache_dir, &remote_ids, &merged));
  return merged;
}

Result<int64_t> PushAudit(Repo& repo, Backend& backend, const std::string& cache_dir, int64_t* merged) {
  std::unordered_set<std::string> remote_ids;
  int64_t added = 0;
  CAIRN_RETURN_IF_ERROR(SyncSegments(repo, backend, cache_dir, &remote_ids, &added));
  if (merged) *merged = added;
  // The log's lines as stored (log order: every entry after its prev); a
  // torn last line is not an entry.
  auto text = ReadFile(AuditLogPath(repo.layout()));
  if (!text.ok() && text.status().code() != Code::kNotFound) return text.status();
  std::string_view log = text.ok() ? std::string_view(*text) : std::string_view();
  if (!log.empty() && log.back() != '\n') log = log.substr(0, log.rfind('\n') + 1);
  std::string segment;
  std::string last;
  int64_t count = 0;
  std::unordered_set<std::string> known;  // entries before the one at hand
  std::vector<std::string_view> prev;
  for (std::string_view line : SplitLines(log)) {
    std::string id = HexSha256(SplitLine(line).body);
    known.insert(id);
    if (remote_ids.count(id)) continue;
    // Never spread damage: what goes up must parse and follow what precedes it.
    bool chained = ScanPrev(SplitLine(line).body, &prev) && DecodeAuditEntry(line).ok();
    for (std::string_view p : prev) chained = chained && known.count(std::string(p)) && std::string(p) != id;
    if (!chained) {
      return Status::Corruption("the local audit log is damaged at entry " + ShortId(id) + "; it was not pushed",
                                "run 'cairn audit verify' to see what is damaged");
    }
    segment.append(line);
    segment += '\n';
    last = std::move(id);
    ++count;
  }
  if (count == 0) return int64_t{0};
  CAIRN_RETURN_IF_ERROR(backend.Put(SegmentKey(last), segment));
  if (!cache_dir.empty()) {
    fs::path cache = fs::path(cache_dir) / "audit";
    CAIRN_RETURN_IF_ERROR(MakeDirs(cache));
    CAIRN_RETURN_IF_ERROR(WriteFileAtomic(cache / (last + ".log"), segment, /*sync=*/false));
  }
  return count;
}

Result<AuditRemoteReport> VerifyRemoteAudit(Repo& repo, const RemoteSpec& spec) {
  AuditRemoteReport out;
  out.remote = spec.name;
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, OpenBackend(spec));
  CAIRN_RETURN_IF_ERROR(backend->Check());
  CAIRN_ASSIGN_OR_RETURN(std::vector<RemoteObject> listed, backend->List(std::string(kSegmentPrefix)));
  struct Segment {
    std::string name;
    std::string data;
    std::vector<std::string_view> lines;
    std::vector<std::string> ids;
  };
  std::vector<Segment> segments;
  for (const RemoteObject& o : listed) {
    std::string name = SegmentName(o.key);
    if (name.empty()) continue;
    Segment& s = segments.emplace_back();
    s.name = name;
    CAIRN_ASSIGN_OR_RETURN(s.data, backend->Get(o.key));
  }
  AuditVerifyReport& report = out.report;
  std::unordered_map<std::string, size_t> defined_in;  // entry id → segment
  for (size_t i = 0; i < segments.size(); ++i) {
    Segment& s = segments[i];
    s.lines = SplitLines(s.data);
    for (std::string_view l : s.lines) {
      s.ids.push_back(HexSha256(SplitLine(l).body));
      defined_in.emplace(s.ids.back(), i);
    }
    if (s.ids.empty() || s.ids.back() != s.name) {
      report.problems.push_back(AuditProblem{
          s.name, -1, "edited",
          "segment " + SegmentKey(s.name) + " was altered: its last entry " +
              (s.ids.empty() ? std::string("is missing") : "hashes to " + ShortId(s.ids.back())) +
              ", not to the id it is named after"});
    }
  }
  // Segments in an order where each follows those holding its entries' prev.
  std::vector<std::set<size_t>> deps(segments.size());
  std::vector<std::string_view> prev;
  for (size_t i = 0; i < segments.size(); ++i) {
    for (std::string_view l : segments[i].lines) {
      if (!ScanPrev(SplitLine(l).body, &prev)) continue;
      for (std::string_view p : prev) {
        auto it = defined_in.find(std::string(p));
        if (it != defined_in.end() && it->second != i) deps[i].insert(it->second);
      }
    }
  }
  std::vector<size_t> order;
  std::vector<bool> placed(segments.size(), false);
  while (order.size() < segments.size()) {
    bool progressed = false;
    for (size_t i = 0; i < segments.size(); ++i) {  // listed (name) order among the ready ones
      if (placed[i]) continue;
      if (!std::all_of(deps[i].begin(), deps[i].end(), [&](size_t d) { return placed[d]; })) continue;
      placed[i] = true;
      order.push_back(i);
      progressed = true;
    }
    if (!progressed) {  // a cycle: only damage makes one; verify shows it as reordering
      for (size_t i = 0; i < segments.size(); ++i) {
        if (!placed[i]) placed[i] = true, order.push_back(i);
      }
    }
  }
  std::string all;
  std::vector<size_t> segment_of;  // per line of `all`
  std::unordered_set<std::string> emitted;
  for (size_t i : order) {
    const Segment& s = segments[i];
    for (size_t k = 0; k < s.lines.size(); ++k) {
      if (!emitted.insert(s.ids[k]).second) continue;  // pushed twice (two clones at once): the same entry
      all.append(s.lines[k]);
      all += '\n';
      segment_of.push_back(i);
    }
  }
  KeyRing keys;
  std::vector<std::string> skipped;
  CAIRN_RETURN_IF_ERROR(keys.Load(KeysDirPath(repo.layout()).string(), &skipped));
  size_t before = report.problems.size();
  VerifyLines(all, nullptr, &keys, &report);
  for (size_t i = before; i < report.problems.size(); ++i) {
    AuditProblem& p = report.problems[i];
    if (p.index >= 0 && static_cast<size_t>(p.index) < segment_of.size()) {
      p.message += " (in " + SegmentKey(segments[segment_of[p.index]].name) + ")";
    }
  }
  out.segments = static_cast<int64_t>(segments.size());
  // What this clone lacks.
  std::unordered_set<std::string> local;
  auto text = ReadFile(AuditLogPath(repo.layout()));
  if (text.ok()) {
    for (std::string_view l : SplitLines(*text)) local.insert(HexSha256(SplitLine(l).body));
  }
  for (const std::string& id : emitted) out.missing_locally += local.count(id) ? 0 : 1;
  return out;
}

Json AuditRemoteVerifyJson(const AuditRemoteReport& r) {
  Json j = AuditVerifyJson(r.report);
  j["remote"] = r.remote;
  j["segments"] = r.segments;
  j["missing_locally"] = r.missing_locally;
  return j;
}

}  // namespace cairn
