// Suites (parsing and its errors) and their evaluation on in-memory CSV,
// with the counts, shares and listed rows Great Expectations gives on the
// same data (worked out by hand below; tests/e2e/test_validate.py checks
// them against pandas on the bundled data).
#include "cairn/validate.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace cairn {
namespace {

TableOpener Csv(std::string text) {
  auto bytes = std::make_shared<std::string>(std::move(text));
  return [bytes] { return OpenTableBytes(*bytes, TableFormat::kCsv, "t.csv"); };
}

Suite MustParse(const std::string& yaml) {
  auto s = ParseSuite(yaml, "s.yaml");
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : Suite{};
}

std::string ParseError(const std::string& yaml) {
  auto s = ParseSuite(yaml, "s.yaml");
  EXPECT_FALSE(s.ok());
  return s.ok() ? "" : s.status().message();
}

// id,age,bmi,sex: 10 rows; age missing on rows 3 and 7, bmi 72.5 on row 5
// and "n/a?" on row 9, id 4 twice (rows 4 and 6).
const char kPatients[] =
    "id,age,bmi,sex\n"
    "1,34,22.1,F\n"
    "2,51,27.3,M\n"
    "3,,31.0,F\n"
    "4,45,19.8,M\n"
    "5,62,72.5,F\n"
    "4,29,24.4,M\n"
    "7,,25.0,F\n"
    "8,40,23.3,X\n"
    "9,38,n/a?,M\n"
    "10,55,28.8,F\n";

TEST(ValidateSuiteTest, ParsesBothForms) {
  Suite s = MustParse(
      "expectation_suite_name: patients\n"
      "expectations:\n"
      "  - expect_column_values_to_not_be_null: {column: age, mostly: 0.95}\n"
      "  - expectation_type: expect_column_values_to_be_between\n"
      "    kwargs: {column: bmi, min_value: 10, max_value: 60, strict_min: false}\n"
      "    meta: {owner: data-team}\n");
  ASSERT_EQ(s.expectations.size(), 2u);
  EXPECT_EQ(s.name, "patients");
  EXPECT_EQ(s.expectations[0].type, ExpectationType::kNotNull);
  EXPECT_EQ(*s.expectations[0].mostly, 0.95);
  EXPECT_EQ(s.expectations[0].line, 3);
  EXPECT_EQ(s.expectations[1].type, ExpectationType::kBetween);
  EXPECT_EQ(*s.expectations[1].min_value, 10);
  EXPECT_EQ(*s.expectations[1].max_value, 60);
  EXPECT_EQ(s.expectations[1].meta["owner"], "data-team");
  EXPECT_EQ(s.expectations[1].kwargs["max_value"], 60);
  // The canonical text ignores meta, names and argument order.
  Suite t = MustParse(
      "expectations:\n"
      "  - expect_column_values_to_not_be_null: {mostly: 0.95, column: age}\n"
      "  - expect_column_values_to_be_between: {max_value: 60, column: bmi, strict_min: false, min_value: 10}\n");
  EXPECT_EQ(s.Digest(), t.Digest());
  EXPECT_EQ(s.Digest().size(), 64u);
}

TEST(ValidateSuiteTest, ErrorsNameFileLineColumn) {
  EXPECT_EQ(ParseError("expectations:\n  - expect_column_values_to_be_nul: {column: a}\n"),
            "s.yaml:2:5: unknown expectation 'expect_column_values_to_be_nul' (did you mean "
            "'expect_column_values_to_not_be_null'?)");
  EXPECT_EQ(ParseError("expectations:\n  - expect_column_values_to_be_between: {column: a, min_vale: 1}\n"),
            "s.yaml:2:53: unknown argument 'min_vale' of expect_column_values_to_be_between (did you mean "
            "'min_value'?)");
  EXPECT_EQ(ParseError("expectations:\n  - expect_column_values_to_be_in_set: {column: a}\n"),
            "s.yaml:2:5: expect_column_values_to_be_in_set needs the argument 'value_set'");
  EXPECT_EQ(ParseError("expectations:\n  - expect_column_values_to_not_be_null: {column: a, mostly: high}\n"),
            "s.yaml:2:62: expect_column_values_to_not_be_null: 'mostly' must be a number from 0 to 1");
  EXPECT_EQ(ParseError("expectations:\n  - expect_column_values_to_not_be_null: {column: a, mostly: 1.5}\n"),
            "s.yaml:2:62: expect_column_values_to_not_be_null: 'mostly' must be a number from 0 to 1");
  EXPECT_EQ(ParseError("expectations:\n  - expect_column_values_to_be_between: {column: a, min_value: \"1\"}\n"),
            "s.yaml:2:64: expect_column_values_to_be_between: 'min_value' must be a number (or null)");
  EXPECT_EQ(ParseError("expectations:\n  - expect_column_mean_to_be_between: {column: a}\n"),
            "s.yaml:2:5: expect_column_mean_to_be_between needs min_value or max_value (or both)");
  EXPECT_EQ(ParseError("expectations:\n  - expect_column_values_to_be_of_type: {column: a, type_: int65}\n"),
            "s.yaml:2:60: expect_column_values_to_be_of_type: unknown type 'int65'");
  EXPECT_NE(ParseError("expectations:\n  - expect_column_values_to_match_regex: {column: a, regex: \"([a-z\"}\n")
                .find("s.yaml:2:61: expect_column_values_to_match_regex: the regex does not compile"),
            std::string::npos);
  EXPECT_EQ(ParseError("expectations:\n  - expect_column_values_to_match_regex: {column: a, regex: \"" +
                       std::string(2000, '(') + "a" + std::string(2000, ')') + "\"}\n"),
            "s.yaml:2:61: expect_column_values_to_match_regex: the regex is too deeply nested (at most 32 levels "
            "of groups and 4096 characters)");
  EXPECT_EQ(ParseError("expectations:\n  - expect_column_values_to_be_unique: {column: a, mostly: 1}\n"
                       "expectatons: []\n"),
            "s.yaml:3:1: unknown key 'expectatons' in the suite (did you mean 'expectations'?)");
  EXPECT_EQ(ParseError("expectations: []\n"), "s.yaml:1:15: the suite has no expectations");
  EXPECT_EQ(ParseError("expectations:\n  - [a, b\n").substr(0, 12), "s.yaml:3:1: ");
}

TEST(ValidateSuiteTest, ReadsGreatExpectationsSuiteJson) {
  Suite s = MustParse(R"({
  "expectation_suite_name": "patients.warning",
  "data_asset_type": null,
  "meta": {"great_expectations_version": "0.18.8"},
  "expectations": [
    {"expectation_type": "expect_column_values_to_be_in_set",
     "kwargs": {"column": "sex", "value_set": ["F", "M"], "result_format": "SUMMARY"}, "meta": {}},
    {"type": "expect_column_values_to_be_of_type", "kwargs": {"column": "age", "type": "int64"}}
  ]
})");
  ASSERT_EQ(s.expectations.size(), 2u);
  EXPECT_EQ(s.name, "patients.warning");
  EXPECT_EQ(s.expectations[0].value_set.size(), 2u);
  EXPECT_FALSE(s.expectations[0].kwargs.contains("result_format"));
  EXPECT_EQ(s.expectations[1].expected_type, ColumnType::kInteger);
  EXPECT_EQ(s.expectations[1].kwargs["type_"], "int64");
}

