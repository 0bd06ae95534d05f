// Library-level tests of the tracker's rules added with the tracking store:
// run liveness by heartbeat, status-restricted search and its warnings,
// artifact paths, explicit inputs replacing workspace ones, and failing
// closed on damaged records and descriptors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "cairn/dataset.h"
#include "cairn/refs.h"
#include "cairn/sys/tracking_store.h"
#include "cairn/tracking.h"
#include "test_util/temp_dir.h"
#include "tracking/tracker_test_fixture.h"
#include "tracking/tracker_internal.h"
#include "util/file.h"

namespace cairn {
namespace {

using testing::TempDir;
using testing::WriteText;

class TrackerRulesTest : public testing::TrackerFixture {
 protected:
  std::string Start(const std::string& name, StartRunOptions o = {}) {
    o.name = name;
    o.capture_env = false;
    auto id = tracker_->StartRun(o);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : std::string();
  }

  int64_t HeartbeatOf(const std::string& id) {
    auto running = tracker_->store().RunningRuns("");
    EXPECT_TRUE(running.ok());
    for (const StoredRunState& r : *running) {
      if (r.id == id) return r.heartbeat_ms;
    }
    return -1;
  }
};

TEST_F(TrackerRulesTest, RunOfAnotherHostWithAStaleHeartbeatIsReapedWithItsData) {
  StartRunOptions o;
  o.host = "elsewhere.example";
  std::string id = Start("remote", o);
  ASSERT_TRUE(tracker_->LogMetrics(id, {{"acc", 0.7, 1, 0}}).ok());
  // Fresh: its start counts as the first heartbeat.
  EXPECT_EQ(*tracker_->ReapDeadRuns(), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto reaped = tracker_->ReapDeadRuns(/*heartbeat_timeout_ms=*/5);
  ASSERT_TRUE(reaped.ok()) << reaped.status().ToString();
  EXPECT_EQ(*reaped, 1);
  auto run = tracker_->GetRun(id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status, RunStatus::kFailed);
  EXPECT_EQ(run->metrics.at("acc").value, 0.7);
  EXPECT_NE(run->tags.at("cairn.end_reason").find("heartbeat"), std::string::npos) << run->tags.at("cairn.end_reason");
  EXPECT_TRUE(run->record.has_value());
}

TEST_F(TrackerRulesTest, LiveOwnerOnThisHostNeedsNoHeartbeat) {
  std::string id = Start("mine");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(*tracker_->ReapDeadRuns(/*heartbeat_timeout_ms=*/0), 0);
  EXPECT_EQ(tracker_->GetRun(id)->status, RunStatus::kRunning);
}

TEST_F(TrackerRulesTest, RunHeartbeatKeepsTheHeartbeatFreshUntilStopped) {
  StartRunOptions o;
  o.host = "elsewhere.example";
  std::string id = Start("kept", o);
  int64_t started = HeartbeatOf(id);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  {
    RunHeartbeat beat(*tracker_, id, /*interval_ms=*/10);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (HeartbeatOf(id) <= started && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_GT(HeartbeatOf(id), started);
    EXPECT_TRUE(beat.Stop().ok());
    EXPECT_TRUE(beat.Stop().ok());  // idempotent
  }
  ASSERT_TRUE(tracker_->EndRun(id, RunStatus::kFinished).ok());
  EXPECT_EQ(tracker_->Heartbeat(id).code(), Code::kFailedPrecondition);
  RunHeartbeat late(*tracker_, id, 10);  // a run that ended is not an error
  EXPECT_TRUE(late.Stop().ok());
}

// A start time given by the caller (an imported run's, hours old) is no sign
// of life: the start itself is, so a run of another host is not reaped as
// soon as it starts.
TEST_F(TrackerRulesTest, AnOldStartTimeIsNotAnOldHeartbeat) {
  StartRunOptions o;
  o.host = "elsewhere.example";
  o.start_ms = NowMs() - 3 * 3600 * 1000;
  std::string id = Start("imported", o);
  EXPECT_GE(HeartbeatOf(id), NowMs() - 60'000);
  EXPECT_EQ(*tracker_->ReapDeadRuns(kHeartbeatTimeoutMs), 0);
  EXPECT_EQ(tracker_->GetRun(id)->status, RunStatus::kRunning);
}

// One keeper beats every run it keeps from one thread: all of them stay
// fresh, a released one no longer beats, an ended one is dropped without an
// error, and a keeper stopped can keep runs again.
TEST_F(TrackerRulesTest, HeartbeatKeeperKeepsManyRunsFromOneThread) {
  StartRunOptions o;
  o.host = "elsewhere.example";
  std::string a = Start("a", o), b = Start("b", o), c = Start("c", o);
  int64_t started_b = HeartbeatOf(b);
  HeartbeatKeeper keeper(*tracker_, /*interval_ms=*/10);
  keeper.Keep(a, /*beat_now=*/false);
  keeper.Keep(b, /*beat_now=*/false);
  keeper.Keep(c, /*beat_now=*/false);
  keeper.Release(b);
  ASSERT_TRUE(tracker_->EndRun(c, RunStatus::kFinished).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto beats_after = [&](const std::string& id, int64_t t) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (HeartbeatOf(id) <= t && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return HeartbeatOf(id) > t;
  };
  int64_t now = NowMs();
  EXPECT_TRUE(beats_after(a, now));
  EXPECT_TRUE(beats_after(a, NowMs())) << "it keeps beating";
  EXPECT_EQ(HeartbeatOf(b), started_b) << "a released run gets no beats";
  EXPECT_TRUE(keeper.TakeErrors().empty()) << "an ended run is not an error";
  EXPECT_TRUE(keeper.Stop().ok());
  EXPECT_TRUE(keeper.Stop().ok());  // idempotent
  // Stopped, then kept again: beat_now beats at once, long before an interval.
  HeartbeatKeeper slow(*tracker_, /*interval_ms=*/3'600'000);
  slow.Keep(b, /*beat_now=*/true);
  EXPECT_TRUE(beats_after(b, started_b));
  EXPECT_TRUE(slow.Stop().ok());
  now = NowMs();
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  slow.Keep(b, /*beat_now=*/true);
  EXPECT_TRUE(beats_after(b, now)) << "a keeper stopped keeps runs again";
}

TEST_F(TrackerRulesTest, SearchRestrictsStatusesAndWarnsAboutKeysNoRunHas) {
  std::string ok = Start("ok");
  ASSERT_TRUE(tracker_->LogMetrics(ok, {{"accuracy", 0.995, 0, 0}}).ok());
  ASSERT_TRUE(tracker_->EndRun(ok, RunStatus::kFinished).ok());
  std::string failed = Start("failed");
  ASSERT_TRUE(tracker_->LogMetrics(failed, {{"accuracy", 0.999, 0, 0}}).ok());
  ASSERT_TRUE(tracker_->EndRun(failed, RunStatus::kFailed, 3).ok());
  SearchOptions o;
  o.filter = "metrics.accuracy >= 0.99";
  auto all = tracker_->Search(o);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->runs.size(), 2u);
  EXPECT_TRUE(all->warnings.empty());
  o.statuses = {RunStatus::kFinished};
  auto finished = tracker_->Search(o);
  ASSERT_TRUE(finished.ok());
  ASSERT_EQ(finished->runs.size(), 1u);
  EXPECT_EQ(finished->runs[0].name, "ok");
  o.statuses = {};
  o.filter = "metrics.acuracy >= 0.99 and params.`lr rate` = '1' and tags.x != 'metrics.inside_a_string'";
  auto typo = tracker_->Search(o);
  ASSERT_TRUE(typo.ok()) << typo.status().ToString();
  EXPECT_TRUE(typo->runs.empty());
  ASSERT_EQ(typo->warnings.size(), 3u);
  EXPECT_NE(typo->warnings[0].find("metrics.acuracy"), std::string::npos) << typo->warnings[0];
  EXPECT_NE(typo->warnings[1].find("params.`lr rate`"), std::string::npos) << typo->warnings[1];
  EXPECT_NE(typo->warnings[2].find("tags.x"), std::string::npos) << typo->warnings[2];
}

TEST_F(TrackerRulesTest, ArtifactsKeepTheirPathInTheRepositoryAndOutsideFilesAreCopied) {
  std::string id = Start("arts");
  WriteText(dir_.path() / "models" / "a.json", "model");
  WriteText(dir_.path() / "eval" / "a.json", "eval");
  auto m = tracker_->LogArtifact(id, dir_.path() / "models" / "a.json");
  auto e = tracker_->LogArtifact(id, dir_.path() / "eval" / "a.json");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ((*m)[0].path, "models/a.json");
  EXPECT_EQ((*e)[0].path, "eval/a.json");
  EXPECT_NE((*m)[0].oid, (*e)[0].oid);
  auto named = tracker_->LogArtifact(id, dir_.path() / "models" / "a.json", "best/model.json");
  ASSERT_TRUE(named.ok());
  EXPECT_EQ((*named)[0].path, "best/model.json");
  TempDir outside;
  WriteText(outside.path() / "x.txt", "from a temp file");
  auto out = tracker_->LogArtifact(id, outside.path() / "x.txt");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].path, "x.txt");
  fs::remove(outside.path() / "x.txt");  // copied, not referenced
  auto bytes = repo_->store().Read((*out)[0].oid);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(*bytes, "from a temp file");
  WriteText(dir_.path() / "ok.txt", "fine");
  EXPECT_EQ(tracker_->LogArtifact(id, dir_.path() / "ok.txt", "../escape.txt").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(tracker_->LogArtifact(id, dir_.path() / "missing.txt").status().code(), Code::kNotFound);
  auto run = tracker_->GetRun(id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->artifacts.size(), 4u);
}

TEST_F(TrackerRulesTest, ExplicitInputReplacesTheWorkspaceInputOfItsDataset) {
  WriteText(dir_.path() / "data" / "raw" / "f.txt", "one");
  auto v1 = Add(*repo_, {(dir_.path() / "data" / "raw").string()}, {});
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  const std::string dataset = (*v1)[0].dataset;
  ASSERT_TRUE(CreateTag(*repo_, Tag{dataset, "v1.0.0", (*v1)[0].version}).ok());
  WriteText(dir_.path() / "data" / "raw" / "f.txt", "two");
  auto v2 = Add(*repo_, {(dir_.path() / "data" / "raw").string()}, {});
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  ASSERT_NE((*v1)[0].version, (*v2)[0].version);
  auto only_v1 = [&](const std::string& id) {
    auto run = tracker_->GetRun(id);
    ASSERT_TRUE(run.ok());
    ASSERT_EQ(run->inputs.size(), 1u);
    EXPECT_EQ(run->inputs[0].version, (*v1)[0].version);
    EXPECT_EQ(run->inputs[0].source, "explicit");
    EXPECT_EQ(run->inputs[0].tag, "v1.0.0");
  };
  StartRunOptions o;
  o.inputs = {dataset + "@v1.0.0"};
  only_v1(Start("at-start", o));
  std::string later = Start("use-dataset");
  ASSERT_EQ(tracker_->GetRun(later)->inputs.size(), 1u);  // the workspace version, until told otherwise
  ASSERT_TRUE(tracker_->AddInput(later, dataset + "@v1.0.0").ok());
  only_v1(later);
  SearchOptions s;
  s.filter = "datasets.`" + dataset + "` = '" + (*v2)[0].version.Hex().substr(0, 12) + "'";
  auto found = tracker_->Search(s);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_TRUE(found->runs.empty()) << "no run read the workspace version";
}

TEST_F(TrackerRulesTest, GcRootsFailClosedOnAnUnreadableRunRecord) {
  std::string id = Start("sealed");
  ASSERT_TRUE(tracker_->EndRun(id, RunStatus::kFinished).ok());
  OidSet live;
  ASSERT_TRUE(tracker_->CollectRoots(&live).ok());
  // A ref (from a pull, say) whose record is not in the cache.
  std::string other(32, 'a');
  WriteText(repo_->refs_dir() / "runs" / other, "sha256:" + std::string(64, '0') + "\n");
  OidSet again;
  Status s = tracker_->CollectRoots(&again);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(other), std::string::npos) << s.ToString();
  // A damaged ref too.
  WriteText(repo_->refs_dir() / "runs" / other, "garbage");
  EXPECT_FALSE(tracker_->CollectRoots(&again).ok());
}

TEST_F(TrackerRulesTest, ReindexReportsADamagedExperimentDescriptor) {
  std::string id = Start("one");
  ASSERT_TRUE(tracker_->EndRun(id, RunStatus::kFinished).ok());
  fs::path bad = repo_->refs_dir() / "experiments" / "7";
  for (const char* text : {R"({"id": "seven", "name": "x"})", R"({"id": 7, "name": 7})", R"([1, 2])",
                           R"({"id": 7, "name": "x", "created": "yesterday"})", "not json"}) {
    WriteText(bad, text);
    auto r = tracker_->Reindex();  // used to throw nlohmann::json::type_error
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), Code::kCorruption) << text;
    EXPECT_NE(r.status().message().find(bad.string()), std::string::npos) << r.status().ToString();
  }
  fs::remove(bad);
  auto r = tracker_->Reindex();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, 1);
}

TEST(TrackingEnvTest, MeminfoThatIsNotANumberIsLeftOut) {
  EXPECT_EQ(tracking_internal::ParseMemTotalBytes("16384 kB"), std::optional<uint64_t>(16384ull * 1024));
  EXPECT_EQ(tracking_internal::ParseMemTotalBytes("garbage"), std::nullopt);  // std::stoull threw here
  EXPECT_EQ(tracking_internal::ParseMemTotalBytes(""), std::nullopt);
  EXPECT_EQ(tracking_internal::ParseMemTotalBytes("99999999999999999999999 kB"), std::nullopt);
}

}  // namespace
}  // namespace cairn
