// The models: section of cairn.yaml (ParseGates): what loads, and errors
// that name the line and column of the offending token.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cairn/gate.h"

namespace cairn {
namespace {

std::string ErrorOf(const std::string& yaml, const std::string& model = "retriever") {
  auto gates = ParseGates(yaml, model);
  EXPECT_FALSE(gates.ok()) << yaml;
  return gates.ok() ? std::string() : gates.status().message();
}

void ExpectStartsWith(const std::string& text, const std::string& start) {
  EXPECT_EQ(text.substr(0, start.size()), start) << text;
}

TEST(GateLoadTest, LoadsRulesOfOneModel) {
  const char* yaml = R"(stages: {}
models:
  retriever:
    gates:
      - metrics.mrr >= 0.70
      - metrics.mrr > production.metrics.mrr   # passes while nobody holds production
      - evaluated_on: eval@v3
      - approvals: 1
    alias_gates:
      production:
        - approvals: 2
  other:
    gates: [metrics.x > 1]
)";
  auto gates = ParseGates(yaml, "retriever");
  ASSERT_TRUE(gates.ok()) << gates.status().ToString();
  ASSERT_EQ(gates->rules.size(), 4u);
  EXPECT_EQ(gates->rules[0].text, "metrics.mrr >= 0.70");
  EXPECT_EQ(gates->rules[0].kind, "expression");
  EXPECT_EQ(gates->rules[0].line, 5);
  EXPECT_EQ(gates->rules[0].column, 9);
  EXPECT_EQ(gates->rules[1].text, "metrics.mrr > production.metrics.mrr");
  EXPECT_EQ(gates->rules[1].rule->Aliases(), std::vector<std::string>{"production"});
  EXPECT_EQ(gates->rules[2].kind, "evaluated_on");
  EXPECT_EQ(gates->rules[2].text, "evaluated_on: eval@v3");
  EXPECT_EQ(gates->rules[3].kind, "approvals");
  EXPECT_EQ(gates->rules[3].line, 8);
  ASSERT_EQ(gates->alias_rules.count("production"), 1u);
  EXPECT_EQ(gates->alias_rules["production"].size(), 1u);
}

TEST(GateLoadTest, NoSectionOrNoModelIsNoGates) {
  auto none = ParseGates("stages: {}\n", "retriever");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->rules.empty());
  EXPECT_FALSE(none->has_models_section);
  EXPECT_FALSE(none->declared);
  auto other = ParseGates("models:\n  other:\n    gates: [metrics.a > 1]\n", "retriever");
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->rules.empty());
  // A models: section without the model: the caller warns (a typo?).
  EXPECT_TRUE(other->has_models_section);
  EXPECT_FALSE(other->declared);
  EXPECT_EQ(other->declared_models, std::vector<std::string>{"other"});
  // Declared with no rules: deliberately ungated.
  auto empty = ParseGates("models:\n  other: {}\n  retriever: {}\n", "retriever");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->rules.empty());
  EXPECT_TRUE(empty->declared);
  EXPECT_EQ(empty->declared_models, (std::vector<std::string>{"other", "retriever"}));
  auto null_entry = ParseGates("models:\n  retriever:\n", "retriever");
  ASSERT_TRUE(null_entry.ok());
  EXPECT_TRUE(null_entry->declared);
}

TEST(GateLoadTest, SyntaxErrorPointsInsidePlainScalar) {
  // line 4: "      - metrics.mrr >>= 0.70": the second '>' is column 22.
  std::string message = ErrorOf("models:\n  retriever:\n    gates:\n      - metrics.mrr >>= 0.70\n");
  ExpectStartsWith(message, "cairn.yaml:4:22: gate rule of model 'retriever': ");
  EXPECT_NE(message.find("^"), std::string::npos) << message;
}

