// The filter parser: recursive descent over the scanner, building the
// syntax tree and checking each comparison against the schema (value types,
// operators, closed value sets), so that every tree it returns means
// something and any emitter can turn it into SQL without failing.
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cairn/filter.h"
#include "tracking/filter_key.h"
#include "tracking/filter_lexer.h"

namespace cairn {
namespace {

using filter_internal::FindAttribute;
using filter_internal::ParsedKey;
using filter_internal::Scanner;
using filter_internal::Upper;

constexpr char kFilterHint[] =
    "example: metrics.acc > 0.9 and (params.lr = '0.1' or tags.team = 'x'); quote string values "
    "with single quotes and keys holding spaces with backticks (tags.`my key`)";
constexpr char kOrderHint[] = "example: metrics.acc DESC, attributes.start_time ASC";

// Limits that keep every tree within what the databases parse
// (filter_test.cc runs filters at each limit in SQLite). Parentheses and
// NOT nest in the SQL, where SQLite's parser stack (100 entries) runs out
// after about 14 levels of mixed and/or.
constexpr int kMaxDepth = 10;
// An and/or chain of N comparisons is an SQL expression N deep, and SQLite
// refuses expressions deeper than 1000 (the deepest comparison adds ~130).
constexpr size_t kMaxTerms = 500;
// Every value is a bind, and SQLite takes at most 32766 of them.
constexpr size_t kMaxValues = 10000;
// SQLite refuses LIKE/GLOB patterns longer than 50000 bytes ("pattern too
// complex"); no real search needs a tenth of that.
constexpr size_t kMaxPatternBytes = 10000;
// SQLite takes at most 2000 terms in ORDER BY (with its tie-breakers).
constexpr size_t kMaxOrderTerms = 100;

bool IsOrdering(FilterOp op) {
  return op == FilterOp::kLt || op == FilterOp::kLe || op == FilterOp::kGt || op == FilterOp::kGe;
}
bool IsPattern(FilterOp op) { return op == FilterOp::kLike || op == FilterOp::kILike; }
bool IsList(FilterOp op) { return op == FilterOp::kIn || op == FilterOp::kNotIn; }

std::string Quoted(FilterOp op) { return "'" + std::string(FilterOpText(op)) + "'"; }

class FilterParser {
 public:
  FilterParser(std::string_view text, const FilterSchema& schema)
      : scan_(text, "filter", "filter", kFilterHint), schema_(schema) {}

  Result<FilterTree> Parse() {
    FilterTree tree;
    tree.text = std::string(scan_.text());
    if (scan_.AtEnd()) return tree;
    CAIRN_ASSIGN_OR_RETURN(FilterNode root, ParseChain(0, FilterNode::Kind::kOr));
    if (!scan_.AtEnd()) {
      if (scan_.Peek() == ')')
        return scan_.Error(scan_.pos(), "unbalanced ')'", " with no matching '('");
      return scan_.Error(scan_.pos(), "unexpected " + scan_.Describe(scan_.pos()),
                         "; expected 'and', 'or' or the end of the filter");
    }
    if (terms_ > kMaxTerms || values_ > kMaxValues) {
      std::string what = terms_ > kMaxTerms
                             ? std::to_string(terms_) + " comparisons joined by and/or; at most " +
                                   std::to_string(kMaxTerms) + " are allowed"
                             : std::to_string(values_) + " values; at most " +
                                   std::to_string(kMaxValues) +
                                   " are allowed (each value of an IN list counts as one)";
      return Status::InvalidArgument(
          "filter is too large: it has " + what,
          "split the search into smaller ones, or match many values of one key with "
          "one IN list, such as attributes.run_id IN ('...', '...')");
    }
    tree.root = std::move(root);
    return tree;
  }

