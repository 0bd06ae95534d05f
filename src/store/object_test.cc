#include "cairn/object.h"

#include <gtest/gtest.h>

#include <cctype>

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
  // Other spellings of the same entry decoded, though doc/formats.md says
  // only the canonical one does (a tree's oid is the hash of its bytes, so two
  // spellings would be two trees); fuzz/tree_fuzz now checks Encode(Decode(x)) == x.
  const std::string hex = Oid::Of("a").Hex();
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string& line : {"644 01 " + hex + " a\n", "644 00 " + hex + " a\n", "644 1 " + upper + " a\n"}) {
    EXPECT_EQ(Tree::Decode(std::string(kTreeHeader) + line).status().code(), Code::kCorruption) << line;
  }
  EXPECT_TRUE(Tree::Decode(std::string(kTreeHeader) + "644 0 " + hex + " a\n").ok());
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

std::string OneEntryTree(const std::string& path) {
  return std::string(kTreeHeader) + "644 1 " + Oid::Of("x").Hex() + " " + path + "\n";
}

TEST(TreeTest, DecodeRefusesNamesThatLeaveTheDirectory) {
  for (const char* bad : {"../x", "/abs/x", "a/../../x", "a/..", "..", ".", "./x", "a/./b", "a//b", "a/", "nul\x01x"}) {
    auto t = Tree::Decode(OneEntryTree(bad));
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.status().code(), Code::kCorruption) << bad;
    EXPECT_NE(t.status().message().find("not a safe relative path"), std::string::npos) << t.status().message();
  }
  std::string with_nul = std::string(kTreeHeader) + "644 1 " + Oid::Of("x").Hex() + " a" + std::string(1, '\0') + "b\n";
  EXPECT_EQ(Tree::Decode(with_nul).status().code(), Code::kCorruption);
  for (const char* good : {"x", "a/b/c.csv", "dir with space/f", "..a", "a..", ".hidden", "a/.b"}) {
    EXPECT_TRUE(Tree::Decode(OneEntryTree(good)).ok()) << good;
  }
}

TEST(TreeTest, DecodeRefusesDuplicatesAndFileDirectoryClashes) {
  std::string dup = std::string(kTreeHeader) + "644 1 " + Oid::Of("x").Hex() + " a\n" + "644 1 " +
                    Oid::Of("y").Hex() + " a\n";
  EXPECT_EQ(Tree::Decode(dup).status().code(), Code::kCorruption);
  // "a" < "a-b" < "a/b": the clash is not between neighbours.
  std::string clash = std::string(kTreeHeader) + "644 1 " + Oid::Of("x").Hex() + " a\n" + "644 1 " +
                      Oid::Of("y").Hex() + " a-b\n" + "644 1 " + Oid::Of("z").Hex() + " a/b\n";
  auto t = Tree::Decode(clash);
  EXPECT_EQ(t.status().code(), Code::kCorruption);
  EXPECT_NE(t.status().message().find("both as a file"), std::string::npos);
  Tree n;
  n.entries.push_back(TreeEntry{"a", false, 1, Oid::Of("1")});
  n.entries.push_back(TreeEntry{"a/b", false, 1, Oid::Of("2")});
  EXPECT_EQ(n.Normalize().code(), Code::kInvalidArgument);
}

TEST(VersionTest, DecodeRefusesHostileNames) {
  Version v;
  v.dataset = "model.bin";
  v.kind = ObjectKind::kBlob;
  v.object = Oid::Of("blob");
  for (const char* bad : {"../../victim/x", "sub/x", "..", ".", "/etc/passwd"}) {
    v.filename = bad;
    EXPECT_EQ(Version::Decode(v.Encode()).status().code(), Code::kCorruption) << bad;
  }
  v.filename = "model.bin";
  EXPECT_TRUE(Version::Decode(v.Encode()).ok());
  std::string bad_dataset = std::string(kVersionHeader) + "dataset ../up\nkind tree\nobject " +
                            Oid::Of("t").ToString() + "\n";
  EXPECT_EQ(Version::Decode(bad_dataset).status().code(), Code::kCorruption);
}

TEST(RelativePathTest, Validation) {
  EXPECT_TRUE(ValidateRelativePath("a/b.txt", "path").ok());
  EXPECT_FALSE(ValidateRelativePath("", "path").ok());
  EXPECT_FALSE(ValidateRelativePath("/a", "path").ok());
  EXPECT_FALSE(ValidateRelativePath("a/../b", "path").ok());
  EXPECT_TRUE(ValidateFileName("f.txt", "name").ok());
  EXPECT_FALSE(ValidateFileName("d/f.txt", "name").ok());
}

}  // namespace
}  // namespace cairn
