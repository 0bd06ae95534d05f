// Profiles of small tables: every statistic against values worked out by
// hand (and with numpy/pandas for the quantiles and std).
#include "cairn/profile.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "cairn/derived.h"
#include "cairn/validate.h"

namespace cairn {
namespace {

TableProfile Profile(std::string_view csv, TableFormat format = TableFormat::kCsv) {
  auto reader = OpenTableBytes(csv, format, "t.csv");
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  auto profile = ProfileTable(**reader);
  EXPECT_TRUE(profile.ok()) << profile.status().ToString();
  return *profile;
}

TEST(ProfileTest, NumericAndTextColumns) {
  TableProfile p = Profile("id,x,name,flag\n1,2.5,b,true\n2,,a,false\n3,4.5,b,true\n4,NA,,true\n5,-1,c,\n");
  EXPECT_EQ(p.rows, 5u);
  ASSERT_EQ(p.columns.size(), 4u);
  const ColumnProfile& id = p.columns[0];
  EXPECT_EQ(id.type, ColumnType::kInteger);
  EXPECT_EQ(id.count, 5u);
  EXPECT_EQ(id.nulls, 0u);
  EXPECT_EQ(id.distinct, 5u);
  EXPECT_DOUBLE_EQ(*id.min, 1);
  EXPECT_DOUBLE_EQ(*id.max, 5);
  EXPECT_DOUBLE_EQ(*id.mean, 3);
  EXPECT_DOUBLE_EQ(*id.std, std::sqrt(2.5));  // pandas: Series([1,2,3,4,5]).std()
  ASSERT_EQ(id.quantiles.size(), 7u);
  EXPECT_DOUBLE_EQ(id.quantiles[0], 1.04);  // numpy.quantile([1..5], 0.01)
  EXPECT_DOUBLE_EQ(id.quantiles[3], 3);
  EXPECT_DOUBLE_EQ(id.quantiles[6], 4.96);
  ASSERT_EQ(id.histogram_counts.size(), 20u);
  EXPECT_EQ(id.histogram_counts[0], 1u);
  EXPECT_EQ(id.histogram_counts[19], 1u);

  const ColumnProfile& x = p.columns[1];
  EXPECT_EQ(x.type, ColumnType::kNumber);
  EXPECT_EQ(x.count, 3u);
  EXPECT_EQ(x.nulls, 2u);
  EXPECT_DOUBLE_EQ(*x.mean, 2.0);
  EXPECT_DOUBLE_EQ(*x.std, std::sqrt(7.75));  // pandas: Series([2.5, 4.5, -1]).std()

  const ColumnProfile& name = p.columns[2];
  EXPECT_EQ(name.type, ColumnType::kString);
  EXPECT_EQ(name.nulls, 1u);
  EXPECT_EQ(name.distinct, 3u);
  EXPECT_FALSE(name.mean.has_value());
  EXPECT_EQ(*name.min_text, "a");
  EXPECT_EQ(*name.max_text, "c");
  ASSERT_GE(name.top_values.size(), 1u);
  EXPECT_EQ(name.top_values[0].value, "b");
  EXPECT_EQ(name.top_values[0].count, 2u);

  EXPECT_EQ(p.columns[3].type, ColumnType::kBoolean);
  EXPECT_EQ(p.columns[3].top_values[0].value, "true");
  EXPECT_EQ(p.columns[3].top_values[0].count, 3u);
}

TEST(ProfileTest, NumbersCountByValue) {
  TableProfile p = Profile("v\n1\n1.0\n1e0\n2\n");
  EXPECT_EQ(p.columns[0].distinct, 2u);
  EXPECT_EQ(p.columns[0].top_values[0].value, "1");
  EXPECT_EQ(p.columns[0].top_values[0].count, 3u);
}

TEST(ProfileTest, JsonShape) {
  TableProfile p = Profile("a,b\n1,x\n3,y\n");
  Json j = ProfileJson(p);
  EXPECT_EQ(j["profile_version"], kProfileVersion);
  EXPECT_EQ(j["rows"], 2);
  EXPECT_EQ(j["format"], "csv");
  const Json& a = j["columns"][0];
  EXPECT_EQ(a["type"], "integer");
  EXPECT_EQ(a["min"], 1);  // whole values of integer columns stay integers
  EXPECT_EQ(a["quantiles"]["p50"], 2.0);
  EXPECT_EQ(a["histogram"]["counts"].size(), 20u);
  const Json& b = j["columns"][1];
  EXPECT_TRUE(b["mean"].is_null());
  EXPECT_TRUE(b["quantiles"].is_null());
  EXPECT_EQ(b["min"], "x");
  Json single = ProfileJson(Profile("a\n1\n"));
  EXPECT_TRUE(single["columns"][0]["std"].is_null());  // NaN: one value
}

TEST(ProfileTest, MalformedTableNamesTheLine) {
  auto reader = OpenTableBytes("a,b\n1,2\n3,\"4\n", TableFormat::kCsv, "bad.csv");
  ASSERT_TRUE(reader.ok());
  auto profile = ProfileTable(**reader);
  ASSERT_FALSE(profile.ok());
  EXPECT_EQ(profile.status().code(), Code::kInvalidArgument);
  EXPECT_NE(profile.status().message().find("bad.csv:3"), std::string::npos) << profile.status().message();
}

TEST(ProfileTest, JsonLinesColumnsSeenLate) {
  TableProfile p = Profile("{\"a\": 1}\n{\"a\": 2, \"b\": \"x\"}\n{\"a\": null}\n", TableFormat::kJsonLines);
  ASSERT_EQ(p.columns.size(), 2u);
  EXPECT_EQ(p.rows, 3u);
  EXPECT_EQ(p.columns[0].nulls, 1u);
  EXPECT_EQ(p.columns[1].nulls, 2u);
  EXPECT_EQ(p.columns[1].count, 1u);
}

}  // namespace
}  // namespace cairn

