// Profiles of tables (cairn/profile.h): one pass over the rows, each
// column summarised by the streaming sketches of data/sketch.h, the
// columns of a batch in parallel.
#include "cairn/profile.h"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "data/sketch.h"

namespace cairn {
namespace {

using data_internal::DistinctCounter;
using data_internal::HashNumber;
using data_internal::HashText;
using data_internal::Moments;
using data_internal::QuantileSketch;
using data_internal::TopValues;

constexpr int kHistogramBins = 20;
constexpr size_t kTopValues = 10;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The value of a cell CellType found numeric (CellNumber's rules, without
// classifying the cell again).
double NumberOf(std::string_view text) {
  std::string_view s = Trim(text);
  bool negative = s[0] == '-';
  std::string_view unsigned_part = (s[0] == '+' || s[0] == '-') ? s.substr(1) : s;
  if (!unsigned_part.empty() && (unsigned_part[0] == 'i' || unsigned_part[0] == 'I')) {
    return negative ? -HUGE_VAL : HUGE_VAL;
  }
  if (s[0] == '+') s.remove_prefix(1);
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range) return std::strtod(std::string(s).c_str(), nullptr);
  return v;
}

// The common numeric spellings, [-]D*[.D*] with 1 to 15 digits, without
// from_chars: below 2^53 the digits are exact and one division by an exact
// power of ten rounds correctly (Clinger's fast path), so the value is the
// one from_chars gives. False for anything else (the slow path decides).
bool FastNumber(std::string_view s, double* value, bool* integer) {
  static constexpr double kPow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  size_t i = 0;
  const size_t n = s.size();
  bool negative = false;
  if (i < n && s[i] == '-') {
    negative = true;
    ++i;
  }
  uint64_t m = 0;
  int digits = 0, fraction = 0;
  bool dot = false;
  for (; i < n; ++i) {
    char c = s[i];
    if (c >= '0' && c <= '9') {
      m = m * 10 + static_cast<uint64_t>(c - '0');
      if (++digits > 15) return false;
      fraction += dot;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      return false;
    }
  }
  if (digits == 0) return false;
  double v = static_cast<double>(m);
  if (fraction) v /= kPow10[fraction];
  *value = negative ? -v : v;
  *integer = !dot;
  return true;
}

// Byte-order comparison, inline (cells are short).
int CompareBytes(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]) ? -1 : 1;
  }
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

// A value as a profile shows it (min, max, top values of text): its first
// kShownBytes at most, cut at a character boundary (a 60 MB cell made a
// 120 MB profile).
constexpr size_t kShownBytes = 1024;
std::string_view Shown(std::string_view text) {
  if (text.size() <= kShownBytes) return text;
  size_t end = kShownBytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;  // not inside a character
  return text.substr(0, end);
}

// One column's running summary.
class ColumnAccumulator {
 public:
  void Add(const TableCell& cell) {
    if (cell.missing) {
      nulls_++;
      return;
    }
    count_++;
    double v = 0;
    bool integer = false;
    ColumnType t;
    if (FastNumber(cell.text, &v, &integer)) {
      t = integer ? ColumnType::kInteger : ColumnType::kNumber;
    } else {
      t = CellType(cell.text);
      if (t == ColumnType::kUnknown) t = ColumnType::kString;  // missing text where only nulls are flagged (JSON Lines "NA")
      if (t == ColumnType::kInteger || t == ColumnType::kNumber) v = NumberOf(cell.text);
    }
    if (t != type_) type_ = MergeColumnTypes(type_, t);
    uint64_t hash;
    if (t == ColumnType::kInteger || t == ColumnType::kNumber) {
      moments_.Add(v);
      quantiles_.Add(v);
      if (!(v >= min_)) min_ = v;
      if (!(v <= max_)) max_ = v;
      hash = HashNumber(v);
    } else {
      hash = HashText(cell.text);
    }
    if (count_ == 1 || CompareBytes(cell.text, min_full_) < 0) min_full_.assign(cell.text);
    if (count_ == 1 || CompareBytes(cell.text, max_full_) > 0) max_full_.assign(cell.text);
    distinct_.Add(hash);
    top_.Add(hash, Shown(cell.text));
  }

  void AddMissing(uint64_t n) { nulls_ += n; }

