// The audit log: an append-only, hash-chained record of governance events
// (model register / alias / promote / approve / deprecate, gate results,
// golden tags, tag deletions, gc --apply, remote gc, --force overrides).
//
// Each entry names the entries before it by hash (`prev`), so editing,
// deleting, reordering or inserting an entry breaks the chain where it
// happened. Entries of two clones merge as a hash DAG, like commits: an
// entry appended after a merge names every head. Stored under .cairn/audit/
// (format "cairn-audit 1", doc/formats.md); remotes hold the same entries.
//
// An entry may be signed with the author's Ed25519 key; signed entries
// verify against the public keys committed under .cairn/keys/.
//
// Thread safety: functions may be called from many threads and processes
// at once; appends serialise on the log's own lock (the innermost lock:
// callers may hold the repository lock, never the other way round).
#ifndef CAIRN_AUDIT_H_
#define CAIRN_AUDIT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/json.h"
#include "cairn/repo.h"
#include "cairn/status.h"
#include "cairn/sys/backend.h"

namespace cairn {

// What a caller records. Time, user, host and prev are filled by AppendAudit.
struct AuditEvent {
  // Dotted, lowercase: "model.register", "model.alias", "model.alias.delete",
  // "model.promote", "model.approve", "model.deprecate", "gate",
  // "tag.golden", "tag.delete", "gc", "remote.gc", "force".
  std::string action;
  // What the event is about, most specific first: "model:retriever@3",
  // "model:retriever", "dataset:data/eval@v3", "sha256:<hex>" (an oid).
  std::vector<std::string> subjects;
  std::string reason;  // the user's message or --reason; may be empty
  // Action-specific facts (alias moved from/to, gate rule results, what gc
  // removed); an object, empty when there are none.
  Json details = Json::object();
};

struct AuditEntry {
  std::string id;                 // 64 lowercase hex: sha256 of the entry's body
  std::vector<std::string> prev;  // ids of the entries it follows (none for the first)
  int64_t time_ms = 0;
  std::string user;  // Repo::Author()
  std::string host;
  std::string action;
  std::vector<std::string> subjects;
  std::string reason;
  Json details = Json::object();
  // "ed25519:<key id>:<base64 signature of the id>", or empty when unsigned.
  std::string signature;
};

// Appends one entry durably (it is on disk when this returns) after every
// current head, signed when the user has a key (AuditKeyPath). An
// interrupted append (kill -9, power loss) leaves the entry whole or absent:
// a torn tail is removed by the next append. IOError when the log cannot be
// written; Corruption when the log's tail is damaged in a way that is not a
// torn append (run 'cairn audit verify').
Result<AuditEntry> AppendAudit(Repo& repo, const AuditEvent& event);

struct AuditQuery {
  int64_t since_ms = 0;     // entries at or after this time; 0: all
  std::string subject;      // entries naming this subject (exact, or "model:NAME" matches "model:NAME@N"); empty: all
  std::string action;       // exact, or a prefix ending in '.' ("model."); empty: all
  size_t limit = 0;         // newest first, at most this many; 0: all
};

// What a date alone stands for: its first or its last millisecond.
enum class DayBound { kStart, kEnd };
// A time as users give it on the command line: epoch seconds
// ("1764633600"), an ISO date ("2026-12-01") or date-time
// ("2026-12-01T14:30", "2026-12-01 14:30:05.250", ending in 'Z', an offset
// such as "+02:00", or nothing: UTC). Returns epoch milliseconds; a date
// alone is the start of that day (UTC) or, with DayBound::kEnd, its last
// millisecond. InvalidArgument naming the text for anything else: an empty
// text, an impossible date (2026-02-30), a stray character. The one parser
// of --since (audit log) and --at (model history).
Result<int64_t> ParseTimeArgument(std::string_view text, DayBound day);
// ParseTimeArgument(text, DayBound::kStart): entries since a date include
// the whole day.
Result<int64_t> ParseAuditTime(std::string_view text);

// Entries matching `query`, oldest first (log order), or newest first with a
// limit. Corruption when an entry cannot be parsed (naming it).
Result<std::vector<AuditEntry>> ReadAudit(Repo& repo, const AuditQuery& query = {});

struct AuditProblem {
  std::string entry;    // id of the entry concerned (or the one expected)
  int64_t index = -1;   // 0-based position in the log, when known
  // "edited", "deleted", "reordered", "inserted", "truncated", "signature",
  // "unparsable", "head" (HEAD itself is missing, damaged or disagrees with
  // an intact log)
  std::string kind;
  std::string message;  // for people: what is wrong and where
};

struct AuditVerifyReport {
  int64_t entries = 0;
  int64_t signed_entries = 0;
  std::vector<std::string> heads;  // ids no entry follows
  std::vector<AuditProblem> problems;
  // Facts that are not damage: an interrupted append's torn tail or entries
  // past HEAD's end that the next append records, unreadable key files.
  std::vector<std::string> notes;
  bool ok() const { return problems.empty(); }
};

// Re-hashes every entry and checks the chain (and the signatures of signed
// entries against the committed public keys). Damage is reported in the
// report, not as an error; IOError only when the log cannot be read.
Result<AuditVerifyReport> VerifyAudit(Repo& repo);

// Serialises the same way the log stores it, and back (for remotes, which
// hold entries in segments of the same lines).
std::string EncodeAuditEntry(const AuditEntry& entry);
Result<AuditEntry> DecodeAuditEntry(std::string_view line);

// Adds entries from elsewhere (a remote) that the log lacks, in an order
// where every entry follows its prev; entries whose prev the log lacks and
// that are not among `entries` are refused (Corruption naming them).
// Returns how many were added.
Result<int64_t> MergeAudit(Repo& repo, const std::vector<AuditEntry>& entries);

// ---- remotes: the remote holds entries in segments of the same lines ----
// (doc/formats.md, "Audit log"): audit/<id of its last entry>.log, one per
// push, since object stores cannot append. `cache_dir` (may be empty: no
// cache) keeps the segments this clone has read, so only new ones are
// downloaded.

// Downloads the segments not seen before and merges their entries into the
// log. Returns how many entries were added. Corruption naming a segment
// that does not parse or whose name is not its last entry's id (nothing is
// merged then).
Result<int64_t> FetchAudit(Repo& repo, Backend& backend, const std::string& cache_dir);
// Merges the remote's entries first (as FetchAudit; `*merged` gets the
// count, may be null), then uploads the entries the remote lacks as one new
// segment. Returns how many were uploaded.
Result<int64_t> PushAudit(Repo& repo, Backend& backend, const std::string& cache_dir, int64_t* merged);

struct AuditRemoteReport {
  std::string remote;
  int64_t segments = 0;
  AuditVerifyReport report;     // the chain of every entry the remote holds
  int64_t missing_locally = 0;  // remote entries this clone's log lacks
};
// Downloads every segment of `remote` and verifies the chain they hold
// (problems name the segment), and counts the entries the local log lacks.
Result<AuditRemoteReport> VerifyRemoteAudit(Repo& repo, const RemoteSpec& remote);
Json AuditRemoteVerifyJson(const AuditRemoteReport& report);

// Where the user's private signing key is looked for ($CAIRN_AUDIT_KEY, else
// $XDG_CONFIG_HOME/cairn/audit_ed25519.pem, else
// ~/.config/cairn/audit_ed25519.pem); entries are signed when it exists.
std::string AuditKeyPath();

struct AuditKey {
  std::string key_id;        // 16 hex: the start of sha256 of the raw public key
  std::string private_path;  // AuditKeyPath()
  std::string public_path;   // .cairn/keys/<key id>.pub (commit it)
};

// Makes a new Ed25519 key pair: the private key (PEM, mode 0600) at
// AuditKeyPath(), the public key (PEM) under .cairn/keys/. AlreadyExists
// when a private key is there and `force` is false (replacing it orphans
// nothing: old entries verify against the old public key, which stays).
Result<AuditKey> GenerateAuditKey(Repo& repo, bool force);

// JSON of one entry and of a list (doc/json.md, "audit").
Json AuditEntryJson(const AuditEntry& entry);
Json AuditVerifyJson(const AuditVerifyReport& report);

}  // namespace cairn

#endif  // CAIRN_AUDIT_H_
