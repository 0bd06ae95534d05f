// Row diff: one pass over each side hashing every row (both sides at once,
// on two threads), a merge of the sorted hashes, and a second pass that
// fetches only the rows to list.
#include "cairn/row_diff.h"

#include <xxhash.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <queue>
#include <set>
#include <thread>
#include <unordered_map>

#include "cairn/run_record.h"  // FormatMetricValue
#include "util/edit_distance.h"

namespace cairn {
namespace {

// A row of one side: the hash of its key cells, of its compared cells, and
// its 1-based row number.
struct Entry {
  uint64_t key;
  uint64_t content;
  int64_t row;
};

struct Side {
  std::vector<std::string> columns;
  std::vector<ColumnType> types;
  std::vector<Entry> entries;
  int64_t rows = 0;
};

// A number written in decimal ([+-]digits[.digits][(e|E)[+-]digits], with
// blanks around) in canonical form: its significant digits and the
// exponent of the first, "-" for a nonzero negative, "0" for zero; so equal
// values written differently (1.50, 1.5e0, 15e-1; 1e400, 1.0e400) are the
// same bytes, and no value is rounded to another (1e23 is not the double
// 99999999999999991611392, 1e-400 is not 0). `simple`: written
// [-]digits[.digits]; `integer`: simple, without a point, at most 18 digits.
// False when `t` is not such a number.
inline bool CanonicalNumber(std::string_view t, std::string* out, bool* simple, bool* integer) {
  size_t i = 0, n = t.size();
  while (i < n && (t[i] == ' ' || t[i] == '\t')) ++i;
  while (n > i && (t[n - 1] == ' ' || t[n - 1] == '\t')) --n;
  const bool blanks = i > 0 || n < t.size();
  bool negative = false, plus = false;
  if (i < n && (t[i] == '-' || t[i] == '+')) {
    negative = t[i] == '-';
    plus = t[i] == '+';
    ++i;
  }
  const size_t whole = i;
  while (i < n && t[i] >= '0' && t[i] <= '9') ++i;
  const size_t whole_end = i;
  size_t frac = i, frac_end = i;
  bool dot = false;
  if (i < n && t[i] == '.') {
    dot = true;
    frac = ++i;
    while (i < n && t[i] >= '0' && t[i] <= '9') ++i;
    frac_end = i;
  }
  if (whole_end == whole && frac_end == frac) return false;
  int64_t exponent = 0;
  bool has_exponent = false;
  if (i < n && (t[i] == 'e' || t[i] == 'E')) {
    has_exponent = true;
    ++i;
    bool minus = i < n && t[i] == '-';
    if (i < n && (t[i] == '-' || t[i] == '+')) ++i;
    const size_t digits = i;
    while (i < n && t[i] >= '0' && t[i] <= '9' && i - digits < 15) exponent = exponent * 10 + (t[i++] - '0');
    if (i == digits || (i < n && t[i] >= '0' && t[i] <= '9')) return false;  // none, or too many
    if (minus) exponent = -exponent;
  }
  if (i != n) return false;
  // The digits of whole and fraction as one sequence; the point after the whole part.
  const size_t lw = whole_end - whole, lf = frac_end - frac, total = lw + lf;
  auto digit = [&](size_t k) { return k < lw ? t[whole + k] : t[frac + k - lw]; };
  size_t lead = 0;
  while (lead < total && digit(lead) == '0') ++lead;
  *simple = !has_exponent && !plus && !blanks;
  *integer = *simple && !dot && lw - std::min(lead, lw) <= 18;
  if (lead == total) {
    out->push_back('0');
    return true;
  }
  size_t last = total - 1;
  while (digit(last) == '0') --last;
  if (negative) out->push_back('-');
  for (size_t k = lead; k <= last; ++k) out->push_back(digit(k));
  out->push_back('e');
  const int64_t first = static_cast<int64_t>(lw) - static_cast<int64_t>(lead) - 1 + exponent;
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, first);
  out->append(buf, end);
  return true;
}

// True when a cell starting with `f` can only be text: a letter that starts
// no number (inf), boolean (true, false) or missing spelling (NA, null …).
inline bool LooksLikeText(char f) {
  char lower = static_cast<char>(f | 0x20);
  return lower >= 'a' && lower <= 'z' && lower != 'i' && lower != 't' && lower != 'f' && lower != 'n';
}

// Appends a cell's canonical bytes to `buf` (numbers by value, text by
// content) and returns its type.
inline ColumnType AppendCell(std::string* buf, const TableCell& c) {
  if (c.missing) {
    buf->push_back('\x01');
    return ColumnType::kUnknown;
  }
  std::string_view t = c.text;
  char f = t.empty() ? 0 : t[0];
  if ((f >= '0' && f <= '9') || f == '-' || f == '.' || f == '+' || f == ' ' || f == '\t') {
    const size_t mark = buf->size();
    buf->push_back('\x02');
    bool simple = false, integer = false;
    if (CanonicalNumber(t, buf, &simple, &integer)) {
      if (simple) return integer ? ColumnType::kInteger : ColumnType::kNumber;
      ColumnType type = CellType(t);
      return type == ColumnType::kString ? ColumnType::kNumber : type;
    }
    buf->resize(mark);
  }
  ColumnType type = LooksLikeText(f) ? ColumnType::kString : CellType(t);
  if (type == ColumnType::kInteger || type == ColumnType::kNumber) {
    // The other numeric spellings: inf, Inf, Infinity, +inf, -inf.
    double v = CellNumber(t).value_or(0);
    buf->push_back('\x02');
    buf->append(v > 0 ? "inf" : v < 0 ? "-inf" : "nan");
    return type;
  }
  uint32_t n = static_cast<uint32_t>(t.size());
  buf->push_back('\x03');
  buf->append(reinterpret_cast<const char*>(&n), sizeof n);
  buf->append(t);
  return type;
}

// The type of a cell not hashed (cheaper than AppendCell).
inline ColumnType TypeOf(const TableCell& c) {
  if (c.missing) return ColumnType::kUnknown;
  std::string_view t = c.text;
  return LooksLikeText(t.empty() ? 0 : t[0]) ? ColumnType::kString : CellType(t);
}

// A number as mantissa × 10^exponent, exactly: CanonicalNumber's digits
// and exponent, when there are at most 36 digits. False for other text.
struct Decimal {
  __int128 mantissa = 0;
  int exponent = 0;
};

bool ParseDecimal(std::string_view t, Decimal* out) {
  std::string canonical;
  bool simple = false, integer = false;
  if (!CanonicalNumber(t, &canonical, &simple, &integer)) return false;
  if (canonical == "0") {
    *out = Decimal{};
    return true;
  }
  // "[-]DIGITSe<exponent of the first digit>"
  const size_t e = canonical.find('e');
  const bool negative = canonical[0] == '-';
  const size_t first = negative ? 1 : 0, digits = e - first;
  int64_t exponent = 0;
  auto [end, ec] = std::from_chars(canonical.data() + e + 1, canonical.data() + canonical.size(), exponent);
  if (ec != std::errc() || digits > 36 || exponent > 100000 || exponent < -100000) return false;
  Decimal d;
  for (size_t k = first; k < e; ++k) d.mantissa = d.mantissa * 10 + (canonical[k] - '0');
  if (negative) d.mantissa = -d.mantissa;
  d.exponent = static_cast<int>(exponent) - static_cast<int>(digits - 1);
  *out = d;
  return true;
}

// The mantissa of `d` at exponent `e` (<= its own); false past 37 digits.
bool Scaled(const Decimal& d, int e, __int128* out) {
  const __int128 limit = static_cast<__int128>(1000000000000000000LL) * 1000000000000000000LL;  // 1e36
  __int128 m = d.mantissa;
  for (int k = e; k < d.exponent && m != 0; ++k) {
    if (m > limit || m < -limit) return false;
    m *= 10;
  }
  *out = m;
  return true;
}

// |a − b| <= tolerance on the decimal values as written (0.001 apart is
// within 0.001, whatever binary doubles would say); in doubles only where
// the decimals are too long or not plain numbers (inf).
bool WithinTolerance(std::string_view a, std::string_view b, double tolerance) {
  Decimal x, y, t;
  if (ParseDecimal(a, &x) && ParseDecimal(b, &y) &&
      ParseDecimal(FormatMetricValue(tolerance), &t)) {  // its shortest decimal: 0.001 as given
    int e = std::min(std::min(x.exponent, y.exponent), t.exponent);
    __int128 mx = 0, my = 0, mt = 0;
    if (Scaled(x, e, &mx) && Scaled(y, e, &my) && Scaled(t, e, &mt)) {
      __int128 diff = mx - my;
      return (diff < 0 ? -diff : diff) <= mt;
    }
  }
  std::optional<double> dx = CellNumber(a), dy = CellNumber(b);
  return dx && dy && std::fabs(*dx - *dy) <= tolerance;
}

// Whether two present cells are equal as the hashes see them (AppendCell),
// or as numbers within `tolerance`.
bool TextsEqual(std::string_view a, std::string_view b, double tolerance, std::string* ea, std::string* eb) {
  if (a == b) return true;
  ea->clear();
  eb->clear();
  AppendCell(ea, TableCell{a, false});
  AppendCell(eb, TableCell{b, false});
  if (*ea == *eb) return true;
  if (tolerance <= 0) return false;
  return CellType(a) != ColumnType::kString && CellType(b) != ColumnType::kString && WithinTolerance(a, b, tolerance);
}

bool CellsEqual(const std::optional<std::string>& a, const std::optional<std::string>& b, double tolerance) {
  if (!a || !b) return !a && !b;
  std::string ea, eb;
  return TextsEqual(*a, *b, tolerance, &ea, &eb);
}

std::string Suggest(const std::string& name, const std::vector<std::string>& columns) {
  std::string best = NearestName(columns, name);
  std::string list;
  for (size_t i = 0; i < columns.size() && i < 12; ++i) list += (i ? ", " : "") + columns[i];
  if (columns.size() > 12) list += ", …";
  if (!best.empty()) return "did you mean '" + best + "'? the columns are: " + list;
  return "the columns are: " + list;
}

Result<std::vector<size_t>> Indexes(const std::vector<std::string>& names, const TableReader& reader,
                                    const char* what) {
  std::vector<size_t> out;
  const auto& columns = reader.columns();
  for (const std::string& n : names) {
    auto it = std::find(columns.begin(), columns.end(), n);
    if (it == columns.end()) {
      return Status::InvalidArgument(std::string(what) + " '" + n + "' is not a column of " + reader.where(),
                                     Suggest(n, columns));
    }
    out.push_back(static_cast<size_t>(it - columns.begin()));
  }
  return out;
}

// Pass 1 over one side. Each cell is classified once: key cells go to the
// key hash, compared cells to the content hash, the others only give types.
Status Scan(TableReader& reader, const std::vector<size_t>& key, const std::vector<size_t>& compared, Side* side) {
  side->columns = reader.columns();
  const size_t width = side->columns.size();
  side->types.assign(width, ColumnType::kUnknown);
  enum Role : uint8_t { kNone, kKey, kCompared };
  std::vector<uint8_t> role(width, kNone);
  for (size_t k : key) role[k] = kKey;
  for (size_t k : compared) role[k] = kCompared;
  // Hashes follow the order of `key` and `compared`, not the file's columns.
  bool in_order = std::is_sorted(key.begin(), key.end()) && std::is_sorted(compared.begin(), compared.end());
  TableBatch batch;
  std::string key_buf, content_buf, scratch;
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool more, reader.Next(&batch));
    if (!more) break;
    for (size_t r = 0; r < batch.rows; ++r) {
      key_buf.clear();
      content_buf.clear();
      const TableCell* row = &batch.cells[r * batch.width];
      if (in_order) {
        for (size_t c = 0; c < width; ++c) {
          ColumnType t;
          switch (role[c]) {
            case kKey: t = AppendCell(&key_buf, row[c]); break;
            case kCompared: t = AppendCell(&content_buf, row[c]); break;
            default: t = TypeOf(row[c]); break;
          }
          if (t != side->types[c]) side->types[c] = MergeColumnTypes(side->types[c], t);
        }
      } else {
        for (size_t c = 0; c < width; ++c) {
          ColumnType t = TypeOf(row[c]);
          if (t != side->types[c]) side->types[c] = MergeColumnTypes(side->types[c], t);
        }
        for (size_t k : key) AppendCell(&key_buf, row[k]);
        for (size_t k : compared) AppendCell(&content_buf, row[k]);
      }
      Entry e{0, 0, batch.row_numbers[r]};
      if (!key.empty()) e.key = XXH3_64bits(key_buf.data(), key_buf.size());
      e.content = XXH3_64bits(content_buf.data(), content_buf.size());
      side->entries.push_back(e);
    }
    side->rows += static_cast<int64_t>(batch.rows);
  }
  return Status::OK();
}

