// The JSON Lines reader: one JSON object per line; the columns are the keys
// in order of first appearance over the whole file (a first pass collects
// them). Blank lines are skipped.
#include <cstring>
#include <deque>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "data/table_internal.h"

namespace cairn::table_internal {
namespace {

using json = nlohmann::ordered_json;  // keys in file order

// Lines of a byte stream, read in blocks; a view stays valid until the next
// call.
class Lines {
 public:
  Lines(std::unique_ptr<ByteSource> src, size_t max_bytes) : src_(std::move(src)), max_bytes_(max_bytes) {
    buf_.resize(1u << 20);
  }

  // The next line (without its \n or \r\n); false at the end. `*number` is
  // its 1-based line number.
  Result<bool> Next(std::string_view* line, int64_t* number, const std::string& where) {
    for (;;) {
      const void* nl = std::memchr(buf_.data() + pos_, '\n', end_ - pos_);
      if (nl || (eof_ && pos_ < end_)) {
        size_t stop = nl ? static_cast<const char*>(nl) - buf_.data() : end_;
        *line = std::string_view(buf_.data() + pos_, stop - pos_);
        if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
        pos_ = nl ? stop + 1 : end_;
        *number = ++line_;
        return true;
      }
      if (eof_) return false;
      if (pos_ > 0) {
        std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
        end_ -= pos_;
        pos_ = 0;
      }
      if (end_ == buf_.size()) {
        if (buf_.size() > max_bytes_) {
          return BadTable(where, line_ + 1, "a line longer than " + std::to_string(max_bytes_ >> 20) + " MiB",
                          "JSON Lines hold one object per line");
        }
        buf_.resize(buf_.size() * 2);
      }
      CAIRN_ASSIGN_OR_RETURN(size_t got, src_->Read(buf_.data() + end_, buf_.size() - end_));
      if (got == 0) eof_ = true;
      end_ += got;
    }
  }

 private:
  std::unique_ptr<ByteSource> src_;
  size_t max_bytes_;
  std::string buf_;
  size_t pos_ = 0, end_ = 0;
  bool eof_ = false;
  int64_t line_ = 0;
};

// Parses one line as a JSON object.
Status ParseObject(std::string_view line, int64_t number, const std::string& where, json* out) {
  size_t bad = 0;
  if (!CleanText(line, &bad)) {
    if (line[bad] == '\0') return BadTable(where, number, "NUL byte: this is binary data, not JSON Lines");
    return BadTable(where, number, "invalid UTF-8", "save the file as UTF-8");
  }
  *out = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (out->is_discarded()) return BadTable(where, number, "not valid JSON", "JSON Lines hold one object per line");
  if (!out->is_object()) {
    return BadTable(where, number, std::string("a JSON ") + out->type_name() + ", not an object",
                    "JSON Lines hold one object per line");
  }
  return Status::OK();
}

bool Blank(std::string_view line) { return line.find_first_not_of(" \t") == std::string_view::npos; }

class JsonLinesReader : public TableReader {
 public:
  JsonLinesReader(std::unique_ptr<Lines> lines, std::vector<std::string> keys, std::vector<std::string> names,
                  std::string where, const TableOptions& options)
      : lines_(std::move(lines)), options_(options) {
    format_ = TableFormat::kJsonLines;
    where_ = std::move(where);
    columns_ = std::move(names);
    for (size_t i = 0; i < keys.size(); ++i) index_.emplace(std::move(keys[i]), i);
  }

  Result<bool> Next(TableBatch* batch) override {
    const size_t width = columns_.size();
    batch->Reset(width);
    arena_.clear();
    std::string_view line;
    int64_t number = 0;
    json row;
    while (batch->rows < options_.batch_rows) {
      CAIRN_ASSIGN_OR_RETURN(bool got, lines_->Next(&line, &number, where_));
      if (!got) break;
      if (Blank(line)) continue;
      CAIRN_RETURN_IF_ERROR(ParseObject(line, number, where_, &row));
      size_t base = batch->cells.size();
      batch->cells.resize(base + width, TableCell{{}, true});
      for (auto& [key, value] : row.items()) {
        auto it = index_.find(key);
        if (it == index_.end()) continue;  // the first pass saw every key; cannot happen unless the file changed
        if (value.is_null()) continue;
        std::string& text = arena_.emplace_back(value.is_string() ? value.get<std::string>() : value.dump());
        batch->cells[base + it->second] = TableCell{text, false};
      }
      batch->row_numbers.push_back(++rows_);
      batch->lines.push_back(number);
      batch->rows++;
    }
    return batch->rows > 0;
  }

 private:
  std::unique_ptr<Lines> lines_;
  TableOptions options_;
  std::unordered_map<std::string, size_t> index_;
  std::deque<std::string> arena_;
  int64_t rows_ = 0;
};

}  // namespace

Result<std::unique_ptr<TableReader>> OpenJsonLines(const SourceOpener& open, std::string where,
                                                   const TableOptions& options) {
  // First pass: the keys.
  std::vector<std::string> keys;
  {
    CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> src, open());
    Lines lines(std::move(src), options.max_record_bytes);
    std::unordered_map<std::string, size_t> seen;
    std::string_view line;
    int64_t number = 0;
    json row;
    for (;;) {
      CAIRN_ASSIGN_OR_RETURN(bool got, lines.Next(&line, &number, where));
      if (!got) break;
      if (Blank(line)) continue;
      CAIRN_RETURN_IF_ERROR(ParseObject(line, number, where, &row));
      for (auto& [key, value] : row.items()) {
        if (seen.emplace(key, keys.size()).second) keys.push_back(key);
      }
    }
  }
  std::vector<std::string> names = keys;
  CAIRN_RETURN_IF_ERROR(NameColumns(&names, where));
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> src, open());
  auto lines = std::make_unique<Lines>(std::move(src), options.max_record_bytes);
  return std::unique_ptr<TableReader>(
      new JsonLinesReader(std::move(lines), std::move(keys), std::move(names), std::move(where), options));
}

}  // namespace cairn::table_internal