  ColumnProfile Finish(std::string name) {
    ColumnProfile p;
    p.name = std::move(name);
    p.type = type_;
    p.count = count_;
    p.nulls = nulls_;
    p.distinct = distinct_.Count();
    p.distinct_exact = distinct_.exact();
    bool numeric = type_ == ColumnType::kInteger || type_ == ColumnType::kNumber;
    if (numeric && count_ > 0) {
      p.min = min_;
      p.max = max_;
      p.mean = moments_.mean();
      p.std = moments_.SampleStd();
      p.quantiles = quantiles_.Quantiles(ProfileQuantiles());
      p.quantiles_exact = quantiles_.exact();
      QuantileSketch::Histogram h = quantiles_.MakeHistogram(min_, max_, kHistogramBins);
      p.histogram_edges = std::move(h.edges);
      p.histogram_counts = std::move(h.counts);
      p.histogram_exact = quantiles_.exact();
    } else if (count_ > 0) {
      p.min_text = std::string(Shown(min_full_));
      p.max_text = std::string(Shown(max_full_));
    }
    for (auto& item : top_.Top(kTopValues)) p.top_values.push_back(ValueCount{std::move(item.value), item.count});
    p.top_values_exact = top_.exact();
    p.top_values_max_error = top_.max_error();
    return p;
  }

 private:
  ColumnType type_ = ColumnType::kUnknown;
  uint64_t count_ = 0, nulls_ = 0;
  double min_ = std::numeric_limits<double>::quiet_NaN(), max_ = std::numeric_limits<double>::quiet_NaN();
  std::string min_full_, max_full_;  // compared whole, shown cut (Shown)
  Moments moments_;
  QuantileSketch quantiles_;
  DistinctCounter distinct_;
  TopValues top_;
};

// A JSON number, or a string for the values JSON lacks (inf, -inf), or
// null for NaN. Whole values of integer columns print as integers.
Json NumberJson(double v, bool integer) {
  if (std::isnan(v)) return nullptr;
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (integer && v == std::floor(v) && std::abs(v) < 9.007199254740992e15) return static_cast<int64_t>(v);
  return v;
}

Json OptionalNumber(const std::optional<double>& v, bool integer) {
  return v ? NumberJson(*v, integer) : Json(nullptr);
}

}  // namespace

const std::vector<double>& ProfileQuantiles() {
  static const std::vector<double> qs = {0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99};
  return qs;
}

const std::vector<std::string>& ProfileQuantileNames() {
  static const std::vector<std::string> names = {"p1", "p5", "p25", "p50", "p75", "p95", "p99"};
  return names;
}

namespace {

// A batch whose cells point into its own copy of their text, so the reader
// can go on parsing while the batch is summarised.
struct OwnedBatch {
  size_t rows = 0, width = 0;
  std::string arena;
  std::vector<TableCell> cells;

  void CopyFrom(const TableBatch& batch) {
    rows = batch.rows;
    width = batch.width;
    size_t total = 0;
    for (const TableCell& c : batch.cells) total += c.text.size();
    arena.clear();
    arena.reserve(total);  // no reallocation below: the views stay valid
    cells.resize(batch.cells.size());
    for (size_t i = 0; i < batch.cells.size(); ++i) {
      const TableCell& c = batch.cells[i];
      size_t at = arena.size();
      arena.append(c.text);
      cells[i] = TableCell{std::string_view(arena.data() + at, c.text.size()), c.missing};
    }
  }
};

// The reader on a thread of its own, a few batches ahead of the summaries.
class BatchQueue {
 public:
  static constexpr size_t kGroup = 4;       // batches summarised together
  static constexpr size_t kAhead = 2 * kGroup;

  explicit BatchQueue(TableReader& reader) : thread_([this, &reader] { Produce(reader); }) {}
  ~BatchQueue() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  // The next batch, or null at the end (then status() says whether the
  // reader failed).
  std::unique_ptr<OwnedBatch> Pop() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !ready_.empty() || done_; });
    if (ready_.empty()) return nullptr;
    auto b = std::move(ready_.front());
    ready_.pop_front();
    cv_.notify_all();
    return b;
  }
  // Hands a summarised batch back for reuse (its buffers keep their capacity).
  void Recycle(std::unique_ptr<OwnedBatch> b) {
    std::lock_guard lock(mu_);
    free_.push_back(std::move(b));
  }
  Status status() {
    std::lock_guard lock(mu_);
    return error_;
  }

 private:
  void Produce(TableReader& reader) {
    TableBatch batch;
    for (;;) {
      auto more = reader.Next(&batch);
      std::unique_ptr<OwnedBatch> owned;
      if (more.ok() && *more) {
        {
          std::lock_guard lock(mu_);
          if (!free_.empty()) {
            owned = std::move(free_.back());
            free_.pop_back();
          }
        }
        if (!owned) owned = std::make_unique<OwnedBatch>();
        owned->CopyFrom(batch);
      }
      std::unique_lock lock(mu_);
      if (!more.ok() || !*more) {
        if (!more.ok()) error_ = more.status();
        done_ = true;
        cv_.notify_all();
        return;
      }
      cv_.wait(lock, [&] { return ready_.size() < kAhead || stop_; });
      if (stop_) return;
      ready_.push_back(std::move(owned));
      cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<OwnedBatch>> ready_;
  std::vector<std::unique_ptr<OwnedBatch>> free_;
  bool done_ = false, stop_ = false;
  Status error_;
  std::thread thread_;  // last: it starts once the rest is built
};

}  // namespace