struct Fetched {
  int64_t line = 0;
  std::vector<std::optional<std::string>> cells;
};

// Pass 2: the cells of the rows `wanted` (sorted) names.
Result<std::unordered_map<int64_t, Fetched>> Fetch(TableReader& reader, const std::vector<int64_t>& wanted) {
  std::unordered_map<int64_t, Fetched> out;
  if (wanted.empty()) return out;
  size_t next = 0;
  TableBatch batch;
  while (next < wanted.size()) {
    CAIRN_ASSIGN_OR_RETURN(bool more, reader.Next(&batch));
    if (!more) break;
    for (size_t r = 0; r < batch.rows && next < wanted.size(); ++r) {
      if (batch.row_numbers[r] != wanted[next]) continue;
      Fetched& f = out[wanted[next++]];
      f.line = batch.lines[r];
      for (size_t c = 0; c < batch.width; ++c) {
        const TableCell& cell = batch.cell(r, c);
        f.cells.push_back(cell.missing ? std::nullopt : std::optional<std::string>(std::string(cell.text)));
      }
    }
  }
  return out;
}

// A change found by the merge, before its rows are fetched.
struct Pending {
  RowChangeKind kind;
  int64_t old_row, new_row;
  int64_t position() const { return new_row ? new_row : old_row; }
};

