// Library-level tests of add/status/checkout/refs on a plain directory
// repository; fault injection covers failures the CLI cannot provoke as root.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "cairn/dataset.h"
#include "cairn/maintenance.h"
#include "cairn/refs.h"
#include "test_util/temp_dir.h"
#include "util/file.h"

namespace cairn {
namespace {

using testing::ReadText;
using testing::TempDir;
using testing::WriteText;

class DatasetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    old_cwd_ = fs::current_path();
    fs::current_path(dir_.path());
    bool created = false;
    auto r = Repo::Init(dir_.path(), /*no_git=*/true, &created);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(created);
    repo_ = std::move(r).value();
    WriteText(dir_.path() / "data/a.csv", "x,y\n1,2\n");
    WriteText(dir_.path() / "data/sub/b.csv", "x,y\n3,4\n");
    // Let the files' mtimes age past the racy-write window, as they would
    // in real use, so the stat cache may trust them.
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
  }
  void TearDown() override {
    SetFaultHookForTesting(nullptr);
    repo_.reset();
    fs::current_path(old_cwd_);
  }
  AddResult AddOk(const std::string& path, const std::string& msg = "") {
    AddOptions o;
    o.message = msg;
    auto r = Add(*repo_, {path}, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? (*r)[0] : AddResult{};
  }

  fs::path old_cwd_;
  TempDir dir_;
  std::unique_ptr<Repo> repo_;
};

TEST_F(DatasetTest, AddWritesPointerAndReAddIsIdempotent) {
  AddResult first = AddOk("data", "v1");
  EXPECT_EQ(first.dataset, "data");
  EXPECT_EQ(first.files, 2u);
  EXPECT_FALSE(first.unchanged);
  auto p = Pointer::Decode(ReadText(dir_.path() / "data.cairn"), "data.cairn");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->version, first.version);
  AddResult again = AddOk("data");
  EXPECT_TRUE(again.unchanged);
  EXPECT_EQ(again.files_hashed, 0u);  // the stat cache answered for every file
  EXPECT_EQ(again.version, first.version);
}

TEST_F(DatasetTest, ChangedPathGetsNewVersionWithParent) {
  AddResult v1 = AddOk("data");
  WriteText(dir_.path() / "data/a.csv", "x,y\n1,2\n5,6\n");
  AddResult v2 = AddOk("data");
  ASSERT_TRUE(v2.parent.has_value());
  EXPECT_EQ(*v2.parent, v1.version);
  auto prev = ResolveRef(*repo_, "data~1");
  ASSERT_TRUE(prev.ok());
  EXPECT_EQ(prev->version, v1.version);
  auto latest = ResolveRef(*repo_, "data@latest");
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->version, v2.version);
  auto by_prefix = ResolveRef(*repo_, "data@" + v1.version.Hex().substr(0, 9));
  ASSERT_TRUE(by_prefix.ok());
  EXPECT_EQ(by_prefix->version, v1.version);
  EXPECT_EQ(ResolveRef(*repo_, "data~5").status().code(), Code::kNotFound);
  EXPECT_EQ(ResolveRef(*repo_, "nope").status().code(), Code::kNotFound);
}

TEST_F(DatasetTest, UnreadableFileDuringAddKeepsPreviousVersion) {
  AddResult v1 = AddOk("data");
  std::string pointer_before = ReadText(dir_.path() / "data.cairn");
  WriteText(dir_.path() / "data/new.csv", "fresh");
  SetFaultHookForTesting([](std::string_view op, const std::string& path) {
    return op == "open" && path.find("new.csv") != std::string::npos ? EACCES : 0;
  });
  auto r = Add(*repo_, {"data"}, AddOptions{});
  SetFaultHookForTesting(nullptr);
  ASSERT_EQ(r.status().code(), Code::kIOError);
  EXPECT_NE(r.status().message().find("new.csv"), std::string::npos);
  EXPECT_EQ(ReadText(dir_.path() / "data.cairn"), pointer_before);
  EXPECT_TRUE(fs::is_empty(repo_->tmp_dir()));
  auto latest = ResolveRef(*repo_, "data@latest");
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->version, v1.version);
}

