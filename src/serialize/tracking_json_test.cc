// The tracking JSON shapes (doc/json.md, "Tracking"): field names, order,
// null for absent values, non-finite metric values, and the run comparison.
#include "cairn/json_tracking.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "cairn/run_compare.h"

namespace cairn {
namespace {

std::vector<std::string> Keys(const Json& j) {
  std::vector<std::string> out;
  for (const auto& [k, v] : j.items()) out.push_back(k);
  return out;
}

Oid TestOid(char c) {
  auto oid = Oid::Parse(std::string(64, c));
  EXPECT_TRUE(oid.ok());
  return oid.ok() ? *oid : Oid();
}

RunInfo SampleRun() {
  RunInfo r;
  r.id = std::string(32, 'a');
  r.experiment_id = 3;
  r.experiment = "wine";
  r.name = "knn";
  r.status = RunStatus::kFinished;
  r.start_ms = 1000;
  r.end_ms = 2500;
  r.user = "ana";
  r.exit_code = 0;
  r.command = "python3 train.py";
  r.cwd = "src";
  r.params = {{"k", "5"}};
  r.tags = {{"stage", "candidate"}};
  r.metrics["acc"] = MetricPoint{"acc", 0.93, 7, 2400};
  r.inputs.push_back(RunInput{"data/raw", TestOid('b'), "v1", "explicit"});
  r.artifacts.push_back(RunArtifact{"models/a.json", TestOid('c'), 12});
  r.env = {{"git.commit", "abc"}, {"os.kernel", "6.1"}};
  r.record = TestOid('d');
  return r;
}

TEST(TrackingJsonTest, NonFiniteMetricValuesAreStringsAndReadBack) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(MetricValueJson(nan), Json("NaN"));
  EXPECT_EQ(MetricValueJson(inf), Json("Infinity"));
  EXPECT_EQ(MetricValueJson(-inf), Json("-Infinity"));
  EXPECT_EQ(MetricValueJson(0.25), Json(0.25));
  EXPECT_TRUE(std::isnan(*MetricValueFromJson(Json("NaN"))));
  EXPECT_EQ(*MetricValueFromJson(Json("Infinity")), inf);
  EXPECT_EQ(*MetricValueFromJson(Json("-Infinity")), -inf);
  EXPECT_EQ(*MetricValueFromJson(Json(3)), 3.0);
  EXPECT_FALSE(MetricValueFromJson(Json("nan")).has_value());
  EXPECT_FALSE(MetricValueFromJson(Json(nullptr)).has_value());
  // The document stays valid JSON: dump() would write null for a raw NaN.
  EXPECT_EQ(MetricPointJson(MetricPoint{"n", nan, 1, 5}).dump(),
            R"({"key":"n","value":"NaN","step":1,"timestamp":5})");
}

TEST(TrackingJsonTest, RunSummaryHasTheCliFieldsInOrder) {
  Json j = RunJson(SampleRun(), RunDetail::kSummary);
  EXPECT_EQ(Keys(j), (std::vector<std::string>{"id", "name", "experiment", "experiment_id", "status", "start_time",
                                               "end_time", "user", "deleted", "exit_code", "command", "params",
                                               "tags", "metrics"}));
  EXPECT_EQ(j["status"], "FINISHED");
  EXPECT_EQ(j["end_time"], 2500);
  EXPECT_EQ(j["exit_code"], 0);
  EXPECT_EQ(j["params"], Json({{"k", "5"}}));
  EXPECT_EQ(j["metrics"]["acc"], Json({{"value", 0.93}, {"step", 7}, {"timestamp", 2400}}));
}

TEST(TrackingJsonTest, RunningRunHasNullEndAndExitCode) {
  RunInfo r = SampleRun();
  r.status = RunStatus::kRunning;
  r.end_ms = 0;
  r.exit_code.reset();
  r.record.reset();
  Json j = RunJson(r, RunDetail::kFull);
  EXPECT_TRUE(j["end_time"].is_null());
  EXPECT_TRUE(j["exit_code"].is_null());
  EXPECT_TRUE(j["record"].is_null());
  EXPECT_EQ(j["status"], "RUNNING");
  EXPECT_TRUE(j["heartbeat"].is_null()) << "a heartbeat not read (a search) is null";
  r.heartbeat_ms = 1234;
  EXPECT_EQ(RunJson(r, RunDetail::kFull)["heartbeat"], 1234);
  EXPECT_FALSE(RunJson(r, RunDetail::kSummary).contains("heartbeat"));
  RunInfo ended = SampleRun();
  ended.heartbeat_ms = 1234;
  EXPECT_TRUE(RunJson(ended, RunDetail::kFull)["heartbeat"].is_null()) << "an ended run has no heartbeat";
}

TEST(TrackingJsonTest, FullRunAddsInputsArtifactsEnvAndRecord) {
  Json j = RunJson(SampleRun(), RunDetail::kFull);
  EXPECT_EQ(j["cwd"], "src");
  ASSERT_EQ(j["inputs"].size(), 1u);
  EXPECT_EQ(j["inputs"][0], Json({{"dataset", "data/raw"},
                                  {"version", "sha256:" + std::string(64, 'b')},
                                  {"tag", "v1"},
                                  {"source", "explicit"},
                                  {"modified", false}}));
  EXPECT_EQ(j["artifacts"][0],
            Json({{"path", "models/a.json"}, {"oid", "sha256:" + std::string(64, 'c')}, {"size", 12}}));
  EXPECT_EQ(j["env"]["git.commit"], "abc");
  EXPECT_EQ(j["record"], "sha256:" + std::string(64, 'd'));
  EXPECT_FALSE(RunJson(SampleRun(), RunDetail::kSummary).contains("inputs"));
  EXPECT_EQ(RunListJson({SampleRun(), SampleRun()}).size(), 2u);
  EXPECT_TRUE(RunListJson({}).is_array());
}

TEST(TrackingJsonTest, ExperimentAndHistoryShapes) {
  Experiment e{4, "iris", true, 99, 2};
  EXPECT_EQ(ExperimentJson(e).dump(), R"({"id":4,"name":"iris","runs":2,"deleted":true,"created":99,"tags":{}})");
  e.tags = {{"team", "nlp"}};
  EXPECT_EQ(ExperimentJson(e)["tags"], Json({{"team", "nlp"}}));
  EXPECT_TRUE(ExperimentListJson({}).is_array());
  Json h = MetricHistoryJson({MetricPoint{"loss", 1.5, 0, 10}, MetricPoint{"loss", 0.5, 1, 20}});
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[1]["value"], 0.5);
  EXPECT_EQ(h[1]["step"], 1);
}