// Listing order: by position; at one position modified, removed, added.
bool Before(const Pending& a, const Pending& b) {
  auto rank = [](RowChangeKind k) { return k == RowChangeKind::kModified ? 0 : k == RowChangeKind::kRemoved ? 1 : 2; };
  if (a.position() != b.position()) return a.position() < b.position();
  return rank(a.kind) < rank(b.kind);
}

// Keeps the first `limit` changes by position (and, with `hold_modified`,
// every modified one apart, for the tolerance pass to settle).
class Listing {
 public:
  Listing(int64_t limit, bool hold_modified) : limit_(limit), hold_modified_(hold_modified) {}
  void Add(const Pending& p) {
    if (hold_modified_ && p.kind == RowChangeKind::kModified) {
      modified_.push_back(p);
      return;
    }
    if (limit_ <= 0) return;
    if (static_cast<int64_t>(heap_.size()) < limit_) {
      heap_.push(p);
    } else if (Before(p, heap_.top())) {
      heap_.pop();
      heap_.push(p);
    }
  }
  // The modified rows held apart.
  std::vector<Pending>& held() { return modified_; }
  // The listed changes in order (and the held ones).
  std::vector<Pending> Take() {
    std::vector<Pending> out = std::move(modified_);
    modified_.clear();
    while (!heap_.empty()) {
      out.push_back(heap_.top());
      heap_.pop();
    }
    std::sort(out.begin(), out.end(), Before);
    return out;
  }

 private:
  struct Later {
    bool operator()(const Pending& a, const Pending& b) const { return Before(a, b); }
  };
  int64_t limit_;
  bool hold_modified_;
  std::priority_queue<Pending, std::vector<Pending>, Later> heap_;
  std::vector<Pending> modified_;
};

struct ByKeyOrder {
  bool operator()(const Entry& a, const Entry& b) const { return a.key != b.key ? a.key < b.key : a.row < b.row; }
};
struct ByContentOrder {
  bool operator()(const Entry& a, const Entry& b) const {
    return a.content != b.content ? a.content < b.content : a.row < b.row;
  }
};
constexpr ByKeyOrder ByKey;
constexpr ByContentOrder ByContent;

