// `cairn validate --infer`: a suite proposed from one pass of statistics
// over each table, written so that the tables it came from pass it. Memory:
// per column up to 21 distinct values and one 8-byte hash per non-missing
// value while the column may still be unique.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include "cairn/validate.h"
#include "data/validate_internal.h"

namespace cairn {
namespace {

using validate_internal::Classify;
using validate_internal::IsNumeric;

constexpr size_t kMaxSetSize = 20;

struct ColumnStats {
  int64_t rows = 0, missing = 0;
  int64_t min_percent = 100;                // least share of values present in one table, rounded down
  ColumnType type = ColumnType::kUnknown;
  double min = HUGE_VAL, max = -HUGE_VAL;
  bool few = true;                          // at most kMaxSetSize distinct values so far
  std::map<uint64_t, std::string> distinct;  // canonical hash → first spelling
  bool unique = true;                       // in every table so far
  std::vector<uint64_t> hashes;             // this table's, while `unique`
};

struct TableStats {
  std::vector<std::string> columns;
  std::vector<ColumnStats> stats;
  int64_t min_rows = INT64_MAX, max_rows = 0, total_rows = 0;
  size_t tables = 0;
};

Status Scan(TableReader& reader, TableStats* t) {
  if (t->tables == 0) {
    t->columns = reader.columns();
    t->stats.resize(t->columns.size());
  } else if (reader.columns() != t->columns) {
    return Status::InvalidArgument(reader.where() + " has other columns than the first table",
                                   "a suite applies to each table: infer from tables of one schema");
  }
  ++t->tables;
  TableBatch batch;
  std::string scratch;
  int64_t rows = 0;
  std::vector<int64_t> missing_before;
  for (const ColumnStats& s : t->stats) missing_before.push_back(s.missing);
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool more, reader.Next(&batch));
    if (!more) break;
    rows += static_cast<int64_t>(batch.rows);
    for (size_t c = 0; c < batch.width; ++c) {
      ColumnStats& s = t->stats[c];
      for (size_t r = 0; r < batch.rows; ++r) {
        const TableCell& cell = batch.cell(r, c);
        if (cell.missing) {
          ++s.missing;
          continue;
        }
        double v = 0;
        ColumnType type = Classify(cell.text, &v);
        if (type != s.type) s.type = MergeColumnTypes(s.type, type);
        if (IsNumeric(type)) {
          s.min = std::min(s.min, v);
          s.max = std::max(s.max, v);
        }
        if (!s.few && !s.unique) continue;
        uint64_t h = validate_internal::CellHash(cell, &scratch);
        if (s.few && s.distinct.size() <= kMaxSetSize) {
          s.distinct.emplace(h, std::string(cell.text));
          if (s.distinct.size() > kMaxSetSize) {
            s.few = false;
            s.distinct.clear();
          }
        }
        if (s.unique) s.hashes.push_back(h);
      }
    }
  }
  for (size_t c = 0; c < t->stats.size(); ++c) {
    ColumnStats& s = t->stats[c];
    s.rows += rows;
    if (rows > 0) {
      // Exactly rounded down, so that mostly never exceeds the share.
      s.min_percent = std::min(s.min_percent, (rows - (s.missing - missing_before[c])) * 100 / rows);
    }
    if (!s.unique) continue;
    std::sort(s.hashes.begin(), s.hashes.end());
    s.unique = std::adjacent_find(s.hashes.begin(), s.hashes.end()) == s.hashes.end();
    std::vector<uint64_t>().swap(s.hashes);
  }
  t->min_rows = std::min(t->min_rows, rows);
  t->max_rows = std::max(t->max_rows, rows);
  t->total_rows += rows;
  return Status::OK();
}

std::string Quoted(const std::string& s) { return DumpJson(Json(s)); }