namespace cairn {
namespace {

// The fast path for common spellings gives what the reader's CellType and
// CellNumber give, bit for bit.
TEST(ProfileTest, FastNumbersAgreeWithTheReader) {
  std::string csv = "v\n";
  std::vector<std::string> cells = {"0", "-0", "007", "123456789012345", "1234567890123456", "0.1", "-2.675",
                                    "5.", ".5", "-.5", "3.14159265358979", "99999.99999", "1e3", "+4", " 5"};
  for (const std::string& c : cells) csv += "\"" + c + "\"\n";
  auto reader = OpenTableBytes(csv, TableFormat::kCsv, "t.csv");
  ASSERT_TRUE(reader.ok());
  auto p = ProfileTable(**reader);
  ASSERT_TRUE(p.ok());
  double sum = 0;
  for (const std::string& c : cells) sum += *CellNumber(c);
  EXPECT_EQ(p->columns[0].type, ColumnType::kNumber);
  EXPECT_EQ(p->columns[0].count, cells.size());
  double min = *CellNumber(cells[0]), max = min;
  for (const std::string& c : cells) {
    min = std::min(min, *CellNumber(c));
    max = std::max(max, *CellNumber(c));
  }
  EXPECT_EQ(*p->columns[0].min, min);
  EXPECT_EQ(*p->columns[0].max, max);
  EXPECT_NEAR(*p->columns[0].mean, sum / cells.size(), 1e-3);
}

}  // namespace
}  // namespace cairn

