// Appending to, reading and merging into the audit log (.cairn/audit/).
//
// The log is one append-only file of lines; HEAD records its heads, entry
// count and byte length. Writers serialise on .cairn/audit/lock, and every
// write first recovers the tail: an incomplete last line is a torn append
// (removed); complete lines past HEAD's length that follow HEAD's heads are
// an append whose HEAD update was interrupted (rolled forward). Anything else
// is damage for 'cairn audit verify' to name.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <cstdlib>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "audit/audit_internal.h"
#include "audit/audit_log.h"
#include "cairn/audit.h"
#include "util/file.h"

namespace cairn {
namespace audit_internal {
namespace {

constexpr std::string_view kHeadMagic = "cairn-audit 1\n";
const char kVerifyHint[] = "run 'cairn audit verify' to see what is damaged";

std::string Hostname() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string EncodeHead(const Head& head) {
  std::string out(kHeadMagic);
  out += "entries " + std::to_string(head.entries) + "\n";
  out += "bytes " + std::to_string(head.bytes) + "\n";
  for (const std::string& h : head.heads) out += "head " + h + "\n";
  return out;
}

Result<Head> DecodeHead(std::string_view text, const std::string& path) {
  auto bad = [&](const std::string& why) {
    return Status::Corruption("audit HEAD " + path + " is damaged: " + why, kVerifyHint);
  };
  if (text.substr(0, kHeadMagic.size()) != kHeadMagic) return bad("it does not start with 'cairn-audit 1'");
  text.remove_prefix(kHeadMagic.size());
  Head head;
  bool have_entries = false, have_bytes = false;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return bad("its last line is incomplete");
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    auto number = [&](std::string_view v, int64_t* out) {
      if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string_view::npos) return false;
      *out = std::atoll(std::string(v).c_str());
      return true;
    };
    if (line.substr(0, 8) == "entries ") {
      if (!number(line.substr(8), &head.entries)) return bad("bad entry count");
      have_entries = true;
    } else if (line.substr(0, 6) == "bytes ") {
      if (!number(line.substr(6), &head.bytes)) return bad("bad byte count");
      have_bytes = true;
    } else if (line.substr(0, 5) == "head ") {
      std::string id(line.substr(5));
      std::vector<std::string_view> check;
      if (id.size() != kIdLen || !ScanPrev("{\"prev\":[\"" + id + "\"]", &check)) return bad("bad head id " + id);
      head.heads.push_back(id);
    } else {
      return bad("unknown line '" + std::string(line.substr(0, 40)) + "'");
    }
  }
  if (!have_entries || !have_bytes) return bad("entries or bytes missing");
  std::sort(head.heads.begin(), head.heads.end());
  return head;
}

// ---- LogWriter ----

Result<LogWriter> LogWriter::Open(const Layout& layout) {
  LogWriter w;
  w.layout_ = layout;
  CAIRN_RETURN_IF_ERROR(MakeDirs(AuditDirPath(layout)));
  std::string lock_path = AuditLockPath(layout).string();
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return Status::FromErrno("cannot open " + lock_path, errno);
  w.lock_ = Fd(fd);
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) return Status::FromErrno("cannot lock " + lock_path, errno);
  }
  std::string log_path = AuditLogPath(layout).string();
  int lfd = ::open(log_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_APPEND, 0644);
  if (lfd < 0) return Status::FromErrno("cannot open " + log_path, errno);
  w.log_ = Fd(lfd);
  CAIRN_RETURN_IF_ERROR(w.Recover());
  return w;
}

