// MLflow's search_runs filter and order_by syntax (mlflow/utils/search_utils.py)
// is valid cairn syntax with MLflow's meaning, against real SQLite.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tracking/filter.h"
#include "tracking/filter_test_util.h"

namespace cairn {
namespace {

class FilterMlflowTest : public filter_test::FilterTest {
 protected:
  void SetUp() override {
    FilterTest::SetUp();
    // run-c carries MLflow's run-name tag, which differs from its name.
    Exec("INSERT INTO run_tags (run, key, value) VALUES (3, 'mlflow.runName', 'sweep-tagged')");
  }
};

TEST_F(FilterMlflowTest, EveryIdentifierSpelling) {
  ExpectMatches({
      {"metric.acc > 0.9", "b"},
      {"metrics.acc > 0.9", "b"},
      {"`metrics`.acc > 0.9", "b"},
      {"param.model = 'bge'", "ad"},
      {"params.model = 'bge'", "ad"},
      {"parameter.model = 'bge'", "ad"},
      {"parameters.model = 'bge'", "ad"},
      {"tag.team = 'infra'", "c"},
      {"tags.team = 'infra'", "c"},
      {"attribute.status = 'KILLED'", "d"},
      {"attributes.status = 'KILLED'", "d"},
      {"attr.status = 'KILLED'", "d"},
      {"dataset.name = 'eval'", "abc"},
      {"datasets.name = 'eval'", "abc"},
  });
}

TEST_F(FilterMlflowTest, QuotedKeys) {
  ExpectMatches({
      {"metrics.`val.acc` > 0.9", "e"},
      {"metrics.\"val.acc\" > 0.9", "e"},
      {"params.\"batch size\" = \"32\"", "a"},
      {"params.'batch size' = '32'", "a"},
      {"tags.\"mlflow.note\" = 'first'", "a"},
      {"tags.`my key` = 'x y'", "d"},
  });
}

TEST_F(FilterMlflowTest, AttributesWithoutAPrefix) {
  ExpectMatches({
      {"status = 'FINISHED'", "aef"},
      {"run_name = 'baseline'", "a"},
      {"run_id IN ('run-a', 'run-f')", "af"},
      {"start_time >= 3000", "cdef"},
      {"end_time <= 2000", "a"},
      {"created < 2000", "a"},
      {"Created < 2000", "a"},
      {"user_id = 'alice'", "ac"},
      {"status != 'FINISHED' and user_id = 'alice'", "c"},
  });
}

TEST_F(FilterMlflowTest, MlflowAttributeNames) {
  ExpectMatches({
      {"attributes.user_id = 'bob'", "be"},
      {"attributes.\"run name\" = 'sweep'", "c"},
      {"attributes.`Run Name` LIKE 'Base%'", "b"},
      {"attributes.`Run name` ILIKE 'base%'", "ab"},
      {"attributes.created >= 5000", "ef"},
      {"attributes.run_id NOT IN ('run-a')", "bcdef"},
      {"attributes.artifact_uri = 'mlflow-artifacts:/1/run-a/artifacts'", "a"},
      {"attributes.artifact_uri LIKE 'mlflow-artifacts:/2/%'", "cd"},
      {"attributes.artifact_uri LIKE '%/run-_/artifacts'", "abcdef"},
      {"attributes.artifact_uri != 'mlflow-artifacts:/1/run-a/artifacts'", "bcdef"},
      // MLflow's RunStatus also has SCHEDULED, which no cairn run has.
      {"attributes.status = 'SCHEDULED'", ""},
      {"attributes.status != 'SCHEDULED'", "abcdef"},
  });
}

TEST_F(FilterMlflowTest, Comparators) {
  ExpectMatches({
      {"metrics.acc != 0.9", "bc"},
      {"metrics.acc >= 0.9 and metrics.acc <= 0.95", "abd"},
      {"params.model != 'bge'", "bc"},  // runs without the param never match
      {"params.model LIKE '%ge%'", "abd"},
      {"params.model ILIKE '%GE%'", "abd"},
      {"tags.team LIKE 'S%'", "a"},
      {"tags.team ILIKE 's%'", "ab"},
      {"attributes.status IN ('FAILED', 'KILLED')", "cd"},
      {"attributes.status NOT IN ('FAILED', 'KILLED')", "abef"},
      {"attributes.run_name != 'final'", "abcdf"},
      // Numbers against metrics, strings against params: both as MLflow.
      {"metrics.acc = 0.9 and params.lr = '0.1'", "a"},
      {"metrics.acc > +0.9", "b"},
  });
}

TEST_F(FilterMlflowTest, TheDocumentedExamples) {
  Exec(
      "INSERT INTO run_params (run, key, value) VALUES (6, 'model', 'LogisticRegression'), (6, "
      "'lambda', '0.001')");
  Exec("INSERT INTO run_metrics (run, key, value, step, ts) VALUES (6, 'error', 0.04, 0, 0)");
  ExpectMatches({
      {"metrics.accuracy > 0.92", ""},
      {"params.model = \"LogisticRegression\" and params.lambda = \"0.001\" and metrics.error <= "
       "0.05",
       "f"},
      {"attributes.status = \"FAILED\"", "c"},
      {"tags.`mlflow.note` = 'first' AND metrics.acc >= 0.9", "a"},
  });
}

TEST_F(FilterMlflowTest, RunNameTagFallsBackToTheName) {
  ExpectMatches({
      {"tags.mlflow.runName = 'baseline'", "a"},
      {"tags.\"mlflow.runName\" = 'sweep-tagged'", "c"},
      {"tags.`mlflow.runName` = 'sweep'", ""},  // the tag wins over the name
      {"tags.mlflow.runName LIKE '%e%'", "abcf"},
      {"tags.mlflow.runName != 'final'", "abcdf"},
      {"tags.mlflow.user = 'carol'", "d"},
  });
}

TEST_F(FilterMlflowTest, DatasetFields) {
  ExpectMatches({
      {"datasets.name = 'eval'", "abc"},
      {"datasets.name LIKE 'data/%'", "ae"},
      {"datasets.name ILIKE 'EVAL'", "abc"},
      {"datasets.name IN ('eval', 'x')", "abc"},
      {"datasets.name != 'eval'", "ae"},  // some input is not named eval
      {"datasets.name NOT IN ('eval')", "ae"},
      {"datasets.digest = 'a1b2c3d4e5f6'", "ac"},
      {"datasets.digest = 'a1b2'", "abc"},  // an abbreviated version
      {"datasets.digest IN ('deadbeef0011', 'c0ffee001122')", "ce"},
      {"datasets.digest != 'a1b2c3d4e5f6'", "abce"},
      {"datasets.digest LIKE 'dead%'", "e"},
      // cairn records no dataset context: as MLflow with inputs that have none.
      {"datasets.context = 'training'", ""},
      {"datasets.context != 'training'", ""},
      {"datasets.name = 'eval' and datasets.digest = 'c0ffee00'", "c"},
  });
}

TEST_F(FilterMlflowTest, OrKeepsWorking) {
  ExpectMatches({
      {"status = 'KILLED' OR datasets.name = 'data/train'", "ade"},
      {"(metrics.acc > 0.9 or tags.team = 'infra') and user_id != 'carol'", "bc"},
      {"NOT status = 'FINISHED'", "bcd"},
      {"not (params.model = 'bge' or params.model = 't5')", "bef"},
  });
}

TEST(FilterMlflowOrderByTest, MlflowOrderClauses) {
  filter_test::ExpectOrderKeys(
      {"metrics.acc DESC", "attributes.start_time ASC", "metrics.`my metric` DESC",
       "params.\"batch size\"", "start_time DESC", "created", "run_name", "user_id",
       "attributes.artifact_uri", "tags.mlflow.runName", "attr.`Run name` desc"},
      {
          {OrderKey::Kind::kMetric, "acc", true},
          {OrderKey::Kind::kAttribute, "start_time", false},
          {OrderKey::Kind::kMetric, "my metric", true},
          {OrderKey::Kind::kParam, "batch size", false},
          {OrderKey::Kind::kAttribute, "start_time", true},
          {OrderKey::Kind::kAttribute, "start_time", false},
          {OrderKey::Kind::kAttribute, "name", false},
          {OrderKey::Kind::kAttribute, "user", false},
          {OrderKey::Kind::kAttribute, "run_id", false},
          {OrderKey::Kind::kAttribute, "name", false},
          {OrderKey::Kind::kAttribute, "name", true},
      });
  auto datasets = ParseOrderBy({"datasets.name"});
  ASSERT_FALSE(datasets.ok());
  EXPECT_NE(datasets.status().message().find("cannot order by datasets.name"), std::string::npos);
}

}  // namespace
}  // namespace cairn
