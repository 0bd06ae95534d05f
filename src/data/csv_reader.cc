// The CSV/TSV reader: RFC 4180 quoting ("" inside quotes; delimiters and
// newlines inside quoted fields; CRLF or LF), the delimiter sniffed from the
// first lines, the header detected, read in large blocks with cells pointing
// into the block.
#include <algorithm>
#include <array>
#include <cstring>
#include <deque>

#include "data/table_internal.h"

namespace cairn::table_internal {
namespace {

constexpr size_t kBlockBytes = 1u << 20;

// The delimiter whose count is the same, and not zero, on each of the first
// lines (outside quotes); the most frequent one when none is steady.
char SniffDelimiter(std::string_view head, bool whole) {
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
  if (whole && any && lines.size() < 20) lines.push_back(counts);
  int best = -1;
  if (!lines.empty()) {
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
  }
  if (best >= 0) return kCandidates[best];
  // No usual delimiter: space-separated columns when every line has the
  // same number of them (runs of spaces are not merged).
  bool spaced = true;
  int64_t spaces = -1;
  int seen = 0;
  for (std::string_view rest = head; spaced && !rest.empty() && seen < 20;) {
    size_t nl = rest.find('\n');
    if (nl == std::string_view::npos && !whole) break;  // a cut last line says nothing
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    int64_t n = std::count(line.begin(), line.end(), ' ');
    ++seen;
    spaced = n > 0 && (spaces < 0 || n == spaces);
    spaces = n;
  }
  return spaced && spaces > 0 ? ' ' : ',';
}

// The most fields any of the first 20 lines of `head` has with `delimiter`
// (outside quotes).
size_t MostFields(std::string_view head, char delimiter) {
  size_t most = 0, fields = 1;
  int lines = 0;
  bool quoted = false, any = false;
  for (size_t i = 0; i < head.size() && lines < 20; ++i) {
    char c = head[i];
    if (c == '"') quoted = !quoted;
    if (quoted) continue;
    if (c == '\n') {
      if (any) {
        most = std::max(most, fields);
        ++lines;
      }
      fields = 1;
      any = false;
    } else if (c == delimiter) {
      ++fields;
      any = true;
    } else if (c != '\r') {
      any = true;
    }
  }
  return most;
}

class CsvReader : public TableReader {
 public:
  CsvReader(std::unique_ptr<ByteSource> src, std::string where, const TableOptions& options)
      : src_(std::move(src)), options_(options) {
    where_ = std::move(where);
  }

  Status Open(bool tsv) {
    format_ = tsv ? TableFormat::kTsv : TableFormat::kCsv;
    buf_.resize(kBlockBytes + 1);
    CAIRN_RETURN_IF_ERROR(Fill());
    if (end_ >= 3 && std::memcmp(buf_.data(), "\xEF\xBB\xBF", 3) == 0) pos_ = 3;  // a byte order mark
    std::string_view head(buf_.data() + pos_, std::min<size_t>(end_ - pos_, 64 * 1024));
    if (head.find('\n') == std::string_view::npos && head.find('\r') != std::string_view::npos) {
      return BadTable(where_, 1, "lines end in a lone carriage return (CR, old Mac OS), not LF or CRLF",
                      "convert the file first, e.g. tr '\\r' '\\n' < IN > OUT");
    }
    delimiter_ = tsv ? '\t' : SniffDelimiter(head, eof_ && end_ - pos_ <= head.size());
    stop_.fill(false);
    stop_[static_cast<uint8_t>(delimiter_)] = true;
    stop_['\n'] = true;
    const size_t widest = MostFields(head, delimiter_);  // before reading on moves the block
    std::vector<TableCell> first;
    int64_t first_line = 0;
    CAIRN_ASSIGN_OR_RETURN(bool got, NextRecord(&first, &first_line));
    if (!got) return Status::OK();  // an empty file: no columns, no rows
    header_ = true;
    for (const TableCell& c : first) {
      ColumnType t = CellType(c.text);
      if (t == ColumnType::kInteger || t == ColumnType::kNumber || t == ColumnType::kBoolean) header_ = false;
    }
    for (size_t i = 0; i < first.size(); ++i) {
      columns_.push_back(header_ ? std::string(first[i].text) : "column_" + std::to_string(i + 1));
    }
    if (!header_) {
      // Without a header the widest of the first lines sets the columns (a
      // short first line, such as a shape line, has missing cells).
      for (size_t i = columns_.size(); i < widest; ++i) {
        columns_.push_back("column_" + std::to_string(i + 1));
      }
    }
    CAIRN_RETURN_IF_ERROR(NameColumns(&columns_, where_));
    if (!header_) {
      for (const TableCell& c : first) pending_.emplace_back(c.text);
      pending_line_ = first_line;
    }
    pending_missing_ = columns_.size() - std::min(columns_.size(), pending_.size());
    return Status::OK();
  }

