// Drift between two tables (cairn/drift.h): read the compared columns of
// each side, choose a method per column, compute it with drift_stats.h and
// decide. The report's JSON and text are in drift_report.cc.
#include "cairn/drift.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <type_traits>

#include "cairn/run_record.h"  // FormatMetricValue: numbers as typed (1.5, not 1.500000)
#include "data/drift_stats.h"
#include "util/edit_distance.h"

namespace cairn {
namespace {

namespace di = drift_internal;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct MethodName {
  DriftMethod method;
  const char* name;
};
constexpr MethodName kMethodNames[] = {
    {DriftMethod::kAuto, "auto"},         {DriftMethod::kKs, "ks"},
    {DriftMethod::kChiSquare, "chi2"},    {DriftMethod::kZ, "z"},
    {DriftMethod::kPsi, "psi"},           {DriftMethod::kWasserstein, "wasserstein"},
    {DriftMethod::kJensenShannon, "jensenshannon"},
};

bool IsNumeric(ColumnType type) { return type == ColumnType::kInteger || type == ColumnType::kNumber; }

// One side of one column: its type over the non-missing cells, then either
// its finite numbers (sorted) or its category counts (sorted by text).
struct SideValues {
  ColumnType type = ColumnType::kUnknown;
  int64_t cells = 0;  // non-missing, from the first pass
  std::vector<double> numbers;
  std::map<std::string, int64_t, std::less<>> counts;
  int64_t count() const {
    if (!numbers.empty()) return static_cast<int64_t>(numbers.size());
    int64_t n = 0;
    for (const auto& [text, c] : counts) n += c;
    return n;
  }
};

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Reads every row of one side, calling visit(slot, cell) for the non-missing
// cells of the columns at `index` (slot i is column index[i], -1: absent).
template <typename Visit>
Status ReadSide(const TableOpener& open, const std::vector<int>& index, int64_t* rows, Visit visit) {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<TableReader> reader, open());
  TableBatch batch;
  *rows = 0;
  while (true) {
    CAIRN_ASSIGN_OR_RETURN(bool more, reader->Next(&batch));
    if (!more) break;
    *rows += static_cast<int64_t>(batch.rows);
    for (size_t r = 0; r < batch.rows; ++r) {
      for (size_t slot = 0; slot < index.size(); ++slot) {
        if (index[slot] < 0 || static_cast<size_t>(index[slot]) >= batch.width) continue;
        const TableCell& cell = batch.cell(r, static_cast<size_t>(index[slot]));
        if (cell.missing || IsMissingText(cell.text)) continue;
        visit(slot, cell.text);
      }
    }
  }
  return Status::OK();
}

Status UnknownColumn(const std::string& column, const std::vector<std::string>& names, const std::string& where) {
  std::string nearest = NearestName(names, column);
  std::string list;
  for (size_t i = 0; i < names.size() && i < 12; ++i) list += (i ? ", " : "") + names[i];
  if (names.size() > 12) list += ", …";
  std::string hint = nearest.empty() ? "" : "did you mean '" + nearest + "'? ";
  hint += names.empty() ? "the data has no columns" : "the columns are: " + list;
  return Status::InvalidArgument("no column '" + column + "' in " + where, hint);
}

DriftMethod AutoMethod(bool numeric, int64_t reference_values, int64_t distinct) {
  if (reference_values <= 1000) {
    if (numeric && distinct > 5) return DriftMethod::kKs;
    return distinct > 2 ? DriftMethod::kChiSquare : DriftMethod::kZ;
  }
  if (numeric && distinct > 5) return DriftMethod::kWasserstein;
  return DriftMethod::kJensenShannon;
}

// Category counts of both sides over the union, in order of the key.
struct Aligned {
  std::vector<int64_t> reference, current;
};
Aligned AlignCounts(const SideValues& a, const SideValues& b) {
  Aligned out;
  auto ia = a.counts.begin(), ib = b.counts.begin();
  while (ia != a.counts.end() || ib != b.counts.end()) {
    if (ib == b.counts.end() || (ia != a.counts.end() && ia->first < ib->first)) {
      out.reference.push_back(ia->second), out.current.push_back(0), ++ia;
    } else if (ia == a.counts.end() || ib->first < ia->first) {
      out.reference.push_back(0), out.current.push_back(ib->second), ++ib;
    } else {
      out.reference.push_back(ia->second), out.current.push_back(ib->second), ++ia, ++ib;
    }
  }
  return out;
}

int64_t DistinctNumbers(const std::vector<double>& a, const std::vector<double>& b) {
  int64_t n = 0;
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    const double v = j == b.size() || (i < a.size() && a[i] <= b[j]) ? a[i] : b[j];
    while (i < a.size() && a[i] == v) ++i;
    while (j < b.size() && b[j] == v) ++j;
    ++n;
  }
  return n;
}

