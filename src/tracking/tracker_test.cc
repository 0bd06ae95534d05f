// Library-level tests of the tracker on a plain directory repository: run
// lifecycle, write-once params, metric history and latest values, search
// order, sealing and reindex, record encoding, the metric buffer.
#include "cairn/tracking.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <thread>

#include "cairn/dataset.h"
#include "cairn/refs.h"
#include "cairn/run_record.h"
#include "test_util/temp_dir.h"
#include "tracking/tracker_test_fixture.h"
#include "util/file.h"

namespace cairn {
namespace {

using testing::WriteText;

class TrackerTest : public testing::TrackerFixture {
 protected:
  std::string Start(const std::string& name, std::map<std::string, std::string> params = {}) {
    StartRunOptions o;
    o.name = name;
    o.params = std::move(params);
    o.capture_env = false;
    auto id = tracker_->StartRun(o);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : std::string();
  }
  std::vector<std::string> SearchNames(const std::string& filter, std::vector<std::string> order,
                                       int64_t limit = 100) {
    SearchOptions o;
    o.filter = filter;
    o.order_by = std::move(order);
    o.limit = limit;
    auto r = tracker_->Search(o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::vector<std::string> names;
    if (r.ok()) {
      for (const RunInfo& run : r->runs) names.push_back(run.name);
    }
    return names;
  }
};

TEST_F(TrackerTest, RunLifecycleSealsARecordNamedByARef) {
  std::string id = Start("first", {{"lr", "0.1"}});
  ASSERT_EQ(id.size(), 32u);
  ASSERT_TRUE(tracker_->LogMetrics(id, {{"loss", 0.5, 0, 0}, {"loss", 0.25, 1, 0}}).ok());
  ASSERT_TRUE(tracker_->SetTags(id, {{"team", "a"}}).ok());
  auto ended = tracker_->EndRun(id, RunStatus::kFinished, 0);
  ASSERT_TRUE(ended.ok()) << ended.status().ToString();
  EXPECT_EQ(ended->status, RunStatus::kFinished);
  ASSERT_TRUE(ended->record.has_value());
  auto ref = ReadFile(repo_->refs_dir() / "runs" / id);
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(*ref, ended->record->ToString() + "\n");
  // The record holds what was logged.
  auto data = repo_->store().Read(*ended->record);
  ASSERT_TRUE(data.ok());
  std::optional<Oid> history;
  auto decoded = DecodeRunRecord(*data, "test", &history);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->params.at("lr"), "0.1");
  EXPECT_EQ(decoded->tags.at("team"), "a");
  EXPECT_DOUBLE_EQ(decoded->metrics.at("loss").value, 0.25);
  ASSERT_TRUE(history.has_value());
  EXPECT_TRUE(repo_->store().Has(*history));
  // Ended runs take no more params or metrics, and cannot end twice.
  EXPECT_EQ(tracker_->LogParams(id, {{"x", "1"}}).code(), Code::kFailedPrecondition);
  EXPECT_EQ(tracker_->LogMetrics(id, {{"loss", 1, 2, 0}}).code(), Code::kFailedPrecondition);
  EXPECT_EQ(tracker_->EndRun(id, RunStatus::kFailed).status().code(), Code::kFailedPrecondition);
  // A tag after the end re-seals: the ref moves to a new record.
  ASSERT_TRUE(tracker_->SetTags(id, {{"team", "b"}}).ok());
  auto again = tracker_->GetRun(id);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*again->record, *ended->record);
  EXPECT_EQ(again->tags.at("team"), "b");
}

TEST_F(TrackerTest, ParamsAreWriteOnce) {
  std::string id = Start("p", {{"k", "5"}});
  EXPECT_TRUE(tracker_->LogParams(id, {{"k", "5"}}).ok());  // same value: fine
  Status s = tracker_->LogParams(id, {{"k", "7"}});
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("write-once"), std::string::npos) << s.message();
  auto run = tracker_->GetRun(id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->params.at("k"), "5");
}

