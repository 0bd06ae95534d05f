// The SQLite dialect of the filter emitter: what the tracker's state.db
// runs (src/tracking/schema.h).
#include <string>
#include <string_view>

#include "tracking/filter_sql.h"
#include "tracking/filter_sql_emitter.h"

namespace cairn {
namespace {

class SqliteDialect : public filter_internal::Dialect {
 public:
  std::string Placeholder(size_t) const override { return "?"; }
  std::string RunColumn(std::string_view column) const override {
    return "r." + std::string(column);
  }
  // LIKE is case-sensitive on the tracker's connection
  // (PRAGMA case_sensitive_like=ON), and SQLite has no ILIKE.
  std::string ILike(const std::string& column, const std::string& placeholder) const override {
    return "lower(" + column + ") LIKE lower(" + placeholder + ")";
  }
  // SQLite reads the longest numeric prefix, 0 when there is none.
  std::string AsNumber(const std::string& column) const override {
    return "CAST(" + column + " AS REAL)";
  }
  // NaN is stored as NULL, which satisfies no comparison.
  std::string MetricGuard() const override { return ""; }
  std::string_view True() const override { return "1"; }
  std::string_view False() const override { return "0"; }
  std::string Concat(const std::string& a, const std::string& b) const override {
    return a + " || " + b;
  }
};

}  // namespace

SqlFragment EmitSqliteFilter(const FilterTree& tree) {
  static const SqliteDialect dialect;
  return filter_internal::EmitFilter(tree, dialect);
}

}  // namespace cairn
