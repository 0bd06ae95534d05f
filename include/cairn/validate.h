// Validation: whether a table meets the expectations a suite declares, with
// Great Expectations' names, arguments and semantics. `cairn validate`
// prints this, pipeline stages run it on their inputs before their command
// (cairn.yaml `validate:`), and each result is kept as a derived object
// (kind "validation") beside the blob it describes. The suite format is in
// doc/data.md ("Validation"), the result's JSON in doc/json.md
// ("Validation report").
//
// One pass over a table evaluates every expectation of the suite. Memory,
// beyond one batch of rows: a median keeps the column's numbers (8 bytes per
// value); a uniqueness expectation keeps an XXH3 hash per row (8 bytes per
// row) and, only when some value is duplicated, reads the table a second
// time to list the first duplicated rows. Two different values with the same
// 64-bit hash would count as duplicates (chance about n²/2⁶⁵).
//
// Thread safety: the functions share no state; a Repo is used by one thread
// at a time.
#ifndef CAIRN_VALIDATE_H_
#define CAIRN_VALIDATE_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/json.h"
#include "cairn/oid.h"
#include "cairn/repo.h"
#include "cairn/status.h"
#include "cairn/table.h"

namespace cairn {

enum class ExpectationType {
  kNotNull,             // expect_column_values_to_not_be_null
  kBetween,             // expect_column_values_to_be_between
  kInSet,               // expect_column_values_to_be_in_set
  kMatchRegex,          // expect_column_values_to_match_regex
  kUnique,              // expect_column_values_to_be_unique
  kOfType,              // expect_column_values_to_be_of_type
  kMean,                // expect_column_mean_to_be_between
  kMedian,              // expect_column_median_to_be_between
  kMin,                 // expect_column_min_to_be_between
  kMax,                 // expect_column_max_to_be_between
  kStdev,               // expect_column_stdev_to_be_between
  kRowCount,            // expect_table_row_count_to_be_between
  kColumnsOrdered,      // expect_table_columns_to_match_ordered_list
  kColumnsSet,          // expect_table_columns_to_match_set
  kCompoundUnique,      // expect_compound_columns_to_be_unique
};
// The Great Expectations name ("expect_column_values_to_not_be_null" …).
const char* ExpectationTypeName(ExpectationType type);
// The inverse; nullopt for a name that is not one of the above.
std::optional<ExpectationType> ParseExpectationType(std::string_view name);
// Every supported name, in the order of ExpectationType.
std::vector<std::string> ExpectationTypeNames();

// A scalar of a suite (value_set entries): a plain YAML scalar that reads as
// a number or a boolean is one; quoted scalars are always strings.
struct SuiteValue {
  enum class Kind { kNull, kBoolean, kNumber, kString };
  Kind kind = Kind::kString;
  std::string text;  // as written
  double number = 0;
  bool boolean = false;
};

enum class IgnoreRowIf { kAllValuesAreMissing, kAnyValueIsMissing, kNever };

// One expectation with its arguments checked (ParseSuite).
struct Expectation {
  ExpectationType type = ExpectationType::kNotNull;
  std::string column;                          // column expectations
  std::vector<std::string> columns;            // column_list / column_set
  std::optional<double> min_value, max_value;  // the between expectations
  bool strict_min = false, strict_max = false;
  std::optional<double> mostly;                // map expectations; unset: every value
  std::vector<SuiteValue> value_set;
  std::string regex;                           // ECMAScript, search semantics
  std::string type_name;                       // of_type, as written (int64, number …)
  ColumnType expected_type = ColumnType::kUnknown;
  bool exact_match = true;                     // columns_to_match_set
  IgnoreRowIf ignore_row_if = IgnoreRowIf::kAllValuesAreMissing;  // compound_columns
  Json kwargs = Json::object();                // the arguments as written (JSON values)
  Json meta = Json::object();
  int line = 0, column_number = 0;             // where it starts in the suite (1-based)
};

struct Suite {
  std::string name;   // expectation_suite_name / name, or the file's stem
  std::string file;   // as messages name it
  std::vector<Expectation> expectations;
  // The expectations' types and arguments (not meta, not the name) as
  // compact JSON with sorted keys: equal for suites that check the same.
  std::string CanonicalText() const;
  // SHA-256 of CanonicalText(), 64 hex digits: the derived object's key.
  std::string Digest() const;
};

// The type names of expect_column_values_to_be_of_type (doc/data.md): cairn's
// integer/number/boolean/string and the pandas/numpy/Python ones (int64,
// float64, str, bool, object …); nullopt for anything else.
std::optional<ColumnType> ParseTypeName(std::string_view name);

// Parses a suite. InvalidArgument "FILE:LINE:COLUMN: what" (with a hint) for
// text that is not YAML, an unknown expectation (with the nearest name), an
// unknown argument (with the nearest one), a missing required argument, an
// argument of the wrong type or out of range (mostly outside [0, 1], a
// between without any bound or with min_value > max_value, a regex that does
// not compile, an unknown type name), and an empty suite.
Result<Suite> ParseSuite(std::string_view text, const std::string& file);
// Reads and parses a suite file; `display` names it in messages (defaults
// to the path). NotFound when it does not exist.
Result<Suite> LoadSuite(const std::filesystem::path& path, const std::string& display = {});

// A value the expectation did not expect, where it is.
struct UnexpectedValue {
  Json value;        // the cell as text (null for a missing cell); compound: {column: value}
  int64_t row = 0;   // 1-based data row (the header not counted)
  int64_t line = 0;  // 1-based line of the file it starts on
};

inline constexpr size_t kPartialUnexpected = 20;

struct ExpectationResult {
  const Expectation* expectation = nullptr;  // into the suite validated (must outlive this)
  bool success = false;
  Json observed_value;                     // null where GX has none
  bool counts = false;                     // map expectations: the unexpected_* fields apply
  int64_t element_count = 0;               // rows
  std::optional<int64_t> missing_count;    // unset for not_null, table expectations
  int64_t unexpected_count = 0;
  // Percent of the non-missing values (not_null: of all rows); unset when
  // there are none.
  std::optional<double> unexpected_percent;
  std::optional<double> unexpected_percent_total;  // percent of all rows
  std::vector<UnexpectedValue> partial_unexpected;  // the first kPartialUnexpected, by row
  Json details;                             // columns expectations: what mismatched
  std::string exception;                    // why it could not be evaluated (missing column …)
};

struct ValidationStatistics {
  int64_t evaluated = 0, successful = 0, unsuccessful = 0;
  double success_percent() const;  // 100 when nothing was evaluated
  void Add(bool success);
};

struct FileValidation {
  std::string path;      // of the table in its dataset, or the file's name
  std::string where;     // for messages
  Oid blob;              // zero for a workspace file not yet hashed (StoreValidation hashes it)
  std::filesystem::path file;  // the file read, when it is one (workspace or cache)
  Oid object;            // the derived object StoreValidation wrote (zero before)
  int64_t rows = 0;
  std::vector<std::string> columns;
  std::vector<ExpectationResult> results;  // in suite order
  ValidationStatistics statistics;
  bool success() const { return statistics.unsuccessful == 0; }
};

struct ValidationReport {
  std::string label;     // "data/raw@v2", or the workspace path
  std::string dataset;   // "" for a workspace path
  Oid version;           // zero for the workspace
  const Suite* suite = nullptr;             // the suite validated (must outlive this)
  std::vector<FileValidation> files;        // tabular files, by path
  std::vector<std::string> not_tabular;     // files skipped
  ValidationStatistics statistics;          // over every file
  bool success() const { return statistics.unsuccessful == 0; }
};

// Opens a fresh reader over a table from its start (called once, or twice
// when a uniqueness expectation lists duplicates).
using TableOpener = std::function<Result<std::unique_ptr<TableReader>>()>;

// Evaluates every expectation of `suite` on one table. An expectation that
// cannot be evaluated (a column the table lacks, a statistic of a column
// with values that are no numbers) fails with `exception` set; errors are
// the reader's (malformed input, with its line).
Result<FileValidation> ValidateTable(const TableOpener& open, const Suite& suite);

// Validates each table of `tables` (ResolveTables). InvalidArgument when the
// set holds no tabular file; NotFound for a version not in the cache.
Result<ValidationReport> ValidateTables(Repo& repo, const TableSet& tables, const Suite& suite);
// ResolveTables(ref) (a dataset ref or a workspace path), then ValidateTables.
Result<ValidationReport> Validate(Repo& repo, std::string_view ref, const Suite& suite);

// The kind of the derived objects holding results (cairn/derived.h).
inline constexpr std::string_view kValidationKind = "validation";

// Stores each file's result as a derived object: kind "validation", subject
// the file's blob (a workspace file is hashed first; `blob` is set), key the
// suite's Digest() and the format the file is read as ("<digest>.csv"), body
// {"validation_version": 1, "suite": {name, file, digest}, "ref", "result":
// FileValidationJson} (doc/json.md). A result of the same suite on the same
// blob and format is replaced. Sets each file's `object`.
// Errors are the store's and the file's.
Status StoreValidation(Repo& repo, ValidationReport* report);
// The stored body of the result of `suite` on `blob` read as `format`;
// nullopt when none.
Result<std::optional<Json>> StoredValidation(Repo& repo, const Oid& blob, TableFormat format, const Suite& suite);

// One line per failed expectation of a report: "iris.csv:
// expect_column_values_to_be_between(sepal): 3 unexpected of 150 values
// (2%), rows 4, 9, 12" (for a stage refused by its validation).
std::string ValidationFailures(const ValidationReport& report);

// The report as doc/json.md ("Validation report") describes it.
Json ValidationJson(const ValidationReport& report);
// One file's result, as in the report's "files" array.
Json FileValidationJson(const FileValidation& file);
// A line per expectation and file, and a verdict.
std::string ValidationText(const ValidationReport& report);
// JUnit XML: a testsuite per file, a testcase per expectation, a failure
// with the counts for each that failed.
std::string ValidationJUnit(const ValidationReport& report);

// A proposed suite (YAML text) that the tables pass: the columns in order,
// the row count between 0.9x and 1.1x, per column not_null (mostly: the
// observed non-missing share rounded down to two decimals, when below 1),
// of_type, between the observed min and max for numbers, in_set for
// columns of at most 20 distinct values, unique for unique columns.
// InvalidArgument when the set holds no table or its tables' columns differ.
Result<std::string> InferSuite(Repo& repo, const TableSet& tables);
// The same over tables given by their openers; `label` goes in the header
// comment.
Result<std::string> InferSuiteFrom(const std::vector<TableOpener>& tables, const std::string& label);

}  // namespace cairn

#endif  // CAIRN_VALIDATE_H_
