// Tables: streaming readers for tabular files (CSV, TSV, JSON Lines,
// Parquet) and the sources they come from (a workspace file, a file of a
// dataset version in the cache). Row diff, profiles, validation and drift
// (cairn/row_diff.h, profile.h, validate.h, drift.h) read through this.
//
// A reader yields batches of rows; no reader holds more than one batch (and
// JSON Lines one line) in memory, so tables of any size stream. Cells are
// text as the file spells them (JSON strings unescaped, other JSON values
// compact; Parquet values formatted as doc/data.md says) plus a missing
// flag; the type of a column is inferred from its cells (ColumnType).
//
// Parquet is read through DuckDB's C API, loaded at run time
// (src/data/duckdb_lib.cc): everything else works without it, and a Parquet
// file without it is FailedPrecondition naming how to install it.
//
// Thread safety: a reader is used by one thread at a time; separate readers
// are independent.
#ifndef CAIRN_TABLE_H_
#define CAIRN_TABLE_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/object.h"
#include "cairn/oid.h"
#include "cairn/repo.h"
#include "cairn/status.h"

namespace cairn {

enum class TableFormat { kCsv, kTsv, kJsonLines, kParquet };

// By the file name's extension (case-insensitive): .csv; .tsv, .tab;
// .jsonl, .ndjson; .parquet, .pq. nullopt for anything else.
std::optional<TableFormat> TableFormatFor(std::string_view file_name);
const char* TableFormatName(TableFormat format);  // "csv", "tsv", "jsonl", "parquet"

// The inferred type of a column: the narrowest every non-missing cell has.
// integer ⊂ number; boolean and string stand alone; any other mix is string.
// kUnknown: no non-missing cell seen.
enum class ColumnType { kUnknown, kBoolean, kInteger, kNumber, kString };
const char* ColumnTypeName(ColumnType type);  // "unknown", "boolean", "integer", "number", "string"
ColumnType MergeColumnTypes(ColumnType a, ColumnType b);
// The type of one text cell (kUnknown for a missing one). Integers: optional
// sign and digits; numbers: decimal or exponent forms, inf/infinity; booleans:
// true/false in any case.
ColumnType CellType(std::string_view text);
// Text cells that mean "no value": empty, NA, N/A, null, NULL, None, NaN, nan.
bool IsMissingText(std::string_view text);
// The value of a cell of type integer or number (nullopt otherwise).
std::optional<double> CellNumber(std::string_view text);

struct TableCell {
  std::string_view text;  // valid until the reader's next Next()
  bool missing = false;   // IsMissingText for CSV/TSV; null or absent for JSON Lines and Parquet
};

// A batch of rows, row-major: cell(r, c) for r < rows, c < width.
struct TableBatch {
  size_t rows = 0;
  size_t width = 0;
  std::vector<TableCell> cells;
  // Per row: its 1-based data row number in the file (the header not
  // counted) and the 1-based line it starts on (Parquet: the row number).
  std::vector<int64_t> row_numbers;
  std::vector<int64_t> lines;
  const TableCell& cell(size_t row, size_t col) const { return cells[row * width + col]; }
  // Empties the batch for rows of `columns` cells (keeping the capacity).
  void Reset(size_t columns) {
    rows = 0;
    width = columns;
    cells.clear();
    row_numbers.clear();
    lines.clear();
  }
};

struct TableOptions {
  size_t batch_rows = 4096;             // rows per batch at most
  size_t max_record_bytes = 64u << 20;  // a longer row or line is an error ("huge cell")
};

class TableReader {
 public:
  virtual ~TableReader() = default;
  TableFormat format() const { return format_; }
  // Column names in file order (JSON Lines: in order of first appearance
  // over the whole file). Empty header names are column_N, repeated ones
  // NAME.1, NAME.2 ….
  const std::vector<std::string>& columns() const { return columns_; }
  // The name messages use ("data/raw@1a2b3c4:iris.csv", "iris.csv").
  const std::string& where() const { return where_; }
  // Fills `batch` with the next rows; false (and an empty batch) at the end.
  // InvalidArgument naming where() and the line for input that is not a
  // table: an unterminated quote, a row with more non-empty fields than the
  // header (fewer fields are missing cells), invalid UTF-8, NUL bytes, a
  // record over max_record_bytes, a JSON Lines line that is no JSON object.
  virtual Result<bool> Next(TableBatch* batch) = 0;
  // CSV/TSV: the delimiter used and whether the first row was a header.
  char delimiter() const { return delimiter_; }
  bool header() const { return header_; }

