#include "cli/row_diff_print.h"

#include <cstdio>
#include <iostream>

#include "util/escape.h"

namespace cairn::cli {
namespace {

// Cell text for a terminal: control characters escaped, so a cell cannot
// move the cursor, recolour the screen or break the layout.
std::string Shown(const std::optional<std::string>& v) { return v ? EscapeControl(*v) : "(missing)"; }

std::string KeyShown(const std::vector<std::string>& names, const std::vector<std::optional<std::string>>& key) {
  std::string s;
  for (size_t i = 0; i < key.size() && i < names.size(); ++i) s += (i ? ", " : "") + names[i] + "=" + Shown(key[i]);
  return s;
}

std::string ValuesShown(const std::vector<std::optional<std::string>>& values) {
  std::string s;
  for (size_t i = 0; i < values.size(); ++i) s += (i ? ", " : "") + Shown(values[i]);
  return s;
}

}  // namespace

void PrintTable(const TableDiff& t, bool stat, const std::string& indent) {
  char letter = t.change == "added" ? 'A' : t.change == "removed" ? 'D' : 'M';
  std::cout << indent << letter << "  " << t.path;
  if (!t.key.empty()) {
    std::cout << "  (key ";
    for (size_t i = 0; i < t.key.size(); ++i) std::cout << (i ? "," : "") << t.key[i];
    std::cout << ")";
  }
  std::cout << "\n";
  if (!t.added_columns.empty() || !t.removed_columns.empty() || !t.retyped.empty()) {
    std::cout << indent << "   schema:";
    for (const ColumnSchema& c : t.added_columns) std::cout << " +" << c.name << " (" << ColumnTypeName(c.type) << ")";
    for (const ColumnSchema& c : t.removed_columns) std::cout << " -" << c.name << " (" << ColumnTypeName(c.type) << ")";
    for (const Retyped& r : t.retyped) {
      std::cout << " ~" << r.name << " (" << ColumnTypeName(r.from) << " -> " << ColumnTypeName(r.to) << ")";
    }
    std::cout << "\n";
  }
  std::cout << indent << "   rows: " << t.added << " added, " << t.removed << " removed, " << t.modified << " modified, "
            << t.unchanged << " unchanged (" << t.old_rows << " -> " << t.new_rows << ")\n";
  if (t.duplicate_keys > 0) {
    std::cout << indent << "   duplicate keys: " << t.duplicate_keys << (t.duplicate_keys == 1 ? " key" : " keys")
              << " held by more than one row (" << t.duplicate_old_rows
              << " rows before, " << t.duplicate_new_rows << " after)";
    if (!t.duplicate_examples.empty()) std::cout << ", e.g. " << KeyShown(t.key, t.duplicate_examples[0].key);
    std::cout << "\n";
  }
  if (!t.note.empty()) std::cout << indent << "   note: " << t.note << "\n";
  if (stat) return;
  for (const RowChange& c : t.rows) {
    if (c.kind == RowChangeKind::kModified) {
      std::cout << indent << "   ~ " << KeyShown(t.key, c.key) << " (row " << c.old_row << " -> " << c.new_row << "):";
      for (size_t i = 0; i < c.cells.size(); ++i) {
        std::cout << (i ? "," : "") << " " << c.cells[i].column << " " << Shown(c.cells[i].from) << " -> "
                  << Shown(c.cells[i].to);
      }
      std::cout << "\n";
    } else if (c.kind == RowChangeKind::kAdded) {
      std::cout << indent << "   + row " << c.new_row << ": " << ValuesShown(c.values) << "\n";
    } else {
      std::cout << indent << "   - row " << c.old_row << ": " << ValuesShown(c.values) << "\n";
    }
  }
  if (t.truncated) {
    int64_t more = t.added + t.removed + t.modified - static_cast<int64_t>(t.rows.size());
    std::cout << indent << "   ... " << more << " more changed rows (--limit N to list more"
              << (indent.empty() ? ", --format json|csv for all fields)\n" : ", --json for all fields)\n");
  }
}

void PrintRowDiff(const RowDiff& diff, bool stat) {
  for (const TableDiff& t : diff.tables) PrintTable(t, stat);
  for (const FileChange& c : diff.other_files) {
    char letter = c.kind == FileChangeKind::kAdded ? 'A' : c.kind == FileChangeKind::kDeleted ? 'D' : 'M';
    std::cout << letter << "  " << c.path << " (not a table)\n";
  }
  if (diff.tables.empty() && diff.other_files.empty()) {
    std::cout << "no row or cell differences between " << diff.from_label << " and " << diff.to_label << "\n";
  } else if (diff.unchanged_tables > 0) {
    std::cout << diff.unchanged_tables << (diff.unchanged_tables == 1 ? " table" : " tables") << " unchanged\n";
  }
}

}  // namespace cairn::cli