Status LogWriter::Recover() {
  const std::string log_path = AuditLogPath(layout_).string();
  const std::string head_path = AuditHeadPath(layout_).string();
  struct stat st;
  if (::fstat(log_.get(), &st) != 0) return Status::FromErrno("cannot stat " + log_path, errno);
  const int64_t size = st.st_size;
  auto text = ReadFile(AuditHeadPath(layout_));
  if (!text.ok()) {
    if (text.status().code() != Code::kNotFound) return text.status();
    // No HEAD: only a log that was never written to may lack it (the first
    // append writes HEAD before its line).
    if (size != 0) {
      return Status::Corruption("the audit log has entries but its HEAD (" + head_path + ") is missing", kVerifyHint);
    }
    head_ = Head{};
    return WriteHead();
  }
  CAIRN_ASSIGN_OR_RETURN(head_, DecodeHead(*text, head_path));
  if (size < head_.bytes) {
    return Status::Corruption("the audit log " + log_path + " holds " + std::to_string(size) + " bytes but HEAD records " +
                                  std::to_string(head_.bytes) + ": entries were removed",
                              kVerifyHint);
  }
  if (head_.bytes > 0) {
    char last = 0;
    CAIRN_RETURN_IF_ERROR(PreadAll(log_.get(), &last, 1, head_.bytes - 1, log_path));
    if (last != '\n') {
      return Status::Corruption("the audit log " + log_path + " does not end a line where HEAD says it ends", kVerifyHint);
    }
  }
  if (size == head_.bytes) return Status::OK();
  std::string tail(static_cast<size_t>(size - head_.bytes), '\0');
  CAIRN_RETURN_IF_ERROR(PreadAll(log_.get(), tail.data(), tail.size(), head_.bytes, log_path));
  std::set<std::string> heads(head_.heads.begin(), head_.heads.end());
  std::unordered_set<std::string> tail_ids;
  std::optional<std::unordered_set<std::string>> known;  // ids before HEAD's end, read only when needed
  size_t pos = 0;
  bool rolled = false;
  std::vector<std::string_view> prev;
  for (;;) {
    size_t nl = tail.find('\n', pos);
    if (nl == std::string::npos) break;
    std::string_view line(tail.data() + pos, nl - pos);
    LineParts parts = SplitLine(line);
    bool chains = ScanPrev(parts.body, &prev) && DecodeAuditEntry(line).ok();
    // Usually an append names the heads; a merge may bring entries that
    // follow older entries (or none), so those are looked up.
    for (std::string_view sv : prev) {
      std::string p(sv);
      if (!chains || heads.count(p) || tail_ids.count(p)) continue;
      if (!known) {
        auto ids = AllIds();
        if (!ids.ok()) return ids.status();
        known = std::move(ids).value();
      }
      chains = known->count(p) > 0;
    }
    if (!chains) {
      return Status::Corruption("the audit log " + log_path + " has an entry after its recorded end (byte " +
                                    std::to_string(head_.bytes + static_cast<int64_t>(pos)) +
                                    ") that does not follow its heads",
                                kVerifyHint);
    }
    for (std::string_view p : prev) heads.erase(std::string(p));
    std::string id = HexSha256(parts.body);
    heads.insert(id);
    tail_ids.insert(id);
    head_.entries += 1;
    pos = nl + 1;
    rolled = true;
  }
  head_.bytes += static_cast<int64_t>(pos);
  head_.heads.assign(heads.begin(), heads.end());
  if (head_.bytes < size) {
    // A torn append: its line never got its newline, so no entry is lost.
    if (::ftruncate(log_.get(), head_.bytes) != 0) return Status::FromErrno("cannot truncate " + log_path, errno);
    if (::fsync(log_.get()) != 0) return Status::FromErrno("cannot sync " + log_path, errno);
  }
  if (rolled) return WriteHead();
  return Status::OK();
}

Status LogWriter::WriteHead() {
  return WriteFileAtomic(AuditHeadPath(layout_), EncodeHead(head_), /*sync=*/true);
}

Status LogWriter::AppendLines(const std::vector<std::string>& lines, const std::vector<std::string>& ids,
                              const std::vector<std::vector<std::string>>& prevs) {
  if (lines.empty()) return Status::OK();
  std::string data;
  for (const std::string& l : lines) data += l + '\n';
  const std::string log_path = AuditLogPath(layout_).string();
  // One write: a crash leaves a prefix of it, which Recover() cuts back to
  // whole lines (and rolls forward when whole).
  ssize_t n = ::write(log_.get(), data.data(), data.size());
  if (n != static_cast<ssize_t>(data.size())) {
    int err = n < 0 ? errno : ENOSPC;
    (void)::ftruncate(log_.get(), head_.bytes);
    return Status::FromErrno("cannot append to " + log_path, err);
  }
  if (::fdatasync(log_.get()) != 0) return Status::FromErrno("cannot sync " + log_path, errno);
  std::set<std::string> heads(head_.heads.begin(), head_.heads.end());
  for (size_t i = 0; i < ids.size(); ++i) {
    for (const std::string& p : prevs[i]) heads.erase(p);
    heads.insert(ids[i]);
  }
  head_.heads.assign(heads.begin(), heads.end());
  head_.entries += static_cast<int64_t>(lines.size());
  head_.bytes += static_cast<int64_t>(data.size());
  return WriteHead();
}

Result<std::unordered_set<std::string>> LogWriter::AllIds() {
  const std::string log_path = AuditLogPath(layout_).string();
  std::string data(static_cast<size_t>(head_.bytes), '\0');
  if (!data.empty()) CAIRN_RETURN_IF_ERROR(PreadAll(log_.get(), data.data(), data.size(), 0, log_path));
  std::unordered_set<std::string> ids;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string::npos) nl = data.size();
    ids.insert(HexSha256(SplitLine(std::string_view(data).substr(pos, nl - pos)).body));
    pos = nl + 1;
  }
  return ids;
}

}  // namespace audit_internal

using namespace audit_internal;

Result<AuditEntry> AppendAudit(Repo& repo, const AuditEvent& event) {
  if (event.action.empty()) return Status::InvalidArgument("an audit entry needs an action");
  if (!event.details.is_object()) return Status::InvalidArgument("audit details must be a JSON object");
  CAIRN_ASSIGN_OR_RETURN(LogWriter w, LogWriter::Open(repo.layout()));
  AuditEntry e;
  e.prev = w.head().heads;
  e.time_ms = NowMs();
  e.user = repo.Author();
  e.host = Hostname();
  e.action = event.action;
  e.subjects = event.subjects;
  e.reason = event.reason;
  e.details = event.details;
  std::string body = EncodeBody(e);
  e.id = HexSha256(body);
  CAIRN_ASSIGN_OR_RETURN(e.signature, SignId(repo.layout(), e.id));
  CAIRN_RETURN_IF_ERROR(w.AppendLines({EncodeAuditEntry(e)}, {e.id}, {e.prev}));
  return e;
}

