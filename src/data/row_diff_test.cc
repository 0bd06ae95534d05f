#include "cairn/row_diff.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>

namespace cairn {
namespace {

Result<TableDiff> Diff(const std::string& a, const std::string& b, RowDiffOptions options = {}) {
  auto open = [&](bool old_side) { return OpenTableBytes(old_side ? a : b, TableFormat::kCsv, old_side ? "a.csv" : "b.csv"); };
  CAIRN_ASSIGN_OR_RETURN(auto ra, open(true));
  CAIRN_ASSIGN_OR_RETURN(auto rb, open(false));
  return DiffTables(*ra, *rb, options, open);
}

RowDiffOptions Keyed(std::vector<std::string> key) {
  RowDiffOptions o;
  o.key = std::move(key);
  return o;
}

TEST(RowDiff, KeyedCountsAndChangedCells) {
  auto d = Diff("id,x,y\n1,a,1.0\n2,b,2\n3,c,3\n4,d,4\n", "id,x,y\n4,d,4\n2,B,2\n1,a,1\n5,e,5\n", Keyed({"id"}));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->added, 1);
  EXPECT_EQ(d->removed, 1);
  EXPECT_EQ(d->modified, 1);
  EXPECT_EQ(d->unchanged, 2);  // 1.0 and 1 are the same number
  EXPECT_EQ(d->compared, (std::vector<std::string>{"x", "y"}));
  ASSERT_EQ(d->rows.size(), 3u);
  // By new row (removed rows by their old one): id 2 is new row 2, id 3 old row 3, id 5 new row 4.
  EXPECT_EQ(d->rows[0].kind, RowChangeKind::kModified);
  EXPECT_EQ(d->rows[0].key[0], "2");
  EXPECT_EQ(d->rows[0].old_row, 2);
  EXPECT_EQ(d->rows[0].new_row, 2);
  ASSERT_EQ(d->rows[0].cells.size(), 1u);
  EXPECT_EQ(d->rows[0].cells[0].column, "x");
  EXPECT_EQ(d->rows[0].cells[0].from, "b");
  EXPECT_EQ(d->rows[0].cells[0].to, "B");
  EXPECT_EQ(d->rows[1].kind, RowChangeKind::kRemoved);
  EXPECT_EQ(d->rows[1].key[0], "3");
  EXPECT_EQ(d->rows[1].old_line, 4);
  EXPECT_EQ(d->rows[2].kind, RowChangeKind::kAdded);
  EXPECT_EQ(d->rows[2].values, (std::vector<std::optional<std::string>>{"5", "e", "5"}));
  EXPECT_FALSE(d->truncated);
}

TEST(RowDiff, DuplicateKeysAreCountedAndNotMerged) {
  auto d = Diff("id,v\n1,a\n1,b\n2,c\n", "id,v\n1,a\n1,z\n1,y\n2,c\n", Keyed({"id"}));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->duplicate_keys, 1);
  EXPECT_EQ(d->duplicate_old_rows, 2);
  EXPECT_EQ(d->duplicate_new_rows, 3);
  ASSERT_EQ(d->duplicate_examples.size(), 1u);
  EXPECT_EQ(d->duplicate_examples[0].key[0], "1");
  // id 1: "a" matches; old "b" against new "z" and "y" is not one-to-one.
  EXPECT_EQ(d->unchanged, 2);
  EXPECT_EQ(d->removed, 1);
  EXPECT_EQ(d->added, 2);
  EXPECT_EQ(d->modified, 0);
}

TEST(RowDiff, UnkeyedIsAMultiset) {
  auto d = Diff("a,b\n1,x\n1,x\n2,y\n", "a,b\n1,x\n2,y\n2,y\n3,z\n");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->unchanged, 2);
  EXPECT_EQ(d->removed, 1);  // one of the two 1,x
  EXPECT_EQ(d->added, 2);    // a second 2,y and 3,z
  EXPECT_EQ(d->modified, 0);
}

TEST(RowDiff, SchemaChanges) {
  auto d = Diff("id,a,b\n1,1,x\n2,2,y\n", "id,a,c\n1,1.5,q\n2,2,r\n", Keyed({"id"}));
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->removed_columns.size(), 1u);
  EXPECT_EQ(d->removed_columns[0].name, "b");
  ASSERT_EQ(d->added_columns.size(), 1u);
  EXPECT_EQ(d->added_columns[0].name, "c");
  ASSERT_EQ(d->retyped.size(), 1u);
  EXPECT_EQ(d->retyped[0].name, "a");
  EXPECT_EQ(d->retyped[0].from, ColumnType::kInteger);
  EXPECT_EQ(d->retyped[0].to, ColumnType::kNumber);
  EXPECT_EQ(d->compared, (std::vector<std::string>{"a"}));
  EXPECT_EQ(d->modified, 1);
  EXPECT_EQ(d->unchanged, 1);
}

