// Run search: validates the filter and order, resolves experiments, asks
// the store, and warns about filter keys that no run has.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <optional>
#include <set>

#include "cairn/filter.h"
#include "cairn/tracking.h"
#include "tracking/filter.h"
#include "tracking/tracker_internal.h"

namespace cairn {

using namespace tracking_internal;

namespace {

struct FilterKey {
  RunKeyKind kind;
  std::string key;
  std::string text;  // "metrics.acuracy"
};

// The metric, param and tag keys a filter names, in order, each once (from
// its syntax tree, so every spelling MLflow allows counts; tags that stand
// for attributes, such as tags.mlflow.runName, come back as attributes).
Result<std::vector<FilterKey>> FilterKeys(std::string_view text) {
  CAIRN_ASSIGN_OR_RETURN(FilterTree tree, ParseFilter(text));
  std::vector<FilterKey> out;
  std::set<std::pair<int, std::string>> seen;
  for (const FilterKeyRef& ref : ReferencedKeys(tree)) {
    std::optional<RunKeyKind> kind;
    if (ref.entity == FilterEntity::kMetric) kind = RunKeyKind::kMetric;
    if (ref.entity == FilterEntity::kParam) kind = RunKeyKind::kParam;
    if (ref.entity == FilterEntity::kTag) kind = RunKeyKind::kTag;
    if (!kind || !seen.insert({static_cast<int>(*kind), ref.key}).second) continue;
    bool plain = !ref.key.empty();
    for (char c : ref.key) plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || std::strchr("_-./:", c));
    std::string spelled = plain ? ref.key : "`" + ref.key + "`";
    out.push_back(FilterKey{*kind, ref.key, std::string(FilterEntityName(ref.entity)) + "." + spelled});
  }
  return out;
}

}  // namespace

Result<SearchResult> Tracker::Search(const SearchOptions& options) {
  std::lock_guard lock(impl_->mu);
  TrackingStore& store = *impl_->store;
  // Validated here so every store sees a filter and order that parse.
  CAIRN_RETURN_IF_ERROR(CompileFilter(options.filter).status());
  CAIRN_RETURN_IF_ERROR(ParseOrderBy(options.order_by).status());
  if (options.limit < 0) return Status::InvalidArgument("the limit must not be negative");
  RunQuery query;
  for (const std::string& name : options.experiments) {
    CAIRN_ASSIGN_OR_RETURN(auto e, store.FindExperiment(name, /*count_runs=*/false));
    if (!e) return NoExperiment(name);
    query.experiment_ids.push_back(e->id);
  }
  query.filter = options.filter;
  query.order_by = options.order_by;
  query.statuses = options.statuses;
  query.lifecycle = options.deleted_only      ? RunQuery::Lifecycle::kDeletedOnly
                    : options.include_deleted ? RunQuery::Lifecycle::kAll
                                              : RunQuery::Lifecycle::kActive;
  query.limit = options.limit;
  query.full = options.full;
  SearchResult result;
  CAIRN_ASSIGN_OR_RETURN(result.runs, store.Search(query));
  // Keys no run has: most likely a typo, which would otherwise match
  // nothing (or everything, under !=) without a word.
  CAIRN_ASSIGN_OR_RETURN(std::vector<FilterKey> keys, FilterKeys(options.filter));
  for (RunKeyKind kind : {RunKeyKind::kMetric, RunKeyKind::kParam, RunKeyKind::kTag}) {
    std::vector<std::string> of_kind;
    for (const FilterKey& k : keys) {
      if (k.kind == kind) of_kind.push_back(k.key);
    }
    if (of_kind.empty()) continue;
    CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> missing, store.MissingKeys(kind, of_kind, query.experiment_ids));
    for (const FilterKey& k : keys) {
      if (k.kind != kind || std::find(missing.begin(), missing.end(), k.key) == missing.end()) continue;
      std::string where = options.experiments.empty() ? "no run has" : "no run of the searched experiments has";
      result.warnings.push_back("filter names " + k.text + ", which " + where + " (a misspelt key?)");
    }
  }
  return result;
}

Result<std::vector<RunInfo>> Tracker::RunLinks(const std::string& tag_prefix) {
  std::lock_guard lock(impl_->mu);
  return impl_->store->LoadRunLinks(tag_prefix);
}

}  // namespace cairn