namespace {

bool MatchesSubject(const AuditEntry& e, const std::string& subject) {
  for (const std::string& s : e.subjects) {
    if (s == subject) return true;
    // "model:NAME" matches "model:NAME@3"; "dataset:D" matches "dataset:D@v1".
    if (s.size() > subject.size() && s.compare(0, subject.size(), subject) == 0 && s[subject.size()] == '@') return true;
  }
  return false;
}

bool MatchesAction(const AuditEntry& e, const std::string& action) {
  if (action.back() == '.') return e.action.compare(0, action.size(), action) == 0;
  return e.action == action;
}

}  // namespace

Result<std::vector<AuditEntry>> ReadAudit(Repo& repo, const AuditQuery& query) {
  const fs::path path = AuditLogPath(repo.layout());
  auto data = ReadFile(path);
  if (!data.ok()) {
    if (data.status().code() == Code::kNotFound) return std::vector<AuditEntry>{};
    return data.status();
  }
  std::vector<AuditEntry> out;
  size_t pos = 0;
  int64_t index = 0;
  const std::string& text = *data;
  for (;;) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) break;  // a torn append in progress or interrupted: not an entry
    auto e = DecodeAuditEntry(std::string_view(text).substr(pos, nl - pos));
    if (!e.ok()) {
      return Status::Corruption("audit entry " + std::to_string(index) + " (line " + std::to_string(index + 1) + " of " +
                                    path.string() + ") cannot be read: " + e.status().message(),
                                e.status().hint());
    }
    pos = nl + 1;
    ++index;
    if (query.since_ms && e->time_ms < query.since_ms) continue;
    if (!query.subject.empty() && !MatchesSubject(*e, query.subject)) continue;
    if (!query.action.empty() && !MatchesAction(*e, query.action)) continue;
    out.push_back(std::move(e).value());
  }
  if (query.limit) {
    std::reverse(out.begin(), out.end());
    if (out.size() > query.limit) out.resize(query.limit);
  }
  return out;
}

Result<int64_t> MergeAudit(Repo& repo, const std::vector<AuditEntry>& entries) {
  if (entries.empty()) return int64_t{0};
  CAIRN_ASSIGN_OR_RETURN(LogWriter w, LogWriter::Open(repo.layout()));
  CAIRN_ASSIGN_OR_RETURN(std::unordered_set<std::string> known, w.AllIds());
  // The incoming entries the log lacks, each checked against its own id.
  std::vector<const AuditEntry*> todo;
  std::unordered_set<std::string> seen;
  for (const AuditEntry& e : entries) {
    std::string id = HexSha256(EncodeBody(e));
    if (!e.id.empty() && e.id != id) {
      return Status::Corruption("audit entry " + ShortId(e.id) + " does not hash to its id (its content was altered)",
                                "run 'cairn audit verify --remote NAME' to see which entries are damaged");
    }
    if (known.count(id) || !seen.insert(id).second) continue;
    todo.push_back(&e);
  }
  // Topological order: repeatedly take the entries whose prev are all known.
  std::vector<std::string> lines, ids;
  std::vector<std::vector<std::string>> prevs;
  while (!todo.empty()) {
    std::vector<const AuditEntry*> rest;
    for (const AuditEntry* e : todo) {
      bool ready = std::all_of(e->prev.begin(), e->prev.end(), [&](const std::string& p) { return known.count(p) > 0; });
      if (!ready) {
        rest.push_back(e);
        continue;
      }
      std::string id = HexSha256(EncodeBody(*e));
      lines.push_back(EncodeAuditEntry(*e));
      ids.push_back(id);
      prevs.push_back(e->prev);
      known.insert(id);
    }
    if (rest.size() == todo.size()) {
      std::string names;
      for (size_t i = 0; i < rest.size() && i < 3; ++i) names += (i ? ", " : "") + ShortId(HexSha256(EncodeBody(*rest[i])));
      return Status::Corruption(std::to_string(rest.size()) + " audit entries (" + names +
                                    ") follow entries that neither the log nor the merged entries hold",
                                "the source's log is incomplete; run 'cairn audit verify --remote NAME'");
    }
    todo = std::move(rest);
  }
  CAIRN_RETURN_IF_ERROR(w.AppendLines(lines, ids, prevs));
  return static_cast<int64_t>(lines.size());
}

std::string AuditKeyPath() {
  if (const char* k = std::getenv("CAIRN_AUDIT_KEY"); k && *k) return k;
  const char* home = std::getenv("HOME");
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) {
    return std::string(xdg) + "/cairn/audit_ed25519.pem";
  }
  return std::string(home ? home : ".") + "/.config/cairn/audit_ed25519.pem";
}

}  // namespace cairn
