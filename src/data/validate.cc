// Evaluating a suite on a table: one evaluator per expectation, all fed the
// same batches in one pass; uniqueness expectations that found duplicates
// read the table once more to list them.
#include "cairn/validate.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "data/validate_internal.h"
#include "util/edit_distance.h"

namespace cairn {
namespace {

using validate_internal::Classify;
using validate_internal::IsNumeric;

// A number as JSON: whole values as integers; inf, -inf and nan (which
// JSON lacks) as those strings, so that they are not read as "no value".
Json NumberJson(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0) return static_cast<int64_t>(v);
  return v;
}

UnexpectedValue At(const TableBatch& b, size_t r, Json value) {
  return UnexpectedValue{std::move(value), b.row_numbers[r], b.lines[r]};
}

Json CellJson(const TableCell& c) { return c.missing ? Json(nullptr) : Json(std::string(c.text)); }

bool InBounds(double v, const Expectation& e) {
  if (std::isnan(v)) return false;
  if (e.min_value && (e.strict_min ? !(v > *e.min_value) : !(v >= *e.min_value))) return false;
  if (e.max_value && (e.strict_max ? !(v < *e.max_value) : !(v <= *e.max_value))) return false;
  return true;
}

// Fills the counts of a map expectation and decides it as GX does: success
// when no value was evaluated, else when the expected share of the
// evaluated values reaches `mostly` (all of them without it).
void MapOutcome(ExpectationResult* r, int64_t elements, int64_t evaluated, int64_t unexpected, bool report_missing,
                std::optional<double> mostly) {
  r->counts = true;
  r->element_count = elements;
  if (report_missing) r->missing_count = elements - evaluated;
  if (elements > 0) r->unexpected_percent_total = 100.0 * static_cast<double>(unexpected) / static_cast<double>(elements);
  if (evaluated > 0) r->unexpected_percent = 100.0 * static_cast<double>(unexpected) / static_cast<double>(evaluated);
  r->unexpected_count = unexpected;
  if (evaluated == 0) {
    r->success = true;
  } else if (mostly) {
    r->success = static_cast<double>(evaluated - unexpected) / static_cast<double>(evaluated) >= *mostly;
  } else {
    r->success = unexpected == 0;
  }
}

class Evaluator {
 public:
  explicit Evaluator(const Expectation& e) : e_(e) {}
  virtual ~Evaluator() = default;
  virtual void Batch(const TableBatch& b) = 0;
  virtual void Finish(int64_t rows, ExpectationResult* r) = 0;
  // After Finish: whether a second pass is needed to list what was found.
  virtual bool WantsSecondPass() const { return false; }
  // Second pass; returns false once it has seen all it needs.
  virtual bool SecondBatch(const TableBatch&) { return false; }
  virtual void FinishSecond(ExpectationResult*) {}

 protected:
  const Expectation& e_;
};

// Expectations on the non-missing values of one column, which they see one
// at a time; missing ones are counted.
class ColumnEvaluator : public Evaluator {
 public:
  ColumnEvaluator(const Expectation& e, size_t column) : Evaluator(e), column_(column) {}
  void Batch(const TableBatch& b) override {
    for (size_t r = 0; r < b.rows; ++r) {
      const TableCell& c = b.cell(r, column_);
      if (c.missing) {
        ++missing_;
      } else {
        Value(b, r, c);
      }
    }
  }

 protected:
  virtual void Value(const TableBatch& b, size_t r, const TableCell& c) = 0;
  size_t column_;
  int64_t missing_ = 0;
};

// Column map expectations judging each non-missing value on its own.
class ValueEvaluator : public ColumnEvaluator {
 public:
  using ColumnEvaluator::ColumnEvaluator;
  void Finish(int64_t rows, ExpectationResult* r) override {
    MapOutcome(r, rows, rows - missing_, unexpected_, true, e_.mostly);
    r->partial_unexpected = std::move(partial_);
  }