Status NotApplicable(DriftMethod method, const std::string& column, const std::string& why) {
  return Status::InvalidArgument(std::string("--method ") + DriftMethodName(method) + " does not apply to column '" +
                                     column + "' (" + why + ")",
                                 "choose the columns it fits with --column, or use --method auto");
}

// Computes c.method on the two sides and decides.
void Compute(ColumnDrift& c, const SideValues& a, const SideValues& b) {
  const bool numeric = IsNumeric(c.type);
  c.p_value = kNaN;
  switch (c.method) {
    case DriftMethod::kKs: {
      di::KsResult r = di::KolmogorovSmirnov(a.numbers, b.numbers);
      c.statistic = r.statistic, c.p_value = r.p_value, c.exact = r.exact;
      break;
    }
    case DriftMethod::kChiSquare: {
      di::TestResult r;
      if (numeric) {
        di::AlignedCounts counts = di::CountDistinct(a.numbers, b.numbers);
        r = di::ChiSquare(counts.reference, counts.current);
      } else {
        Aligned counts = AlignCounts(a, b);
        r = di::ChiSquare(counts.reference, counts.current);
      }
      c.statistic = r.statistic, c.p_value = r.p_value;
      break;
    }
    case DriftMethod::kZ: {
      // Counts of the values other than the smallest (Evidently's encoding).
      int64_t ref_other = 0, cur_other = 0;
      if (numeric) {
        di::AlignedCounts counts = di::CountDistinct(a.numbers, b.numbers);
        if (counts.values.size() > 1) ref_other = counts.reference[1], cur_other = counts.current[1];
      } else {
        Aligned counts = AlignCounts(a, b);
        if (counts.reference.size() > 1) ref_other = counts.reference[1], cur_other = counts.current[1];
      }
      di::TestResult r = di::ProportionZTest(ref_other, c.reference_values, cur_other, c.current_values);
      c.statistic = r.statistic, c.p_value = r.p_value;
      break;
    }
    case DriftMethod::kWasserstein:
      c.statistic = di::WassersteinNormed(a.numbers, b.numbers);
      break;
    case DriftMethod::kJensenShannon:
      if (numeric) {
        c.statistic = di::JensenShannonNumeric(a.numbers, b.numbers);
      } else {
        Aligned counts = AlignCounts(a, b);
        c.statistic = di::JensenShannonCategorical(counts.reference, counts.current);
      }
      break;
    case DriftMethod::kPsi:
      if (numeric) {
        c.statistic = di::PsiNumeric(a.numbers, b.numbers);
      } else {
        Aligned counts = AlignCounts(a, b);
        c.statistic = di::PsiCategorical(counts.reference, counts.current);
      }
      break;
    case DriftMethod::kAuto:
      break;
  }
  switch (c.method) {
    case DriftMethod::kKs: c.drifted = c.p_value <= c.threshold; break;
    case DriftMethod::kChiSquare:
    case DriftMethod::kZ: c.drifted = c.p_value < c.threshold; break;
    default: c.drifted = c.statistic >= c.threshold; break;  // NaN compares false
  }
  if (std::isinf(c.statistic)) c.statistic = kNaN;  // chi2 with a category A lacks: p is 0
}