// Matches two groups of rows (sorted by content) as multisets; what is left
// over is removed and added, or one modified row when one is left on each side.
void MatchGroup(std::vector<Entry>& a, std::vector<Entry>& b, TableDiff* diff, Listing* listing, bool keyed) {
  std::sort(a.begin(), a.end(), ByContent);
  std::sort(b.begin(), b.end(), ByContent);
  std::vector<const Entry*> only_a, only_b;
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && a[i].content < b[j].content)) {
      only_a.push_back(&a[i++]);
    } else if (i == a.size() || b[j].content < a[i].content) {
      only_b.push_back(&b[j++]);
    } else {
      diff->unchanged++;
      ++i;
      ++j;
    }
  }
  if (keyed && only_a.size() == 1 && only_b.size() == 1) {
    diff->modified++;
    listing->Add(Pending{RowChangeKind::kModified, only_a[0]->row, only_b[0]->row});
    return;
  }
  for (const Entry* e : only_a) {
    diff->removed++;
    listing->Add(Pending{RowChangeKind::kRemoved, e->row, 0});
  }
  for (const Entry* e : only_b) {
    diff->added++;
    listing->Add(Pending{RowChangeKind::kAdded, 0, e->row});
  }
}

// Rows of a reader one at a time, across batches.
class RowCursor {
 public:
  explicit RowCursor(TableReader& reader) : reader_(reader) {}
  // The next row, or null at the end.
  Result<const TableCell*> Next(int64_t* row) {
    if (++at_ >= batch_.rows) {
      CAIRN_ASSIGN_OR_RETURN(bool more, reader_.Next(&batch_));
      if (!more) return static_cast<const TableCell*>(nullptr);
      at_ = 0;
    }
    *row = batch_.row_numbers[at_];
    return &batch_.cells[at_ * batch_.width];
  }
  size_t width() const { return batch_.width; }

 private:
  TableReader& reader_;
  TableBatch batch_;
  size_t at_ = static_cast<size_t>(-1);
};

// Appends the cells `idx` names: per cell a varint of its length + 1 (0 for
// a missing cell), then its bytes.
void Encode(const TableCell* row, size_t width, const std::vector<size_t>& idx, std::string* out) {
  for (size_t i : idx) {
    const TableCell* c = i < width ? &row[i] : nullptr;
    uint64_t n = !c || c->missing ? 0 : c->text.size() + 1;
    do {
      out->push_back(static_cast<char>((n & 0x7f) | (n > 0x7f ? 0x80 : 0)));
      n >>= 7;
    } while (n);
    if (c && !c->missing) out->append(c->text);
  }
}

// The next cell Encode wrote at `*p`: false for a missing one.
bool Decode(const char** p, std::string_view* text) {
  uint64_t n = 0;
  int shift = 0;
  uint8_t byte;
  do {
    byte = static_cast<uint8_t>(*(*p)++);
    n |= static_cast<uint64_t>(byte & 0x7f) << shift;
    shift += 7;
  } while (byte & 0x80);
  if (n == 0) return false;
  *text = std::string_view(*p, n - 1);
  *p += n - 1;
  return true;
}

Status Changed(const TableReader& reader) {
  return Status::FailedPrecondition(reader.where() + " has fewer rows than when it was first read: it changed while it was compared",
                                    "run the diff again");
}

// With --tolerance: which candidate modified rows (their hashes differ)
// differ by more than the tolerance. The old side's compared cells are held
// compactly, `budget` bytes at a time; the old side is read once and the new
// side once for each such part. `differs` gets one flag per candidate.
Status SettleTolerance(const std::function<Result<std::unique_ptr<TableReader>>(bool old_side)>& reopen,
                       const std::vector<Pending>& candidates, const std::vector<size_t>& cmp_a,
                       const std::vector<size_t>& cmp_b, double tolerance, size_t budget,
                       std::vector<bool>* differs) {
  differs->assign(candidates.size(), false);
  if (candidates.empty()) return Status::OK();
  std::vector<uint32_t> by_old(candidates.size());
  for (size_t i = 0; i < by_old.size(); ++i) by_old[i] = static_cast<uint32_t>(i);
  std::sort(by_old.begin(), by_old.end(),
            [&](uint32_t x, uint32_t y) { return candidates[x].old_row < candidates[y].old_row; });
  CAIRN_ASSIGN_OR_RETURN(auto old_reader, reopen(true));
  RowCursor old_rows(*old_reader);
  std::string arena, ea, eb;
  std::vector<size_t> offset;
  std::vector<uint32_t> part;
  size_t next = 0;
  while (next < by_old.size()) {
    // One part: old rows in order until the arena holds `budget` bytes.
    arena.clear();
    offset.clear();
    part.clear();
    while (next < by_old.size() && (part.empty() || arena.size() < budget)) {
      int64_t row = 0;
      const TableCell* cells = nullptr;
      do {
        CAIRN_ASSIGN_OR_RETURN(cells, old_rows.Next(&row));
        if (!cells) return Changed(*old_reader);
      } while (row != candidates[by_old[next]].old_row);
      part.push_back(by_old[next++]);
      offset.push_back(arena.size());
      Encode(cells, old_rows.width(), cmp_a, &arena);
    }
    std::vector<uint32_t> order(part.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<uint32_t>(i);
    std::sort(order.begin(), order.end(), [&](uint32_t x, uint32_t y) {
      return candidates[part[x]].new_row < candidates[part[y]].new_row;
    });
    CAIRN_ASSIGN_OR_RETURN(auto new_reader, reopen(false));
    RowCursor new_rows(*new_reader);
    for (uint32_t o : order) {
      const Pending& p = candidates[part[o]];
      int64_t row = 0;
      const TableCell* cells = nullptr;
      do {
        CAIRN_ASSIGN_OR_RETURN(cells, new_rows.Next(&row));
        if (!cells) return Changed(*new_reader);
      } while (row != p.new_row);
      const char* at = arena.data() + offset[o];
      bool differ = false;
      for (size_t c = 0; c < cmp_b.size() && !differ; ++c) {
        std::string_view x, y;
        bool has_x = Decode(&at, &x);
        const size_t k = cmp_b[c];
        bool has_y = k < new_rows.width() && !cells[k].missing;
        if (has_y) y = cells[k].text;
        differ = has_x != has_y || (has_x && !TextsEqual(x, y, tolerance, &ea, &eb));
      }
      (*differs)[part[o]] = differ;
    }
  }
  return Status::OK();
}

std::vector<ColumnSchema> Schema(const Side& side) {
  std::vector<ColumnSchema> out;
  for (size_t i = 0; i < side.columns.size(); ++i) out.push_back(ColumnSchema{side.columns[i], side.types[i]});
  return out;
}

std::vector<std::optional<std::string>> Pick(const Fetched& f, const std::vector<size_t>& idx) {
  std::vector<std::optional<std::string>> out;
  for (size_t i : idx) out.push_back(i < f.cells.size() ? f.cells[i] : std::nullopt);
  return out;
}

}  // namespace

