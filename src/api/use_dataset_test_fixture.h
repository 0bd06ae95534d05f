// A test fixture for use_dataset tests: a fresh repository in a temp
// directory (dir_/a; the test may put a directory remote or other clones
// beside it), a Tracker opened on it when a test asks, and runs that record
// no environment and no workspace inputs, so their inputs are only what the
// test gives them.
#ifndef CAIRN_API_USE_DATASET_TEST_FIXTURE_H_
#define CAIRN_API_USE_DATASET_TEST_FIXTURE_H_

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "cairn/repo.h"
#include "cairn/tracking.h"
#include "test_util/temp_dir.h"

namespace cairn::testing {

class UseDatasetFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = InitRepo(dir_.path() / "a");
    ASSERT_NE(repo_, nullptr);
  }

  // A fresh repository in `dir` (made when missing); null when it cannot be.
  static std::unique_ptr<Repo> InitRepo(const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir);
    auto r = InitTestRepo(dir);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
  }

  // Opens tracker_ on repo_.
  void OpenTracker() {
    auto t = Tracker::Open(*repo_);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    tracker_ = std::move(t).value();
  }

  // A RUNNING run in `tracker` with nothing recorded by itself; its id (""
  // when it could not start).
  static std::string StartRun(Tracker& tracker) {
    StartRunOptions o;
    o.capture_env = false;
    o.workspace_inputs = false;
    auto id = tracker.StartRun(o);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : std::string();
  }

  TempDir dir_;
  std::unique_ptr<Repo> repo_;
  std::unique_ptr<Tracker> tracker_;  // destroyed before repo_
};

}  // namespace cairn::testing

#endif  // CAIRN_API_USE_DATASET_TEST_FIXTURE_H_