  Result<bool> Next(TableBatch* batch) override {
    const size_t width = columns_.size();
    batch->Reset(width);
    arena_.clear();
    if (width == 0) return false;
    if (!pending_.empty()) {
      for (std::string& s : pending_) {
        std::string_view text = arena_.emplace_back(std::move(s));
        batch->cells.push_back(TableCell{text, IsMissingText(text)});
      }
      pending_.clear();
      for (size_t i = 0; i < pending_missing_; ++i) batch->cells.push_back(TableCell{{}, true});
      AddRow(batch, pending_line_);
    }
    std::vector<TableCell>& cells = batch->cells;
    while (batch->rows < options_.batch_rows) {
      int64_t line = 0;
      const size_t base = cells.size();
      // Only whole records of the current block go into a batch: refilling
      // moves the block, so it happens before the first row of a batch.
      auto got = NextRecord(&cells, &line, /*may_refill=*/batch->rows == 0);
      if (!got.ok()) return got.status();
      if (!*got) break;
      size_t n = cells.size() - base;
      if (n > width) {
        for (size_t i = base + width; i < cells.size(); ++i) {
          if (!cells[i].text.empty()) {
            return BadTable(where_, line,
                            "this row has " + std::to_string(n) + " fields, the header " + std::to_string(width),
                            "a ragged row: quote fields that hold the delimiter '" + DelimiterName() + "'");
          }
        }
        cells.resize(base + width);
      }
      for (size_t i = n; i < width; ++i) cells.push_back(TableCell{{}, true});
      AddRow(batch, line);
    }
    return batch->rows > 0;
  }

 private:
  void AddRow(TableBatch* batch, int64_t line) {
    batch->row_numbers.push_back(++rows_);
    batch->lines.push_back(line);
    batch->rows++;
  }

  std::string DelimiterName() const { return delimiter_ == '\t' ? "\\t" : std::string(1, delimiter_); }

  // Moves the unread bytes to the front of the block and reads more; the
  // block grows when one record fills it, up to the record limit.
  Status Fill() {
    if (eof_) return Status::OK();
    if (pos_ > 0) {
      std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
      end_ -= pos_;
      pos_ = 0;
    }
    if (end_ == buf_.size() - 1) {
      if (buf_.size() - 1 >= options_.max_record_bytes + 2) {
        return BadTable(where_, line_,
                        "a record longer than " + std::to_string(options_.max_record_bytes >> 20) + " MiB",
                        "is this a text table? an unbalanced quote makes the rest of a file one field");
      }
      buf_.resize(std::min((buf_.size() - 1) * 2, options_.max_record_bytes + 2) + 1);
    }
    while (end_ < buf_.size() - 1) {
      CAIRN_ASSIGN_OR_RETURN(size_t got, src_->Read(buf_.data() + end_, buf_.size() - 1 - end_));
      if (got == 0) {
        eof_ = true;
        break;
      }
      end_ += got;
    }
    return Status::OK();
  }

  // Appends the fields of the next non-blank record to `fields`, its first
  // line in *line; false at the end. Without `may_refill`, stops (false) at
  // the end of the block instead of reading on.
  Result<bool> NextRecord(std::vector<TableCell>* fields, int64_t* line, bool may_refill = true) {
    const size_t base = fields->size();
    for (;;) {
      size_t start = pos_;
      int64_t lines_before = line_;
      CAIRN_ASSIGN_OR_RETURN(Parse p, ParseRecord(fields));
      if (p == Parse::kRecord) {
        *line = lines_before;
        if (fields->size() == base + 1 && fields->back().text.empty() && !quoted_last_) {  // a blank line
          fields->resize(base);
          continue;
        }
        size_t bad = 0;
        if (!CleanText(std::string_view(buf_.data() + start, pos_ - start), &bad)) {
          int64_t at = lines_before + std::count(buf_.data() + start, buf_.data() + start + bad, '\n');
          if (buf_[start + bad] == '\0') {
            return BadTable(where_, at, "NUL byte: this is binary data, not a text table");
          }
          return BadTable(where_, at, "invalid UTF-8", "save the file as UTF-8");
        }
        return true;
      }
      fields->resize(base);
      if (p == Parse::kEnd) return false;
      // kNeedMore: the record runs past the block.
      pos_ = start;
      line_ = lines_before;
      if (!may_refill) return false;
      CAIRN_RETURN_IF_ERROR(Fill());
    }
  }

