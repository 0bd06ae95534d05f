// Schema inference over CSV/TSV and JSON Lines (signature_infer.h): a
// streaming record reader, delimiter and header detection, and the type
// lattice. Reads at most the sample's rows; never holds more than one
// record and a 64 KiB buffer.
#include "registry/signature_infer.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "util/utf8.h"

namespace cairn::signature_internal {
namespace {

enum class Kind { kNone, kBoolean, kInteger, kNumber, kString };

Kind Merge(Kind a, Kind b) {
  if (a == Kind::kNone) return b;
  if (b == Kind::kNone || a == b) return a;
  bool numeric_a = a == Kind::kInteger || a == Kind::kNumber;
  bool numeric_b = b == Kind::kInteger || b == Kind::kNumber;
  if (numeric_a && numeric_b) return Kind::kNumber;
  return Kind::kString;
}

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kBoolean: return "boolean";
    case Kind::kInteger: return "integer";
    case Kind::kNumber: return "number";
    case Kind::kNone:  // no value in the sample: recorded as string
    case Kind::kString: return "string";
  }
  return "string";
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// [+-]? (D+ (. D*)? | . D+) ([eE] [+-]? D+)?
bool IsDecimal(std::string_view s) {
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  size_t e = s.find_first_of("eE");
  std::string_view mantissa = s.substr(0, e);
  if (e != std::string_view::npos) {
    std::string_view exp = s.substr(e + 1);
    if (!exp.empty() && (exp[0] == '+' || exp[0] == '-')) exp.remove_prefix(1);
    if (!AllDigits(exp)) return false;
  }
  size_t dot = mantissa.find('.');
  if (dot == std::string_view::npos) return AllDigits(mantissa);
  std::string_view whole = mantissa.substr(0, dot), frac = mantissa.substr(dot + 1);
  if (whole.empty()) return AllDigits(frac);
  return AllDigits(whole) && (frac.empty() || AllDigits(frac));
}

Kind FieldKind(std::string_view raw) {
  std::string_view s = Trim(raw);
  if (s.empty()) return Kind::kNone;
  static const std::set<std::string> missing = {"na", "n/a", "null", "none", "nan"};
  std::string lower = Lower(s);
  if (missing.count(lower)) return Kind::kNone;
  if (lower == "true" || lower == "false") return Kind::kBoolean;
  std::string_view digits = s;
  if (digits[0] == '+' || digits[0] == '-') digits.remove_prefix(1);
  if (AllDigits(digits)) {
    // Beyond int64 it is still a number, but no longer an exact integer.
    std::string_view trimmed = digits.substr(std::min(digits.find_first_not_of('0'), digits.size()));
    bool fits = trimmed.size() < 19 || (trimmed.size() == 19 && trimmed <= "9223372036854775807");
    return fits ? Kind::kInteger : Kind::kNumber;
  }
  if (IsDecimal(s)) return Kind::kNumber;
  std::string unsigned_lower = lower[0] == '+' || lower[0] == '-' ? lower.substr(1) : lower;
  if (unsigned_lower == "inf" || unsigned_lower == "infinity") return Kind::kNumber;
  return Kind::kString;
}

bool ValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    size_t n = DecodeUtf8(s, i, &cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// Buffered bytes of the stream; the first chunk stays visible to the sniffer.
class Source {
 public:
  explicit Source(std::istream& in) : in_(in) {
    Fill();
    if (buf_.compare(0, 3, "\xEF\xBB\xBF") == 0) pos_ = 3;  // a UTF-8 byte order mark
  }
  int Get() {
    if (pos_ == buf_.size() && !Fill()) return -1;
    return static_cast<unsigned char>(buf_[pos_++]);
  }
  int Peek() {
    if (pos_ == buf_.size() && !Fill()) return -1;
    return static_cast<unsigned char>(buf_[pos_]);
  }
  // What is buffered now (the start of the file before the first Get).
  std::string_view Buffered() const { return std::string_view(buf_).substr(pos_); }
  bool AtEof() const { return eof_; }

 private:
  bool Fill() {
    if (eof_) return false;
    buf_.resize(64 * 1024);
    in_.read(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    buf_.resize(static_cast<size_t>(in_.gcount()));
    pos_ = 0;
    if (buf_.size() < 64 * 1024) eof_ = true;
    return !buf_.empty();
  }

  std::istream& in_;
  std::string buf_;
  size_t pos_ = 0;
  bool eof_ = false;
};

Status Bad(const std::string& where, int64_t line, const std::string& what, const std::string& hint = {}) {
  return Status::InvalidArgument(where + ":" + std::to_string(line) + ": " + what,
                                 hint.empty() ? "schema inference reads CSV/TSV (RFC 4180) and JSON Lines" : hint);
}

// The delimiter whose count per line is the same (and > 0) over the first
// complete lines, the most frequent such; else the most frequent on the
// first line; else ','.
char SniffDelimiter(std::string_view head, bool whole_file) {
  constexpr std::array<char, 4> kCandidates = {',', '\t', ';', '|'};
  std::vector<std::array<int64_t, 4>> lines;
  std::array<int64_t, 4> counts{};
  bool quoted = false, any = false;
  for (size_t i = 0; i < head.size() && lines.size() < 20; ++i) {
    char c = head[i];
    if (c == '"') quoted = !quoted;
    if (quoted) continue;
    if (c == '\n') {
      if (any) lines.push_back(counts);
      counts = {};
      any = false;
      continue;
    }
    if (c != '\r') any = true;
    for (size_t k = 0; k < kCandidates.size(); ++k) counts[k] += c == kCandidates[k];
  }
  if (whole_file && any && lines.size() < 20) lines.push_back(counts);
  if (lines.empty()) return ',';
  int best = -1;
  for (size_t k = 0; k < kCandidates.size(); ++k) {
    bool steady = lines[0][k] > 0;
    for (const auto& l : lines) steady = steady && l[k] == lines[0][k];
    if (steady && (best < 0 || lines[0][k] > lines[0][best])) best = static_cast<int>(k);
  }
  if (best < 0) {
    for (size_t k = 0; k < kCandidates.size(); ++k) {
      if (lines[0][k] > 0 && (best < 0 || lines[0][k] > lines[0][best])) best = static_cast<int>(k);
    }
  }
  return best < 0 ? ',' : kCandidates[best];
}

class CsvReader {
 public:
  CsvReader(Source& src, char delimiter, const std::string& where, size_t max_bytes)
      : src_(src), delimiter_(delimiter), where_(where), max_bytes_(max_bytes) {}

  // The next record; *got false at the end of the file.
  Status Next(std::vector<std::string>* fields, bool* got) {
    fields->clear();
    record_line_ = line_;
    int c = src_.Get();
    *got = c != -1;
    if (!*got) return Status::OK();
    std::string field;
    bool in_quotes = false, quoted = false;
    size_t bytes = 0;
    for (;; c = src_.Get()) {
      if (c == 0) return Bad(where_, line_, "NUL byte: this is binary data, not a text table");
      if (++bytes > max_bytes_) {
        return Bad(where_, record_line_, "a record longer than " + std::to_string(max_bytes_ >> 20) + " MiB",
                   "is this a text table? an unbalanced quote makes the rest of a file one field");
      }
      if (c == -1) {
        if (in_quotes) return Bad(where_, record_line_, "a quoted field is never closed");
        fields->push_back(std::move(field));
        return Status::OK();
      }
      if (in_quotes) {
        if (c == '"') {
          if (src_.Peek() == '"') {
            src_.Get();
            field += '"';
          } else {
            in_quotes = false;
          }
        } else {
          if (c == '\n') ++line_;
          field += static_cast<char>(c);
        }
        continue;
      }
      if (c == delimiter_) {
        fields->push_back(std::move(field));
        field.clear();
        quoted = false;
      } else if (c == '\n' || c == '\r') {
        if (c == '\r' && src_.Peek() == '\n') src_.Get();
        ++line_;
        fields->push_back(std::move(field));
        return Status::OK();
      } else if (c == '"' && field.empty() && !quoted) {
        in_quotes = quoted = true;
      } else {
        field += static_cast<char>(c);  // a quote inside an unquoted field is taken as it is
      }
    }
  }
  int64_t record_line() const { return record_line_; }

 private:
  Source& src_;
  char delimiter_;
  const std::string& where_;
  size_t max_bytes_;
  int64_t line_ = 1, record_line_ = 1;
};

bool Blank(const std::vector<std::string>& fields) { return fields.size() == 1 && Trim(fields[0]).empty(); }

// Empty names become column_N, repeated ones NAME.1, NAME.2 … (the first
// suffix no column has yet). Linear in the number of columns: each name's
// next suffix is kept, so 20k columns named "c" try each suffix once.
Status NameColumns(std::vector<std::string>* names, const std::string& where) {
  std::unordered_set<std::string> seen;
  seen.reserve(names->size());
  std::unordered_map<std::string, int64_t> next_suffix;  // NAME → the first k not yet tried
  for (size_t i = 0; i < names->size(); ++i) {
    std::string& n = (*names)[i];
    if (!ValidUtf8(n)) return Bad(where, 1, "column " + std::to_string(i + 1) + "'s name is not UTF-8 text");
    if (Trim(n).empty()) n = "column_" + std::to_string(i + 1);
    if (seen.count(n)) {
      std::string base = n;
      int64_t& k = next_suffix.try_emplace(base, 1).first->second;
      do {
        n = base + "." + std::to_string(k++);
      } while (seen.count(n));
    }
    seen.insert(n);
  }
  return Status::OK();
}

Result<InferredTable> InferCsv(std::istream& in, bool tsv, const std::string& where, const InferOptions& options) {
  Source src(in);
  InferredTable table;
  table.delimiter = tsv ? '\t' : SniffDelimiter(src.Buffered(), src.AtEof());
  CsvReader reader(src, table.delimiter, where, options.max_record_bytes);
  std::vector<std::string> fields;
  bool got = false;
  do {
    CAIRN_RETURN_IF_ERROR(reader.Next(&fields, &got));
  } while (got && Blank(fields));
  if (!got) return table;  // an empty file: no columns

  std::vector<Kind> kinds(fields.size(), Kind::kNone);
  std::vector<int64_t> values(fields.size(), 0);
  auto add_row = [&](const std::vector<std::string>& row) -> Status {
    for (size_t i = kinds.size(); i < row.size(); ++i) {
      if (!Trim(row[i]).empty()) {
        return Bad(where, reader.record_line(),
                   "row has " + std::to_string(row.size()) + " fields; the " +
                       (table.header ? "header names " : "first row has ") + std::to_string(kinds.size()),
                   "every row needs the same columns (quote fields that hold the delimiter)");
      }
    }
    for (size_t i = 0; i < kinds.size() && i < row.size(); ++i) {
      Kind k = FieldKind(row[i]);
      kinds[i] = Merge(kinds[i], k);
      values[i] += k != Kind::kNone;
    }
    ++table.rows;
    return Status::OK();
  };

  std::vector<std::string> names = fields;
  table.header = std::none_of(fields.begin(), fields.end(), [](const std::string& f) {
    Kind k = FieldKind(f);
    return k == Kind::kInteger || k == Kind::kNumber || k == Kind::kBoolean;
  });
  if (!table.header) {
    for (size_t i = 0; i < names.size(); ++i) names[i] = "column_" + std::to_string(i + 1);
    CAIRN_RETURN_IF_ERROR(add_row(fields));
  }
  CAIRN_RETURN_IF_ERROR(NameColumns(&names, where));
  while (true) {
    CAIRN_RETURN_IF_ERROR(reader.Next(&fields, &got));
    if (!got) break;
    if (Blank(fields)) continue;
    if (table.rows >= options.sample_rows) {
      table.complete = false;
      break;
    }
    CAIRN_RETURN_IF_ERROR(add_row(fields));
  }
  for (size_t i = 0; i < names.size(); ++i) table.columns.push_back({names[i], KindName(kinds[i]), values[i]});
  return table;
}

Kind JsonKind(const nlohmann::ordered_json& v) {
  if (v.is_null()) return Kind::kNone;
  if (v.is_boolean()) return Kind::kBoolean;
  if (v.is_number_integer() || v.is_number_unsigned()) return Kind::kInteger;
  if (v.is_number_float()) return Kind::kNumber;
  return Kind::kString;  // strings; nested arrays and objects too
}

Result<InferredTable> InferJsonLines(std::istream& in, const std::string& where, const InferOptions& options) {
  Source src(in);
  InferredTable table;
  std::vector<std::string> names;
  std::vector<Kind> kinds;
  std::vector<int64_t> values;
  std::unordered_map<std::string, size_t> index;
  std::string line;
  for (int64_t number = 1;; ++number) {
    line.clear();
    int c;
    while ((c = src.Get()) != -1 && c != '\n') {
      if (line.size() >= options.max_record_bytes) {
        return Bad(where, number, "a line longer than " + std::to_string(options.max_record_bytes >> 20) + " MiB",
                   "JSON Lines holds one JSON object per line");
      }
      line += static_cast<char>(c);
    }
    if (c == -1 && line.empty()) break;
    if (Trim(line).empty() || Trim(line) == "\r") continue;
    if (table.rows >= options.sample_rows) {
      table.complete = false;
      break;
    }
    auto row = nlohmann::ordered_json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (row.is_discarded() || !row.is_object()) {
      return Bad(where, number, row.is_discarded() ? "not valid JSON" : "not a JSON object",
                 "JSON Lines holds one JSON object per line ({\"age\": 41, \"name\": \"x\"})");
    }
    for (const auto& [key, value] : row.items()) {
      auto [it, added] = index.emplace(key, names.size());
      if (added) {
        names.push_back(key.empty() ? "column_" + std::to_string(names.size() + 1) : key);
        kinds.push_back(Kind::kNone);
        values.push_back(0);
      }
      Kind k = JsonKind(value);
      kinds[it->second] = Merge(kinds[it->second], k);
      values[it->second] += k != Kind::kNone;
    }
    ++table.rows;
    if (c == -1) break;
  }
  for (size_t i = 0; i < names.size(); ++i) table.columns.push_back({names[i], KindName(kinds[i]), values[i]});
  return table;
}

}  // namespace

std::optional<TableFormat> TableFormatFor(std::string_view file_name) {
  size_t dot = file_name.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  static const std::map<std::string, TableFormat> kByExtension = {
      {"csv", TableFormat::kCsv},         {"tsv", TableFormat::kTsv},     {"tab", TableFormat::kTsv},
      {"jsonl", TableFormat::kJsonLines}, {"ndjson", TableFormat::kJsonLines},
      {"parquet", TableFormat::kParquet}, {"pq", TableFormat::kParquet},
  };
  auto it = kByExtension.find(Lower(file_name.substr(dot + 1)));
  if (it == kByExtension.end()) return std::nullopt;
  return it->second;
}

std::string FieldType(std::string_view field) {
  Kind k = FieldKind(field);
  return k == Kind::kNone ? "" : KindName(k);
}

Result<InferredTable> InferTable(std::istream& in, TableFormat format, const std::string& where,
                                 const InferOptions& options) {
  switch (format) {
    case TableFormat::kCsv:
      return InferCsv(in, /*tsv=*/false, where, options);
    case TableFormat::kTsv:
      return InferCsv(in, /*tsv=*/true, where, options);
    case TableFormat::kJsonLines:
      return InferJsonLines(in, where, options);
    case TableFormat::kParquet:
      return Status::FailedPrecondition(
          where + ": reading the schema of Parquet files is not supported yet",
          "it needs the table reader of the data-delta issue; give the schema with 'cairn model register "
          "--signature FILE', or compare a CSV/JSON Lines export");
  }
  return Status::InvalidArgument(where + ": unknown table format");
}

}  // namespace cairn::signature_internal