TEST(ValidateSuiteTest, TypeNames) {
  EXPECT_EQ(ParseTypeName("int64"), ColumnType::kInteger);
  EXPECT_EQ(ParseTypeName("INTEGER"), ColumnType::kInteger);
  EXPECT_EQ(ParseTypeName("float64"), ColumnType::kNumber);
  EXPECT_EQ(ParseTypeName("str"), ColumnType::kString);
  EXPECT_EQ(ParseTypeName("object"), ColumnType::kString);
  EXPECT_EQ(ParseTypeName("bool"), ColumnType::kBoolean);
  EXPECT_EQ(ParseTypeName("datetime64"), std::nullopt);
}

ExpectationResult Only(const FileValidation& f) { return f.results.at(0); }

FileValidation Check(const std::string& yaml, const std::string& csv = kPatients) {
  static std::vector<std::unique_ptr<Suite>> keep;  // results point into their suite
  keep.push_back(std::make_unique<Suite>(MustParse(yaml)));
  auto r = ValidateTable(Csv(csv), *keep.back());
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : FileValidation{};
}

TEST(ValidateTableTest, NotNullCountsOverAllRows) {
  FileValidation f = Check("expectations:\n  - expect_column_values_to_not_be_null: {column: age}\n");
  const ExpectationResult& r = Only(f);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.element_count, 10);
  EXPECT_EQ(r.unexpected_count, 2);
  EXPECT_DOUBLE_EQ(*r.unexpected_percent, 20.0);
  EXPECT_FALSE(r.missing_count.has_value());
  ASSERT_EQ(r.partial_unexpected.size(), 2u);
  EXPECT_EQ(r.partial_unexpected[0].row, 3);
  EXPECT_EQ(r.partial_unexpected[0].line, 4);
  EXPECT_TRUE(r.partial_unexpected[0].value.is_null());
  EXPECT_EQ(r.partial_unexpected[1].row, 7);
  // mostly 0.8: 8 of 10 present is enough; 0.81 is not.
  EXPECT_TRUE(Only(Check("expectations:\n  - expect_column_values_to_not_be_null: {column: age, mostly: 0.8}\n")).success);
  EXPECT_FALSE(Only(Check("expectations:\n  - expect_column_values_to_not_be_null: {column: age, mostly: 0.81}\n")).success);
  EXPECT_EQ(f.statistics.unsuccessful, 1);
}

