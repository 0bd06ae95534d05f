// Gate rules evaluated against model versions held in memory: expressions
// (numbers, strings, missing metrics, aliases nobody holds), approvals and
// evaluated_on (over a real repository's dataset tags).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cairn/dataset.h"
#include "cairn/gate.h"
#include "cairn/refs.h"
#include "test_util/temp_dir.h"

namespace cairn {
namespace {

ModelVersionState Version(int64_t number, std::map<std::string, double> metrics,
                          std::map<std::string, std::string> params = {}) {
  ModelVersionState state;
  state.version.model = "retriever";
  state.version.version = number;
  state.version.metrics = std::move(metrics);
  state.version.params = std::move(params);
  state.version.user = "alice";
  state.version.run = "run-" + std::to_string(number);
  return state;
}

class GateRulesTest : public ::testing::Test {
 protected:
  // Evaluates each rule (one YAML list item each) against candidate_.
  std::vector<GateRuleResult> Run(const std::vector<std::string>& rules) {
    std::string yaml = "models:\n  retriever:\n    gates:\n";
    for (const std::string& rule : rules) yaml += "      - " + rule + "\n";
    auto gates = ParseGates(yaml, "retriever");
    EXPECT_TRUE(gates.ok()) << gates.status().ToString();
    if (!gates.ok()) return {};
    gates_ = std::move(gates).value();
    GateContext context;
    context.repo = repo_;
    context.candidate = &candidate_;
    context.alias_holders = holders_;
    context.unknown_aliases = unknown_;
    std::vector<const DeclaredGateRule*> declared;
    for (const DeclaredGateRule& r : gates_.rules) declared.push_back(&r);
    auto results = EvaluateRules(declared, context);
    EXPECT_TRUE(results.ok()) << results.status().ToString();
    return results.ok() ? *results : std::vector<GateRuleResult>{};
  }

  GateRuleResult One(const std::string& rule) {
    std::vector<GateRuleResult> results = Run({rule});
    return results.empty() ? GateRuleResult{} : results[0];
  }