const char* RowChangeKindName(RowChangeKind kind) {
  switch (kind) {
    case RowChangeKind::kAdded: return "added";
    case RowChangeKind::kRemoved: return "removed";
    case RowChangeKind::kModified: return "modified";
  }
  return "modified";
}

Result<TableDiff> DiffTables(TableReader& from, TableReader& to, const RowDiffOptions& options,
                             const std::function<Result<std::unique_ptr<TableReader>>(bool old_side)>& reopen) {
  if (options.tolerance < 0 || std::isnan(options.tolerance)) {
    return Status::InvalidArgument("--tolerance must be zero or more",
                                   "give how far apart two numbers may be and still be equal, e.g. --tolerance 0.001");
  }
  if (options.tolerance > 0 && options.key.empty()) {
    return Status::InvalidArgument("--tolerance compares the cells of matching rows",
                                   "give the key that matches rows: --key COL[,COL…]");
  }
  for (size_t i = 0; i < options.key.size(); ++i) {
    if (options.key[i].empty()) return Status::InvalidArgument("an empty key column name", "--key COL[,COL…]");
    for (size_t j = 0; j < i; ++j) {
      if (options.key[i] == options.key[j]) {
        return Status::InvalidArgument("key column '" + options.key[i] + "' is given twice");
      }
    }
  }
  TableDiff diff;
  diff.old_where = from.where();
  diff.new_where = to.where();
  std::vector<std::string> key_names = options.key;
  if (options.key_optional && !key_names.empty()) {
    auto has_all = [&](const TableReader& r) {
      return std::all_of(key_names.begin(), key_names.end(), [&](const std::string& k) {
        return std::find(r.columns().begin(), r.columns().end(), k) != r.columns().end();
      });
    };
    if (!has_all(from) || !has_all(to)) {
      diff.note = "compared without a key: a side lacks a key column";
      key_names.clear();
    }
  }
  diff.key = key_names;
  const bool keyed = !key_names.empty();
  CAIRN_ASSIGN_OR_RETURN(std::vector<size_t> key_a, Indexes(key_names, from, "key column"));
  CAIRN_ASSIGN_OR_RETURN(std::vector<size_t> key_b, Indexes(key_names, to, "key column"));
  // The compared columns: those both sides have (of --columns, when given),
  // in the old side's order, without the key.
  const auto& ca = from.columns();
  const auto& cb = to.columns();
  for (const std::string& c : options.columns) {
    if (std::find(ca.begin(), ca.end(), c) == ca.end() && std::find(cb.begin(), cb.end(), c) == cb.end()) {
      return Status::InvalidArgument("column '" + c + "' is in neither " + from.where() + " nor " + to.where(),
                                     Suggest(c, ca));
    }
  }
  std::vector<size_t> cmp_a, cmp_b;
  for (size_t i = 0; i < ca.size(); ++i) {
    const std::string& name = ca[i];
    if (std::find(key_names.begin(), key_names.end(), name) != key_names.end()) continue;
    if (!options.columns.empty() &&
        std::find(options.columns.begin(), options.columns.end(), name) == options.columns.end()) {
      continue;
    }
    auto it = std::find(cb.begin(), cb.end(), name);
    if (it == cb.end()) continue;
    cmp_a.push_back(i);
    cmp_b.push_back(static_cast<size_t>(it - cb.begin()));
    diff.compared.push_back(name);
  }

  if (!options.columns.empty() && diff.compared.empty()) {
    return Status::InvalidArgument("none of --columns is a non-key column of both " + from.where() + " and " +
                                       to.where() + ": nothing would be compared",
                                   "name columns both sides have; the key columns are matched, not compared");
  }
  Side a, b;
  Status sa, sb;
  {
    std::thread other([&] { sb = Scan(to, key_b, cmp_b, &b); });
    sa = Scan(from, key_a, cmp_a, &a);
    other.join();
  }
  CAIRN_RETURN_IF_ERROR(sa);
  CAIRN_RETURN_IF_ERROR(sb);
  diff.old_columns = Schema(a);
  diff.new_columns = Schema(b);
  diff.old_rows = a.rows;
  diff.new_rows = b.rows;
  for (size_t i = 0; i < a.columns.size(); ++i) {
    auto it = std::find(b.columns.begin(), b.columns.end(), a.columns[i]);
    if (it == b.columns.end()) {
      diff.removed_columns.push_back(diff.old_columns[i]);
      continue;
    }
    ColumnType to_type = b.types[it - b.columns.begin()];
    if (a.types[i] != to_type && a.types[i] != ColumnType::kUnknown && to_type != ColumnType::kUnknown) {
      diff.retyped.push_back(Retyped{a.columns[i], a.types[i], to_type});
    }
  }
  for (size_t i = 0; i < b.columns.size(); ++i) {
    if (std::find(a.columns.begin(), a.columns.end(), b.columns[i]) == a.columns.end()) {
      diff.added_columns.push_back(diff.new_columns[i]);
    }
  }

  const bool tolerant = options.tolerance > 0;
  Listing listing(options.stat ? 0 : options.limit, tolerant);
  if (keyed) {
    {
      std::thread other([&] { std::sort(b.entries.begin(), b.entries.end(), ByKey); });
      std::sort(a.entries.begin(), a.entries.end(), ByKey);
      other.join();
    }
    std::vector<Entry> ga, gb;
    size_t i = 0, j = 0;
    std::vector<std::pair<int64_t, int64_t>> duplicate_rows;  // an example row of each side
    while (i < a.entries.size() || j < b.entries.size()) {
      uint64_t k;
      if (j == b.entries.size()) {
        k = a.entries[i].key;
      } else if (i == a.entries.size()) {
        k = b.entries[j].key;
      } else {
        k = std::min(a.entries[i].key, b.entries[j].key);
      }
      ga.clear();
      gb.clear();
      while (i < a.entries.size() && a.entries[i].key == k) ga.push_back(a.entries[i++]);
      while (j < b.entries.size() && b.entries[j].key == k) gb.push_back(b.entries[j++]);
      if (ga.size() > 1 || gb.size() > 1) {
        diff.duplicate_keys++;
        diff.duplicate_old_rows += static_cast<int64_t>(ga.size());
        diff.duplicate_new_rows += static_cast<int64_t>(gb.size());
        if (duplicate_rows.size() < 5) {
          duplicate_rows.emplace_back(ga.empty() ? 0 : ga[0].row, gb.empty() ? 0 : gb[0].row);
          diff.duplicate_examples.push_back(DuplicateKey{{}, static_cast<int64_t>(ga.size()),
                                                         static_cast<int64_t>(gb.size())});
        }
      }
      if (ga.size() == 1 && gb.size() == 1) {
        if (ga[0].content == gb[0].content) {
          diff.unchanged++;
        } else {
          diff.modified++;
          listing.Add(Pending{RowChangeKind::kModified, ga[0].row, gb[0].row});
        }
        continue;
      }
      MatchGroup(ga, gb, &diff, &listing, true);
    }
    if (tolerant) {
      // Hash-different rows within the tolerance are unchanged; the others
      // join the listing.
      std::vector<Pending> held = std::move(listing.held());
      listing.held().clear();
      std::vector<bool> differs;
      CAIRN_RETURN_IF_ERROR(
          SettleTolerance(reopen, held, cmp_a, cmp_b, options.tolerance, options.tolerance_budget, &differs));
      Listing settled(options.stat ? 0 : options.limit, false);
      for (Pending& p : listing.Take()) settled.Add(p);
      for (size_t h = 0; h < held.size(); ++h) {
        if (differs[h]) {
          settled.Add(held[h]);
        } else {
          diff.modified--;
          diff.unchanged++;
        }
      }
      listing = std::move(settled);
    }
    // The example duplicate keys' cells come with the rows fetched below.
    std::vector<Pending> listed = listing.Take();
    std::vector<int64_t> want_a, want_b;
    for (const Pending& p : listed) {
      if (p.old_row) want_a.push_back(p.old_row);
      if (p.new_row) want_b.push_back(p.new_row);
    }
    for (const auto& [ra, rb] : duplicate_rows) {
      if (ra) want_a.push_back(ra);
      if (rb) want_b.push_back(rb);
    }
    auto unique_sorted = [](std::vector<int64_t>* v) {
      std::sort(v->begin(), v->end());
      v->erase(std::unique(v->begin(), v->end()), v->end());
    };
    unique_sorted(&want_a);
    unique_sorted(&want_b);
    std::unordered_map<int64_t, Fetched> rows_a, rows_b;
    if (!want_a.empty() || !want_b.empty()) {
      CAIRN_ASSIGN_OR_RETURN(auto ra, reopen(true));
      CAIRN_ASSIGN_OR_RETURN(auto rb, reopen(false));
      Result<std::unordered_map<int64_t, Fetched>> fa = Status::OK(), fb = Status::OK();
      fa = std::unordered_map<int64_t, Fetched>();
      fb = std::unordered_map<int64_t, Fetched>();
      std::thread other([&] { fb = Fetch(*rb, want_b); });
      fa = Fetch(*ra, want_a);
      other.join();
      CAIRN_RETURN_IF_ERROR(fa.status());
      CAIRN_RETURN_IF_ERROR(fb.status());
      rows_a = std::move(*fa);
      rows_b = std::move(*fb);
    }
    for (size_t d = 0; d < duplicate_rows.size(); ++d) {
      auto [ra, rb] = duplicate_rows[d];
      diff.duplicate_examples[d].key = ra ? Pick(rows_a[ra], key_a) : Pick(rows_b[rb], key_b);
    }
    int64_t shown = 0;
    for (const Pending& p : listed) {
      RowChange change;
      change.kind = p.kind;
      change.old_row = p.old_row;
      change.new_row = p.new_row;
      if (p.old_row) change.old_line = rows_a[p.old_row].line;
      if (p.new_row) change.new_line = rows_b[p.new_row].line;
      change.key = p.new_row ? Pick(rows_b[p.new_row], key_b) : Pick(rows_a[p.old_row], key_a);
      if (p.kind == RowChangeKind::kModified) {
        const Fetched& fa = rows_a[p.old_row];
        const Fetched& fb = rows_b[p.new_row];
        for (size_t c = 0; c < cmp_a.size(); ++c) {
          const auto& x = fa.cells[cmp_a[c]];
          const auto& y = fb.cells[cmp_b[c]];
          if (!CellsEqual(x, y, options.tolerance)) change.cells.push_back(CellChange{diff.compared[c], x, y});
        }
        if (change.cells.empty()) {  // equal within the tolerance
          diff.modified--;
          diff.unchanged++;
          continue;
        }
        change.values = fb.cells;
      } else {
        change.values = p.old_row ? rows_a[p.old_row].cells : rows_b[p.new_row].cells;
      }
      if (options.stat || shown >= options.limit) {
        diff.truncated = diff.truncated || !options.stat;
        continue;
      }
      diff.rows.push_back(std::move(change));
      ++shown;
    }
  } else {
    {
      std::thread other([&] { std::sort(b.entries.begin(), b.entries.end(), ByContent); });
      std::sort(a.entries.begin(), a.entries.end(), ByContent);
      other.join();
    }
    MatchGroup(a.entries, b.entries, &diff, &listing, false);
    std::vector<Pending> listed = listing.Take();
    std::vector<int64_t> want_a, want_b;
    for (const Pending& p : listed) (p.old_row ? want_a : want_b).push_back(p.old_row ? p.old_row : p.new_row);
    std::sort(want_a.begin(), want_a.end());
    std::sort(want_b.begin(), want_b.end());
    std::unordered_map<int64_t, Fetched> rows_a, rows_b;
    if (!listed.empty()) {
      CAIRN_ASSIGN_OR_RETURN(auto ra, reopen(true));
      CAIRN_ASSIGN_OR_RETURN(auto rb, reopen(false));
      CAIRN_ASSIGN_OR_RETURN(rows_a, Fetch(*ra, want_a));
      CAIRN_ASSIGN_OR_RETURN(rows_b, Fetch(*rb, want_b));
    }
    for (const Pending& p : listed) {
      RowChange change;
      change.kind = p.kind;
      change.old_row = p.old_row;
      change.new_row = p.new_row;
      const Fetched& f = p.old_row ? rows_a[p.old_row] : rows_b[p.new_row];
      (p.old_row ? change.old_line : change.new_line) = f.line;
      change.values = f.cells;
      diff.rows.push_back(std::move(change));
    }
  }
  if (!options.stat) {
    int64_t changed = diff.added + diff.removed + diff.modified;
    diff.truncated = changed > static_cast<int64_t>(diff.rows.size());
  }
  diff.change = "modified";
  return diff;
}

