// Row-level diff of the tables of two versions (or a version and the
// workspace): schema changes, and rows added, removed and modified.
//
// With a key, rows are matched by their key cells and a modified row shows
// each changed cell; rows sharing a key within one side are counted as
// duplicates and matched among themselves by content, never merged. Without
// a key, each side is a multiset of row contents. Cells compare as text,
// except that two numbers compare by value (1.50 equals 1.5) and, with a
// tolerance, numbers within it are equal.
//
// Memory: 24 bytes per row of each side (a key hash, a content hash and the
// row number), plus the changed rows listed (up to the limit); with a
// tolerance, also the compared cells of rows whose hashes differ, up to
// tolerance_budget bytes at a time. Never the tables themselves.
// Matching is by 64-bit hashes (XXH3); a collision between different keys is
// possible in principle (about 1 in 10^8 for 10^6 rows), not in any test.
//
// Thread safety: as the Repo passed in (reads only).
#ifndef CAIRN_ROW_DIFF_H_
#define CAIRN_ROW_DIFF_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cairn/dataset.h"
#include "cairn/json.h"
#include "cairn/repo.h"
#include "cairn/status.h"
#include "cairn/table.h"

namespace cairn {

struct RowDiffOptions {
  std::vector<std::string> key;      // key columns; empty: compare rows as a multiset
  std::vector<std::string> columns;  // compare only these (and the key); empty: every column
  double tolerance = 0;              // numbers within it are equal (needs a key)
  int64_t limit = 20;                // changed rows listed per file
  bool stat = false;                 // counts only: no row is listed
  bool key_optional = false;         // a table lacking a key column is compared unkeyed (with a note)
  // With a tolerance: bytes of old cells held at once to settle the rows whose
  // hashes differ (the new side is read once per such part).
  size_t tolerance_budget = size_t{256} << 20;
};

struct ColumnSchema {
  std::string name;
  ColumnType type = ColumnType::kUnknown;
};

struct Retyped {
  std::string name;
  ColumnType from = ColumnType::kUnknown, to = ColumnType::kUnknown;
};

enum class RowChangeKind { kAdded, kRemoved, kModified };
const char* RowChangeKindName(RowChangeKind kind);  // "added", "removed", "modified"

struct CellChange {
  std::string column;
  std::optional<std::string> from, to;  // nullopt: missing
};

struct RowChange {
  RowChangeKind kind = RowChangeKind::kAdded;
  std::vector<std::optional<std::string>> key;  // the key cells (keyed diffs)
  int64_t old_row = 0, new_row = 0;             // 1-based data row numbers; 0 on the side without it
  int64_t old_line = 0, new_line = 0;           // where the row starts in the file
  // Every cell of the row in its side's column order: the added or removed
  // row, and for a modified row the new one.
  std::vector<std::optional<std::string>> values;
  std::vector<CellChange> cells;  // modified: the changed cells
};

struct DuplicateKey {
  std::vector<std::optional<std::string>> key;
  int64_t old_rows = 0, new_rows = 0;  // rows holding it on each side
};

// One file that differs between the sides.
struct TableDiff {
  std::string path;
  std::string change;  // "modified", "added" (only in the new side), "removed"
  std::string old_where, new_where;
  std::vector<ColumnSchema> old_columns, new_columns;
  std::vector<ColumnSchema> added_columns, removed_columns;
  std::vector<Retyped> retyped;
  std::vector<std::string> key;       // as given
  std::vector<std::string> compared;  // the columns whose cells were compared
  int64_t old_rows = 0, new_rows = 0;
  int64_t added = 0, removed = 0, modified = 0, unchanged = 0;
  // Keys held by more than one row on either side, and how many rows on
  // each side hold such a key.
  int64_t duplicate_keys = 0, duplicate_old_rows = 0, duplicate_new_rows = 0;
  std::vector<DuplicateKey> duplicate_examples;  // the first few
  std::vector<RowChange> rows;                   // up to the limit, in new-row order (removed rows by old row)
  bool truncated = false;                        // more changed rows than listed
  std::string note;                              // e.g. why the key was not used
};

struct RowDiff {
  std::string from_label, to_label;
  std::vector<TableDiff> tables;         // tabular files that differ, by path
  int64_t unchanged_tables = 0;          // tabular files with the same content on both sides
  std::vector<FileChange> other_files;   // non-tabular files that differ (by content)
};

// Diffs the tables of `from` and `to` (ResolveTables, WorkspaceTables).
// Files pair by path. InvalidArgument for: a key or column that one side
// lacks (with a did-you-mean), a tolerance without a key or below zero, a
// table that does not parse (file and line). NotFound when a side's data
// is not in the cache (hint: pull). FailedPrecondition for Parquet
// without DuckDB.
Result<RowDiff> DiffRows(Repo& repo, const TableSet& from, const TableSet& to, const RowDiffOptions& options);

// `cairn diff --rows FROM [TO]` for refs: with `to`, both are dataset refs
// or workspace paths (ResolveTables); without, FROM is a version compared
// with its dataset in the workspace. InvalidArgument for the same version
// twice or a negative limit; NotFound for a dataset not in the workspace
// (one ref); then as DiffRows.
Result<RowDiff> DiffRowRefs(Repo& repo, std::string_view from, const std::optional<std::string>& to,
                            const RowDiffOptions& options);

// For diffs whose key applies only to the tables that have it (key_optional):
// InvalidArgument when some table was compared and none had the key (a typo,
// not a choice). `of` names what held the tables ("" for several), `hint`
// says what to do. OK for an empty key.
Status CheckKeyUsed(const std::vector<std::string>& key, const std::vector<const TableDiff*>& tables,
                    const std::string& of, const std::string& hint);

// The same for two readers (unit tests and callers with their own files).
Result<TableDiff> DiffTables(TableReader& from, TableReader& to, const RowDiffOptions& options,
                             const std::function<Result<std::unique_ptr<TableReader>>(bool old_side)>& reopen);

// doc/json.md, "row diff".
Json RowDiffJson(const RowDiff& diff);
// One line per changed cell (modified rows) or per cell of an added or
// removed row: file,change,old_row,new_row,key,column,old_value,new_value.
void WriteRowDiffCsv(const RowDiff& diff, std::ostream& out);
// daff's highlighter format (one table per file; several files are
// separated by a blank line and a "# PATH" line).
void WriteRowDiffDaff(const RowDiff& diff, std::ostream& out);

}  // namespace cairn

#endif  // CAIRN_ROW_DIFF_H_