  enum class Parse { kRecord, kNeedMore, kEnd };

  // One record from pos_, its fields appended to `fields`; kNeedMore (pos_,
  // line_ and `fields` to be reset by the caller) when it is not complete in
  // the block and more may come.
  Result<Parse> ParseRecord(std::vector<TableCell>* fields) {
    quoted_last_ = false;
    if (pos_ == end_) return eof_ ? Parse::kEnd : Parse::kNeedMore;
    const char* b = buf_.data();
    const char d = delimiter_;
    buf_[end_] = '\n';
    size_t i = pos_;
    const int64_t record_line = line_;
    for (;;) {
      if (i < end_ && b[i] == '"') {
        size_t j = i + 1;
        bool escaped = false;
        size_t close;
        for (;;) {
          const void* q = std::memchr(b + j, '"', end_ - j);
          if (!q) {
            if (!eof_) return Parse::kNeedMore;
            return BadTable(where_, record_line, "a quoted field is never closed",
                            "a field that starts with \" must end with \"; write \"\" for a quote inside it");
          }
          size_t k = static_cast<const char*>(q) - b;
          if (k + 1 < end_ && b[k + 1] == '"') {
            escaped = true;
            j = k + 2;
            continue;
          }
          if (k + 1 == end_ && !eof_) return Parse::kNeedMore;
          close = k;
          break;
        }
        line_ += std::count(b + i + 1, b + close, '\n');
        std::string_view text(b + i + 1, close - i - 1);
        if (escaped) {
          std::string& owned = arena_.emplace_back();
          owned.reserve(text.size());
          for (size_t k = 0; k < text.size(); ++k) {
            owned += text[k];
            if (text[k] == '"') ++k;  // "" is one quote
          }
          text = owned;
        }
        fields->push_back(TableCell{text, IsMissingText(text)});
        quoted_last_ = true;
        i = close + 1;
        if (i < end_ && b[i] == '\r') {
          if (i + 1 == end_ && !eof_) return Parse::kNeedMore;
          if (i + 1 == end_ || b[i + 1] == '\n') ++i;
        }
        if (i < end_ && b[i] != d && b[i] != '\n') {
          return BadTable(where_, line_, "text after the closing quote of a field",
                          "a field that starts with \" must end with \"; write \"\" for a quote inside it");
        }
      } else {
        // buf_[end_] is a '\n' sentinel, so the scan needs no bounds check.
        size_t k = i;
        while (!stop_[static_cast<uint8_t>(b[k])]) ++k;
        if (k == end_ && !eof_) return Parse::kNeedMore;
        size_t stop = k;
        if ((k == end_ || b[k] == '\n') && stop > i && b[stop - 1] == '\r') --stop;
        std::string_view text(b + i, stop - i);
        fields->push_back(TableCell{text, IsMissingText(text)});
        quoted_last_ = false;
        i = k;
      }
      if (i == end_) {  // the last record, without a final newline
        pos_ = i;
        return Parse::kRecord;
      }
      if (b[i] == d) {
        ++i;
        continue;
      }
      // b[i] == '\n'
      ++line_;
      pos_ = i + 1;
      return Parse::kRecord;
    }
  }

  std::unique_ptr<ByteSource> src_;
  TableOptions options_;
  std::string buf_;  // one byte longer than the block: room for the sentinel
  std::array<bool, 256> stop_{};
  size_t pos_ = 0, end_ = 0;
  bool eof_ = false;
  bool quoted_last_ = false;
  int64_t line_ = 1;
  int64_t rows_ = 0;
  std::deque<std::string> arena_;  // unescaped fields of the current batch
  std::vector<std::string> pending_;  // the first row, when it was data
  int64_t pending_line_ = 1;
  size_t pending_missing_ = 0;  // cells the first row lacks
};

}  // namespace

Result<std::unique_ptr<TableReader>> OpenCsv(const SourceOpener& open, bool tsv, std::string where,
                                             const TableOptions& options) {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> src, open());
  auto reader = std::make_unique<CsvReader>(std::move(src), std::move(where), options);
  CAIRN_RETURN_IF_ERROR(reader->Open(tsv));
  return std::unique_ptr<TableReader>(std::move(reader));
}

}  // namespace cairn::table_internal