  Repo* repo_ = nullptr;
  ModelVersionState candidate_ = Version(3, {{"mrr", 0.65}, {"loss", 0.2}}, {{"model", "bm25"}, {"k", "10"}});
  std::map<std::string, ModelVersionState> holders_;
  std::map<std::string, std::string> unknown_;
  ModelGates gates_;
};

TEST_F(GateRulesTest, NumberComparisonShowsObservedValues) {
  GateRuleResult r = One("metrics.mrr >= 0.70");
  EXPECT_EQ(r.outcome, GateOutcome::kFail);
  EXPECT_EQ(r.summary, "metrics.mrr 0.65 >= 0.70: FAIL");
  EXPECT_EQ(r.kind, "expression");
  EXPECT_EQ(r.rule, "metrics.mrr >= 0.70");
  EXPECT_EQ(r.line, 4);
  ASSERT_EQ(r.observations.size(), 1u);
  EXPECT_EQ(r.observations[0].operand, "metrics.mrr");
  EXPECT_EQ(r.observations[0].observed, "0.65");
  EXPECT_EQ(One("metrics.mrr >= 0.6").outcome, GateOutcome::kPass);
}

TEST_F(GateRulesTest, MissingMetricFailsEvenUnderNot) {
  GateRuleResult r = One("metrics.recall > 0.5");
  EXPECT_EQ(r.outcome, GateOutcome::kFail);
  EXPECT_NE(r.summary.find("metrics.recall missing"), std::string::npos) << r.summary;
  EXPECT_EQ(r.observations[0].observed, "missing");
  EXPECT_EQ(One("not metrics.recall > 0.5").outcome, GateOutcome::kFail);
  EXPECT_EQ(One("metrics.recall > 0.5 and metrics.mrr > 0").outcome, GateOutcome::kFail);
  // OR: another branch may still decide.
  EXPECT_EQ(One("metrics.recall > 0.5 or metrics.mrr > 0").outcome, GateOutcome::kPass);
}

TEST_F(GateRulesTest, AliasNobodyHoldsPasses) {
  GateRuleResult r = One("metrics.mrr > production.metrics.mrr");
  EXPECT_EQ(r.outcome, GateOutcome::kPass);
  EXPECT_EQ(r.summary, "metrics.mrr 0.65 > production.metrics.mrr (no version holds production): PASS");
  ASSERT_EQ(r.observations.size(), 2u);
  EXPECT_EQ(r.observations[1].observed, "no version holds production");
  EXPECT_EQ(One("not staging.metrics.loss < metrics.loss").outcome, GateOutcome::kPass);
}

TEST_F(GateRulesTest, AliasNeverSetFailsEvenUnderNot) {
  unknown_["prodution"] = "alias 'prodution' was never set for retriever (did you mean 'production'?)";
  GateRuleResult r = One("metrics.mrr > prodution.metrics.mrr");
  EXPECT_EQ(r.outcome, GateOutcome::kFail);
  EXPECT_EQ(r.summary,
            "metrics.mrr 0.65 > prodution.metrics.mrr (alias 'prodution' was never set for retriever "
            "(did you mean 'production'?)): FAIL");
  ASSERT_EQ(r.observations.size(), 2u);
  EXPECT_EQ(r.observations[1].observed, unknown_["prodution"]);
  EXPECT_EQ(One("not prodution.metrics.mrr > metrics.mrr").outcome, GateOutcome::kFail);
  EXPECT_EQ(One("prodution.metrics.mrr < 1 and metrics.mrr > 0").outcome, GateOutcome::kFail);
  // An alias merely unheld still passes beside it.
  EXPECT_EQ(One("metrics.mrr > production.metrics.mrr").outcome, GateOutcome::kPass);
}

TEST_F(GateRulesTest, ComparesWithTheAliasHolder) {
  holders_["production"] = Version(2, {{"mrr", 0.60}, {"loss", 0.1}});
  GateRuleResult better = One("metrics.mrr > production.metrics.mrr");
  EXPECT_EQ(better.outcome, GateOutcome::kPass);
  EXPECT_EQ(better.summary, "metrics.mrr 0.65 > production.metrics.mrr 0.6: PASS");
  EXPECT_EQ(One("production.metrics.loss > metrics.loss").outcome, GateOutcome::kFail);
  // The holder lacks the metric: the comparison fails.
  GateRuleResult missing = One("metrics.mrr > production.metrics.ndcg");
  EXPECT_EQ(missing.outcome, GateOutcome::kFail);
  EXPECT_NE(missing.summary.find("production.metrics.ndcg missing"), std::string::npos);
  EXPECT_EQ(One("attributes.version > production.attributes.version").outcome, GateOutcome::kPass);
}

// Comparing with a deprecated version an alias still holds says so.
TEST_F(GateRulesTest, DeprecatedAliasHolderIsNoted) {
  ModelVersionState old = Version(2, {{"mrr", 0.9}}, {});
  old.deprecated = true;
  holders_["production"] = old;
  GateRuleResult r = One("metrics.mrr > production.metrics.mrr");
  EXPECT_NE(r.summary.find("production.metrics.mrr 0.9 (retriever@2, deprecated)"), std::string::npos) << r.summary;
}

TEST_F(GateRulesTest, ParamsCompareAsNumbersWhenTheyAreAndAsStringsOtherwise) {
  EXPECT_EQ(One("params.k = 10.0").outcome, GateOutcome::kPass);   // numerically
  EXPECT_EQ(One("params.k > 9").outcome, GateOutcome::kPass);
  EXPECT_EQ(One("params.model = 'bm25'").outcome, GateOutcome::kPass);
  EXPECT_EQ(One("params.model != 'bm25'").outcome, GateOutcome::kFail);
  EXPECT_EQ(One("params.model LIKE 'bm%'").outcome, GateOutcome::kPass);
  EXPECT_EQ(One("params.model ILIKE 'BM_5'").outcome, GateOutcome::kPass);
  EXPECT_EQ(One("params.model IN ('dpr', 'bm25')").outcome, GateOutcome::kPass);
  EXPECT_EQ(One("params.model NOT IN ('dpr', 'bm25')").outcome, GateOutcome::kFail);
  // Ordering needs a number: a string param cannot pass.
  GateRuleResult text = One("params.model > 3");
  EXPECT_EQ(text.outcome, GateOutcome::kFail);
  EXPECT_EQ(One("not params.model > 3").outcome, GateOutcome::kFail);
  EXPECT_EQ(One("params.missing = 'x'").outcome, GateOutcome::kFail);
  holders_["production"] = Version(2, {}, {{"model", "bm25"}, {"k", "9"}});
  EXPECT_EQ(One("params.model = production.params.model").outcome, GateOutcome::kPass);
  EXPECT_EQ(One("params.k > production.params.k").outcome, GateOutcome::kPass);  // 10 > 9, not "10" < "9"
}

TEST_F(GateRulesTest, CompoundRulesShowEachComparison) {
  GateRuleResult r = One("\"metrics.mrr >= 0.7 or (metrics.loss < 0.3 and not params.model = 'dpr')\"");
  EXPECT_EQ(r.outcome, GateOutcome::kPass);
  EXPECT_EQ(r.summary,
            "metrics.mrr 0.65 >= 0.7 or (metrics.loss 0.2 < 0.3 and not params.model 'bm25' = 'dpr'): PASS");
  EXPECT_EQ(r.observations.size(), 3u);
}

TEST_F(GateRulesTest, NanNeverPasses) {
  candidate_.version.metrics["nan"] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(One("metrics.nan > 0").outcome, GateOutcome::kFail);
  EXPECT_EQ(One("not metrics.nan > 0").outcome, GateOutcome::kFail);
  EXPECT_EQ(One("metrics.nan != 0").outcome, GateOutcome::kFail);
}

TEST_F(GateRulesTest, ApprovalsExcludeTheRegistrantAndCountUsersOnce) {
  GateRuleResult none = One("approvals: 1");
  EXPECT_EQ(none.outcome, GateOutcome::kFail);
  EXPECT_EQ(none.summary, "approvals 0 of 1 (registrant excluded): FAIL");
  EXPECT_EQ(none.kind, "approvals");
  candidate_.approvals = {{"alice", 1, "", ""}, {"bob", 2, "", ""}, {"bob", 3, "", ""}};
  EXPECT_EQ(One("approvals: 1").summary, "approvals 1 of 1 (registrant excluded): PASS");
  EXPECT_EQ(One("approvals: 2").outcome, GateOutcome::kFail);
  candidate_.approvals.push_back({"carol", 4, "", ""});
  GateRuleResult two = One("approvals: 2");
  EXPECT_EQ(two.outcome, GateOutcome::kPass);
  EXPECT_EQ(two.observations[0].observed, "bob, carol");
}

// A person is one approver however their identity is spelt, the registrant
// is excluded by email or (without one) by name, and a blank identity is nobody.
TEST_F(GateRulesTest, ApprovalsCompareIdentitiesByEmailElseByName) {
  candidate_.version.user = "Reg User <reg@example.org>";
  candidate_.approvals = {{"", 1, "", ""},
                          {" ", 2, "", ""},
                          {"Reg User", 3, "", ""},
                          {"reg user <REG@example.org>", 4, "", ""},
                          {"Someone Else <reg@example.org>", 5, "", ""}};
  EXPECT_EQ(One("approvals: 1").summary, "approvals 0 of 1 (registrant excluded): FAIL");
  candidate_.approvals.push_back({"Bob <bob@example.org>", 6, "", ""});
  candidate_.approvals.push_back({"bob <BOB@example.org>", 7, "", ""});
  candidate_.approvals.push_back({"BOB", 8, "", ""});
  EXPECT_EQ(One("approvals: 2").summary, "approvals 1 of 2 (registrant excluded): FAIL");
  // The same name with another email is another person.
  candidate_.approvals.push_back({"Reg User <other@example.org>", 9, "", ""});
  EXPECT_EQ(One("approvals: 2").outcome, GateOutcome::kPass);
  EXPECT_TRUE(SameIdentity("Ann <ann@x.org>", "ann@X.org"));
  EXPECT_FALSE(SameIdentity("", ""));
  EXPECT_TRUE(BlankIdentity(" <> "));
}

class EvaluatedOnTest : public GateRulesTest {
 protected:
  void SetUp() override {
    auto repo = testing::InitTestRepo(dir_.path());
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    owned_ = std::move(repo).value();
    repo_ = owned_.get();
    v1_ = AddVersion("q1\n");
    v2_ = AddVersion("q1\nq2\n");
    Tag tag;
    tag.dataset = "eval";
    tag.name = "v1";
    tag.version = v1_;
    ASSERT_TRUE(CreateTag(*repo_, tag).ok());
    tag.name = "v2";
    tag.version = v2_;
    ASSERT_TRUE(CreateTag(*repo_, tag).ok());
  }

