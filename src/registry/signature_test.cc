// Signature inference (through the table readers) and comparison.
#include <gtest/gtest.h>

#include "cairn/dataset.h"
#include "cairn/model_signature.h"
#include "registry/signature_infer.h"
#include "test_util/temp_dir.h"

namespace cairn {
namespace {

namespace fs = std::filesystem;

using signature_internal::InferOptions;
using signature_internal::InferTable;
using testing::TempDir;
using testing::WriteText;

Result<InferredSchema> Infer(const std::string& text, TableFormat format = TableFormat::kCsv,
                             InferOptions options = {}) {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<TableReader> reader,
                         OpenTableBytes(text, format, "t.csv", signature_internal::SampleReaderOptions()));
  return InferTable(*reader, "file:t.csv", options);
}

std::string Types(const InferredSchema& t) {
  std::string out;
  for (const auto& c : t.signature.columns) out += (out.empty() ? "" : ",") + c.name + ":" + c.type;
  return out;
}

TEST(ModelSignatureInfer, CellTypesBecomeColumnTypes) {
  // One column per spelling; a column of missing values is recorded as
  // string with no values.
  auto t = Infer("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p\n"
                 "42,-7, 3 ,99999999999999999999,1.5,.5,1e-3,-inf,TRUE,false,,NA,NaN,1.2.3,1e,abc\n");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->signature.source, "file:t.csv");
  EXPECT_EQ(Types(*t),
            "a:integer,b:integer,c:integer,d:number,e:number,f:number,g:number,h:number,i:boolean,j:boolean,"
            "k:string,l:string,m:string,n:string,o:string,p:string");
  EXPECT_EQ(t->values, (std::vector<int64_t>{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1}));
}

TEST(ModelSignatureInfer, CsvWithHeaderWidensTypes) {
  auto t = Infer("id,score,ok,name,mixed\n1,0.5,true,a,1\n2,3,false,b,x\n3,,true,,2\n");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->rows, 3);
  EXPECT_TRUE(t->complete);
  EXPECT_EQ(Types(*t), "id:integer,score:number,ok:boolean,name:string,mixed:string");
  EXPECT_EQ(t->values[1], 2);  // one missing score
}

TEST(ModelSignatureInfer, CsvWithoutHeaderNamesColumns) {
  auto t = Infer("1,a,2.5\n2,b,3\n");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->rows, 2);
  EXPECT_EQ(Types(*t), "column_1:integer,column_2:string,column_3:number");
}

TEST(ModelSignatureInfer, QuotedFieldsPerRfc4180) {
  // Quoted delimiters, doubled quotes, a newline inside quotes, CRLF, a BOM.
  auto t = Infer("\xEF\xBB\xBF\"a,b\",\"say \"\"hi\"\"\"\r\n\"1\",\"x\r\ny, z\"\r\n2,w\r\n");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(Types(*t), "a,b:integer,say \"hi\":string");
  EXPECT_EQ(t->rows, 2);
}

TEST(ModelSignatureInfer, SniffsDelimiterAndReadsTsv) {
  auto semi = Infer("a;b;c\n1;2,5;x\n3;4;y\n");
  ASSERT_TRUE(semi.ok());
  EXPECT_EQ(Types(*semi), "a:integer,b:string,c:string");
  auto tab = Infer("a\tb\n1\t2\n");
  ASSERT_TRUE(tab.ok());
  EXPECT_EQ(Types(*tab), "a:integer,b:integer");
  auto tsv = Infer("a,b\tc\n1,2\t3\n", TableFormat::kTsv);  // TSV: no sniffing
  ASSERT_TRUE(tsv.ok());
  EXPECT_EQ(Types(*tsv), "a,b:string,c:integer");
}

TEST(ModelSignatureInfer, EmptyAndRepeatedHeaderNames) {
  auto t = Infer(",x,x\n0,1,2\n");  // pandas' index column has an empty name
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(Types(*t), "column_1:integer,x:integer,x.1:integer");
}