 private:
  // A chain of operands joined by OR (of AND chains) or by AND (of
  // primaries), which makes AND bind tighter.
  Result<FilterNode> ParseChain(int depth, FilterNode::Kind kind) {
    bool is_or = kind == FilterNode::Kind::kOr;
    std::string_view keyword = is_or ? "or" : "and";
    FilterNode chain;
    chain.kind = kind;
    scan_.SkipSpace();
    chain.pos = scan_.pos();
    while (true) {
      if (is_or) {
        CAIRN_ASSIGN_OR_RETURN(FilterNode part, ParseChain(depth, FilterNode::Kind::kAnd));
        chain.children.push_back(std::move(part));
      } else {
        CAIRN_ASSIGN_OR_RETURN(FilterNode part, ParsePrimary(depth));
        chain.children.push_back(std::move(part));
      }
      scan_.SkipSpace();
      size_t keyword_pos = scan_.pos();
      if (!scan_.ConsumeKeyword(keyword)) break;
      if (scan_.AtEnd()) {
        return scan_.Error(keyword_pos, "'" + std::string(keyword) + "' has nothing after it",
                           "; follow it with a comparison such as metrics.acc > 0.9");
      }
    }
    if (chain.children.size() == 1) return std::move(chain.children[0]);
    return chain;
  }

  Result<FilterNode> ParsePrimary(int depth) {
    scan_.SkipSpace();
    size_t start = scan_.pos();
    bool is_not = scan_.KeywordAhead("not") && scan_.PeekAt(start + 3) != '.';
    if (scan_.Peek() != '(' && !is_not) return ParseComparison();
    if (depth >= kMaxDepth) {
      return scan_.Error(
          start, is_not ? "NOT nested too deeply" : "parentheses nested too deeply",
          "; at most " + std::to_string(kMaxDepth) + " levels of parentheses and NOT are allowed");
    }
    if (is_not) {
      (void)scan_.ConsumeKeyword("not");
      if (scan_.AtEnd()) {
        return scan_.Error(start, "'not' has nothing after it",
                           "; follow it with a comparison or a '('");
      }
      FilterNode node;
      node.kind = FilterNode::Kind::kNot;
      node.pos = start;
      CAIRN_ASSIGN_OR_RETURN(FilterNode inner, ParsePrimary(depth + 1));
      node.children.push_back(std::move(inner));
      return node;
    }
    (void)scan_.ConsumeChar('(');
    CAIRN_ASSIGN_OR_RETURN(FilterNode inner, ParseChain(depth + 1, FilterNode::Kind::kOr));
    if (scan_.ConsumeChar(')')) return inner;
    if (scan_.AtEnd())
      return scan_.Error(start, "unbalanced '('", ": the filter ends before its ')'");
    return scan_.Error(scan_.pos(), "expected ')', 'and' or 'or'",
                       ", found " + scan_.Describe(scan_.pos()));
  }

  Result<FilterNode> ParseComparison() {
    FilterNode node;
    FilterComparison& c = node.comparison;
    CAIRN_ASSIGN_OR_RETURN(ParsedKey key, filter_internal::ParseKey(scan_, schema_));
    node.pos = key.pos;
    c.alias = std::move(key.alias);
    c.entity = key.entity;
    c.key = std::move(key.key);
    c.fallback_attribute = std::move(key.fallback_attribute);
    c.spelled = std::move(key.spelled);
    c.pos = key.pos;
    c.key_pos = key.key_pos;
    CAIRN_RETURN_IF_ERROR(ParseOperator(&c));
    std::string after = Quoted(c.op);
    if (IsList(c.op)) {
      CAIRN_RETURN_IF_ERROR(ParseList(&c, after));
    } else {
      scan_.SkipSpace();
      if (scan_.Peek() == '(')
        return scan_.Error(scan_.pos(), "a list of values needs IN or NOT IN, not " + after);
      if (schema_.alias_operands && StartsOperand(scan_.Peek())) {
        CAIRN_RETURN_IF_ERROR(ParseOperand(&c));
        ++terms_;
        ++values_;
        return node;
      }
      CAIRN_ASSIGN_OR_RETURN(FilterValue value, scan_.ParseValue(after));
      c.values.push_back(std::move(value));
    }
    if (IsPattern(c.op) && c.values[0].text.size() > kMaxPatternBytes) {
      return Status::InvalidArgument("filter is too large: it has a " + std::string(FilterOpText(c.op)) +
                                         " pattern of " + std::to_string(c.values[0].text.size()) +
                                         " bytes; at most " + std::to_string(kMaxPatternBytes) + " are allowed",
                                     "match a shorter part of the value, such as its start with 'prefix%'");
    }
    ++terms_;
    values_ += c.values.size();
    CAIRN_RETURN_IF_ERROR(Check(&c));
    return node;
  }

