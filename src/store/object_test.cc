#include "cairn/object.h"

#include <gtest/gtest.h>

namespace cairn {
namespace {

Tree SampleTree() {
  Tree t;
  t.entries.push_back(TreeEntry{"b/x.csv", false, 10, Oid::Of("x")});
  t.entries.push_back(TreeEntry{"a.csv", true, 3, Oid::Of("a")});
  return t;
}

TEST(TreeTest, EncodingIsCanonicalAndRoundTrips) {
  Tree t = SampleTree();
  ASSERT_TRUE(t.Normalize().ok());
  EXPECT_EQ(t.entries[0].path, "a.csv");
  std::string enc = t.Encode();
  EXPECT_EQ(enc.substr(0, kTreeHeader.size()), kTreeHeader);
  auto back = Tree::Decode(enc);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->entries.size(), 2u);
  EXPECT_TRUE(back->entries[0].executable);
  EXPECT_EQ(back->entries[1].path, "b/x.csv");
  EXPECT_EQ(back->entries[1].size, 10u);
  EXPECT_EQ(back->Encode(), enc);
  EXPECT_EQ(back->TotalSize(), 13u);
}

TEST(TreeTest, PathsWithSpacesSurvive) {
  Tree t;
  t.entries.push_back(TreeEntry{"my file with spaces.csv", false, 1, Oid::Of("1")});
  ASSERT_TRUE(t.Normalize().ok());
  auto back = Tree::Decode(t.Encode());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->entries[0].path, "my file with spaces.csv");
}

TEST(TreeTest, RejectsNewlinesAndDuplicates) {
  Tree t;
  t.entries.push_back(TreeEntry{"bad\nname", false, 1, Oid::Of("1")});
  EXPECT_EQ(t.Normalize().code(), Code::kInvalidArgument);
  Tree d;
  d.entries.push_back(TreeEntry{"a", false, 1, Oid::Of("1")});
  d.entries.push_back(TreeEntry{"a", false, 1, Oid::Of("2")});
  EXPECT_EQ(d.Normalize().code(), Code::kInvalidArgument);
}

TEST(TreeTest, DecodeDetectsDamage) {
  Tree t = SampleTree();
  ASSERT_TRUE(t.Normalize().ok());
  std::string enc = t.Encode();
  EXPECT_EQ(Tree::Decode(enc.substr(0, enc.size() - 1)).status().code(), Code::kCorruption);  // truncated
  EXPECT_EQ(Tree::Decode("cairn-tree 9\n").status().code(), Code::kCorruption);
  std::string unsorted = std::string(kTreeHeader) + "644 1 " + Oid::Of("b").Hex() + " b\n" + "644 1 " +
                         Oid::Of("a").Hex() + " a\n";
  EXPECT_EQ(Tree::Decode(unsorted).status().code(), Code::kCorruption);
}

TEST(VersionTest, RoundTripsEveryField) {
  Version v;
  v.dataset = "data/raw";
  v.kind = ObjectKind::kBlob;
  v.object = Oid::Of("blob");
  v.size = 42;
  v.files = 1;
  v.parents = {Oid::Of("p1"), Oid::Of("p2")};
  v.author = "Ada <ada@example.org>";
  v.time = 1700000000;
  v.message = "two\nlines \\ backslash";
  auto back = Version::Decode(v.Encode());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->dataset, v.dataset);
  EXPECT_EQ(back->kind, ObjectKind::kBlob);
  EXPECT_EQ(back->object, v.object);
  EXPECT_EQ(back->parents, v.parents);
  EXPECT_EQ(back->message, v.message);
  EXPECT_EQ(back->Encode(), v.Encode());
}

TEST(VersionTest, RejectsUnknownFormatAndMissingFields) {
  EXPECT_EQ(Version::Decode("cairn-version 2\n").status().code(), Code::kCorruption);
  EXPECT_EQ(Version::Decode(std::string(kVersionHeader) + "dataset x\n").status().code(), Code::kCorruption);
}

TEST(DatasetNameTest, Validation) {
  EXPECT_TRUE(ValidateDatasetName("data/raw").ok());
  EXPECT_TRUE(ValidateDatasetName("iris.csv").ok());
  EXPECT_FALSE(ValidateDatasetName("../evil").ok());
  EXPECT_FALSE(ValidateDatasetName("a/../../b").ok());
  EXPECT_FALSE(ValidateDatasetName("/abs").ok());
  EXPECT_FALSE(ValidateDatasetName("a//b").ok());
  EXPECT_FALSE(ValidateDatasetName("a@b").ok());
  EXPECT_FALSE(ValidateDatasetName("").ok());
}

}  // namespace
}  // namespace cairn
