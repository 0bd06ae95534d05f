#include "tracking/filter_key.h"

#include <string_view>
#include <utility>
#include <vector>

namespace cairn::filter_internal {
namespace {

Result<ParsedKey> ParseUnaliasedKey(Scanner& scan, const FilterSchema& schema);

const FilterPrefix* FindPrefix(const FilterSchema& schema, std::string_view word) {
  for (const FilterPrefix& prefix : schema.prefixes) {
    if (EqualsIgnoreCase(word, prefix.name)) return &prefix;
  }
  return nullptr;
}

// "; valid prefixes: metrics, params, tags, attributes, datasets (also metric, …)".
std::string ValidPrefixes(const FilterSchema& schema) {
  std::vector<std::string_view> names;
  std::string others;
  for (const FilterPrefix& prefix : schema.prefixes) {
    std::string_view name = FilterEntityName(prefix.entity);
    bool seen = false;
    for (std::string_view n : names) seen = seen || n == name;
    if (!seen) names.push_back(name);
    if (!EqualsIgnoreCase(prefix.name, name)) others += (others.empty() ? "" : ", ") + prefix.name;
  }
  std::string out = "; valid prefixes: ";
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + std::string(names[i]);
  if (!others.empty()) out += " (also " + others + ")";
  return out;
}

// "; valid attributes: status, run_name (or name), …".
std::string ValidAttributes(const FilterSchema& schema) {
  std::string out = "; valid attributes: ";
  for (size_t i = 0; i < schema.attributes.size(); ++i) {
    const FilterAttribute& a = schema.attributes[i];
    out += (i ? ", " : "") + a.name;
    if (!a.aliases.empty()) out += " (or " + a.aliases[0] + ")";
  }
  return out;
}

std::string NoPrefixDetail(const FilterSchema& schema) {
  std::string out = "; write ";
  bool first = true;
  std::vector<FilterEntity> seen;
  for (const FilterPrefix& prefix : schema.prefixes) {
    bool dup = false;
    for (FilterEntity e : seen) dup = dup || e == prefix.entity;
    if (dup) continue;
    seen.push_back(prefix.entity);
    bool named =
        prefix.entity == FilterEntity::kAttribute || prefix.entity == FilterEntity::kDataset;
    if (!first) out += ", ";
    first = false;
    out += std::string(FilterEntityName(prefix.entity)) + (named ? ".<name>" : ".<key>");
  }
  return out;
}

// With alias_operands: the length of `alias.` at `at` when a prefix of the
// schema and '.' follow it (production.metrics.mrr), else 0. A word that is
// itself a prefix is never an alias.
size_t AliasLength(const Scanner& scan, const FilterSchema& schema, size_t at) {
  if (!schema.alias_operands) return 0;
  std::string_view text = scan.text();
  size_t end = at;
  while (end < text.size() && (IsWordChar(text[end]) || text[end] == '-')) ++end;
  if (end == at || end >= text.size() || text[end] != '.') return 0;
  if (FindPrefix(schema, text.substr(at, end - at)) != nullptr) return 0;
  size_t word_start = end + 1;
  size_t word_end = scan.WordEnd(word_start);
  if (word_end == word_start || scan.PeekAt(word_end) != '.') return 0;
  if (FindPrefix(schema, text.substr(word_start, word_end - word_start)) == nullptr) return 0;
  return end + 1 - at;
}

}  // namespace

const FilterAttribute* FindAttribute(const FilterSchema& schema, std::string_view name) {
  for (const FilterAttribute& attribute : schema.attributes) {
    if (EqualsIgnoreCase(name, attribute.name)) return &attribute;
    for (const std::string& alias : attribute.aliases) {
      if (EqualsIgnoreCase(name, alias)) return &attribute;
    }
  }
  return nullptr;
}

Result<ParsedKey> ParseKey(Scanner& scan, const FilterSchema& schema) {
  scan.SkipSpace();
  size_t start = scan.pos();
  size_t alias_length = AliasLength(scan, schema, start);
  if (alias_length == 0) return ParseUnaliasedKey(scan, schema);
  scan.Seek(start + alias_length);
  CAIRN_ASSIGN_OR_RETURN(ParsedKey id, ParseUnaliasedKey(scan, schema));
  id.alias = std::string(scan.text().substr(start, alias_length - 1));
  id.pos = start;
  id.spelled = std::string(scan.text().substr(start, scan.pos() - start));
  return id;
}

namespace {

Result<ParsedKey> ParseUnaliasedKey(Scanner& scan, const FilterSchema& schema) {
  scan.SkipSpace();
  ParsedKey id;
  id.pos = scan.pos();
  // The prefix: a word, or a word in backticks (MLflow trims them).
  size_t word_start = scan.pos();
  size_t word_end = scan.WordEnd(word_start);
  size_t after = word_end;
  if (scan.Peek() == '`') {
    word_start = scan.pos() + 1;
    word_end = scan.WordEnd(word_start);
    if (word_end > word_start && scan.PeekAt(word_end) == '`') {
      after = word_end + 1;
    } else {
      word_end = word_start = after = scan.pos();
    }
  }
  if (word_end == word_start) {
    return scan.Error(scan.pos(), "expected a key such as metrics.acc or params.lr",
                      ", found " + scan.Describe(scan.pos()));
  }
  std::string_view word = scan.text().substr(word_start, word_end - word_start);
  const FilterPrefix* prefix = FindPrefix(schema, word);
  if (scan.PeekAt(after) != '.') {
    if (prefix == nullptr && schema.bare_attributes && word_start == id.pos) {
      if (const FilterAttribute* attribute = FindAttribute(schema, word)) {
        id.entity = FilterEntity::kAttribute;
        id.key = attribute->name;
        id.key_pos = id.pos;
        id.spelled = std::string(word);
        scan.Seek(after);
        return id;
      }
    }
    if (prefix != nullptr)
      return scan.Error(after, "expected '.' and a key after '" + std::string(word) + "'");
    return scan.Error(id.pos, "'" + std::string(word) + "' has no prefix", NoPrefixDetail(schema));
  }
  if (prefix == nullptr) {
    std::string detail = ValidPrefixes(schema);
    if (schema.alias_operands)
      detail += "; or an alias and one of them, such as production.metrics.mrr";
    return scan.Error(id.pos, "unknown prefix '" + std::string(word) + "'", detail);
  }
  id.entity = prefix->entity;
  scan.Seek(after + 1);
  id.key_pos = scan.pos();
  bool quoted = scan.Peek() == '`' || scan.Peek() == '"' || scan.Peek() == '\'';
  if (quoted) {
    CAIRN_ASSIGN_OR_RETURN(id.key, scan.ParseQuoted("quoted key"));
  } else {
    size_t end = id.key_pos;
    while (end < scan.text().size() && IsKeyChar(scan.text()[end])) ++end;
    id.key = std::string(scan.text().substr(id.key_pos, end - id.key_pos));
    scan.Seek(end);
  }
  if (id.key.empty()) return scan.Error(id.key_pos, "empty key after '" + std::string(word) + ".'");
  id.spelled = std::string(scan.text().substr(id.pos, scan.pos() - id.pos));
  switch (id.entity) {
    case FilterEntity::kAttribute: {
      const FilterAttribute* attribute = FindAttribute(schema, id.key);
      if (attribute == nullptr) {
        return scan.Error(id.key_pos, "unknown attribute '" + id.key + "'",
                          ValidAttributes(schema));
      }
      id.key = attribute->name;
      break;
    }
    case FilterEntity::kDataset:
      for (const std::string& field : schema.dataset_fields) {
        if (id.key == field) id.entity = FilterEntity::kDatasetField;
      }
      break;
    case FilterEntity::kTag:
      for (const FilterTagAlias& alias : schema.tag_aliases) {
        if (id.key == alias.tag) id.fallback_attribute = alias.attribute;
      }
      break;
    default:
      break;
  }
  return id;
}

}  // namespace
}  // namespace cairn::filter_internal
