// The tracker fails closed on what it cannot trust: run refs it cannot list
// (gc roots, reindex), records whose embedded id is another run's, and
// experiment descriptors that disagree with their file names. Detached runs
// (no owner process) end only by the heartbeat timeout.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cairn/run_record.h"
#include "cairn/tracking.h"
#include "test_util/temp_dir.h"
#include "tracking/tracker_test_fixture.h"
#include "util/file.h"
#include "util/list_dir.h"

namespace cairn {
namespace {

using testing::TempDir;
using testing::WriteText;

class TrackerIntegrityTest : public testing::TrackerFixture {
 protected:
  // An ended run named `name` with param k=`k`.
  std::string EndedRun(const std::string& name, const std::string& k) {
    StartRunOptions o;
    o.name = name;
    o.params = {{"k", k}};
    o.capture_env = false;
    auto id = tracker_->StartRun(o);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    if (!id.ok()) return "";
    EXPECT_TRUE(tracker_->EndRun(*id, RunStatus::kFinished, 0).ok());
    return *id;
  }

  fs::path RunsDir() { return repo_->layout().runs(); }
  Oid RefOf(const std::string& id) { return ReadRunRef(RunsDir() / id).value(); }
  void PointRef(const std::string& id, const Oid& record) {
    WriteText(RunsDir() / id, record.ToString() + "\n");
  }
};

TEST(ListDirNamesTest, MissingIsEmptyAndAnythingElseUnlistableIsAnError) {
  TempDir dir;
  auto missing = ListDirNames(dir.path() / "none");
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  EXPECT_TRUE(missing->empty());
  WriteText(dir.path() / "file", "junk\n");
  fs::create_symlink(dir.path() / "nowhere", dir.path() / "dangling");
  for (const char* name : {"file", "dangling"}) {
    auto listed = ListDirNames(dir.path() / name);
    ASSERT_FALSE(listed.ok()) << name;
    EXPECT_EQ(listed.status().code(), Code::kIOError) << name;
    EXPECT_NE(listed.status().message().find("cannot list " + (dir.path() / name).string()), std::string::npos)
        << listed.status().message();
  }
  fs::create_directories(dir.path() / "d");
  WriteText(dir.path() / "d" / "b", "");
  WriteText(dir.path() / "d" / "a", "");
  WriteText(dir.path() / "d" / ".tmp", "");
  EXPECT_EQ(ListDirNames(dir.path() / "d").value(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ListDirNames(dir.path() / "d", /*include_hidden=*/true).value(),
            (std::vector<std::string>{".tmp", "a", "b"}));
}

TEST_F(TrackerIntegrityTest, UnlistableRunRefsFailRootsAndReindex) {
  std::string id = EndedRun("r1", "1");
  fs::rename(RunsDir(), dir_.path() / "runs.bak");
  WriteText(RunsDir(), "junk\n");
  OidSet live;
  Status roots = tracker_->CollectRoots(&live);
  EXPECT_EQ(roots.code(), Code::kIOError) << roots.ToString();
  EXPECT_NE(roots.message().find("cannot list"), std::string::npos) << roots.ToString();
  auto reindexed = tracker_->Reindex();
  EXPECT_EQ(reindexed.status().code(), Code::kIOError) << reindexed.status().ToString();
  // The failed reindex dropped nothing.
  EXPECT_TRUE(tracker_->GetRun(id).ok());
  fs::remove(RunsDir());
  EXPECT_TRUE(tracker_->CollectRoots(&live).ok());  // no refs/runs at all: nothing to keep
  EXPECT_EQ(tracker_->Reindex().value(), 0);
}

TEST_F(TrackerIntegrityTest, ReindexRefusesARefNamingAnotherRunsRecord) {
  std::string victim = EndedRun("victim", "1");
  std::string other = EndedRun("other", "2");
  PointRef(other, RefOf(victim));
  auto reindexed = tracker_->Reindex();
  ASSERT_EQ(reindexed.status().code(), Code::kCorruption) << reindexed.status().ToString();
  EXPECT_NE(reindexed.status().message().find("refs/runs/" + other + " names the record of another run (" + victim +
                                              ")"),
            std::string::npos)
      << reindexed.status().ToString();
  EXPECT_EQ(tracker_->GetRun(other).value().params.at("k"), "2");
}

TEST_F(TrackerIntegrityTest, ImportSkipsARecordOfAnotherRunAndImportsTheRest) {
  std::string victim = EndedRun("victim", "1");
  std::string mallory = EndedRun("mallory", "666");
  std::string fresh = EndedRun("fresh", "3");
  // A remote's refs: mallory's record under the victim's id, and a record
  // of the fresh run as another clone re-sealed it (tagged).
  ASSERT_TRUE(tracker_->SetTags(fresh, {{"seen", "yes"}}).ok());
  Oid fresh_record = RefOf(fresh);
  ASSERT_TRUE(tracker_->SetTags(fresh, {{"seen", "no"}}).ok());
  std::vector<std::string> warnings;
  auto imported = tracker_->ImportRuns({{victim, RefOf(mallory)}, {fresh, fresh_record}}, &warnings);
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  EXPECT_EQ(*imported, 1);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("run " + victim + " not imported"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("another run (" + mallory + ")"), std::string::npos) << warnings[0];
  EXPECT_EQ(tracker_->GetRun(victim).value().params.at("k"), "1");
  EXPECT_EQ(RefOf(victim), *tracker_->GetRun(victim).value().record);
  EXPECT_EQ(tracker_->GetRun(fresh).value().tags.at("seen"), "yes");
}

TEST_F(TrackerIntegrityTest, ExperimentDescriptorMustMatchItsFileAndNameOnce) {
  EndedRun("r", "1");
  const fs::path seven = repo_->layout().experiment("7");
  WriteText(seven, "{\"id\": 5, \"name\": \"Default\"}\n");
  auto reindexed = tracker_->Reindex();
  ASSERT_EQ(reindexed.status().code(), Code::kCorruption) << reindexed.status().ToString();
  EXPECT_NE(reindexed.status().message().find(seven.string() + ": damaged experiment descriptor (its id is 5, its "
                                                               "file name 7)"),
            std::string::npos)
      << reindexed.status().ToString();
  WriteText(seven, "{\"id\": 7, \"name\": \"Default\"}\n");
  reindexed = tracker_->Reindex();
  ASSERT_EQ(reindexed.status().code(), Code::kCorruption) << reindexed.status().ToString();
  EXPECT_NE(reindexed.status().message().find("experiment 'Default' is also described by 0"), std::string::npos)
      << reindexed.status().ToString();
  // Default is still experiment 0.
  EXPECT_EQ(tracker_->GetExperiment("Default").value().id, 0);
}

// A run created for others to log to (MLflow's create_run) survives its
// creator; a run owned by a process that is gone is reaped at once.
TEST_F(TrackerIntegrityTest, DetachedRunOutlivesItsCreatorUntilTheHeartbeatTimeout) {
  pid_t child = DeadPid();
  StartRunOptions o;
  o.capture_env = false;
  o.pid = child;  // ignored: a detached run has no owner
  o.detached = true;
  std::string detached = tracker_->StartRun(o).value();
  o.detached = false;
  std::string owned = tracker_->StartRun(o).value();
  EXPECT_EQ(tracker_->ReapDeadRuns().value(), 1);
  EXPECT_EQ(tracker_->GetRun(owned).value().status, RunStatus::kFailed);
  EXPECT_EQ(tracker_->GetRun(detached).value().status, RunStatus::kRunning);
  // Every write counts as a heartbeat: after one, a 1 s timeout has not passed.
  ::usleep(1'100'000);
  ASSERT_TRUE(tracker_->LogMetrics(detached, {{"acc", 0.5, 0, 0}}).ok());
  EXPECT_EQ(tracker_->ReapDeadRuns(1000).value(), 0);
  ::usleep(1'100'000);
  EXPECT_EQ(tracker_->ReapDeadRuns(1000).value(), 1);
  RunInfo ended = tracker_->GetRun(detached).value();
  EXPECT_EQ(ended.status, RunStatus::kFailed);
  EXPECT_NE(ended.tags.at("cairn.end_reason").find("no heartbeat or write"), std::string::npos)
      << ended.tags.at("cairn.end_reason");
}

TEST(RecordMessageTest, AMissingMetricFieldIsNamedWithoutLibraryText) {
  RunInfo run;
  run.id = std::string(32, 'a');
  run.experiment = "Default";
  run.metrics["acc"] = MetricPoint{"acc", 0.5, 3, 10};
  std::string data = EncodeRunRecord(run, std::nullopt);
  size_t step = data.find("\"step\"");
  ASSERT_NE(step, std::string::npos);
  data.replace(step, 6, "\"stop\"");
  std::optional<Oid> history;
  auto decoded = DecodeRunRecord(data, "run " + run.id, &history);
  ASSERT_EQ(decoded.status().code(), Code::kCorruption);
  EXPECT_EQ(decoded.status().message(), "run " + run.id + ": damaged run record: metric acc lacks 'step'");
}

}  // namespace
}  // namespace cairn
