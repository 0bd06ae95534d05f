// Profiles: what a table looks like, computed once per blob and stored as a
// derived object ("profile", cairn/derived.h) beside the data, so pushes
// and pulls carry it and a second look reuses it (doc/data.md, "Profiles").
//
// A profile gives the row count and, per column, the inferred type
// (ColumnType), null count and share, distinct count, min / max / mean /
// standard deviation, quantiles p1 p5 p25 p50 p75 p95 p99, the ten most
// frequent values with counts and a 20-bin histogram. It reads the table
// once, with bounded memory: each statistic is exact while the column is
// small and a sketch with a documented error beyond (src/data/sketch.h):
// distinct counts past 10,000 values, quantiles and the histogram past
// 100,000 values, top values past 10,000 distinct values. The JSON says
// which are exact.
//
// Thread safety: a Repo is used by one thread at a time; ProfileTable uses
// worker threads of its own (TBB) and is otherwise independent.
#ifndef CAIRN_PROFILE_H_
#define CAIRN_PROFILE_H_

#include <cstdint>
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

// The derived object kind of profiles, and the version of their body
// (doc/json.md, "profile"). A stored profile of another version is
// computed again.
inline constexpr std::string_view kProfileKind = "profile";
inline constexpr int kProfileVersion = 1;

struct ValueCount {
  std::string value;  // as the file spells it (the first spelling seen)
  uint64_t count = 0;
};

struct ColumnProfile {
  std::string name;
  ColumnType type = ColumnType::kUnknown;
  uint64_t count = 0;  // non-missing cells
  uint64_t nulls = 0;  // missing cells
  uint64_t distinct = 0;
  bool distinct_exact = true;
  // Integer and number columns: min, max, mean, sample std (ddof 1; NaN
  // below two values), quantiles (p1 … p99) and a histogram.
  std::optional<double> min, max, mean, std;
  std::vector<double> quantiles;  // empty for other columns
  bool quantiles_exact = true;
  std::vector<double> histogram_edges;    // 21 edges
  std::vector<uint64_t> histogram_counts; // 20 bins
  bool histogram_exact = true;
  // Other columns: the smallest and largest value in byte order.
  std::optional<std::string> min_text, max_text;
  std::vector<ValueCount> top_values;  // at most 10, by count, ties in order of first appearance
  bool top_values_exact = true;
  uint64_t top_values_max_error = 0;  // a count may be low by this much (0 when exact)
};

struct TableProfile {
  TableFormat format = TableFormat::kCsv;
  char delimiter = ',';  // CSV/TSV
  bool header = true;    // CSV/TSV: whether the first row named the columns
  uint64_t rows = 0;
  std::vector<ColumnProfile> columns;
};

// The quantile levels a profile reports, and their names ("p1" …).
const std::vector<double>& ProfileQuantiles();
const std::vector<std::string>& ProfileQuantileNames();

// Reads `reader` to its end and profiles it. InvalidArgument (with the
// line) for a malformed table, as the reader reports it.
Result<TableProfile> ProfileTable(TableReader& reader);

// The one JSON form of a profile (doc/json.md, "profile"): what is stored,
// what --json prints, what the Python module and server return.
Json ProfileJson(const TableProfile& profile);

// A profile of one tabular file with where it came from.
struct SourceProfile {
  TableSource source;
  Oid blob;             // the file's blob (hashed when the source did not carry it)
  Oid object;           // the derived object holding the profile
  bool computed = false;  // false: an existing object was reused
  int64_t created_ms = 0;
  Json profile;         // ProfileJson's shape
};

// The stored profile of `source`'s blob when there is one (of this
// kProfileVersion), else computes it and stores it (PutDerived: takes the
// repository lock for the write only). A workspace file without an oid is
// hashed first. NotFound when the blob is neither a file here nor in the
// cache (hint: pull); InvalidArgument for a malformed table.
Result<SourceProfile> ProfileFor(Repo& repo, const TableSource& source);
// The stored profile only; nullopt when there is none (never computes).
Result<std::optional<SourceProfile>> StoredProfileFor(Repo& repo, const TableSource& source);

// Every tabular file REF names (ResolveTables), each through ProfileFor.
struct ProfileReport {
  std::string label;    // "data/raw@v2", a workspace path
  std::string dataset;  // "" for a plain workspace path
  Oid version;          // zero for the workspace
  std::vector<SourceProfile> tables;
  std::vector<std::string> skipped;  // files that are not tables, by path
};
struct ProfileOptions {
  // Only these columns in the report (the stored profile always has every
  // column). InvalidArgument, naming the first table's columns, for a
  // column that no table has.
  std::vector<std::string> columns;
  // Never compute: a table without a stored profile is NotFound.
  bool stored_only = false;
};
// NotFound for a REF that names nothing; InvalidArgument when it names no
// tabular file (the skipped files are named).
Result<ProfileReport> ProfileRef(Repo& repo, std::string_view ref, const ProfileOptions& options = {});
// The JSON of a report (doc/json.md, "profile report").
Json ProfileReportJson(const ProfileReport& report);
// The text the CLI prints: per table a header line, one line per column
// (type, nulls, distinct — "~" when estimated —, min, max, mean, std,
// quartiles), the top values and a histogram; then the skipped files.
std::string ProfileReportText(const ProfileReport& report);

}  // namespace cairn

#endif  // CAIRN_PROFILE_H_