  // A key (not a number or a quoted string) starts with a letter, '_' or
  // a backtick.
  static bool StartsOperand(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '`';
  }

  // The right side as an operand (production.metrics.mrr, metrics.loss):
  // only for =, !=, <, <=, >, >=, and only between keys that hold values
  // of one kind (numbers with numbers; params and tags are text that may be
  // read as numbers, so they go with either).
  Status ParseOperand(FilterComparison* c) {
    CAIRN_ASSIGN_OR_RETURN(ParsedKey key, filter_internal::ParseKey(scan_, schema_));
    if (IsPattern(c->op)) {
      return scan_.Error(key.pos, std::string(FilterOpText(c->op)) + " needs a 'quoted pattern', not " +
                                      key.spelled,
                         "; compare two keys with =, !=, <, <=, >, >=");
    }
    auto is_number = [this](FilterEntity entity, const std::string& name) {
      if (entity == FilterEntity::kMetric) return 1;
      if (entity == FilterEntity::kAttribute)
        return FindAttribute(schema_, name)->type == FilterType::kNumber ? 1 : -1;
      return 0;  // params, tags: either
    };
    int left = is_number(c->entity, c->key);
    int right = is_number(key.entity, key.key);
    if (left * right < 0) {
      return scan_.Error(key.pos, c->spelled + " and " + key.spelled + " cannot be compared",
                         "; one is a number and the other a string");
    }
    if (key.entity != FilterEntity::kMetric && key.entity != FilterEntity::kParam &&
        key.entity != FilterEntity::kTag && key.entity != FilterEntity::kAttribute) {
      return scan_.Error(key.pos, "cannot compare with " + key.spelled,
                         "; compare with metrics, params, tags or attributes");
    }
    FilterOperand operand;
    operand.alias = std::move(key.alias);
    operand.entity = key.entity;
    operand.key = std::move(key.key);
    operand.spelled = std::move(key.spelled);
    operand.pos = key.pos;
    c->operand = std::move(operand);
    return Status::OK();
  }

  Status ParseOperator(FilterComparison* c) {
    scan_.SkipSpace();
    c->op_pos = scan_.pos();
    std::string_view rest = scan_.text().substr(scan_.pos());
    struct Symbol {
      std::string_view text;
      FilterOp op;
    };
    // Two-character symbols first so "<=" is not read as "<".
    static constexpr Symbol kSymbols[] = {
        {"!=", FilterOp::kNe}, {"<>", FilterOp::kNe}, {"<=", FilterOp::kLe}, {">=", FilterOp::kGe},
        {"=", FilterOp::kEq},  {"<", FilterOp::kLt},  {">", FilterOp::kGt}};
    for (const Symbol& symbol : kSymbols) {
      if (rest.substr(0, symbol.text.size()) == symbol.text) {
        c->op = symbol.op;
        scan_.Advance(symbol.text.size());
        return Status::OK();
      }
    }
    if (scan_.ConsumeKeyword("like")) {
      c->op = FilterOp::kLike;
    } else if (scan_.ConsumeKeyword("ilike")) {
      c->op = FilterOp::kILike;
    } else if (scan_.ConsumeKeyword("in")) {
      c->op = FilterOp::kIn;
    } else if (scan_.ConsumeKeyword("not")) {
      scan_.SkipSpace();
      size_t in_pos = scan_.pos();
      if (!scan_.ConsumeKeyword("in")) {
        return scan_.Error(in_pos, "expected IN after NOT", ", found " + scan_.Describe(in_pos));
      }
      c->op = FilterOp::kNotIn;
    } else {
      return scan_.Error(c->op_pos, "expected a comparison operator after '" + c->spelled + "'",
                         "; use =, !=, <, <=, >, >=, LIKE, ILIKE, IN or NOT IN");
    }
    return Status::OK();
  }