 protected:
  void Value(const TableBatch& b, size_t r, const TableCell& c) override {
    if (Expected(c.text)) return;
    ++unexpected_;
    if (partial_.size() < kPartialUnexpected) partial_.push_back(At(b, r, CellJson(c)));
  }
  virtual bool Expected(std::string_view text) = 0;
  int64_t unexpected_ = 0;
  std::vector<UnexpectedValue> partial_;
};

class NotNullEvaluator : public Evaluator {
 public:
  NotNullEvaluator(const Expectation& e, size_t column) : Evaluator(e), column_(column) {}
  void Batch(const TableBatch& b) override {
    for (size_t r = 0; r < b.rows; ++r) {
      if (!b.cell(r, column_).missing) continue;
      ++missing_;
      if (partial_.size() < kPartialUnexpected) partial_.push_back(At(b, r, nullptr));
    }
  }
  void Finish(int64_t rows, ExpectationResult* r) override {
    // GX: every row is evaluated; missing values are the unexpected ones.
    MapOutcome(r, rows, rows, missing_, false, e_.mostly);
    r->partial_unexpected = std::move(partial_);
  }

 private:
  size_t column_;
  int64_t missing_ = 0;
  std::vector<UnexpectedValue> partial_;
};

class BetweenEvaluator : public ValueEvaluator {
 public:
  using ValueEvaluator::ValueEvaluator;

 protected:
  bool Expected(std::string_view text) override {
    double v = 0;
    return IsNumeric(Classify(text, &v)) && InBounds(v, e_);
  }
};

class InSetEvaluator : public ValueEvaluator {
 public:
  InSetEvaluator(const Expectation& e, size_t column) : ValueEvaluator(e, column) {
    for (const SuiteValue& v : e.value_set) {
      switch (v.kind) {
        case SuiteValue::Kind::kNumber: numbers_.insert(v.number == 0 ? 0.0 : v.number); break;
        case SuiteValue::Kind::kBoolean: (v.boolean ? true_ : false_) = true; break;
        case SuiteValue::Kind::kString: texts_.insert(v.text); break;
        case SuiteValue::Kind::kNull: break;  // missing values are not evaluated
      }
    }
  }

 protected:
  bool Expected(std::string_view text) override {
    if (texts_.count(std::string(text))) return true;
    double v = 0;
    ColumnType t = Classify(text, &v);
    if (IsNumeric(t)) return numbers_.count(v == 0 ? 0.0 : v) > 0;
    if (t == ColumnType::kBoolean) return (text[0] == 't' || text[0] == 'T') ? true_ : false_;
    return false;
  }

 private:
  std::unordered_set<std::string> texts_;
  std::unordered_set<double> numbers_;
  bool true_ = false, false_ = false;
};

class RegexEvaluator : public ValueEvaluator {
 public:
  RegexEvaluator(const Expectation& e, size_t column)
      : ValueEvaluator(e, column), re_(validate_internal::MakeRegex(e.regex)) {}

 protected:
  bool Expected(std::string_view text) override { return std::regex_search(text.begin(), text.end(), re_); }