namespace {

// A table only one side has: every row added (or removed).
Result<TableDiff> OneSided(TableReader& reader, bool added, const RowDiffOptions& options) {
  TableDiff diff;
  diff.change = added ? "added" : "removed";
  (added ? diff.new_where : diff.old_where) = reader.where();
  std::vector<std::string> key_names = options.key;
  if (options.key_optional &&
      !std::all_of(key_names.begin(), key_names.end(), [&](const std::string& k) {
        return std::find(reader.columns().begin(), reader.columns().end(), k) != reader.columns().end();
      })) {
    diff.note = "listed without a key: the table lacks a key column";
    key_names.clear();
  }
  diff.key = key_names;
  Side side;
  side.columns = reader.columns();
  side.types.assign(side.columns.size(), ColumnType::kUnknown);
  std::vector<size_t> key;
  if (!key_names.empty()) {
    CAIRN_ASSIGN_OR_RETURN(key, Indexes(key_names, reader, "key column"));
  }
  TableBatch batch;
  int64_t limit = options.stat ? 0 : options.limit;
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool more, reader.Next(&batch));
    if (!more) break;
    for (size_t r = 0; r < batch.rows; ++r) {
      for (size_t c = 0; c < batch.width; ++c) side.types[c] = MergeColumnTypes(side.types[c], TypeOf(batch.cell(r, c)));
      if (static_cast<int64_t>(diff.rows.size()) < limit) {
        RowChange change;
        change.kind = added ? RowChangeKind::kAdded : RowChangeKind::kRemoved;
        (added ? change.new_row : change.old_row) = batch.row_numbers[r];
        (added ? change.new_line : change.old_line) = batch.lines[r];
        for (size_t c = 0; c < batch.width; ++c) {
          const TableCell& cell = batch.cell(r, c);
          change.values.push_back(cell.missing ? std::nullopt : std::optional<std::string>(std::string(cell.text)));
        }
        for (size_t k : key) change.key.push_back(change.values[k]);
        diff.rows.push_back(std::move(change));
      }
    }
    side.rows += static_cast<int64_t>(batch.rows);
  }
  std::vector<ColumnSchema> schema = Schema(side);
  if (added) {
    diff.new_columns = schema;
    diff.added_columns = schema;
    diff.new_rows = diff.added = side.rows;
  } else {
    diff.old_columns = schema;
    diff.removed_columns = schema;
    diff.old_rows = diff.removed = side.rows;
  }
  diff.truncated = !options.stat && side.rows > static_cast<int64_t>(diff.rows.size());
  return diff;
}

}  // namespace