TEST(RunCompareTest, MarksDifferencesAndHidesEqualEnv) {
  RunInfo a = SampleRun(), b = SampleRun();
  b.id = std::string(32, 'e');
  b.params["k"] = "7";
  b.metrics["acc"].value = std::nextafter(0.93, 1.0);  // prints as 0.93 with six digits
  b.env["git.commit"] = "def";
  RunComparison c = CompareRunInfos({a, b});
  EXPECT_EQ(c.runs, (std::vector<std::string>{a.id, b.id}));
  auto find = [&](const std::string& section, const std::string& key) -> const CompareRow* {
    for (const CompareRow& row : c.rows)
      if (row.section == section && row.key == key) return &row;
    return nullptr;
  };
  ASSERT_NE(find("params", "k"), nullptr);
  EXPECT_TRUE(find("params", "k")->differs);
  EXPECT_EQ(find("params", "k")->values, (std::vector<std::string>{"5", "7"}));
  ASSERT_NE(find("metrics", "acc"), nullptr);
  EXPECT_TRUE(find("metrics", "acc")->differs);
  EXPECT_TRUE(find("code", "git.commit")->differs);
  EXPECT_FALSE(find("run", "status")->differs);
  EXPECT_EQ(find("run", "duration")->values[0], "1.5s");
  EXPECT_EQ(find("data", "data/raw")->values[0], "v1 " + TestOid('b').Short());
  // os.kernel is equal: hidden, and counted.
  EXPECT_EQ(find("env", "os.kernel"), nullptr);
  EXPECT_EQ(c.hidden_rows, 1);
  RunComparison all = CompareRunInfos({a, b}, CompareOptions{.include_equal_env = true});
  EXPECT_EQ(all.hidden_rows, 0);
  EXPECT_EQ(all.rows.size(), c.rows.size() + 1);
  Json j = RunComparisonJson(c);
  EXPECT_EQ(Keys(j), (std::vector<std::string>{"runs", "rows", "hidden_rows"}));
  EXPECT_EQ(Keys(j["rows"][0]), (std::vector<std::string>{"section", "key", "values", "differs"}));
}

