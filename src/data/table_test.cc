#include "cairn/table.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "data/duckdb_lib.h"

namespace cairn {
namespace {

struct Read {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;  // "<NA>" for a missing cell
  std::vector<int64_t> lines;
  char delimiter = ',';
  bool header = true;
};

Result<Read> ReadAll(std::string_view bytes, TableFormat format, size_t batch_rows = 4096) {
  TableOptions options;
  options.batch_rows = batch_rows;
  CAIRN_ASSIGN_OR_RETURN(auto reader, OpenTableBytes(bytes, format, "t.csv", options));
  Read out;
  out.columns = reader->columns();
  out.delimiter = reader->delimiter();
  out.header = reader->header();
  TableBatch batch;
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool more, reader->Next(&batch));
    if (!more) break;
    EXPECT_EQ(batch.width, out.columns.size());
    for (size_t r = 0; r < batch.rows; ++r) {
      std::vector<std::string> row;
      for (size_t c = 0; c < batch.width; ++c) {
        const TableCell& cell = batch.cell(r, c);
        row.push_back(cell.missing ? "<NA>" : std::string(cell.text));
      }
      out.rows.push_back(row);
      out.lines.push_back(batch.lines[r]);
      EXPECT_EQ(batch.row_numbers[r], static_cast<int64_t>(out.rows.size()));
    }
  }
  return out;
}

using Rows = std::vector<std::vector<std::string>>;

TEST(TableCsv, QuotingEscapesAndLineEndings) {
  auto t = ReadAll("id,text,n\r\n1,\"a, b\",2\r\n2,\"say \"\"hi\"\"\",3\n3,\"two\nlines\",4\n", TableFormat::kCsv);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->columns, (std::vector<std::string>{"id", "text", "n"}));
  EXPECT_EQ(t->rows, (Rows{{"1", "a, b", "2"}, {"2", "say \"hi\"", "3"}, {"3", "two\nlines", "4"}}));
  EXPECT_EQ(t->lines, (std::vector<int64_t>{2, 3, 4}));
}

TEST(TableCsv, SniffsDelimiterAndHeader) {
  auto semi = ReadAll("a;b\n1;2\n", TableFormat::kCsv);
  ASSERT_TRUE(semi.ok());
  EXPECT_EQ(semi->delimiter, ';');
  EXPECT_EQ(semi->rows, (Rows{{"1", "2"}}));
  auto noheader = ReadAll("1,x\n2,y\n", TableFormat::kCsv);
  ASSERT_TRUE(noheader.ok());
  EXPECT_FALSE(noheader->header);
  EXPECT_EQ(noheader->columns, (std::vector<std::string>{"column_1", "column_2"}));
  EXPECT_EQ(noheader->rows, (Rows{{"1", "x"}, {"2", "y"}}));
  EXPECT_EQ(noheader->lines, (std::vector<int64_t>{1, 2}));
  auto tsv = ReadAll("a,b\tc\n1,2\t3\n", TableFormat::kTsv);
  ASSERT_TRUE(tsv.ok());
  EXPECT_EQ(tsv->columns, (std::vector<std::string>{"a,b", "c"}));
}

TEST(TableCsv, MissingValuesShortRowsAndBlankLines) {
  auto t = ReadAll("\xEF\xBB\xBF" "a,b,c\n1,,NA\n\n2\n3,4,5,,\n", TableFormat::kCsv);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->columns[0], "a");
  EXPECT_EQ(t->rows, (Rows{{"1", "<NA>", "<NA>"}, {"2", "<NA>", "<NA>"}, {"3", "4", "5"}}));
  EXPECT_EQ(t->lines, (std::vector<int64_t>{2, 4, 5}));
}

TEST(TableCsv, NamesEmptyAndRepeatedColumns) {
  auto t = ReadAll("a,,a,a\nx,y,z,w\n", TableFormat::kCsv);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->columns, (std::vector<std::string>{"a", "column_2", "a.1", "a.2"}));
}

