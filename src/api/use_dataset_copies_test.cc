// use_dataset copies under .cairn/datasets: only complete, unchanged copies
// are handed out; a killed build or removal leaves nothing a reader takes;
// gc keeps what running runs read and counts the grace from the last use.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "api/use_dataset_test_fixture.h"
#include "cairn/dataset.h"
#include "cairn/maintenance.h"
#include "cairn/refs.h"
#include "cairn/use_dataset.h"
#include "dataset/dataset_copies.h"
#include "test_util/temp_dir.h"
#include "util/file.h"

namespace cairn {
namespace {

using testing::ReadText;
using testing::WriteText;

size_t CountFiles(const fs::path& dir) {
  size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) n += e.is_regular_file() ? 1 : 0;
  return n;
}

void SetAge(const fs::path& p, int64_t seconds) {
  struct timespec times[2];
  times[0].tv_sec = times[1].tv_sec = ::time(nullptr) - seconds;
  times[0].tv_nsec = times[1].tv_nsec = 0;
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << p;
}

class DatasetCopiesTest : public testing::UseDatasetFixture {
 protected:

  // data/d with `n` files (contents depend on `seed`) as dataset "d".
  Oid AddDir(int n, const std::string& seed) {
    for (int i = 0; i < n; ++i) WriteText(repo_->root() / "data/d" / ("sub" + std::to_string(i % 3)) / std::to_string(i), seed + std::to_string(i));
    AddOptions o;
    o.name = "d";
    auto added = Add(*repo_, {(repo_->root() / "data/d").string()}, o);
    EXPECT_TRUE(added.ok()) << added.status().ToString();
    return added.ok() ? (*added)[0].version : Oid();
  }

  fs::path Manifest(const Oid& v) { return repo_->cairn_dir() / "datasets" / (v.Hex() + ".manifest"); }
};

TEST_F(DatasetCopiesTest, APartialCopyIsMadeAgainNotHandedOut) {
  Oid v1 = AddDir(30, "one");
  AddDir(30, "two");
  auto path = MaterializeDatasetVersion(*repo_, v1);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  ASSERT_EQ(CountFiles(*path), 30u);
  // What a removal killed half-way (in place) left: some files gone.
  fs::permissions(*path / "sub0", fs::perms::owner_all, fs::perm_options::add);
  fs::remove(*path / "sub0" / "0");
  fs::remove(*path / "sub0" / "3");
  fs::remove(Manifest(v1));
  auto again = MaterializeDatasetVersion(*repo_, v1);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(CountFiles(*again), 30u);
  EXPECT_EQ(ReadText(*again / "sub0" / "0"), "one0");
  EXPECT_EQ(CheckDatasetCopy(*repo_, v1), CopyState::kComplete);
}

TEST_F(DatasetCopiesTest, RemovalMovesTheCopyAwayBeforeDeletingIt) {
  Oid v1 = AddDir(10, "one");
  auto path = MaterializeDatasetVersion(*repo_, v1);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  auto lock = repo_->Lock();
  ASSERT_TRUE(lock.ok());
  ASSERT_TRUE(RemoveDatasetCopy(*repo_, DatasetCopy{v1, *path, 0}).ok());
  EXPECT_FALSE(fs::exists(*path));
  EXPECT_FALSE(fs::exists(Manifest(v1)));
  EXPECT_EQ(CheckDatasetCopy(*repo_, v1), CopyState::kMissing);
  for (const auto& e : fs::directory_iterator(repo_->tmp_dir())) ADD_FAILURE() << "left behind: " << e.path();
}

TEST_F(DatasetCopiesTest, AChangedCopyIsMadeAgainWithANote) {
  Oid v1 = AddDir(6, "one");
  AddDir(6, "two");
  auto path = MaterializeDatasetVersion(*repo_, v1);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  EXPECT_EQ(fs::status(*path / "sub1" / "1").permissions() & fs::perms::all, fs::perms(0444));
  // What root can do despite 0444: change a file, add one.
  fs::permissions(*path / "sub1" / "1", fs::perms::owner_write, fs::perm_options::add);
  WriteText(*path / "sub1" / "1", "tampered");
  std::vector<std::string> notes;
  auto again = MaterializeDatasetVersion(*repo_, v1, [&](const std::string& m) { notes.push_back(m); });
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(ReadText(*again / "sub1" / "1"), "one1");
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("was changed"), std::string::npos) << notes[0];

