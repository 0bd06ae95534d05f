// The run cache's public listing and the runs named by the committed
// cairn.lock (what push and gc build on).
#include <gtest/gtest.h>

#include <cstdlib>

#include "cairn/pipeline.h"
#include "test_util/temp_dir.h"

namespace cairn {
namespace {

using testing::TempDir;
using testing::WriteText;

constexpr char kRunA[] = "0123456789abcdef0123456789abcdef";
constexpr char kRunB[] = "fedcba9876543210fedcba9876543210";

class RunCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = testing::InitTestRepo(dir_.path());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    repo_ = std::move(*r);
  }
  int Git(const std::string& args) {
    std::string cmd = "cd '" + dir_.path().string() + "' && git -c user.name=t -c user.email=t@t " + args +
                      " >/dev/null 2>&1";
    return std::system(cmd.c_str());
  }
  TempDir dir_;
  std::unique_ptr<Repo> repo_;
};

TEST_F(RunCacheTest, ListNamesEveryEntryWithItsOids) {
  Oid v1 = Oid::Of("version 1"), blob = Oid::Of("metrics");
  Oid k1 = Oid::Of("key 1"), k2 = Oid::Of("key 2");
  ASSERT_TRUE(WriteRunCache(*repo_, k1, RunCacheEntry{kRunA, {{"models/m.bin", v1}}, {{"metrics.json", blob}}}).ok());
  ASSERT_TRUE(WriteRunCache(*repo_, k2, RunCacheEntry{kRunB, {}, {}}).ok());
  auto list = ListRunCache(*repo_);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);
  const RunCacheListing& a = (*list)[0].key == k1 ? (*list)[0] : (*list)[1];
  EXPECT_EQ(a.entry.run, kRunA);
  EXPECT_EQ(a.entry.outs.at("models/m.bin"), v1);
  EXPECT_EQ(a.entry.metrics.at("metrics.json"), blob);
  EXPECT_GT(a.written_ms, 0);
  auto again = ReadRunCache(*repo_, k1);
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ(EncodeRunCache(**again), EncodeRunCache(a.entry));
}

TEST_F(RunCacheTest, ListFailsClosedOnADamagedEntry) {
  ASSERT_TRUE(WriteRunCache(*repo_, Oid::Of("k"), RunCacheEntry{kRunA, {}, {}}).ok());
  WriteText(repo_->refs_dir() / "runcache" / Oid::Of("bad").Hex(), "cairn-runcache 1\nout x not-an-oid\n");
  auto list = ListRunCache(*repo_);
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.status().code(), Code::kCorruption);
  EXPECT_NE(list.status().message().find(Oid::Of("bad").Hex()), std::string::npos);
}

TEST_F(RunCacheTest, EntriesRefuseEscapingPaths) {
  EXPECT_FALSE(WriteRunCache(*repo_, Oid::Of("k"), RunCacheEntry{kRunA, {{"../x", Oid::Of("v")}}, {}}).ok());
  EXPECT_FALSE(ParseRunCache("cairn-runcache 1\nout ../x " + Oid::Of("v").ToString() + "\n").ok());
  EXPECT_FALSE(ParseRunCache("cairn-runcache 2\n").ok());
}

std::string LockNaming(const std::string& run) {
  PipelineLock lock;
  lock["train"].cmd = "t";
  lock["train"].run = run;
  return EncodeLock(lock);
}

TEST_F(RunCacheTest, CommittedLockRunsWithoutGitReadTheWorkTree) {
  auto none = CommittedLockRuns(*repo_);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty());
  WriteText(dir_.path() / kLockFile, LockNaming(kRunA));
  auto runs = CommittedLockRuns(*repo_);
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  EXPECT_EQ(*runs, std::vector<std::string>{kRunA});
}

TEST_F(RunCacheTest, CommittedLockRunsReadHeadNotTheWorkTree) {
  ASSERT_EQ(Git("init -q ."), 0);
  WriteText(dir_.path() / kLockFile, LockNaming(kRunA));
  ASSERT_EQ(Git("add cairn.lock"), 0);
  ASSERT_EQ(Git("commit -qm lock"), 0);
  WriteText(dir_.path() / kLockFile, LockNaming(kRunB));  // a repro not committed yet
  auto runs = CommittedLockRuns(*repo_);
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  EXPECT_EQ(*runs, std::vector<std::string>{kRunA});
}

}  // namespace
}  // namespace cairn
