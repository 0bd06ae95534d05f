#include "tracking/filter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tracking/filter_test_util.h"

namespace cairn {
namespace {

using filter_test::Chain;
using filter_test::FilterTest;
using filter_test::HexValue;
using filter_test::List;

// Every filter at the compiler's limits runs in SQLite, inside the query
// the search wraps it in: 500 comparisons (SQLite: expression depth 1000),
// 10000 values (SQLite: 32766 binds), 10 levels of parentheses alternating
// and/or (SQLite: a parser stack of 100), and datasets lists, the deepest
// SQL a comparison makes (an expression inside EXISTS counts twice).
TEST_F(FilterTest, FiltersAtTheLimitsRun) {
  const std::string never = "metrics.acc > 5";
  EXPECT_EQ(MatchInSearch(Chain(never, "or", 499) + " or metrics.acc > 0.9"), std::vector<std::string>{"run-b"});
  EXPECT_EQ(MatchInSearch(Chain("metrics.acc > 0.1", "and", 499) + " and params.model = 'bge'"),
            (std::vector<std::string>{"run-a", "run-d"}));
  // Version prefixes of every length (4 to 64 hex digits) and many values.
  auto prefix = [](size_t i) { return "'" + std::string(4 + i % 61, "0123456789abcdef"[i % 16]) + "'"; };
  EXPECT_EQ(MatchInSearch("datasets.eval IN " + List(9999, prefix) + " or datasets.eval = 'v3'"),
            std::vector<std::string>{"run-c"});
  EXPECT_EQ(MatchInSearch("datasets.eval IN ('a1b2', 'c0ff', 'v9', 'c0ffee00')"),
            (std::vector<std::string>{"run-a", "run-b", "run-c"}));
  EXPECT_EQ(MatchInSearch(Chain("datasets.eval NOT IN " + List(20, prefix), "and", 500)),
            (std::vector<std::string>{"run-a", "run-b", "run-c"}));
  EXPECT_EQ(MatchInSearch("metrics.acc IN " + List(10000, [](size_t i) { return std::to_string(i) + ".05"; })),
            std::vector<std::string>{});
  EXPECT_EQ(MatchInSearch(Chain("attributes.run_id IN " + List(2500, HexValue), "or", 4)), std::vector<std::string>{});
  // Ten levels, each an or of ands with the next level last, the deepest
  // leaf the largest SQL a comparison makes (a negated datasets list).
  std::string nested = "datasets.eval NOT IN ('v1', 'c0ffee')";
  for (int level = 0; level < 10; ++level) {
    nested = never + " and " + never + " or " + never + " and " + never + " or metrics.acc > 0 and (" + nested + ")";
  }
  EXPECT_EQ(MatchInSearch(nested), std::vector<std::string>{"run-b"});
  // The longest pattern (SQLite's own limit is 50000 bytes).
  EXPECT_EQ(MatchInSearch("params.model LIKE '" + std::string(9997, '%') + "bge'"),
            MatchInSearch("params.model = 'bge'"));
  // NOT counts as a level too: five of each, alternating.
  std::string negated = "datasets.eval NOT IN ('v1', 'c0ffee')";
  for (int level = 0; level < 10; ++level) {
    negated = level % 2 ? "not " + negated : "(" + never + " and " + never + " or metrics.acc > 0 and " + negated + ")";
  }
  EXPECT_EQ(MatchInSearch(negated), (std::vector<std::string>{"run-a", "run-c", "run-d"}));
  EXPECT_FALSE(CompileFilter("not " + negated).ok());
  EXPECT_FALSE(CompileFilter("(" + negated + ")").ok());
  // The widest chains at every level of the deepest nesting.
  std::string wide = Chain(never, "or", 20);
  for (int level = 0; level < 10; ++level) {
    wide = Chain(never, "and", 20) + " or " + Chain(never, "or", 20) + " or (" + wide + ")";
  }
  EXPECT_EQ(MatchInSearch(wide), std::vector<std::string>{});
}

TEST_F(FilterTest, EmptyFilterMatchesEverything) {
  ExpectMatches({{"", "abcdef"}, {" \t\n ", "abcdef"}});
  auto compiled = CompileFilter("  ");
  ASSERT_TRUE(compiled.ok());
  EXPECT_EQ(compiled->sql, "1");
  EXPECT_TRUE(compiled->binds.empty());
}

TEST_F(FilterTest, MetricComparisons) {
  ExpectMatches({
      {"metrics.acc > 0.9", "b"},
      {"metrics.acc >= 0.9", "abd"},
      {"metrics.acc = 0.9", "ad"},
      {"metrics.acc != 0.9", "bc"},
      {"metrics.acc <> 0.9", "bc"},
      {"metrics.acc < 0.9", "c"},
      {"metrics.acc <= 0.9", "acd"},
      {"metrics.acc > -1", "abcd"},
      {"metric.acc = 9e-1", "ad"},
      {"metrics.acc = .9", "ad"},
      {"metrics.acc IN (0.9, 0.7)", "acd"},
      {"metrics.acc NOT IN (0.9)", "bc"},
      {"metrics.missing > 0", ""},
  });
}

TEST_F(FilterTest, MetricNanNeverMatchesAndInfinityIsLarge) {
  ExpectMatches({
      {"metrics.loss > 1e300", "c"},
      {"metrics.loss >= 0", "ac"},
      {"metrics.loss != 0.5", "c"},
      {"metrics.loss NOT IN (0.5)", "c"},
  });
}

TEST_F(FilterTest, KeysWithDotsAndQuotes) {
  ExpectMatches({
      {"metrics.val.acc > 0.9", "e"},
      {"metrics.`val.acc` >= 0.85", "ae"},
      {"params.a.b = 'dotted'", "e"},
      {"params.`batch size` = '32'", "a"},
      {"params.\"batch size\" = \"32\"", "a"},
      {"tags.`my key` = 'x y'", "d"},
      {"tags.mlflow.note = 'first'", "a"},
  });
}

TEST_F(FilterTest, ParamStringComparisons) {
  ExpectMatches({
      {"params.model = 'bge'", "ad"},
      {"params.model != 'bge'", "bc"},  // run-e has no model param
      {"params.model LIKE 'bge%'", "ad"},
      {"params.model LIKE 'BGE%'", "b"},
      {"params.model ILIKE 'bge%'", "abd"},
      {"params.model IN ('t5', 'bge')", "acd"},
      {"params.model NOT IN ('t5', 'bge')", "b"},
      {"param.model like 'b_e'", "ad"},
  });
}

TEST_F(FilterTest, ParamNumberLiterals) {
  ExpectMatches({
      {"params.lr = 5", "e"},  // the literal's text: "5"
      {"params.lr = 0.1", "a"},
      {"params.lr = '0.10'", ""},  // strings compare exactly
      {"params.lr IN (5, 0.1)", "ae"},
      {"params.`batch size` = 32", "a"},
      {"params.lr < 0.05", "bc"},  // numeric: "1e-3" is 0.001
      {"params.lr > 0.05", "ade"},
      {"param.lr <= 0.01", "bc"},
      {"params.lr >= 1e-3", "abcde"},
  });
}

TEST_F(FilterTest, TagComparisons) {
  ExpectMatches({
      {"tags.team = 'search'", "b"},
      {"tags.team LIKE 's%'", "b"},
      {"tags.team ILIKE 'S%'", "ab"},
      {"tags.team LIKE '_nfra'", "c"},
      {"tags.team != 'infra'", "ab"},
      {"tag.team IN ('infra')", "c"},
      {"tags.team NOT IN ('infra')", "ab"},
  });
}

TEST_F(FilterTest, StringAttributes) {
  ExpectMatches({
      {"attributes.status = 'finished'", "aef"},
      {"attributes.status != 'FINISHED'", "bcd"},
      {"attributes.status IN ('FAILED', 'killed')", "cd"},
      {"attributes.status NOT IN ('RUNNING')", "acdef"},
      {"attributes.status LIKE 'F%'", "acef"},
      {"attributes.status ILIKE 'f%'", "acef"},
      {"attributes.run_name = 'baseline'", "a"},
      {"attr.name LIKE 'Baseline%'", "b"},
      {"run.name ILIKE 'baseline%'", "ab"},
      {"attributes.run_name = 'it''s'", "d"},
      {R"(attributes.name = 'it\'s')", "d"},
      {"attributes.run_name != 'final'", "abcdf"},
      {"attributes.run_id = 'run-c'", "c"},
      {"attributes.id IN ('run-a', 'run-f')", "af"},
      {"attributes.user = 'alice'", "ac"},
      {"attributes.user NOT IN ('alice', 'bob')", "df"},
  });
}

TEST_F(FilterTest, NumericAttributes) {
  ExpectMatches({
      {"attributes.start_time >= 3000", "cdef"},
      {"attributes.created < 2000", "a"},
      {"attributes.start_time = 1e3", "a"},
      {"attributes.start_time != 1000", "bcdef"},
      {"attributes.end_time > 3000", "cdef"},  // run-b has not ended
      {"attributes.end_time <= 2000", "a"},
      {"attributes.experiment_id = 2", "cd"},
      {"attributes.experiment_id IN (1, 3)", "abef"},
      {"attributes.experiment_id NOT IN (1)", "cdef"},
  });
}

TEST_F(FilterTest, DatasetsByTagAndVersionPrefix) {
  ExpectMatches({
      {"datasets.eval = 'v1'", "ac"},
      {"datasets.eval = 'a1b2'", "abc"},
      {"datasets.eval = 'a1b2c3'", "ac"},
      {"datasets.eval = 'a1b'", ""},    // too short to be a version prefix
      {"datasets.eval = 'a1b2%'", ""},  // no wildcards
      {"datasets.eval = '%'", ""},
      {"datasets.eval IN ('v2', 'c0ff')", "bc"},
      {"datasets.data/train = 'gold'", "e"},
      {"datasets.`data/train` = 'dead'", "e"},
      {"dataset.\"data/train\" = 'ffff'", "a"},
      {"datasets.data/train = 'DEAD'", ""},  // versions are lowercase hex
  });
}

TEST_F(FilterTest, DatasetsNegated) {
  // != means: used the dataset, but no input of it matches. run-c used both
  // v1 and v3 of eval, so it is not "eval != v1".
  ExpectMatches({
      {"datasets.eval != 'v1'", "b"},
      {"datasets.eval != 'c0ffee'", "ab"},
      {"datasets.eval != 'v9'", "abc"},
      {"datasets.eval NOT IN ('v2', 'c0ff')", "a"},
      {"datasets.data/train != 'gold'", "a"},
  });
}

TEST_F(FilterTest, OrAndPrecedenceAndParentheses) {
  ExpectMatches({
      {"params.model = 't5' or attributes.user = 'bob'", "bce"},
      // a or (b and c)
      {"attributes.user = 'bob' or attributes.user = 'alice' and metrics.acc > 0.8", "abe"},
      {"(attributes.user = 'bob' or attributes.user = 'alice') and metrics.acc > 0.8", "ab"},
      // (a and b) or c
      {"attributes.user = 'alice' and metrics.acc > 0.8 or attributes.status = 'KILLED'", "ad"},
      {"attributes.user = 'alice' and (metrics.acc > 0.8 or attributes.status = 'FAILED')", "ac"},
      {"metrics.acc > 0.8 and metrics.acc < 0.95 and tags.team ilike 'search'", "a"},
      {"((metrics.acc > 0.9))", "b"},
      {"metrics.acc>=0.9 and(params.model='bge')", "ad"},
      {"METRICS.acc > 0.9 OR Params.model Like 'bge' AnD tags.team In ('Search')", "ab"},
  });
}

TEST_F(FilterTest, UserTextNeverReachesTheSql) {
  ExpectMatches({{"params.model = 'x'' OR 1=1 --'", ""}, {"tags.`team' OR 1=1 --` = 'x'", ""}});
  auto compiled = CompileFilter("params.model = 'x'' OR 1=1 --'");
  ASSERT_TRUE(compiled.ok());
  EXPECT_EQ(compiled->sql.find("1=1"), std::string::npos) << compiled->sql;
}

// Expects InvalidArgument whose message holds `column` ("column 13") and
// `words`, and whose hint shows the syntax.
void ExpectError(const std::string& filter, const std::string& column, const std::string& words) {
  auto compiled = CompileFilter(filter);
  ASSERT_FALSE(compiled.ok()) << filter << " compiled to " << compiled->sql;
  const Status& s = compiled.status();
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << filter;
  EXPECT_NE(s.message().find(column), std::string::npos) << filter << "\n" << s.message();
  EXPECT_NE(s.message().find(words), std::string::npos) << filter << "\n" << s.message();
  EXPECT_NE(s.hint().find("example:"), std::string::npos) << filter;
}

// Bounds: top-level conjuncts on metrics, which the search may drive from
// the (key, value) index. Anything under an OR at the top is not a bound.
TEST(FilterBoundsTest, OnlyTopLevelConjunctsAreBounds) {
  auto f = CompileFilter("metrics.acc > 0.9 and params.k = '3' and metrics.loss <= 2 and metrics.n != 1");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->bounds.size(), 2u);
  EXPECT_EQ(f->bounds[0].key, "acc");
  EXPECT_EQ(f->bounds[0].op, ">");
  EXPECT_EQ(f->bounds[0].value, 0.9);
  EXPECT_EQ(f->bounds[1].key, "loss");
  EXPECT_EQ(f->bounds[1].op, "<=");
  auto nested = CompileFilter("metrics.acc > 0.9 and (metrics.loss < 1 or params.k = '3')");
  ASSERT_TRUE(nested.ok());
  ASSERT_EQ(nested->bounds.size(), 1u);
  EXPECT_EQ(nested->bounds[0].key, "acc");
  auto top_or = CompileFilter("metrics.acc > 0.9 or metrics.loss < 1");
  ASSERT_TRUE(top_or.ok());
  EXPECT_TRUE(top_or->bounds.empty());
  auto in_list = CompileFilter("metrics.acc IN (1, 2)");
  ASSERT_TRUE(in_list.ok());
  EXPECT_TRUE(in_list->bounds.empty());
}

TEST(FilterErrorTest, MessageShowsTheFilterWithACaret) {
  auto compiled = CompileFilter("metrics.acc 0.9");
  ASSERT_FALSE(compiled.ok());
  EXPECT_EQ(compiled.status().message(),
            "filter: expected a comparison operator after 'metrics.acc' at column 13; use =, !=, "
            "<, <=, >, >=, LIKE, ILIKE, IN or NOT IN\n"
            "  metrics.acc 0.9\n"
            "              ^");
  EXPECT_EQ(compiled.status().hint(),
            "example: metrics.acc > 0.9 and (params.lr = '0.1' or tags.team = 'x'); quote string "
            "values with single quotes and keys holding spaces with backticks (tags.`my key`)");
}

TEST(FilterErrorTest, Keys) {
  ExpectError("metrics. > 1", "column 9", "empty key after 'metrics.'");
  ExpectError("metrics.`` > 1", "column 9", "empty key");
  ExpectError("foo.bar = 1", "column 1", "unknown prefix 'foo'");
  ExpectError("foo.bar = 1", "column 1", "metrics, params, tags, attributes");
  ExpectError("acc > 1", "column 1", "'acc' has no prefix");
  ExpectError("metrics > 1", "column 8", "expected '.'");
  ExpectError("> 1", "column 1", "expected a key");
  ExpectError("tags.`my key = 'x'", "column 6", "unterminated quoted key");
  ExpectError("attributes.colour = 'red'", "column 12", "unknown attribute 'colour'");
  ExpectError("attributes.colour = 'red'", "column 12", "run_name (or name)");
}

TEST(FilterErrorTest, OperatorsAndValues) {
  ExpectError("metrics.acc >", "column 14", "expected a value after '>'");
  ExpectError("metrics.acc > and params.a = 'x'", "column 15", "expected a value after '>'");
  ExpectError("params.a = 'abc", "column 12", "unterminated string");
  ExpectError("metrics.acc NOT LIKE 'x'", "column 17", "expected IN after NOT");
  ExpectError("attributes.status = RUNNING", "column 21", "unquoted value 'RUNNING'");
  ExpectError("metrics.acc > 1.2.3", "column 15", "malformed number '1.2.3'");
  ExpectError("metrics.acc > 5abc", "column 15", "malformed number");
  ExpectError("metrics.acc > -", "column 15", "malformed number");
  ExpectError("metrics.acc > 1e999", "column 15", "out of range");
  ExpectError("metrics.acc = (1)", "column 15", "needs IN or NOT IN");
}

TEST(FilterErrorTest, InLists) {
  ExpectError("metrics.acc IN ()", "column 16", "empty IN list");
  ExpectError("metrics.acc IN 0.9", "column 16", "expected '(' after 'IN'");
  ExpectError("metrics.acc IN (1, )", "column 20", "expected a value after ','");
  ExpectError("metrics.acc IN (1 2)", "column 19", "expected ',' or ')'");
  ExpectError("metrics.acc IN (1, 2", "column 16", "unbalanced '('");
}

TEST(FilterErrorTest, Structure) {
  ExpectError("(metrics.acc > 1", "column 1", "unbalanced '('");
  ExpectError("metrics.acc > 1)", "column 16", "unbalanced ')'");
  ExpectError("(metrics.acc > 1 params.a = 'x')", "column 18", "expected ')', 'and' or 'or'");
  ExpectError("metrics.acc > 1 params.a = 'x'", "column 17", "unexpected 'params.a'");
  ExpectError("metrics.acc > 1 and", "column 17", "'and' has nothing after it");
  ExpectError("metrics.acc > 1 OR  ", "column 17", "'or' has nothing after it");
  ExpectError("metrics.acc > 1 and ()", "column 22", "expected a key");
  ExpectError(std::string(100, '(') + "metrics.acc > 1" + std::string(100, ')'), "column 11",
              "nested too deeply");
  // Columns count characters: 'é' is two bytes but one column.
  ExpectError("tags.team = 'é' and foo.x = 1", "column 21", "unknown prefix 'foo'");
}

void ExpectTooLarge(const std::string& filter, const std::string& words) {
  auto compiled = CompileFilter(filter);
  ASSERT_FALSE(compiled.ok()) << filter.substr(0, 200);
  EXPECT_EQ(compiled.status().code(), Code::kInvalidArgument);
  const std::string& msg = compiled.status().message();
  EXPECT_EQ(msg.rfind("filter is too large: it has ", 0), 0u) << msg;
  EXPECT_NE(msg.find(words), std::string::npos) << msg;
  EXPECT_NE(compiled.status().hint().find("IN list"), std::string::npos) << compiled.status().hint();
}

// A filter SQLite cannot take ("Expression tree is too large", too many
// binds) is refused up front with the limit, not sent to SQLite.
TEST(FilterErrorTest, TooLarge) {
  ExpectTooLarge(Chain("metrics.acc > 0.9", "or", 5000), "5000 comparisons joined by and/or; at most 500 are allowed");
  ExpectTooLarge(Chain("params.k = '1'", "and", 501), "501 comparisons joined by and/or; at most 500");
  ExpectTooLarge("(" + Chain("tags.a = 'x' and tags.b = 'y'", "or", 200) + ") or " + Chain("metrics.a < 1", "or", 101),
                 "501 comparisons");
  ExpectTooLarge("datasets.eval IN " + List(10001, HexValue), "10001 values; at most 10000");
  ExpectTooLarge("metrics.acc IN " + List(10001, [](size_t i) { return std::to_string(i); }),
                 "10001 values; at most 10000 are allowed");
  ExpectTooLarge(Chain("attributes.run_id IN " + List(2000, HexValue), "or", 6), "12000 values");
  // The limits themselves are fine; filter_test's FiltersAtTheLimitsRun runs them.
  EXPECT_TRUE(CompileFilter(Chain("metrics.acc > 0.9", "or", 500)).ok());
  EXPECT_TRUE(CompileFilter("metrics.acc IN " + List(10000, [](size_t i) { return std::to_string(i); })).ok());
}

// SQLite's own limits ("LIKE or GLOB pattern too complex", "too many terms
// in ORDER BY clause") are met first by the parser's, with its words.
TEST(FilterErrorTest, LongPatternsAndManyOrderKeysAreTooLarge) {
  for (const char* op : {"LIKE", "ILIKE"}) {
    auto compiled = CompileFilter("tags.note " + std::string(op) + " '%" + std::string(50001, 'a') + "'");
    ASSERT_FALSE(compiled.ok()) << op;
    EXPECT_EQ(compiled.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(compiled.status().message(), "filter is too large: it has a " + std::string(op) +
                                               " pattern of 50002 bytes; at most 10000 are allowed");
  }
  EXPECT_TRUE(CompileFilter("tags.note LIKE '" + std::string(10000, '%') + "'").ok());
  std::vector<std::string> many(2100, "metrics.acc");
  auto order = ParseOrderBy(many);
  ASSERT_EQ(order.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(order.status().message(), "order by is too large: it has more than 100 keys");
  std::string one_clause = "metrics.acc";
  for (int i = 0; i < 100; ++i) one_clause += ", params.p" + std::to_string(i);
  EXPECT_EQ(ParseOrderBy({one_clause}).status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(ParseOrderBy(std::vector<std::string>(100, "metrics.acc")).ok());
}

TEST(FilterErrorTest, WrongValueTypes) {
  ExpectError("metrics.acc = 'x'", "column 15", "is a number, not the string 'x'");
  ExpectError("metrics.acc IN (1, 'x')", "column 20", "is a number");
  ExpectError("metrics.acc LIKE '0.9'", "column 13", "'LIKE' does not apply to metrics.acc");
  ExpectError("attributes.start_time > 'yesterday'", "column 25", "is a number");
  ExpectError("attributes.end_time ILIKE '1%'", "column 21", "does not apply");
  ExpectError("attributes.run_name = 5", "column 23", "is a string, not the number 5");
  ExpectError("attributes.status > 'A'", "column 19", "'>' does not apply");
  ExpectError("attributes.status = 'DONE'", "column 21", "unknown status 'DONE'");
  ExpectError("attributes.status IN ('RUNNING', 'done')", "column 34", "RUNNING, FINISHED");
  ExpectError("datasets.eval > 'v1'", "column 15", "does not apply");
  ExpectError("datasets.eval LIKE 'v%'", "column 15", "does not apply");
  ExpectError("datasets.eval = ''", "column 17", "empty dataset tag or version");
  ExpectError("params.lr < 'a'", "column 13", "needs a number");
  ExpectError("params.lr LIKE 5", "column 16", "needs a 'quoted pattern'");
}

TEST(FilterOrderByTest, ParsesKeysAndDirections) {
  filter_test::ExpectOrderKeys({"metrics.acc DESC", "params.lr asc, attributes.start_time",
                                "attributes.run_name desc,tags.`my key`", "attr.created", "attributes.id",
                                "metrics.val.acc", "  "},
                               {
                                   {OrderKey::Kind::kMetric, "acc", true},
                                   {OrderKey::Kind::kParam, "lr", false},
                                   {OrderKey::Kind::kAttribute, "start_time", false},
                                   {OrderKey::Kind::kAttribute, "name", true},
                                   {OrderKey::Kind::kTag, "my key", false},
                                   {OrderKey::Kind::kAttribute, "start_time", false},
                                   {OrderKey::Kind::kAttribute, "run_id", false},
                                   {OrderKey::Kind::kMetric, "val.acc", false},
                               });
}

TEST(FilterOrderByTest, MapsEveryAttributeToItsColumn) {
  auto keys =
      ParseOrderBy({"attributes.run_name, attributes.run_id, attributes.start_time, "
                    "attributes.end_time, attributes.status, attributes.user, "
                    "attributes.experiment_id, attributes.name"});
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  std::vector<std::string> columns;
  for (const OrderKey& key : *keys) columns.push_back(key.key);
  EXPECT_EQ(columns, (std::vector<std::string>{"name", "run_id", "start_time", "end_time", "status",
                                               "user", "experiment_id", "name"}));
}

TEST(FilterOrderByTest, EmptyInputGivesNoKeys) {
  auto keys = ParseOrderBy({});
  ASSERT_TRUE(keys.ok());
  EXPECT_TRUE(keys->empty());
}

TEST(FilterOrderByTest, Errors) {
  struct ErrorCase {
    std::vector<std::string> clauses;
    const char* column;
    const char* words;
  };
  std::vector<ErrorCase> cases = {
      {{"datasets.eval"}, "column 1", "cannot order by datasets.eval"},
      {{"metrics.acc UP"}, "column 13", "unexpected 'UP'"},
      {{"metrics.acc DESC DESC"}, "column 18", "unexpected 'DESC'"},
      {{"attributes.colour"}, "column 12", "unknown attribute 'colour'"},
      {{"metrics.acc,"}, "column 12", "',' has nothing after it"},
      {{"foo.bar"}, "column 1", "unknown prefix 'foo'"},
      {{"metrics.acc", "params."}, "column 8", "empty key"},
  };
  for (const ErrorCase& c : cases) {
    auto keys = ParseOrderBy(c.clauses);
    ASSERT_FALSE(keys.ok()) << c.words;
    EXPECT_EQ(keys.status().code(), Code::kInvalidArgument);
    const std::string& msg = keys.status().message();
    EXPECT_EQ(msg.rfind("order by: ", 0), 0u) << msg;
    EXPECT_NE(msg.find(c.column), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.words), std::string::npos) << msg;
    EXPECT_FALSE(keys.status().hint().empty());
  }
}

}  // namespace
}  // namespace cairn