TEST(TableCsv, BadInputNamesTheLine) {
  auto ragged = ReadAll("a,b\n1,2\n3,4,5\n", TableFormat::kCsv);
  ASSERT_FALSE(ragged.ok());
  EXPECT_NE(ragged.status().message().find("t.csv:3:"), std::string::npos) << ragged.status().message();
  auto quote = ReadAll("a,b\n1,2\n3,\"open\n4,5\n", TableFormat::kCsv);
  ASSERT_FALSE(quote.ok());
  EXPECT_NE(quote.status().message().find("t.csv:3: a quoted field is never closed"), std::string::npos)
      << quote.status().message();
  auto utf8 = ReadAll("a,b\n1,2\n3,\xff\n", TableFormat::kCsv);
  ASSERT_FALSE(utf8.ok());
  EXPECT_NE(utf8.status().message().find("t.csv:3: invalid UTF-8"), std::string::npos) << utf8.status().message();
  auto nul = ReadAll(std::string("a,b\n1,\0\n", 8), TableFormat::kCsv);
  ASSERT_FALSE(nul.ok());
  EXPECT_NE(nul.status().message().find("NUL byte"), std::string::npos);
  auto after = ReadAll("a,b\n\"x\"y,2\n", TableFormat::kCsv);
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.status().code(), Code::kInvalidArgument);
}

TEST(TableCsv, HugeRecordIsAnErrorNotAnAllocation) {
  TableOptions options;
  options.max_record_bytes = 1u << 20;
  std::string bytes = "a,b\n1,\"" + std::string(3u << 20, 'x') + "\"\n";
  auto reader = OpenTableBytes(bytes, TableFormat::kCsv, "big.csv", options);
  ASSERT_TRUE(reader.ok());
  TableBatch batch;
  auto got = (*reader)->Next(&batch);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("longer than 1 MiB"), std::string::npos) << got.status().message();
}

TEST(TableCsv, RecordsAcrossBlocksAndBatches) {
  // Quoted newlines and escapes straddling the 1 MiB block boundary.
  std::string bytes = "id,text\n";
  std::vector<std::string> want;
  for (int i = 0; bytes.size() < (3u << 20); ++i) {
    std::string text = "row " + std::to_string(i) + " \"q\" and\nnewline " + std::string(i % 97, 'z');
    std::string quoted;
    for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    bytes += std::to_string(i) + ",\"" + quoted + "\"\n";
    want.push_back(text);
  }
  auto t = ReadAll(bytes, TableFormat::kCsv, 1000);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->rows.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(t->rows[i][0], std::to_string(i));
    ASSERT_EQ(t->rows[i][1], want[i]);
    ASSERT_EQ(t->lines[i], static_cast<int64_t>(2 + 2 * i));
  }
}

TEST(TableCsv, EmptyFileHasNoColumns) {
  auto t = ReadAll("", TableFormat::kCsv);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->columns.empty());
  EXPECT_TRUE(t->rows.empty());
  auto header_only = ReadAll("a,b\n", TableFormat::kCsv);
  ASSERT_TRUE(header_only.ok());
  EXPECT_EQ(header_only->columns.size(), 2u);
  EXPECT_TRUE(header_only->rows.empty());
}

TEST(TableJsonLines, KeysInOrderOfFirstAppearance) {
  auto t = ReadAll("{\"a\": 1, \"b\": \"x\"}\n\n{\"c\": [1, 2], \"a\": null}\n{\"b\": \"\", \"a\": 2.5}\n",
                   TableFormat::kJsonLines);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->columns, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(t->rows, (Rows{{"1", "x", "<NA>"}, {"<NA>", "<NA>", "[1,2]"}, {"2.5", "", "<NA>"}}));
  EXPECT_EQ(t->lines, (std::vector<int64_t>{1, 3, 4}));
  auto bad = ReadAll("{\"a\": 1}\n[1]\n", TableFormat::kJsonLines);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("t.csv:2: a JSON array, not an object"), std::string::npos)
      << bad.status().message();
  auto broken = ReadAll("{\"a\": 1}\n{\"a\": \n", TableFormat::kJsonLines);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("t.csv:2: not valid JSON"), std::string::npos);
}

