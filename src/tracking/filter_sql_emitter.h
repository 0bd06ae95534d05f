// The walk shared by the SQL emitters: the structure of the SQL each node
// becomes is the same in every database; a Dialect supplies the parts that
// differ (placeholders, quoting, ILIKE, casts, boolean literals).
#ifndef CAIRN_TRACKING_FILTER_SQL_EMITTER_H_
#define CAIRN_TRACKING_FILTER_SQL_EMITTER_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "cairn/filter.h"
#include "tracking/filter_sql.h"

namespace cairn::filter_internal {

class Dialect {
 public:
  virtual ~Dialect() = default;
  // The placeholder of the n-th bind (0-based).
  virtual std::string Placeholder(size_t n) const = 0;
  // A column of the runs table (alias r).
  virtual std::string RunColumn(std::string_view column) const = 0;
  // `column ILIKE placeholder`.
  virtual std::string ILike(const std::string& column, const std::string& placeholder) const = 0;
  // A text column read as a number for <, <=, >, >=.
  virtual std::string AsNumber(const std::string& column) const = 0;
  // An extra condition on a metric value `m.value` ("" when none is needed).
  virtual std::string MetricGuard() const = 0;
  virtual std::string_view True() const = 0;
  virtual std::string_view False() const = 0;
  // `a || b` string concatenation.
  virtual std::string Concat(const std::string& a, const std::string& b) const = 0;
};

// Emits `tree` in `dialect`. Cannot fail: ParseFilter has checked the tree.
SqlFragment EmitFilter(const FilterTree& tree, const Dialect& dialect);

}  // namespace cairn::filter_internal

#endif  // CAIRN_TRACKING_FILTER_SQL_EMITTER_H_
