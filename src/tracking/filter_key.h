// The left side of a comparison and the key of a sort term:
// prefix '.' key, or a bare attribute name, resolved against a schema.
#ifndef CAIRN_TRACKING_FILTER_KEY_H_
#define CAIRN_TRACKING_FILTER_KEY_H_

#include <cstddef>
#include <string>

#include "cairn/filter.h"
#include "cairn/status.h"
#include "tracking/filter_lexer.h"

namespace cairn::filter_internal {

struct ParsedKey {
  std::string alias;  // with FilterSchema::alias_operands: "production" in production.metrics.mrr
  FilterEntity entity = FilterEntity::kMetric;
  std::string key;                 // canonical for attributes
  std::string fallback_attribute;  // for a tag with a FilterTagAlias
  std::string spelled;             // as written
  size_t pos = 0;
  size_t key_pos = 0;
};

// Parses an identifier at the scanner's position: a prefix of `schema`
// (any case, optionally in backticks) '.' and a key that is a bare word
// (with . - / : allowed) or quoted with ` " or '; or, when the schema
// allows it, a bare attribute name. Attributes resolve to their canonical
// name; InvalidArgument (with the column) for an unknown prefix or
// attribute, a missing prefix, an empty key. With alias_operands, an alias
// and '.' may come first (production.metrics.mrr).
Result<ParsedKey> ParseKey(Scanner& scan, const FilterSchema& schema);

const FilterAttribute* FindAttribute(const FilterSchema& schema, std::string_view name);

}  // namespace cairn::filter_internal

#endif  // CAIRN_TRACKING_FILTER_KEY_H_
