// What the gates see besides the candidate: the versions the rules'
// aliases name, which of the aliases no version holds were never this
// model's (a typo must not pass as "the first promotion"), and warnings
// about a models: section that does not name the model (a typo in the
// model's name must not pass as "no gates declared").
#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cairn/gate.h"
#include "cairn/registry.h"
#include "registry/gate_internal.h"
#include "registry/registry_internal.h"
#include "util/edit_distance.h"

namespace cairn::gate_internal {
namespace {

// The name in `names` closest to `wanted` when it is near enough to be a
// typo of it (two edits, or a third of its length for long names), or "".
std::string Suggestion(const std::string& wanted, const std::vector<std::string>& names) {
  size_t allowed = std::max<size_t>(2, wanted.size() / 3);
  std::string best;
  size_t best_distance = allowed + 1;
  for (const std::string& name : names) {
    if (name == wanted) continue;
    size_t d = EditDistance(wanted, name);
    if (d < best_distance) best = name, best_distance = d;
  }
  return best;
}

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

Status LoadAliasContext(Repo& repo, const ModelGates& gates, const std::string& target_alias,
                        const std::vector<const DeclaredGateRule*>& rules, GateContext* context) {
  const std::string& model = gates.model;
  std::set<std::string> aliases;
  for (const DeclaredGateRule* rule : rules) {
    for (const std::string& alias : rule->rule->Aliases()) aliases.insert(alias);
  }
  std::vector<std::string> unheld;
  for (const std::string& alias : aliases) {
    CAIRN_ASSIGN_OR_RETURN(std::optional<AliasState> held, ReadAlias(repo, model, alias));
    if (!held) {
      if (alias != target_alias && !gates.alias_rules.count(alias)) unheld.push_back(alias);
      continue;
    }
    ModelRef holder;
    holder.model = model;
    holder.version = held->version;
    CAIRN_ASSIGN_OR_RETURN(ModelVersionState state, ResolveModel(repo, holder));
    context->alias_holders.emplace(alias, std::move(state));
  }
  if (unheld.empty()) return Status::OK();
  // Only now read what this model's aliases have been: the current refs
  // and every move the audit log recorded (a deleted alias was set once).
  std::set<std::string> known;
  CAIRN_ASSIGN_OR_RETURN(std::vector<AliasState> current, ListAliases(repo, model));
  for (const AliasState& a : current) known.insert(a.alias);
  CAIRN_ASSIGN_OR_RETURN(std::vector<AliasEvent> moves, ModelHistory(repo, model, HistoryQuery{}));
  for (const AliasEvent& e : moves) known.insert(e.alias);
  std::vector<std::string> candidates(known.begin(), known.end());
  for (const auto& [alias, rules_of_alias] : gates.alias_rules) candidates.push_back(alias);
  if (!target_alias.empty()) candidates.push_back(target_alias);
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  for (const std::string& alias : unheld) {
    if (known.count(alias)) continue;
    std::string message = "alias '" + alias + "' was never set for " + model;
    if (std::string near = Suggestion(alias, candidates); !near.empty()) {
      message += " (did you mean '" + near + "'?)";
    } else if (!candidates.empty()) {
      message += " (its aliases: " + Join(candidates) + ")";
    }
    context->unknown_aliases.emplace(alias, std::move(message));
  }
  return Status::OK();
}

Result<std::vector<std::string>> UndeclaredModelWarnings(Repo& repo, const ModelGates& gates) {
  std::vector<std::string> warnings;
  if (!gates.has_models_section || gates.declared) return warnings;
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> registered, registry_internal::ModelNames(repo));
  std::set<std::string> is_registered(registered.begin(), registered.end());
  for (const std::string& declared : gates.declared_models) {
    if (is_registered.count(declared)) continue;
    std::string warning = "cairn.yaml declares gates for '" + declared + "', which is not a registered model";
    if (std::string near = Suggestion(declared, registered); !near.empty()) warning += "; did you mean '" + near + "'?";
    warnings.push_back(std::move(warning));
  }
  if (warnings.empty()) {
    warnings.push_back("cairn.yaml declares gates for " + Join(gates.declared_models) + " but not for '" +
                       gates.model + "'");
  }
  return warnings;
}

}  // namespace cairn::gate_internal
