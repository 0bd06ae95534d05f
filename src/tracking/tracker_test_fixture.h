// A test fixture for tracker tests: a fresh repository in a temp directory
// with a Tracker open on it.
#ifndef CAIRN_TRACKING_TRACKER_TEST_FIXTURE_H_
#define CAIRN_TRACKING_TRACKER_TEST_FIXTURE_H_

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>

#include "cairn/tracking.h"
#include "test_util/temp_dir.h"

namespace cairn::testing {

class TrackerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = InitTestRepo(dir_.path());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    repo_ = std::move(r).value();
    Reopen();
  }

  // A new Tracker on the same repository, as another process would open it.
  void Reopen() {
    tracker_.reset();
    auto t = Tracker::Open(*repo_);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    tracker_ = std::move(t).value();
  }

  // The pid of a process that has ended and been reaped: a run owner that is gone.
  static pid_t DeadPid() {
    pid_t child = ::fork();
    if (child == 0) _exit(0);
    EXPECT_GT(child, 0);
    int status = 0;
    ::waitpid(child, &status, 0);
    return child;
  }

  TempDir dir_;
  std::unique_ptr<Repo> repo_;
  std::unique_ptr<Tracker> tracker_;
};

}  // namespace cairn::testing

#endif  // CAIRN_TRACKING_TRACKER_TEST_FIXTURE_H_
