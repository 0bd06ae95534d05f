// Drift: whether the distribution of each column moved between two versions
// of a table (a reference, A, and a current one, B), column by column with a
// statistical test or a distance, and whether enough columns moved for the
// dataset to count as drifted. `cairn drift` prints this; doc/data.md
// ("Drift") describes the methods and doc/json.md the JSON.
//
// Methods and defaults follow Evidently's data drift preset:
//   ks             two-sample Kolmogorov–Smirnov (numeric); drift at p <= threshold (0.05)
//   chi2           chi-square of B's counts against A's scaled to B's size; p < threshold (0.05)
//   z              two-proportion z-test (binary columns); p < threshold (0.05)
//   wasserstein    Wasserstein distance / A's std (numeric); drift at >= threshold (0.1)
//   jensenshannon  Jensen–Shannon distance, natural log; >= threshold (0.1)
//   psi            population stability index over A's deciles; >= threshold (0.1)
// auto picks per column from A's non-missing count and the distinct values
// of both sides together: with <= 1000 values in A, numeric columns with
// more than 5 distinct values use ks, columns with 3 or more chi2, binary
// ones z; with more, numeric columns with more than 5 distinct values use
// wasserstein, the rest jensenshannon.
//
// Memory: one file pair at a time; per compared numeric column 8 bytes per
// non-missing value on each side, per other column one entry per distinct
// value. Each side is read twice (types, then values).
//
// Thread safety: the functions share no state; a Repo is used by one
// thread at a time.
#ifndef CAIRN_DRIFT_H_
#define CAIRN_DRIFT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/json.h"
#include "cairn/repo.h"
#include "cairn/status.h"
#include "cairn/table.h"

namespace cairn {

enum class DriftMethod { kAuto, kKs, kChiSquare, kZ, kPsi, kWasserstein, kJensenShannon };
// "auto", "ks", "chi2", "z", "psi", "wasserstein", "jensenshannon".
const char* DriftMethodName(DriftMethod method);
// The inverse of DriftMethodName; nullopt for anything else.
std::optional<DriftMethod> ParseDriftMethod(std::string_view name);
// Whether the method's statistic is a p-value compared with the threshold
// (ks, chi2, z) rather than a distance (wasserstein, jensenshannon, psi).
bool DriftMethodIsTest(DriftMethod method);
// The Evidently default threshold of a (non-auto) method: 0.05 or 0.1.
double DefaultDriftThreshold(DriftMethod method);

struct DriftOptions {
  std::vector<std::string> columns;     // empty: every column both sides have
  DriftMethod method = DriftMethod::kAuto;
  std::optional<double> threshold;      // for every column; unset: each method's default
  double share = 0.5;                   // the dataset drifts when drifted/tested >= share
};
// InvalidArgument, with a hint, for a threshold outside (0, 1) for a test or
// auto, or not positive and finite for a distance; a share outside (0, 1].
Status ValidateDriftOptions(const DriftOptions& options);

struct ColumnDrift {
  std::string column;
  ColumnType type = ColumnType::kUnknown;  // of both sides together
  DriftMethod method = DriftMethod::kAuto;  // the one used (never kAuto)
  double statistic = 0;  // NaN: not finite (chi2 with a category A lacks)
  double p_value = 0;    // NaN for distances
  double threshold = 0;
  bool drifted = false;
  bool exact = false;    // ks: the exact distribution gave the p-value (else asymptotic)
  int64_t reference_values = 0, current_values = 0;  // non-missing, finite
  int64_t distinct_values = 0;                       // both sides together
};

struct SkippedColumn {
  std::string column;
  std::string reason;  // "no values in A", "only in B" …
};

struct FileDrift {
  std::string path;                    // the pair's path (A's when the two single files differ in name)
  std::string reference_where, current_where;
  int64_t reference_rows = 0, current_rows = 0;
  std::vector<ColumnDrift> columns;    // in A's column order
  std::vector<SkippedColumn> skipped;  // selected but not compared
  int64_t drifted_columns() const;
  double drifted_share() const;        // drifted/compared; 0 when none compared
  bool drifted = false;                // drifted_share() >= share, with at least one column compared
};

struct DriftReport {
  std::string reference_label, current_label;  // "data/raw@v1", "workspace path"
  DriftMethod method = DriftMethod::kAuto;
  std::optional<double> threshold;
  double share = 0.5;
  std::vector<FileDrift> files;                // paired by path
  std::vector<std::string> only_in_reference, only_in_current;  // tabular files without a partner
  std::vector<std::string> not_tabular;        // files of either side that are no table
  int64_t compared_columns() const;            // over all files
  int64_t drifted_columns() const;
  double drifted_share() const;
  bool drifted = false;                        // drifted_share() >= share over all files
};

// Opens a fresh reader over one side of a file pair (called twice per side).
using TableOpener = std::function<Result<std::unique_ptr<TableReader>>()>;

// The drift of one pair of tables. InvalidArgument, with a hint, for a
// column in options.columns that neither side has (with the nearest name),
// and for a forced method that does not apply to a column's type (ks and
// wasserstein need numbers, z at most two distinct values); errors of the
// readers as they come.
Result<FileDrift> DriftTables(const TableOpener& reference, const TableOpener& current,
                              const DriftOptions& options);

// The drift between two table sets (ResolveTables): files are paired by
// path; two sets of one file each are paired whatever their names.
// InvalidArgument when no file pairs up, when a requested column is in no
// pair (did-you-mean), when A and B are the same files, and as for
// DriftTables; NotFound for a version not in the cache.
Result<DriftReport> ComputeDrift(Repo& repo, const TableSet& reference, const TableSet& current,
                                 const DriftOptions& options);
// ResolveTables on both refs (dataset refs or workspace paths), then
// ComputeDrift.
Result<DriftReport> Drift(Repo& repo, std::string_view reference_ref, std::string_view current_ref,
                          const DriftOptions& options);

// The report as doc/json.md ("Drift report") describes it; NaN values are null.
Json DriftJson(const DriftReport& report);
// A human-readable table per file and a verdict line.
std::string DriftText(const DriftReport& report);

}  // namespace cairn

#endif  // CAIRN_DRIFT_H_
