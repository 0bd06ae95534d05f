// Derived objects: encoding, refs, gc and fsck.
#include "cairn/derived.h"

#include <gtest/gtest.h>

#include "cairn/maintenance.h"
#include "test_util/temp_dir.h"

namespace cairn {
namespace {

DerivedObject Sample(const Oid& subject, std::string key = {}) {
  DerivedObject o;
  o.kind = "example";
  o.subject = subject;
  o.key = std::move(key);
  o.body = Json{{"rows", 3}, {"columns", Json::array({Json{{"name", "b"}}, Json{{"name", "a"}}})}};
  o.created_ms = 1764650000123;
  return o;
}

TEST(DerivedTest, EncodeDecodeRoundTripsByteForByte) {
  DerivedObject o = Sample(Oid::Of("data"), "suite.v1");
  std::string bytes = o.Encode();
  auto back = DerivedObject::Decode(bytes, "x");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->kind, "example");
  EXPECT_EQ(back->subject, o.subject);
  EXPECT_EQ(back->key, "suite.v1");
  EXPECT_EQ(back->created_ms, o.created_ms);
  EXPECT_EQ(back->body, o.body);
  EXPECT_EQ(back->Encode(), bytes);
  EXPECT_EQ(DerivedObject::Decode("{}", "x").status().code(), Code::kCorruption);
  EXPECT_EQ(DerivedObject::Decode("nope", "x").status().code(), Code::kCorruption);
}

TEST(DerivedTest, NamesParseBack) {
  DerivedRef ref{"example", Oid::Of("x"), "", Oid()};
  EXPECT_EQ(ref.Name(), "refs/derived/example/" + ref.subject.Hex() + "/_");
  auto parsed = ParseDerivedRefName(ref.Name());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->kind, "example");
  EXPECT_EQ(parsed->subject, ref.subject);
  EXPECT_EQ(parsed->key, "");
  ref.key = "abc-1.2";
  parsed = ParseDerivedRefName(ref.Name());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->key, "abc-1.2");
  for (const std::string& bad : std::vector<std::string>{"refs/derived/profile", "refs/derived/Profile/" + ref.subject.Hex() + "/_",
                          "refs/derived/example/abc/_", "refs/derived/example/" + ref.subject.Hex() + "/.x",
                          "refs/derived/example/" + ref.subject.Hex() + "/a/b", "refs/tags/x/y"}) {
    EXPECT_FALSE(ParseDerivedRefName(bad).ok()) << bad;
  }
  EXPECT_FALSE(ValidateDerivedKind("").ok());
  EXPECT_FALSE(ValidateDerivedKind("a/b").ok());
  EXPECT_FALSE(ValidateDerivedKey("_x").ok());
  EXPECT_FALSE(ValidateDerivedKey("../x").ok());
}

TEST(DerivedTest, PutGetReplaceList) {
  testing::TempDir dir;
  auto repo = testing::InitTestRepo(dir.path());
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  Oid subject = Oid::Of("table bytes");
  auto none = GetDerived(**repo, "example", subject);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  auto first = PutDerived(**repo, Sample(subject));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto got = GetDerived(**repo, "example", subject);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->body["rows"], 3);

  DerivedObject newer = Sample(subject);
  newer.body["rows"] = 4;
  newer.created_ms++;
  auto second = PutDerived(**repo, newer);
  ASSERT_TRUE(second.ok());
  EXPECT_NE(*first, *second);
  got = GetDerived(**repo, "example", subject);
  EXPECT_EQ((*got)->body["rows"], 4);
  ASSERT_TRUE(PutDerived(**repo, Sample(subject, "k1")).ok());
  EXPECT_EQ(PutDerived(**repo, Sample(subject, "../k")).status().code(), Code::kInvalidArgument);

  auto all = ListDerived(**repo);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].key, "");
  EXPECT_EQ((*all)[0].object, *second);
  EXPECT_EQ((*all)[1].key, "k1");
}

TEST(DerivedTest, GcKeepsWhatDescribesLiveDataAndDropsTheRest) {
  testing::TempDir dir;
  auto repo = testing::InitTestRepo(dir.path());
  ASSERT_TRUE(repo.ok());
  Oid kept = Oid::Of("kept"), gone = Oid::Of("gone");
  auto a = PutDerived(**repo, Sample(kept));
  auto b = PutDerived(**repo, Sample(gone));
  ASSERT_TRUE(a.ok() && b.ok());
  OidSet live = {kept};
  uint64_t removed = 0;
  ASSERT_TRUE(CollectDerived(**repo, &live, /*apply=*/false, &removed).ok());
  EXPECT_TRUE(live.count(*a));
  EXPECT_FALSE(live.count(*b));
  EXPECT_EQ(removed, 1u);
  EXPECT_EQ(ListDerived(**repo)->size(), 2u);  // a dry run removes nothing
  removed = 0;
  ASSERT_TRUE(CollectDerived(**repo, &live, /*apply=*/true, &removed).ok());
  EXPECT_EQ(removed, 1u);
  auto left = ListDerived(**repo);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].subject, kept);
}

TEST(DerivedTest, FsckFindsDamagedAndMisplacedRefs) {
  testing::TempDir dir;
  auto repo = testing::InitTestRepo(dir.path());
  ASSERT_TRUE(repo.ok());
  Oid s1 = Oid::Of("one"), s2 = Oid::Of("two");
  auto a = PutDerived(**repo, Sample(s1));
  ASSERT_TRUE(a.ok());
  uint64_t checked = 0;
  auto problems = CheckDerived(**repo, &checked);
  ASSERT_TRUE(problems.ok());
  EXPECT_TRUE(problems->empty());
  EXPECT_EQ(checked, 1u);
  // A ref of s2 naming s1's object: the object describes something else.
  const Layout& layout = (*repo)->layout();
  testing::WriteText(layout.derived_ref("example", s2.Hex(), "_"), a->ToString() + "\n");
  testing::WriteText(layout.derived_ref("example", s1.Hex(), "k"), "garbage\n");
  testing::WriteText(layout.derived_ref("example", "nothex", "_"), a->ToString() + "\n");
  problems = CheckDerived(**repo, &checked);
  ASSERT_TRUE(problems.ok());
  ASSERT_EQ(problems->size(), 3u);
  auto got = GetDerived(**repo, "example", s2);
  EXPECT_EQ(got.status().code(), Code::kCorruption);
  // Stray files where directories belong are each listed; listing goes on.
  testing::WriteText(layout.derived() / "stray", "hi\n");
  testing::WriteText(layout.derived() / "example" / "abc", "hi\n");
  problems = CheckDerived(**repo, &checked);
  ASSERT_TRUE(problems.ok()) << problems.status().ToString();
  EXPECT_EQ(problems->size(), 5u);
  std::filesystem::remove(layout.derived() / "stray");
  std::filesystem::remove(layout.derived() / "example" / "abc");
  auto report = Fsck(**repo, false);
  ASSERT_TRUE(report.ok());
  int derived = 0;
  for (const FsckProblem& p : report->problems) derived += p.what == "derived";
  EXPECT_EQ(derived, 3);
}

}  // namespace
}  // namespace cairn