TEST(RowDiff, ToleranceAndColumns) {
  RowDiffOptions o = Keyed({"id"});
  o.tolerance = 0.01;
  auto d = Diff("id,x,s\n1,1.000,a\n2,2.0,b\n", "id,x,s\n1,1.005,a\n2,2.5,b\n", o);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->modified, 1);
  EXPECT_EQ(d->unchanged, 1);
  ASSERT_EQ(d->rows.size(), 1u);
  EXPECT_EQ(d->rows[0].key[0], "2");
  // Exactly the tolerance apart, in decimal as written (binary doubles would
  // put 13.781 - 13.78 above 0.001 and 2.001 - 2 below it).
  RowDiffOptions edge = Keyed({"id"});
  edge.tolerance = 0.001;
  auto e = Diff("id,v\n1,13.78\n2,2\n3,0.1\n4,100\n5,-1.5\n6,1e-3\n7,0\n8,x\n",
                "id,v\n1,13.781\n2,2.001\n3,0.101\n4,100.001\n5,-1.501\n6,0.0021\n7,0.0010000000000000000001\n8,x \n", edge);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->unchanged, 5);  // 1 to 5
  EXPECT_EQ(e->modified, 3);   // 6 (1.1e-3 apart), 7 (just over), 8 (text)
  RowDiffOptions only = Keyed({"id"});
  only.columns = {"s"};
  auto c = Diff("id,x,s\n1,1,a\n", "id,x,s\n1,9,a\n", only);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->modified, 0);
  EXPECT_EQ(c->unchanged, 1);
}

// The tolerance pass holds the old cells a part at a time: with a budget of
// one byte every row is a part of its own, and the answer is the same.
TEST(RowDiff, TolerancePartsGiveTheSameAnswer) {
  std::string a = "id,x,s\n", b = "id,x,s\n";
  // The new side in reverse order, so the parts read it out of order; a
  // missing cell on one side only is a change, on both sides none.
  for (int i = 0; i < 60; ++i) {
    std::string x = std::to_string(i) + ".0";
    a += std::to_string(i) + "," + (i % 10 == 9 ? "" : x) + "," + (i % 7 == 3 ? "" : "t") + "\n";
  }
  for (int i = 59; i >= 0; --i) {
    // i % 3 == 0: within the tolerance (+0.001); i % 3 == 1: beyond it (+0.5); else unchanged.
    double v = i + (i % 3 == 0 ? 0.001 : i % 3 == 1 ? 0.5 : 0);
    char x[32];
    std::snprintf(x, sizeof x, "%.3f", v);
    std::string cell = i % 10 == 9 && i % 3 != 1 ? "" : x;
    b += std::to_string(i) + "," + cell + "," + (i % 7 == 3 ? "" : "t") + "\n";
  }
  RowDiffOptions o = Keyed({"id"});
  o.tolerance = 0.01;
  o.limit = 7;
  auto whole = Diff(a, b, o);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  // Beyond: i % 3 == 1, 20 rows (of which 19, 49 add a value where there was none).
  EXPECT_EQ(whole->modified, 20);
  EXPECT_EQ(whole->unchanged, 40);
  ASSERT_EQ(whole->rows.size(), 7u);
  EXPECT_TRUE(whole->truncated);
  o.tolerance_budget = 1;
  auto parts = Diff(a, b, o);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  EXPECT_EQ(parts->modified, whole->modified);
  EXPECT_EQ(parts->unchanged, whole->unchanged);
  ASSERT_EQ(parts->rows.size(), whole->rows.size());
  for (size_t i = 0; i < parts->rows.size(); ++i) {
    EXPECT_EQ(parts->rows[i].new_row, whole->rows[i].new_row);
    EXPECT_EQ(parts->rows[i].key, whole->rows[i].key);
    ASSERT_EQ(parts->rows[i].cells.size(), 1u);
    EXPECT_EQ(parts->rows[i].cells[0].column, "x");
  }
  // Listed by new row: the new side is reversed, so the highest ids come first.
  EXPECT_EQ(whole->rows[0].key[0], "58");
  EXPECT_EQ(whole->rows[1].key[0], "55");
}