TEST_F(DatasetTest, DiskFullDuringAddKeepsPreviousVersion) {
  AddOk("data");
  std::string pointer_before = ReadText(dir_.path() / "data.cairn");
  WriteText(dir_.path() / "data/new.csv", "more rows");
  SetFaultHookForTesting([](std::string_view op, const std::string&) { return op == "write" ? ENOSPC : 0; });
  auto r = Add(*repo_, {"data"}, AddOptions{});
  SetFaultHookForTesting(nullptr);
  ASSERT_EQ(r.status().code(), Code::kIOError);
  EXPECT_NE(r.status().hint().find("disk space"), std::string::npos);
  EXPECT_EQ(ReadText(dir_.path() / "data.cairn"), pointer_before);
  EXPECT_TRUE(fs::is_empty(repo_->tmp_dir()));
  auto fsck = Fsck(*repo_, false);
  ASSERT_TRUE(fsck.ok());
  EXPECT_TRUE(fsck->problems.empty());
}

TEST_F(DatasetTest, StatusAndCheckoutRoundTrip) {
  AddOk("data");
  WriteText(dir_.path() / "data/a.csv", "changed\n");
  WriteText(dir_.path() / "data/extra.csv", "untracked\n");
  auto st = GetStatus(*repo_, {}, StatusOptions{});
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(st->size(), 1u);
  EXPECT_EQ((*st)[0].state, TrackedState::kModified);
  EXPECT_EQ((*st)[0].changes.size(), 2u);
  // Neither the edit nor the new file is in the cache: checkout must refuse.
  auto refused = Checkout(*repo_, {}, CheckoutOptions{});
  ASSERT_EQ(refused.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("data/a.csv"), std::string::npos);
  EXPECT_NE(refused.status().message().find("data/extra.csv"), std::string::npos);
  EXPECT_EQ(ReadText(dir_.path() / "data/a.csv"), "changed\n");
  CheckoutOptions force;
  force.force = true;
  ASSERT_TRUE(Checkout(*repo_, {}, force).ok());
  EXPECT_EQ(ReadText(dir_.path() / "data/a.csv"), "x,y\n1,2\n");
  EXPECT_FALSE(fs::exists(dir_.path() / "data/extra.csv"));
  auto clean = GetStatus(*repo_, {}, StatusOptions{});
  ASSERT_TRUE(clean.ok());
  EXPECT_EQ((*clean)[0].state, TrackedState::kClean);
}

// A chmod changes no size, mtime or inode; the stat cache must still see it
// (it once trusted the cached record and reported "clean").
TEST_F(DatasetTest, ExecutableBitChangeIsSeenThroughTheStatCache) {
  AddOk("data");
  auto st = GetStatus(*repo_, {}, StatusOptions{});  // records trusted stat entries
  ASSERT_TRUE(st.ok());
  ASSERT_EQ((*st)[0].state, TrackedState::kClean);
  fs::permissions(dir_.path() / "data/a.csv", fs::perms::owner_exec, fs::perm_options::add);
  st = GetStatus(*repo_, {}, StatusOptions{});
  ASSERT_TRUE(st.ok());
  EXPECT_EQ((*st)[0].state, TrackedState::kModified);
  ASSERT_EQ((*st)[0].changes.size(), 1u);
  EXPECT_EQ((*st)[0].changes[0].path, "a.csv");
}

TEST_F(DatasetTest, TagsAreImmutableAndGoldenIsForever) {
  AddResult v1 = AddOk("data");
  Tag t{"data", "v1.0.0", v1.version, true, "me", 1, "first"};
  ASSERT_TRUE(CreateTag(*repo_, t).ok());
  EXPECT_EQ(CreateTag(*repo_, t).code(), Code::kAlreadyExists);
  EXPECT_EQ(DeleteTag(*repo_, "data", "v1.0.0").code(), Code::kFailedPrecondition);
  Tag plain{"data", "scratch", v1.version, false, "me", 2, ""};
  ASSERT_TRUE(CreateTag(*repo_, plain).ok());
  EXPECT_TRUE(DeleteTag(*repo_, "data", "scratch").ok());
  EXPECT_EQ(DeleteTag(*repo_, "data", "scratch").code(), Code::kNotFound);
  EXPECT_EQ(ValidateTagName("deadbeef").code(), Code::kInvalidArgument);
  EXPECT_EQ(ValidateTagName("latest").code(), Code::kInvalidArgument);
  auto tags = ListTags(*repo_);
  ASSERT_TRUE(tags.ok());
  ASSERT_EQ(tags->size(), 1u);
  EXPECT_TRUE((*tags)[0].golden);
}

