// The Parquet reader: DuckDB scans the file, streamed one chunk (2048 rows)
// at a time. Text columns are read as they are; integers, floats and
// booleans are formatted here as DuckDB's cast to text writes them (digits;
// doubles shortest round-trip, see Real; true/false); every other type
// DuckDB casts to its VARCHAR form (decimals, dates and timestamps in ISO
// 8601, lists …). NULL is a missing cell, and so is a double NaN.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <thread>

#include "data/duckdb_lib.h"
#include "data/table_internal.h"

namespace cairn::table_internal {
namespace {

std::string SqlString(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

std::string SqlIdentifier(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

class ParquetReader : public TableReader {
 public:
  ParquetReader(const duckdb::Api* api, std::string where) : api_(api) {
    format_ = TableFormat::kParquet;
    where_ = std::move(where);
  }
  ~ParquetReader() override {
    if (chunk_) api_->destroy_data_chunk(&chunk_);
    if (result_open_) api_->destroy_result(&result_);
    if (pending_) api_->destroy_pending(&pending_);
    if (prepared_) api_->destroy_prepare(&prepared_);
    if (con_) api_->disconnect(&con_);
    if (db_) api_->close(&db_);
    if (!link_.empty()) {
      std::error_code ec;
      std::filesystem::remove(link_, ec);
    }
  }

  Status Open(const std::filesystem::path& given) {
    if (given.string().find('\0') != std::string::npos) return Status::InvalidArgument("a NUL byte in " + where_);
    // DuckDB expands * ? [ ] { } in a path as a glob: a file so named is
    // read through a link of a plain name, never as a pattern.
    std::filesystem::path path = given;
    if (given.string().find_first_of("*?[]{}") != std::string::npos) {
      static std::atomic<uint64_t> counter{0};
      std::error_code ec;
      link_ = std::filesystem::temp_directory_path(ec) /
              ("cairn-parquet-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".parquet");
      std::filesystem::path target = std::filesystem::absolute(given, ec);
      if (!ec) std::filesystem::create_symlink(target, link_, ec);
      if (ec) {
        link_.clear();
        return Status::FromErrno("cannot make a link to read " + where_ + " (its name holds * ? [ ] { })",
                                 ec.value());
      }
      path = link_;
    }
    if (api_->open(nullptr, &db_) != duckdb::kSuccess || api_->connect(db_, &con_) != duckdb::kSuccess) {
      return Status::IOError("cannot start DuckDB to read " + where_);
    }
    unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    CAIRN_RETURN_IF_ERROR(Exec("SET threads=" + std::to_string(threads)));
    std::string scan = "read_parquet(" + SqlString(path.string()) + ")";
    duckdb::QueryResult probe{};
    if (api_->query(con_, ("SELECT * FROM " + scan + " LIMIT 0").c_str(), &probe) != duckdb::kSuccess) {
      std::string why = api_->result_error(&probe) ? api_->result_error(&probe) : "unknown error";
      api_->destroy_result(&probe);
      return Status::InvalidArgument("cannot read " + where_ + " as Parquet: " + FirstLine(why),
                                     "is it a Parquet file? 'cairn ls' shows what the version holds");
    }
    for (duckdb::idx_t i = 0; i < api_->column_count(&probe); ++i) {
      columns_.push_back(api_->column_name(&probe, i));
      int type = api_->column_type(&probe, i);
      types_.push_back(Formatted(type) ? type : duckdb::kVarchar);
      floats_.push_back(type == duckdb::kFloat);
    }
    api_->destroy_result(&probe);
    std::string select;
    for (size_t i = 0; i < columns_.size(); ++i) {
      std::string c = SqlIdentifier(columns_[i]);
      bool cast = types_[i] == duckdb::kVarchar;
      select += (select.empty() ? "" : ", ") + (cast ? "CAST(" + c + " AS VARCHAR)" : c);
    }
    CAIRN_RETURN_IF_ERROR(NameColumns(&columns_, where_));
    if (columns_.empty()) return Status::OK();
    std::string sql = "SELECT " + select + " FROM " + scan;
    if (api_->prepare(con_, sql.c_str(), &prepared_) != duckdb::kSuccess) {
      return Status::InvalidArgument("cannot read " + where_ + ": " + FirstLine(api_->prepare_error(prepared_)));
    }
    if (api_->pending_prepared_streaming(prepared_, &pending_) != duckdb::kSuccess) {
      return Status::InvalidArgument("cannot read " + where_ + ": " + FirstLine(api_->pending_error(pending_)));
    }
    if (api_->execute_pending(pending_, &result_) != duckdb::kSuccess) {
      std::string why = api_->result_error(&result_) ? api_->result_error(&result_) : "unknown error";
      api_->destroy_result(&result_);
      return Status::InvalidArgument("cannot read " + where_ + " as Parquet: " + FirstLine(why));
    }
    result_open_ = true;
    return Status::OK();
  }

  Result<bool> Next(TableBatch* batch) override {
    const size_t width = columns_.size();
    batch->Reset(width);
    if (chunk_) api_->destroy_data_chunk(&chunk_);
    if (!result_open_) return false;
    chunk_ = api_->fetch_chunk(result_);
    if (!chunk_) {
      const char* why = api_->result_error(&result_);
      if (why && *why) return Status::InvalidArgument("cannot read " + where_ + ": " + FirstLine(why));
      return false;
    }
    const size_t rows = api_->data_chunk_get_size(chunk_);
    if (rows == 0) return false;
    batch->cells.resize(rows * width);
    // Formatted cells go to the arena, sized first so that it never moves
    // while views into it are handed out.
    size_t formatted = 0;
    for (int t : types_) formatted += t != duckdb::kVarchar;
    if (text_.size() < formatted * rows * kMaxFormatted) text_.resize(formatted * rows * kMaxFormatted);
    used_ = 0;
    for (size_t c = 0; c < width; ++c) {
      duckdb::Vector v = api_->data_chunk_get_vector(chunk_, c);
      const void* data = api_->vector_get_data(v);
      const uint64_t* validity = api_->vector_get_validity(v);
      for (size_t r = 0; r < rows; ++r) {
        TableCell& cell = batch->cells[r * width + c];
        if (!duckdb::RowValid(validity, r)) {
          cell = TableCell{{}, true};
        } else if (types_[c] == duckdb::kVarchar) {
          const duckdb::String& s = static_cast<const duckdb::String*>(data)[r];
          std::string_view text(s.data(), s.size());
          // A FLOAT NaN (cast to text by DuckDB) is missing, as a DOUBLE's is.
          bool nan = floats_[c] && (text == "nan" || text == "-nan");
          cell = nan ? TableCell{{}, true} : TableCell{text, false};
        } else if (types_[c] == duckdb::kDouble && std::isnan(static_cast<const double*>(data)[r])) {
          cell = TableCell{{}, true};  // NaN is a missing value, as in CSV (and pandas)
        } else {
          cell = TableCell{Format(types_[c], data, r), false};
        }
      }
    }
    for (size_t r = 0; r < rows; ++r) {
      batch->row_numbers.push_back(++rows_);
      batch->lines.push_back(rows_);
    }
    batch->rows = rows;
    return true;
  }

 private:
  static constexpr size_t kMaxFormatted = 32;  // "-1.7976931348623157e+308" and the like

  static bool Formatted(int type) {
    // FLOAT is left to DuckDB: its text for them is not always the shortest.
    return (type >= duckdb::kBoolean && type <= duckdb::kUBigInt) || type == duckdb::kDouble || type == duckdb::kVarchar;
  }

  // Row `r` of a vector of `type`, written to the arena.
  std::string_view Format(int type, const void* data, size_t r) {
    char* begin = text_.data() + used_;
    char* end = begin;
    char* limit = begin + kMaxFormatted;
    auto number = [&](auto v) { end = std::to_chars(begin, limit, v).ptr; };
    switch (type) {
      case duckdb::kBoolean: {
        bool b = static_cast<const bool*>(data)[r];
        const char* word = b ? "true" : "false";
        end = std::copy(word, word + (b ? 4 : 5), begin);
        break;
      }
      case duckdb::kTinyInt: number(static_cast<const int8_t*>(data)[r]); break;
      case duckdb::kSmallInt: number(static_cast<const int16_t*>(data)[r]); break;
      case duckdb::kInteger: number(static_cast<const int32_t*>(data)[r]); break;
      case duckdb::kBigInt: number(static_cast<const int64_t*>(data)[r]); break;
      case duckdb::kUTinyInt: number(static_cast<const uint8_t*>(data)[r]); break;
      case duckdb::kUSmallInt: number(static_cast<const uint16_t*>(data)[r]); break;
      case duckdb::kUInteger: number(static_cast<const uint32_t*>(data)[r]); break;
      case duckdb::kUBigInt: number(static_cast<const uint64_t*>(data)[r]); break;
      case duckdb::kDouble: end = Real(static_cast<const double*>(data)[r], begin); break;
    }
    used_ += static_cast<size_t>(end - begin);
    return std::string_view(begin, static_cast<size_t>(end - begin));
  }

  // A float as DuckDB writes it: the shortest round-trip digits, laid out
  // fixed from 1e-4 to below 1e16 (whole values with ".0"), else scientific
  // (6e+20); inf, -inf, nan.
  static char* Real(double v, char* begin) {
    if (std::isnan(v)) return std::copy_n("nan", 3, begin);
    if (std::isinf(v)) return v > 0 ? std::copy_n("inf", 3, begin) : std::copy_n("-inf", 4, begin);
    if (v == 0) return std::copy_n("0.0", 3, begin);
    char sci[48];
    char* sci_end = std::to_chars(sci, sci + sizeof sci, v, std::chars_format::scientific).ptr;
    double magnitude = std::fabs(v);
    if (magnitude < 1e-4 || magnitude >= 1e16) return std::copy(sci, sci_end, begin);
    // sci is [-]D[.DDD]e±XX: the digits and the exponent, laid out by hand.
    const char* p = sci;
    char* out = begin;
    if (*p == '-') *out++ = *p++;
    char digits[24];
    size_t n = 0;
    for (; *p != 'e'; ++p) {
      if (*p != '.') digits[n++] = *p;
    }
    int exponent = 0;
    std::from_chars(p + (p[1] == '+' ? 2 : 1), sci_end, exponent);
    if (exponent < 0) {
      out = std::copy_n("0.", 2, out);
      out = std::fill_n(out, -exponent - 1, '0');
      out = std::copy_n(digits, n, out);
    } else {
      size_t whole = static_cast<size_t>(exponent) + 1;
      out = std::copy_n(digits, std::min(n, whole), out);
      if (n < whole) out = std::fill_n(out, whole - n, '0');
      *out++ = '.';
      out = n > whole ? std::copy(digits + whole, digits + n, out) : std::copy_n("0", 1, out);
    }
    return out;
  }

  static std::string FirstLine(const char* why) {
    std::string s = why ? why : "unknown error";
    return s.substr(0, s.find('\n'));
  }
  static std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

  Status Exec(const std::string& sql) {
    duckdb::QueryResult r{};
    bool ok = api_->query(con_, sql.c_str(), &r) == duckdb::kSuccess;
    std::string why = ok ? "" : FirstLine(api_->result_error(&r));
    api_->destroy_result(&r);
    if (!ok) return Status::IOError("DuckDB: " + sql + ": " + why);
    return Status::OK();
  }

  const duckdb::Api* api_;
  duckdb::Database db_ = nullptr;
  duckdb::Connection con_ = nullptr;
  duckdb::Prepared prepared_ = nullptr;
  duckdb::Pending pending_ = nullptr;
  duckdb::QueryResult result_{};
  bool result_open_ = false;
  duckdb::DataChunk chunk_ = nullptr;
  std::filesystem::path link_;  // the plain-named link read instead of a file whose name is a glob
  std::vector<bool> floats_;  // per column: a FLOAT (single precision)
  std::vector<int> types_;  // per column: a duckdb::Type formatted here, or kVarchar (read or cast as text)
  std::string text_;        // the formatted cells of the current chunk: text_[0, used_)
  size_t used_ = 0;
  int64_t rows_ = 0;
};

}  // namespace

Result<std::unique_ptr<TableReader>> OpenParquet(const std::filesystem::path& path, std::string where,
                                                 const TableOptions&) {
  CAIRN_ASSIGN_OR_RETURN(const duckdb::Api* api, duckdb::Load());
  auto reader = std::make_unique<ParquetReader>(api, std::move(where));
  CAIRN_RETURN_IF_ERROR(reader->Open(path));
  return std::unique_ptr<TableReader>(std::move(reader));
}

}  // namespace cairn::table_internal
