// The provenance of a run's code (StartRunOptions::code_dir) against real
// git: the commit, dirty flag and diff come from the git work tree holding
// the code, never from the repository recording the run, and workspace
// inputs only from that repository when the code lives in it.
#include <gtest/gtest.h>

#include <string>

#include "cairn/dataset.h"
#include "cairn/tracking.h"
#include "test_util/git.h"
#include "test_util/temp_dir.h"
#include "tracking/tracker_internal.h"
#include "tracking/tracker_test_fixture.h"

namespace cairn {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::WriteText;

void Git(const fs::path& dir, const std::string& args) {
  ASSERT_EQ(testing::RunGit(dir, args), 0) << "git " << args << " in " << dir;
}

std::string Head(const fs::path& dir) { return testing::GitOutput(dir, "rev-parse HEAD"); }

// A git work tree in `dir` with `file` committed.
void InitGit(const fs::path& dir, const std::string& file) {
  Git(dir, "init -q -b main");
  Git(dir, "config user.email t@example.com");
  Git(dir, "config user.name t");
  WriteText(dir / file, "print('" + file + "')\n");
  Git(dir, "add " + file);
  Git(dir, "commit -q -m first");
}

// The tracking repository (the fixture's, here also a git work tree with
// its own commit and a tracked dataset) and, apart from it, the code's.
class CodeProvenanceTest : public testing::TrackerFixture {
 protected:
  void SetUp() override {
    TrackerFixture::SetUp();
    InitGit(dir_.path(), "tracking.py");
    WriteText(dir_.path() / "data" / "f.txt", "rows");
    auto added = Add(*repo_, {(dir_.path() / "data").string()}, {});
    ASSERT_TRUE(added.ok()) << added.status().ToString();
    auto reopened = Repo::Open(dir_.path());  // now with git
    ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
    repo_ = std::move(reopened).value();
    Reopen();
    ASSERT_TRUE(repo_->has_git());
  }

  RunInfo StartAndGet(const fs::path& code_dir) {
    StartRunOptions o;
    o.code_dir = code_dir;
    auto id = tracker_->StartRun(o);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    auto run = tracker_->GetRun(id.ok() ? *id : std::string("missing"));
    EXPECT_TRUE(run.ok()) << run.status().ToString();
    return run.ok() ? *run : RunInfo{};
  }

  TempDir code_;  // another directory: a git work tree when a test makes it one
};

TEST_F(CodeProvenanceTest, CodeInAnotherGitRepositoryRecordsItsCommitNotTheTrackingOne) {
  InitGit(code_.path(), "train.py");
  const std::string x = Head(code_.path()), y = Head(dir_.path());
  ASSERT_NE(x, y);
  RunInfo run = StartAndGet(code_.path());
  EXPECT_EQ(run.env["git.commit"], x);
  EXPECT_EQ(run.env["git.dirty"], "false");
  EXPECT_EQ(run.env["git.branch"], "main");
  // Its dirty state too, with the diff of its files.
  WriteText(code_.path() / "train.py", "print('changed')\n");
  run = StartAndGet(code_.path());
  EXPECT_EQ(run.env["git.commit"], x);
  EXPECT_EQ(run.env["git.dirty"], "true");
  bool diff = false;
  for (const RunArtifact& a : run.artifacts) diff = diff || a.path == "cairn/git.diff";
  EXPECT_TRUE(diff) << "the code's diff is kept";
  // The tracking repository is clean: only the code's state made it dirty.
  WriteText(dir_.path() / "tracking.py", "print('edited')\n");
  Git(code_.path(), "commit -q -am second");
  run = StartAndGet(code_.path());
  EXPECT_EQ(run.env["git.commit"], Head(code_.path()));
  EXPECT_EQ(run.env["git.dirty"], "false");
}

TEST_F(CodeProvenanceTest, CodeInASubdirectoryOfAnotherRepositoryFindsItsTop) {
  InitGit(code_.path(), "train.py");
  fs::create_directories(code_.path() / "src" / "models");
  RunInfo run = StartAndGet(code_.path() / "src" / "models");
  EXPECT_EQ(run.env["git.commit"], Head(code_.path()));
}

TEST_F(CodeProvenanceTest, CodeOutsideAnyGitRepositoryRecordsNoCommit) {
  RunInfo run = StartAndGet(code_.path());
  EXPECT_EQ(run.env.count("git.commit"), 0u) << run.env["git.commit"];
  EXPECT_EQ(run.env.count("git.dirty"), 0u);
  EXPECT_EQ(run.env.count("git.branch"), 0u);
  EXPECT_TRUE(run.env.count("os.kernel")) << "the machine's facts are still recorded";
}

TEST_F(CodeProvenanceTest, CodeOutsideTheRepositoryRecordsNoWorkspaceInputsAndSaysWhy) {
  InitGit(code_.path(), "train.py");
  RunInfo run = StartAndGet(code_.path());
  EXPECT_TRUE(run.inputs.empty()) << run.inputs[0].dataset;
  ASSERT_TRUE(run.tags.count(std::string(kWorkspaceInputsTag)));
  EXPECT_NE(run.tags[std::string(kWorkspaceInputsTag)].find(fs::canonical(code_.path()).string()),
            std::string::npos);
}

TEST_F(CodeProvenanceTest, CodeInsideTheRepositoryRecordsItsCommitAndWorkspaceInputs) {
  fs::create_directories(dir_.path() / "src");
  RunInfo run = StartAndGet(dir_.path() / "src");
  EXPECT_EQ(run.env["git.commit"], Head(dir_.path()));
  ASSERT_EQ(run.inputs.size(), 1u);
  EXPECT_EQ(run.inputs[0].source, "workspace");
  EXPECT_EQ(run.tags.count(std::string(kWorkspaceInputsTag)), 0u);
}

TEST_F(CodeProvenanceTest, ARelativeOrMissingCodeDirectoryIsRefused) {
  for (fs::path bad : {fs::path("src"), code_.path() / "missing"}) {
    StartRunOptions o;
    o.code_dir = bad;
    auto id = tracker_->StartRun(o);
    ASSERT_FALSE(id.ok()) << bad;
    EXPECT_EQ(id.status().code(), Code::kInvalidArgument);
    EXPECT_NE(id.status().message().find(bad.string()), std::string::npos);
  }
}

TEST(GitWorkTreeContaining, FindsTheNearestTopOrNone) {
  TempDir dir;
  EXPECT_FALSE(tracking_internal::GitWorkTreeContaining(dir.path()).has_value());
  fs::create_directories(dir.path() / "a" / "b");
  Git(dir.path() / "a", "init -q");
  EXPECT_EQ(tracking_internal::GitWorkTreeContaining(dir.path() / "a" / "b"), dir.path() / "a");
  EXPECT_FALSE(tracking_internal::GitWorkTreeContaining(dir.path()).has_value());
}

}  // namespace
}  // namespace cairn
