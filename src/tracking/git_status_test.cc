// The git state a run records, through the in-process clean check
// (git_status.cc) and through CaptureEnvironment, against real git.
#include "tracking/git_status.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "cairn/repo.h"
#include "cairn/tracking.h"
#include "test_util/git.h"
#include "test_util/temp_dir.h"

namespace cairn::tracking_internal {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::WriteText;

class GitStatusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Git("init -q -b main");
    Git("config user.email t@example.com");
    Git("config user.name t");
    WriteText(root() / "README", "hello\n");
    WriteText(root() / ".gitignore", "*.log\n");
    Git("add README .gitignore");
    Git("commit -q -m first");
    bool created = false;
    auto r = Repo::Init(root(), /*no_git=*/false, &created);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    repo_ = std::move(r).value();
  }

  const fs::path& root() const { return dir_.path(); }

  void Git(const std::string& args) { ASSERT_EQ(testing::RunGit(root(), args), 0) << "git " << args; }

  std::string GitOut(const std::string& args) { return testing::GitOutput(root(), args); }

  // What a run started now records: git.dirty, and the diff.
  std::string Dirty(std::string* diff = nullptr) {
    std::string d;
    auto env = CaptureEnvironment(*repo_, &d);
    if (diff) *diff = d;
    return env["git.dirty"];
  }

  TempDir dir_;
  std::unique_ptr<Repo> repo_;
};

TEST_F(GitStatusTest, CleanTreeGivesCommitAndBranch) {
  auto s = ReadCleanGitState(root());
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->commit, GitOut("rev-parse HEAD"));
  EXPECT_EQ(s->branch, "main");
  auto env = CaptureEnvironment(*repo_, nullptr);
  EXPECT_EQ(env["git.dirty"], "false");
  EXPECT_EQ(env["git.commit"], GitOut("rev-parse HEAD"));
  EXPECT_EQ(env["git.branch"], "main");
}

TEST_F(GitStatusTest, UntrackedFileIsDirtyAndKeptWithTheDiff) {
  WriteText(root() / "src" / "train.py", "print('hi')\n");
  EXPECT_FALSE(ReadCleanGitState(root()).has_value());
  std::string diff;
  EXPECT_EQ(Dirty(&diff), "true");
  EXPECT_NE(diff.find("+++ b/src/train.py"), std::string::npos) << diff;
  EXPECT_NE(diff.find("+print('hi')"), std::string::npos) << diff;
}

TEST_F(GitStatusTest, ModifiedTrackedFileIsDirty) {
  WriteText(root() / "README", "hello\nchanged\n");
  EXPECT_FALSE(ReadCleanGitState(root()).has_value());
  std::string diff;
  EXPECT_EQ(Dirty(&diff), "true");
  EXPECT_NE(diff.find("+changed"), std::string::npos) << diff;
}

TEST_F(GitStatusTest, StagedOrDeletedFilesAreDirty) {
  WriteText(root() / "new.txt", "x\n");
  Git("add new.txt");
  EXPECT_FALSE(ReadCleanGitState(root()).has_value());
  EXPECT_EQ(Dirty(), "true");
  Git("reset -q");
  fs::remove(root() / "new.txt");
  fs::remove(root() / "README");
  EXPECT_FALSE(ReadCleanGitState(root()).has_value());
  EXPECT_EQ(Dirty(), "true");
}

TEST_F(GitStatusTest, OnlyIgnoredFilesIsClean) {
  WriteText(root() / "train.log", "noise\n");
  WriteText(root() / "logs" / "deep.log", "noise\n");
  EXPECT_TRUE(ReadCleanGitState(root()).has_value());
  EXPECT_EQ(Dirty(), "false");
}

TEST_F(GitStatusTest, FilesCairnWritesAreNotCode) {
  WriteText(root() / "data.csv.cairn", "pointer\n");
  WriteText(root() / "sub" / "x.cairn", "pointer\n");
  WriteText(root() / "sub" / ".gitignore", "/x\n");
  WriteText(root() / "cairn.lock", "lock\n");
  WriteText(root() / "README", "hello\n");
  EXPECT_TRUE(ReadCleanGitState(root()).has_value());
  EXPECT_EQ(Dirty(), "false");  // and git, through its pathspec, agrees
  WriteText(root() / "cairn.lockx", "not ours\n");
  EXPECT_FALSE(ReadCleanGitState(root()).has_value());
  EXPECT_EQ(Dirty(), "true");
}

TEST_F(GitStatusTest, DetachedHeadHasNoBranch) {
  Git("checkout -q --detach");
  auto s = ReadCleanGitState(root());
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->commit, GitOut("rev-parse HEAD"));
  EXPECT_EQ(s->branch, "");
  auto env = CaptureEnvironment(*repo_, nullptr);
  EXPECT_EQ(env.count("git.branch"), 0u);
  EXPECT_EQ(env["git.dirty"], "false");
}

TEST_F(GitStatusTest, StateChangesAreSeenAtEachCall) {
  EXPECT_EQ(Dirty(), "false");
  WriteText(root() / "train.py", "x = 1\n");
  EXPECT_EQ(Dirty(), "true");
  fs::remove(root() / "train.py");
  EXPECT_EQ(Dirty(), "false");
  WriteText(root() / "README", "edited\n");
  EXPECT_EQ(Dirty(), "true");
}

TEST(IsCairnWrittenPath, MatchesThePathspecOfGitStatus) {
  EXPECT_TRUE(IsCairnWrittenPath("a.cairn"));
  EXPECT_TRUE(IsCairnWrittenPath("d/e/a.csv.cairn"));
  EXPECT_TRUE(IsCairnWrittenPath(".gitignore"));
  EXPECT_TRUE(IsCairnWrittenPath("d/.gitignore"));
  EXPECT_TRUE(IsCairnWrittenPath("cairn.lock"));
  EXPECT_TRUE(IsCairnWrittenPath(".cairn"));
  EXPECT_TRUE(IsCairnWrittenPath(".cairn/config"));
  EXPECT_FALSE(IsCairnWrittenPath("cairn.lockx"));
  EXPECT_FALSE(IsCairnWrittenPath("d/cairn.lock"));
  EXPECT_FALSE(IsCairnWrittenPath(".cairnx/a"));
  EXPECT_FALSE(IsCairnWrittenPath("a.cairn.py"));
  EXPECT_FALSE(IsCairnWrittenPath("train.py"));
}

}  // namespace
}  // namespace cairn::tracking_internal
