// Cell types, column names and the format dispatch of the table readers.
#include "cairn/table.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "data/table_internal.h"
#include "util/utf8.h"

namespace cairn {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsLower(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
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

bool IsInfinity(std::string_view s) {
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  return EqualsLower(s, "inf") || EqualsLower(s, "infinity");
}

class FileSource : public table_internal::ByteSource {
 public:
  FileSource(int fd, std::string where) : fd_(fd), where_(std::move(where)) {}
  ~FileSource() override { ::close(fd_); }
  Result<size_t> Read(char* buf, size_t n) override {
    for (;;) {
      ssize_t got = ::read(fd_, buf, n);
      if (got >= 0) return static_cast<size_t>(got);
      if (errno != EINTR) return Status::FromErrno("cannot read " + where_, errno);
    }
  }

 private:
  int fd_;
  std::string where_;
};

class MemorySource : public table_internal::ByteSource {
 public:
  explicit MemorySource(std::string_view bytes) : bytes_(bytes) {}
  Result<size_t> Read(char* buf, size_t n) override {
    size_t k = std::min(n, bytes_.size() - pos_);
    std::memcpy(buf, bytes_.data() + pos_, k);
    pos_ += k;
    return k;
  }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

}  // namespace

std::optional<TableFormat> TableFormatFor(std::string_view file_name) {
  size_t dot = file_name.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view ext = file_name.substr(dot + 1);
  if (EqualsLower(ext, "csv")) return TableFormat::kCsv;
  if (EqualsLower(ext, "tsv") || EqualsLower(ext, "tab")) return TableFormat::kTsv;
  if (EqualsLower(ext, "jsonl") || EqualsLower(ext, "ndjson")) return TableFormat::kJsonLines;
  if (EqualsLower(ext, "parquet") || EqualsLower(ext, "pq")) return TableFormat::kParquet;
  return std::nullopt;
}

const char* TableFormatName(TableFormat format) {
  switch (format) {
    case TableFormat::kCsv: return "csv";
    case TableFormat::kTsv: return "tsv";
    case TableFormat::kJsonLines: return "jsonl";
    case TableFormat::kParquet: return "parquet";
  }
  return "csv";
}

const char* ColumnTypeName(ColumnType type) {
  switch (type) {
    case ColumnType::kUnknown: return "unknown";
    case ColumnType::kBoolean: return "boolean";
    case ColumnType::kInteger: return "integer";
    case ColumnType::kNumber: return "number";
    case ColumnType::kString: return "string";
  }
  return "string";
}

ColumnType MergeColumnTypes(ColumnType a, ColumnType b) {
  if (a == ColumnType::kUnknown) return b;
  if (b == ColumnType::kUnknown || a == b) return a;
  bool numeric_a = a == ColumnType::kInteger || a == ColumnType::kNumber;
  bool numeric_b = b == ColumnType::kInteger || b == ColumnType::kNumber;
  if (numeric_a && numeric_b) return ColumnType::kNumber;
  return ColumnType::kString;
}

bool IsMissingText(std::string_view text) {
  if (text.empty()) return true;
  char first = text.front(), last = text.back();
  if (first != ' ' && first != '\t' && last != ' ' && last != '\t') {
    // The fast path (every cell of every table comes here): each missing
    // spelling has at most four letters and starts with n.
    if (text.size() > 4 || (first | 0x20) != 'n') return false;
  }
  std::string_view s = Trim(text);
  if (s.empty()) return true;
  if (s.size() > 4) return false;
  return EqualsLower(s, "na") || EqualsLower(s, "n/a") || EqualsLower(s, "null") || EqualsLower(s, "none") ||
         EqualsLower(s, "nan");
}

ColumnType CellType(std::string_view text) {
  std::string_view s = Trim(text);
  if (IsMissingText(s)) return ColumnType::kUnknown;
  std::string_view digits = s;
  if (digits[0] == '+' || digits[0] == '-') digits.remove_prefix(1);
  if (AllDigits(digits)) {
    // Beyond int64 it is still a number, but no longer an exact integer.
    std::string_view trimmed = digits.substr(std::min(digits.find_first_not_of('0'), digits.size()));
    bool fits = trimmed.size() < 19 || (trimmed.size() == 19 && trimmed <= "9223372036854775807");
    return fits ? ColumnType::kInteger : ColumnType::kNumber;
  }
  if (IsDecimal(s) || IsInfinity(s)) return ColumnType::kNumber;
  if (EqualsLower(s, "true") || EqualsLower(s, "false")) return ColumnType::kBoolean;
  return ColumnType::kString;
}

std::optional<double> CellNumber(std::string_view text) {
  std::string_view s = Trim(text);
  if (s.empty()) return std::nullopt;
  ColumnType t = CellType(s);
  if (t != ColumnType::kInteger && t != ColumnType::kNumber) return std::nullopt;
  if (IsInfinity(s)) return s[0] == '-' ? -HUGE_VAL : HUGE_VAL;
  if (s[0] == '+') s.remove_prefix(1);
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range) {
    // Overflow is ±inf, underflow 0, as strtod gives them.
    return std::strtod(std::string(s).c_str(), nullptr);
  }
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

namespace table_internal {

Status BadTable(const std::string& where, int64_t line, const std::string& what, const std::string& hint) {
  return Status::InvalidArgument(where + ":" + std::to_string(line) + ": " + what, hint);
}

bool CleanText(std::string_view s, size_t* bad) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    // Eight ASCII bytes at a time while there are no high bits and no NUL.
    if (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      bool ascii = (w & 0x8080808080808080ull) == 0;
      bool has_zero = ((w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull) != 0;
      if (ascii && !has_zero) {
        i += 8;
        continue;
      }
    }
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0) {
      *bad = i;
      return false;
    }
    if (c < 0x80) {
      ++i;
      continue;
    }
    uint32_t cp = 0;
    size_t k = DecodeUtf8(s, i, &cp);
    if (k == 0) {
      *bad = i;
      return false;
    }
    i += k;
  }
  return true;
}

Status NameColumns(std::vector<std::string>* names, const std::string& where) {
  std::unordered_set<std::string> seen;
  std::unordered_map<std::string, int64_t> next_suffix;
  for (size_t i = 0; i < names->size(); ++i) {
    std::string& n = (*names)[i];
    size_t bad = 0;
    if (!CleanText(n, &bad)) {
      return BadTable(where, 1, "column " + std::to_string(i + 1) + "'s name is not UTF-8 text",
                      "save the file as UTF-8");
    }
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

SourceOpener FileOpener(std::filesystem::path path, std::string where) {
  return [path = std::move(path), where = std::move(where)]() -> Result<std::unique_ptr<ByteSource>> {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno("cannot open " + where, errno);
    return std::unique_ptr<ByteSource>(new FileSource(fd, where));
  };
}

SourceOpener BytesOpener(std::string_view bytes) {
  return [bytes]() -> Result<std::unique_ptr<ByteSource>> {
    return std::unique_ptr<ByteSource>(new MemorySource(bytes));
  };
}

}  // namespace table_internal

namespace {

Result<std::unique_ptr<TableReader>> OpenWith(const table_internal::SourceOpener& open, TableFormat format,
                                              std::string where, const TableOptions& options) {
  switch (format) {
    case TableFormat::kCsv: return table_internal::OpenCsv(open, false, std::move(where), options);
    case TableFormat::kTsv: return table_internal::OpenCsv(open, true, std::move(where), options);
    case TableFormat::kJsonLines: return table_internal::OpenJsonLines(open, std::move(where), options);
    case TableFormat::kParquet: break;
  }
  return Status::InvalidArgument("no byte reader for Parquet");
}

}  // namespace

Result<std::unique_ptr<TableReader>> OpenTableFile(const std::filesystem::path& path, TableFormat format,
                                                   std::string where, const TableOptions& options) {
  if (format == TableFormat::kParquet) return table_internal::OpenParquet(path, std::move(where), options);
  auto opener = table_internal::FileOpener(path, where);
  return OpenWith(opener, format, std::move(where), options);
}

Result<std::unique_ptr<TableReader>> OpenTableBytes(std::string_view bytes, TableFormat format, std::string where,
                                                    const TableOptions& options) {
  if (format == TableFormat::kParquet) {
    return Status::InvalidArgument("Parquet is read from a file, not from memory: " + where);
  }
  return OpenWith(table_internal::BytesOpener(bytes), format, std::move(where), options);
}

}  // namespace cairn