 private:
  std::regex re_;
};

// Each value by its own type; a string is expected (for the string types)
// when the column as a whole is one, as pandas reads such a column as text.
class OfTypeEvaluator : public ColumnEvaluator {
 public:
  using ColumnEvaluator::ColumnEvaluator;
  void Value(const TableBatch& b, size_t r, const TableCell& c) override {
    double v;
    int k = Category(Classify(c.text, &v));
    ++counts_[k];
    if (partial_[k].size() < kPartialUnexpected) partial_[k].push_back(At(b, r, CellJson(c)));
  }
  void Finish(int64_t rows, ExpectationResult* r) override {
    static constexpr ColumnType kTypes[4] = {ColumnType::kInteger, ColumnType::kNumber, ColumnType::kBoolean,
                                             ColumnType::kString};
    ColumnType column = ColumnType::kUnknown;
    for (int k = 0; k < 4; ++k) {
      if (counts_[k]) column = MergeColumnTypes(column, kTypes[k]);
    }
    bool unexpected[4] = {false, false, false, false};
    switch (e_.expected_type) {
      case ColumnType::kInteger: unexpected[1] = unexpected[2] = unexpected[3] = true; break;
      case ColumnType::kNumber: unexpected[2] = unexpected[3] = true; break;
      case ColumnType::kBoolean: unexpected[0] = unexpected[1] = unexpected[3] = true; break;
      default:
        if (column != ColumnType::kString) unexpected[0] = unexpected[1] = unexpected[2] = unexpected[3] = true;
        break;
    }
    int64_t count = 0;
    std::vector<UnexpectedValue> all;
    for (int k = 0; k < 4; ++k) {
      if (!unexpected[k]) continue;
      count += counts_[k];
      all.insert(all.end(), partial_[k].begin(), partial_[k].end());
    }
    std::sort(all.begin(), all.end(), [](const UnexpectedValue& a, const UnexpectedValue& b) { return a.row < b.row; });
    if (all.size() > kPartialUnexpected) all.resize(kPartialUnexpected);
    MapOutcome(r, rows, rows - missing_, count, true, e_.mostly);
    r->observed_value = ColumnTypeName(column);
    r->partial_unexpected = std::move(all);
  }

 private:
  static int Category(ColumnType t) {
    switch (t) {
      case ColumnType::kInteger: return 0;
      case ColumnType::kNumber: return 1;
      case ColumnType::kBoolean: return 2;
      default: return 3;
    }
  }
  int64_t counts_[4] = {0, 0, 0, 0};
  std::vector<UnexpectedValue> partial_[4];
};

// Uniqueness, of one column or of a combination: every row whose value
// (combination) another row has too is unexpected, as pandas'
// duplicated(keep=False). One hash per evaluated row; the duplicated ones
// are listed by a second pass.
class UniqueEvaluator : public Evaluator {
 public:
  UniqueEvaluator(const Expectation& e, std::vector<size_t> columns) : Evaluator(e), columns_(std::move(columns)) {}
  void Batch(const TableBatch& b) override {
    for (size_t r = 0; r < b.rows; ++r) {
      uint64_t h;
      if (Hash(b, r, &h)) hashes_.push_back(h);
    }
  }
  void Finish(int64_t rows, ExpectationResult* r) override {
    std::sort(hashes_.begin(), hashes_.end());
    int64_t unexpected = 0;
    for (size_t i = 0; i < hashes_.size();) {
      size_t j = i + 1;
      while (j < hashes_.size() && hashes_[j] == hashes_[i]) ++j;
      if (j - i > 1) {
        unexpected += static_cast<int64_t>(j - i);
        duplicated_.push_back(hashes_[i]);
      }
      i = j;
    }
    int64_t evaluated = static_cast<int64_t>(hashes_.size());
    std::vector<uint64_t>().swap(hashes_);
    MapOutcome(r, rows, evaluated, unexpected, true, e_.mostly);
  }
  bool WantsSecondPass() const override { return !duplicated_.empty(); }
  bool SecondBatch(const TableBatch& b) override {
    for (size_t r = 0; r < b.rows && partial_.size() < kPartialUnexpected; ++r) {
      uint64_t h;
      if (!Hash(b, r, &h) || !std::binary_search(duplicated_.begin(), duplicated_.end(), h)) continue;
      if (columns_.size() == 1 && e_.type == ExpectationType::kUnique) {
        partial_.push_back(At(b, r, CellJson(b.cell(r, columns_[0]))));
      } else {
        Json value = Json::object();
        for (size_t i = 0; i < columns_.size(); ++i) value[e_.columns[i]] = CellJson(b.cell(r, columns_[i]));
        partial_.push_back(At(b, r, std::move(value)));
      }
    }
    return partial_.size() < kPartialUnexpected;
  }
  void FinishSecond(ExpectationResult* r) override { r->partial_unexpected = std::move(partial_); }