// DriftTables; with `lenient`, a requested column that neither side of this
// pair has is skipped (ComputeDrift checked it exists in some pair).
Result<FileDrift> DriftPair(const TableOpener& open_a, const TableOpener& open_b, const DriftOptions& options,
                            bool lenient) {
  FileDrift file;
  std::vector<std::string> cols_a, cols_b;
  {
    CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<TableReader> ra, open_a());
    CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<TableReader> rb, open_b());
    cols_a = ra->columns(), cols_b = rb->columns();
    file.reference_where = ra->where(), file.current_where = rb->where();
  }
  auto position = [](const std::vector<std::string>& cols, const std::string& name) {
    auto it = std::find(cols.begin(), cols.end(), name);
    return it == cols.end() ? -1 : static_cast<int>(it - cols.begin());
  };
  // The compared columns: both sides have them.
  std::vector<std::string> selected;
  if (options.columns.empty()) {
    for (const std::string& c : cols_a) {
      if (position(cols_b, c) >= 0) {
        selected.push_back(c);
      } else {
        file.skipped.push_back({c, "only in A"});
      }
    }
    for (const std::string& c : cols_b) {
      if (position(cols_a, c) < 0) file.skipped.push_back({c, "only in B"});
    }
  } else {
    std::set<std::string> seen;
    for (const std::string& c : options.columns) {
      if (!seen.insert(c).second) continue;
      const bool in_a = position(cols_a, c) >= 0, in_b = position(cols_b, c) >= 0;
      if (in_a && in_b) {
        selected.push_back(c);
      } else if (in_a || in_b) {
        file.skipped.push_back({c, in_a ? "only in A" : "only in B"});
      } else if (lenient) {
        file.skipped.push_back({c, "not in this file"});
      } else {
        std::vector<std::string> names = cols_a;
        for (const std::string& n : cols_b) {
          if (position(cols_a, n) < 0) names.push_back(n);
        }
        return UnknownColumn(c, names, file.reference_where + " or " + file.current_where);
      }
    }
  }
  std::vector<int> index_a, index_b;
  for (const std::string& c : selected) index_a.push_back(position(cols_a, c)), index_b.push_back(position(cols_b, c));

  // Pass 1: the types.
  std::vector<SideValues> a(selected.size()), b(selected.size());
  CAIRN_RETURN_IF_ERROR(ReadSide(open_a, index_a, &file.reference_rows, [&](size_t slot, std::string_view text) {
    a[slot].type = MergeColumnTypes(a[slot].type, CellType(text));
    ++a[slot].cells;
  }));
  CAIRN_RETURN_IF_ERROR(ReadSide(open_b, index_b, &file.current_rows, [&](size_t slot, std::string_view text) {
    b[slot].type = MergeColumnTypes(b[slot].type, CellType(text));
    ++b[slot].cells;
  }));
  std::vector<ColumnType> types(selected.size());
  for (size_t s = 0; s < selected.size(); ++s) {
    types[s] = MergeColumnTypes(a[s].type, b[s].type);
    if (options.method == DriftMethod::kKs || options.method == DriftMethod::kWasserstein) {
      if (types[s] != ColumnType::kUnknown && !IsNumeric(types[s])) {
        return NotApplicable(options.method, selected[s], std::string("it holds ") + ColumnTypeName(types[s]) +
                                                              " values; this method compares numbers");
      }
    }
  }
  // Pass 2: the values (numbers reserved from pass 1's count, so the vectors
  // never hold more than their values).
  for (size_t s = 0; s < selected.size(); ++s) {
    if (IsNumeric(types[s])) {
      a[s].numbers.reserve(static_cast<size_t>(a[s].cells));
      b[s].numbers.reserve(static_cast<size_t>(b[s].cells));
    }
  }
  auto collect = [&](std::vector<SideValues>& side) {
    return [&side, &types](size_t slot, std::string_view text) {
      if (IsNumeric(types[slot])) {
        std::optional<double> v = CellNumber(text);
        if (v && std::isfinite(*v)) side[slot].numbers.push_back(*v);  // Evidently drops ±inf too
        return;
      }
      std::string lowered;
      if (types[slot] == ColumnType::kBoolean) text = lowered = Lower(text);
      auto& counts = side[slot].counts;
      auto it = counts.find(text);
      if (it == counts.end()) it = counts.emplace(std::string(text), 0).first;
      ++it->second;
    };
  };
  int64_t rows = 0;
  CAIRN_RETURN_IF_ERROR(ReadSide(open_a, index_a, &rows, collect(a)));
  CAIRN_RETURN_IF_ERROR(ReadSide(open_b, index_b, &rows, collect(b)));

  for (size_t s = 0; s < selected.size(); ++s) {
    ColumnDrift c;
    c.column = selected[s];
    c.type = types[s];
    std::sort(a[s].numbers.begin(), a[s].numbers.end());
    std::sort(b[s].numbers.begin(), b[s].numbers.end());
    c.reference_values = a[s].count(), c.current_values = b[s].count();
    if (c.reference_values == 0 || c.current_values == 0) {
      file.skipped.push_back({c.column, c.reference_values == 0 && c.current_values == 0 ? "no values"
                                        : c.reference_values == 0                           ? "no values in A"
                                                                                            : "no values in B"});
      continue;
    }
    const bool numeric = IsNumeric(c.type);
    c.distinct_values = numeric ? DistinctNumbers(a[s].numbers, b[s].numbers)
                                : static_cast<int64_t>(AlignCounts(a[s], b[s]).reference.size());
    c.method = options.method == DriftMethod::kAuto ? AutoMethod(numeric, c.reference_values, c.distinct_values)
                                                     : options.method;
    if (options.method == DriftMethod::kZ && c.distinct_values > 2) {
      return NotApplicable(options.method, c.column,
                           std::to_string(c.distinct_values) + " distinct values; the z-test compares two");
    }
    c.threshold = options.threshold ? *options.threshold : DefaultDriftThreshold(c.method);
    Compute(c, a[s], b[s]);
    file.columns.push_back(std::move(c));
    a[s] = SideValues(), b[s] = SideValues();  // free as we go
  }
  const int64_t compared = static_cast<int64_t>(file.columns.size());
  file.drifted = compared > 0 && file.drifted_share() >= options.share;
  return file;
}

