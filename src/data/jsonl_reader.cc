// The JSON Lines reader: one JSON object per line; the columns are the keys
// in order of first appearance over the whole file (a first pass collects
// them). Blank lines are skipped.
#include <cstring>
#include <deque>
#include <optional>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "cairn/json.h"
#include "data/table_internal.h"

namespace cairn::table_internal {
namespace {


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

// One line's top-level fields, read with nlohmann's SAX interface so that
// numbers keep the text they are written in (a DOM would turn integers
// beyond 64 bits and long decimals into doubles). Nested values become
// compact JSON with sorted keys, so key order inside them is no change.
class RowFields : public nlohmann::json_sax<nlohmann::json> {
 public:
  struct Field {
    std::string key;
    std::optional<std::string> text;  // nullopt: null
  };
  std::vector<Field> fields;
  std::string not_object;  // the type of a line that is no object
  bool too_deep = false;   // a value nested deeper than kMaxDepth

  void Clear() {
    fields.clear();
    not_object.clear();
    too_deep = false;
    depth_ = 0;
    stack_.clear();
    keys_.clear();
  }

  bool null() override { return Scalar(nlohmann::json(), std::nullopt); }
  bool boolean(bool v) override { return Scalar(nlohmann::json(v), std::string(v ? "true" : "false")); }
  bool number_integer(number_integer_t v) override { return Scalar(nlohmann::json(v), std::to_string(v)); }
  bool number_unsigned(number_unsigned_t v) override { return Scalar(nlohmann::json(v), std::to_string(v)); }
  bool number_float(number_float_t v, const string_t& text) override { return Scalar(nlohmann::json(v), text); }
  bool string(string_t& v) override { return Scalar(nlohmann::json(v), v); }
  bool binary(binary_t&) override { return Top("binary"); }
  bool start_object(std::size_t) override {
    if (depth_ >= kMaxDepth) return TooDeep();
    if (depth_++ == 0) return true;
    stack_.push_back(nlohmann::json::object());
    keys_.emplace_back();
    return true;
  }
  bool key(string_t& k) override {
    if (stack_.empty()) {
      key_ = k;
    } else {
      keys_.back() = k;
    }
    return true;
  }
  bool end_object() override { return EndContainer(); }
  bool start_array(std::size_t) override {
    if (depth_ >= kMaxDepth) return TooDeep();
    if (depth_++ == 0) return Top("array");
    stack_.push_back(nlohmann::json::array());
    keys_.emplace_back();
    return true;
  }
  bool end_array() override { return EndContainer(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  bool TooDeep() {
    too_deep = true;
    return false;
  }
  bool Top(const char* type) {
    not_object = type;
    return false;
  }
  bool Scalar(nlohmann::json value, std::optional<std::string> text) {
    if (depth_ == 0) return Top(value.is_null() ? "null" : value.type_name());
    if (stack_.empty()) {
      fields.push_back(Field{key_, std::move(text)});
      return true;
    }
    Add(std::move(value));
    return true;
  }
  void Add(nlohmann::json value) {
    nlohmann::json& parent = stack_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(value));
    } else {
      parent[keys_.back()] = std::move(value);
    }
  }
  bool EndContainer() {
    --depth_;
    if (stack_.empty()) return true;  // the line's object
    nlohmann::json value = std::move(stack_.back());
    stack_.pop_back();
    keys_.pop_back();
    if (stack_.empty()) {
      fields.push_back(Field{key_, DumpJson(value)});
    } else {
      Add(std::move(value));
    }
    return true;
  }

  static constexpr int kMaxDepth = 256;  // deeper would recurse too deep in the nested values' dump

  int depth_ = 0;
  std::string key_;
  std::vector<nlohmann::json> stack_;  // nested containers being built
  std::vector<std::string> keys_;      // the pending key of each
};

// Parses one line as a JSON object into `row`.
Status ParseObject(std::string_view line, int64_t number, const std::string& where, RowFields* row) {
  size_t bad = 0;
  if (!CleanText(line, &bad)) {
    if (line[bad] == '\0') return BadTable(where, number, "NUL byte: this is binary data, not JSON Lines");
    return BadTable(where, number, "invalid UTF-8", "save the file as UTF-8");
  }
  row->Clear();
  bool ok = nlohmann::json::sax_parse(line.begin(), line.end(), row);
  if (row->too_deep) {
    return BadTable(where, number, "a value nested deeper than 256 levels", "flatten the nesting of that field");
  }
  if (!row->not_object.empty()) {
    return BadTable(where, number, "a JSON " + row->not_object + ", not an object",
                    "JSON Lines hold one object per line");
  }
  if (!ok) return BadTable(where, number, "not valid JSON", "JSON Lines hold one object per line");
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
    RowFields& row = row_;
    while (batch->rows < options_.batch_rows) {
      CAIRN_ASSIGN_OR_RETURN(bool got, lines_->Next(&line, &number, where_));
      if (!got) break;
      if (Blank(line)) continue;
      CAIRN_RETURN_IF_ERROR(ParseObject(line, number, where_, &row));
      size_t base = batch->cells.size();
      batch->cells.resize(base + width, TableCell{{}, true});
      for (RowFields::Field& f : row.fields) {
        auto it = index_.find(f.key);
        if (it == index_.end()) continue;  // the first pass saw every key; cannot happen unless the file changed
        if (!f.text) {
          batch->cells[base + it->second] = TableCell{{}, true};
          continue;
        }
        std::string& text = arena_.emplace_back(std::move(*f.text));
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
  RowFields row_;
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
    RowFields row;
    for (;;) {
      CAIRN_ASSIGN_OR_RETURN(bool got, lines.Next(&line, &number, where));
      if (!got) break;
      if (Blank(line)) continue;
      CAIRN_RETURN_IF_ERROR(ParseObject(line, number, where, &row));
      for (const RowFields::Field& f : row.fields) {
        if (seen.emplace(f.key, keys.size()).second) keys.push_back(f.key);
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