TEST(TableTypes, CellTypesAndNumbers) {
  EXPECT_EQ(CellType("42"), ColumnType::kInteger);
  EXPECT_EQ(CellType("-4.5e3"), ColumnType::kNumber);
  EXPECT_EQ(CellType("99999999999999999999"), ColumnType::kNumber);
  EXPECT_EQ(CellType("TRUE"), ColumnType::kBoolean);
  EXPECT_EQ(CellType("NaN"), ColumnType::kUnknown);
  EXPECT_EQ(CellType("abc"), ColumnType::kString);
  EXPECT_EQ(MergeColumnTypes(ColumnType::kInteger, ColumnType::kNumber), ColumnType::kNumber);
  EXPECT_EQ(MergeColumnTypes(ColumnType::kBoolean, ColumnType::kNumber), ColumnType::kString);
  EXPECT_EQ(MergeColumnTypes(ColumnType::kUnknown, ColumnType::kBoolean), ColumnType::kBoolean);
  EXPECT_DOUBLE_EQ(*CellNumber(" 2.5 "), 2.5);
  EXPECT_DOUBLE_EQ(*CellNumber("+7"), 7.0);
  EXPECT_FALSE(CellNumber("x").has_value());
  EXPECT_TRUE(std::isinf(*CellNumber("-inf")));
  EXPECT_EQ(TableFormatFor("a/B.CSV"), TableFormat::kCsv);
  EXPECT_EQ(TableFormatFor("x.ndjson"), TableFormat::kJsonLines);
  EXPECT_FALSE(TableFormatFor("x.png").has_value());
}

}  // namespace
}  // namespace cairn

