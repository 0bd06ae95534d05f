// The Parquet reader: DuckDB scans the file and casts every column to text
// (its VARCHAR form: integers as digits, doubles in shortest round-trip form,
// booleans true/false, dates and timestamps ISO 8601), streamed one chunk
// (2048 rows) at a time. NULL is a missing cell.
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
  }

  Status Open(const std::filesystem::path& path) {
    if (path.string().find('\0') != std::string::npos) return Status::InvalidArgument("a NUL byte in " + where_);
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
    for (duckdb::idx_t i = 0; i < api_->column_count(&probe); ++i) columns_.push_back(api_->column_name(&probe, i));
    api_->destroy_result(&probe);
    std::string select;
    for (const std::string& c : columns_) {
      select += (select.empty() ? "" : ", ") + ("CAST(" + SqlIdentifier(c) + " AS VARCHAR)");
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
    for (size_t c = 0; c < width; ++c) {
      duckdb::Vector v = api_->data_chunk_get_vector(chunk_, c);
      const auto* data = static_cast<const duckdb::String*>(api_->vector_get_data(v));
      const uint64_t* validity = api_->vector_get_validity(v);
      for (size_t r = 0; r < rows; ++r) {
        TableCell& cell = batch->cells[r * width + c];
        if (!duckdb::RowValid(validity, r)) {
          cell = TableCell{{}, true};
        } else {
          cell = TableCell{std::string_view(data[r].data(), data[r].size()), false};
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
