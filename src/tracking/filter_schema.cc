// The run schema of the filter language (what `cairn runs --where` and
// search_runs may name, with MLflow's spellings) and the helpers over the
// tree that do not parse: names of entities and operators, referenced keys.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/filter.h"

namespace cairn {

std::string_view FilterEntityName(FilterEntity entity) {
  switch (entity) {
    case FilterEntity::kMetric:
      return "metrics";
    case FilterEntity::kParam:
      return "params";
    case FilterEntity::kTag:
      return "tags";
    case FilterEntity::kAttribute:
      return "attributes";
    case FilterEntity::kDataset:
    case FilterEntity::kDatasetField:
      return "datasets";
  }
  return "attributes";
}

std::string_view FilterOpText(FilterOp op) {
  static constexpr std::string_view kText[] = {"=",  "!=",   "<",     "<=", ">",
                                               ">=", "LIKE", "ILIKE", "IN", "NOT IN"};
  return kText[static_cast<size_t>(op)];
}

const FilterSchema& RunFilterSchema() {
  static const FilterSchema* schema = [] {
    auto* s = new FilterSchema;
    s->noun = "run";
    // MLflow's identifiers (search_utils.py) plus cairn's `run.`.
    s->prefixes = {
        {"metrics", FilterEntity::kMetric},
        {"metric", FilterEntity::kMetric},
        {"params", FilterEntity::kParam},
        {"param", FilterEntity::kParam},
        {"parameters", FilterEntity::kParam},
        {"parameter", FilterEntity::kParam},
        {"tags", FilterEntity::kTag},
        {"tag", FilterEntity::kTag},
        {"attributes", FilterEntity::kAttribute},
        {"attribute", FilterEntity::kAttribute},
        {"attr", FilterEntity::kAttribute},
        {"run", FilterEntity::kAttribute},
        {"datasets", FilterEntity::kDataset},
        {"dataset", FilterEntity::kDataset},
    };
    // MLflow's RunStatus values; SCHEDULED never occurs in cairn but is a
    // valid MLflow filter value (it matches no run).
    std::vector<std::string> statuses = {"RUNNING", "FINISHED", "FAILED", "KILLED", "SCHEDULED"};
    s->attributes = {
        {"status", {}, FilterType::kString, statuses, ""},
        {"run_name", {"name", "run name"}, FilterType::kString, {}, ""},
        {"run_id", {"id", "run_uuid"}, FilterType::kString, {}, ""},
        {"start_time", {"created"}, FilterType::kNumber, {}, "milliseconds since the epoch"},
        {"end_time", {}, FilterType::kNumber, {}, "milliseconds since the epoch"},
        {"user", {"user_id"}, FilterType::kString, {}, ""},
        {"experiment_id", {}, FilterType::kNumber, {}, ""},
        {"artifact_uri", {}, FilterType::kString, {}, ""},
    };
    s->dataset_fields = {"name", "digest", "context"};
    s->tag_aliases = {{"mlflow.runName", "run_name"}, {"mlflow.user", "user"}};
    s->bare_attributes = true;
    return s;
  }();
  return *schema;
}

const FilterSchema& ModelGateFilterSchema() {
  static const FilterSchema* schema = [] {
    auto* s = new FilterSchema;
    s->noun = "model version";
    s->prefixes = {
        {"metrics", FilterEntity::kMetric},       {"metric", FilterEntity::kMetric},
        {"params", FilterEntity::kParam},         {"param", FilterEntity::kParam},
        {"tags", FilterEntity::kTag},             {"tag", FilterEntity::kTag},
        {"attributes", FilterEntity::kAttribute}, {"attribute", FilterEntity::kAttribute},
        {"attr", FilterEntity::kAttribute},
    };
    s->attributes = {
        {"version", {}, FilterType::kNumber, {}, ""},
        {"run_id", {"run"}, FilterType::kString, {}, ""},
        {"user", {}, FilterType::kString, {}, ""},
        {"time", {"created"}, FilterType::kNumber, {}, "milliseconds since the epoch"},
    };
    s->bare_attributes = false;
    s->alias_operands = true;
    return s;
  }();
  return *schema;
}

namespace {

void CollectKeys(const FilterNode& node, std::vector<FilterKeyRef>* keys) {
  if (node.kind != FilterNode::Kind::kComparison) {
    for (const FilterNode& child : node.children) CollectKeys(child, keys);
    return;
  }
  const FilterComparison& c = node.comparison;
  FilterKeyRef ref{c.entity, c.key, c.pos};
  if (!c.fallback_attribute.empty())
    ref = FilterKeyRef{FilterEntity::kAttribute, c.fallback_attribute, c.pos};
  if (std::find(keys->begin(), keys->end(), ref) == keys->end()) keys->push_back(std::move(ref));
  if (c.operand) {
    FilterKeyRef other{c.operand->entity, c.operand->key, c.operand->pos};
    if (std::find(keys->begin(), keys->end(), other) == keys->end()) keys->push_back(std::move(other));
  }
}

}  // namespace

std::vector<FilterKeyRef> ReferencedKeys(const FilterTree& tree) {
  std::vector<FilterKeyRef> keys;
  if (tree.root) CollectKeys(*tree.root, &keys);
  return keys;
}

}  // namespace cairn
