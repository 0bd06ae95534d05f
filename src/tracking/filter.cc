// The run search language: a hand-written scanner and recursive-descent
// parser that emits SQL while it parses. User text never reaches the SQL:
// every key and value becomes a '?' bind, appended in the order its
// placeholder appears, so callers bind SqlFragment::binds left to right.
#include "tracking/filter.h"

#include <charconv>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace cairn {
namespace {

constexpr char kFilterHint[] =
    "example: metrics.acc > 0.9 and (params.lr = '0.1' or tags.team = 'x'); quote string values "
    "with single quotes and keys holding spaces with backticks (tags.`my key`)";
constexpr char kOrderHint[] = "example: metrics.acc DESC, attributes.start_time ASC";

// Limits that keep every filter the compiler accepts within what SQLite
// parses (tracking/filter_test.cc checks filters at each limit). Parentheses
// recurse here and nest in the SQL, where SQLite's parser stack (100
// entries) runs out after about 14 levels of mixed and/or.
constexpr int kMaxDepth = 10;
// An and/or chain of N comparisons is an SQL expression N deep, and SQLite
// refuses expressions deeper than 1000 (the deepest comparison adds ~130).
constexpr size_t kMaxTerms = 500;
// Every value is a bind, and SQLite takes at most 32766 of them.
constexpr size_t kMaxValues = 10000;

enum class Prefix { kMetric, kParam, kTag, kAttribute, kDataset };

struct PrefixName {
  std::string_view name;
  Prefix prefix;
};

constexpr PrefixName kPrefixes[] = {
    {"metrics", Prefix::kMetric},
    {"metric", Prefix::kMetric},
    {"params", Prefix::kParam},
    {"param", Prefix::kParam},
    {"tags", Prefix::kTag},
    {"tag", Prefix::kTag},
    {"attributes", Prefix::kAttribute},
    {"attribute", Prefix::kAttribute},
    {"attr", Prefix::kAttribute},
    {"run", Prefix::kAttribute},
    {"datasets", Prefix::kDataset},
    {"dataset", Prefix::kDataset},
};

struct Attribute {
  std::string_view name;
  std::string_view column;  // in the runs table
  bool numeric;
};

constexpr Attribute kAttributes[] = {
    {"status", "status", false},
    {"run_name", "name", false},
    {"run_id", "run_id", false},
    {"start_time", "start_time", true},
    {"end_time", "end_time", true},
    {"user", "user", false},
    {"experiment_id", "experiment_id", true},
};

struct AttributeAlias {
  std::string_view alias;
  std::string_view name;
};

constexpr AttributeAlias kAttributeAliases[] = {
    {"name", "run_name"}, {"created", "start_time"}, {"id", "run_id"}};

constexpr std::string_view kStatuses[] = {"RUNNING", "FINISHED", "FAILED", "KILLED"};

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsWordChar(char c) { return IsAlpha(c) || IsDigit(c) || c == '_'; }
bool IsKeyChar(char c) { return IsWordChar(c) || c == '-' || c == '.' || c == '/' || c == ':'; }
char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char ToUpper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

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

// Only lowercase hex counts: versions are stored that way, and a value like
// "BEEF" is far more likely a tag than an abbreviated version.
bool IsVersionPrefix(std::string_view s) {
  if (s.size() < 4) return false;
  for (char c : s) {
    if (!IsDigit(c) && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

const Attribute* FindAttribute(std::string_view name) {
  for (const AttributeAlias& alias : kAttributeAliases) {
    if (EqualsIgnoreCase(name, alias.alias)) name = alias.name;
  }
  for (const Attribute& attribute : kAttributes) {
    if (EqualsIgnoreCase(name, attribute.name)) return &attribute;
  }
  return nullptr;
}

constexpr char kValidAttributes[] =
    "; valid attributes: status, run_name (or name), run_id (or id), start_time (or created), "
    "end_time, user, experiment_id";

enum class Op { kEq, kNe, kLt, kLe, kGt, kGe, kLike, kILike, kIn, kNotIn };

// Indexed by Op.
constexpr std::string_view kOpSql[] = {"=",  "!=",   "<",     "<=", ">",
                                       ">=", "LIKE", "ILIKE", "IN", "NOT IN"};

std::string_view OpSql(Op op) { return kOpSql[static_cast<size_t>(op)]; }

bool IsOrdering(Op op) { return op == Op::kLt || op == Op::kLe || op == Op::kGt || op == Op::kGe; }
bool IsPattern(Op op) { return op == Op::kLike || op == Op::kILike; }
bool IsList(Op op) { return op == Op::kIn || op == Op::kNotIn; }

struct Identifier {
  Prefix prefix = Prefix::kMetric;
  std::string key;
  size_t pos = 0;      // where the identifier starts
  size_t key_pos = 0;  // where the key starts
  std::string text;    // as written, for messages
};

struct Literal {
  bool is_number = false;
  std::string text;  // the string's contents, or the number as written
  double number = 0;
  std::optional<int64_t> integer;  // set when a number literal is a whole int64
  size_t pos = 0;
};

struct Comparison {
  Identifier id;
  Op op = Op::kEq;
  size_t op_pos = 0;
  std::vector<Literal> values;  // one, or the IN list
};

// Walks the text by byte offset and formats errors that point into it.
class Scanner {
 public:
  // `context` starts messages ("filter"); `noun` names the text in them.
  Scanner(std::string_view text, std::string_view context, std::string_view noun,
          std::string_view hint)
      : text_(text), context_(context), noun_(noun), hint_(hint) {}

  size_t pos() const { return pos_; }
  std::string_view text() const { return text_; }

  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool AtEnd() {
    SkipSpace();
    return pos_ >= text_.size();
  }
  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void Advance(size_t n) { pos_ += n; }

  bool ConsumeChar(char c) {
    SkipSpace();
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }

  // Consumes `keyword` (any case) when it is the next whole word.
  bool ConsumeKeyword(std::string_view keyword) {
    SkipSpace();
    size_t end = pos_ + keyword.size();
    if (end > text_.size() || !EqualsIgnoreCase(text_.substr(pos_, keyword.size()), keyword)) {
      return false;
    }
    if (end < text_.size() && IsWordChar(text_[end])) return false;
    pos_ = end;
    return true;
  }

  // True when `keyword` (any case) is the next whole word; consumes nothing.
  bool KeywordAhead(std::string_view keyword) {
    size_t saved = pos_;
    bool found = ConsumeKeyword(keyword);
    pos_ = saved;
    return found;
  }

  // "<context>: <what> at column N<detail>", then the text with a caret
  // under byte offset `at`. Columns count characters, not UTF-8 bytes.
  Status Error(size_t at, std::string_view what, std::string_view detail = {}) const {
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

  // The token at `at`, quoted, for messages: "'metrics.b'", "')'", or
  // "the end of the filter".
  std::string Describe(size_t at) const {
    if (at >= text_.size()) return "the end of the " + std::string(noun_);
    size_t end = at + 1;
    if (IsKeyChar(text_[at])) {
      while (end < text_.size() && IsKeyChar(text_[end]) && end - at < 40) ++end;
    }
    return "'" + std::string(text_.substr(at, end - at)) + "'";
  }

  // prefix "." key, where key is a bare word or quoted with ` or ".
  Result<Identifier> ParseIdentifier() {
    SkipSpace();
    Identifier id;
    id.pos = pos_;
    size_t p = pos_;
    while (p < text_.size() && IsWordChar(text_[p])) ++p;
    if (p == pos_) {
      return Error(pos_, "expected a key such as metrics.acc or params.lr",
                   ", found " + Describe(pos_));
    }
    std::string_view word = text_.substr(pos_, p - pos_);
    const PrefixName* prefix = nullptr;
    for (const PrefixName& candidate : kPrefixes) {
      if (EqualsIgnoreCase(word, candidate.name)) prefix = &candidate;
    }
    if (p >= text_.size() || text_[p] != '.') {
      if (prefix != nullptr) {
        return Error(p, "expected '.' and a key after '" + std::string(word) + "'");
      }
      return Error(pos_, "'" + std::string(word) + "' has no prefix",
                   "; write metrics.<key>, params.<key>, tags.<key>, attributes.<name> or "
                   "datasets.<name>");
    }
    if (prefix == nullptr) {
      return Error(pos_, "unknown prefix '" + std::string(word) + "'",
                   "; valid prefixes: metrics, params, tags, attributes (or attr, run), datasets "
                   "(singular forms work too)");
    }
    id.prefix = prefix->prefix;
    pos_ = p + 1;
    id.key_pos = pos_;
    if (Peek() == '`' || Peek() == '"') {
      CAIRN_ASSIGN_OR_RETURN(id.key, ParseQuoted("quoted key"));
    } else {
      while (pos_ < text_.size() && IsKeyChar(text_[pos_])) ++pos_;
      id.key = std::string(text_.substr(id.key_pos, pos_ - id.key_pos));
    }
    if (id.key.empty()) {
      return Error(id.key_pos, "empty key after '" + std::string(word) + ".'");
    }
    id.text = std::string(text_.substr(id.pos, pos_ - id.pos));
    return id;
  }

  // A string in the quote at pos(): the quote doubled or backslash-escaped
  // stands for itself, as does an escaped backslash.
  Result<std::string> ParseQuoted(std::string_view what) {
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

  // A number or a quoted string; `after` names what precedes it.
  Result<Literal> ParseLiteral(std::string_view after) {
    SkipSpace();
    Literal lit;
    lit.pos = pos_;
    char c = Peek();
    if (c == '\'' || c == '"') {
      CAIRN_ASSIGN_OR_RETURN(lit.text, ParseQuoted("string"));
      return lit;
    }
    if (IsDigit(c) || c == '-' || c == '.') return ParseNumber();
    if (IsWordChar(c) && !KeywordAhead("and") && !KeywordAhead("or")) {
      size_t end = pos_;
      while (end < text_.size() && IsKeyChar(text_[end])) ++end;
      std::string word(text_.substr(pos_, end - pos_));
      return Error(pos_, "unquoted value '" + word + "'",
                   "; write strings in single quotes: '" + word + "'");
    }
    return Error(pos_, "expected a value after " + std::string(after), ", found " + Describe(pos_));
  }

 private:
  Result<Literal> ParseNumber() {
    Literal lit;
    lit.is_number = true;
    lit.pos = pos_;
    size_t p = pos_;
    if (text_[p] == '-') ++p;
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
    lit.text = std::string(text_.substr(pos_, p - pos_));
    const char* first = lit.text.data();
    const char* last = first + lit.text.size();
    auto [end, ec] = std::from_chars(first, last, lit.number);
    if (ec != std::errc() || end != last) {
      return Error(pos_, "number '" + lit.text + "' is out of range");
    }
    if (whole) {
      int64_t integer = 0;
      auto [int_end, int_ec] = std::from_chars(first, last, integer);
      if (int_ec == std::errc() && int_end == last) lit.integer = integer;
    }
    pos_ = p;
    return lit;
  }

  std::string_view text_;
  std::string_view context_;
  std::string_view noun_;
  std::string_view hint_;
  size_t pos_ = 0;
};

// "?" for a single value; "(?, ?)" for IN lists, even of one element.
std::string Placeholders(Op op, size_t n) {
  if (!IsList(op)) return "?";
  std::string out = "(";
  for (size_t i = 0; i < n; ++i) out += i == 0 ? "?" : ", ?";
  return out + ")";
}

// Parses the filter and emits SQL as it goes, so binds_ stays in the order
// of the placeholders in the returned text.
class FilterCompiler {
 public:
  explicit FilterCompiler(std::string_view filter)
      : scan_(filter, "filter", "filter", kFilterHint) {}

  Result<SqlFragment> Compile() {
    if (scan_.AtEnd()) return SqlFragment{"1", {}};
    CAIRN_ASSIGN_OR_RETURN(std::string sql, ParseOr(0));
    if (!scan_.AtEnd()) {
      if (scan_.Peek() == ')') {
        return scan_.Error(scan_.pos(), "unbalanced ')'", " with no matching '('");
      }
      return scan_.Error(scan_.pos(), "unexpected " + scan_.Describe(scan_.pos()),
                         "; expected 'and', 'or' or the end of the filter");
    }
    if (terms_ > kMaxTerms || values_ > kMaxValues) {
      std::string what = terms_ > kMaxTerms
                             ? std::to_string(terms_) + " comparisons joined by and/or; at most " +
                                   std::to_string(kMaxTerms) + " are allowed"
                             : std::to_string(values_) + " values; at most " + std::to_string(kMaxValues) +
                                   " are allowed (each value of an IN list counts as one)";
      return Status::InvalidArgument("filter is too large: it has " + what,
                                     "split the search into smaller ones, or match many values of one key with "
                                     "one IN list, such as attributes.run_id IN ('...', '...')");
    }
    // Under a top-level OR no single comparison has to hold.
    if (top_level_or_) bounds_.clear();
    return SqlFragment{std::move(sql), std::move(binds_), std::move(bounds_)};
  }

 private:
  Result<std::string> ParseOr(int depth) { return ParseChain(depth, "or"); }

  // A chain of operands joined by `keyword`: "or" joins and-chains, "and"
  // joins primaries, which makes AND bind tighter.
  Result<std::string> ParseChain(int depth, std::string_view keyword) {
    bool is_or = keyword == "or";
    std::vector<std::string> parts;
    while (true) {
      if (is_or) {
        CAIRN_ASSIGN_OR_RETURN(std::string part, ParseChain(depth, "and"));
        parts.push_back(std::move(part));
      } else {
        CAIRN_ASSIGN_OR_RETURN(std::string part, ParsePrimary(depth));
        parts.push_back(std::move(part));
      }
      scan_.SkipSpace();
      size_t keyword_pos = scan_.pos();
      if (!scan_.ConsumeKeyword(keyword)) break;
      if (scan_.AtEnd()) {
        return scan_.Error(keyword_pos, "'" + std::string(keyword) + "' has nothing after it",
                           "; follow it with a comparison such as metrics.acc > 0.9");
      }
    }
    if (parts.size() == 1) return std::move(parts[0]);
    if (is_or && depth == 0) top_level_or_ = true;
    std::string sql = "(";
    for (size_t i = 0; i < parts.size(); ++i) {
      if (i > 0) sql += is_or ? " OR " : " AND ";
      sql += parts[i];
    }
    return sql + ")";
  }

  Result<std::string> ParsePrimary(int depth) {
    scan_.SkipSpace();
    if (scan_.Peek() != '(') {
      comparison_depth_ = depth;
      return ParseComparison();
    }
    size_t open = scan_.pos();
    if (depth >= kMaxDepth) {
      return scan_.Error(open, "parentheses nested too deeply",
                         "; at most " + std::to_string(kMaxDepth) + " levels are allowed");
    }
    scan_.ConsumeChar('(');
    CAIRN_ASSIGN_OR_RETURN(std::string inner, ParseOr(depth + 1));
    if (scan_.ConsumeChar(')')) return inner;
    if (scan_.AtEnd()) {
      return scan_.Error(open, "unbalanced '('", ": the filter ends before its ')'");
    }
    return scan_.Error(scan_.pos(), "expected ')', 'and' or 'or'",
                       ", found " + scan_.Describe(scan_.pos()));
  }

  Result<std::string> ParseComparison() {
    Comparison c;
    CAIRN_ASSIGN_OR_RETURN(c.id, scan_.ParseIdentifier());
    CAIRN_RETURN_IF_ERROR(ParseOperator(&c));
    std::string after = "'" + std::string(OpSql(c.op)) + "'";
    if (IsList(c.op)) {
      CAIRN_RETURN_IF_ERROR(ParseList(&c, after));
    } else {
      scan_.SkipSpace();
      if (scan_.Peek() == '(') {
        return scan_.Error(scan_.pos(), "a list of values needs IN or NOT IN, not " + after);
      }
      CAIRN_ASSIGN_OR_RETURN(Literal value, scan_.ParseLiteral(after));
      c.values.push_back(std::move(value));
    }
    ++terms_;
    values_ += c.values.size();
    switch (c.id.prefix) {
      case Prefix::kMetric:
        return EmitMetric(c);
      case Prefix::kParam:
        return EmitKeyValue(c, "run_params", "p", "params");
      case Prefix::kTag:
        return EmitKeyValue(c, "run_tags", "t", "tags");
      case Prefix::kAttribute:
        return EmitAttribute(c);
      case Prefix::kDataset:
        return EmitDataset(c);
    }
    return Status::InvalidArgument("filter: unknown prefix");
  }

  Status ParseOperator(Comparison* c) {
    scan_.SkipSpace();
    c->op_pos = scan_.pos();
    std::string_view rest = scan_.text().substr(scan_.pos());
    struct Symbol {
      std::string_view text;
      Op op;
    };
    // Two-character symbols first so "<=" is not read as "<".
    static constexpr Symbol kSymbols[] = {{"!=", Op::kNe}, {"<>", Op::kNe}, {"<=", Op::kLe},
                                          {">=", Op::kGe}, {"=", Op::kEq},  {"<", Op::kLt},
                                          {">", Op::kGt}};
    for (const Symbol& symbol : kSymbols) {
      if (rest.substr(0, symbol.text.size()) == symbol.text) {
        c->op = symbol.op;
        scan_.Advance(symbol.text.size());
        return Status::OK();
      }
    }
    if (scan_.ConsumeKeyword("like")) {
      c->op = Op::kLike;
    } else if (scan_.ConsumeKeyword("ilike")) {
      c->op = Op::kILike;
    } else if (scan_.ConsumeKeyword("in")) {
      c->op = Op::kIn;
    } else if (scan_.ConsumeKeyword("not")) {
      scan_.SkipSpace();
      size_t in_pos = scan_.pos();
      if (!scan_.ConsumeKeyword("in")) {
        return scan_.Error(in_pos, "expected IN after NOT", ", found " + scan_.Describe(in_pos));
      }
      c->op = Op::kNotIn;
    } else {
      return scan_.Error(c->op_pos, "expected a comparison operator after '" + c->id.text + "'",
                         "; use =, !=, <, <=, >, >=, LIKE, ILIKE, IN or NOT IN");
    }
    return Status::OK();
  }

  Status ParseList(Comparison* c, const std::string& after) {
    scan_.SkipSpace();
    size_t open = scan_.pos();
    if (!scan_.ConsumeChar('(')) {
      return scan_.Error(open, "expected '(' after " + after,
                         ", found " + scan_.Describe(open) + "; write IN ('a', 'b')");
    }
    if (scan_.ConsumeChar(')')) {
      return scan_.Error(open, "empty IN list", "; give at least one value: IN ('a', 'b')");
    }
    while (true) {
      CAIRN_ASSIGN_OR_RETURN(Literal value, scan_.ParseLiteral(c->values.empty() ? "'('" : "','"));
      c->values.push_back(std::move(value));
      if (scan_.ConsumeChar(')')) return Status::OK();
      size_t at = scan_.pos();
      if (scan_.AtEnd()) {
        return scan_.Error(open, "unbalanced '('", ": the IN list has no closing ')'");
      }
      if (!scan_.ConsumeChar(',')) {
        return scan_.Error(at, "expected ',' or ')' in the IN list",
                           ", found " + scan_.Describe(at));
      }
    }
  }

  Status WrongOp(const Comparison& c, std::string_view allowed) {
    return scan_.Error(c.op_pos,
                       "'" + std::string(OpSql(c.op)) + "' does not apply to " + c.id.text,
                       "; use " + std::string(allowed));
  }

  // metrics.K op NUMBER against the latest value. NaN is stored as NULL, so
  // it satisfies no comparison.
  Result<std::string> EmitMetric(const Comparison& c) {
    if (IsPattern(c.op)) {
      return WrongOp(c, "=, !=, <, <=, >, >=, IN or NOT IN: metrics are numbers");
    }
    for (const Literal& v : c.values) {
      if (!v.is_number) {
        return scan_.Error(v.pos,
                           "metric '" + c.id.key + "' is a number, not the string '" + v.text + "'",
                           "; drop the quotes");
      }
    }
    binds_.emplace_back(std::in_place_type<std::string>, c.id.key);
    for (const Literal& v : c.values) binds_.push_back(v.number);
    if (comparison_depth_ == 0 && (c.op == Op::kEq || IsOrdering(c.op))) {
      bounds_.push_back(MetricBound{c.id.key, std::string(OpSql(c.op)), c.values[0].number});
    }
    return "EXISTS (SELECT 1 FROM run_metrics m WHERE m.run = r.id AND m.key = ? AND m.value " +
           std::string(OpSql(c.op)) + " " + Placeholders(c.op, c.values.size()) + ")";
  }

  // params / tags: string values. A number with =, != or IN stands for its
  // text as written; with <, <=, >, >= the stored value is read as a number.
  Result<std::string> EmitKeyValue(const Comparison& c, std::string_view table,
                                   std::string_view alias, std::string_view what) {
    std::string column = std::string(alias) + ".value";
    std::string test;
    binds_.emplace_back(std::in_place_type<std::string>, c.id.key);  // an error discards binds_, so order is all that matters
    if (IsOrdering(c.op)) {
      const Literal& v = c.values[0];
      if (!v.is_number) {
        return scan_.Error(v.pos,
                           "'" + std::string(OpSql(c.op)) + "' on " + std::string(what) +
                               " needs a number, not the string '" + v.text + "'",
                           "; compare strings with =, !=, LIKE, ILIKE or IN");
      }
      test = "CAST(" + column + " AS REAL) " + std::string(OpSql(c.op)) + " ?";
      binds_.push_back(v.number);
    } else {
      CAIRN_ASSIGN_OR_RETURN(test, StringTest(c, column));
    }
    return "EXISTS (SELECT 1 FROM " + std::string(table) + " " + std::string(alias) + " WHERE " +
           std::string(alias) + ".run = r.id AND " + std::string(alias) + ".key = ? AND " + test +
           ")";
  }

  // `column op ?` for = != LIKE ILIKE IN NOT IN over strings; pushes the
  // value binds. Numbers are accepted as written except for patterns.
  Result<std::string> StringTest(const Comparison& c, const std::string& column) {
    for (const Literal& v : c.values) {
      if (v.is_number && IsPattern(c.op)) {
        return scan_.Error(v.pos, std::string(OpSql(c.op)) + " needs a 'quoted pattern'",
                           "; for example '" + v.text + "%'");
      }
    }
    for (const Literal& v : c.values) binds_.push_back(v.text);
    if (c.op == Op::kILike) return "lower(" + column + ") LIKE lower(?)";
    return column + " " + std::string(OpSql(c.op)) + " " + Placeholders(c.op, c.values.size());
  }

  Result<std::string> EmitAttribute(const Comparison& c) {
    const Attribute* attribute = FindAttribute(c.id.key);
    if (attribute == nullptr) {
      return scan_.Error(c.id.key_pos, "unknown attribute '" + c.id.key + "'", kValidAttributes);
    }
    std::string column = "r." + std::string(attribute->column);
    if (attribute->numeric) {
      if (IsPattern(c.op)) return WrongOp(c, "=, !=, <, <=, >, >=, IN or NOT IN: it is a number");
      for (const Literal& v : c.values) {
        if (!v.is_number) {
          std::string unit = attribute->name == "experiment_id"
                                 ? "a number"
                                 : "a number (milliseconds since the epoch)";
          return scan_.Error(v.pos, c.id.text + " is " + unit + ", not the string '" + v.text + "'",
                             "; drop the quotes");
        }
      }
      for (const Literal& v : c.values) {
        if (v.integer) {
          binds_.push_back(*v.integer);
        } else {
          binds_.push_back(v.number);
        }
      }
      return "(" + column + " " + std::string(OpSql(c.op)) + " " +
             Placeholders(c.op, c.values.size()) + ")";
    }
    if (IsOrdering(c.op)) return WrongOp(c, "=, !=, LIKE, ILIKE, IN or NOT IN: it is a string");
    for (const Literal& v : c.values) {
      if (v.is_number) {
        return scan_.Error(v.pos, c.id.text + " is a string, not the number " + v.text,
                           "; quote it: '" + v.text + "'");
      }
    }
    if (attribute->name != "status" || IsPattern(c.op)) {
      CAIRN_ASSIGN_OR_RETURN(std::string test, StringTest(c, column));
      return "(" + test + ")";
    }
    // Statuses are a closed set stored in uppercase; reject typos rather
    // than silently matching nothing.
    Comparison upper = c;
    for (size_t i = 0; i < upper.values.size(); ++i) {
      Literal& v = upper.values[i];
      v.text = Upper(v.text);
      bool known = false;
      for (std::string_view status : kStatuses) known = known || v.text == status;
      if (!known) {
        return scan_.Error(v.pos, "unknown status '" + c.values[i].text + "'",
                           "; valid statuses: RUNNING, FINISHED, FAILED, KILLED");
      }
    }
    CAIRN_ASSIGN_OR_RETURN(std::string test, StringTest(upper, column));
    return "(" + test + ")";
  }

  // datasets.NAME matches an input of NAME by tag or by version-hex prefix.
  // `!=` / NOT IN mean the run used NAME but no input of NAME matches, so
  // for runs that used NAME, `=` and `!=` are exact complements.
  Result<std::string> EmitDataset(const Comparison& c) {
    if (IsOrdering(c.op) || IsPattern(c.op)) {
      return WrongOp(c, "=, !=, IN or NOT IN with a tag or a version prefix");
    }
    for (const Literal& v : c.values) {
      if (v.text.empty()) {
        return scan_.Error(v.pos, "empty dataset tag or version",
                           "; give a tag such as 'v3' or at least 4 hex digits of a version");
      }
    }
    // One IN for the tags and one per length of the version prefixes given,
    // not a test per value: the SQL stays a few terms deep however long the
    // list (SQLite counts an expression inside EXISTS twice towards its limit).
    std::vector<SqlValue> match_binds;
    std::string match = "(i.tag IN " + Placeholders(Op::kIn, c.values.size());
    for (const Literal& v : c.values) match_binds.push_back(v.text);
    std::map<size_t, std::vector<std::string>> prefixes;  // by length
    for (const Literal& v : c.values) {
      if (IsVersionPrefix(v.text)) prefixes[v.text.size()].push_back(v.text);
    }
    for (const auto& [length, group] : prefixes) {
      match += " OR substr(i.version, 1, " + std::to_string(length) + ") IN " + Placeholders(Op::kIn, group.size());
      match_binds.insert(match_binds.end(), group.begin(), group.end());
    }
    match += ")";
    constexpr char kUsed[] =
        "EXISTS (SELECT 1 FROM run_inputs i WHERE i.run = r.id AND i.dataset = ?";
    bool negated = c.op == Op::kNe || c.op == Op::kNotIn;
    std::string sql;
    if (negated) {
      sql = "(" + std::string(kUsed) + ") AND NOT ";
      binds_.emplace_back(std::in_place_type<std::string>, c.id.key);
    }
    sql += std::string(kUsed) + " AND " + match + ")";
    binds_.emplace_back(std::in_place_type<std::string>, c.id.key);
    binds_.insert(binds_.end(), match_binds.begin(), match_binds.end());
    return negated ? sql + ")" : sql;
  }

  Scanner scan_;
  std::vector<SqlValue> binds_;
  std::vector<MetricBound> bounds_;
  int comparison_depth_ = 0;  // parentheses around the comparison being parsed
  bool top_level_or_ = false;
  size_t terms_ = 0;   // comparisons, for kMaxTerms
  size_t values_ = 0;  // literals, as counted for kMaxValues
};

}  // namespace

Result<SqlFragment> CompileFilter(std::string_view filter) {
  return FilterCompiler(filter).Compile();
}

Result<std::vector<OrderKey>> ParseOrderBy(const std::vector<std::string>& clauses) {
  std::vector<OrderKey> keys;
  for (const std::string& clause : clauses) {
    Scanner scan(clause, "order by", "clause", kOrderHint);
    if (scan.AtEnd()) continue;
    while (true) {
      CAIRN_ASSIGN_OR_RETURN(Identifier id, scan.ParseIdentifier());
      OrderKey key;
      key.key = id.key;
      switch (id.prefix) {
        case Prefix::kMetric:
          key.kind = OrderKey::Kind::kMetric;
          break;
        case Prefix::kParam:
          key.kind = OrderKey::Kind::kParam;
          break;
        case Prefix::kTag:
          key.kind = OrderKey::Kind::kTag;
          break;
        case Prefix::kAttribute: {
          const Attribute* attribute = FindAttribute(id.key);
          if (attribute == nullptr) {
            return scan.Error(id.key_pos, "unknown attribute '" + id.key + "'", kValidAttributes);
          }
          key.kind = OrderKey::Kind::kAttribute;
          key.key = std::string(attribute->column);
          break;
        }
        case Prefix::kDataset:
          return scan.Error(id.pos, "cannot order by " + id.text,
                            "; order by metrics, params, tags or attributes");
      }
      if (scan.ConsumeKeyword("desc")) {
        key.descending = true;
      } else {
        scan.ConsumeKeyword("asc");
      }
      keys.push_back(std::move(key));
      if (scan.AtEnd()) break;
      size_t at = scan.pos();
      if (!scan.ConsumeChar(',')) {
        return scan.Error(at, "unexpected " + scan.Describe(at),
                          "; expected ASC, DESC, ',' or the end of the clause");
      }
      if (scan.AtEnd()) {
        return scan.Error(at, "',' has nothing after it", "; remove it or add a key");
      }
    }
  }
  return keys;
}

}  // namespace cairn
