// Expectation suites: parsing YAML (the short `- expect_x: {kwargs}` form
// and Great Expectations' `expectation_type:` + `kwargs:` form), checking
// each expectation's arguments, and the canonical text a result is keyed by.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <regex>
#include <set>

#include "cairn/validate.h"
#include "data/validate_internal.h"
#include "util/edit_distance.h"
#include "util/file.h"
#include "util/yaml_guard.h"

namespace cairn {
namespace {

constexpr const char* kNames[] = {
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_match_regex",
    "expect_column_values_to_be_unique",
    "expect_column_values_to_be_of_type",
    "expect_column_mean_to_be_between",
    "expect_column_median_to_be_between",
    "expect_column_min_to_be_between",
    "expect_column_max_to_be_between",
    "expect_column_stdev_to_be_between",
    "expect_table_row_count_to_be_between",
    "expect_table_columns_to_match_ordered_list",
    "expect_table_columns_to_match_set",
    "expect_compound_columns_to_be_unique",
};

// Arguments every expectation takes that do not change what is checked.
const std::set<std::string> kCommon = {"meta", "result_format", "catch_exceptions", "include_config"};

struct Arguments {
  std::vector<std::string> required;
  std::vector<std::string> optional;
};

Arguments ArgumentsOf(ExpectationType t) {
  using T = ExpectationType;
  switch (t) {
    case T::kNotNull:
    case T::kUnique: return {{"column"}, {"mostly"}};
    case T::kBetween: return {{"column"}, {"min_value", "max_value", "strict_min", "strict_max", "mostly"}};
    case T::kInSet: return {{"column", "value_set"}, {"mostly"}};
    case T::kMatchRegex: return {{"column", "regex"}, {"mostly"}};
    case T::kOfType: return {{"column", "type_"}, {"mostly"}};
    case T::kMean:
    case T::kMedian:
    case T::kMin:
    case T::kMax:
    case T::kStdev: return {{"column"}, {"min_value", "max_value", "strict_min", "strict_max"}};
    case T::kRowCount: return {{}, {"min_value", "max_value", "strict_min", "strict_max"}};
    case T::kColumnsOrdered: return {{"column_list"}, {}};
    case T::kColumnsSet: return {{"column_set"}, {"exact_match"}};
    case T::kCompoundUnique: return {{"column_list"}, {"ignore_row_if", "mostly"}};
  }
  return {};
}

std::vector<std::string> Words(const std::string& name) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '_') {
      if (i > start) out.push_back(name.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

// The candidate closest to `name`: most of its words found (each within one
// edit) in the candidate, then the fewest edits; "" when none is within
// `limit` edits.
std::string Nearest(const std::string& name, const std::vector<std::string>& candidates, size_t limit) {
  std::string best;
  size_t best_words = 0, best_d = limit + 1;
  std::vector<std::string> words = Words(name);
  for (const std::string& c : candidates) {
    size_t d = EditDistance(name, c);
    if (d > limit) continue;
    std::vector<std::string> theirs = Words(c);
    size_t found = 0;
    for (const std::string& w : words) {
      found += std::any_of(theirs.begin(), theirs.end(), [&](const std::string& t) { return EditDistance(w, t) <= 1; });
    }
    if (found > best_words || (found == best_words && d < best_d)) {
      best_words = found;
      best_d = d;
      best = c;
    }
  }
  return best;
}

class Parser {
 public:
  explicit Parser(std::string file) : file_(std::move(file)) {}

  Status Bad(const YAML::Mark& m, const std::string& what, std::string hint = {}) const {
    if (hint.empty()) hint = "see doc/data.md, \"Validation\"";
    return Status::InvalidArgument(
        file_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": " + what, hint);
  }

  Result<Suite> Parse(std::string_view text) {
    CAIRN_RETURN_IF_ERROR(CheckYamlExpansion(std::string(text), file_));
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::ParserException& e) {
      return Bad(e.mark, "not YAML: " + e.msg);
    }
    Suite suite;
    suite.file = file_;
    if (!root.IsMap()) {
      return Bad(root.Mark(), "a suite is a mapping with an 'expectations' list",
                 "write: expectations:\\n  - expect_column_values_to_not_be_null: {column: id}");
    }
    static const std::vector<std::string> kTop = {"expectations", "expectation_suite_name", "name", "meta",
                                                  "data_asset_type", "ge_cloud_id", "id", "notes"};
    for (const auto& kv : root) {
      std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (std::find(kTop.begin(), kTop.end(), key) == kTop.end()) {
        std::string near = Nearest(key, kTop, 3);
        return Bad(kv.first.Mark(), "unknown key '" + key + "' in the suite" +
                                        (near.empty() ? "" : " (did you mean '" + near + "'?)"),
                   "the keys of a suite: expectations, expectation_suite_name (or name), meta");
      }
    }
    for (const char* k : {"expectation_suite_name", "name"}) {
      if (root[k]) {
        if (!root[k].IsScalar()) return Bad(root[k].Mark(), std::string("'") + k + "' must be a string");
        suite.name = root[k].Scalar();
      }
    }
    YAML::Node list = root["expectations"];
    if (!list) return Bad(root.Mark(), "the suite has no 'expectations' list");
    if (!list.IsSequence()) return Bad(list.Mark(), "'expectations' must be a list");
    for (const YAML::Node& item : list) {
      Expectation e;
      CAIRN_RETURN_IF_ERROR(ParseItem(item, &e));
      suite.expectations.push_back(std::move(e));
    }
    if (suite.expectations.empty()) return Bad(list.Mark(), "the suite has no expectations");
    return suite;
  }

 private:
  Status ParseItem(const YAML::Node& item, Expectation* e) {
    e->line = item.Mark().line + 1;
    e->column_number = item.Mark().column + 1;
    if (!item.IsMap()) {
      return Bad(item.Mark(), "an expectation is a mapping: '- EXPECTATION: {ARGUMENTS}'",
                 "e.g. - expect_column_values_to_not_be_null: {column: id}");
    }
    YAML::Node name_node, kwargs;
    if (item["expectation_type"] || item["type"]) {
      // Great Expectations' form.
      for (const auto& kv : item) {
        std::string key = kv.first.Scalar();
        if (key != "expectation_type" && key != "type" && key != "kwargs" && key != "meta" && key != "id" &&
            key != "rendered_content" && key != "notes") {
          return Bad(kv.first.Mark(), "unknown key '" + key + "' in an expectation (known: expectation_type, kwargs, meta)");
        }
      }
      name_node = item["expectation_type"] ? item["expectation_type"] : item["type"];
      kwargs = item["kwargs"];
      if (item["meta"]) CAIRN_RETURN_IF_ERROR(ToJson(item["meta"], &e->meta));
    } else {
      if (item.size() != 1) {
        return Bad(item.Mark(), "an expectation has one key, its name (found " + std::to_string(item.size()) + ")",
                   "indent its arguments under it: - expect_column_values_to_be_unique: {column: id}");
      }
      name_node = item.begin()->first;
      kwargs = item.begin()->second;
    }
    if (!name_node.IsScalar()) return Bad(name_node.Mark(), "the expectation's name must be a string");
    std::string name = name_node.Scalar();
    auto type = ParseExpectationType(name);
    if (!type) {
      std::string near = Nearest(name, ExpectationTypeNames(), std::max<size_t>(4, name.size() / 4));
      return Bad(name_node.Mark(), "unknown expectation '" + name + "'" +
                                       (near.empty() ? "" : " (did you mean '" + near + "'?)"),
                 "supported expectations are listed in doc/data.md, \"Validation\"");
    }
    e->type = *type;
    if (kwargs && !kwargs.IsNull() && !kwargs.IsMap()) {
      return Bad(kwargs.Mark(), "the arguments of " + name + " must be a mapping ({column: …})");
    }
    if (!kwargs || kwargs.IsNull()) kwargs = YAML::Node(YAML::NodeType::Map);
    return ParseArguments(name, name_node.Mark(), kwargs, e);
  }

  Status ParseArguments(const std::string& name, const YAML::Mark& at, const YAML::Node& kwargs, Expectation* e) {
    Arguments args = ArgumentsOf(e->type);
    std::vector<std::string> known = args.required;
    known.insert(known.end(), args.optional.begin(), args.optional.end());
    std::set<std::string> seen;
    for (const auto& kv : kwargs) {
      std::string key = kv.first.Scalar();
      if (key == "type" && e->type == ExpectationType::kOfType) key = "type_";
      seen.insert(key);
      if (kCommon.count(key)) {
        if (key == "meta") CAIRN_RETURN_IF_ERROR(ToJson(kv.second, &e->meta));
        continue;
      }
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        std::string near = Nearest(key, known, 3);
        std::string list;
        for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
        return Bad(kv.first.Mark(), "unknown argument '" + key + "' of " + name +
                                        (near.empty() ? "" : " (did you mean '" + near + "'?)"),
                   name + " takes: " + list);
      }
      Json value;
      CAIRN_RETURN_IF_ERROR(ToJson(kv.second, &value));
      e->kwargs[key] = value;
      CAIRN_RETURN_IF_ERROR(Argument(name, key, kv.second, e));
    }
    for (const std::string& r : args.required) {
      if (!seen.count(r)) return Bad(at, name + " needs the argument '" + r + "'");
    }
    bool between = std::find(args.optional.begin(), args.optional.end(), "min_value") != args.optional.end();
    if (between) {
      if (!e->min_value && !e->max_value) {
        return Bad(at, name + " needs min_value or max_value (or both)");
      }
      if (e->min_value && e->max_value && *e->min_value > *e->max_value) {
        return Bad(kwargs["min_value"].Mark(), name + ": min_value is greater than max_value");
      }
    }
    return Status::OK();
  }

  Status Argument(const std::string& name, const std::string& key, const YAML::Node& v, Expectation* e) {
    auto need = [&](const std::string& what) { return Bad(v.Mark(), name + ": '" + key + "' must be " + what); };
    if (key == "column") {
      if (!v.IsScalar() || v.Scalar().empty()) return need("a column name");
      e->column = v.Scalar();
    } else if (key == "mostly") {
      auto d = Number(v);
      if (!d || *d < 0 || *d > 1) return need("a number from 0 to 1");
      e->mostly = *d;
    } else if (key == "min_value" || key == "max_value") {
      if (v.IsNull() || (v.IsScalar() && Plain(v) && IsNullText(v.Scalar()))) return Status::OK();
      auto d = Number(v);
      if (!d) return need("a number (or null)");
      (key == "min_value" ? e->min_value : e->max_value) = *d;
    } else if (key == "strict_min" || key == "strict_max" || key == "exact_match") {
      if (v.IsNull()) return Status::OK();
      auto b = Boolean(v);
      if (!b) return need("true or false");
      (key == "strict_min" ? e->strict_min : key == "strict_max" ? e->strict_max : e->exact_match) = *b;
    } else if (key == "value_set") {
      if (!v.IsSequence()) return need("a list of values");
      for (const YAML::Node& item : v) {
        if (!item.IsScalar() && !item.IsNull()) return Bad(item.Mark(), name + ": value_set entries must be scalars");
        e->value_set.push_back(Value(item));
      }
    } else if (key == "regex") {
      if (!v.IsScalar()) return need("a string");
      e->regex = v.Scalar();
      // std::regex compiles by recursion: deep nesting overflows the stack.
      int depth = 0, deepest = 0;
      for (size_t i = 0; i < e->regex.size(); ++i) {
        if (e->regex[i] == '\\') {
          ++i;
        } else if (e->regex[i] == '(') {
          deepest = std::max(deepest, ++depth);
        } else if (e->regex[i] == ')') {
          --depth;
        }
      }
      if (e->regex.size() > 4096 || deepest > 32) {
        return Bad(v.Mark(), name + ": the regex is too " + (deepest > 32 ? "deeply nested" : "long") +
                                 " (at most 32 levels of groups and 4096 characters)");
      }
      try {
        validate_internal::MakeRegex(e->regex);
      } catch (const std::regex_error& err) {
        return Bad(v.Mark(), name + ": the regex does not compile (ECMAScript syntax): " + err.what());
      }
    } else if (key == "type_") {
      if (!v.IsScalar()) return need("a type name");
      e->type_name = v.Scalar();
      auto t = ParseTypeName(e->type_name);
      if (!t) {
        return Bad(v.Mark(), name + ": unknown type '" + e->type_name + "'",
                   "types: integer, number, boolean, string, or int64, float64, bool, str … (doc/data.md)");
      }
      e->expected_type = *t;
    } else if (key == "column_list" || key == "column_set") {
      if (!v.IsSequence()) return need("a list of column names");
      for (const YAML::Node& item : v) {
        if (!item.IsScalar() || item.Scalar().empty()) return Bad(item.Mark(), name + ": column names must be strings");
        e->columns.push_back(item.Scalar());
      }
      if (e->type == ExpectationType::kCompoundUnique && e->columns.empty()) return need("a non-empty list");
    } else if (key == "ignore_row_if") {
      std::string s = v.IsScalar() ? v.Scalar() : "";
      if (s == "all_values_are_missing") {
        e->ignore_row_if = IgnoreRowIf::kAllValuesAreMissing;
      } else if (s == "any_value_is_missing") {
        e->ignore_row_if = IgnoreRowIf::kAnyValueIsMissing;
      } else if (s == "never") {
        e->ignore_row_if = IgnoreRowIf::kNever;
      } else {
        return need("all_values_are_missing, any_value_is_missing or never");
      }
    }
    return Status::OK();
  }

  // A plain (unquoted) scalar: its tag is "?"; quoted ones are "!".
  static bool Plain(const YAML::Node& v) { return v.Tag() != "!"; }
  static bool IsNullText(const std::string& s) { return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL"; }

  static std::optional<double> Number(const YAML::Node& v) {
    if (!v.IsScalar() || !Plain(v)) return std::nullopt;
    const std::string& s = v.Scalar();
    if (s == ".inf" || s == ".Inf" || s == "+.inf") return HUGE_VAL;
    if (s == "-.inf" || s == "-.Inf") return -HUGE_VAL;
    ColumnType t = CellType(s);
    if (t != ColumnType::kInteger && t != ColumnType::kNumber) return std::nullopt;
    return CellNumber(s);
  }
  static std::optional<bool> Boolean(const YAML::Node& v) {
    if (!v.IsScalar() || !Plain(v)) return std::nullopt;
    const std::string& s = v.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
    return std::nullopt;
  }
  static SuiteValue Value(const YAML::Node& v) {
    SuiteValue out;
    if (v.IsNull()) {
      out.kind = SuiteValue::Kind::kNull;
      return out;
    }
    out.text = v.Scalar();
    if (!Plain(v)) return out;
    if (IsNullText(out.text)) {
      out.kind = SuiteValue::Kind::kNull;
    } else if (auto b = Boolean(v)) {
      out.kind = SuiteValue::Kind::kBoolean;
      out.boolean = *b;
    } else if (auto d = Number(v)) {
      out.kind = SuiteValue::Kind::kNumber;
      out.number = *d;
    }
    return out;
  }

  // YAML to JSON for kwargs and meta: plain scalars that read as null,
  // booleans or numbers become those; anything else a string.
  Status ToJson(const YAML::Node& v, Json* out) const {
    if (!v || v.IsNull()) {
      *out = nullptr;
    } else if (v.IsScalar()) {
      SuiteValue s = Value(v);
      switch (s.kind) {
        case SuiteValue::Kind::kNull: *out = nullptr; break;
        case SuiteValue::Kind::kBoolean: *out = s.boolean; break;
        case SuiteValue::Kind::kNumber:
          if (CellType(s.text) == ColumnType::kInteger && s.text.size() < 18) {
            *out = static_cast<int64_t>(s.number);
          } else if (std::isfinite(s.number)) {
            *out = s.number;
          } else {
            *out = s.text;
          }
          break;
        case SuiteValue::Kind::kString: *out = s.text; break;
      }
    } else if (v.IsSequence()) {
      *out = Json::array();
      for (const YAML::Node& item : v) {
        Json j;
        CAIRN_RETURN_IF_ERROR(ToJson(item, &j));
        out->push_back(std::move(j));
      }
    } else if (v.IsMap()) {
      *out = Json::object();
      for (const auto& kv : v) {
        if (!kv.first.IsScalar()) return Bad(kv.first.Mark(), "keys must be strings");
        Json j;
        CAIRN_RETURN_IF_ERROR(ToJson(kv.second, &j));
        (*out)[kv.first.Scalar()] = std::move(j);
      }
    }
    return Status::OK();
  }

  std::string file_;
};

}  // namespace

const char* ExpectationTypeName(ExpectationType type) { return kNames[static_cast<int>(type)]; }

std::optional<ExpectationType> ParseExpectationType(std::string_view name) {
  for (size_t i = 0; i < std::size(kNames); ++i) {
    if (name == kNames[i]) return static_cast<ExpectationType>(i);
  }
  return std::nullopt;
}

std::vector<std::string> ExpectationTypeNames() { return std::vector<std::string>(std::begin(kNames), std::end(kNames)); }

std::optional<ColumnType> ParseTypeName(std::string_view name) {
  std::string n(name);
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  static const std::set<std::string> kInteger = {"integer", "int", "int8", "int16", "int32", "int64", "uint8",
                                                 "uint16", "uint32", "uint64", "long", "bigint", "smallint",
                                                 "tinyint", "integertype", "longtype", "int64dtype", "int32dtype"};
  static const std::set<std::string> kNumber = {"number", "float", "float16", "float32", "float64", "double",
                                                "numeric", "decimal", "real", "floattype", "doubletype",
                                                "float64dtype", "float32dtype"};
  static const std::set<std::string> kBoolean = {"boolean", "bool", "bool_", "booleantype", "booleandtype"};
  static const std::set<std::string> kString = {"string", "str", "object", "string_", "unicode_", "varchar",
                                                "text", "stringtype", "stringdtype", "utf8"};
  if (kInteger.count(n)) return ColumnType::kInteger;
  if (kNumber.count(n)) return ColumnType::kNumber;
  if (kBoolean.count(n)) return ColumnType::kBoolean;
  if (kString.count(n)) return ColumnType::kString;
  return std::nullopt;
}

std::string Suite::CanonicalText() const {
  nlohmann::json list = nlohmann::json::array();  // sorted keys
  for (const Expectation& e : expectations) {
    nlohmann::json kwargs = nlohmann::json::object();
    for (const auto& [k, v] : e.kwargs.items()) kwargs[k] = nlohmann::json::parse(DumpJson(v));
    list.push_back({{"expectation_type", ExpectationTypeName(e.type)}, {"kwargs", kwargs}});
  }
  return DumpJson(nlohmann::json{{"expectations", list}});
}

std::string Suite::Digest() const { return Oid::Of(CanonicalText()).Hex(); }

Result<Suite> ParseSuite(std::string_view text, const std::string& file) {
  Parser parser(file);
  try {
    return parser.Parse(text);
  } catch (const YAML::Exception& e) {
    return parser.Bad(e.mark, e.msg);
  }
}

Result<Suite> LoadSuite(const std::filesystem::path& path, const std::string& display) {
  std::string name = display.empty() ? path.string() : display;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Status::NotFound("suite " + name + " does not exist", "give the path of a suite file (YAML)");
  }
  CAIRN_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  CAIRN_ASSIGN_OR_RETURN(Suite suite, ParseSuite(text, name));
  if (suite.name.empty()) suite.name = path.stem().string();
  return suite;
}

}  // namespace cairn