 protected:
  TableFormat format_ = TableFormat::kCsv;
  std::vector<std::string> columns_;
  std::string where_;
  char delimiter_ = ',';
  bool header_ = true;
};

// Opens a file. CSV sniffs the delimiter among , \t ; | (TSV always tab)
// and the header (the first row is data when one of its fields is a number
// or a boolean; columns are then column_1 …). An empty file is a table with
// no columns and no rows.
Result<std::unique_ptr<TableReader>> OpenTableFile(const std::filesystem::path& path, TableFormat format,
                                                   std::string where, const TableOptions& options = {});
// The same over bytes in memory (a small packed blob); `bytes` must outlive
// the reader.
Result<std::unique_ptr<TableReader>> OpenTableBytes(std::string_view bytes, TableFormat format, std::string where,
                                                    const TableOptions& options = {});

// One tabular file of a version or of the workspace.
struct TableSource {
  std::string path;  // relative to the dataset root ('/'-separated), or the file's name for a file dataset
  TableFormat format = TableFormat::kCsv;
  Oid blob;                        // zero for a workspace file not yet hashed
  uint64_t size = 0;
  std::filesystem::path file;      // a readable file (workspace or loose cache object), or empty:
  std::string where;               // for messages: "NAME@SHORT:PATH" or the workspace path
};

// What a REF names for the table commands: a dataset version (name,
// name@tag, name@oid… as ResolveRef takes), or a workspace file or
// directory (tried first when it exists; when it is a tracked dataset's
// path, its files carry their oids from the stat cache, so a diff skips the
// unchanged ones).
struct TableSet {
  std::string dataset;  // "" for a plain workspace path
  Oid version;          // zero for the workspace
  std::string label;    // "data/raw@v2", "workspace"
  std::vector<TableSource> tables;       // tabular files, by path
  std::vector<TreeEntry> skipped;        // other files (not tabular), by path, with their oids
  bool single_file = false;              // the REF names one file (not a directory): two such sides pair whatever their names
  std::filesystem::path root;            // a plain workspace path: the directory its paths are relative to
};
Result<TableSet> ResolveTables(Repo& repo, std::string_view ref);
// The same, taking `ref` as a dataset ref only (never a workspace path);
// `*tracked_path` (may be null) receives the dataset's workspace path ("" when
// it has none).
Result<TableSet> VersionTables(Repo& repo, std::string_view ref, std::string* tracked_path);
// The workspace side of a dataset version's tracked path.
Result<TableSet> WorkspaceTables(Repo& repo, const std::string& dataset, const std::string& tracked_path);

// Hashes the skipped (non-tabular) files of a plain workspace set whose
// path is in `paths` (their oids are zero until then: listing a directory
// reads no file).
Status HashSkipped(TableSet* set, const std::set<std::string>& paths);

// Opens a source: its file when it has one, else the blob from the cache
// (NotFound with a hint to pull when it is not there).
Result<std::unique_ptr<TableReader>> OpenTable(Repo& repo, const TableSource& source,
                                               const TableOptions& options = {});

// Whether the DuckDB library can be loaded (for Parquet), and where from:
// $CAIRN_DUCKDB_LIBRARY, else libduckdb.so on the loader's path. The message
// says how to install it (scripts/bootstrap) when it cannot.
Status DuckDbAvailable();

}  // namespace cairn

#endif  // CAIRN_TABLE_H_
