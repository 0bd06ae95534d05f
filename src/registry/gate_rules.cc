// The registry of named gate rule kinds, the two built in (evaluated_on,
// approvals), and the evaluation of declared rules in order.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cairn/dataset.h"
#include "cairn/gate.h"
#include "registry/gate_internal.h"

namespace cairn {
namespace {

// evaluated_on: DATASET@TAG. The producing run read exactly that version:
// the model version's datasets (direct inputs the run declared, and
// upstream versions) include it, not read modified from the workspace.
class EvaluatedOnRule : public GateRule {
 public:
  EvaluatedOnRule(std::string dataset, std::string ref) : dataset_(std::move(dataset)), ref_(std::move(ref)) {}

  Result<GateRuleResult> Evaluate(const GateContext& context) const override {
    GateRuleResult result;
    std::string head = "evaluated_on " + ref_;
    Result<ResolvedRef> resolved = ResolveRef(*context.repo, ref_);
    if (!resolved.ok()) {
      if (resolved.status().code() == Code::kIOError ||
          resolved.status().code() == Code::kCorruption) {
        return resolved.status();
      }
      result.observations.push_back({ref_, "unknown"});
      result.summary = head + ": " + ref_ + " does not resolve (" + FirstLine(resolved.status().message()) + "): FAIL";
      return result;
    }
    const std::string& dataset = resolved->dataset;
    std::string want = resolved->version.Short();
    std::vector<std::string> read;
    std::string undeclared;  // why the version itself, read but not declared, does not count
    for (const ModelDataset& d : context.candidate->version.datasets) {
      if (d.dataset != dataset) continue;
      bool exact = d.version == resolved->version && !d.modified;
      // A direct input counts only when the run declared it: a pointer
      // merely checked out when the run started may not be what it read.
      if (exact && d.direct && d.source != "explicit") {
        read.push_back(d.version.Short() + (d.source.empty() ? " (source not recorded)" : " (workspace)"));
        undeclared = d.source.empty()
                         ? ref_ + " is an input of the run, but this version was registered before cairn recorded "
                                  "whether the run declared it; re-register it (cairn model register) to check"
                         : ref_ + " was only checked out when the run started; declare it (cairn run -i " + ref_ +
                               ", a cairn.yaml dep, or cairn.use_dataset)";
        continue;
      }
      std::string seen = d.version.Short() + (d.modified ? " (modified)" : "");
      read.push_back(seen);
      if (exact) {
        result.outcome = GateOutcome::kPass;
        result.observations.push_back({"datasets." + dataset, d.version.Short()});
        result.summary = head + ": read " + dataset + " " + want + ": PASS";
        return result;
      }
    }
    if (!undeclared.empty()) {
      std::string list;
      for (const std::string& r : read) list += (list.empty() ? "" : ", ") + r;
      result.observations.push_back({"datasets." + dataset, list});
      result.summary = head + ": " + undeclared + ": FAIL";
      return result;
    }
    if (read.empty()) {
      result.observations.push_back({"datasets." + dataset, "missing"});
      result.summary = head + ": the producing run read no version of " + dataset + ": FAIL";
      return result;
    }
    std::string list;
    for (const std::string& r : read) list += (list.empty() ? "" : ", ") + r;
    result.observations.push_back({"datasets." + dataset, list});
    result.summary = head + ": read " + dataset + " " + list + ", not " + want + " unmodified: FAIL";
    return result;
  }

 private:
  static std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

  std::string dataset_;
  std::string ref_;
};

Result<std::unique_ptr<GateRule>> MakeEvaluatedOn(const std::string&, const Json& value) {
  std::string ref = value.is_string() ? value.get<std::string>() : std::string();
  size_t at = ref.rfind('@');
  if (ref.empty() || at == std::string::npos || at == 0 || at + 1 == ref.size()) {
    return Status::InvalidArgument("evaluated_on needs a dataset version ref such as eval@v3",
                                   "write: - evaluated_on: DATASET@TAG");
  }
  return std::unique_ptr<GateRule>(new EvaluatedOnRule(ref.substr(0, at), ref));
}

// approvals: N. N approvals by distinct people other than the registrant
// (SameIdentity: a different spelling of a name or email is the same
// person); approvals recorded with a blank identity count for nobody.
class ApprovalsRule : public GateRule {
 public:
  explicit ApprovalsRule(int64_t needed) : needed_(needed) {}