template <typename Entry>
std::string EntryPath(const Entry& e) {
  if constexpr (std::is_convertible_v<Entry, std::string>) {
    return e;
  } else {
    return e.path;
  }
}

}  // namespace

const char* DriftMethodName(DriftMethod method) {
  for (const MethodName& m : kMethodNames) {
    if (m.method == method) return m.name;
  }
  return "auto";
}

std::optional<DriftMethod> ParseDriftMethod(std::string_view name) {
  for (const MethodName& m : kMethodNames) {
    if (name == m.name) return m.method;
  }
  return std::nullopt;
}

bool DriftMethodIsTest(DriftMethod method) {
  return method == DriftMethod::kKs || method == DriftMethod::kChiSquare || method == DriftMethod::kZ;
}

double DefaultDriftThreshold(DriftMethod method) { return DriftMethodIsTest(method) ? 0.05 : 0.1; }

Status ValidateDriftOptions(const DriftOptions& options) {
  if (options.threshold) {
    const double t = *options.threshold;
    if (options.method == DriftMethod::kAuto || DriftMethodIsTest(options.method)) {
      if (!(t > 0 && t < 1)) {
        return Status::InvalidArgument("--threshold " + FormatMetricValue(t) + " is out of range",
                                       options.method == DriftMethod::kAuto
                                           ? "with --method auto the threshold applies to p-values and "
                                             "distances alike: give a value between 0 and 1 (exclusive)"
                                           : "a p-value threshold lies between 0 and 1 (exclusive), e.g. 0.05");
      }
    } else if (!(t > 0) || !std::isfinite(t)) {
      return Status::InvalidArgument("--threshold " + FormatMetricValue(t) + " is out of range",
                                     "a distance threshold is a positive number, e.g. 0.1");
    }
  }
  if (!(options.share > 0 && options.share <= 1)) {
    return Status::InvalidArgument("--share " + FormatMetricValue(options.share) + " is out of range",
                                   "the share of drifted columns lies in (0, 1], e.g. 0.5");
  }
  return Status::OK();
}

int64_t FileDrift::drifted_columns() const {
  return std::count_if(columns.begin(), columns.end(), [](const ColumnDrift& c) { return c.drifted; });
}
double FileDrift::drifted_share() const {
  return columns.empty() ? 0.0 : static_cast<double>(drifted_columns()) / static_cast<double>(columns.size());
}
int64_t DriftReport::compared_columns() const {
  int64_t n = 0;
  for (const FileDrift& f : files) n += static_cast<int64_t>(f.columns.size());
  return n;
}
int64_t DriftReport::drifted_columns() const {
  int64_t n = 0;
  for (const FileDrift& f : files) n += f.drifted_columns();
  return n;
}
double DriftReport::drifted_share() const {
  const int64_t n = compared_columns();
  return n == 0 ? 0.0 : static_cast<double>(drifted_columns()) / static_cast<double>(n);
}

