// The run search of the tracker: a filter compiled to SQLite over the
// tracking tables (src/tracking/schema.h, runs aliased as `r`) and the order
// clauses. Thin wrappers over the syntax tree (include/cairn/filter.h) and
// its SQLite emitter (tracking/filter_sql.h).
//
//   metrics.acc > 0.9 and (params.model = 'bge' or tags.team != 'x')
//   attributes.status IN ('FINISHED', 'FAILED') and datasets.eval = 'v3'
//
// Full grammar and semantics: doc/tracking.md.
#ifndef CAIRN_TRACKING_FILTER_H_
#define CAIRN_TRACKING_FILTER_H_

#include <string>
#include <string_view>
#include <vector>

#include "cairn/filter.h"
#include "cairn/status.h"
#include "tracking/filter_sql.h"

namespace cairn {

// ParseFilter(filter, RunFilterSchema()) then EmitSqliteFilter. An empty
// (or all-blank) filter compiles to "1". InvalidArgument on a syntax or type
// error; the message names the 1-based column and shows the filter with a
// caret under the offending token.
Result<SqlFragment> CompileFilter(std::string_view filter);

struct OrderKey {
  enum class Kind { kMetric, kParam, kTag, kAttribute };
  Kind kind = Kind::kAttribute;
  std::string key;  // for kAttribute: the runs column (start_time, name, …)
  bool descending = false;
};

// Parses order clauses such as "metrics.acc DESC" or "params.lr ASC,
// attributes.start_time"; each element may hold several comma-separated
// keys (ParseOrderTerms with the run schema, attributes mapped to columns).
Result<std::vector<OrderKey>> ParseOrderBy(const std::vector<std::string>& clauses);

}  // namespace cairn

#endif  // CAIRN_TRACKING_FILTER_H_
