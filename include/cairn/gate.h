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
#include <optional>
#include <string>
#include <string_view>
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
  // About cairn.yaml rather than a rule: "cairn.yaml declares gates for
  // 'bcx', which is not a registered model; did you mean 'bc'?".
  std::vector<std::string> warnings;
  std::string audit_entry;  // the entry that recorded it, when recorded
};

// What a rule sees: the version, and the versions aliases name now.
struct GateContext {
  Repo* repo = nullptr;
  const ModelVersionState* candidate = nullptr;
  std::string target_alias;
  std::map<std::string, ModelVersionState> alias_holders;  // alias → the version it names now
  // Aliases the rules name that no version holds and that never were one
  // of this model's: not the target, not under alias_gates, no ref and no
  // move in the audit log. alias → why a comparison with it fails ("alias
  // 'prodution' was never set for retriever (did you mean 'production'?)").
  // An alias in neither map is one nobody holds yet: comparisons with it
  // pass (the first promotion has nothing to beat).
  std::map<std::string, std::string> unknown_aliases;
};

// A rule, loaded from cairn.yaml. Expression rules are built in; named
// rules (`evaluated_on: eval@v3`) come from the factory registered for
// their key. The interface for another module's kind (doc/registry.md,
// "Gates"):
//
//   class NoLeakage : public GateRule { … };
//   RegisterGateRuleKind("no_leakage", [](const std::string& text, const Json& value)
//       -> Result<std::unique_ptr<GateRule>> {
//     if (!value.is_string()) return Status::InvalidArgument("no_leakage needs a dataset ref");
//     return std::unique_ptr<GateRule>(new NoLeakage(value.get<std::string>()));
//   });
//
// The factory checks the value when cairn.yaml is loaded (InvalidArgument
// with a message; the loader adds "cairn.yaml:LINE:COL: "). `text` is the
// rule as written ("no_leakage: eval@v3"); `value` the YAML value as JSON
// (plain scalars that read as numbers or booleans are numbers or booleans,
// quoted ones strings). Evaluate decides: a rule that cannot decide (a
// missing metric, an unknown tag) returns a FAIL result that says why; an
// error Status is for I/O and damage only. Rules must be thread-compatible
// (const Evaluate, no shared mutable state).
class GateRule {
 public:
  virtual ~GateRule() = default;
  // `kind`, `rule` and `line` of the result may be left empty: the caller
  // fills them from where the rule was declared.
  virtual Result<GateRuleResult> Evaluate(const GateContext& context) const = 0;
  // Aliases whose versions the rule reads (GateContext::alias_holders);
  // only those are loaded.
  virtual std::vector<std::string> Aliases() const { return {}; }
};
using GateRuleFactory = std::function<Result<std::unique_ptr<GateRule>>(const std::string& text, const Json& value)>;
// Adds a named rule kind (replacing one of that key). Thread-safe. Built
// in: "evaluated_on" (DATASET@TAG: the producing run read exactly that
// version, unmodified) and "approvals" (N: approvals by N distinct users
// other than the registrant).
void RegisterGateRuleKind(const std::string& key, GateRuleFactory factory);
// The keys of every registered kind, sorted.
std::vector<std::string> GateRuleKinds();

// A rule as declared in cairn.yaml.
struct DeclaredGateRule {
  std::string text;  // as written: "metrics.mrr >= 0.70", "approvals: 1"
  std::string kind;  // "expression", or the named rule's key
  int line = 0;      // 1-based, in cairn.yaml
  int column = 0;
  std::unique_ptr<GateRule> rule;
};

struct ModelGates {
  std::string model;
  std::vector<DeclaredGateRule> rules;                                // every promotion
  std::map<std::string, std::vector<DeclaredGateRule>> alias_rules;  // alias_gates: ALIAS
  // cairn.yaml has a models: section naming at least one model, and
  // whether it names this one (an entry with no rules counts: `NAME: {}`).
  // A models: section without the model is most likely a typo in its name;
  // PromoteModel refuses to promote ungated then.
  bool has_models_section = false;
  bool declared = false;
  std::vector<std::string> declared_models;  // every name under models:, in file order
};

// The gates cairn.yaml declares for `model` (none, or no cairn.yaml: an
// empty ModelGates). InvalidArgument "cairn.yaml:LINE:COL: …" for a syntax
// error in a rule (pointing at the offending token inside the YAML
// scalar), an unknown rule kind (listing the known ones), a bad value of a
// named rule or a malformed models: section.
Result<ModelGates> LoadGates(Repo& repo, const std::string& model);
// The same over the text of a cairn.yaml (for tests and other front ends).
Result<ModelGates> ParseGates(const std::string& yaml_text, const std::string& model);

// Evaluates the declared rules against `context`, in order (each rule's
// result carries its text, kind and line). Errors only as Evaluate returns
// them.
Result<std::vector<GateRuleResult>> EvaluateRules(const std::vector<const DeclaredGateRule*>& rules,
                                                  const GateContext& context);

// Evaluates every rule for the version `ref` names (and the rules of
// `target_alias`). A rule naming a metric the run lacks fails and says so.
// With `record`, appends a "gate" audit entry with the results. Reads only
// the candidate and the versions that the rules' aliases name (never the
// runs); an alias no version holds is looked up in the model's other
// aliases and alias moves (GateContext::unknown_aliases). When cairn.yaml
// has a models: section without this model, the report has no rules and a
// warning naming the declared models that are not registered. NotFound for an unknown model or version, InvalidArgument for a
// bad ref, alias or cairn.yaml.
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
// Runs the gates and moves `alias` only when they pass; with force and a
// reason, moves it anyway and records the override (the alias entry's
// details.forced, and a "force" audit entry). A failed gate without force
// is not an error: the result has moved = false and the report says why.
// InvalidArgument for force without a reason or a bad alias;
// FailedPrecondition for a deprecated version (before any gate runs), and
// when cairn.yaml has a models: section that does not name the model (a
// mistyped name there must not let every version through ungated; declare
// `NAME: {}` to promote it without gates), with or without force.
// Promotions serialise on .cairn/promote.lock (taken before the writer
// lock), so the gates of one see the alias as the one before left it.
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
  std::string alias;             // empty: all aliases
  std::optional<int64_t> at_ms;  // when set (0 too): only the move in effect at that time, per alias
};
// The moves of `model`'s aliases from the audit log, oldest first by their
// time (ties in log order: after a pull merged two clones' logs, log order
// is not time order); with at_ms, per alias the last move at or before then
// in that order (an alias deleted by then, or not yet set, is left out).
// NotFound for an unknown model.
Result<std::vector<AliasEvent>> ModelHistory(Repo& repo, const std::string& model, const HistoryQuery& query);
// "2026-03-01", "2026-03-01T12:30:00Z" (or with an offset, or without a
// zone: UTC), or seconds since the epoch, to milliseconds since the epoch.
// The end of a day given as a date ("2026-03-01" means up to
// 2026-03-01T23:59:59.999Z): "which version held production on that date".
// ParseTimeArgument (cairn/audit.h) with DayBound::kEnd.
Result<int64_t> ParseHistoryTime(std::string_view text);

Json GateReportJson(const GateReport& report);
std::string GateReportText(const GateReport& report);
std::string GateReportJUnit(const GateReport& report);
std::string GateReportMarkdown(const GateReport& report);
Json AliasEventJson(const AliasEvent& event);

}  // namespace cairn

#endif  // CAIRN_GATE_H_