  Result<GateRuleResult> Evaluate(const GateContext& context) const override {
    GateRuleResult result;
    const ModelVersionState& state = *context.candidate;
    std::vector<std::string> people;  // one spelling of each person
    for (const Approval& approval : state.approvals) {
      if (BlankIdentity(approval.user) || SameIdentity(approval.user, state.version.user)) continue;
      bool counted = false;
      for (const std::string& p : people) counted = counted || SameIdentity(p, approval.user);
      if (!counted) people.push_back(approval.user);
    }
    std::set<std::string> users(people.begin(), people.end());
    std::string names;
    for (const std::string& user : users) names += (names.empty() ? "" : ", ") + user;
    result.observations.push_back({"approvals", names.empty() ? "none" : names});
    int64_t have = static_cast<int64_t>(users.size());
    result.outcome = have >= needed_ ? GateOutcome::kPass : GateOutcome::kFail;
    result.summary = "approvals " + std::to_string(have) + " of " + std::to_string(needed_) +
                     " (registrant excluded): " + GateOutcomeName(result.outcome);
    return result;
  }

 private:
  int64_t needed_;
};

Result<std::unique_ptr<GateRule>> MakeApprovals(const std::string&, const Json& value) {
  if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > 1000) {
    return Status::InvalidArgument("approvals needs a whole number of approvals, 0 to 1000",
                                   "write: - approvals: 1");
  }
  return std::unique_ptr<GateRule>(new ApprovalsRule(value.get<int64_t>()));
}

struct Kinds {
  std::mutex mu;
  std::map<std::string, GateRuleFactory> factories;
};

Kinds& TheKinds() {
  static Kinds* kinds = [] {
    auto* k = new Kinds;
    k->factories["evaluated_on"] = MakeEvaluatedOn;
    k->factories["approvals"] = MakeApprovals;
    return k;
  }();
  return *kinds;
}

}  // namespace

const char* GateOutcomeName(GateOutcome outcome) { return outcome == GateOutcome::kPass ? "PASS" : "FAIL"; }

bool GateReport::passed() const {
  return std::all_of(rules.begin(), rules.end(),
                     [](const GateRuleResult& r) { return r.outcome == GateOutcome::kPass; });
}

void RegisterGateRuleKind(const std::string& key, GateRuleFactory factory) {
  Kinds& kinds = TheKinds();
  std::lock_guard<std::mutex> hold(kinds.mu);
  kinds.factories[key] = std::move(factory);
}

std::vector<std::string> GateRuleKinds() {
  Kinds& kinds = TheKinds();
  std::lock_guard<std::mutex> hold(kinds.mu);
  std::vector<std::string> keys;
  for (const auto& [key, factory] : kinds.factories) keys.push_back(key);
  return keys;
}

Result<std::vector<GateRuleResult>> EvaluateRules(const std::vector<const DeclaredGateRule*>& rules,
                                                  const GateContext& context) {
  std::vector<GateRuleResult> results;
  for (const DeclaredGateRule* declared : rules) {
    CAIRN_ASSIGN_OR_RETURN(GateRuleResult result, declared->rule->Evaluate(context));
    if (result.rule.empty()) result.rule = declared->text;
    if (result.kind.empty()) result.kind = declared->kind;
    if (result.line == 0) result.line = declared->line;
    if (result.summary.empty()) result.summary = result.rule + ": " + GateOutcomeName(result.outcome);
    results.push_back(std::move(result));
  }
  return results;
}

namespace gate_internal {

std::optional<GateRuleFactory> FindGateRuleKind(const std::string& key) {
  Kinds& kinds = TheKinds();
  std::lock_guard<std::mutex> hold(kinds.mu);
  auto it = kinds.factories.find(key);
  if (it == kinds.factories.end()) return std::nullopt;
  return it->second;
}

std::string FormatNumber(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  if (ec != std::errc()) return std::to_string(value);
  return std::string(buf, end);
}

std::string VersionSubject(const std::string& model, int64_t version) {
  return "model:" + model + "@" + std::to_string(version);
}

}  // namespace gate_internal
}  // namespace cairn
