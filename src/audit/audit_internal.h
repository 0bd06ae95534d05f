// Internal pieces of the audit log shared by its files: the line format's
// fast readers (used where a full JSON parse would cost too much), the HEAD
// file, and signing. Format "cairn-audit 1", doc/formats.md.
#ifndef CAIRN_AUDIT_AUDIT_INTERNAL_H_
#define CAIRN_AUDIT_AUDIT_INTERNAL_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/audit.h"
#include "cairn/layout.h"
#include "cairn/status.h"

namespace cairn::audit_internal {

// The audit log's paths (Layout owns them; these read shorter here).
inline std::filesystem::path AuditDirPath(const Layout& l) { return l.audit(); }
inline std::filesystem::path AuditLogPath(const Layout& l) { return l.audit_log(); }
inline std::filesystem::path AuditHeadPath(const Layout& l) { return l.audit_head(); }
inline std::filesystem::path AuditLockPath(const Layout& l) { return l.audit_lock(); }
inline std::filesystem::path KeysDirPath(const Layout& l) { return l.keys(); }
inline std::filesystem::path KeyPath(const Layout& l, const std::string& key_id) { return l.key(key_id); }

// Every body starts with this, then the quoted prev ids.
inline constexpr std::string_view kBodyStart = "{\"prev\":[";
inline constexpr size_t kIdLen = 64;

// One line of the log split at its TAB: the hashed body and the signature
// (empty when unsigned). `line` excludes the newline.
struct LineParts {
  std::string_view body;
  std::string_view signature;
};
LineParts SplitLine(std::string_view line);

// Reads `prev` from the start of a body without a JSON parse; false when the
// body does not start the way every entry does.
bool ScanPrev(std::string_view body, std::vector<std::string_view>* prev);

// True when `text` is one JSON value (RFC 8259 syntax; strings are not
// checked for valid UTF-8). A validator without a DOM: verify runs it on
// every line, where a parse would cost most of the time.
bool IsJson(std::string_view text);

// Lowercase hex SHA-256 of `data`.
std::string HexSha256(std::string_view data);

// The canonical body of an entry (everything but id and signature).
std::string EncodeBody(const AuditEntry& entry);

// "<first 12 hex>…" for messages.
std::string ShortId(std::string_view id);

// ---- HEAD: heads, entry count and byte length of the log ----
struct Head {
  int64_t entries = 0;
  int64_t bytes = 0;
  std::vector<std::string> heads;  // sorted
};
std::string EncodeHead(const Head& head);
// Corruption naming `path` when the text is not a HEAD file.
Result<Head> DecodeHead(std::string_view text, const std::string& path);

// ---- signatures (sign.cc) ----
// "ed25519:<key id>:<base64>" over `id`, with the private key at
// AuditKeyPath(); empty when there is no key at the default path. Errors
// when $CAIRN_AUDIT_KEY names a path with no key, or the key is not a
// regular file, is readable by group or others, or is not Ed25519. Writes
// the key's public half to layout.key(ID) when this repository lacks it.
Result<std::string> SignId(const Layout& layout, const std::string& id);
// The public keys signed entries verify against (.cairn/keys/*.pub),
// loaded once per verify.
class KeyRing {
 public:
  KeyRing() = default;
  ~KeyRing();
  KeyRing(const KeyRing&) = delete;
  KeyRing& operator=(const KeyRing&) = delete;
  // Loads every keys/<key id>.pub; a file that is not an Ed25519 public key
  // whose id matches its name is skipped and listed in `*skipped`.
  Status Load(const std::string& keys_dir, std::vector<std::string>* skipped);
  // OK, or a message (for a "signature" problem) saying what is wrong.
  Status Check(std::string_view id, std::string_view signature) const;
  size_t size() const { return keys_.size(); }

 private:
  std::vector<std::pair<std::string, void*>> keys_;  // key id, EVP_PKEY*
};

}  // namespace cairn::audit_internal

#endif  // CAIRN_AUDIT_AUDIT_INTERNAL_H_