// Numbers beyond a double's range are not rounded into equality.
TEST(RowDiff, NumbersOutOfRangeCompareByText) {
  auto d = Diff("id,v\n1,1e-400\n2,1e400\n3,1e-5\n4,-0.0e-400\n5,1E400\n",
                "id,v\n1,0\n2,inf\n3,0.00001\n4,0\n5,1E400\n", Keyed({"id"}));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->modified, 2);  // 1 and 2
  EXPECT_EQ(d->unchanged, 3);  // 1e-5 is 0.00001, -0.0e-400 is 0, 1E400 is itself
  ASSERT_EQ(d->rows.size(), 2u);
  EXPECT_EQ(d->rows[0].key[0], "1");
  EXPECT_EQ(d->rows[1].key[0], "2");
  // Numbers compare by their decimal value, never through a double: each
  // pair below is one value (the last differs in its 22nd digit).
  auto same = Diff("id,v\n1,1e70\n2,1e300\n3,1e-80\n4,1e400\n5,1e23\n6,+1.50\n7, 7 \n8,0.1000000000000000000001\n",
                   "id,v\n1,1.0e70\n2,10e299\n3,1.0e-80\n4,1.0e400\n5,100000000000000000000000\n6,15e-1\n7,7\n8,0.1\n",
                   Keyed({"id"}));
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->unchanged, 7);
  ASSERT_EQ(same->modified, 1);
  EXPECT_EQ(same->rows[0].key[0], "8");
}

TEST(RowDiff, LimitAndStat) {
  std::string a = "id,v\n", b = "id,v\n";
  for (int i = 0; i < 100; ++i) {
    a += std::to_string(i) + ",x\n";
    b += std::to_string(i) + ",y\n";
  }
  RowDiffOptions o = Keyed({"id"});
  o.limit = 5;
  auto d = Diff(a, b, o);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->modified, 100);
  ASSERT_EQ(d->rows.size(), 5u);
  EXPECT_EQ(d->rows[4].new_row, 5);
  EXPECT_TRUE(d->truncated);
  o.stat = true;
  auto s = Diff(a, b, o);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->modified, 100);
  EXPECT_TRUE(s->rows.empty());
}

TEST(RowDiff, BadOptions) {
  auto missing = Diff("id,v\n1,x\n", "id,v\n1,y\n", Keyed({"idd"}));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("key column 'idd' is not a column of a.csv"), std::string::npos);
  EXPECT_NE(missing.status().hint().find("did you mean 'id'"), std::string::npos);
  RowDiffOptions t;
  t.tolerance = 0.1;
  EXPECT_FALSE(Diff("a\n1\n", "a\n2\n", t).ok());
  RowDiffOptions c;
  c.columns = {"nope"};
  EXPECT_FALSE(Diff("a\n1\n", "a\n2\n", c).ok());
}

TEST(RowDiff, Serializers) {
  auto d = Diff("id,x\n1,a\n2,b\n", "id,x\n1,A\n3,c\n", Keyed({"id"}));
  ASSERT_TRUE(d.ok());
  RowDiff diff;
  diff.from_label = "a";
  diff.to_label = "b";
  d->path = "t.csv";
  diff.tables.push_back(*d);
  Json j = RowDiffJson(diff);
  const Json& t = j["tables"][0];
  EXPECT_EQ(t["rows"]["added"], 1);
  EXPECT_EQ(t["rows"]["removed"], 1);
  EXPECT_EQ(t["rows"]["modified"], 1);
  EXPECT_EQ(t["changes"][0]["cells"][0], (Json{{"column", "x"}, {"from", "a"}, {"to", "A"}}));
  std::ostringstream daff;
  WriteRowDiffDaff(diff, daff);
  EXPECT_EQ(daff.str(), "@@,id,x\n->,1,a->A\n---,2,b\n+++,3,c\n");
  // A cell holding the arrow lengthens it for the whole row, tag included.
  auto arrows = Diff("id,s,t\n1,a-->b,x\n", "id,s,t\n1,c,y\n", Keyed({"id"}));
  ASSERT_TRUE(arrows.ok());
  RowDiff with_arrows;
  arrows->path = "t.csv";
  with_arrows.tables.push_back(*arrows);
  std::ostringstream lengthened;
  WriteRowDiffDaff(with_arrows, lengthened);
  EXPECT_EQ(lengthened.str(), "@@,id,s,t\n--->,1,a-->b--->c,x--->y\n");
  std::ostringstream csv;
  WriteRowDiffCsv(diff, csv);
  EXPECT_EQ(csv.str(),
            "file,change,old_row,new_row,key,column,old_value,new_value\n"
            "t.csv,modified,1,1,1,x,a,A\n"
            "t.csv,removed,2,,2,id,2,\nt.csv,removed,2,,2,x,b,\n"
            "t.csv,added,,2,3,id,,3\nt.csv,added,,2,3,x,,c\n");
}

}  // namespace
}  // namespace cairn
