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
  if (!AllDigits(s) || s.size() > 18) return 0;
  int64_t n = 0;
  std::from_chars(s.data(), s.data() + s.size(), n);
  return n;
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
  if (!std::isalnum(static_cast<unsigned char>(name[0]))) return bad("it must start with a letter or digit");
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return bad("only letters, digits and . _ - are allowed");
    }
  }
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
  for (char c : alias) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') {
      return bad("only letters, digits, _ and - are allowed");
    }
  }
  if (alias == "latest") return bad("'latest' is reserved: it always names the newest version");
  if (AllDigits(alias) || (alias[0] == 'v' && AllDigits(alias.substr(1)))) {
    return bad("'" + std::string(alias) + "' is reserved: NAME@" + std::string(alias) + " names version " +
               std::string(alias[0] == 'v' ? alias.substr(1) : alias));
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
    return Status::InvalidArgument("invalid model ref '" + Shown(ref) + "': versions are numbered from 1");
  }
  if (Status s = ValidateAliasName(what); !s.ok()) {
    return Status::InvalidArgument("invalid model ref '" + Shown(ref) + "': " + s.message(),
                                   "write NAME@3, NAME@v3, NAME@production, NAME@latest or NAME");
  }
  out.alias = std::string(what);
  return out;
}

}  // namespace cairn
