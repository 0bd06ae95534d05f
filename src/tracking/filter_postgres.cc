// The PostgreSQL dialect of the filter emitter, for a tracking store with
// the tables and columns of src/tracking/schema.h (the server's store).
#include <string>
#include <string_view>

#include "tracking/filter_sql.h"
#include "tracking/filter_sql_emitter.h"

namespace cairn {
namespace {

class PostgresDialect : public filter_internal::Dialect {
 public:
  explicit PostgresDialect(int first) : first_(first) {}

  std::string Placeholder(size_t n) const override {
    return "$" + std::to_string(first_ + static_cast<int>(n));
  }
  // Quoted: "user" is a reserved word in PostgreSQL.
  std::string RunColumn(std::string_view column) const override {
    return "r.\"" + std::string(column) + "\"";
  }
  std::string ILike(const std::string& column, const std::string& placeholder) const override {
    return column + " ILIKE " + placeholder;
  }
  // A cast of text that is not a number fails the whole query in
  // PostgreSQL, so only values that look like one are read; others are
  // NULL and match no ordering comparison.
  std::string AsNumber(const std::string& column) const override {
    return "(CASE WHEN " + column +
           " ~ '^ *[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)? *$' THEN CAST(" + column +
           " AS DOUBLE PRECISION) END)";
  }
  // PostgreSQL's NaN equals itself and is larger than every number; in the
  // filter language NaN satisfies no comparison.
  std::string MetricGuard() const override { return " AND m.value <> 'NaN'::double precision"; }
  std::string_view True() const override { return "TRUE"; }
  std::string_view False() const override { return "FALSE"; }
  std::string Concat(const std::string& a, const std::string& b) const override {
    return a + " || " + b;
  }

 private:
  int first_;
};

}  // namespace

SqlFragment EmitPostgresFilter(const FilterTree& tree, int first_placeholder) {
  PostgresDialect dialect(first_placeholder);
  return filter_internal::EmitFilter(tree, dialect);
}

}  // namespace cairn
