// The syntax tree ParseFilter builds, ReferencedKeys, ParseOrderTerms, and
// a schema other than the runs' one (as the model registry will pass).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cairn/filter.h"

namespace cairn {
namespace {

using Kind = FilterNode::Kind;

TEST(FilterTreeTest, EmptyFilterHasNoRoot) {
  auto tree = ParseFilter("  \t");
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  EXPECT_FALSE(tree->root.has_value());
  EXPECT_EQ(tree->text, "  \t");
}

TEST(FilterTreeTest, AndBindsTighterThanOrAndParenthesesMakeNodes) {
  auto tree =
      ParseFilter("metrics.a > 1 or params.b = 'x' and not (tags.c = 'y' or tags.d != 'z')");
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  const FilterNode& root = *tree->root;
  ASSERT_EQ(root.kind, Kind::kOr);
  ASSERT_EQ(root.children.size(), 2u);
  EXPECT_EQ(root.children[0].kind, Kind::kComparison);
  const FilterNode& conj = root.children[1];
  ASSERT_EQ(conj.kind, Kind::kAnd);
  ASSERT_EQ(conj.children.size(), 2u);
  EXPECT_EQ(conj.children[0].comparison.entity, FilterEntity::kParam);
  const FilterNode& negation = conj.children[1];
  ASSERT_EQ(negation.kind, Kind::kNot);
  ASSERT_EQ(negation.children.size(), 1u);
  EXPECT_EQ(negation.children[0].kind, Kind::kOr);
  EXPECT_EQ(negation.pos, 36u);
}

TEST(FilterTreeTest, ComparisonsHoldCanonicalKeysAndValues) {
  auto tree = ParseFilter(
      "attr.Created >= 1000 and run.status IN ('finished', 'Failed') and metrics.`my m` < -2.5");
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  const std::vector<FilterNode>& parts = tree->root->children;
  ASSERT_EQ(parts.size(), 3u);
  const FilterComparison& created = parts[0].comparison;
  EXPECT_EQ(created.entity, FilterEntity::kAttribute);
  EXPECT_EQ(created.key, "start_time");
  EXPECT_EQ(created.spelled, "attr.Created");
  EXPECT_EQ(created.op, FilterOp::kGe);
  ASSERT_EQ(created.values.size(), 1u);
  EXPECT_TRUE(created.values[0].is_number);
  EXPECT_EQ(created.values[0].integer, 1000);
  EXPECT_EQ(created.values[0].pos, 16u);
  const FilterComparison& status = parts[1].comparison;
  EXPECT_EQ(status.op, FilterOp::kIn);
  ASSERT_EQ(status.values.size(), 2u);
  EXPECT_EQ(status.values[0].text, "FINISHED");  // closed sets are stored in uppercase
  EXPECT_EQ(status.values[1].text, "FAILED");
  const FilterComparison& metric = parts[2].comparison;
  EXPECT_EQ(metric.key, "my m");
  EXPECT_EQ(metric.key_pos, 74u);
  EXPECT_EQ(metric.values[0].number, -2.5);
  EXPECT_FALSE(metric.values[0].integer.has_value());
}

TEST(FilterTreeTest, ReferencedKeysOncePerKeyInOrderOfUse) {
  auto tree = ParseFilter(
      "metrics.acuracy > 0.9 and (params.lr = '0.1' or metrics.acuracy < 2) and datasets.eval = "
      "'v1' "
      "and not tags.team = 'x' and status = 'FINISHED' and tags.mlflow.runName = 'a' and "
      "datasets.name = 'e'");
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  std::vector<FilterKeyRef> want = {
      {FilterEntity::kMetric, "acuracy", 0},    {FilterEntity::kParam, "lr", 0},
      {FilterEntity::kDataset, "eval", 0},      {FilterEntity::kTag, "team", 0},
      {FilterEntity::kAttribute, "status", 0},  {FilterEntity::kAttribute, "run_name", 0},
      {FilterEntity::kDatasetField, "name", 0},
  };
  std::vector<FilterKeyRef> keys = ReferencedKeys(*tree);
  EXPECT_EQ(keys, want);
  ASSERT_FALSE(keys.empty());
  EXPECT_EQ(keys[0].pos, 0u);
  EXPECT_EQ(keys[1].pos, 27u);
  EXPECT_TRUE(ReferencedKeys(*ParseFilter("")).empty());
}

TEST(FilterTreeTest, NotNestsAndCountsTowardsTheDepthLimit) {
  std::string ten;
  for (int i = 0; i < 10; ++i) ten += "not ";
  EXPECT_TRUE(ParseFilter(ten + "metrics.a > 1").ok());
  auto eleven = ParseFilter("not " + ten + "metrics.a > 1");
  ASSERT_FALSE(eleven.ok());
  EXPECT_NE(eleven.status().message().find("NOT nested too deeply at column 41"), std::string::npos)
      << eleven.status().message();
  auto dangling = ParseFilter("metrics.a > 1 and not ");
  ASSERT_FALSE(dangling.ok());
  EXPECT_NE(dangling.status().message().find("'not' has nothing after it at column 19"),
            std::string::npos)
      << dangling.status().message();
  // `not.x` is a key with the prefix "not", not a negation.
  auto prefix = ParseFilter("not.x = 1");
  ASSERT_FALSE(prefix.ok());
  EXPECT_NE(prefix.status().message().find("unknown prefix 'not'"), std::string::npos);
}

// A schema for registered models: name and tags only, no bare attributes.
FilterSchema ModelSchema() {
  FilterSchema s;
  s.noun = "registered model";
  s.prefixes = {{"tags", FilterEntity::kTag},
                {"tag", FilterEntity::kTag},
                {"attributes", FilterEntity::kAttribute}};
  s.attributes = {{"name", {}, FilterType::kString, {}, ""},
                  {"last_updated_timestamp",
                   {"updated"},
                   FilterType::kNumber,
                   {},
                   "milliseconds since the epoch"}};
  s.bare_attributes = false;
  return s;
}

TEST(FilterTreeTest, TheSchemaDecidesWhatAFilterMayName) {
  FilterSchema models = ModelSchema();
  auto ok = ParseFilter(
      "attributes.name LIKE 'bert%' and tags.stage = 'prod' and attributes.updated > 5", models);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->root->children[2].comparison.key, "last_updated_timestamp");
  auto metric = ParseFilter("metrics.acc > 1", models);
  ASSERT_FALSE(metric.ok());
  EXPECT_NE(metric.status().message().find("unknown prefix 'metrics'"), std::string::npos);
  EXPECT_NE(metric.status().message().find("valid prefixes: tags, attributes (also tag)"),
            std::string::npos)
      << metric.status().message();
  auto bare = ParseFilter("name = 'x'", models);
  ASSERT_FALSE(bare.ok());
  EXPECT_NE(bare.status().message().find("'name' has no prefix"), std::string::npos);
  auto attribute = ParseFilter("attributes.status = 'x'", models);
  ASSERT_FALSE(attribute.ok());
  EXPECT_NE(attribute.status().message().find(
                "valid attributes: name, last_updated_timestamp (or updated)"),
            std::string::npos)
      << attribute.status().message();
  auto type = ParseFilter("attributes.updated > 'x'", models);
  ASSERT_FALSE(type.ok());
  EXPECT_NE(type.status().message().find("is a number (milliseconds since the epoch)"),
            std::string::npos);
  // The run schema still answers as before.
  EXPECT_TRUE(ParseFilter("name = 'x'").ok());
}

TEST(FilterTreeTest, OrderTerms) {
  auto terms = ParseOrderTerms(
      {"metrics.`my metric` DESC", "start_time", "attributes.created asc, params.\"a b\""});
  ASSERT_TRUE(terms.ok()) << terms.status().ToString();
  ASSERT_EQ(terms->size(), 4u);
  EXPECT_EQ((*terms)[0].entity, FilterEntity::kMetric);
  EXPECT_EQ((*terms)[0].key, "my metric");
  EXPECT_TRUE((*terms)[0].descending);
  EXPECT_EQ((*terms)[1].entity, FilterEntity::kAttribute);
  EXPECT_EQ((*terms)[1].key, "start_time");
  EXPECT_EQ((*terms)[2].key, "start_time");
  EXPECT_FALSE((*terms)[2].descending);
  EXPECT_EQ((*terms)[3].entity, FilterEntity::kParam);
  EXPECT_EQ((*terms)[3].key, "a b");
  auto models = ParseOrderTerms({"attributes.updated DESC"}, ModelSchema());
  ASSERT_TRUE(models.ok()) << models.status().ToString();
  EXPECT_EQ((*models)[0].key, "last_updated_timestamp");
}

TEST(FilterTreeTest, NamesOfEntitiesAndOperators) {
  EXPECT_EQ(FilterEntityName(FilterEntity::kParam), "params");
  EXPECT_EQ(FilterEntityName(FilterEntity::kDatasetField), "datasets");
  EXPECT_EQ(FilterOpText(FilterOp::kNotIn), "NOT IN");
  EXPECT_EQ(FilterOpText(FilterOp::kILike), "ILIKE");
}

}  // namespace
}  // namespace cairn