Result<FileDrift> DriftTables(const TableOpener& reference, const TableOpener& current, const DriftOptions& options) {
  CAIRN_RETURN_IF_ERROR(ValidateDriftOptions(options));
  return DriftPair(reference, current, options, /*lenient=*/false);
}

Result<DriftReport> ComputeDrift(Repo& repo, const TableSet& reference, const TableSet& current,
                                 const DriftOptions& options) {
  CAIRN_RETURN_IF_ERROR(ValidateDriftOptions(options));
  DriftReport report;
  report.reference_label = reference.label, report.current_label = current.label;
  report.method = options.method, report.threshold = options.threshold, report.share = options.share;
  std::set<std::string> not_tabular;
  for (const auto& e : reference.skipped) not_tabular.insert(EntryPath(e));
  for (const auto& e : current.skipped) not_tabular.insert(EntryPath(e));
  report.not_tabular.assign(not_tabular.begin(), not_tabular.end());

  // Pair by path; two single files pair whatever their names.
  std::vector<std::pair<const TableSource*, const TableSource*>> pairs;
  if (reference.tables.size() == 1 && current.tables.size() == 1) {
    pairs.emplace_back(&reference.tables[0], &current.tables[0]);
  } else {
    std::map<std::string, const TableSource*> by_path;
    for (const TableSource& t : current.tables) by_path[t.path] = &t;
    for (const TableSource& t : reference.tables) {
      auto it = by_path.find(t.path);
      if (it == by_path.end()) {
        report.only_in_reference.push_back(t.path);
      } else {
        pairs.emplace_back(&t, it->second);
        by_path.erase(it);
      }
    }
    for (const auto& [path, t] : by_path) report.only_in_current.push_back(path);
  }
  if (pairs.empty()) {
    return Status::InvalidArgument("no tabular file of " + reference.label + " pairs up with one of " + current.label,
                                   "files pair by their path inside the dataset; give two versions of the same "
                                   "dataset, or two single files");
  }
  auto opener = [&repo](const TableSource* source) -> TableOpener {
    return [&repo, source] { return OpenTable(repo, *source); };
  };
  // A requested column must be in some file of A or B.
  if (!options.columns.empty() && pairs.size() > 1) {
    std::vector<std::string> names;
    std::set<std::string> known;
    for (const auto& [a, b] : pairs) {
      for (const TableSource* s : {a, b}) {
        CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<TableReader> reader, OpenTable(repo, *s));
        for (const std::string& c : reader->columns()) {
          if (known.insert(c).second) names.push_back(c);
        }
      }
    }
    for (const std::string& c : options.columns) {
      if (!known.count(c)) return UnknownColumn(c, names, reference.label + " or " + current.label);
    }
  }
  for (const auto& [a, b] : pairs) {
    CAIRN_ASSIGN_OR_RETURN(FileDrift file, DriftPair(opener(a), opener(b), options, /*lenient=*/pairs.size() > 1));
    file.path = a->path;
    report.files.push_back(std::move(file));
  }
  if (report.compared_columns() == 0) {
    // A check that compared nothing must not pass as "no drift".
    return Status::InvalidArgument("no column of " + reference.label + " and " + current.label +
                                       " has values on both sides: nothing was compared",
                                   "give two versions of the same table (drift compares the columns both have, "
                                   "where each side has values)");
  }
  report.drifted = report.drifted_share() >= options.share;
  return report;
}

Result<DriftReport> Drift(Repo& repo, std::string_view reference_ref, std::string_view current_ref,
                          const DriftOptions& options) {
  CAIRN_RETURN_IF_ERROR(ValidateDriftOptions(options));
  CAIRN_ASSIGN_OR_RETURN(TableSet reference, ResolveTables(repo, reference_ref));
  CAIRN_ASSIGN_OR_RETURN(TableSet current, ResolveTables(repo, current_ref));
  return ComputeDrift(repo, reference, current, options);
}

}  // namespace cairn
