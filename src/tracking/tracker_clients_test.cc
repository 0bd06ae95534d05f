// Library-level tests of what MLflow-style clients give the tracker: run
// start and end times of their own, experiment tags (kept through rename,
// delete and reindex), artifacts taken from an explicit base directory, and
// the heartbeat GetRun reports for a running run.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "cairn/tracking.h"
#include "test_util/temp_dir.h"
#include "tracking/tracker_test_fixture.h"
#include "util/file.h"

namespace cairn {
namespace {

using testing::TempDir;
using testing::WriteText;

class TrackerClientsTest : public testing::TrackerFixture {
 protected:
  std::string Start(StartRunOptions o = {}) {
    o.capture_env = false;
    o.workspace_inputs = false;
    auto id = tracker_->StartRun(o);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : std::string();
  }

  Experiment Find(const std::string& name) {
    auto all = tracker_->ListExperiments(/*include_deleted=*/true);
    EXPECT_TRUE(all.ok()) << all.status().ToString();
    for (const Experiment& e : *all) {
      if (e.name == name) return e;
    }
    ADD_FAILURE() << "no experiment " << name;
    return {};
  }
};

TEST_F(TrackerClientsTest, GivenStartAndEndTimesAreStoredSealedAndReindexed) {
  StartRunOptions o;
  o.start_ms = 1'600'000'000'000;
  std::string id = Start(o);
  auto running = tracker_->GetRun(id);
  ASSERT_TRUE(running.ok());
  EXPECT_EQ(running->start_ms, 1'600'000'000'000);
  // An end before the start is refused, and the run keeps running.
  auto early = tracker_->EndRun(id, RunStatus::kFinished, std::nullopt, 1'500'000'000'000);
  EXPECT_EQ(early.status().code(), Code::kInvalidArgument) << early.status().ToString();
  EXPECT_EQ(tracker_->GetRun(id)->status, RunStatus::kRunning);
  auto ended = tracker_->EndRun(id, RunStatus::kFailed, std::nullopt, 1'600'000'123'000);
  ASSERT_TRUE(ended.ok()) << ended.status().ToString();
  EXPECT_EQ(ended->end_ms, 1'600'000'123'000);
  EXPECT_EQ(ended->status, RunStatus::kFailed);
  ASSERT_TRUE(tracker_->Reindex().ok());
  auto back = tracker_->GetRun(id);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->start_ms, 1'600'000'000'000) << "the record holds the given start";
  EXPECT_EQ(back->end_ms, 1'600'000'123'000);
  // No times given: now.
  int64_t before = NowMs();
  std::string now_id = Start();
  auto now_run = tracker_->EndRun(now_id, RunStatus::kFinished);
  ASSERT_TRUE(now_run.ok());
  EXPECT_GE(now_run->start_ms, before);
  EXPECT_GE(now_run->end_ms, now_run->start_ms);
  StartRunOptions negative;
  negative.start_ms = -5;
  negative.capture_env = false;
  EXPECT_EQ(tracker_->StartRun(negative).status().code(), Code::kInvalidArgument);
}

TEST_F(TrackerClientsTest, ExperimentTagsSurviveRenameDeleteAndReindex) {
  auto created = tracker_->CreateExperiment("nlp", {{"team", "a"}, {"mlflow.note.content", "notes"}});
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->tags.at("team"), "a");
  ASSERT_TRUE(tracker_->SetExperimentTags("nlp", {{"team", "b"}, {"stage", "dev"}}).ok());
  auto got = tracker_->GetExperiment("nlp");
  ASSERT_TRUE(got.ok());
  std::map<std::string, std::string> want = {{"team", "b"}, {"stage", "dev"}, {"mlflow.note.content", "notes"}};
  EXPECT_EQ(got->tags, want);
  ASSERT_TRUE(tracker_->RenameExperiment("nlp", "text").ok());
  ASSERT_TRUE(tracker_->DeleteExperiment("text").ok());
  ASSERT_TRUE(tracker_->RestoreExperiment("text").ok());
  EXPECT_EQ(Find("text").tags, want) << "rename, delete and restore keep the tags";
  // A reindex restores experiments from their descriptors; a tracker opened
  // afresh reads the tags there.
  ASSERT_TRUE(tracker_->Reindex().ok());
  Reopen();
  EXPECT_EQ(Find("text").tags, want);
  // Errors: unknown experiment, bad key.
  EXPECT_EQ(tracker_->SetExperimentTags("nope", {{"a", "b"}}).code(), Code::kNotFound);
  EXPECT_EQ(tracker_->SetExperimentTags("text", {{"", "b"}}).code(), Code::kInvalidArgument);
  EXPECT_EQ(tracker_->CreateExperiment("bad", {{"", "x"}}).status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(tracker_->GetExperiment("bad").ok()) << "a refused tag creates nothing";
  EXPECT_TRUE(Find("Default").tags.empty());
}

TEST_F(TrackerClientsTest, DamagedDescriptorIsReportedWhenTaggingAndReadsAsUntagged) {
  auto e = tracker_->CreateExperiment("x", {{"k", "v"}});
  ASSERT_TRUE(e.ok());
  fs::path descriptor = repo_->layout().experiment(std::to_string(e->id));
  WriteText(descriptor, "{\"format\": \"cairn-experiment 1\", \"id\": " + std::to_string(e->id) +
                            ", \"name\": \"x\", \"tags\": [1]}\n");
  EXPECT_TRUE(Find("x").tags.empty()) << "listing does not fail on it";
  Status s = tracker_->SetExperimentTags("x", {{"k", "w"}});
  EXPECT_EQ(s.code(), Code::kCorruption) << s.ToString();
  EXPECT_NE(s.message().find(descriptor.string()), std::string::npos) << s.message();
}

TEST_F(TrackerClientsTest, RelativeArtifactIsTakenFromTheBaseDirectory) {
  std::string id = Start();
  WriteText(dir_.path() / "sub" / "model.bin", "in sub");
  // The process's cwd is not the base: a file of that name there must not be taken.
  auto arts = tracker_->LogArtifact(id, "model.bin", "", dir_.path() / "sub");
  ASSERT_TRUE(arts.ok()) << arts.status().ToString();
  ASSERT_EQ(arts->size(), 1u);
  EXPECT_EQ((*arts)[0].path, "sub/model.bin");
  EXPECT_EQ(*repo_->store().Read((*arts)[0].oid), "in sub");
  EXPECT_EQ(tracker_->LogArtifact(id, "model.bin", "", "relative/base").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(tracker_->LogArtifact(id, "missing.bin", "", dir_.path() / "sub").status().code(), Code::kNotFound);
}

TEST_F(TrackerClientsTest, GetRunShowsTheHeartbeatOfARunningRun) {
  std::string id = Start();
  auto fresh = tracker_->GetRun(id);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->heartbeat_ms, fresh->start_ms) << "the start counts as the first beat";
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  {
    RunHeartbeat beat(*tracker_, id, 5);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(beat.Stop().ok());
  }
  auto beaten = tracker_->GetRun(id);
  ASSERT_TRUE(beaten.ok());
  EXPECT_GT(beaten->heartbeat_ms, fresh->start_ms + 10);
  auto ended = tracker_->EndRun(id, RunStatus::kFinished);
  ASSERT_TRUE(ended.ok());
  EXPECT_EQ(tracker_->GetRun(id)->heartbeat_ms, 0) << "an ended run has none";
}

}  // namespace
}  // namespace cairn