Result<RowDiff> DiffRowRefs(Repo& repo, std::string_view from_ref, const std::optional<std::string>& to_ref,
                            const RowDiffOptions& options) {
  if (options.limit < 0) {
    return Status::InvalidArgument("--limit must be 0 or more", "give how many changed rows to list per file, e.g. --limit 100");
  }
  TableSet from, to;
  if (to_ref) {
    CAIRN_ASSIGN_OR_RETURN(from, ResolveTables(repo, from_ref));
    CAIRN_ASSIGN_OR_RETURN(to, ResolveTables(repo, *to_ref));
    if (!from.version.IsZero() && from.version == to.version) {
      return Status::InvalidArgument(std::string(from_ref) + " and " + *to_ref +
                                         " are the same version: nothing to compare",
                                     "give two different versions, or one to compare with the workspace");
    }
  } else {
    std::string tracked;
    CAIRN_ASSIGN_OR_RETURN(from, VersionTables(repo, from_ref, &tracked));
    if (tracked.empty()) {
      return Status::NotFound("dataset " + from.dataset + " is not in the workspace",
                              "give a second ref to compare two versions");
    }
    CAIRN_ASSIGN_OR_RETURN(to, WorkspaceTables(repo, from.dataset, tracked));
  }
  if (from.single_file && to.single_file) return DiffRows(repo, from, to, options);
  // Directory datasets hold tables of several schemas: the key applies to
  // those that have it (the others say so in their note), but a key no
  // changed table has is a typo.
  RowDiffOptions lenient = options;
  lenient.key_optional = !options.key.empty();
  CAIRN_ASSIGN_OR_RETURN(RowDiff diff, DiffRows(repo, from, to, lenient));
  std::vector<const TableDiff*> tables;
  for (const TableDiff& t : diff.tables) tables.push_back(&t);
  CAIRN_RETURN_IF_ERROR(CheckKeyUsed(options.key, tables, from.label,
                                     "check the column names (a diff without --key lists each table's columns)"));
  return diff;
}