 private:
  // False for a row that is not evaluated (missing values; for compound
  // columns as ignore_row_if says).
  bool Hash(const TableBatch& b, size_t r, uint64_t* h) {
    size_t missing = 0;
    for (size_t c : columns_) missing += b.cell(r, c).missing;
    if (e_.type == ExpectationType::kUnique) {
      if (missing) return false;
    } else if (e_.ignore_row_if == IgnoreRowIf::kAllValuesAreMissing) {
      if (missing == columns_.size()) return false;
    } else if (e_.ignore_row_if == IgnoreRowIf::kAnyValueIsMissing) {
      if (missing) return false;
    }
    buf_.clear();
    for (size_t c : columns_) validate_internal::AppendCanonical(&buf_, b.cell(r, c));
    *h = XXH3_64bits(buf_.data(), buf_.size());
    return true;
  }
  std::vector<size_t> columns_;
  std::vector<uint64_t> hashes_;
  std::vector<uint64_t> duplicated_;  // sorted
  std::vector<UnexpectedValue> partial_;
  std::string buf_;
};

// mean, median, min, max, stdev of a column's numbers.
class StatisticEvaluator : public ColumnEvaluator {
 public:
  using ColumnEvaluator::ColumnEvaluator;
  void Value(const TableBatch& b, size_t r, const TableCell& c) override {
    double v = 0;
    if (!IsNumeric(Classify(c.text, &v)) || std::isnan(v)) {
      if (other_++ == 0) {
        first_other_ = std::string(c.text);
        first_other_row_ = b.row_numbers[r];
      }
      return;
    }
    ++n_;
    long double delta = v - mean_;  // extended range: values near ±1.7e308 do not overflow
    mean_ += delta / static_cast<long double>(n_);
    m2_ += delta * (v - mean_);
    min_ = std::min(min_, v);
    max_ = std::max(max_, v);
    if (e_.type == ExpectationType::kMedian) values_.push_back(v);
  }
  void Finish(int64_t rows, ExpectationResult* r) override {
    r->element_count = rows;
    r->missing_count = missing_;
    if (other_ > 0) {
      r->exception = "column '" + e_.column + "' has " + std::to_string(other_) + " value" + (other_ == 1 ? "" : "s") +
                     " that " + (other_ == 1 ? "is" : "are") + " not a number (the first, '" + first_other_ +
                     "', on row " + std::to_string(first_other_row_) + ")";
      r->success = false;
      return;
    }
    std::optional<double> observed;
    switch (e_.type) {
      case ExpectationType::kMean:
        if (n_ > 0) observed = static_cast<double>(mean_);
        break;
      case ExpectationType::kStdev:
        if (n_ > 1) observed = static_cast<double>(std::sqrt(m2_ / static_cast<long double>(n_ - 1)));
        break;
      case ExpectationType::kMin:
        if (n_ > 0) observed = min_;
        break;
      case ExpectationType::kMax:
        if (n_ > 0) observed = max_;
        break;
      default:
        if (n_ > 0) {
          size_t mid = values_.size() / 2;
          std::nth_element(values_.begin(), values_.begin() + mid, values_.end());
          double m = values_[mid];
          if (values_.size() % 2 == 0) m = (m + *std::max_element(values_.begin(), values_.begin() + mid)) / 2;
          observed = m;
        }
        break;
    }
    std::vector<double>().swap(values_);
    r->observed_value = observed ? NumberJson(*observed) : Json(nullptr);
    r->success = observed && InBounds(*observed, e_);
  }

