// DriftTables over in-memory CSV: method choice, column selection, skips,
// bad input and the share decision. The statistics themselves are pinned
// against scipy in drift_stats_test.cc and tests/e2e/test_drift.py.
#include "cairn/drift.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>

namespace cairn {
namespace {

// A CSV "x,label,flag,empty" of n rows; x is i*scale+shift, label cycles
// through `labels` values, flag through two.
std::string Csv(int n, double scale, double shift, int labels) {
  std::string out = "x,label,flag,empty\n";
  for (int i = 0; i < n; ++i) {
    out += std::to_string(i * scale + shift) + ",L" + std::to_string(i % labels) + "," +
           (i % 3 == 0 ? "yes" : "no") + ",\n";
  }
  return out;
}

struct Pair {
  std::shared_ptr<std::string> a, b;
  TableOpener open_a() const {
    auto bytes = a;
    return [bytes] { return OpenTableBytes(*bytes, TableFormat::kCsv, "a.csv"); };
  }
  TableOpener open_b() const {
    auto bytes = b;
    return [bytes] { return OpenTableBytes(*bytes, TableFormat::kCsv, "b.csv"); };
  }
};
Pair MakePair(std::string a, std::string b) {
  return {std::make_shared<std::string>(std::move(a)), std::make_shared<std::string>(std::move(b))};
}

const ColumnDrift* Find(const FileDrift& f, const std::string& name) {
  for (const ColumnDrift& c : f.columns) {
    if (c.column == name) return &c;
  }
  return nullptr;
}

TEST(DriftTablesTest, AutoChoosesLikeEvidently) {
  Pair small = MakePair(Csv(200, 1.0, 0, 3), Csv(150, 1.0, 40, 3));
  auto r = DriftTables(small.open_a(), small.open_b(), {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Find(*r, "x")->method, DriftMethod::kKs);
  EXPECT_EQ(Find(*r, "label")->method, DriftMethod::kChiSquare);
  EXPECT_EQ(Find(*r, "flag")->method, DriftMethod::kZ);
  EXPECT_EQ(Find(*r, "x")->type, ColumnType::kNumber);
  EXPECT_EQ(Find(*r, "x")->threshold, 0.05);
  EXPECT_TRUE(Find(*r, "x")->drifted);  // shifted by 40 of 200
  EXPECT_EQ(Find(*r, "x")->reference_values, 200);
  ASSERT_EQ(r->skipped.size(), 1u);  // "empty" has no values
  EXPECT_EQ(r->skipped[0].column, "empty");
  EXPECT_EQ(r->skipped[0].reason, "no values");

  Pair large = MakePair(Csv(1500, 1.0, 0, 3), Csv(1200, 1.0, 0, 3));
  r = DriftTables(large.open_a(), large.open_b(), {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Find(*r, "x")->method, DriftMethod::kWasserstein);
  EXPECT_EQ(Find(*r, "label")->method, DriftMethod::kJensenShannon);
  EXPECT_EQ(Find(*r, "flag")->method, DriftMethod::kJensenShannon);
  EXPECT_EQ(Find(*r, "x")->threshold, 0.1);
  EXPECT_TRUE(std::isnan(Find(*r, "x")->p_value));
}

TEST(DriftTablesTest, FewDistinctNumbersAreCategories) {
  std::string a = "n\n", b = "n\n";
  for (int i = 0; i < 100; ++i) a += std::to_string(i % 4) + "\n", b += std::to_string(i % 3) + "\n";
  Pair p = MakePair(a, b);
  auto r = DriftTables(p.open_a(), p.open_b(), {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->columns[0].method, DriftMethod::kChiSquare);
  EXPECT_EQ(r->columns[0].distinct_values, 4);
  // B never has 3 while A does: finite; the reverse would be infinite.
  EXPECT_TRUE(std::isfinite(r->columns[0].statistic));
  Pair reverse = MakePair(b, a);
  r = DriftTables(reverse.open_a(), reverse.open_b(), {});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(std::isnan(r->columns[0].statistic));  // infinite: printed as null
  EXPECT_EQ(r->columns[0].p_value, 0.0);
  EXPECT_TRUE(r->columns[0].drifted);
}

TEST(DriftTablesTest, ForcedMethodAndThreshold) {
  Pair p = MakePair(Csv(200, 1.0, 0, 3), Csv(200, 1.0, 5, 3));
  DriftOptions options;
  options.method = DriftMethod::kPsi;
  options.columns = {"x", "label"};
  auto r = DriftTables(p.open_a(), p.open_b(), options);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->columns.size(), 2u);
  EXPECT_EQ(r->columns[0].method, DriftMethod::kPsi);
  EXPECT_EQ(r->columns[1].method, DriftMethod::kPsi);
  options.method = DriftMethod::kWasserstein;
  options.columns = {"x"};
  options.threshold = 0.01;
  r = DriftTables(p.open_a(), p.open_b(), options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->columns[0].threshold, 0.01);
  EXPECT_TRUE(r->columns[0].drifted);  // shift 5 over std ~58: 0.087 >= 0.01
}

TEST(DriftTablesTest, BadInput) {
  Pair p = MakePair(Csv(50, 1.0, 0, 3), Csv(50, 1.0, 0, 4));
  DriftOptions options;
  options.columns = {"lable"};
  auto r = DriftTables(p.open_a(), p.open_b(), options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().hint().find("did you mean 'label'?"), std::string::npos) << r.status().hint();

  options.columns = {"label"};
  options.method = DriftMethod::kKs;
  r = DriftTables(p.open_a(), p.open_b(), options);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("does not apply to column 'label'"), std::string::npos);

  options.method = DriftMethod::kZ;  // L0..L3: four values
  r = DriftTables(p.open_a(), p.open_b(), options);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("4 distinct values"), std::string::npos);

  options = {};
  options.threshold = 1.5;
  EXPECT_EQ(ValidateDriftOptions(options).code(), Code::kInvalidArgument);
  options.method = DriftMethod::kPsi;  // a distance may exceed 1
  EXPECT_TRUE(ValidateDriftOptions(options).ok());
  options.threshold = -1;
  EXPECT_FALSE(ValidateDriftOptions(options).ok());
  options = {};
  options.share = 0;
  EXPECT_FALSE(ValidateDriftOptions(options).ok());
}

TEST(DriftTablesTest, ColumnsOnOneSideAndMissingValues) {
  Pair p = MakePair("a,b,c\n1,x,\n2,y,\n3,x,NA\n", "a,c,d\n1,5,u\n2,NA,v\n9,7,w\n");
  auto r = DriftTables(p.open_a(), p.open_b(), {});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->columns.size(), 1u);  // a; c has no values in A
  EXPECT_EQ(r->columns[0].column, "a");
  ASSERT_EQ(r->skipped.size(), 3u);
  EXPECT_EQ(r->skipped[0].column, "b");
  EXPECT_EQ(r->skipped[0].reason, "only in A");
  EXPECT_EQ(r->skipped[1].column, "d");
  EXPECT_EQ(r->skipped[1].reason, "only in B");
  EXPECT_EQ(r->skipped[2].column, "c");
  EXPECT_EQ(r->skipped[2].reason, "no values in A");
  EXPECT_EQ(r->columns[0].reference_values, 3);
}

TEST(DriftTablesTest, ShareDecidesAndJsonNamesEveryField) {
  Pair p = MakePair(Csv(200, 1.0, 0, 3), Csv(200, 1.0, 60, 3));  // x drifts; label, flag do not
  DriftOptions options;
  auto r = DriftTables(p.open_a(), p.open_b(), options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->drifted_columns(), 1);
  EXPECT_FALSE(r->drifted);  // 1/3 < 0.5
  options.share = 0.3;
  r = DriftTables(p.open_a(), p.open_b(), options);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->drifted);

