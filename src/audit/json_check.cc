// A JSON syntax check without building values, for verifying a million
// audit entries in a few seconds (nlohmann's accept() costs ~10x more).
#include "audit/audit_internal.h"

namespace cairn::audit_internal {
namespace {

class Checker {
 public:
  explicit Checker(std::string_view s) : p_(s.data()), end_(s.data() + s.size()) {}

  bool Document() {
    Space();
    if (!Value(0)) return false;
    Space();
    return p_ == end_;
  }

 private:
  static constexpr int kMaxDepth = 64;

  void Space() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool Eat(char c) {
    if (p_ < end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }
  bool Literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) return false;
    p_ += word.size();
    return true;
  }
  static bool Hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
  static bool Digit(char c) { return c >= '0' && c <= '9'; }

  bool String() {
    if (!Eat('"')) return false;
    while (p_ < end_) {
      unsigned char c = static_cast<unsigned char>(*p_++);
      if (c == '"') return true;
      if (c < 0x20) return false;
      if (c != '\\') continue;
      if (p_ >= end_) return false;
      char e = *p_++;
      if (e == 'u') {
        if (end_ - p_ < 4 || !Hex(p_[0]) || !Hex(p_[1]) || !Hex(p_[2]) || !Hex(p_[3])) return false;
        p_ += 4;
      } else if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' && e != 't') {
        return false;
      }
    }
    return false;
  }
  bool Number() {
    Eat('-');
    if (p_ >= end_ || !Digit(*p_)) return false;
    if (*p_ == '0') {
      ++p_;
    } else {
      while (p_ < end_ && Digit(*p_)) ++p_;
    }
    if (Eat('.')) {
      if (p_ >= end_ || !Digit(*p_)) return false;
      while (p_ < end_ && Digit(*p_)) ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (!Eat('+')) Eat('-');
      if (p_ >= end_ || !Digit(*p_)) return false;
      while (p_ < end_ && Digit(*p_)) ++p_;
    }
    return true;
  }
  bool Value(int depth) {
    if (p_ >= end_ || depth > kMaxDepth) return false;
    switch (*p_) {
      case '"':
        return String();
      case '{': {
        ++p_;
        Space();
        if (Eat('}')) return true;
        do {
          Space();
          if (!String()) return false;
          Space();
          if (!Eat(':')) return false;
          Space();
          if (!Value(depth + 1)) return false;
          Space();
        } while (Eat(','));
        return Eat('}');
      }
      case '[': {
        ++p_;
        Space();
        if (Eat(']')) return true;
        do {
          Space();
          if (!Value(depth + 1)) return false;
          Space();
        } while (Eat(','));
        return Eat(']');
      }
      case 't':
        return Literal("true");
      case 'f':
        return Literal("false");
      case 'n':
        return Literal("null");
      default:
        return Number();
    }
  }

  const char* p_;
  const char* end_;
};

}  // namespace

bool IsJson(std::string_view text) { return Checker(text).Document(); }

}  // namespace cairn::audit_internal