Result<TableProfile> ProfileTable(TableReader& reader) {
  TableProfile profile;
  profile.format = reader.format();
  profile.delimiter = reader.delimiter();
  profile.header = reader.header();
  std::vector<ColumnAccumulator> columns(reader.columns().size());
  {
    BatchQueue queue(reader);
    std::vector<std::unique_ptr<OwnedBatch>> group;
    for (;;) {
      // A few batches at a time, so that the columns (of unequal cost)
      // balance over the threads between two waits for the slowest.
      group.clear();
      size_t group_rows = 0;
      while (group.size() < BatchQueue::kGroup) {
        std::unique_ptr<OwnedBatch> batch = queue.Pop();
        if (!batch) break;
        if (batch->width > columns.size()) {
          // A column first seen now (JSON Lines): missing in every earlier row.
          size_t before = columns.size();
          columns.resize(batch->width);
          for (size_t c = before; c < columns.size(); ++c) columns[c].AddMissing(profile.rows);
        }
        for (size_t c = batch->width; c < columns.size(); ++c) columns[c].AddMissing(batch->rows);
        profile.rows += batch->rows;
        group_rows += batch->rows;
        group.push_back(std::move(batch));
      }
      if (group.empty()) break;
      // Each column takes the group's batches in order (its sketches see
      // the rows in file order).
      auto add_column = [&](size_t c) {
        for (const auto& batch : group) {
          if (c >= batch->width) continue;  // counted missing above
          const size_t width = batch->width;
          const TableCell* cells = batch->cells.data();
          for (size_t r = 0; r < batch->rows; ++r) columns[c].Add(cells[r * width + c]);
        }
      };
      if (columns.size() > 1 && group_rows >= 256) {
        tbb::parallel_for(size_t{0}, columns.size(), add_column);
      } else {
        for (size_t c = 0; c < columns.size(); ++c) add_column(c);
      }
      for (auto& batch : group) queue.Recycle(std::move(batch));
    }
    CAIRN_RETURN_IF_ERROR(queue.status());
  }
  std::vector<std::string> names = reader.columns();
  for (size_t c = 0; c < columns.size(); ++c) {
    std::string name = c < names.size() ? names[c] : "column_" + std::to_string(c + 1);
    profile.columns.push_back(columns[c].Finish(std::move(name)));
  }
  return profile;
}

Json ProfileJson(const TableProfile& profile) {
  Json columns = Json::array();
  for (const ColumnProfile& c : profile.columns) {
    const bool integer = c.type == ColumnType::kInteger;
    Json col;
    col["name"] = c.name;
    col["type"] = ColumnTypeName(c.type);
    col["count"] = c.count;
    col["nulls"] = c.nulls;
    col["null_share"] = profile.rows ? static_cast<double>(c.nulls) / static_cast<double>(profile.rows) : 0.0;
    col["distinct"] = c.distinct;
    col["distinct_exact"] = c.distinct_exact;
    if (c.min) {
      col["min"] = NumberJson(*c.min, integer);
      col["max"] = NumberJson(*c.max, integer);
    } else if (c.min_text) {
      col["min"] = *c.min_text;
      col["max"] = *c.max_text;
    } else {
      col["min"] = nullptr;
      col["max"] = nullptr;
    }
    col["mean"] = OptionalNumber(c.mean, false);
    col["std"] = OptionalNumber(c.std, false);
    if (c.quantiles.empty()) {
      col["quantiles"] = nullptr;
    } else {
      Json q = Json::object();
      for (size_t i = 0; i < c.quantiles.size(); ++i) q[ProfileQuantileNames()[i]] = NumberJson(c.quantiles[i], false);
      col["quantiles"] = q;
    }
    col["quantiles_exact"] = c.quantiles_exact;
    Json top = Json::array();
    for (const ValueCount& v : c.top_values) top.push_back(Json{{"value", v.value}, {"count", v.count}});
    col["top_values"] = top;
    col["top_values_exact"] = c.top_values_exact;
    col["top_values_max_error"] = c.top_values_max_error;
    if (c.histogram_counts.empty()) {
      col["histogram"] = nullptr;
    } else {
      Json edges = Json::array();
      for (double e : c.histogram_edges) edges.push_back(NumberJson(e, false));
      col["histogram"] = Json{{"edges", edges}, {"counts", c.histogram_counts}, {"exact", c.histogram_exact}};
    }
    columns.push_back(std::move(col));
  }
  Json out;
  out["profile_version"] = kProfileVersion;
  out["format"] = TableFormatName(profile.format);
  if (profile.format == TableFormat::kCsv || profile.format == TableFormat::kTsv) {
    out["delimiter"] = std::string(1, profile.delimiter);
    out["header"] = profile.header;
  }
  out["rows"] = profile.rows;
  out["columns"] = std::move(columns);
  return out;
}

}  // namespace cairn
