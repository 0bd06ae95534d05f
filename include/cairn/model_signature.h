// Model signatures: the input schema (column names and types) of tabular
// data, inferred from CSV/TSV, JSON Lines and Parquet files, recorded on a
// model version at registration (cairn/registry.h, ModelSignature) and
// compared with other data by `cairn model check-signature`.
//
// Inference reads a bounded sample (the first 10,000 data rows) of one file
// through the table readers (cairn/table.h), whose rules (delimiter and
// header detection, column names, missing cells, the type of a cell) are in
// doc/data.md, "Tables"; doc/registry.md, "Signatures" says how a column's
// type follows. Parquet needs DuckDB (loaded at run time); without it a
// Parquet file is FailedPrecondition saying how to install it.
//
// Thread safety: as the Repo passed in (reads only; no lock is taken).
#ifndef CAIRN_MODEL_SIGNATURE_H_
#define CAIRN_MODEL_SIGNATURE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/json.h"
#include "cairn/registry.h"
#include "cairn/repo.h"
#include "cairn/status.h"

namespace cairn {

// True for the file names inference reads (.csv, .tsv, .tab, .jsonl,
// .ndjson, .parquet, .pq; any case): TableFormatFor has a format for them.
bool IsTabularFileName(std::string_view name);

// What inference found in one file.
struct InferredSchema {
  // Columns, and the source: "dataset:NAME@HEX:FILE" or "file:PATH".
  ModelSignature signature;
  // Per column: how many non-missing values the sample held. 0 means the
  // type is unknown (recorded as "string").
  std::vector<int64_t> values;
  int64_t rows = 0;       // data rows sampled
  bool complete = true;   // false when the file has more rows than were sampled
};

// Infers the schema of the data `data_ref` names, found as ResolveTables
// finds tables: a workspace path (a file, or a directory: its first tabular
// file in path order, not following symlinks, .git and .cairn skipped),
// tried first when it exists, else a dataset ref (name, name@tag, name@oid …
// as ResolveRef takes; a directory version: its first tabular file).
// InvalidArgument for a workspace file that is not tabular. NotFound when
// neither exists or nothing tabular is there (naming some of the files that
// are); NotFound with a hint to pull when the version's data is not in the
// cache; InvalidArgument for data that does not parse (naming file and line);
// FailedPrecondition for Parquet when DuckDB cannot be loaded (the hint says
// how to install it).
Result<InferredSchema> InferSchema(Repo& repo, std::string_view data_ref);

// The signature registration records when none is given: the schema of the
// first tabular file (by path) of the first direct input dataset (in
// `datasets` order, as ModelVersion::datasets holds them) that has one.
// nullopt when no direct input has a tabular file, or when the chosen file
// cannot be read as a table (damaged, not in the cache, Parquet without
// DuckDB) — a registration never fails for want of a signature. Errors only
// when the store cannot be read.
Result<std::optional<ModelSignature>> InferTrainingSignature(Repo& repo, const std::vector<ModelDataset>& datasets);

struct SignatureColumnChange {
  std::string name;
  std::string expected;  // the signature's type
  std::string actual;    // the data's type
  std::string rule;      // for compatible changes: which rule allowed it
};

// The outcome of comparing a signature with data. Columns are matched by
// name (exactly; order does not matter).
struct SignatureCheck {
  std::string model;
  int64_t version = 0;
  Oid oid;  // the model version object
  ModelSignature expected;
  InferredSchema actual;
  std::string data_ref;                      // as given
  std::vector<SignatureColumn> missing;      // in the signature, not in the data
  std::vector<SignatureColumn> extra;        // in the data, not in the signature
  std::vector<SignatureColumnChange> retyped;     // incompatible types
  std::vector<SignatureColumnChange> compatible;  // different but accepted (rule says why)
  bool allow_extra = false;                  // extra columns do not make a mismatch
  bool matches() const { return missing.empty() && retyped.empty() && (allow_extra || extra.empty()); }
};

// Compares `expected` with `actual`. Compatible rules: "integer-as-number"
// (integer data where number is expected: every integer is a number);
// "no-values" (the sample held no value of the column, so its type is
// unknown). Every other difference is a retyped column.
SignatureCheck CompareSignature(const ModelSignature& expected, const InferredSchema& actual, bool allow_extra);

// Resolves the model version `model_ref` names (ResolveModel) and compares
// its signature with the data `data_ref` names (InferSchema).
// FailedPrecondition, with a hint to register with --signature, when the
// version has no signature.
Result<SignatureCheck> CheckSignature(Repo& repo, std::string_view model_ref, std::string_view data_ref,
                                      bool allow_extra = false);

// doc/json.md, "models": a signature, and a check.
Json SignatureJson(const ModelSignature& signature);
Json SignatureCheckJson(const SignatureCheck& check);

}  // namespace cairn

#endif  // CAIRN_MODEL_SIGNATURE_H_
