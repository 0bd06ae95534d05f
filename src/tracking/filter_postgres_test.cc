// The PostgreSQL emitter: the SQL text and its binds (no server here; the
// server issue runs it against a database).
#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

#include "cairn/filter.h"
#include "tracking/filter_sql.h"

namespace cairn {
namespace {

SqlFragment Postgres(const std::string& filter, int first = 1) {
  auto tree = ParseFilter(filter);
  EXPECT_TRUE(tree.ok()) << tree.status().ToString();
  if (!tree.ok()) return {};
  return EmitPostgresFilter(*tree, first);
}

std::vector<std::string> Texts(const std::vector<SqlValue>& binds) {
  std::vector<std::string> out;
  for (const SqlValue& v : binds) {
    if (const auto* s = std::get_if<std::string>(&v)) {
      out.push_back("'" + *s + "'");
    } else if (const auto* i = std::get_if<int64_t>(&v)) {
      out.push_back("i" + std::to_string(*i));
    } else {
      out.push_back("d" + std::to_string(std::get<double>(v)));
    }
  }
  return out;
}

TEST(FilterPostgresTest, EmptyFilterIsTrue) {
  EXPECT_EQ(Postgres("").sql, "TRUE");
  EXPECT_TRUE(Postgres("").binds.empty());
}

TEST(FilterPostgresTest, MetricsExcludeNaNAndNumberThePlaceholders) {
  SqlFragment f = Postgres("metrics.acc > 0.9 and metrics.loss IN (1, 2)");
  EXPECT_EQ(f.sql,
            "(EXISTS (SELECT 1 FROM run_metrics m WHERE m.run = r.id AND m.key = $1 AND m.value > "
            "$2 AND m.value <> "
            "'NaN'::double precision) AND EXISTS (SELECT 1 FROM run_metrics m WHERE m.run = r.id "
            "AND m.key = $3 AND "
            "m.value IN ($4, $5) AND m.value <> 'NaN'::double precision))");
  EXPECT_EQ(Texts(f.binds),
            (std::vector<std::string>{"'acc'", "d0.900000", "'loss'", "d1.000000", "d2.000000"}));
  ASSERT_EQ(f.bounds.size(), 1u);
  EXPECT_EQ(f.bounds[0].key, "acc");
}

TEST(FilterPostgresTest, PlaceholdersStartWhereTheCallerSays) {
  SqlFragment f = Postgres("params.model = 'bge'", 4);
  EXPECT_EQ(
      f.sql,
      "EXISTS (SELECT 1 FROM run_params p WHERE p.run = r.id AND p.key = $4 AND p.value = $5)");
  EXPECT_EQ(Texts(f.binds), (std::vector<std::string>{"'model'", "'bge'"}));
}

TEST(FilterPostgresTest, IlikeIsNativeAndLikeIsPlain) {
  EXPECT_EQ(
      Postgres("tags.team ILIKE 's%'").sql,
      "EXISTS (SELECT 1 FROM run_tags t WHERE t.run = r.id AND t.key = $1 AND t.value ILIKE $2)");
  EXPECT_EQ(Postgres("attributes.run_name LIKE 'a%'").sql, "(r.\"name\" LIKE $1)");
}

TEST(FilterPostgresTest, ParamsReadAsNumbersOnlyWhenTheyLookLikeOne) {
  SqlFragment f = Postgres("params.lr < 0.05");
  EXPECT_EQ(f.sql,
            "EXISTS (SELECT 1 FROM run_params p WHERE p.run = r.id AND p.key = $1 AND (CASE WHEN "
            "p.value ~ '^ "
            "*[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)? *$' THEN CAST(p.value AS DOUBLE "
            "PRECISION) END) < $2)");
  EXPECT_EQ(Texts(f.binds), (std::vector<std::string>{"'lr'", "d0.050000"}));
}

TEST(FilterPostgresTest, RunColumnsAreQuoted) {
  SqlFragment f =
      Postgres("user_id = 'alice' and attributes.start_time >= 1000 and status IN ('finished')");
  EXPECT_EQ(f.sql, "((r.\"user\" = $1) AND (r.\"start_time\" >= $2) AND (r.\"status\" IN ($3)))");
  EXPECT_EQ(Texts(f.binds), (std::vector<std::string>{"'alice'", "i1000", "'FINISHED'"}));
}

TEST(FilterPostgresTest, OrNotAndDatasets) {
  SqlFragment f = Postgres("not (datasets.eval != 'v1' or datasets.context = 'train')");
  EXPECT_EQ(
      f.sql,
      "NOT (((EXISTS (SELECT 1 FROM run_inputs i WHERE i.run = r.id AND i.dataset = $1) AND NOT "
      "EXISTS (SELECT 1 "
      "FROM run_inputs i WHERE i.run = r.id AND i.dataset = $2 AND (i.tag IN ($3)))) OR (FALSE)))");
  EXPECT_EQ(Texts(f.binds), (std::vector<std::string>{"'eval'", "'eval'", "'v1'"}));
}

TEST(FilterPostgresTest, ArtifactUriAndAliasedTags) {
  EXPECT_EQ(Postgres("attributes.artifact_uri LIKE 'mlflow-artifacts:/1/%'").sql,
            "(('mlflow-artifacts:/' || r.\"experiment_id\" || '/' || r.\"run_id\" || '/artifacts') LIKE $1)");
  EXPECT_EQ(Postgres("tags.\"mlflow.runName\" = 'x'").sql,
            "(COALESCE((SELECT t.value FROM run_tags t WHERE t.run = r.id AND t.key = $1), "
            "r.\"name\") = $2)");
}

TEST(FilterPostgresTest, UserTextOnlyInBinds) {
  SqlFragment f = Postgres("params.`x'; DROP TABLE runs; --` = 'y''); DROP TABLE runs; --'");
  EXPECT_EQ(f.sql.find("DROP"), std::string::npos) << f.sql;
  EXPECT_EQ(Texts(f.binds),
            (std::vector<std::string>{"'x'; DROP TABLE runs; --'", "'y'); DROP TABLE runs; --'"}));
}

}  // namespace
}  // namespace cairn
