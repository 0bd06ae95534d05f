// Who did something, as the registry compares people: approvals counted
// by the approvals gate must come from someone other than the registrant,
// and each person counts once however their identity was spelt.
#include <cctype>
#include <string>
#include <string_view>

#include "cairn/registry.h"

namespace cairn {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct Identity {
  std::string name;   // lowercased, trimmed; may be empty
  std::string email;  // lowercased, trimmed; may be empty
};

// "Name <email>", "Name", "<email>" or a bare "user@host".
Identity Parse(std::string_view text) {
  Identity id;
  text = Trim(text);
  size_t open = text.rfind('<');
  if (open != std::string_view::npos && text.back() == '>') {
    id.name = Lower(Trim(text.substr(0, open)));
    id.email = Lower(Trim(text.substr(open + 1, text.size() - open - 2)));
  } else if (text.find('@') != std::string_view::npos && text.find(' ') == std::string_view::npos) {
    id.email = Lower(text);
  } else {
    id.name = Lower(text);
  }
  return id;
}

}  // namespace

bool BlankIdentity(std::string_view identity) {
  Identity id = Parse(identity);
  return id.name.empty() && id.email.empty();
}

bool SameIdentity(std::string_view a, std::string_view b) {
  Identity x = Parse(a), y = Parse(b);
  if (!x.email.empty() && !y.email.empty()) return x.email == y.email;
  return !x.name.empty() && x.name == y.name;
}

}  // namespace cairn