// The shortest text that reads back as exactly `v`.
std::string Exact(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

std::string Yaml(const TableStats& t, const std::string& label) {
  std::string out = "# Proposed by cairn validate --infer from " + label + ": " + std::to_string(t.tables) + " table" +
                    (t.tables == 1 ? "" : "s") + ", " + std::to_string(t.total_rows) + " rows, " +
                    std::to_string(t.columns.size()) + " columns.\n" +
                    "# The data it was inferred from passes every expectation; review it before relying on it.\n";
  out += "expectation_suite_name: " + Quoted(label) + "\n";
  out += "expectations:\n";
  std::string list;
  for (const std::string& c : t.columns) list += (list.empty() ? "" : ", ") + Quoted(c);
  out += "  - expect_table_columns_to_match_ordered_list: {column_list: [" + list + "]}\n";
  int64_t low = t.min_rows * 9 / 10, high = (t.max_rows * 11 + 9) / 10;
  out += "  - expect_table_row_count_to_be_between: {min_value: " + std::to_string(low) +
         ", max_value: " + std::to_string(high) + "}\n";
  for (size_t i = 0; i < t.columns.size(); ++i) {
    const ColumnStats& s = t.stats[i];
    std::string column = "column: " + Quoted(t.columns[i]);
    int64_t present = s.rows - s.missing;
    if (present == 0) continue;  // only missing values: nothing to expect of them
    if (s.missing == 0) {
      out += "  - expect_column_values_to_not_be_null: {" + column + "}\n";
    } else {
      int64_t percent = s.min_percent;
      if (percent > 0) {
        char mostly[16];
        std::snprintf(mostly, sizeof mostly, "%d.%02d", static_cast<int>(percent / 100), static_cast<int>(percent % 100));
        out += "  - expect_column_values_to_not_be_null: {" + column + ", mostly: " + mostly + "}\n";
      }
    }
    out += "  - expect_column_values_to_be_of_type: {" + column + ", type_: " + ColumnTypeName(s.type) + "}\n";
    if (IsNumeric(s.type) && std::isfinite(s.min) && std::isfinite(s.max)) {
      out += "  - expect_column_values_to_be_between: {" + column + ", min_value: " + Exact(s.min) +
             ", max_value: " + Exact(s.max) + "}\n";
    }
    if (s.few && !s.distinct.empty()) {
      // Numbers by value, booleans as true/false, other values as text.
      std::vector<double> numbers;
      std::vector<std::string> texts;
      bool seen_true = false, seen_false = false;
      for (const auto& [h, text] : s.distinct) {
        double v = 0;
        ColumnType type = Classify(text, &v);
        if (IsNumeric(s.type) && IsNumeric(type)) {
          numbers.push_back(v);
        } else if (s.type == ColumnType::kBoolean) {
          (text[0] == 't' || text[0] == 'T' ? seen_true : seen_false) = true;
        } else {
          texts.push_back(text);
        }
      }
      std::sort(numbers.begin(), numbers.end());
      numbers.erase(std::unique(numbers.begin(), numbers.end()), numbers.end());
      std::sort(texts.begin(), texts.end());
      std::vector<std::string> values;
      for (double v : numbers) values.push_back(Exact(v));
      if (seen_false) values.push_back("false");
      if (seen_true) values.push_back("true");
      for (const std::string& text : texts) values.push_back(Quoted(text));
      std::string joined;
      for (const std::string& v : values) joined += (joined.empty() ? "" : ", ") + v;
      out += "  - expect_column_values_to_be_in_set: {" + column + ", value_set: [" + joined + "]}\n";
    }
    if (s.unique && present > 1) out += "  - expect_column_values_to_be_unique: {" + column + "}\n";
  }
  return out;
}

}  // namespace

Result<std::string> InferSuiteFrom(const std::vector<TableOpener>& tables, const std::string& label) {
  if (tables.empty()) return Status::InvalidArgument(label + " holds no table to infer a suite from");
  TableStats stats;
  for (const TableOpener& open : tables) {
    CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<TableReader> reader, open());
    CAIRN_RETURN_IF_ERROR(Scan(*reader, &stats));
  }
  return Yaml(stats, label);
}

Result<std::string> InferSuite(Repo& repo, const TableSet& tables) {
  if (tables.tables.empty()) {
    return Status::InvalidArgument(tables.label + " holds no table (CSV, TSV, JSON Lines or Parquet) to infer from");
  }
  std::vector<TableOpener> openers;
  for (const TableSource& source : tables.tables) {
    openers.push_back([&repo, &source] { return OpenTable(repo, source); });
  }
  return InferSuiteFrom(openers, tables.label);
}

}  // namespace cairn
