// Expression rules: a filter over ModelGateFilterSchema() evaluated
// against the candidate version and the versions aliases name.
//
// Each comparison comes out as one of four truths. Missing (the version
// lacks the metric, a value that must be a number is not one, NaN) fails
// the rule whatever surrounds it, NOT included: a gate never passes for
// want of data. Vacuous (an operand names an alias no version holds: the
// first promotion to production has nothing to beat) passes, NOT included;
// an alias that was never this model's (a typo: GateContext::
// unknown_aliases) is missing data, not a first promotion, and fails.
#include <charconv>
#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cairn/filter.h"
#include "cairn/gate.h"
#include "registry/gate_internal.h"

namespace cairn::gate_internal {
namespace {

enum class Truth { kFalse, kTrue, kMissing, kVacuous };

bool Passes(Truth t) { return t == Truth::kTrue || t == Truth::kVacuous; }

// A value of one side of a comparison.
struct Value {
  enum class State { kFound, kMissing, kNoHolder, kUnknownAlias };
  State state = State::kFound;
  bool numeric = false;  // a metric or a number attribute: only a number will do
  std::optional<double> number;  // when it is, or reads as, a number
  std::string text;              // as shown
  std::string holder_note;       // "retriever@2, deprecated" for a deprecated version an alias holds
};

std::optional<double> ReadNumber(const std::string& text) {
  double value = 0;
  const char* begin = text.data();
  const char* end = begin + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

std::string Quote(const std::string& text) { return "'" + text + "'"; }

// LIKE: % any run of characters, _ any one byte; ILIKE in ASCII lowercase.
bool Like(std::string_view value, std::string_view pattern, bool fold) {
  auto lower = [fold](char c) { return fold && c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  size_t v = 0, p = 0, star = std::string_view::npos, mark = 0;
  while (v < value.size()) {
    if (p < pattern.size() && pattern[p] == '%') {
      star = p++;
      mark = v;
    } else if (p < pattern.size() && (pattern[p] == '_' || lower(pattern[p]) == lower(value[v]))) {
      ++p;
      ++v;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      v = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '%') ++p;
  return p == pattern.size();
}

class ExpressionRule : public GateRule {
 public:
  explicit ExpressionRule(FilterTree tree) : tree_(std::move(tree)) {
    CollectAliases(*tree_.root, &aliases_);
  }

  std::vector<std::string> Aliases() const override { return {aliases_.begin(), aliases_.end()}; }

  Result<GateRuleResult> Evaluate(const GateContext& context) const override {
    GateRuleResult result;
    result.kind = "expression";
    result.rule = tree_.text;
    std::string shown;
    Truth truth = Node(*tree_.root, context, &result, &shown, true);
    result.outcome = Passes(truth) ? GateOutcome::kPass : GateOutcome::kFail;
    result.summary = shown + ": " + GateOutcomeName(result.outcome);
    return result;
  }

 private:
  static void CollectAliases(const FilterNode& node, std::set<std::string>* out) {
    if (node.kind != FilterNode::Kind::kComparison) {
      for (const FilterNode& child : node.children) CollectAliases(child, out);
      return;
    }
    if (!node.comparison.alias.empty()) out->insert(node.comparison.alias);
    if (node.comparison.operand && !node.comparison.operand->alias.empty())
      out->insert(node.comparison.operand->alias);
  }

  Truth Node(const FilterNode& node, const GateContext& context, GateRuleResult* result, std::string* shown,
             bool top) const {
    switch (node.kind) {
      case FilterNode::Kind::kComparison:
        return Compare(node.comparison, context, result, shown);
      case FilterNode::Kind::kNot: {
        std::string inner;
        Truth t = Node(node.children[0], context, result, &inner, false);
        *shown = "not " + inner;
        if (t == Truth::kTrue) return Truth::kFalse;
        if (t == Truth::kFalse) return Truth::kTrue;
        return t;
      }
      case FilterNode::Kind::kAnd:
      case FilterNode::Kind::kOr: {
        bool is_and = node.kind == FilterNode::Kind::kAnd;
        bool any_false = false, any_true = false, any_missing = false;
        std::string text;
        for (size_t i = 0; i < node.children.size(); ++i) {
          std::string part;
          Truth t = Node(node.children[i], context, result, &part, false);
          if (i > 0) text += is_and ? " and " : " or ";
          text += part;
          any_false = any_false || t == Truth::kFalse;
          any_true = any_true || Passes(t);
          any_missing = any_missing || t == Truth::kMissing;
        }
        *shown = top ? text : "(" + text + ")";
        if (is_and) return any_false ? Truth::kFalse : any_missing ? Truth::kMissing : Truth::kTrue;
        return any_true ? Truth::kTrue : any_missing ? Truth::kMissing : Truth::kFalse;
      }
    }
    return Truth::kMissing;
  }

  // The value `alias`.`entity`.`key` has in the version under test or the
  // one the alias names.
  static Value Lookup(const std::string& alias, FilterEntity entity, const std::string& key,
                      const GateContext& context) {
    Value v;
    const ModelVersionState* state = context.candidate;
    if (!alias.empty()) {
      auto it = context.alias_holders.find(alias);
      if (it == context.alias_holders.end()) {
        if (auto unknown = context.unknown_aliases.find(alias); unknown != context.unknown_aliases.end()) {
          v.state = Value::State::kUnknownAlias;
          v.text = unknown->second;
          return v;
        }
        v.state = Value::State::kNoHolder;
        v.text = "no version holds " + alias;
        return v;
      }
      state = &it->second;
      if (state->deprecated) {
        v.holder_note = state->version.model + "@" + std::to_string(state->version.version) + ", deprecated";
      }
    }
    const ModelVersion& version = state->version;
    auto text_value = [&v](const std::map<std::string, std::string>& map, const std::string& k) {
      auto it = map.find(k);
      if (it == map.end()) {
        v.state = Value::State::kMissing;
        v.text = "missing";
        return;
      }
      v.text = it->second;
      v.number = ReadNumber(it->second);
    };
    switch (entity) {
      case FilterEntity::kMetric: {
        v.numeric = true;
        auto it = version.metrics.find(key);
        if (it == version.metrics.end()) {
          v.state = Value::State::kMissing;
          v.text = "missing";
        } else {
          v.number = it->second;
          v.text = FormatNumber(it->second);
        }
        return v;
      }
      case FilterEntity::kParam:
        text_value(version.params, key);
        return v;
      case FilterEntity::kTag:
        text_value(version.tags, key);
        return v;
      default:
        break;
    }
    if (key == "version" || key == "time") {
      v.numeric = true;
      v.number = static_cast<double>(key == "version" ? version.version : version.time_ms);
      v.text = std::to_string(key == "version" ? version.version : version.time_ms);
    } else {
      v.text = key == "user" ? version.user : version.run;
    }
    return v;
  }

  static std::string Shown(const std::string& spelled, const Value& v) {
    if (v.state == Value::State::kNoHolder || v.state == Value::State::kUnknownAlias)
      return spelled + " (" + v.text + ")";
    std::string note = v.holder_note.empty() ? std::string() : " (" + v.holder_note + ")";
    if (v.state == Value::State::kMissing) return spelled + " missing" + note;
    return spelled + " " + (v.numeric ? v.text : Quote(v.text)) + note;
  }

  static std::optional<bool> Order(FilterOp op, double a, double b) {
    if (std::isnan(a) || std::isnan(b)) return std::nullopt;
    switch (op) {
      case FilterOp::kEq:
        return a == b;
      case FilterOp::kNe:
        return a != b;
      case FilterOp::kLt:
        return a < b;
      case FilterOp::kLe:
        return a <= b;
      case FilterOp::kGt:
        return a > b;
      case FilterOp::kGe:
        return a >= b;
      default:
        return std::nullopt;
    }
  }

  static bool OrderText(FilterOp op, const std::string& a, const std::string& b) {
    int c = a.compare(b);
    switch (op) {
      case FilterOp::kEq:
        return c == 0;
      case FilterOp::kNe:
        return c != 0;
      case FilterOp::kLt:
        return c < 0;
      case FilterOp::kLe:
        return c <= 0;
      case FilterOp::kGt:
        return c > 0;
      case FilterOp::kGe:
        return c >= 0;
      default:
        return false;
    }
  }

  static bool IsOrdering(FilterOp op) {
    return op == FilterOp::kLt || op == FilterOp::kLe || op == FilterOp::kGt || op == FilterOp::kGe;
  }

  // One literal of the right side against the left value: numbers compare
  // as numbers (a param that reads as one, with a number literal), text as
  // text. Missing when a number was needed and the value is not one.
  static Truth AgainstLiteral(FilterOp op, const Value& left, const FilterValue& literal) {
    if (op == FilterOp::kLike || op == FilterOp::kILike)
      return Like(left.text, literal.text, op == FilterOp::kILike) ? Truth::kTrue : Truth::kFalse;
    FilterOp eq = op == FilterOp::kIn ? FilterOp::kEq : op == FilterOp::kNotIn ? FilterOp::kNe : op;
    if (literal.is_number && (left.numeric || IsOrdering(eq) || left.number)) {
      if (!left.number) return left.numeric || IsOrdering(eq) ? Truth::kMissing : Truth::kFalse;
      std::optional<bool> r = Order(eq, *left.number, literal.number);
      if (!r) return Truth::kMissing;
      return *r ? Truth::kTrue : Truth::kFalse;
    }
    return OrderText(eq, left.text, literal.text) ? Truth::kTrue : Truth::kFalse;
  }

  Truth Compare(const FilterComparison& c, const GateContext& context, GateRuleResult* result,
                std::string* shown) const {
    Value left = Lookup(c.alias, c.entity, c.key, context);
    result->observations.push_back({c.spelled, left.text});
    std::string op(FilterOpText(c.op));
    std::optional<Value> right;
    std::string right_text;
    if (c.operand) {
      right = Lookup(c.operand->alias, c.operand->entity, c.operand->key, context);
      result->observations.push_back({c.operand->spelled, right->text});
      right_text = Shown(c.operand->spelled, *right);
    } else if (c.op == FilterOp::kIn || c.op == FilterOp::kNotIn) {
      right_text = "(";
      for (size_t i = 0; i < c.values.size(); ++i) {
        const FilterValue& v = c.values[i];
        right_text += (i ? ", " : "") + (v.is_number ? v.text : Quote(v.text));
      }
      right_text += ")";
    } else {
      right_text = c.values[0].is_number ? c.values[0].text : Quote(c.values[0].text);
    }
    *shown = Shown(c.spelled, left) + " " + op + " " + right_text;
    // An alias that was never set is a mistake, not a first promotion.
    if (left.state == Value::State::kUnknownAlias || (right && right->state == Value::State::kUnknownAlias))
      return Truth::kMissing;
    // An alias nobody holds has nothing to compare with: the comparison
    // passes, and says why.
    if (left.state == Value::State::kNoHolder || (right && right->state == Value::State::kNoHolder))
      return Truth::kVacuous;
    if (left.state == Value::State::kMissing || (right && right->state == Value::State::kMissing))
      return Truth::kMissing;
    if (right) {
      bool numbers = left.numeric || right->numeric || (left.number && right->number);
      if (numbers) {
        if (!left.number || !right->number) return Truth::kMissing;
        std::optional<bool> r = Order(c.op, *left.number, *right->number);
        if (!r) return Truth::kMissing;
        return *r ? Truth::kTrue : Truth::kFalse;
      }
      return OrderText(c.op, left.text, right->text) ? Truth::kTrue : Truth::kFalse;
    }
    if (c.op == FilterOp::kIn || c.op == FilterOp::kNotIn) {
      bool negated = c.op == FilterOp::kNotIn;
      bool any = false;
      for (const FilterValue& v : c.values) {
        Truth t = AgainstLiteral(FilterOp::kEq, left, v);
        if (t == Truth::kMissing) return t;
        any = any || t == Truth::kTrue;
      }
      return any != negated ? Truth::kTrue : Truth::kFalse;
    }
    return AgainstLiteral(c.op, left, c.values[0]);
  }

  FilterTree tree_;
  std::set<std::string> aliases_;
};

}  // namespace

Result<std::unique_ptr<GateRule>> ParseExpressionRule(const std::string& text, size_t* error_pos) {
  CAIRN_ASSIGN_OR_RETURN(FilterTree tree, ParseFilter(text, ModelGateFilterSchema(), error_pos));
  if (!tree.root) {
    if (error_pos) *error_pos = 0;
    return Status::InvalidArgument("empty gate rule", "write an expression such as metrics.mrr >= 0.70");
  }
  return std::unique_ptr<GateRule>(new ExpressionRule(std::move(tree)));
}

}  // namespace cairn::gate_internal
