// Alias-prefixed operands (FilterSchema::alias_operands), as model gates
// parse them, and the run schema that keeps refusing them.
#include <gtest/gtest.h>

#include <string>

#include "cairn/filter.h"
#include "tracking/filter.h"

namespace cairn {
namespace {

const FilterSchema& Gates() { return ModelGateFilterSchema(); }

void ExpectRefused(const std::string& filter, const FilterSchema& schema, const std::string& column,
                   const std::string& fragment) {
  auto tree = ParseFilter(filter, schema);
  ASSERT_FALSE(tree.ok()) << filter;
  const std::string& message = tree.status().message();
  EXPECT_NE(message.find(column), std::string::npos) << message;
  EXPECT_NE(message.find(fragment), std::string::npos) << message;
  EXPECT_NE(message.find("^"), std::string::npos) << message;
}

TEST(FilterAliasTest, RightSideOperandWithAlias) {
  auto tree = ParseFilter("metrics.mrr > production.metrics.mrr", Gates());
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  const FilterComparison& c = tree->root->comparison;
  EXPECT_EQ(c.alias, "");
  EXPECT_EQ(c.entity, FilterEntity::kMetric);
  EXPECT_EQ(c.key, "mrr");
  EXPECT_EQ(c.op, FilterOp::kGt);
  EXPECT_TRUE(c.values.empty());
  ASSERT_TRUE(c.operand.has_value());
  EXPECT_EQ(c.operand->alias, "production");
  EXPECT_EQ(c.operand->entity, FilterEntity::kMetric);
  EXPECT_EQ(c.operand->key, "mrr");
  EXPECT_EQ(c.operand->spelled, "production.metrics.mrr");
  EXPECT_EQ(c.operand->pos, 14u);
}

TEST(FilterAliasTest, LeftSideAliasAndUnaliasedOperand) {
  auto tree = ParseFilter("staging.metrics.loss < metrics.loss", Gates());
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  const FilterComparison& c = tree->root->comparison;
  EXPECT_EQ(c.alias, "staging");
  EXPECT_EQ(c.key, "loss");
  EXPECT_EQ(c.spelled, "staging.metrics.loss");
  EXPECT_EQ(c.pos, 0u);
  EXPECT_EQ(c.key_pos, 16u);
  ASSERT_TRUE(c.operand.has_value());
  EXPECT_EQ(c.operand->alias, "");
  EXPECT_EQ(c.operand->spelled, "metrics.loss");
}

TEST(FilterAliasTest, AliasesWithDashesLiteralsAndBooleans) {
  auto tree = ParseFilter(
      "champion-2.metrics.acc >= 0.5 and not (params.model = prod_1.params.model or "
      "attributes.version > 3)",
      Gates());
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  const FilterNode& root = *tree->root;
  ASSERT_EQ(root.kind, FilterNode::Kind::kAnd);
  const FilterComparison& first = root.children[0].comparison;
  EXPECT_EQ(first.alias, "champion-2");
  ASSERT_EQ(first.values.size(), 1u);
  EXPECT_EQ(first.values[0].text, "0.5");
  const FilterNode& inner = root.children[1].children[0];
  ASSERT_EQ(inner.kind, FilterNode::Kind::kOr);
  EXPECT_EQ(inner.children[0].comparison.operand->alias, "prod_1");
  EXPECT_EQ(inner.children[1].comparison.key, "version");
}

TEST(FilterAliasTest, PrefixNamesAreNeverAliases) {
  // metrics.params.x is the metric "params.x", not alias "metrics".
  auto tree = ParseFilter("metrics.params.x > 1", Gates());
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  EXPECT_EQ(tree->root->comparison.alias, "");
  EXPECT_EQ(tree->root->comparison.key, "params.x");
}

TEST(FilterAliasTest, GateErrorsKeepColumnAndCaret) {
  ExpectRefused("metrics.mrr > production.mrr", Gates(), "column 15", "unknown prefix 'production'");
  ExpectRefused("metrics.mrr LIKE production.metrics.mrr", Gates(), "column 18", "quoted pattern");
  ExpectRefused("metrics.mrr > attributes.user", Gates(), "column 15", "cannot be compared");
  ExpectRefused("metrics.mrr >= ", Gates(), "column 16", "");
  ExpectRefused("metrics.mrr >>= 0.7", Gates(), "column 14", "");
  ExpectRefused("datasets.eval = 'v3'", Gates(), "column 1", "unknown prefix 'datasets'");
}

TEST(FilterAliasTest, ErrorPositionIsReported) {
  size_t at = 99;
  auto tree = ParseFilter("metrics.mrr >= 0.7 and foo.x = 1", Gates(), &at);
  ASSERT_FALSE(tree.ok());
  EXPECT_EQ(at, 23u);
  at = 99;
  ASSERT_TRUE(ParseFilter("metrics.mrr >= 0.7", Gates(), &at).ok());
  EXPECT_EQ(at, 99u);  // untouched on success
}

TEST(FilterAliasTest, RunSearchKeepsRefusingOperands) {
  ExpectRefused("metrics.mrr > production.metrics.mrr", RunFilterSchema(), "column 15", "");
  ExpectRefused("production.metrics.mrr > 1", RunFilterSchema(), "column 1",
                "unknown prefix 'production'");
  auto refused = ParseFilter("production.metrics.mrr > 1", RunFilterSchema());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message().find("alias"), std::string::npos);
  ExpectRefused("metrics.a > metrics.b", RunFilterSchema(), "column 13", "");
  EXPECT_FALSE(CompileFilter("metrics.a > metrics.b").ok());
}

TEST(FilterAliasTest, ReferencedKeysIncludeOperands) {
  auto tree = ParseFilter("metrics.a > production.metrics.b", Gates());
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  std::vector<FilterKeyRef> keys = ReferencedKeys(*tree);
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[1].key, "b");
}

}  // namespace
}  // namespace cairn