TEST(GateLoadTest, SyntaxErrorPointsInsideQuotedScalars) {
  // Double quotes: the opening quote shifts by one, and \" stands for one character.
  std::string dq = ErrorOf("models:\n  retriever:\n    gates:\n      - \"tags.x = \\\"a\\\" and foo.y = 1\"\n");
  // - "tags.x = \"a\" and foo.y = 1"   'foo' starts at column 29.
  ExpectStartsWith(dq, "cairn.yaml:4:29: ");
  EXPECT_NE(dq.find("unknown prefix 'foo'"), std::string::npos) << dq;
  // Single quotes: '' stands for one quote.
  std::string sq = ErrorOf("models:\n  retriever:\n    gates:\n      - 'params.m = ''x'' and bar.y = 1'\n");
  // - 'params.m = ''x'' and bar.y = 1'   'bar' starts at column 31.
  ExpectStartsWith(sq, "cairn.yaml:4:31: ");
  // Flow sequences.
  std::string flow = ErrorOf("models:\n  retriever:\n    gates: [metrics.a > 1, metrics.b >]\n");
  // "    gates: [metrics.a > 1, metrics.b >]": the end of the scalar is column 39.
  ExpectStartsWith(flow, "cairn.yaml:3:39: ");
}

TEST(GateLoadTest, SyntaxErrorInAFoldedPlainScalar) {
  std::string message =
      ErrorOf("models:\n  retriever:\n    gates:\n      - metrics.a > 1 and\n        foo.b > 2\n");
  ExpectStartsWith(message, "cairn.yaml:5:9: ");
}

TEST(GateLoadTest, UnknownRuleKindListsKnownOnes) {
  std::string message = ErrorOf("models:\n  retriever:\n    gates:\n      - approval: 1\n");
  ExpectStartsWith(message, "cairn.yaml:4:9: unknown gate rule kind 'approval'");
  EXPECT_NE(message.find("known: approvals, evaluated_on"), std::string::npos) << message;
}

TEST(GateLoadTest, BadValuesOfNamedRules) {
  ExpectStartsWith(ErrorOf("models:\n  retriever:\n    gates:\n      - approvals: many\n"),
                   "cairn.yaml:4:20: approvals needs a whole number");
  ExpectStartsWith(ErrorOf("models:\n  retriever:\n    gates:\n      - evaluated_on: eval\n"),
                   "cairn.yaml:4:23: evaluated_on needs a dataset version ref");
  ExpectStartsWith(ErrorOf("models:\n  retriever:\n    gates:\n      - {approvals: 1, evaluated_on: e@v1}\n"),
                   "cairn.yaml:4:9: a gate rule");
}

TEST(GateLoadTest, MalformedSections) {
  ExpectStartsWith(ErrorOf("models: [a]\n"), "cairn.yaml:1:9: 'models' must be a mapping");
  ExpectStartsWith(ErrorOf("models:\n  retriever: 3\n"), "cairn.yaml:2:14: 'models: retriever' must be");
  ExpectStartsWith(ErrorOf("models:\n  retriever:\n    gate: []\n"), "cairn.yaml:3:5: unknown key 'gate'");
  ExpectStartsWith(ErrorOf("models:\n  retriever:\n    gates: metrics.a > 1\n"),
                   "cairn.yaml:3:12: model 'retriever' must be a list");
  ExpectStartsWith(ErrorOf("models:\n  retriever:\n    gates:\n      - ''\n"), "cairn.yaml:4:10: gate rule");
  ExpectStartsWith(ErrorOf("models:\n  retriever:\n    alias_gates:\n      latest: [approvals: 1]\n"),
                   "cairn.yaml:4:7: ");
}

TEST(GateLoadTest, RegisteredKindsPlugIn) {
  class Always : public GateRule {
   public:
    Result<GateRuleResult> Evaluate(const GateContext&) const override {
      GateRuleResult r;
      r.outcome = GateOutcome::kPass;
      return r;
    }
  };
  RegisterGateRuleKind("always_test_kind", [](const std::string&, const Json& value) -> Result<std::unique_ptr<GateRule>> {
    if (!value.is_boolean()) return Status::InvalidArgument("always_test_kind needs true or false");
    return std::unique_ptr<GateRule>(new Always);
  });
  auto gates = ParseGates("models:\n  m:\n    gates:\n      - always_test_kind: true\n", "m");
  ASSERT_TRUE(gates.ok()) << gates.status().ToString();
  ASSERT_EQ(gates->rules.size(), 1u);
  EXPECT_EQ(gates->rules[0].kind, "always_test_kind");
  EXPECT_EQ(gates->rules[0].text, "always_test_kind: true");
  ExpectStartsWith(ErrorOf("models:\n  m:\n    gates:\n      - always_test_kind: '1'\n", "m"),
                   "cairn.yaml:4:27: always_test_kind needs true or false");
}

}  // namespace
}  // namespace cairn