TEST(ValidateTableTest, BetweenCountsOverNonMissingValues) {
  FileValidation f = Check("expectations:\n  - expect_column_values_to_be_between: {column: bmi, min_value: 10, max_value: 60}\n");
  const ExpectationResult& r = Only(f);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.unexpected_count, 2);  // 72.5 and the text "n/a?"
  EXPECT_EQ(*r.missing_count, 0);
  EXPECT_DOUBLE_EQ(*r.unexpected_percent, 20.0);
  ASSERT_EQ(r.partial_unexpected.size(), 2u);
  EXPECT_EQ(r.partial_unexpected[0].value, "72.5");
  EXPECT_EQ(r.partial_unexpected[0].row, 5);
  EXPECT_EQ(r.partial_unexpected[1].value, "n/a?");
  EXPECT_EQ(r.partial_unexpected[1].row, 9);
  // Over the 8 ages present: 51, 62 and 55 are above 50.
  const ExpectationResult& a =
      Only(Check("expectations:\n  - expect_column_values_to_be_between: {column: age, max_value: 50, mostly: 0.625}\n"));
  EXPECT_EQ(a.unexpected_count, 3);
  EXPECT_EQ(*a.missing_count, 2);
  EXPECT_DOUBLE_EQ(*a.unexpected_percent, 37.5);
  EXPECT_DOUBLE_EQ(*a.unexpected_percent_total, 30.0);
  EXPECT_TRUE(a.success);  // 5/8 = 0.625 >= 0.625
  // Strict bounds exclude the bound itself.
  EXPECT_TRUE(Only(Check("expectations:\n  - expect_column_values_to_be_between: {column: age, min_value: 29}\n")).success);
  EXPECT_EQ(Only(Check("expectations:\n  - expect_column_values_to_be_between: {column: age, min_value: 29, "
                     "strict_min: true}\n"))
                .unexpected_count,
            1);
}

TEST(ValidateTableTest, InSetRegexAndType) {
  const ExpectationResult& s =
      Only(Check("expectations:\n  - expect_column_values_to_be_in_set: {column: sex, value_set: [F, M]}\n"));
  EXPECT_EQ(s.unexpected_count, 1);
  EXPECT_EQ(s.partial_unexpected.at(0).value, "X");
  EXPECT_EQ(s.partial_unexpected.at(0).row, 8);
  // Numbers match by value.
  EXPECT_TRUE(Only(Check("expectations:\n  - expect_column_values_to_be_in_set: {column: x, value_set: [1, 2]}\n",
                       "x\n1.0\n2\n1\n"))
                  .success);
  // Search semantics: anywhere in the value.
  const ExpectationResult& re =
      Only(Check("expectations:\n  - expect_column_values_to_match_regex: {column: bmi, regex: \"^[0-9]+\\\\.[0-9]$\"}\n"));
  EXPECT_EQ(re.unexpected_count, 1);
  EXPECT_EQ(re.partial_unexpected.at(0).value, "n/a?");
  EXPECT_TRUE(Only(Check("expectations:\n  - expect_column_values_to_match_regex: {column: sex, regex: \"[A-Z]\"}\n")).success);
  const ExpectationResult& t =
      Only(Check("expectations:\n  - expect_column_values_to_be_of_type: {column: bmi, type_: float64}\n"));
  EXPECT_EQ(t.unexpected_count, 1);
  EXPECT_EQ(t.observed_value, "string");
  EXPECT_EQ(t.partial_unexpected.at(0).row, 9);
  EXPECT_TRUE(Only(Check("expectations:\n  - expect_column_values_to_be_of_type: {column: age, type_: int64}\n")).success);
  EXPECT_TRUE(Only(Check("expectations:\n  - expect_column_values_to_be_of_type: {column: age, type_: number}\n")).success);
  EXPECT_FALSE(Only(Check("expectations:\n  - expect_column_values_to_be_of_type: {column: age, type_: str}\n")).success);
  EXPECT_TRUE(Only(Check("expectations:\n  - expect_column_values_to_be_of_type: {column: bmi, type_: str}\n")).success);
}