 private:
  int64_t n_ = 0, other_ = 0;
  std::string first_other_;
  int64_t first_other_row_ = 0;
  long double mean_ = 0, m2_ = 0;
  double min_ = HUGE_VAL, max_ = -HUGE_VAL;
  std::vector<double> values_;
};

class RowCountEvaluator : public Evaluator {
 public:
  using Evaluator::Evaluator;
  void Batch(const TableBatch&) override {}
  void Finish(int64_t rows, ExpectationResult* r) override {
    r->element_count = rows;
    r->observed_value = rows;
    r->success = InBounds(static_cast<double>(rows), e_);
  }
};

// The expectations on the header are decided before any row is read.
void TableColumns(const Expectation& e, const std::vector<std::string>& columns, ExpectationResult* r) {
  r->observed_value = columns;
  if (e.type == ExpectationType::kColumnsOrdered) {
    r->success = columns == e.columns;
    Json mismatched = Json::array();
    for (size_t i = 0; i < std::max(columns.size(), e.columns.size()); ++i) {
      Json expected = i < e.columns.size() ? Json(e.columns[i]) : Json(nullptr);
      Json found = i < columns.size() ? Json(columns[i]) : Json(nullptr);
      if (expected != found) {
        mismatched.push_back(Json{{"Expected Column Position", i}, {"Expected", expected}, {"Found", found}});
      }
    }
    if (!r->success) r->details = Json{{"mismatched", mismatched}};
    return;
  }
  std::vector<std::string> unexpected, missing;
  for (const std::string& c : columns) {
    if (std::find(e.columns.begin(), e.columns.end(), c) == e.columns.end()) unexpected.push_back(c);
  }
  for (const std::string& c : e.columns) {
    if (std::find(columns.begin(), columns.end(), c) == columns.end()) missing.push_back(c);
  }
  r->success = missing.empty() && (!e.exact_match || unexpected.empty());
  if (!unexpected.empty() || !missing.empty()) {
    Json mismatched = Json::object();
    if (!unexpected.empty()) mismatched["unexpected"] = unexpected;
    if (!missing.empty()) mismatched["missing"] = missing;
    r->details = Json{{"mismatched", mismatched}};
  }
}

std::string NoSuchColumn(const std::string& name, const std::vector<std::string>& columns, const std::string& where) {
  std::string out = "column '" + name + "' is not in " + where;
  std::string near = NearestName(columns, name);
  if (!near.empty()) return out + " (did you mean '" + near + "'?)";
  std::string list;
  for (size_t i = 0; i < columns.size() && i < 12; ++i) list += (i ? ", " : "") + columns[i];
  if (columns.size() > 12) list += ", …";
  return out + " (its columns: " + (list.empty() ? "none" : list) + ")";
}

// The evaluator of `e` on a table with `columns`; nullptr when the result is
// decided already (header expectations, a missing column).
std::unique_ptr<Evaluator> Make(const Expectation& e, const std::vector<std::string>& columns,
                                const std::string& where, ExpectationResult* r) {
  using T = ExpectationType;
  if (e.type == T::kColumnsOrdered || e.type == T::kColumnsSet) {
    TableColumns(e, columns, r);
    return nullptr;
  }
  if (e.type == T::kRowCount) return std::make_unique<RowCountEvaluator>(e);
  std::vector<std::string> wanted = e.type == T::kCompoundUnique ? e.columns : std::vector<std::string>{e.column};
  std::vector<size_t> index;
  for (const std::string& name : wanted) {
    auto it = std::find(columns.begin(), columns.end(), name);
    if (it == columns.end()) {
      r->exception = NoSuchColumn(name, columns, where);
      return nullptr;
    }
    index.push_back(static_cast<size_t>(it - columns.begin()));
  }
  size_t c = index[0];
  switch (e.type) {
    case T::kNotNull: return std::make_unique<NotNullEvaluator>(e, c);
    case T::kBetween: return std::make_unique<BetweenEvaluator>(e, c);
    case T::kInSet: return std::make_unique<InSetEvaluator>(e, c);
    case T::kMatchRegex: return std::make_unique<RegexEvaluator>(e, c);
    case T::kOfType: return std::make_unique<OfTypeEvaluator>(e, c);
    case T::kUnique:
    case T::kCompoundUnique: return std::make_unique<UniqueEvaluator>(e, index);
    default: return std::make_unique<StatisticEvaluator>(e, c);
  }
}

}  // namespace