  Status ParseList(FilterComparison* c, const std::string& after) {
    scan_.SkipSpace();
    size_t open = scan_.pos();
    if (!scan_.ConsumeChar('(')) {
      return scan_.Error(open, "expected '(' after " + after,
                         ", found " + scan_.Describe(open) + "; write IN ('a', 'b')");
    }
    if (scan_.ConsumeChar(')'))
      return scan_.Error(open, "empty IN list", "; give at least one value: IN ('a', 'b')");
    while (true) {
      CAIRN_ASSIGN_OR_RETURN(FilterValue value,
                             scan_.ParseValue(c->values.empty() ? "'('" : "','"));
      c->values.push_back(std::move(value));
      if (scan_.ConsumeChar(')')) return Status::OK();
      size_t at = scan_.pos();
      if (scan_.AtEnd())
        return scan_.Error(open, "unbalanced '('", ": the IN list has no closing ')'");
      if (!scan_.ConsumeChar(',')) {
        return scan_.Error(at, "expected ',' or ')' in the IN list",
                           ", found " + scan_.Describe(at));
      }
    }
  }

  Status WrongOp(const FilterComparison& c, std::string_view allowed) {
    return scan_.Error(c.op_pos, Quoted(c.op) + " does not apply to " + c.spelled,
                       "; use " + std::string(allowed));
  }

  // The first value that is (or is not) a number.
  const FilterValue* FirstOfKind(const FilterComparison& c, bool number) {
    for (const FilterValue& v : c.values) {
      if (v.is_number == number) return &v;
    }
    return nullptr;
  }

  Status Check(FilterComparison* c) {
    switch (c->entity) {
      case FilterEntity::kMetric:
        if (IsPattern(c->op))
          return WrongOp(*c, "=, !=, <, <=, >, >=, IN or NOT IN: metrics are numbers");
        if (const FilterValue* v = FirstOfKind(*c, false)) {
          return scan_.Error(
              v->pos, "metric '" + c->key + "' is a number, not the string '" + v->text + "'",
              "; drop the quotes");
        }
        return Status::OK();
      case FilterEntity::kParam:
      case FilterEntity::kTag:
        return CheckKeyValue(*c);
      case FilterEntity::kAttribute:
        return CheckAttribute(c);
      case FilterEntity::kDataset:
        if (IsOrdering(c->op) || IsPattern(c->op)) {
          return WrongOp(*c, "=, !=, IN or NOT IN with a tag or a version prefix");
        }
        for (const FilterValue& v : c->values) {
          if (v.text.empty()) {
            return scan_.Error(v.pos, "empty dataset tag or version",
                               "; give a tag such as 'v3' or at least 4 hex digits of a version");
          }
        }
        return Status::OK();
      case FilterEntity::kDatasetField:
        return CheckString(*c, "=, !=, LIKE, ILIKE, IN or NOT IN: it is a string");
    }
    return Status::OK();
  }

  // params / tags hold strings. A number with =, != or IN stands for its
  // text as written; with <, <=, >, >= the stored value is read as a number.
  Status CheckKeyValue(const FilterComparison& c) {
    std::string what(FilterEntityName(c.entity));
    if (IsOrdering(c.op)) {
      const FilterValue& v = c.values[0];
      if (!v.is_number) {
        return scan_.Error(
            v.pos,
            Quoted(c.op) + " on " + what + " needs a number, not the string '" + v.text + "'",
            "; compare strings with =, !=, LIKE, ILIKE or IN");
      }
      return Status::OK();
    }
    if (IsPattern(c.op)) {
      if (const FilterValue* v = FirstOfKind(c, true)) {
        return scan_.Error(v->pos, std::string(FilterOpText(c.op)) + " needs a 'quoted pattern'",
                           "; for example '" + v->text + "%'");
      }
    }
    return Status::OK();
  }

  Status CheckString(const FilterComparison& c, std::string_view allowed) {
    if (IsOrdering(c.op)) return WrongOp(c, allowed);
    if (const FilterValue* v = FirstOfKind(c, true)) {
      return scan_.Error(v->pos, c.spelled + " is a string, not the number " + v->text,
                         "; quote it: '" + v->text + "'");
    }
    return Status::OK();
  }