  fs::permissions(*again, fs::perms::owner_write, fs::perm_options::add);
  WriteText(*again / "extra", "x");
  again = MaterializeDatasetVersion(*repo_, v1);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(fs::exists(*again / "extra"));
  EXPECT_EQ(CountFiles(*again), 6u);
}

TEST_F(DatasetCopiesTest, StaleTempDirsOfDeadProcessesGoLiveOnesStay) {
  Oid v1 = AddDir(3, "one");
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ::waitpid(child, nullptr, 0);  // a pid that is surely gone
  const fs::path dead = repo_->tmp_dir() / ("dataset-" + std::to_string(child) + "-abcdef");
  const fs::path live = repo_->tmp_dir() / ("dataset-" + std::to_string(::getpid()) + "-abcdef");
  const fs::path old_style = repo_->tmp_dir() / "dataset-Qx1234";
  for (const fs::path& d : {dead, live, old_style}) {
    fs::create_directories(d / "sub");
    WriteText(d / "sub" / "f", "x");
    fs::permissions(d / "sub", fs::perms(0555));
  }
  SetAge(old_style, 2 * 86400);
  auto path = MaterializeDatasetVersion(*repo_, v1);
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_FALSE(fs::exists(old_style));
  EXPECT_TRUE(fs::exists(live)) << "a live materialisation's directory was removed";

  fs::permissions(live / "sub", fs::perms::owner_all);
  fs::rename(live, dead);
  GcOptions gc;
  gc.apply = true;
  auto report = CollectGarbage(*repo_, gc);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_FALSE(fs::exists(dead)) << "gc left a dead process's temp dir";
}

class DatasetCopiesRunTest : public DatasetCopiesTest {
 protected:
  void SetUp() override {
    DatasetCopiesTest::SetUp();
    OpenTracker();
  }
};

TEST_F(DatasetCopiesRunTest, GcKeepsWhatARunningRunReadsAndCountsTheGraceFromTheLastUse) {
  Oid v1 = AddDir(5, "one");
  AddDir(5, "two");  // the workspace now holds v2; v1 is no root of its own
  std::string run = StartRun(*tracker_);
  auto used = UseDataset(*tracker_, run, "d@" + v1.Hex());
  ASSERT_TRUE(used.ok()) << used.status().ToString();
  ASSERT_FALSE(used->workspace);
  SetAge(Manifest(v1), 2 * 86400);
  SetAge(used->path, 2 * 86400);
  GcOptions gc;
  gc.apply = true;
  auto report = CollectGarbage(*repo_, gc);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->copies_removed, 0u) << "gc removed the copy a running run reads";
  EXPECT_EQ(CheckDatasetCopy(*repo_, v1), CopyState::kComplete);
  auto v = LoadVersion(*repo_, v1);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(repo_->store().Has(v->object)) << "gc removed the data of a running run's input";

  // Reuse refreshes the age: a second run's use keeps it past the grace.
  ASSERT_TRUE(tracker_->EndRun(run, RunStatus::kFinished).ok());
  SetAge(Manifest(v1), 2 * 86400);
  std::string second = StartRun(*tracker_);
  ASSERT_TRUE(UseDataset(*tracker_, second, "d@" + v1.Hex()).ok());
  ASSERT_TRUE(tracker_->EndRun(second, RunStatus::kFinished).ok());
  report = CollectGarbage(*repo_, gc);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->copies_removed, 0u) << "a copy used moments ago was removed";

  // Once no run is running and the last use is old, it goes.
  SetAge(Manifest(v1), 2 * 86400);
  report = CollectGarbage(*repo_, gc);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->copies_removed, 1u);
  EXPECT_EQ(CheckDatasetCopy(*repo_, v1), CopyState::kMissing);
}

}  // namespace
}  // namespace cairn