TEST(ValidateTableTest, UniqueListsEveryDuplicatedRow) {
  const ExpectationResult& r = Only(Check("expectations:\n  - expect_column_values_to_be_unique: {column: id}\n"));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.unexpected_count, 2);
  ASSERT_EQ(r.partial_unexpected.size(), 2u);
  EXPECT_EQ(r.partial_unexpected[0].row, 4);
  EXPECT_EQ(r.partial_unexpected[1].row, 6);
  EXPECT_EQ(r.partial_unexpected[1].value, "4");
  // Missing values are not duplicates; 1 and 1.0 are.
  EXPECT_TRUE(Only(Check("expectations:\n  - expect_column_values_to_be_unique: {column: x}\n", "x,y\n,1\n,2\n3,3\n")).success);
  EXPECT_EQ(Only(Check("expectations:\n  - expect_column_values_to_be_unique: {column: x}\n", "x\n1\n1.0\n2\n")).unexpected_count,
            2);
  const ExpectationResult& c = Only(
      Check("expectations:\n  - expect_compound_columns_to_be_unique: {column_list: [a, b]}\n", "a,b\n1,x\n1,y\n1,x\n,\n,\n"));
  EXPECT_EQ(c.unexpected_count, 2);  // rows 1 and 3; the all-missing rows are ignored
  EXPECT_EQ(*c.missing_count, 2);
  EXPECT_EQ(c.partial_unexpected.at(1).row, 3);
  EXPECT_EQ(c.partial_unexpected.at(1).value, (Json{{"a", "1"}, {"b", "x"}}));
}

TEST(ValidateTableTest, StatisticsAndTable) {
  // ages: 34 51 45 62 29 40 38 55 → mean 44.25, median 42.5, sample stdev.
  FileValidation f = Check(
      "expectations:\n"
      "  - expect_column_mean_to_be_between: {column: age, min_value: 44, max_value: 45}\n"
      "  - expect_column_median_to_be_between: {column: age, min_value: 42.5, max_value: 42.5}\n"
      "  - expect_column_min_to_be_between: {column: age, min_value: 30}\n"
      "  - expect_column_max_to_be_between: {column: age, max_value: 62}\n"
      "  - expect_column_stdev_to_be_between: {column: age, min_value: 11.15, max_value: 11.16}\n"
      "  - expect_column_mean_to_be_between: {column: bmi, min_value: 0}\n"
      "  - expect_table_row_count_to_be_between: {min_value: 10, max_value: 10}\n"
      "  - expect_table_columns_to_match_ordered_list: {column_list: [id, age, sex, bmi]}\n"
      "  - expect_table_columns_to_match_set: {column_set: [id, age, bmi], exact_match: false}\n"
      "  - expect_table_columns_to_match_set: {column_set: [id, age, bmi]}\n"
      "  - expect_column_values_to_not_be_null: {column: agee}\n");
  ASSERT_EQ(f.results.size(), 11u);
  EXPECT_TRUE(f.results[0].success);
  EXPECT_DOUBLE_EQ(f.results[0].observed_value.get<double>(), 44.25);
  EXPECT_TRUE(f.results[1].success);
  EXPECT_FALSE(f.results[2].success);
  EXPECT_EQ(f.results[2].observed_value, 29);
  EXPECT_TRUE(f.results[3].success);
  EXPECT_TRUE(f.results[4].success);  // 11.1579... (ddof 1, as pandas)
  EXPECT_FALSE(f.results[5].success);
  EXPECT_NE(f.results[5].exception.find("'n/a?', on row 9"), std::string::npos);
  EXPECT_TRUE(f.results[6].success);
  EXPECT_FALSE(f.results[7].success);
  EXPECT_EQ(f.results[7].details["mismatched"].size(), 2u);
  EXPECT_TRUE(f.results[8].success);
  EXPECT_FALSE(f.results[9].success);
  EXPECT_EQ(f.results[9].details["mismatched"]["unexpected"], Json::array({"sex"}));
  EXPECT_FALSE(f.results[10].success);
  EXPECT_EQ(f.results[10].exception, "column 'agee' is not in t.csv (did you mean 'age'?)");
  EXPECT_EQ(f.statistics.evaluated, 11);
  EXPECT_EQ(f.statistics.successful, 6);
}