TEST(ModelSignatureInfer, RepeatedNamesTakeTheFirstFreeSuffix) {
  // A suffix a later header name already holds is skipped, and a name that
  // is itself NAME.k gets its own suffixes.
  auto t = Infer("c,c,c.2,c,c.1,c,c.1,,column_9\n1,2,3,4,5,6,7,8,9\n");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(Types(*t),
            "c:integer,c.1:integer,c.2:integer,c.3:integer,c.1.1:integer,c.4:integer,c.1.2:integer,"
            "column_8:integer,column_9:integer");
  // Many columns of one name: every one distinct, numbered in order.
  std::string header, row;
  for (int i = 0; i < 2000; ++i) {
    header += std::string(i ? "," : "") + "c";
    row += std::string(i ? "," : "") + "1";
  }
  auto many = Infer(header + "\n" + row + "\n");
  ASSERT_TRUE(many.ok());
  ASSERT_EQ(many->signature.columns.size(), 2000u);
  EXPECT_EQ(many->signature.columns[0].name, "c");
  EXPECT_EQ(many->signature.columns[1].name, "c.1");
  EXPECT_EQ(many->signature.columns[1999].name, "c.1999");
}

TEST(ModelSignatureInfer, BlankLinesShortRowsAndTrailingEmptyFields) {
  auto t = Infer("a,b\n\n1\n2,3,\n");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->rows, 2);
  EXPECT_EQ(Types(*t), "a:integer,b:integer");
}

TEST(ModelSignatureInfer, BadCsvNamesTheLine) {
  auto ragged = Infer("a,b\n1,2\n3,4,5\n");
  ASSERT_FALSE(ragged.ok());
  EXPECT_EQ(ragged.status().code(), Code::kInvalidArgument);
  EXPECT_NE(ragged.status().message().find("t.csv:3: this row has 3 fields, the header 2"), std::string::npos)
      << ragged.status().message();
  auto open = Infer("a,b\n1,\"never closed\n2,3\n");
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.status().message().find("t.csv:2: a quoted field is never closed"), std::string::npos);
  auto binary = Infer(std::string("a,b\n1,\0\n", 8));
  ASSERT_FALSE(binary.ok());
  EXPECT_NE(binary.status().message().find("NUL"), std::string::npos);
  auto latin1 = Infer("caf\xe9,b\nx,1\n");
  ASSERT_FALSE(latin1.ok());
  EXPECT_NE(latin1.status().message().find("t.csv:1: invalid UTF-8"), std::string::npos) << latin1.status().message();
}

TEST(ModelSignatureInfer, ReadsOnlyTheSample) {
  std::string text = "n,v\n";
  for (int i = 0; i < 50; ++i) text += std::to_string(i) + ",1\n";
  text += "x,oops\n5,5\n";  // beyond the sample: only tells that there is more
  text += "1,2,3\n";        // a ragged row further on: never parsed
  InferOptions o;
  o.sample_rows = 50;
  auto t = Infer(text, TableFormat::kCsv, o);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->rows, 50);
  EXPECT_FALSE(t->complete);
  EXPECT_EQ(Types(*t), "n:integer,v:integer");
  o.sample_rows = 51;
  auto more = Infer(text, TableFormat::kCsv, o);
  ASSERT_TRUE(more.ok()) << more.status().ToString();
  EXPECT_FALSE(more->complete);
  EXPECT_EQ(Types(*more), "n:string,v:string");
  o.sample_rows = 52;
  EXPECT_FALSE(Infer(text, TableFormat::kCsv, o).ok());  // the ragged row is the one after the sample
}

TEST(ModelSignatureInfer, JsonLinesUnionOfKeys) {
  auto t = Infer("{\"q\": \"a\", \"k\": 1, \"w\": 0.5}\n\n{\"k\": 2.5, \"flag\": true, \"q\": null}\r\n"
                 "{\"tags\": [1], \"w\": 2}",
                 TableFormat::kJsonLines);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->rows, 3);
  EXPECT_EQ(Types(*t), "q:string,k:number,w:number,flag:boolean,tags:string");
  EXPECT_EQ(t->values, (std::vector<int64_t>{1, 2, 2, 1, 1}));
  // A string is typed by its text, as a CSV cell is.
  auto text = Infer("{\"zip\": \"02139\", \"on\": \"true\", \"none\": \"NA\"}\n", TableFormat::kJsonLines);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(Types(*text), "zip:integer,on:boolean,none:string");
  EXPECT_EQ(text->values[2], 0);
  auto bad = Infer("{\"a\": 1}\n[1, 2]\n", TableFormat::kJsonLines);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("t.csv:2: a JSON array, not an object"), std::string::npos)
      << bad.status().message();
}

TEST(ModelSignatureInfer, TabularFileNames) {
  EXPECT_TRUE(IsTabularFileName("x/TRAIN.CSV"));
  EXPECT_TRUE(IsTabularFileName("a.ndjson"));
  EXPECT_TRUE(IsTabularFileName("b.parquet"));
  EXPECT_FALSE(IsTabularFileName("model.pkl"));
}