TEST_F(TrackerTest, LatestMetricIsHighestStepAndNonFiniteValuesSurvive) {
  std::string id = Start("m");
  ASSERT_TRUE(tracker_->LogMetrics(id, {{"acc", 0.9, 5, 100}, {"acc", 0.1, 2, 200}}).ok());
  ASSERT_TRUE(tracker_->LogMetrics(id, {{"acc", 0.3, 1, 300}}).ok());  // older step, later batch
  ASSERT_TRUE(tracker_->LogMetrics(id, {{"n", std::nan(""), 0, 0}, {"i", -INFINITY, 0, 0}}).ok());
  auto run = tracker_->GetRun(id);
  ASSERT_TRUE(run.ok());
  EXPECT_DOUBLE_EQ(run->metrics.at("acc").value, 0.9);
  EXPECT_EQ(run->metrics.at("acc").step, 5);
  EXPECT_TRUE(std::isnan(run->metrics.at("n").value));
  EXPECT_EQ(run->metrics.at("i").value, -INFINITY);
  auto history = tracker_->MetricHistory(id, "acc");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 3u);  // in logged order
  EXPECT_EQ((*history)[0].step, 5);
  EXPECT_EQ((*history)[2].step, 1);
  EXPECT_EQ(tracker_->MetricHistory(id, "nope").status().code(), Code::kNotFound);
  EXPECT_EQ(tracker_->LogMetrics(id, {{"bad\tkey", 1, 0, 0}}).code(), Code::kInvalidArgument);
}

