// The serializers of a row diff: JSON (doc/json.md, "row diff"), a long CSV
// and daff's highlighter format.
#include <algorithm>

#include "cairn/json_dataset.h"
#include "cairn/row_diff.h"

namespace cairn {
namespace {

Json Cell(const std::optional<std::string>& v) { return v ? Json(*v) : Json(nullptr); }

Json Cells(const std::vector<std::optional<std::string>>& values) {
  Json out = Json::array();
  for (const auto& v : values) out.push_back(Cell(v));
  return out;
}

Json Columns(const std::vector<ColumnSchema>& columns) {
  Json out = Json::array();
  for (const ColumnSchema& c : columns) out.push_back(Json{{"name", c.name}, {"type", ColumnTypeName(c.type)}});
  return out;
}

Json ChangeJson(const RowChange& c, const TableDiff& t) {
  Json j{{"change", RowChangeKindName(c.kind)}};
  if (!t.key.empty()) j["key"] = Cells(c.key);
  if (c.old_row) {
    j["from_row"] = c.old_row;
    j["from_line"] = c.old_line;
  }
  if (c.new_row) {
    j["to_row"] = c.new_row;
    j["to_line"] = c.new_line;
  }
  if (c.kind == RowChangeKind::kModified) {
    Json cells = Json::array();
    for (const CellChange& cell : c.cells) {
      cells.push_back(Json{{"column", cell.column}, {"from", Cell(cell.from)}, {"to", Cell(cell.to)}});
    }
    j["cells"] = cells;
  } else {
    const auto& columns = c.kind == RowChangeKind::kAdded ? t.new_columns : t.old_columns;
    Json values = Json::object();
    for (size_t i = 0; i < columns.size() && i < c.values.size(); ++i) values[columns[i].name] = Cell(c.values[i]);
    j["values"] = values;
  }
  return j;
}

Json TableJson(const TableDiff& t) {
  Json retyped = Json::array();
  for (const Retyped& r : t.retyped) {
    retyped.push_back(Json{{"name", r.name}, {"from", ColumnTypeName(r.from)}, {"to", ColumnTypeName(r.to)}});
  }
  Json changes = Json::array();
  for (const RowChange& c : t.rows) changes.push_back(ChangeJson(c, t));
  Json examples = Json::array();
  for (const DuplicateKey& d : t.duplicate_examples) {
    examples.push_back(Json{{"key", Cells(d.key)}, {"from_rows", d.old_rows}, {"to_rows", d.new_rows}});
  }
  Json j{{"path", t.path},
         {"change", t.change},
         {"from", t.old_where.empty() ? Json(nullptr) : Json(t.old_where)},
         {"to", t.new_where.empty() ? Json(nullptr) : Json(t.new_where)},
         {"key", t.key},
         {"compared", t.compared},
         {"schema",
          {{"added", Columns(t.added_columns)},
           {"removed", Columns(t.removed_columns)},
           {"retyped", retyped},
           {"from", Columns(t.old_columns)},
           {"to", Columns(t.new_columns)}}},
         {"rows",
          {{"from", t.old_rows},
           {"to", t.new_rows},
           {"added", t.added},
           {"removed", t.removed},
           {"modified", t.modified},
           {"unchanged", t.unchanged}}}};
  if (!t.key.empty()) {
    j["duplicate_keys"] = Json{{"keys", t.duplicate_keys},
                               {"from_rows", t.duplicate_old_rows},
                               {"to_rows", t.duplicate_new_rows},
                               {"examples", examples}};
  }
  j["changes"] = changes;
  j["truncated"] = t.truncated;
  if (!t.note.empty()) j["note"] = t.note;
  return j;
}

// RFC 4180: quoted when it holds a comma, quote or line break.
std::string CsvField(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

void CsvLine(std::ostream& out, const std::vector<std::string>& fields) {
  for (size_t i = 0; i < fields.size(); ++i) out << (i ? "," : "") << CsvField(fields[i]);
  out << "\n";
}

std::string KeyText(const std::vector<std::optional<std::string>>& key) {
  std::string s;
  for (size_t i = 0; i < key.size(); ++i) s += (i ? "|" : "") + key[i].value_or("");
  return s;
}

std::string Row(int64_t n) { return n ? std::to_string(n) : ""; }

std::string Daff(const std::optional<std::string>& v) { return v ? *v : "NULL"; }

void DaffTable(const TableDiff& t, std::ostream& out) {
  // The columns: the old side's, then those only the new side has.
  std::vector<std::string> columns;
  for (const ColumnSchema& c : t.old_columns) columns.push_back(c.name);
  for (const ColumnSchema& c : t.new_columns) {
    if (std::find(columns.begin(), columns.end(), c.name) == columns.end()) columns.push_back(c.name);
  }
  auto has = [](const std::vector<ColumnSchema>& cs, const std::string& name) {
    return std::any_of(cs.begin(), cs.end(), [&](const ColumnSchema& c) { return c.name == name; });
  };
  auto index = [](const std::vector<ColumnSchema>& cs, const std::string& name) -> int {
    for (size_t i = 0; i < cs.size(); ++i) {
      if (cs[i].name == name) return static_cast<int>(i);
    }
    return -1;
  };
  bool schema_changed = !t.added_columns.empty() || !t.removed_columns.empty();
  if (schema_changed) {
    std::vector<std::string> line = {"!"};
    for (const std::string& c : columns) {
      line.push_back(has(t.added_columns, c) ? "+++" : has(t.removed_columns, c) ? "---" : "");
    }
    CsvLine(out, line);
  }
  std::vector<std::string> header = {"@@"};
  header.insert(header.end(), columns.begin(), columns.end());
  CsvLine(out, header);
  for (const RowChange& c : t.rows) {
    std::vector<std::string> line;
    if (c.kind == RowChangeKind::kModified) {
      // daff lengthens the row's arrow until no changed value holds it, and
      // the row's tag is that arrow (readers split its cells at the tag).
      std::string arrow = "->";
      for (bool held = true; held;) {
        held = false;
        for (const CellChange& x : c.cells) {
          held = held || Daff(x.from).find(arrow) != std::string::npos || Daff(x.to).find(arrow) != std::string::npos;
        }
        if (held) arrow = "-" + arrow;
      }
      line.push_back(arrow);
      for (const std::string& name : columns) {
        auto changed = std::find_if(c.cells.begin(), c.cells.end(), [&](const CellChange& x) { return x.column == name; });
        if (changed != c.cells.end()) {
          line.push_back(Daff(changed->from) + arrow + Daff(changed->to));
          continue;
        }
        int i = index(t.new_columns, name);
        line.push_back(i >= 0 && static_cast<size_t>(i) < c.values.size() ? c.values[i].value_or("") : "");
      }
    } else {
      bool added = c.kind == RowChangeKind::kAdded;
      line.push_back(added ? "+++" : "---");
      const auto& side = added ? t.new_columns : t.old_columns;
      for (const std::string& name : columns) {
        int i = index(side, name);
        line.push_back(i >= 0 && static_cast<size_t>(i) < c.values.size() ? Daff(c.values[i]) : "");
      }
    }
    CsvLine(out, line);
  }
  if (t.truncated) {
    std::vector<std::string> line(columns.size() + 1, "...");
    CsvLine(out, line);
  }
}

}  // namespace

Json RowDiffJson(const RowDiff& diff) {
  Json tables = Json::array();
  for (const TableDiff& t : diff.tables) tables.push_back(TableJson(t));
  Json files = Json::array();
  for (const FileChange& c : diff.other_files) {
    files.push_back(Json{{"path", c.path},
                         {"change", FileChangeKindName(c.kind)},
                         {"old_size", c.old_size},
                         {"new_size", c.new_size}});
  }
  return Json{{"from", diff.from_label},
              {"to", diff.to_label},
              {"tables", tables},
              {"unchanged_tables", diff.unchanged_tables},
              {"other_files", files}};
}

void WriteRowDiffCsv(const RowDiff& diff, std::ostream& out) {
  CsvLine(out, {"file", "change", "old_row", "new_row", "key", "column", "old_value", "new_value"});
  for (const TableDiff& t : diff.tables) {
    for (const RowChange& c : t.rows) {
      std::string kind = RowChangeKindName(c.kind);
      std::string key = KeyText(c.key);
      if (c.kind == RowChangeKind::kModified) {
        for (const CellChange& cell : c.cells) {
          CsvLine(out, {t.path, kind, Row(c.old_row), Row(c.new_row), key, cell.column, cell.from.value_or(""),
                        cell.to.value_or("")});
        }
        continue;
      }
      bool added = c.kind == RowChangeKind::kAdded;
      const auto& columns = added ? t.new_columns : t.old_columns;
      for (size_t i = 0; i < columns.size() && i < c.values.size(); ++i) {
        std::string v = c.values[i].value_or("");
        CsvLine(out, {t.path, kind, Row(c.old_row), Row(c.new_row), key, columns[i].name, added ? "" : v,
                      added ? v : ""});
      }
    }
  }
}

void WriteRowDiffDaff(const RowDiff& diff, std::ostream& out) {
  bool several = diff.tables.size() > 1;
  for (size_t i = 0; i < diff.tables.size(); ++i) {
    if (several) out << (i ? "\n" : "") << "# " << diff.tables[i].path << "\n";
    DaffTable(diff.tables[i], out);
  }
}

}  // namespace cairn
