// Internal pieces of the gates (cairn/gate.h) shared by their files: the
// expression rule, the kinds registry, and the value formatting every
// summary uses.
#ifndef CAIRN_REGISTRY_GATE_INTERNAL_H_
#define CAIRN_REGISTRY_GATE_INTERNAL_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

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

// "model:NAME@N", the subject of a version in audit entries.
std::string VersionSubject(const std::string& model, int64_t version);

}  // namespace cairn::gate_internal

#endif  // CAIRN_REGISTRY_GATE_INTERNAL_H_