double ValidationStatistics::success_percent() const {
  return evaluated == 0 ? 100.0 : 100.0 * static_cast<double>(successful) / static_cast<double>(evaluated);
}

void ValidationStatistics::Add(bool success) {
  ++evaluated;
  (success ? successful : unsuccessful)++;
}

Result<FileValidation> ValidateTable(const TableOpener& open, const Suite& suite) {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<TableReader> reader, open());
  FileValidation out;
  out.where = reader->where();
  out.columns = reader->columns();
  const size_t n = suite.expectations.size();
  out.results.resize(n);
  std::vector<std::unique_ptr<Evaluator>> evaluators(n);
  for (size_t i = 0; i < n; ++i) {
    out.results[i].expectation = &suite.expectations[i];
    evaluators[i] = Make(suite.expectations[i], out.columns, out.where, &out.results[i]);
  }
  TableBatch batch;
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool more, reader->Next(&batch));
    if (!more) break;
    out.rows += static_cast<int64_t>(batch.rows);
    for (auto& e : evaluators) {
      if (e) e->Batch(batch);
    }
  }
  std::vector<size_t> second;
  for (size_t i = 0; i < n; ++i) {
    if (!evaluators[i]) {
      out.results[i].element_count = out.rows;
      continue;
    }
    evaluators[i]->Finish(out.rows, &out.results[i]);
    if (evaluators[i]->WantsSecondPass()) second.push_back(i);
  }
  if (!second.empty()) {
    reader.reset();
    CAIRN_ASSIGN_OR_RETURN(reader, open());
    std::vector<size_t> active = second;
    while (!active.empty()) {
      CAIRN_ASSIGN_OR_RETURN(bool more, reader->Next(&batch));
      if (!more) break;
      std::vector<size_t> still;
      for (size_t i : active) {
        if (evaluators[i]->SecondBatch(batch)) still.push_back(i);
      }
      active = std::move(still);
    }
    for (size_t i : second) evaluators[i]->FinishSecond(&out.results[i]);
  }
  for (const ExpectationResult& r : out.results) out.statistics.Add(r.success && r.exception.empty());
  return out;
}

Result<ValidationReport> ValidateTables(Repo& repo, const TableSet& tables, const Suite& suite) {
  if (tables.tables.empty()) {
    return Status::InvalidArgument(tables.label + " holds no table (CSV, TSV, JSON Lines or Parquet) to validate",
                                   tables.skipped.empty() ? "" : "its files are not tabular");
  }
  ValidationReport report;
  report.label = tables.label;
  report.dataset = tables.dataset;
  report.version = tables.version;
  report.suite = &suite;
  for (const TableSource& source : tables.tables) {
    TableOpener open = [&repo, &source] { return OpenTable(repo, source); };
    CAIRN_ASSIGN_OR_RETURN(FileValidation file, ValidateTable(open, suite));
    file.path = source.path;
    file.blob = source.blob;
    file.file = source.file;
    for (const ExpectationResult& r : file.results) report.statistics.Add(r.success && r.exception.empty());
    report.files.push_back(std::move(file));
  }
  for (const TreeEntry& e : tables.skipped) report.not_tabular.push_back(e.path);
  return report;
}

Result<ValidationReport> Validate(Repo& repo, std::string_view ref, const Suite& suite) {
  CAIRN_ASSIGN_OR_RETURN(TableSet tables, ResolveTables(repo, ref));
  return ValidateTables(repo, tables, suite);
}

}  // namespace cairn
