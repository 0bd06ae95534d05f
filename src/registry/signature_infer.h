// Schema inference over one table: the column names and the type of each
// column, from a bounded sample of the rows a TableReader (cairn/table.h)
// yields. The reader owns the rules (CSV/TSV delimiter and header
// detection, column names, missing cells, JSON Lines keys, Parquet through
// DuckDB); this only merges the cells' types. Internal to src/registry/;
// the public entry points are in cairn/model_signature.h.
//
// A column's type is the merge (MergeColumnTypes) of the types (CellType)
// of its sampled non-missing cells. A column with no value in the sample is
// recorded as string, with `values` 0 so a comparison can tell.
#ifndef CAIRN_REGISTRY_SIGNATURE_INFER_H_
#define CAIRN_REGISTRY_SIGNATURE_INFER_H_

#include <cstdint>
#include <string>

#include "cairn/model_signature.h"
#include "cairn/status.h"
#include "cairn/table.h"

namespace cairn::signature_internal {

struct InferOptions {
  int64_t sample_rows = 10000;  // data rows read at most
};

// The options to open a reader for InferTable with: one row per batch, so
// that the reader parses no row past the one after the sample (whatever is
// further on, even a ragged row, is not inference's business).
inline TableOptions SampleReaderOptions() {
  TableOptions options;
  options.batch_rows = 1;
  return options;
}

// Reads at most `options.sample_rows` data rows of `reader`, and one more to
// tell whether the sample is `complete`; `source` goes into the signature.
// Errors are the reader's: InvalidArgument naming the file and line for
// input that is not a table, IOError when it cannot be read.
Result<InferredSchema> InferTable(TableReader& reader, std::string source, const InferOptions& options = {});

}  // namespace cairn::signature_internal

#endif  // CAIRN_REGISTRY_SIGNATURE_INFER_H_