TEST(ValidateTableTest, PartialListStopsAtTwenty) {
  std::string csv = "x\n";
  for (int i = 0; i < 50; ++i) csv += "1\n";
  const ExpectationResult& r = Only(Check("expectations:\n  - expect_column_values_to_be_unique: {column: x}\n", csv));
  EXPECT_EQ(r.unexpected_count, 50);
  ASSERT_EQ(r.partial_unexpected.size(), 20u);
  EXPECT_EQ(r.partial_unexpected[19].row, 20);
}

TEST(ValidateTableTest, EmptyTablesAndJsonLines) {
  FileValidation f = Check(
      "expectations:\n"
      "  - expect_table_row_count_to_be_between: {max_value: 0}\n"
      "  - expect_column_values_to_not_be_null: {column: a}\n"
      "  - expect_table_columns_to_match_ordered_list: {column_list: []}\n",
      "");
  EXPECT_TRUE(f.results[0].success);
  EXPECT_FALSE(f.results[1].success);
  EXPECT_EQ(f.results[1].exception, "column 'a' is not in t.csv (its columns: none)");
  EXPECT_TRUE(f.results[2].success);
  // A header without rows: every map expectation passes (nothing to judge), statistics have no value.
  f = Check(
      "expectations:\n"
      "  - expect_column_values_to_be_between: {column: a, min_value: 1}\n"
      "  - expect_column_mean_to_be_between: {column: a, min_value: 1}\n",
      "a,b\n");
  EXPECT_TRUE(f.results[0].success);
  EXPECT_FALSE(f.results[0].unexpected_percent.has_value());
  EXPECT_FALSE(f.results[1].success);
  EXPECT_TRUE(f.results[1].observed_value.is_null());
  auto bytes = std::make_shared<std::string>("{\"a\": 1, \"b\": null}\n{\"a\": 5}\n{\"b\": \"x\"}\n");
  Suite suite = MustParse(
      "expectations:\n"
      "  - expect_column_values_to_not_be_null: {column: b}\n"
      "  - expect_column_max_to_be_between: {column: a, max_value: 4}\n");
  auto r = ValidateTable([bytes] { return OpenTableBytes(*bytes, TableFormat::kJsonLines, "t.jsonl"); }, suite);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->results[0].unexpected_count, 2);
  EXPECT_EQ(r->results[0].partial_unexpected.at(1).row, 2);
  EXPECT_EQ(r->results[0].partial_unexpected.at(1).line, 2);
  EXPECT_EQ(r->results[1].observed_value, 5);
  EXPECT_FALSE(r->results[1].success);
  // Malformed input is the reader's error, with its line.
  auto bad = ValidateTable(Csv("a,b\n1,2\n\"x,3\n"), suite);
  EXPECT_FALSE(bad.ok());
}

// Statistics at the edge of the double range: infinite ones are "inf", not
// "no values"; a mean of huge values does not overflow on the way.
TEST(ValidateTableTest, InfiniteAndHugeStatistics) {
  FileValidation inf = Check("expectations:\n  - expect_column_min_to_be_between: {column: x, min_value: 0}\n",
                             "x\ninf\n");
  EXPECT_TRUE(Only(inf).success);
  EXPECT_EQ(Only(inf).observed_value, "inf");
  FileValidation huge = Check(
      "expectations:\n  - expect_column_mean_to_be_between: {column: x, min_value: -1e308, max_value: 1e308}\n",
      "x\n1.7e308\n1.7e308\n-1.7e308\n");
  EXPECT_TRUE(Only(huge).success);
  ASSERT_TRUE(Only(huge).observed_value.is_number());
  EXPECT_DOUBLE_EQ(Only(huge).observed_value.get<double>(), 1.7e308 / 3);
}

