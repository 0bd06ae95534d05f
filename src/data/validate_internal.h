// Pieces shared by the validation files (validate.cc evaluates,
// validate_infer.cc proposes a suite): how a cell reads as a number, and
// the hash uniqueness compares cells by.
#ifndef CAIRN_DATA_VALIDATE_INTERNAL_H_
#define CAIRN_DATA_VALIDATE_INTERNAL_H_

#include <xxhash.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <optional>
#include <regex>
#include <string>
#include <string_view>

#include "cairn/table.h"

namespace cairn::validate_internal {

// The type of a non-missing cell and, for numbers, its value: a fast path
// for plain decimals, CellType for the rest.
inline ColumnType Classify(std::string_view t, double* value) {
  if (!t.empty()) {
    char f = t[0];
    if ((f >= '0' && f <= '9') || ((f == '-' || f == '.') && t.size() > 1)) {
      auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), *value);
      if (ec == std::errc() && end == t.data() + t.size() && std::isfinite(*value)) {
        bool integer = t.find_first_of(".eE") == std::string_view::npos;
        return integer ? ColumnType::kInteger : ColumnType::kNumber;
      }
    }
  }
  ColumnType type = CellType(t);
  if (type == ColumnType::kInteger || type == ColumnType::kNumber) *value = CellNumber(t).value_or(0);
  return type;
}

inline bool IsNumeric(ColumnType t) { return t == ColumnType::kInteger || t == ColumnType::kNumber; }

// Appends a cell's canonical bytes: missing, a number by value (so 1 and
// 1.0 are the same, as in a pandas float column), or text by content.
inline void AppendCanonical(std::string* buf, const TableCell& c) {
  if (c.missing) {
    buf->push_back('\x01');
    return;
  }
  double v = 0;
  if (IsNumeric(Classify(c.text, &v))) {
    if (v == 0) v = 0;  // -0 is 0
    buf->push_back('\x02');
    buf->append(reinterpret_cast<const char*>(&v), sizeof v);
    return;
  }
  uint32_t n = static_cast<uint32_t>(c.text.size());
  buf->push_back('\x03');
  buf->append(reinterpret_cast<const char*>(&n), sizeof n);
  buf->append(c.text);
}

inline uint64_t CellHash(const TableCell& c, std::string* scratch) {
  scratch->clear();
  AppendCanonical(scratch, c);
  return XXH3_64bits(scratch->data(), scratch->size());
}

// The regex of expect_column_values_to_match_regex: ECMAScript syntax. With
// libstdc++, its breadth-first matcher, whose stack does not grow with the
// length of the text (the default one recurses per character); it refuses
// back-references.
inline std::regex MakeRegex(const std::string& pattern) {
#ifdef __GLIBCXX__
  return std::regex(pattern, std::regex::ECMAScript | std::regex_constants::__polynomial);
#else
  return std::regex(pattern, std::regex::ECMAScript);
#endif
}

}  // namespace cairn::validate_internal

#endif  // CAIRN_DATA_VALIDATE_INTERNAL_H_
