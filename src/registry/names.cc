// Model and alias names, and the model ref grammar (model:NAME@3,
// NAME@v3, NAME@production, NAME@latest, NAME).
#include <cctype>
#include <charconv>

#include "cairn/registry.h"

namespace cairn {
namespace {

constexpr size_t kMaxNameLength = 255;
constexpr std::string_view kModelPrefix = "model:";

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// A version number as written after '@' ("3" or "v3"); 0 when it is not one.
int64_t VersionNumber(std::string_view s) {
  if (!s.empty() && s[0] == 'v') s.remove_prefix(1);
  if (!AllDigits(s)) return 0;
  while (s.size() > 1 && s[0] == '0') s.remove_prefix(1);
  if (s.size() > 18) return 0;
  int64_t n = 0;
  std::from_chars(s.data(), s.data() + s.size(), n);
  return n;
}

bool IsAsciiAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// The first character of `s` (a whole UTF-8 sequence) that `allowed`
// refuses, quoted for a message: "'é'", "a space".
std::string FirstRefused(std::string_view s, bool (*allowed)(char)) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (allowed(s[i])) continue;
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == ' ') return "a space";
    if (c < 0x20 || c == 0x7f) return "a control character";
    size_t len = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return "'" + std::string(s.substr(i, len)) + "'" + (c >= 0x80 ? " (only ASCII letters are allowed)" : "");
  }
  return "";
}

bool ModelNameChar(char c) { return IsAsciiAlnum(c) || c == '.' || c == '_' || c == '-'; }
bool AliasChar(char c) { return IsAsciiAlnum(c) || c == '_' || c == '-'; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Shown(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 80)) out += std::iscntrl(static_cast<unsigned char>(c)) ? '?' : c;
  return s.size() > 80 ? out + "…" : out;
}

}  // namespace

Status ValidateModelName(std::string_view name) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("invalid model name '" + Shown(name) + "': " + why,
                                   "use names like retriever, fraud-detector, bert.base");
  };
  if (name.empty()) return bad("it is empty");
  if (name.size() > kMaxNameLength) return bad("it is longer than 255 characters");
  if (std::string refused = FirstRefused(name, ModelNameChar); !refused.empty()) {
    return bad("only letters, digits and . _ - are allowed, not " + refused);
  }
  if (!IsAsciiAlnum(name[0])) return bad("it must start with a letter or digit");
  if (name.find("..") != std::string_view::npos) return bad("'..' is not allowed in a name");
  return Status::OK();
}

Status ValidateAliasName(std::string_view alias) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("invalid alias '" + Shown(alias) + "': " + why,
                                   "use names like production, staging, champion");
  };
  if (alias.empty()) return bad("it is empty");
  if (alias.size() > kMaxNameLength) {
    return bad("it is " + std::to_string(alias.size()) + " characters long; at most 255 are allowed");
  }
  if (std::string refused = FirstRefused(alias, AliasChar); !refused.empty()) {
    return bad("only letters, digits, _ and - are allowed, not " + refused);
  }
  if (alias[0] == '-') return bad("it must not start with '-' (it would read as an option)");
  // Reserved in any case: 'Latest' or 'V3' would read as the version they spell.
  const std::string lower = Lower(alias);
  if (lower == "latest") return bad("'latest' (in any case) is reserved: it always names the newest version");
  if (AllDigits(alias) || (lower[0] == 'v' && AllDigits(alias.substr(1)))) {
    return bad("'" + std::string(alias) + "' is reserved: NAME@" + lower + " names version " +
               std::string(lower[0] == 'v' ? alias.substr(1) : alias));
  }
  return Status::OK();
}

bool IsModelRef(std::string_view ref) { return ref.starts_with(kModelPrefix); }

Result<ModelRef> ParseModelRef(std::string_view ref) {
  std::string_view text = ref;
  if (IsModelRef(text)) text.remove_prefix(kModelPrefix.size());
  ModelRef out;
  size_t at = text.find('@');
  std::string_view name = text.substr(0, at);
  if (Status s = ValidateModelName(name); !s.ok()) {
    return Status::InvalidArgument("invalid model ref '" + Shown(ref) + "': " + s.message(),
                                   "write NAME@3, NAME@v3, NAME@production, NAME@latest or NAME");
  }
  out.model = std::string(name);
  if (at == std::string_view::npos) {
    out.alias = "latest";
    return out;
  }
  std::string_view what = text.substr(at + 1);
  if (what == "latest") {
    out.alias = "latest";
    return out;
  }
  if (int64_t n = VersionNumber(what); n > 0) {
    out.version = n;
    return out;
  }
  if (AllDigits(what) || (!what.empty() && what[0] == 'v' && AllDigits(what.substr(1)))) {
    std::string_view digits = what[0] == 'v' ? what.substr(1) : what;
    while (digits.size() > 1 && digits[0] == '0') digits.remove_prefix(1);
    if (digits != "0") {
      return Status::InvalidArgument("invalid model ref '" + Shown(ref) + "': version " + Shown(digits) +
                                         " is too large (at most 18 digits)",
                                     "list the versions with 'cairn model versions " + std::string(name) + "'");
    }
    return Status::InvalidArgument("invalid model ref '" + Shown(ref) + "': versions are numbered from 1",
                                   "write NAME@1 for the first version, or NAME@latest for the newest");
  }
  if (Status s = ValidateAliasName(what); !s.ok()) {
    return Status::InvalidArgument("invalid model ref '" + Shown(ref) + "': " + s.message(),
                                   "write NAME@3, NAME@v3, NAME@production, NAME@latest or NAME");
  }
  out.alias = std::string(what);
  return out;
}

}  // namespace cairn