TEST(RunCompareTest, MissingKeysShowADashAndDiffer) {
  RunInfo a = SampleRun(), b = SampleRun();
  b.params.clear();
  RunComparison c = CompareRunInfos({a, b});
  bool seen = false;
  for (const CompareRow& row : c.rows) {
    if (row.section != "params") continue;
    seen = true;
    EXPECT_EQ(row.values, (std::vector<std::string>{"5", "-"}));
    EXPECT_TRUE(row.differs);
  }
  EXPECT_TRUE(seen);
}

TEST(RunCompareTest, AModifiedInputDiffersFromItsVersion) {
  RunInfo a = SampleRun(), b = SampleRun();
  b.inputs[0].source = "workspace";
  b.inputs[0].modified = true;
  RunComparison c = CompareRunInfos({a, b});
  const CompareRow* data = nullptr;
  for (const CompareRow& row : c.rows)
    if (row.section == "data") data = &row;
  ASSERT_NE(data, nullptr);
  EXPECT_TRUE(data->differs);
  EXPECT_EQ(data->values,
            (std::vector<std::string>{"v1 " + TestOid('b').Short(), "v1 " + TestOid('b').Short() + " (modified)"}));
}

TEST(RunCompareTest, TagsAndTheGitDiffAreCompared) {
  RunInfo a = SampleRun(), b = SampleRun();
  b.tags["stage"] = "prod";
  a.tags["mlflow.note"] = "x";
  b.artifacts.push_back(RunArtifact{"cairn/git.diff", TestOid('e'), 30});
  auto find = [](const RunComparison& c, const std::string& section, const std::string& key) -> const CompareRow* {
    for (const CompareRow& row : c.rows)
      if (row.section == section && row.key == key) return &row;
    return nullptr;
  };
  RunComparison c = CompareRunInfos({a, b});
  ASSERT_NE(find(c, "tags", "stage"), nullptr);
  EXPECT_EQ(find(c, "tags", "stage")->values, (std::vector<std::string>{"candidate", "prod"}));
  EXPECT_TRUE(find(c, "tags", "stage")->differs);
  ASSERT_NE(find(c, "code", "diff"), nullptr);
  EXPECT_EQ(find(c, "code", "diff")->values, (std::vector<std::string>{"-", TestOid('e').Short()}));
  // System tags only when asked for; counted as hidden.
  EXPECT_EQ(find(c, "tags", "mlflow.note"), nullptr);
  EXPECT_EQ(c.hidden_tag_rows, 1);
  EXPECT_EQ(c.hidden_rows, 2);  // and os.kernel
  RunComparison all = CompareRunInfos({a, b}, CompareOptions{.include_equal_env = true, .include_system_tags = true});
  ASSERT_NE(find(all, "tags", "mlflow.note"), nullptr);
  EXPECT_EQ(all.hidden_rows, 0);
}

TEST(RunInputTextTest, ModifiedInputsSayTheyAre) {
  RunInput in{"data/wine", TestOid('b'), "v2", "workspace"};
  EXPECT_EQ(DescribeRunInput(in), "data/wine  v2  " + TestOid('b').Short() + "  (workspace)");
  in.modified = true;
  EXPECT_EQ(DescribeRunInput(in),
            "data/wine  v2  " + TestOid('b').Short() + "  (workspace, modified since that version)");
  EXPECT_EQ(ModifiedInputWarning(in),
            "data/wine differs from its pointer's version v2 (see 'cairn status'): the run records that version as "
            "modified");
}

TEST(RunCompareTest, DurationFormats) {
  EXPECT_EQ(FormatDurationMs(850), "850ms");
  EXPECT_EQ(FormatDurationMs(12'300), "12.3s");
  EXPECT_EQ(FormatDurationMs(245'000), "4m05s");
  EXPECT_EQ(FormatDurationMs(7'380'000), "2h03m");
  RunInfo r = SampleRun();
  r.status = RunStatus::kRunning;
  EXPECT_EQ(FormatRunDuration(r, 3000), "2.0s…");
}

}  // namespace
}  // namespace cairn
