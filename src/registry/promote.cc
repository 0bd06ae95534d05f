// EvaluateGates and PromoteModel: the candidate and the versions the rules'
// aliases name are read (never the runs), the rules decide, and a
// promotion moves the alias only when every rule passes or the user forces
// it with a reason, which is audited.
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cairn/audit.h"
#include "cairn/gate.h"
#include "cairn/registry.h"
#include "registry/gate_internal.h"
#include "registry/promote_lock.h"
#include "registry/registry_internal.h"

namespace cairn {
namespace {

using gate_internal::VersionSubject;

struct Evaluation {
  ModelVersionState candidate;
  GateReport report;
  bool undeclared = false;  // cairn.yaml's models: section does not name the model
  // The aliases the rules read and the target alias, as the gates saw them.
  registry_internal::AliasSnapshot seen;
};

Result<Evaluation> Evaluate(Repo& repo, std::string_view ref, const std::string& target_alias) {
  if (!target_alias.empty()) CAIRN_RETURN_IF_ERROR(ValidateAliasName(target_alias));
  Evaluation out;
  CAIRN_ASSIGN_OR_RETURN(out.candidate, ResolveModel(repo, ref));
  const std::string& model = out.candidate.version.model;
  CAIRN_ASSIGN_OR_RETURN(ModelGates gates, LoadGates(repo, model));
  std::vector<const DeclaredGateRule*> rules;
  for (const DeclaredGateRule& rule : gates.rules) rules.push_back(&rule);
  if (!target_alias.empty()) {
    auto it = gates.alias_rules.find(target_alias);
    if (it != gates.alias_rules.end()) {
      for (const DeclaredGateRule& rule : it->second) rules.push_back(&rule);
    }
  }
  GateContext context;
  context.repo = &repo;
  context.candidate = &out.candidate;
  context.target_alias = target_alias;
  if (!target_alias.empty()) {
    CAIRN_ASSIGN_OR_RETURN(out.seen[target_alias], ReadAlias(repo, model, target_alias));
  }
  CAIRN_RETURN_IF_ERROR(gate_internal::LoadAliasContext(repo, gates, target_alias, rules, &context));
  for (const DeclaredGateRule* rule : rules) {
    for (const std::string& alias : rule->rule->Aliases()) {
      auto held = context.alias_holders.find(alias);
      if (held == context.alias_holders.end()) {
        out.seen[alias] = std::nullopt;
        continue;
      }
      AliasState state;
      state.alias = alias;
      state.version = held->second.version.version;
      state.oid = held->second.oid;
      out.seen[alias] = state;
    }
  }
  CAIRN_ASSIGN_OR_RETURN(out.report.warnings, gate_internal::UndeclaredModelWarnings(repo, gates));
  out.undeclared = !out.report.warnings.empty();
  out.report.model = model;
  out.report.version = out.candidate.version.version;
  out.report.target_alias = target_alias;
  CAIRN_ASSIGN_OR_RETURN(out.report.rules, EvaluateRules(rules, context));
  return out;
}

// The rule results as an audit entry records them.
Json RuleResultsJson(const GateReport& report) {
  Json json = GateReportJson(report);
  Json out = Json::object();
  out["passed"] = json["passed"];
  out["rules"] = json["rules"];
  return out;
}

Result<std::string> RecordGate(Repo& repo, const GateReport& report) {
  AuditEvent event;
  event.action = "gate";
  event.subjects = {VersionSubject(report.model, report.version), "model:" + report.model};
  event.details = Json::object();
  event.details["model"] = report.model;
  event.details["version"] = report.version;
  event.details["target_alias"] = report.target_alias.empty() ? Json(nullptr) : Json(report.target_alias);
  Json results = RuleResultsJson(report);
  event.details["passed"] = results["passed"];
  event.details["rules"] = results["rules"];
  CAIRN_ASSIGN_OR_RETURN(AuditEntry entry, AppendAudit(repo, event));
  return entry.id;
}

}  // namespace

std::function<void()>& PromoteAfterGatesHookForTesting() {
  static std::function<void()> hook;
  return hook;
}

Result<GateReport> EvaluateGates(Repo& repo, std::string_view ref, const std::string& target_alias, bool record) {
  CAIRN_ASSIGN_OR_RETURN(Evaluation evaluation, Evaluate(repo, ref, target_alias));
  if (record) {
    CAIRN_ASSIGN_OR_RETURN(evaluation.report.audit_entry, RecordGate(repo, evaluation.report));
  }
  return std::move(evaluation.report);
}

Result<PromoteResult> PromoteModel(Repo& repo, std::string_view ref, const std::string& alias,
                                   const PromoteOptions& options) {
  if (options.force && options.reason.find_first_not_of(" \t\r\n") == std::string::npos) {
    return Status::InvalidArgument("--force needs --reason: an override of the gates is audited with its reason",
                                   "add --reason \"why this version must go out despite its gates\"");
  }
  CAIRN_RETURN_IF_ERROR(ValidateAliasName(alias));
  // One promotion at a time: the gates of the next see the alias as this
  // one leaves it ("better than production" compares with the new holder).
  // Every alias move takes this lock too (SetAlias, DeleteAlias), so none
  // lands between the gates and the move; the move still checks that the
  // aliases the gates read are unchanged (a pull writes aliases under the
  // repository lock only).
  CAIRN_ASSIGN_OR_RETURN(PromoteLock lock, PromoteLock::Take(repo));
  PromoteResult result;
  {
    CAIRN_ASSIGN_OR_RETURN(ModelRef parsed, ParseModelRef(ref));
    CAIRN_ASSIGN_OR_RETURN(RepoLock writer, repo.Lock());
    // The gates must see an interrupted alias move completed.
    CAIRN_RETURN_IF_ERROR(registry_internal::FinishInterruptedChange(repo, parsed.model));
    CAIRN_RETURN_IF_ERROR(registry_internal::CheckAliasCase(repo, parsed.model, alias));
  }
  {
    CAIRN_ASSIGN_OR_RETURN(ModelVersionState state, ResolveModel(repo, ref));
    if (state.deprecated) {
      return Status::FailedPrecondition(
          "model " + state.version.model + "@" + std::to_string(state.version.version) +
              " is deprecated and cannot be promoted" +
              (state.deprecated_reason.empty() ? std::string() : " (" + state.deprecated_reason + ")"),
          "promote another version; 'cairn model versions " + state.version.model + "' lists them");
    }
  }
  CAIRN_ASSIGN_OR_RETURN(Evaluation evaluation, Evaluate(repo, ref, alias));
  if (evaluation.undeclared) {
    const GateReport& r = evaluation.report;
    std::string message;
    for (const std::string& w : r.warnings) message += (message.empty() ? "" : "; ") + w;
    return Status::FailedPrecondition(
        "not promoting " + r.model + "@" + std::to_string(r.version) +
            " without gates: " + message,
        "fix the model's name under models: in cairn.yaml, or declare '" + r.model +
            ": {}' there to promote it without gates");
  }
  result.report = std::move(evaluation.report);
  CAIRN_ASSIGN_OR_RETURN(result.report.audit_entry, RecordGate(repo, result.report));
  bool passed = result.report.passed();
  if (!passed && !options.force) return result;
  if (const auto& hook = PromoteAfterGatesHookForTesting()) hook();
  std::string version_ref = result.report.model + "@" + std::to_string(result.report.version);
  Json details = Json::object();
  details["gate"] = RuleResultsJson(result.report);
  details["gate_entry"] = result.report.audit_entry;
  details["forced"] = !passed;
  AuditEvent force;
  if (!passed) {
    std::vector<std::string> failed;
    for (const GateRuleResult& r : result.report.rules) {
      if (r.outcome == GateOutcome::kFail) failed.push_back(r.summary);
    }
    force.action = "force";
    force.subjects = {VersionSubject(result.report.model, result.report.version), "model:" + result.report.model};
    force.reason = options.reason;
    force.details = Json::object();
    force.details["command"] = "model promote";
    force.details["alias"] = alias;
    force.details["failed_rules"] = failed;
    force.details["gate_entry"] = result.report.audit_entry;
  }
  CAIRN_ASSIGN_OR_RETURN(result.alias,
                         registry_internal::MoveAliasLocked(repo, version_ref, alias, options.reason, "model.promote",
                                                            details, &evaluation.seen, passed ? nullptr : &force));
  result.moved = true;
  result.forced = !passed;
  return result;
}

}  // namespace cairn