  Status CheckAttribute(FilterComparison* c) {
    const FilterAttribute* attribute = FindAttribute(schema_, c->key);
    if (attribute->type == FilterType::kNumber) {
      if (IsPattern(c->op)) return WrongOp(*c, "=, !=, <, <=, >, >=, IN or NOT IN: it is a number");
      if (const FilterValue* v = FirstOfKind(*c, false)) {
        std::string unit =
            attribute->unit.empty() ? "a number" : "a number (" + attribute->unit + ")";
        return scan_.Error(v->pos,
                           c->spelled + " is " + unit + ", not the string '" + v->text + "'",
                           "; drop the quotes");
      }
      return Status::OK();
    }
    CAIRN_RETURN_IF_ERROR(CheckString(*c, "=, !=, LIKE, ILIKE, IN or NOT IN: it is a string"));
    if (attribute->closed_values.empty() || IsPattern(c->op)) return Status::OK();
    // A closed set (statuses) is stored in uppercase; reject typos rather
    // than silently matching nothing.
    for (FilterValue& v : c->values) {
      std::string upper = Upper(v.text);
      bool known = false;
      for (const std::string& allowed : attribute->closed_values) known = known || upper == allowed;
      if (!known) {
        std::string list;
        for (const std::string& allowed : attribute->closed_values)
          list += (list.empty() ? "" : ", ") + allowed;
        return scan_.Error(v.pos, "unknown " + attribute->name + " '" + v.text + "'",
                           "; valid values of " + attribute->name + ": " + list);
      }
      v.text = std::move(upper);
    }
    return Status::OK();
  }

 public:
  size_t error_pos() const { return scan_.error_pos(); }

 private:
  Scanner scan_;
  const FilterSchema& schema_;
  size_t terms_ = 0;   // comparisons, for kMaxTerms
  size_t values_ = 0;  // literals, for kMaxValues
};

}  // namespace

Result<FilterTree> ParseFilter(std::string_view text, const FilterSchema& schema) {
  return FilterParser(text, schema).Parse();
}

Result<FilterTree> ParseFilter(std::string_view text, const FilterSchema& schema,
                               size_t* error_pos) {
  FilterParser parser(text, schema);
  Result<FilterTree> tree = parser.Parse();
  if (!tree.ok() && error_pos != nullptr) {
    size_t at = parser.error_pos();
    *error_pos = at == std::string_view::npos ? 0 : at;
  }
  return tree;
}

Result<std::vector<OrderTerm>> ParseOrderTerms(const std::vector<std::string>& clauses,
                                               const FilterSchema& schema) {
  std::vector<OrderTerm> terms;
  for (const std::string& clause : clauses) {
    Scanner scan(clause, "order by", "clause", kOrderHint);
    if (scan.AtEnd()) continue;
    while (true) {
      CAIRN_ASSIGN_OR_RETURN(ParsedKey key, filter_internal::ParseKey(scan, schema));
      if (key.entity == FilterEntity::kDataset || key.entity == FilterEntity::kDatasetField) {
        return scan.Error(key.pos, "cannot order by " + key.spelled,
                          "; order by metrics, params, tags or attributes");
      }
      OrderTerm term;
      term.entity = key.entity;
      term.key = key.key;
      term.pos = key.pos;
      if (!key.fallback_attribute.empty()) {
        term.entity = FilterEntity::kAttribute;
        term.key = key.fallback_attribute;
      }
      if (scan.ConsumeKeyword("desc")) {
        term.descending = true;
      } else {
        (void)scan.ConsumeKeyword("asc");
      }
      terms.push_back(std::move(term));
      if (terms.size() > kMaxOrderTerms) {
        return Status::InvalidArgument("order by is too large: it has more than " +
                                           std::to_string(kMaxOrderTerms) + " keys",
                                       "order by the few keys that matter; at most " +
                                           std::to_string(kMaxOrderTerms) + " are allowed");
      }
      if (scan.AtEnd()) break;
      size_t at = scan.pos();
      if (!scan.ConsumeChar(',')) {
        return scan.Error(at, "unexpected " + scan.Describe(at),
                          "; expected ASC, DESC, ',' or the end of the clause");
      }
      if (scan.AtEnd())
        return scan.Error(at, "',' has nothing after it", "; remove it or add a key");
    }
  }
  return terms;
}

}  // namespace cairn
