// Internal pieces of the gates (cairn/gate.h) shared by their files: the
// expression rule, the kinds registry, and the value formatting every
// summary uses.
#ifndef CAIRN_REGISTRY_GATE_INTERNAL_H_
#define CAIRN_REGISTRY_GATE_INTERNAL_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cairn/gate.h"

namespace cairn::gate_internal {

// An expression rule over ModelGateFilterSchema(). InvalidArgument as
// ParseFilter gives it, with `*error_pos` the offending byte of `text`.
Result<std::unique_ptr<GateRule>> ParseExpressionRule(const std::string& text, size_t* error_pos);

// The factory registered for `key`, if any.
std::optional<GateRuleFactory> FindGateRuleKind(const std::string& key);

// A number as the shortest text that reads back as the same double
// ("0.65", "1e-05", "nan", "inf").
std::string FormatNumber(double value);

// Fills context->alias_holders with the versions the aliases of `rules`
// name now, and context->unknown_aliases with those no version holds that
// are not `target_alias`, not under the model's alias_gates and were never
// set (no ref, no move in the audit log), each with a did-you-mean. Reads
// the aliases and the audit log only when such an alias is there.
Status LoadAliasContext(Repo& repo, const ModelGates& gates, const std::string& target_alias,
                        const std::vector<const DeclaredGateRule*>& rules, GateContext* context);

// When cairn.yaml has a models: section that does not name gates.model:
// one warning per declared model that is not registered ("cairn.yaml
// declares gates for 'bcx', which is not a registered model; did you mean
// 'bc'?"), or one saying the model is missing when all are. Empty
// otherwise.
Result<std::vector<std::string>> UndeclaredModelWarnings(Repo& repo, const ModelGates& gates);

// "model:NAME@N", the subject of a version in audit entries.
std::string VersionSubject(const std::string& model, int64_t version);

}  // namespace cairn::gate_internal

#endif  // CAIRN_REGISTRY_GATE_INTERNAL_H_
