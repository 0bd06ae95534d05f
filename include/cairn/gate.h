// Promotion gates: rules a model version must pass before an alias may
// name it, declared per model in cairn.yaml:
//
//   models:
//     retriever:
//       gates:
//         - metrics.mrr >= 0.70
//         - metrics.mrr > production.metrics.mrr   # passes while no version holds production
//         - evaluated_on: eval@v3                   # the producing run read exactly this version
//         - approvals: 1                            # by someone other than the registrant
//       alias_gates:
//         production:                               # only for --to production
//           - approvals: 2
//
// Expression rules reuse the filter language's syntax tree (cairn/filter.h)
// with alias-prefixed operands on either side. Named rules (evaluated_on,
// approvals, and later data validation or leakage) are GateRuleKinds
// looked up by their key, so another module adds one without touching this
// one.
#ifndef CAIRN_GATE_H_
#define CAIRN_GATE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cairn/json.h"
#include "cairn/registry.h"
#include "cairn/repo.h"
#include "cairn/status.h"

namespace cairn {

enum class GateOutcome { kPass, kFail };
const char* GateOutcomeName(GateOutcome outcome);  // "PASS", "FAIL"

// One comparison as evaluated: "metrics.mrr 0.65 >= 0.70".
struct GateObservation {
  std::string operand;   // as written: "metrics.mrr", "production.metrics.mrr"
  std::string observed;  // the value found, or "missing"
};

struct GateRuleResult {
  std::string rule;  // as written in cairn.yaml
  std::string kind;  // "expression", "evaluated_on", "approvals", …
  GateOutcome outcome = GateOutcome::kFail;
  std::vector<GateObservation> observations;
  // One line: "metrics.mrr 0.65 >= 0.70: FAIL", "approvals 0 of 1 (registrant excluded): FAIL".
  std::string summary;
  int line = 0;  // where the rule is in cairn.yaml (1-based)
};

struct GateReport {
  std::string model;
  int64_t version = 0;
  std::string target_alias;  // empty when none was given
  std::vector<GateRuleResult> rules;
  bool passed() const;  // every rule passed (true when there are none)
  std::string audit_entry;  // the entry that recorded it, when recorded
};

// What a rule sees: the version, and the versions aliases name now.
struct GateContext {
  Repo* repo = nullptr;
  const ModelVersionState* candidate = nullptr;
  std::string target_alias;
  std::map<std::string, ModelVersionState> alias_holders;  // alias → the version it names now
};

// A named rule (`evaluated_on: eval@v3`). Parse checks the value when
// cairn.yaml is loaded (InvalidArgument with the message; the caller adds
// line and column); Evaluate decides.
class GateRule {
 public:
  virtual ~GateRule() = default;
  virtual Result<GateRuleResult> Evaluate(const GateContext& context) const = 0;
};
using GateRuleFactory = std::function<Result<std::unique_ptr<GateRule>>(const std::string& text, const Json& value)>;
// Adds a named rule kind (replacing one of that key). Thread-safe.
void RegisterGateRuleKind(const std::string& key, GateRuleFactory factory);

struct ModelGates {
  std::string model;
  std::vector<std::unique_ptr<GateRule>> rules;
  std::map<std::string, std::vector<std::unique_ptr<GateRule>>> alias_rules;
};

// The gates cairn.yaml declares for `model` (none: an empty ModelGates).
// InvalidArgument "cairn.yaml:LINE:COL: …" for a syntax error in a rule or
// an unknown rule kind.
Result<ModelGates> LoadGates(Repo& repo, const std::string& model);

// Evaluates every rule for the version `ref` names (and the rules of
// `target_alias`). A rule naming a metric the run lacks fails and says so.
// With `record`, appends a "gate" audit entry with the results.
Result<GateReport> EvaluateGates(Repo& repo, std::string_view ref, const std::string& target_alias, bool record);

struct PromoteOptions {
  bool force = false;   // move the alias even when a gate fails (needs reason)
  std::string reason;
};
struct PromoteResult {
  GateReport report;
  bool moved = false;
  bool forced = false;
  AliasState alias;
};
// Runs the gates and moves `alias` only when they pass (FailedPrecondition
// with the report's failures otherwise, and nothing moved); with force and a
// reason, moves it anyway and records the override.
Result<PromoteResult> PromoteModel(Repo& repo, std::string_view ref, const std::string& alias,
                                   const PromoteOptions& options);

// One move of an alias, from the audit log.
struct AliasEvent {
  std::string alias;
  int64_t version = 0;  // 0: deleted
  int64_t previous = 0;
  std::string action;   // "model.alias", "model.promote", "model.alias.delete"
  std::string user, host, reason;
  int64_t time_ms = 0;
  bool forced = false;
  std::string audit_entry;
};
struct HistoryQuery {
  std::string alias;   // empty: all aliases
  int64_t at_ms = 0;   // when set: only the move in effect at that time, per alias
};
Result<std::vector<AliasEvent>> ModelHistory(Repo& repo, const std::string& model, const HistoryQuery& query);

Json GateReportJson(const GateReport& report);
std::string GateReportText(const GateReport& report);
std::string GateReportJUnit(const GateReport& report);
std::string GateReportMarkdown(const GateReport& report);
Json AliasEventJson(const AliasEvent& event);

}  // namespace cairn

#endif  // CAIRN_GATE_H_