TEST(ModelSignatureCompare, RulesForMissingExtraAndRetyped) {
  ModelSignature want;
  want.columns = {{"age", "integer"}, {"income", "number"}, {"city", "string"}, {"member", "boolean"},
                  {"note", "string"}};
  InferredSchema got;
  got.signature.columns = {{"income", "integer"}, {"age", "number"}, {"member", "boolean"},
                           {"note", "string"},    {"zip", "integer"}};
  got.values = {5, 5, 5, 0, 5};
  SignatureCheck c = CompareSignature(want, got, /*allow_extra=*/false);
  EXPECT_FALSE(c.matches());
  ASSERT_EQ(c.missing.size(), 1u);
  EXPECT_EQ(c.missing[0].name, "city");
  ASSERT_EQ(c.extra.size(), 1u);
  EXPECT_EQ(c.extra[0].name, "zip");
  ASSERT_EQ(c.retyped.size(), 1u);  // number data where integer is expected
  EXPECT_EQ(c.retyped[0].name, "age");
  ASSERT_EQ(c.compatible.size(), 1u);
  EXPECT_EQ(c.compatible[0].rule, "integer-as-number");

  got.signature.columns = {{"age", "integer"}, {"income", "number"}, {"city", "integer"},
                           {"member", "boolean"}, {"note", "string"}, {"zip", "integer"}};
  got.values = {1, 1, 0, 1, 1, 1};  // no city values: type unknown
  c = CompareSignature(want, got, /*allow_extra=*/true);
  EXPECT_TRUE(c.matches());
  ASSERT_EQ(c.compatible.size(), 1u);
  EXPECT_EQ(c.compatible[0].rule, "no-values");
  Json j = SignatureCheckJson(c);
  EXPECT_TRUE(j["match"].get<bool>());
  EXPECT_EQ(j["extra"][0]["name"], "zip");
  // values: one member per data column, in the data's order.
  ASSERT_EQ(j["data"]["values"].size(), got.signature.columns.size());
  size_t i = 0;
  for (const auto& [name, count] : j["data"]["values"].items()) {
    EXPECT_EQ(name, got.signature.columns[i].name);
    EXPECT_EQ(count, got.values[i]);
    ++i;
  }
}

class ModelSignatureRepo : public ::testing::Test {
 protected:
  void SetUp() override {
    old_cwd_ = fs::current_path();
    fs::current_path(dir_.path());
    bool created = false;
    auto r = Repo::Init(dir_.path(), /*no_git=*/true, &created);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    repo_ = std::move(r).value();
  }
  void TearDown() override {
    repo_.reset();
    fs::current_path(old_cwd_);
  }
  fs::path old_cwd_;
  TempDir dir_;
  std::unique_ptr<Repo> repo_;
};

TEST_F(ModelSignatureRepo, FromWorkspaceAndDatasetVersions) {
  WriteText(dir_.path() / "train/README.md", "not a table\n");
  WriteText(dir_.path() / "train/b.jsonl", "{\"x\": 1}\n");
  WriteText(dir_.path() / "train/a.csv", "x,y\n1,yes\n");
  auto dir = InferSchema(*repo_, "train");
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(dir->signature.source, "file:train/a.csv");
  ASSERT_EQ(dir->signature.columns.size(), 2u);

  auto added = Add(*repo_, {"train"}, AddOptions{});
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  WriteText(dir_.path() / "train/a.csv", "x,y,z\n1,yes,2\n");  // the workspace moves on
  auto version = InferSchema(*repo_, "train@" + (*added)[0].version.Hex().substr(0, 12));
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  EXPECT_EQ(version->signature.source, "dataset:train@" + (*added)[0].version.Hex() + ":a.csv");
  EXPECT_EQ(version->signature.columns.size(), 2u);

  ModelDataset upstream{"raw", (*added)[0].version, {}, /*direct=*/false, false};
  ModelDataset direct{"train", (*added)[0].version, {}, /*direct=*/true, false};
  auto none = InferTrainingSignature(*repo_, {upstream});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto training = InferTrainingSignature(*repo_, {upstream, direct});
  ASSERT_TRUE(training.ok());
  ASSERT_TRUE(training->has_value());
  EXPECT_EQ((*training)->columns[0].name, "x");

  auto missing = InferSchema(*repo_, "nothing-here");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  auto not_table = InferSchema(*repo_, "train/README.md");
  ASSERT_FALSE(not_table.ok());
  EXPECT_EQ(not_table.status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace cairn