  DriftReport report;
  report.reference_label = "a", report.current_label = "b", report.share = 0.3;
  report.files.push_back(*r);
  report.files[0].path = "t.csv";
  report.drifted = true;
  Json j = DriftJson(report);
  EXPECT_EQ(j["drifted"], true);
  EXPECT_EQ(j["compared_columns"], 3);
  EXPECT_TRUE(j["threshold"].is_null());
  const Json& col = j["files"][0]["columns"][0];
  for (const char* key : {"column", "type", "method", "statistic", "p_value", "threshold", "drifted"}) {
    EXPECT_TRUE(col.contains(key)) << key;
  }
  EXPECT_EQ(col["method"], "ks");
  EXPECT_TRUE(col["exact"].is_boolean());
  EXPECT_NE(DriftText(report).find("DATASET DRIFT"), std::string::npos);
}

TEST(DriftMethodTest, NamesRoundTrip) {
  for (const char* name : {"auto", "ks", "chi2", "z", "psi", "wasserstein", "jensenshannon"}) {
    auto m = ParseDriftMethod(name);
    ASSERT_TRUE(m.has_value()) << name;
    EXPECT_STREQ(DriftMethodName(*m), name);
  }
  EXPECT_FALSE(ParseDriftMethod("kolmogorov").has_value());
}

}  // namespace
}  // namespace cairn
