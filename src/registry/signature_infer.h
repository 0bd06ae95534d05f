// Schema inference over one table file (CSV, TSV, JSON Lines): the column
// names and the type of each column, from a bounded sample of rows read
// from a stream. Internal to src/registry/; the public entry points are in
// cairn/model_signature.h.
//
// Types form a small lattice: a column's type is the narrowest that every
// sampled value has. integer ⊂ number; boolean and string stand alone; any
// other mix is string. Missing values (empty, NA, N/A, null, NULL, None,
// NaN, nan) say nothing about the type; a column with no other value is
// recorded as string, with `values` 0 so a comparison can tell.
#ifndef CAIRN_REGISTRY_SIGNATURE_INFER_H_
#define CAIRN_REGISTRY_SIGNATURE_INFER_H_

#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/status.h"

namespace cairn::signature_internal {

enum class TableFormat { kCsv, kTsv, kJsonLines, kParquet };

// By the file name's extension (case-insensitive): .csv; .tsv, .tab;
// .jsonl, .ndjson; .parquet, .pq. nullopt for anything else.
std::optional<TableFormat> TableFormatFor(std::string_view file_name);

struct InferredColumn {
  std::string name;
  std::string type;    // "integer", "number", "boolean", "string"
  int64_t values = 0;  // non-missing values in the sample
};

struct InferredTable {
  std::vector<InferredColumn> columns;  // in file order (JSON Lines: order of first appearance)
  int64_t rows = 0;                     // data rows sampled (the header not counted)
  bool complete = true;                 // false when rows were left unread (the sample limit)
  bool header = true;                   // CSV/TSV: the first row named the columns
  char delimiter = ',';                 // CSV/TSV: the delimiter used
};

struct InferOptions {
  int64_t sample_rows = 10000;          // data rows read at most
  size_t max_record_bytes = 16u << 20;  // a longer row (or line) is an error: not a text table
};

// Reads at most `options.sample_rows` data rows of `in`. `where` names the
// file in messages. CSV (RFC 4180 quoting: "" inside quotes, delimiters
// and newlines inside quoted fields; CRLF or LF) sniffs the delimiter among
// , \t ; | unless the format is TSV, and takes the first row as the header
// unless one of its fields is a number or a boolean (then columns are named
// column_1 …). Empty header names become column_N, repeated ones NAME.1 ….
// InvalidArgument naming the line for: an unterminated quote, a row with
// more (non-empty) fields than the header, a JSON Lines line that is not a
// JSON object, NUL bytes, a record over the size limit, a column name that
// is not UTF-8. FailedPrecondition for Parquet (not supported yet).
Result<InferredTable> InferTable(std::istream& in, TableFormat format, const std::string& where,
                                 const InferOptions& options = {});

// The type a single CSV field has ("" for a missing value).
std::string FieldType(std::string_view field);

}  // namespace cairn::signature_internal

#endif  // CAIRN_REGISTRY_SIGNATURE_INFER_H_