namespace cairn {
namespace {

// A stored body as it reads back from the store (parsed text).
DerivedObject Body(std::string_view kind, const Json& body) {
  DerivedObject o;
  o.kind = std::string(kind);
  o.body = Json::parse(body.dump());
  return o;
}

// Bodies that do not hold what the profile writer gives them are damaged,
// whatever their hash; what the writer gives passes.
TEST(ProfileTest, StoredBodiesAreCheckedWhenLoaded) {
  auto reader = OpenTableBytes("id,x,name\n1,2.5,b\n2,,a\n3,4.5,b\n", TableFormat::kCsv, "t.csv");
  ASSERT_TRUE(reader.ok());
  auto profile = ProfileTable(**reader);
  ASSERT_TRUE(profile.ok());
  const Json good = ProfileJson(*profile);
  EXPECT_TRUE(CheckDerivedBody(Body(kProfileKind, good)).ok()) << CheckDerivedBody(Body(kProfileKind, good)).ToString();
  auto damaged = [&](const std::function<void(Json&)>& edit) {
    Json j = good;
    edit(j);
    Status s = CheckDerivedBody(Body(kProfileKind, j));
    EXPECT_EQ(s.code(), Code::kCorruption) << j.dump();
    return s.message();
  };
  EXPECT_NE(damaged([](Json& j) { j.erase("columns"); }).find("profile.columns is missing"), std::string::npos);
  EXPECT_NE(damaged([](Json& j) { j["columns"] = "x"; }).find("is not a list"), std::string::npos);
  EXPECT_NE(damaged([](Json& j) { j["columns"][0]["name"] = 5; }).find("columns[0].name is not a string"),
            std::string::npos);
  EXPECT_NE(damaged([](Json& j) { j["rows"] = 4; }).find("in 4 rows"), std::string::npos);  // count + nulls != rows
  EXPECT_NE(damaged([](Json& j) { j["columns"][1]["type"] = "float"; }).find("not a column type"), std::string::npos);
  EXPECT_NE(damaged([](Json& j) { j["columns"][0]["histogram"].erase("edges"); }).find("edges is missing"),
            std::string::npos);
  EXPECT_NE(damaged([](Json& j) { j["columns"][0]["histogram"]["counts"][0] = 7; }).find("counts more values"),
            std::string::npos);
  EXPECT_NE(damaged([](Json& j) { j["columns"][2]["top_values"][0]["count"] = -1; }).find("whole number"),
            std::string::npos);
  EXPECT_NE(damaged([](Json& j) { j["columns"][0]["quantiles"]["p50"] = "half"; }).find("p50 is not a number"),
            std::string::npos);
  EXPECT_NE(damaged([](Json& j) { j["columns"][0]["min"] = 9; }).find("min above its max"), std::string::npos);
  EXPECT_NE(damaged([](Json& j) { j["columns"][1]["std"] = -1.0; }).find("std is negative"), std::string::npos);
  EXPECT_NE(damaged([](Json& j) { j["columns"][1]["null_share"] = 0.5; }).find("null_share"), std::string::npos);
  EXPECT_NE(damaged([](Json& j) { j["columns"][0]["quantiles"]["p99"] = 100; }).find("outside min and max"),
            std::string::npos);
  DerivedObject keyed = Body(kProfileKind, good);
  keyed.key = "tsv";  // a csv profile under a tsv ref
  EXPECT_NE(CheckDerivedBody(keyed).message().find("is not tsv"), std::string::npos);
  keyed.key = "csv";
  EXPECT_TRUE(CheckDerivedBody(keyed).ok());
  // Another profile version is not read (it is computed again), so not judged; other kinds neither.
  Json other = Json{{"profile_version", 2}, {"anything", true}};
  EXPECT_TRUE(CheckDerivedBody(Body(kProfileKind, other)).ok());
  EXPECT_TRUE(CheckDerivedBody(Body("leakage", Json{{"x", 1}})).ok());
  // A validation result needs its suite and result.
  Json validation = {{"validation_version", 1},
                     {"suite", {{"name", "s"}, {"file", "s.yaml"}, {"digest", "abc"}}},
                     {"ref", "t.csv"},
                     {"result",
                      {{"success", true},
                       {"rows", 3},
                       {"statistics",
                        {{"evaluated_expectations", 1}, {"successful_expectations", 1}, {"unsuccessful_expectations", 0}}}}}};
  EXPECT_TRUE(CheckDerivedBody(Body(kValidationKind, validation)).ok());
  validation["result"]["success"] = "yes";
  EXPECT_EQ(CheckDerivedBody(Body(kValidationKind, validation)).code(), Code::kCorruption);
}

}  // namespace
}  // namespace cairn