TEST_F(TrackerTest, SearchSortsByMetricWithMissingAndNanLast) {
  std::string a = Start("a"), b = Start("b"), c = Start("c"), d = Start("d");
  ASSERT_TRUE(tracker_->LogMetrics(a, {{"acc", 0.5, 0, 0}}).ok());
  ASSERT_TRUE(tracker_->LogMetrics(b, {{"acc", 0.9, 0, 0}}).ok());
  ASSERT_TRUE(tracker_->LogMetrics(c, {{"acc", std::nan(""), 0, 0}}).ok());
  ASSERT_TRUE(tracker_->LogMetrics(d, {{"loss", 1, 0, 0}}).ok());
  auto desc = SearchNames("", {"metrics.acc DESC"});
  ASSERT_EQ(desc.size(), 4u);
  EXPECT_EQ(desc[0], "b");
  EXPECT_EQ(desc[1], "a");
  auto asc = SearchNames("", {"metrics.acc ASC"});
  EXPECT_EQ(asc[0], "a");
  EXPECT_EQ(asc[1], "b");
  // The limit applies across both halves (with and without the metric).
  EXPECT_EQ(SearchNames("", {"metrics.acc DESC"}, 3).size(), 3u);
  EXPECT_EQ(SearchNames("metrics.acc > 0.4", {"metrics.acc DESC"}), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(SearchNames("metrics.acc > 0.7 or attributes.run_name = 'd'", {"attributes.run_name"}),
            (std::vector<std::string>{"b", "d"}));
  SearchOptions bad;
  bad.filter = "metrics.acc >";
  EXPECT_EQ(tracker_->Search(bad).status().code(), Code::kInvalidArgument);
}

// The search drives from the metric index when the filter bounds a metric;
// the answers must equal those of the plain scan.
TEST_F(TrackerTest, SearchWithMetricBoundsMatchesThePlainScan) {
  for (int i = 0; i < 30; ++i) {
    std::string id = Start("r" + std::to_string(i));
    if (i % 7 != 0) {
      ASSERT_TRUE(tracker_->LogMetrics(id, {{"acc", i / 30.0, 0, 0}}).ok());
    }
    ASSERT_TRUE(tracker_->LogMetrics(id, {{"loss", (30 - i) / 10.0, 0, 0}}).ok());
  }
  // Sorted by the bounded metric, both ways; the walk starts at the bound.
  EXPECT_EQ(SearchNames("metrics.acc > 0.9", {"metrics.acc ASC"}), (std::vector<std::string>{"r29"}));
  EXPECT_EQ(SearchNames("metrics.acc >= 0.8", {"metrics.acc DESC"}),
            (std::vector<std::string>{"r29", "r27", "r26", "r25", "r24"}));
  EXPECT_TRUE(SearchNames("metrics.acc > 2", {"metrics.acc DESC"}).empty());  // no runs without acc sneak in
  // Newest first, driven by a selective bound: the same runs a scan finds.
  auto newest = SearchNames("metrics.acc > 0.85 and metrics.loss < 1", {});  // start times may tie
  std::sort(newest.begin(), newest.end());
  EXPECT_EQ(newest, (std::vector<std::string>{"r26", "r27", "r29"}));
  EXPECT_EQ(SearchNames("metrics.acc > 0.85 and metrics.loss < 1", {"attributes.run_name DESC"}, 2),
            (std::vector<std::string>{"r29", "r27"}));
  // An OR at the top is no bound: runs without acc can match through loss.
  EXPECT_EQ(SearchNames("metrics.acc > 0.95 or metrics.loss > 2.95", {"attributes.run_name"}),
            (std::vector<std::string>{"r0", "r29"}));
}

TEST_F(TrackerTest, DeletedRunsAreHiddenUntilRestored) {
  std::string a = Start("a");
  ASSERT_TRUE(tracker_->EndRun(a, RunStatus::kFinished).ok());
  ASSERT_TRUE(tracker_->DeleteRun(a).ok());
  EXPECT_TRUE(SearchNames("", {}).empty());
  ASSERT_TRUE(tracker_->RestoreRun(a.substr(0, 8)).ok());  // by prefix
  EXPECT_EQ(SearchNames("", {}).size(), 1u);
}

TEST_F(TrackerTest, ReindexRebuildsEndedRunsFromRecords) {
  std::string a = Start("a", {{"k", "1"}});
  ASSERT_TRUE(tracker_->LogMetrics(a, {{"acc", 0.5, 0, 10}, {"acc", 0.7, 1, 20}}).ok());
  WriteText(dir_.path() / "model.bin", "weights");
  ASSERT_TRUE(tracker_->LogArtifact(a, dir_.path() / "model.bin").ok());
  ASSERT_TRUE(tracker_->EndRun(a, RunStatus::kFinished, 0).ok());
  std::string running = Start("still-running");
  auto before = tracker_->GetRun(a);
  ASSERT_TRUE(before.ok());
  // Wipe the index of ended runs and rebuild it.
  tracker_.reset();
  repo_.reset();
  for (const char* f : {"state.db", "state.db-wal", "state.db-shm"}) fs::remove(dir_.path() / ".cairn" / f);
  repo_ = std::move(Repo::Open(dir_.path())).value();
  tracker_ = std::move(Tracker::Open(*repo_)).value();
  EXPECT_EQ(tracker_->GetRun(a).status().code(), Code::kNotFound);
  auto n = tracker_->Reindex();
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 1);
  auto after = tracker_->GetRun(a);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->params, before->params);
  EXPECT_EQ(after->metrics.at("acc").value, 0.7);
  EXPECT_EQ(after->status, RunStatus::kFinished);
  ASSERT_EQ(after->artifacts.size(), 1u);
  EXPECT_EQ(after->artifacts[0].path, "model.bin");
  EXPECT_EQ(*after->record, *before->record);
  auto history = tracker_->MetricHistory(a, "acc");
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->size(), 2u);
}

TEST_F(TrackerTest, ArtifactPathsMustStayInsideTheRunsArtifacts) {
  std::string a = Start("a");
  WriteText(dir_.path() / "ok.txt", "fine");
  EXPECT_EQ(tracker_->LogArtifact(a, dir_.path() / "ok.txt", "../escape.txt").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(tracker_->LogArtifact(a, dir_.path() / "missing.txt").status().code(), Code::kNotFound);
}

TEST_F(TrackerTest, DeadProcessRunsAreReapedAsFailed) {
  pid_t child = DeadPid();
  StartRunOptions o;
  o.name = "orphan";
  o.capture_env = false;
  o.pid = child;  // already gone
  auto id = tracker_->StartRun(o);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(tracker_->LogMetrics(*id, {{"acc", 0.4, 0, 0}}).ok());
  auto reaped = tracker_->ReapDeadRuns();
  ASSERT_TRUE(reaped.ok());
  EXPECT_EQ(*reaped, 1);
  auto run = tracker_->GetRun(*id);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->status, RunStatus::kFailed);
  EXPECT_EQ(run->metrics.at("acc").value, 0.4);
  EXPECT_TRUE(run->tags.count("cairn.end_reason"));
  // Our own run is alive and stays RUNNING.
  std::string mine = Start("mine");
  EXPECT_EQ(*tracker_->ReapDeadRuns(), 0);
}

