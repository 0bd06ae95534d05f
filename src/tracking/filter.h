// The run search language: a superset of MLflow's filter syntax with `or`
// and parentheses, compiled to an SQL expression over the tracking tables
// (src/tracking/schema.h) with the runs table aliased as `r`.
//
//   metrics.acc > 0.9 and (params.model = 'bge' or tags.team != 'x')
//   attributes.status IN ('FINISHED', 'FAILED') and datasets.eval = 'v3'
//
// Full grammar and semantics: doc/tracking.md.
#ifndef CAIRN_TRACKING_FILTER_H_
#define CAIRN_TRACKING_FILTER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "cairn/status.h"

namespace cairn {

using SqlValue = std::variant<int64_t, double, std::string>;

// A comparison `metrics.key op value` (op one of = < <= > >=) that every
// matching run must satisfy: a conjunct at the top level of the filter. The
// search uses them to walk the (key, value) index instead of scanning runs.
struct MetricBound {
  std::string key;
  std::string op;
  double value = 0;
};

// An SQL boolean expression with '?' placeholders, bound in order.
struct SqlFragment {
  std::string sql;
  std::vector<SqlValue> binds;
  std::vector<MetricBound> bounds;
};

// Compiles a filter. An empty (or all-blank) filter compiles to "1".
// InvalidArgument on a syntax or type error; the message names the 1-based
// column and shows the filter with a caret under the offending token.
Result<SqlFragment> CompileFilter(std::string_view filter);

struct OrderKey {
  enum class Kind { kMetric, kParam, kTag, kAttribute };
  Kind kind = Kind::kAttribute;
  std::string key;  // for kAttribute: the runs column (start_time, name, …)
  bool descending = false;
};

// Parses order clauses such as "metrics.acc DESC" or "params.lr ASC,
// attributes.start_time"; each element may hold several comma-separated keys.
Result<std::vector<OrderKey>> ParseOrderBy(const std::vector<std::string>& clauses);

}  // namespace cairn

#endif  // CAIRN_TRACKING_FILTER_H_