namespace cairn {
namespace {

// Parquet through DuckDB; the file is written by DuckDB itself.
TEST(TableParquet, ReadsTypedColumnsAsText) {
  Status available = DuckDbAvailable();
  if (!available.ok()) {
    const char* ci = std::getenv("CI");
    if (ci && std::string(ci) == "true") FAIL() << "DuckDB is needed under CI: " << available.ToString();
    GTEST_SKIP() << available.ToString();
  }
  auto api = duckdb::Load();
  ASSERT_TRUE(api.ok());
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("cairn-pq-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::path file = dir / "t.parquet";
  duckdb::Database db = nullptr;
  duckdb::Connection con = nullptr;
  ASSERT_EQ((*api)->open(nullptr, &db), duckdb::kSuccess);
  ASSERT_EQ((*api)->connect(db, &con), duckdb::kSuccess);
  duckdb::QueryResult r{};
  std::string sql = "COPY (SELECT i AS id, i * 0.5 AS half, CASE WHEN i % 3 = 0 THEN NULL ELSE 'v' || i END AS s, "
                    "i % 2 = 0 AS even, CAST(i % 100 - 50 AS TINYINT) AS tiny, CAST(i AS FLOAT) / 4 AS f, "
                    "DATE '2020-01-01' + CAST(i AS INTEGER) AS d, CAST(i / 4 AS DECIMAL(10, 2)) AS dec, "
                    "CASE WHEN i = 7 THEN 'inf'::DOUBLE WHEN i = 8 THEN -1e300 ELSE i * 1e20 END AS big, "
                    "(i - 2500) * pow(10, i % 40 - 20) / 7 AS spread, "
                    "CAST((i - 2500) * pow(10, i % 40 - 20) / 7 AS VARCHAR) AS spread_text, "
                    "CASE WHEN i % 7 = 1 THEN 'nan'::DOUBLE ELSE i END AS dnan, "
                    "CASE WHEN i % 7 = 2 THEN 'nan'::FLOAT ELSE i::FLOAT END AS fnan "
                    "FROM range(5000) t(i)) TO '" + file.string() + "' (FORMAT parquet)";
  ASSERT_EQ((*api)->query(con, sql.c_str(), &r), duckdb::kSuccess) << (*api)->result_error(&r);
  (*api)->destroy_result(&r);
  (*api)->disconnect(&con);
  (*api)->close(&db);

  auto reader = OpenTableFile(file, TableFormat::kParquet, "t.parquet");
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->columns(),
            (std::vector<std::string>{"id", "half", "s", "even", "tiny", "f", "d", "dec", "big", "spread",
                                      "spread_text", "dnan", "fnan"}));
  TableBatch batch;
  int64_t rows = 0;
  for (;;) {
    auto more = (*reader)->Next(&batch);
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    if (!*more) break;
    for (size_t r = 0; r < batch.rows; ++r, ++rows) {
      ASSERT_EQ(batch.cell(r, 0).text, std::to_string(rows));
      ASSERT_EQ(*CellNumber(batch.cell(r, 1).text), rows * 0.5);
      ASSERT_EQ(batch.cell(r, 2).missing, rows % 3 == 0);
      if (rows % 3 != 0) {
        ASSERT_EQ(batch.cell(r, 2).text, "v" + std::to_string(rows));
      }
      ASSERT_EQ(batch.cell(r, 3).text, rows % 2 == 0 ? "true" : "false");
      // Numbers as DuckDB writes them: whole doubles with ".0", the shortest
      // round-trip form otherwise; dates and decimals by DuckDB's cast.
      ASSERT_EQ(batch.cell(r, 1).text, std::to_string(rows / 2) + (rows % 2 ? ".5" : ".0"));
      ASSERT_EQ(batch.cell(r, 4).text, std::to_string(rows % 100 - 50));
      ASSERT_EQ(batch.cell(r, 9).text, batch.cell(r, 10).text);  // as DuckDB's own cast writes it
      ASSERT_EQ(batch.cell(r, 11).missing, rows % 7 == 1);  // NaN is missing, in doubles and floats
      ASSERT_EQ(batch.cell(r, 12).missing, rows % 7 == 2);
      if (rows == 6) {
        EXPECT_EQ(batch.cell(r, 5).text, "1.5");
        EXPECT_EQ(batch.cell(r, 6).text, "2020-01-07");
        EXPECT_EQ(batch.cell(r, 7).text, "1.50");
        EXPECT_EQ(batch.cell(r, 8).text, "6e+20");
      }
      if (rows == 7) {
        EXPECT_EQ(batch.cell(r, 8).text, "inf");
      }
      if (rows == 8) {
        EXPECT_EQ(batch.cell(r, 8).text, "-1e+300");
      }
      if (rows == 0) {
        EXPECT_EQ(batch.cell(r, 8).text, "0.0");
      }
      if (rows == 4) {
        EXPECT_EQ(batch.cell(r, 5).text, "1.0");
        EXPECT_EQ(batch.cell(r, 8).text, "4e+20");
      }
      ASSERT_EQ(batch.row_numbers[r], rows + 1);
    }
  }
  EXPECT_EQ(rows, 5000);
  // A file named like a glob is that file alone (DuckDB would read t.parquet with it).
  std::filesystem::copy_file(file, dir / "*.parquet");
  auto star = OpenTableFile(dir / "*.parquet", TableFormat::kParquet, "*.parquet");
  ASSERT_TRUE(star.ok()) << star.status().ToString();
  int64_t star_rows = 0;
  for (;;) {
    auto more = (*star)->Next(&batch);
    ASSERT_TRUE(more.ok());
    if (!*more) break;
    star_rows += static_cast<int64_t>(batch.rows);
  }
  EXPECT_EQ(star_rows, 5000);
  auto bad = OpenTableFile(dir / "missing.parquet", TableFormat::kParquet, "missing.parquet");
  EXPECT_FALSE(bad.ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cairn

namespace cairn {
namespace {

TEST(TableCsv, SpaceSeparatedWhenNothingElseFits) {
  auto reader = OpenTableBytes("Chins Situps Jumps\n5 162 60\n2 110 60\n", TableFormat::kCsv, "l.csv");
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->delimiter(), ' ');
  EXPECT_EQ((*reader)->columns(), (std::vector<std::string>{"Chins", "Situps", "Jumps"}));
  auto text = OpenTableBytes("name\nAda Lovelace\nAlan M Turing\n", TableFormat::kCsv, "n.csv");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ((*text)->delimiter(), ',');
}

}  // namespace
}  // namespace cairn

namespace cairn {
namespace {

TEST(TableJsonLines, KeysKeepFileOrderNotAlphabetical) {
  auto reader = OpenTableBytes("{\"zeta\": 1, \"alpha\": 2}\n{\"mid\": 3}\n", TableFormat::kJsonLines, "t.jsonl");
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->columns(), (std::vector<std::string>{"zeta", "alpha", "mid"}));
  TableBatch batch;
  ASSERT_TRUE(*(*reader)->Next(&batch));
  EXPECT_EQ(batch.cell(0, 0).text, "1");
  EXPECT_EQ(batch.cell(0, 1).text, "2");
}

}  // namespace
}  // namespace cairn

namespace cairn {
namespace {

// scikit-learn's CSVs start with a short shape line (rows, features, class names).
TEST(TableCsv, ShortFirstLineWithoutHeader) {
  auto t = OpenTableBytes("3,2,a,b\n1.5,2.5,0,x,y\n3.5,4.5,1,z,w\n", TableFormat::kCsv, "s.csv");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ((*t)->columns().size(), 5u);
  TableBatch batch;
  auto more = (*t)->Next(&batch);
  ASSERT_TRUE(more.ok()) << more.status().ToString();
  ASSERT_EQ(batch.rows, 3u);
  EXPECT_EQ(batch.cell(0, 3).text, "b");
  EXPECT_TRUE(batch.cell(0, 4).missing);
  EXPECT_EQ(batch.cell(2, 4).text, "w");
}

}  // namespace
}  // namespace cairn

namespace cairn {
namespace {

TEST(TableJsonLines, NumbersKeepTheirTextAndNestedKeysAreSorted) {
  auto t = ReadAll("{\"id\": 18446744073709551617, \"v\": 1.00000000000000001, \"e\": 1.5E+3, "
                   "\"n\": {\"b\": [1, 2], \"a\": 1}, \"z\": null}\n",
                   TableFormat::kJsonLines);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->columns, (std::vector<std::string>{"id", "v", "e", "n", "z"}));
  EXPECT_EQ(t->rows, (Rows{{"18446744073709551617", "1.00000000000000001", "1.5E+3", "{\"a\":1,\"b\":[1,2]}", "<NA>"}}));
  auto scalar = ReadAll("{\"a\": 1}\n42\n", TableFormat::kJsonLines);
  ASSERT_FALSE(scalar.ok());
  EXPECT_NE(scalar.status().message().find("t.csv:2: a JSON number, not an object"), std::string::npos)
      << scalar.status().message();
}

}  // namespace
}  // namespace cairn

namespace cairn {
namespace {

// Deep nesting is refused with the line (100,000 levels once overflowed the
// stack); 200 levels are a value like any other.
TEST(TableJsonLines, NestingDeeperThan256IsAnError) {
  auto read_all = [](const std::string& text) -> Status {
    CAIRN_ASSIGN_OR_RETURN(auto reader, OpenTableBytes(text, TableFormat::kJsonLines, "d.jsonl"));
    TableBatch batch;
    for (;;) {
      CAIRN_ASSIGN_OR_RETURN(bool more, reader->Next(&batch));
      if (!more) return Status::OK();
    }
  };
  std::string deep = "{\"a\": 1}\n{\"a\": " + std::string(100000, '[') + std::string(100000, ']') + "}\n";
  Status s = read_all(deep);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("d.jsonl:2: a value nested deeper than 256 levels"), std::string::npos) << s.message();
  EXPECT_TRUE(read_all("{\"a\": " + std::string(200, '[') + std::string(200, ']') + "}\n").ok());
}

}  // namespace
}  // namespace cairn