  Oid AddVersion(const std::string& content) {
    testing::WriteText(dir_.path() / "eval.jsonl", content);
    AddOptions options;
    options.name = "eval";
    auto added = Add(*repo_, {(dir_.path() / "eval.jsonl").string()}, options);
    EXPECT_TRUE(added.ok()) << added.status().ToString();
    return added.ok() ? (*added)[0].version : Oid();
  }

  testing::TempDir dir_;
  std::unique_ptr<Repo> owned_;
  Oid v1_, v2_;
};

TEST_F(EvaluatedOnTest, PassesOnlyForExactlyThatVersionUnmodified) {
  candidate_.version.datasets = {{"eval", v2_, {"v2"}, true, false, "explicit"}};
  GateRuleResult pass = One("evaluated_on: eval@v2");
  EXPECT_EQ(pass.outcome, GateOutcome::kPass) << pass.summary;
  EXPECT_EQ(pass.kind, "evaluated_on");
  GateRuleResult other = One("evaluated_on: eval@v1");
  EXPECT_EQ(other.outcome, GateOutcome::kFail);
  EXPECT_NE(other.summary.find("not " + v1_.Short()), std::string::npos) << other.summary;
  candidate_.version.datasets = {{"eval", v2_, {"v2"}, true, true, "explicit"}};
  GateRuleResult modified = One("evaluated_on: eval@v2");
  EXPECT_EQ(modified.outcome, GateOutcome::kFail);
  EXPECT_NE(modified.summary.find("(modified)"), std::string::npos) << modified.summary;
  candidate_.version.datasets = {};
  GateRuleResult none = One("evaluated_on: eval@v2");
  EXPECT_EQ(none.outcome, GateOutcome::kFail);
  EXPECT_NE(none.summary.find("read no version of eval"), std::string::npos) << none.summary;
  // Upstream of a direct input (reached through lineage): no source, counts.
  candidate_.version.datasets = {{"eval", v2_, {"v2"}, false, false, ""}};
  EXPECT_EQ(One("evaluated_on: eval@v2").outcome, GateOutcome::kPass);
}

TEST_F(EvaluatedOnTest, InputTheRunDidNotDeclareFails) {
  // Only checked out when the run started: the run may have read anything.
  candidate_.version.datasets = {{"eval", v2_, {"v2"}, true, false, "workspace"}};
  GateRuleResult workspace = One("evaluated_on: eval@v2");
  EXPECT_EQ(workspace.outcome, GateOutcome::kFail);
  EXPECT_EQ(workspace.summary,
            "evaluated_on eval@v2: eval@v2 was only checked out when the run started; declare it (cairn run -i "
            "eval@v2, a cairn.yaml dep, or cairn.use_dataset): FAIL");
  EXPECT_EQ(workspace.observations[0].observed, v2_.Short() + " (workspace)");
  // Registered before the source was recorded: not taken on trust.
  candidate_.version.datasets = {{"eval", v2_, {"v2"}, true, false, ""}};
  GateRuleResult legacy = One("evaluated_on: eval@v2");
  EXPECT_EQ(legacy.outcome, GateOutcome::kFail);
  EXPECT_NE(legacy.summary.find("re-register"), std::string::npos) << legacy.summary;
}

TEST_F(EvaluatedOnTest, UnknownTagFailsTheRuleWithAMessage) {
  candidate_.version.datasets = {{"eval", v2_, {"v2"}, true, false, "explicit"}};
  GateRuleResult r = One("evaluated_on: eval@v9");
  EXPECT_EQ(r.outcome, GateOutcome::kFail);
  EXPECT_NE(r.summary.find("eval@v9 does not resolve"), std::string::npos) << r.summary;
  EXPECT_EQ(One("evaluated_on: nosuch@v1").outcome, GateOutcome::kFail);
}

}  // namespace
}  // namespace cairn
