// The four forms of a gate report. The JUnit XML is also parsed by a real
// XML parser in tests/e2e/test_gates.py.
#include <gtest/gtest.h>

#include <string>

#include "cairn/gate.h"

namespace cairn {
namespace {

GateReport Report() {
  GateReport report;
  report.model = "retriever";
  report.version = 3;
  report.target_alias = "production";
  GateRuleResult fail;
  fail.rule = "metrics.mrr >= 0.70";
  fail.kind = "expression";
  fail.outcome = GateOutcome::kFail;
  fail.observations = {{"metrics.mrr", "0.65"}};
  fail.summary = "metrics.mrr 0.65 >= 0.70: FAIL";
  fail.line = 4;
  GateRuleResult pass;
  pass.rule = "params.model = 'a|b' and tags.x != \"<&>\"";
  pass.kind = "expression";
  pass.outcome = GateOutcome::kPass;
  pass.observations = {{"params.model", "a|b"}, {"tags.x", "\x01"}};
  pass.summary = "params.model 'a|b' = 'a|b' and tags.x '\x01' != \"<&>\": PASS";
  pass.line = 5;
  report.rules = {fail, pass};
  return report;
}

TEST(GateReportTest, Text) {
  EXPECT_EQ(GateReportText(Report()),
            "gate retriever@3 to production: FAIL (1 of 2 rules passed)\n"
            "  metrics.mrr 0.65 >= 0.70: FAIL\n"
            "  params.model 'a|b' = 'a|b' and tags.x '\x01' != \"<&>\": PASS\n");
  GateReport empty;
  empty.model = "m";
  empty.version = 1;
  EXPECT_TRUE(empty.passed());
  EXPECT_EQ(GateReportText(empty), "gate m@1: PASS (no gates declared in cairn.yaml)\n");
}

TEST(GateReportTest, Json) {
  Json json = GateReportJson(Report());
  EXPECT_EQ(json["model"], "retriever");
  EXPECT_EQ(json["version"], 3);
  EXPECT_EQ(json["target_alias"], "production");
  EXPECT_EQ(json["passed"], false);
  EXPECT_EQ(json["failed"], 1);
  ASSERT_EQ(json["rules"].size(), 2u);
  EXPECT_EQ(json["rules"][0]["outcome"], "FAIL");
  EXPECT_EQ(json["rules"][0]["line"], 4);
  EXPECT_EQ(json["rules"][0]["observations"][0]["observed"], "0.65");
  EXPECT_TRUE(json["audit_entry"].is_null());
  EXPECT_TRUE(json["warnings"].is_array() && json["warnings"].empty());
  GateReport warned = Report();
  warned.warnings.push_back("cairn.yaml declares gates for 'x', which is not a registered model");
  EXPECT_EQ(GateReportJson(warned)["warnings"][0], warned.warnings[0]);
}

TEST(GateReportTest, JUnitEscapesAndMarksFailures) {
  std::string xml = GateReportJUnit(Report());
  EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites ", 0), 0u) << xml;
  EXPECT_NE(xml.find("<testsuite name=\"cairn gate retriever@3 to production\" tests=\"2\" failures=\"1\""),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("name=\"metrics.mrr &gt;= 0.70 (cairn.yaml:4)\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<failure message=\"metrics.mrr 0.65 &gt;= 0.70: FAIL\" type=\"expression\">"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("&apos;a|b&apos; and tags.x != &quot;&lt;&amp;&gt;&quot;"), std::string::npos) << xml;
  // A control character XML cannot hold is replaced, never written raw.
  EXPECT_EQ(xml.find('\x01'), std::string::npos);
  EXPECT_EQ(xml.find("<failure", xml.find("params.model")), std::string::npos);  // the passing rule
}

TEST(GateReportTest, MarkdownTable) {
  std::string md = GateReportMarkdown(Report());
  EXPECT_EQ(md.rfind("### ❌ cairn gate `retriever@3 to production`: FAIL\n\n1 of 2 rules passed.\n\n", 0), 0u)
      << md;
  EXPECT_NE(md.find("| | Rule | Observed | Result |\n|---|---|---|---|\n"), std::string::npos) << md;
  EXPECT_NE(md.find("| ❌ | `metrics.mrr >= 0.70` | metrics.mrr 0.65 | FAIL |\n"), std::string::npos) << md;
  // Pipes inside cells are escaped so the table keeps its columns.
  EXPECT_NE(md.find("| ✅ | `params.model = 'a\\|b' and tags.x != \"<&>\"` | params.model a\\|b;"),
            std::string::npos)
      << md;
}

}  // namespace
}  // namespace cairn
