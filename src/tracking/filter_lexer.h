// The scanner under the filter and order-by parsers: a cursor over the
// text by byte offset, the tokens both languages share (keywords, quoted
// strings, numbers) and errors that point into the text with a caret.
#ifndef CAIRN_TRACKING_FILTER_LEXER_H_
#define CAIRN_TRACKING_FILTER_LEXER_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "cairn/filter.h"
#include "cairn/status.h"

namespace cairn::filter_internal {

bool IsWordChar(char c);
// Characters of an unquoted key: word characters and - . / :
bool IsKeyChar(char c);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string Upper(std::string_view s);

class Scanner {
 public:
  // `context` starts messages ("filter"); `noun` names the text in them
  // ("filter", "clause"); `hint` is every error's hint.
  Scanner(std::string_view text, std::string_view context, std::string_view noun,
          std::string_view hint)
      : text_(text), context_(context), noun_(noun), hint_(hint) {}

  size_t pos() const { return pos_; }
  std::string_view text() const { return text_; }
  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  char PeekAt(size_t at) const { return at < text_.size() ? text_[at] : '\0'; }
  void Advance(size_t n) { pos_ += n; }
  void Seek(size_t at) { pos_ = at; }

  void SkipSpace();
  // SkipSpace, then whether the text ends here.
  bool AtEnd();
  // SkipSpace, then consumes `c` when it is next.
  bool ConsumeChar(char c);
  // SkipSpace, then consumes `keyword` (any case) when it is the next whole word.
  bool ConsumeKeyword(std::string_view keyword);
  // Whether `keyword` (any case) is the next whole word; consumes nothing.
  bool KeywordAhead(std::string_view keyword);

  // The end of the run of word characters starting at `at`.
  size_t WordEnd(size_t at) const;

  // The string in the quote at pos() (' " or `): the quote doubled or
  // backslash-escaped stands for itself, as does an escaped backslash.
  // `what` names it in the error for a missing closing quote.
  Result<std::string> ParseQuoted(std::string_view what);

  // A number or a quoted string; `after` names what precedes it.
  Result<FilterValue> ParseValue(std::string_view after);

  // "<context>: <what> at column N<detail>", then the text with a caret
  // under byte offset `at`. Columns count characters, not UTF-8 bytes.
  Status Error(size_t at, std::string_view what, std::string_view detail = {}) const;

  // Where the last Error() pointed (byte offset), or npos when none was made.
  size_t error_pos() const { return error_pos_; }

  // The token at `at`, quoted, for messages: "'metrics.b'", "')'", or
  // "the end of the filter".
  std::string Describe(size_t at) const;

 private:
  Result<FilterValue> ParseNumber();

  std::string_view text_;
  std::string_view context_;
  std::string_view noun_;
  std::string_view hint_;
  size_t pos_ = 0;
  mutable size_t error_pos_ = std::string_view::npos;
};

}  // namespace cairn::filter_internal

#endif  // CAIRN_TRACKING_FILTER_LEXER_H_
