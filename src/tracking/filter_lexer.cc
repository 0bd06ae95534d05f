#include "tracking/filter_lexer.h"

#include <charconv>
#include <cstdint>
#include <system_error>
#include <utility>

namespace cairn::filter_internal {
namespace {

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char ToUpper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

bool IsWordChar(char c) { return IsAlpha(c) || IsDigit(c) || c == '_'; }
bool IsKeyChar(char c) { return IsWordChar(c) || c == '-' || c == '.' || c == '/' || c == ':'; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ToLower(a[i]) != ToLower(b[i])) return false;
  }
  return true;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ToUpper(c);
  return out;
}

void Scanner::SkipSpace() {
  while (pos_ < text_.size() && IsSpace(text_[pos_])) ++pos_;
}

bool Scanner::AtEnd() {
  SkipSpace();
  return pos_ >= text_.size();
}

bool Scanner::ConsumeChar(char c) {
  SkipSpace();
  if (Peek() != c) return false;
  ++pos_;
  return true;
}

bool Scanner::ConsumeKeyword(std::string_view keyword) {
  SkipSpace();
  size_t end = pos_ + keyword.size();
  if (end > text_.size() || !EqualsIgnoreCase(text_.substr(pos_, keyword.size()), keyword))
    return false;
  if (end < text_.size() && IsWordChar(text_[end])) return false;
  pos_ = end;
  return true;
}

bool Scanner::KeywordAhead(std::string_view keyword) {
  size_t saved = pos_;
  bool found = ConsumeKeyword(keyword);
  pos_ = saved;
  return found;
}

size_t Scanner::WordEnd(size_t at) const {
  while (at < text_.size() && IsWordChar(text_[at])) ++at;
  return at;
}

Status Scanner::Error(size_t at, std::string_view what, std::string_view detail) const {
  error_pos_ = at;
  size_t column = 1;
  for (size_t i = 0; i < at && i < text_.size(); ++i) {
    if ((static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80) ++column;
  }
  std::string shown(text_);
  for (char& c : shown) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  std::string msg(context_);
  msg += ": ";
  msg += what;
  msg += " at column " + std::to_string(column);
  msg += detail;
  msg += "\n  " + shown + "\n  " + std::string(column - 1, ' ') + "^";
  return Status::InvalidArgument(std::move(msg), std::string(hint_));
}

std::string Scanner::Describe(size_t at) const {
  if (at >= text_.size()) return "the end of the " + std::string(noun_);
  size_t end = at + 1;
  if (IsKeyChar(text_[at])) {
    while (end < text_.size() && IsKeyChar(text_[end]) && end - at < 40) ++end;
  }
  return "'" + std::string(text_.substr(at, end - at)) + "'";
}

Result<std::string> Scanner::ParseQuoted(std::string_view what) {
  size_t open = pos_;
  char quote = text_[pos_++];
  std::string out;
  while (pos_ < text_.size()) {
    char c = text_[pos_];
    if (c == '\\' && pos_ + 1 < text_.size() &&
        (text_[pos_ + 1] == quote || text_[pos_ + 1] == '\\')) {
      out += text_[pos_ + 1];
      pos_ += 2;
    } else if (c == quote && pos_ + 1 < text_.size() && text_[pos_ + 1] == quote) {
      out += quote;
      pos_ += 2;
    } else if (c == quote) {
      ++pos_;
      return out;
    } else {
      out += c;
      ++pos_;
    }
  }
  return Error(open, "unterminated " + std::string(what) + " starting",
               std::string("; close it with ") + quote);
}

Result<FilterValue> Scanner::ParseValue(std::string_view after) {
  SkipSpace();
  FilterValue value;
  value.pos = pos_;
  char c = Peek();
  if (c == '\'' || c == '"') {
    CAIRN_ASSIGN_OR_RETURN(value.text, ParseQuoted("string"));
    return value;
  }
  if (IsDigit(c) || c == '-' || c == '+' || c == '.') return ParseNumber();
  if (IsWordChar(c) && !KeywordAhead("and") && !KeywordAhead("or")) {
    size_t end = pos_;
    while (end < text_.size() && IsKeyChar(text_[end])) ++end;
    std::string word(text_.substr(pos_, end - pos_));
    return Error(pos_, "unquoted value '" + word + "'",
                 "; write strings in single quotes: '" + word + "'");
  }
  return Error(pos_, "expected a value after " + std::string(after), ", found " + Describe(pos_));
}

Result<FilterValue> Scanner::ParseNumber() {
  FilterValue value;
  value.is_number = true;
  value.pos = pos_;
  size_t p = pos_;
  // A leading '+' is MLflow's (SQL's) unary plus; from_chars takes only '-'.
  size_t start = text_[p] == '+' ? p + 1 : p;
  if (text_[p] == '-' || text_[p] == '+') ++p;
  size_t digits = 0;
  for (; p < text_.size() && IsDigit(text_[p]); ++p) ++digits;
  bool whole = true;
  if (p < text_.size() && text_[p] == '.') {
    whole = false;
    for (++p; p < text_.size() && IsDigit(text_[p]); ++p) ++digits;
  }
  bool ok = digits > 0;
  if (ok && p < text_.size() && (text_[p] == 'e' || text_[p] == 'E')) {
    whole = false;
    ++p;
    if (p < text_.size() && (text_[p] == '+' || text_[p] == '-')) ++p;
    size_t exponent_digits = 0;
    for (; p < text_.size() && IsDigit(text_[p]); ++p) ++exponent_digits;
    ok = exponent_digits > 0;
  }
  if (!ok || (p < text_.size() && (IsWordChar(text_[p]) || text_[p] == '.'))) {
    size_t end = p;
    while (end < text_.size() && (IsKeyChar(text_[end]) || text_[end] == '+')) ++end;
    return Error(pos_, "malformed number '" + std::string(text_.substr(pos_, end - pos_)) + "'");
  }
  value.text = std::string(text_.substr(start, p - start));
  const char* first = value.text.data();
  const char* last = first + value.text.size();
  auto [end, ec] = std::from_chars(first, last, value.number);
  if (ec != std::errc() || end != last) {
    return Error(pos_,
                 "number '" + std::string(text_.substr(pos_, p - pos_)) + "' is out of range");
  }
  if (whole) {
    int64_t integer = 0;
    auto [int_end, int_ec] = std::from_chars(first, last, integer);
    if (int_ec == std::errc() && int_end == last) value.integer = integer;
  }
  pos_ = p;
  return value;
}

}  // namespace cairn::filter_internal
