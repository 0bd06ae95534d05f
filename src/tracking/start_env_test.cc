// StartRunOptions::env: a front end's environment facts are recorded with
// the run's start, under the facts cairn captures itself (a caller cannot
// make a run claim another commit or machine).
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "cairn/tracking.h"
#include "test_util/git.h"
#include "test_util/temp_dir.h"
#include "tracking/tracker_test_fixture.h"

namespace cairn {
namespace {

using testing::TempDir;
using testing::WriteText;

class StartEnvTest : public testing::TrackerFixture {
 protected:
  void SetUp() override {
    TrackerFixture::SetUp();
    // The code's git work tree, so that git.commit is captured.
    ASSERT_EQ(testing::RunGit(code_.path(), "init -q -b main"), 0);
    ASSERT_EQ(testing::RunGit(code_.path(), "config user.email t@example.com"), 0);
    ASSERT_EQ(testing::RunGit(code_.path(), "config user.name t"), 0);
    WriteText(code_.path() / "train.py", "print(1)\n");
    ASSERT_EQ(testing::RunGit(code_.path(), "add train.py"), 0);
    ASSERT_EQ(testing::RunGit(code_.path(), "commit -q -m first"), 0);
    head_ = testing::GitOutput(code_.path(), "rev-parse HEAD");
    ASSERT_EQ(head_.size(), 40u);
  }

  RunInfo Start(const StartRunOptions& o) {
    auto id = tracker_->StartRun(o);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    auto run = tracker_->GetRun(id.ok() ? *id : std::string());
    EXPECT_TRUE(run.ok()) << run.status().ToString();
    return run.ok() ? *run : RunInfo{};
  }

  TempDir code_;
  std::string head_;
};

TEST_F(StartEnvTest, FactsGivenAreRecordedWithTheStartAndKeptWhenSealed) {
  StartRunOptions o;
  o.code_dir = code_.path();
  o.env = {{"python.version", "3.11.7"}, {"python.packages.numpy", "1.26.4"}};
  RunInfo run = Start(o);
  EXPECT_EQ(run.env["python.version"], "3.11.7");
  EXPECT_EQ(run.env["python.packages.numpy"], "1.26.4");
  EXPECT_EQ(run.env["git.commit"], head_) << "the captured facts are still there";
  ASSERT_TRUE(tracker_->EndRun(run.id, RunStatus::kFinished).ok());
  Reopen();
  auto sealed = tracker_->GetRun(run.id);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  EXPECT_EQ(sealed->env["python.packages.numpy"], "1.26.4");
}

TEST_F(StartEnvTest, CapturedFactsWinOverFactsGiven) {
  StartRunOptions o;
  o.code_dir = code_.path();
  o.env = {{"git.commit", std::string(40, '0')}, {"git.dirty", "true"}, {"host", "elsewhere"},
           {"cairn.version", "0.0.0"}, {"python.version", "3.11.7"}};
  RunInfo run = Start(o);
  EXPECT_EQ(run.env["git.commit"], head_);
  EXPECT_EQ(run.env["git.dirty"], "false");
  EXPECT_NE(run.env["host"], "elsewhere");
  EXPECT_NE(run.env["cairn.version"], "0.0.0");
  EXPECT_EQ(run.env["python.version"], "3.11.7");
}

TEST_F(StartEnvTest, WithoutCaptureTheFactsGivenAreTheWholeEnv) {
  StartRunOptions o;
  o.capture_env = false;
  o.env = {{"git.commit", "given"}, {"python.version", "3.11.7"}};
  RunInfo run = Start(o);
  EXPECT_EQ(run.env, (std::map<std::string, std::string>{{"git.commit", "given"}, {"python.version", "3.11.7"}}));
}

}  // namespace
}  // namespace cairn
