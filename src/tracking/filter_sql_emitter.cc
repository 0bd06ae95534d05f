// Every key and value becomes a bind appended when its placeholder is
// written, so the SQL is built by appending in order (never `a + f() + g()`,
// whose operands C++ may evaluate in any order).
#include "tracking/filter_sql_emitter.h"

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace cairn::filter_internal {
namespace {

bool IsOrdering(FilterOp op) {
  return op == FilterOp::kLt || op == FilterOp::kLe || op == FilterOp::kGt || op == FilterOp::kGe;
}
bool IsList(FilterOp op) { return op == FilterOp::kIn || op == FilterOp::kNotIn; }

// Only lowercase hex counts: versions are stored that way, and a value like
// "BEEF" is far more likely a tag than an abbreviated version.
bool IsVersionPrefix(std::string_view s) {
  if (s.size() < 4) return false;
  for (char c : s) {
    if (!(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

class Emitter {
 public:
  explicit Emitter(const Dialect& dialect) : d_(dialect) {}

  SqlFragment Emit(const FilterTree& tree) {
    SqlFragment out;
    if (!tree.root) {
      out.sql = std::string(d_.True());
      return out;
    }
    out.sql = Node(*tree.root);
    out.binds = std::move(binds_);
    // Top-level conjuncts on metrics bound every match.
    const FilterNode& root = *tree.root;
    if (root.kind == FilterNode::Kind::kComparison) {
      AddBound(root.comparison, &out.bounds);
    } else if (root.kind == FilterNode::Kind::kAnd) {
      for (const FilterNode& child : root.children) {
        if (child.kind == FilterNode::Kind::kComparison) AddBound(child.comparison, &out.bounds);
      }
    }
    return out;
  }

 private:
  static void AddBound(const FilterComparison& c, std::vector<MetricBound>* bounds) {
    if (!c.alias.empty() || c.operand) return;
    if (c.entity != FilterEntity::kMetric || !(c.op == FilterOp::kEq || IsOrdering(c.op))) return;
    bounds->push_back(MetricBound{c.key, std::string(FilterOpText(c.op)), c.values[0].number});
  }

  // One of SqlValue's alternatives (emplaced: GCC 12 misreads a moved variant).
  template <typename T>
  std::string Bind(const T& value) {
    binds_.emplace_back(std::in_place_type<T>, value);
    return d_.Placeholder(binds_.size() - 1);
  }

  // "(?, ?)" for a list of string binds.
  std::string BindList(const std::vector<std::string>& values) {
    std::string out = "(";
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out += ", ";
      out += Bind(values[i]);
    }
    return out + ")";
  }

  // The placeholders of a comparison's values: one, or "(…)" for IN lists,
  // even of one element. Numbers bind as int64 when `integers` and whole.
  std::string Values(const FilterComparison& c, bool numbers, bool integers) {
    auto bind = [&](const FilterValue& v) {
      if (!numbers) return Bind(v.text);
      if (integers && v.integer) return Bind(*v.integer);
      return Bind(v.number);
    };
    if (!IsList(c.op)) return bind(c.values[0]);
    std::string out = "(";
    for (size_t i = 0; i < c.values.size(); ++i) {
      if (i > 0) out += ", ";
      out += bind(c.values[i]);
    }
    return out + ")";
  }

  std::string Node(const FilterNode& node) {
    switch (node.kind) {
      case FilterNode::Kind::kComparison:
        return Comparison(node.comparison);
      case FilterNode::Kind::kNot: {
        std::string sql = "NOT (";
        sql += Node(node.children[0]);
        return sql + ")";
      }
      case FilterNode::Kind::kAnd:
      case FilterNode::Kind::kOr: {
        std::string sql = "(";
        for (size_t i = 0; i < node.children.size(); ++i) {
          if (i > 0) sql += node.kind == FilterNode::Kind::kOr ? " OR " : " AND ";
          sql += Node(node.children[i]);
        }
        return sql + ")";
      }
    }
    return std::string(d_.False());
  }

  std::string Comparison(const FilterComparison& c) {
    // Operands of other entities exist only in schemas with alias_operands
    // (model gates), which no search compiles to SQL; should such a tree
    // arrive anyway, it matches nothing rather than reading c.values.
    if (!c.alias.empty() || c.operand) return std::string(d_.False());
    switch (c.entity) {
      case FilterEntity::kMetric:
        return Metric(c);
      case FilterEntity::kParam:
        return KeyValue(c, "run_params", "p");
      case FilterEntity::kTag:
        return c.fallback_attribute.empty() ? KeyValue(c, "run_tags", "t") : AliasedTag(c);
      case FilterEntity::kAttribute:
        return Attribute(c);
      case FilterEntity::kDataset:
        return Dataset(c);
      case FilterEntity::kDatasetField:
        return DatasetField(c);
    }
    return std::string(d_.False());
  }

  // metrics.K op NUMBER against the latest value; NaN satisfies nothing.
  std::string Metric(const FilterComparison& c) {
    std::string sql = "EXISTS (SELECT 1 FROM run_metrics m WHERE m.run = r.id AND m.key = ";
    sql += Bind(c.key);
    sql += " AND m.value " + std::string(FilterOpText(c.op)) + " ";
    sql += Values(c, true, false);
    return sql + d_.MetricGuard() + ")";
  }

  // `column op value` for strings: = != LIKE ILIKE IN NOT IN.
  std::string StringTest(const FilterComparison& c, const std::string& column) {
    if (c.op == FilterOp::kILike) return d_.ILike(column, Bind(c.values[0].text));
    std::string sql = column + " " + std::string(FilterOpText(c.op)) + " ";
    return sql + Values(c, false, false);
  }

  // params / tags: with <, <=, >, >= the stored text is read as a number.
  std::string ValueTest(const FilterComparison& c, const std::string& column) {
    if (!IsOrdering(c.op)) return StringTest(c, column);
    std::string sql = d_.AsNumber(column) + " " + std::string(FilterOpText(c.op)) + " ";
    return sql + Bind(c.values[0].number);
  }

  std::string KeyValue(const FilterComparison& c, std::string_view table, std::string_view alias) {
    std::string a(alias);
    std::string sql = "EXISTS (SELECT 1 FROM " + std::string(table) + " " + a + " WHERE " + a +
                      ".run = r.id AND " + a + ".key = ";
    sql += Bind(c.key);
    sql += " AND ";
    sql += ValueTest(c, a + ".value");
    return sql + ")";
  }

  // tags.mlflow.runName: the tag when the run has it, else the attribute.
  std::string AliasedTag(const FilterComparison& c) {
    std::string value = "COALESCE((SELECT t.value FROM run_tags t WHERE t.run = r.id AND t.key = ";
    value += Bind(c.key);
    value += "), " + AttributeSql(c.fallback_attribute) + ")";
    return "(" + ValueTest(c, value) + ")";
  }

  // The SQL of a run attribute (the canonical names of RunFilterSchema).
  std::string AttributeSql(const std::string& name) {
    if (name == "run_name") return d_.RunColumn("name");
    // As the Python module reports it (python/cairn: _artifact_uri).
    if (name == "artifact_uri") {
      std::string uri = d_.Concat("'mlflow-artifacts:/'", d_.RunColumn("experiment_id"));
      uri = d_.Concat(d_.Concat(d_.Concat(uri, "'/'"), d_.RunColumn("run_id")), "'/artifacts'");
      return "(" + uri + ")";
    }
    return d_.RunColumn(name);
  }

  std::string Attribute(const FilterComparison& c) {
    std::string column = AttributeSql(c.key);
    // ParseFilter has checked that the values have the attribute's type.
    if (c.values[0].is_number) {
      std::string sql = "(" + column + " " + std::string(FilterOpText(c.op)) + " ";
      return sql + Values(c, true, true) + ")";
    }
    return "(" + StringTest(c, column) + ")";
  }

  // "(i.tag IN (…) OR substr(i.version, 1, N) IN (…) …)": the values as
  // tags, and those that can be as version prefixes, one IN per length (not
  // a test per value: the SQL stays a few terms deep however long the list).
  std::string VersionMatch(const FilterComparison& c, std::string_view first_column) {
    std::vector<std::string> all;
    std::map<size_t, std::vector<std::string>> prefixes;  // by length
    for (const FilterValue& v : c.values) {
      all.push_back(v.text);
      if (IsVersionPrefix(v.text)) prefixes[v.text.size()].push_back(v.text);
    }
    std::string sql = "(" + std::string(first_column) + " IN ";
    sql += BindList(all);
    for (const auto& [length, group] : prefixes) {
      sql += " OR substr(i.version, 1, " + std::to_string(length) + ") IN ";
      sql += BindList(group);
    }
    return sql + ")";
  }

  // datasets.NAME: an input of NAME whose tag or version prefix matches.
  // `!=` / NOT IN: the run used NAME but no input of NAME matches, so for
  // runs that used NAME, `=` and `!=` are exact complements.
  std::string Dataset(const FilterComparison& c) {
    constexpr char kUsed[] =
        "EXISTS (SELECT 1 FROM run_inputs i WHERE i.run = r.id AND i.dataset = ";
    bool negated = c.op == FilterOp::kNe || c.op == FilterOp::kNotIn;
    std::string sql;
    if (negated) {
      sql = "(" + std::string(kUsed);
      sql += Bind(c.key);
      sql += ") AND NOT ";
    }
    sql += kUsed;
    sql += Bind(c.key);
    sql += " AND ";
    sql += VersionMatch(c, "i.tag");
    sql += ")";
    return negated ? sql + ")" : sql;
  }

  // datasets.name / digest / context (MLflow): some input satisfies it.
  std::string DatasetField(const FilterComparison& c) {
    // cairn records no dataset context, so no input has one (MLflow: an
    // input without the context tag matches no comparison on it).
    if (c.key == "context") return "(" + std::string(d_.False()) + ")";
    std::string sql = "EXISTS (SELECT 1 FROM run_inputs i WHERE i.run = r.id AND ";
    if (c.key == "name") {
      sql += StringTest(c, "i.dataset");
    } else if (c.op == FilterOp::kLike || c.op == FilterOp::kILike) {
      sql += StringTest(c, "i.version");
    } else {
      // A digest is the version, whole or abbreviated (at least 4 hex digits).
      if (c.op == FilterOp::kNe || c.op == FilterOp::kNotIn) sql += "NOT ";
      sql += VersionMatch(c, "i.version");
    }
    return sql + ")";
  }

  const Dialect& d_;
  std::vector<SqlValue> binds_;
};

}  // namespace

SqlFragment EmitFilter(const FilterTree& tree, const Dialect& dialect) {
  return Emitter(dialect).Emit(tree);
}

}  // namespace cairn::filter_internal