// A run's owner killed but not yet reaped by its parent is a zombie: kill(pid,
// 0) still succeeds, yet it will never end its run.
TEST_F(TrackerTest, ZombieOwnerCountsAsDead) {
  int gate[2];
  ASSERT_EQ(::pipe(gate), 0);
  pid_t child = ::fork();
  if (child == 0) {
    ::close(gate[1]);
    char c;
    (void)!::read(gate[0], &c, 1);  // alive until the test closes its end
    _exit(0);
  }
  ASSERT_GT(child, 0);
  ::close(gate[0]);
  StartRunOptions o;
  o.name = "zombie";
  o.capture_env = false;
  o.pid = child;  // alive now: its start time is recorded
  auto id = tracker_->StartRun(o);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(*tracker_->ReapDeadRuns(), 0);  // a live owner keeps its run
  ::close(gate[1]);  // the child exits ...
  siginfo_t info{};
  // ... and becomes a zombie: wait for that without reaping it (WNOWAIT).
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
  ASSERT_EQ(::kill(child, 0), 0);  // what the old check looked at
  auto reaped = tracker_->ReapDeadRuns();
  ::waitpid(child, nullptr, 0);
  ASSERT_TRUE(reaped.ok()) << reaped.status().ToString();
  EXPECT_EQ(*reaped, 1);
  EXPECT_EQ(tracker_->GetRun(*id)->status, RunStatus::kFailed);
}

TEST_F(TrackerTest, MetricBufferWritesEverythingByFlushAndInOrder) {
  std::string a = Start("a");
  {
    MetricBuffer buffer(*tracker_, 10);
    for (int i = 0; i < 5000; ++i) buffer.Add(a, MetricPoint{"loss", i * 0.5, i, 0});
    ASSERT_TRUE(buffer.Flush().ok());
    auto history = tracker_->MetricHistory(a, "loss");
    ASSERT_TRUE(history.ok());
    ASSERT_EQ(history->size(), 5000u);
    for (int i = 0; i < 5000; ++i) ASSERT_EQ((*history)[i].step, i);
    buffer.Add(a, MetricPoint{"tail", 1, 0, 0});
  }  // the destructor flushes the rest
  EXPECT_TRUE(tracker_->MetricHistory(a, "tail").ok());
}

TEST(RecordTest, MetricHistoryRoundTripsNonFiniteValues) {
  std::vector<MetricPoint> points = {{"a", 0.1, 0, 1}, {"b c", std::nan(""), 3, 4}, {"a", INFINITY, 1, 2},
                                     {"a", -INFINITY, 2, 3}, {"a", 1e-300, 5, 6}};
  auto back = DecodeMetricHistory(EncodeMetricHistory(points), "t");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), points.size());
  EXPECT_EQ((*back)[0].value, 0.1);
  EXPECT_EQ((*back)[1].key, "b c");
  EXPECT_TRUE(std::isnan((*back)[1].value));
  EXPECT_EQ((*back)[2].value, INFINITY);
  EXPECT_EQ((*back)[3].value, -INFINITY);
  EXPECT_EQ((*back)[4].value, 1e-300);
  EXPECT_FALSE(DecodeMetricHistory("cairn-metrics 1\na\tx\t1\t2\n", "t").ok());
  EXPECT_FALSE(DecodeMetricHistory("garbage", "t").ok());
}