Status CheckKeyUsed(const std::vector<std::string>& key, const std::vector<const TableDiff*>& tables,
                    const std::string& of, const std::string& hint) {
  if (key.empty() || tables.empty()) return Status::OK();
  if (std::any_of(tables.begin(), tables.end(), [](const TableDiff* t) { return !t->key.empty(); })) {
    return Status::OK();
  }
  std::string names;
  for (const std::string& k : key) names += (names.empty() ? "" : ",") + k;
  return Status::InvalidArgument("no changed table" + (of.empty() ? "" : " of " + of) + " has the key column(s) " +
                                     names,
                                 hint);
}

Result<RowDiff> DiffRows(Repo& repo, const TableSet& from, const TableSet& to, const RowDiffOptions& options) {
  // Two workspace paths naming one file (two versions may share a cached
  // blob: those are just unchanged).
  if (from.version.IsZero() && to.version.IsZero() && from.single_file && to.single_file &&
      from.tables.size() == 1 && to.tables.size() == 1 && !from.tables[0].file.empty() &&
      !to.tables[0].file.empty()) {
    std::error_code ec;
    if (std::filesystem::equivalent(from.tables[0].file, to.tables[0].file, ec) && !ec) {
      return Status::InvalidArgument(from.label + " and " + to.label + " are the same file: nothing to compare",
                                     "give two different files or versions");
    }
  }
  RowDiff out;
  out.from_label = from.label;
  out.to_label = to.label;
  std::map<std::string, const TableSource*> old_tables, new_tables;
  for (const TableSource& t : from.tables) old_tables[t.path] = &t;
  for (const TableSource& t : to.tables) new_tables[t.path] = &t;
  std::map<std::string, std::pair<const TableSource*, const TableSource*>> pairs;
  for (const auto& [path, t] : old_tables) pairs[path].first = t;
  for (const auto& [path, t] : new_tables) pairs[path].second = t;
  if (from.single_file && to.single_file && from.tables.size() == 1 && to.tables.size() == 1) {
    // Two files: compared whatever their names.
    pairs.clear();
    pairs[to.tables[0].path] = {&from.tables[0], &to.tables[0]};
  }
  for (const auto& [path, pair] : pairs) {
    const auto [a, b] = pair;
    TableDiff diff;
    if (a && b) {
      if (!a->blob.IsZero() && a->blob == b->blob) {
        out.unchanged_tables++;
        continue;
      }
      CAIRN_ASSIGN_OR_RETURN(auto ra, OpenTable(repo, *a));
      CAIRN_ASSIGN_OR_RETURN(auto rb, OpenTable(repo, *b));
      auto reopen = [&repo, a = a, b = b](bool old_side) { return OpenTable(repo, old_side ? *a : *b); };
      CAIRN_ASSIGN_OR_RETURN(diff, DiffTables(*ra, *rb, options, reopen));
      if (diff.added == 0 && diff.removed == 0 && diff.modified == 0 && diff.added_columns.empty() &&
          diff.removed_columns.empty() && diff.retyped.empty() && diff.duplicate_keys == 0) {
        // Different bytes, the same table (numbers spelled differently, line endings, quoting).
        out.unchanged_tables++;
        continue;
      }
    } else {
      const TableSource* only = a ? a : b;
      CAIRN_ASSIGN_OR_RETURN(auto reader, OpenTable(repo, *only));
      CAIRN_ASSIGN_OR_RETURN(diff, OneSided(*reader, /*added=*/!a, options));
    }
    diff.path = path;
    out.tables.push_back(std::move(diff));
  }
  // Other files compare by content.
  TableSet a_set = from, b_set = to;
  std::set<std::string> in_a, both;
  for (const TreeEntry& e : from.skipped) in_a.insert(e.path);
  for (const TreeEntry& e : to.skipped) {
    if (in_a.count(e.path)) both.insert(e.path);
  }
  CAIRN_RETURN_IF_ERROR(HashSkipped(&a_set, both));
  CAIRN_RETURN_IF_ERROR(HashSkipped(&b_set, both));
  Tree old_files, new_files;
  old_files.entries = a_set.skipped;
  new_files.entries = b_set.skipped;
  out.other_files = DiffTrees(old_files, new_files);
  return out;
}

}  // namespace cairn