TEST(ValidateReportTest, JsonJUnitAndText) {
  Suite suite = MustParse(
      "expectations:\n"
      "  - expect_column_values_to_be_in_set: {column: sex, value_set: [F, M]}\n"
      "  - expect_table_row_count_to_be_between: {min_value: 1}\n");
  auto f = ValidateTable(Csv(kPatients), suite);
  ASSERT_TRUE(f.ok());
  ValidationReport report;
  report.label = "t.csv";
  report.suite = &suite;
  f->path = "t.csv";
  for (const ExpectationResult& r : f->results) report.statistics.Add(r.success);
  report.files.push_back(*f);
  Json j = ValidationJson(report);
  EXPECT_EQ(j["success"], false);
  EXPECT_EQ(j["statistics"]["evaluated_expectations"], 2);
  EXPECT_EQ(j["statistics"]["success_percent"], 50.0);
  const Json& r0 = j["files"][0]["results"][0];
  EXPECT_EQ(r0["expectation_config"]["expectation_type"], "expect_column_values_to_be_in_set");
  EXPECT_EQ(r0["result"]["unexpected_count"], 1);
  EXPECT_EQ(r0["result"]["partial_unexpected_list"], Json::array({"X"}));
  EXPECT_EQ(r0["result"]["partial_unexpected_rows"], Json::array({8}));
  EXPECT_EQ(r0["result"]["partial_unexpected_lines"], Json::array({9}));
  EXPECT_EQ(j["files"][0]["results"][1]["result"]["observed_value"], 10);
  std::string xml = ValidationJUnit(report);
  EXPECT_NE(xml.find("tests=\"2\" failures=\"1\""), std::string::npos);
  EXPECT_NE(xml.find("<failure message=\"1 unexpected of 10 values (10%)\""), std::string::npos);
  // A name that is not UTF-8 cannot make the XML malformed.
  ValidationReport odd = report;
  odd.files[0].path = "bad\xff.csv";
  std::string odd_xml = ValidationJUnit(odd);
  EXPECT_EQ(odd_xml.find("bad\xff"), std::string::npos);
  EXPECT_NE(odd_xml.find("bad\xEF\xBF\xBD.csv"), std::string::npos);
  std::string text = ValidationText(report);
  EXPECT_NE(text.find("FAIL  expect_column_values_to_be_in_set(sex): 1 unexpected of 10 values (10%): 'X' (row 8)"),
            std::string::npos);
  EXPECT_NE(ValidationFailures(report).find("t.csv: expect_column_values_to_be_in_set(sex): 1 unexpected"),
            std::string::npos);
}

TEST(ValidateInferTest, InferredSuitePasses) {
  std::string csv =
      "id,score,grade,flag,note\n"
      "1,0.5,A,true,x\n"
      "2,1.25,B,false,\n"
      "3,-3,A,TRUE,y\n"
      "4,7,C,false,z\n";
  auto yaml = InferSuiteFrom({Csv(csv)}, "t.csv");
  ASSERT_TRUE(yaml.ok()) << yaml.status().ToString();
  EXPECT_NE(yaml->find("expect_column_values_to_be_unique: {column: \"id\"}"), std::string::npos) << *yaml;
  EXPECT_NE(yaml->find("{column: \"score\", min_value: -3, max_value: 7}"), std::string::npos) << *yaml;
  EXPECT_NE(yaml->find("{column: \"note\", mostly: 0.75}"), std::string::npos) << *yaml;
  EXPECT_NE(yaml->find("{column: \"flag\", value_set: [false, true]}"), std::string::npos) << *yaml;
  EXPECT_NE(yaml->find("{min_value: 3, max_value: 5}"), std::string::npos) << *yaml;
  Suite suite = MustParse(*yaml);
  auto f = ValidateTable(Csv(csv), suite);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->success()) << ValidationJson(ValidationReport{}).dump();
  for (const ExpectationResult& r : f->results) EXPECT_TRUE(r.success) << ExpectationTypeName(r.expectation->type);
}

}  // namespace
}  // namespace cairn