TEST(RecordTest, RunRecordIsCanonicalAndRoundTrips) {
  RunInfo r;
  r.id = std::string(32, 'a');
  r.experiment = "e";
  r.name = "n";
  r.status = RunStatus::kKilled;
  r.start_ms = 1;
  r.end_ms = 2;
  r.exit_code = 130;
  r.params = {{"b", "2"}, {"a", "1"}};
  r.metrics["m"] = MetricPoint{"m", std::nan(""), 3, 4};
  r.inputs.push_back(RunInput{"data", Oid::Of("v"), "v1", "explicit"});
  r.artifacts.push_back(RunArtifact{"x/y.bin", Oid::Of("y"), 1});
  std::string enc = EncodeRunRecord(r, Oid::Of("h"));
  EXPECT_EQ(enc, EncodeRunRecord(r, Oid::Of("h")));
  std::optional<Oid> history;
  auto back = DecodeRunRecord(enc, "t", &history);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(EncodeRunRecord(*back, history), enc);
  EXPECT_TRUE(std::isnan(back->metrics.at("m").value));
  EXPECT_EQ(*back->exit_code, 130);
  EXPECT_EQ(back->status, RunStatus::kKilled);
  EXPECT_EQ(DecodeRunRecord("{\"format\":\"cairn-run 9\"}", "t", &history).status().code(), Code::kCorruption);
  EXPECT_EQ(DecodeRunRecord("not json", "t", &history).status().code(), Code::kCorruption);
}

// Found by fuzz/run_record_fuzz: a record is read from remotes and teammates'
// caches, so a wrong type or a float where an integer belongs is Corruption,
// not an uncaught exception or a float-to-integer cast out of range.
TEST(RecordTest, HostileFieldTypesAreCorruption) {
  RunInfo r;
  r.id = std::string(32, 'a');
  r.status = RunStatus::kFinished;
  r.metrics["m"] = MetricPoint{"m", 0.5, 3, 4};
  r.artifacts.push_back(RunArtifact{"x.bin", Oid::Of("y"), 1});
  const std::string good = EncodeRunRecord(r, std::nullopt);
  std::optional<Oid> history;
  ASSERT_TRUE(DecodeRunRecord(good, "t", &history).ok());
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return at == std::string::npos ? s : s.replace(at, from.size(), to);
  };
  const std::string hostile[] = {
      replace("\"format\": \"cairn-run 1\"", "\"format\": 1"),
      replace("\"start_time\": 0", "\"start_time\": 1e300"),
      replace("\"end_time\": 0", "\"end_time\": -1.5e19"),
      replace("\"exit_code\": null", "\"exit_code\": 3e10"),
      replace("\"id\": 0", "\"id\": 9.3e18"),
      replace("\"step\": 3", "\"step\": 1e19"),
      replace("\"timestamp\": 4", "\"timestamp\": -1e300"),
      replace("\"size\": 1", "\"size\": 1.8e19"),
  };
  for (const std::string& data : hostile) {
    auto decoded = DecodeRunRecord(data, "t", &history);
    EXPECT_EQ(decoded.status().code(), Code::kCorruption) << data;
  }
  // Whole numbers written as floats by other tools are still refused, since
  // cairn itself never writes them; a metric value may be any number.
  EXPECT_FALSE(DecodeRunRecord(replace("\"step\": 3", "\"step\": 3.0"), "t", &history).ok());
  EXPECT_TRUE(DecodeRunRecord(replace("\"value\": 0.5", "\"value\": 1e300"), "t", &history).ok());
}

TEST_F(TrackerTest, AModifiedWorkspaceInputWarnsAtStart) {
  WriteText(dir_.path() / "data/d/a.csv", "x\n1\n");
  auto added = Add(*repo_, {(dir_.path() / "data/d").string()}, AddOptions{});
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  std::vector<std::string> warnings;
  StartRunOptions o;
  o.capture_env = false;
  o.on_warning = [&warnings](const std::string& w) { warnings.push_back(w); };
  ASSERT_TRUE(tracker_->StartRun(o).ok());
  EXPECT_TRUE(warnings.empty());
  WriteText(dir_.path() / "data/d/a.csv", "x\n1\n2\n");
  auto id = tracker_->StartRun(o);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  auto run = tracker_->GetRun(*id);
  ASSERT_TRUE(run.ok());
  ASSERT_EQ(run->inputs.size(), 1u);
  ASSERT_TRUE(run->inputs[0].modified);
  EXPECT_EQ(warnings, std::vector<std::string>{ModifiedInputWarning(run->inputs[0])});
}

}  // namespace
}  // namespace cairn