TEST_F(DatasetTest, GcKeepsTaggedDataAndDropsTheRest) {
  AddResult v1 = AddOk("data");
  ASSERT_TRUE(CreateTag(*repo_, Tag{"data", "keep", v1.version, false, "", 0, ""}).ok());
  WriteText(dir_.path() / "data/a.csv", "second version\n");
  AddResult v2 = AddOk("data");
  WriteText(dir_.path() / "data/a.csv", "third version\n");
  AddOk("data");  // v2's unique blob is now unreferenced
  auto report = CollectGarbage(*repo_, GcOptions{.apply = true});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->prune.objects_removed, 2u);  // v2's tree and its changed a.csv
  EXPECT_TRUE(repo_->store().Has(Oid::Of("x,y\n1,2\n")));
  EXPECT_FALSE(repo_->store().Has(Oid::Of("second version\n")));
  EXPECT_TRUE(repo_->store().Has(v2.version));  // history metadata stays
  auto fsck = Fsck(*repo_, false);
  ASSERT_TRUE(fsck.ok());
  EXPECT_TRUE(fsck->problems.empty()) << fsck->problems[0].message;
}

// Another command's gc replaced packs while this one (opened earlier) waited
// for the lock: what the repository read at open must not be trusted once
// it holds the lock.
TEST_F(DatasetTest, AddThatWaitedForGcStoresWhatGcRemoved) {
  AddOk("data");
  fs::remove(dir_.path() / "data.cairn");  // its blobs are garbage now
  auto waiting = Repo::Open(dir_.path());  // an add, waiting for the lock
  ASSERT_TRUE(waiting.ok());
  auto gc = CollectGarbage(*repo_, GcOptions{.apply = true});
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  ASSERT_FALSE(repo_->store().Has(Oid::Of("x,y\n1,2\n")));
  auto added = Add(**waiting, {"data"}, AddOptions{});
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  auto fresh = Repo::Open(dir_.path());
  ASSERT_TRUE(fresh.ok());
  EXPECT_TRUE((*fresh)->store().Has(Oid::Of("x,y\n1,2\n")));  // was skipped as "already stored"
  EXPECT_TRUE((*fresh)->store().Has(Oid::Of("x,y\n3,4\n")));
  auto fsck = Fsck(**fresh, false);
  ASSERT_TRUE(fsck.ok());
  EXPECT_TRUE(fsck->problems.empty()) << fsck->problems[0].name << ": " << fsck->problems[0].message;
}

TEST_F(DatasetTest, GcThatWaitedForAnotherGcSucceeds) {
  AddOk("data");
  WriteText(dir_.path() / "data/a.csv", "second version\n");
  AddOk("data");  // the first a.csv is garbage, in a pack with b.csv (live)
  auto waiting = Repo::Open(dir_.path());
  ASSERT_TRUE(waiting.ok());
  auto first = CollectGarbage(*repo_, GcOptions{.apply = true});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->prune.packs_rewritten, 1u);
  auto second = CollectGarbage(**waiting, GcOptions{.apply = true});  // used to fail: pack-….pack: no such file
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->prune.objects_removed, 0u);
  auto fsck = Fsck(*repo_, false);
  ASSERT_TRUE(fsck.ok());
  EXPECT_TRUE(fsck->problems.empty()) << fsck->problems[0].name << ": " << fsck->problems[0].message;
  EXPECT_EQ(*repo_->store().Read(Oid::Of("x,y\n3,4\n")), "x,y\n3,4\n");
}

TEST_F(DatasetTest, RejectsBadPaths) {
  EXPECT_EQ(Add(*repo_, {"/etc/hostname"}, {}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Add(*repo_, {".cairn"}, {}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Add(*repo_, {".cairn/config"}, {}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Add(*repo_, {"missing"}, {}).status().code(), Code::kNotFound);
  fs::create_symlink("/tmp", dir_.path() / "escape");
  EXPECT_EQ(Add(*repo_, {"escape"}, {}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Add(*repo_, {"escape/x"}, {}).status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(fs::exists(dir_.path() / "escape.cairn"));
}

}  // namespace
}  // namespace cairn
