#include "tracking/filter.h"

#include <utility>

namespace cairn {

Result<SqlFragment> CompileFilter(std::string_view filter) {
  CAIRN_ASSIGN_OR_RETURN(FilterTree tree, ParseFilter(filter, RunFilterSchema()));
  return EmitSqliteFilter(tree);
}

Result<std::vector<OrderKey>> ParseOrderBy(const std::vector<std::string>& clauses) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<OrderTerm> terms, ParseOrderTerms(clauses, RunFilterSchema()));
  std::vector<OrderKey> keys;
  for (OrderTerm& term : terms) {
    OrderKey key;
    key.descending = term.descending;
    key.key = std::move(term.key);
    switch (term.entity) {
      case FilterEntity::kMetric:
        key.kind = OrderKey::Kind::kMetric;
        break;
      case FilterEntity::kParam:
        key.kind = OrderKey::Kind::kParam;
        break;
      case FilterEntity::kTag:
        key.kind = OrderKey::Kind::kTag;
        break;
      default:
        // The runs column of the attribute; artifact URIs sort by run id.
        key.kind = OrderKey::Kind::kAttribute;
        if (key.key == "run_name") key.key = "name";
        if (key.key == "artifact_uri") key.key = "run_id";
        break;
    }
    keys.push_back(std::move(key));
  }
  return keys;
}

}  // namespace cairn
