// DuckDB's C API, loaded at run time: only the functions cairn calls, with
// the types of the C API (duckdb.h, DuckDB 1.x) declared here so the build
// needs neither the header nor the library.
#ifndef CAIRN_DATA_DUCKDB_LIB_H_
#define CAIRN_DATA_DUCKDB_LIB_H_

#include <cstdint>

#include "cairn/status.h"

namespace cairn::duckdb {

using idx_t = uint64_t;
enum State : int { kSuccess = 0, kError = 1 };
using Database = struct DatabaseImpl { void* internal_ptr; }*;
using Connection = struct ConnectionImpl { void* internal_ptr; }*;
using Prepared = struct PreparedImpl { void* internal_ptr; }*;
using Pending = struct PendingImpl { void* internal_ptr; }*;
using DataChunk = struct DataChunkImpl { void* internal_ptr; }*;
using Vector = struct VectorImpl { void* internal_ptr; }*;

// duckdb_result: its layout is part of the C API.
struct QueryResult {
  idx_t deprecated_column_count;
  idx_t deprecated_row_count;
  idx_t deprecated_rows_changed;
  void* deprecated_columns;
  char* deprecated_error_message;
  void* internal_data;
};

// duckdb_string_t: up to 12 bytes inline, else a pointer.
struct String {
  union {
    struct {
      uint32_t length;
      char prefix[4];
      char* ptr;
    } pointer;
    struct {
      uint32_t length;
      char inlined[12];
    } inlined;
  } value;
  const char* data() const { return value.inlined.length <= 12 ? value.inlined.inlined : value.pointer.ptr; }
  uint32_t size() const { return value.inlined.length; }
};

struct Api {
  const char* (*library_version)();
  State (*open)(const char* path, Database* out);
  void (*close)(Database* db);
  State (*connect)(Database db, Connection* out);
  void (*disconnect)(Connection* con);
  State (*query)(Connection con, const char* sql, QueryResult* out);
  void (*destroy_result)(QueryResult* result);
  const char* (*result_error)(QueryResult* result);
  idx_t (*column_count)(QueryResult* result);
  const char* (*column_name)(QueryResult* result, idx_t col);
  int (*column_type)(QueryResult* result, idx_t col);  // a duckdb_type
  State (*prepare)(Connection con, const char* sql, Prepared* out);
  const char* (*prepare_error)(Prepared prepared);
  void (*destroy_prepare)(Prepared* prepared);
  State (*pending_prepared_streaming)(Prepared prepared, Pending* out);
  const char* (*pending_error)(Pending pending);
  void (*destroy_pending)(Pending* pending);
  State (*execute_pending)(Pending pending, QueryResult* out);
  DataChunk (*fetch_chunk)(QueryResult result);
  void (*destroy_data_chunk)(DataChunk* chunk);
  idx_t (*data_chunk_get_size)(DataChunk chunk);
  Vector (*data_chunk_get_vector)(DataChunk chunk, idx_t col);
  void* (*vector_get_data)(Vector vector);
  uint64_t* (*vector_get_validity)(Vector vector);
};

// The duckdb_type values the Parquet reader looks at (it formats these
// itself, FLOAT aside; the others it has DuckDB cast to text).
enum Type : int {
  kBoolean = 1,
  kTinyInt = 2,
  kSmallInt = 3,
  kInteger = 4,
  kBigInt = 5,
  kUTinyInt = 6,
  kUSmallInt = 7,
  kUInteger = 8,
  kUBigInt = 9,
  kFloat = 10,  // not formatted: DuckDB's cast writes it, but its NaN is read as missing
  kDouble = 11,
  kVarchar = 17,
};

// The loaded library (once per process): from $CAIRN_DUCKDB_LIBRARY, else
// libduckdb.so on the loader's path. FailedPrecondition, saying how to
// install it, when it cannot be loaded or lacks a function.
Result<const Api*> Load();

// Whether row `row` of a validity mask (nullptr: all valid) is valid.
inline bool RowValid(const uint64_t* validity, idx_t row) {
  return !validity || (validity[row / 64] >> (row % 64)) & 1;
}

}  // namespace cairn::duckdb

#endif  // CAIRN_DATA_DUCKDB_LIB_H_
