// Executing one stage as a tracked run: its inputs recorded for lineage,
// its command supervised, its outputs tracked as dataset versions and its
// metrics logged. Every step's result is checked: a lost input record is a
// lost lineage edge, a lost end leaves a run RUNNING forever.
// Its metrics files are stored as blobs (restored with its outputs) and
// flattened into the run's metrics; its command gets the same CAIRN_*
// environment as under `cairn run`.
#include <chrono>
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include "cairn/dataset.h"
#include "cairn/pointer.h"
#include "cairn/process.h"
#include "pipeline/stage.h"
#include "util/file.h"

namespace cairn::pipeline_internal {
namespace {

constexpr size_t kStderrKept = 8192;
constexpr int kStderrTailLines = 20;

// Ends `run` FAILED, saying why. The first error is returned.
Status EndFailed(Tracker& tracker, const std::string& run, const std::string& reason, std::optional<int> exit_code) {
  Status tagged = tracker.SetTags(run, {{"cairn.end_reason", reason}});
  Status ended = tracker.EndRun(run, RunStatus::kFailed, exit_code).status();
  return tagged.ok() ? ended : tagged;
}

// Records the dataset versions a stage reads as inputs of its run: dataset
// refs, and deps that are tracked datasets (a file inside one is a
// cairn.dep tag only).
Status RecordInputs(Repo& repo, Tracker& tracker, const std::string& run, const StageSpec& stage) {
  for (const std::string& d : stage.deps) {
    std::string ref;
    if (IsDatasetRef(d)) {
      ref = d;
    } else {
      auto tracked = FindTrackedAt(repo, {d});
      if (!tracked.ok() && tracked.status().code() == Code::kNotFound) continue;  // a plain file or directory
      if (!tracked.ok()) return tracked.status().WithContext("dependency " + d);
      if (tracked->size() != 1 || (*tracked)[0].path != d) continue;
      ref = (*tracked)[0].pointer.dataset + "@" + (*tracked)[0].pointer.version.Hex();
    }
    auto input = tracker.AddInput(run, ref);
    if (!input.ok()) return input.status().WithContext("cannot record input " + ref + " of the run");
  }
  return Status::OK();
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Flattens the numbers (and booleans, as 0/1) of a JSON metrics file into
// dotted keys. A metrics file is a snapshot: step 0, logged at `now_ms`.
void Flatten(const nlohmann::json& j, const std::string& prefix, int64_t now_ms, std::vector<MetricPoint>* out) {
  if (j.is_number()) {
    out->push_back(MetricPoint{prefix, j.get<double>(), /*step=*/0, /*timestamp_ms=*/now_ms});
  } else if (j.is_boolean()) {
    out->push_back(MetricPoint{prefix, j.get<bool>() ? 1.0 : 0.0, /*step=*/0, /*timestamp_ms=*/now_ms});
  } else if (j.is_object()) {
    for (const auto& [k, v] : j.items()) Flatten(v, prefix.empty() ? k : prefix + "." + k, now_ms, out);
  }
}

}  // namespace

Result<CollectedMetrics> CollectMetrics(Repo& repo, const StageSpec& stage, int64_t now_ms) {
  CollectedMetrics c;
  for (const std::string& m : stage.metrics) {
    auto text = ReadFile(repo.Abs(m));
    if (!text.ok()) {
      c.failure = "metrics file " + m + " was not written";
      return c;
    }
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded()) {
      c.failure = "metrics file " + m + " is not JSON";
      return c;
    }
    Flatten(j, "", now_ms, &c.points);
    CAIRN_ASSIGN_OR_RETURN(c.blobs[m], repo.store().PutBlob(*text));
  }
  if (!c.blobs.empty()) CAIRN_RETURN_IF_ERROR(repo.store().Commit());
  return c;
}

std::vector<std::string> StageEnvironment(const Repo& repo, const std::string& run) {
  // The same variables, with the same meanings, as under `cairn run`
  // (doc/pipelines.md): the Python module opens the repository at CAIRN_DIR.
  return {"CAIRN_RUN_ID=" + run, "CAIRN_TRACKING_URI=" + repo.root().string(), "CAIRN_DIR=" + repo.root().string(),
          "PYTHONUNBUFFERED=1"};
}

Result<StageRun> RunStage(StageRunContext& ctx, const StageSpec& stage, const LockedStage& now, const Oid& key,
                          std::unique_lock<std::mutex>& held) {
  Repo& repo = ctx.repo;
  Tracker& tracker = ctx.tracker;
  StartRunOptions ro;
  ro.experiment = "pipeline";
  ro.name = stage.name;
  ro.params = now.params;
  ro.tags = {{"cairn.stage", stage.name}, {"cairn.run_cache_key", key.Hex()}};
  for (const auto& [d, oid] : now.deps) ro.tags["cairn.dep." + d] = oid.ToString();
  ro.workspace_inputs = false;
  ro.command = now.cmd;
  ro.cwd = repo.root().string();
  StageRun result;
  CAIRN_ASSIGN_OR_RETURN(result.run, tracker.StartRun(ro));
  const std::string& run = result.run;
  if (Status s = RecordInputs(repo, tracker, run, stage); !s.ok()) {
    result.failure = s.message();
    CAIRN_RETURN_IF_ERROR(EndFailed(tracker, run, result.failure, std::nullopt));
    return result;
  }

  ProcessOptions po;
  po.argv = {"/bin/sh", "-c", now.cmd};
  po.cwd = repo.root();
  po.env = StageEnvironment(repo, run);
  po.capture_limit = kStderrKept;
  po.keep_tail = true;
  if (ctx.options.on_output) {
    po.on_output = [&](OutputStream which, std::string_view data) { ctx.options.on_output(stage.name, which, data); };
  }
  held.unlock();
  if (ctx.options.on_stage_start) ctx.options.on_stage_start(stage.name, now.cmd);
  std::optional<RunHeartbeat> heartbeat(std::in_place, tracker, run);  // liveness while the command runs
  auto child = RunProcess(po);
  Status beat = heartbeat->Stop();
  heartbeat.reset();
  held.lock();
  if (!beat.ok() && ctx.options.on_warning) ctx.options.on_warning(beat.WithContext("run " + run + ": heartbeat"));
  if (!child.ok()) {
    Status ended = EndFailed(tracker, run, child.status().message(), std::nullopt);
    if (!ended.ok()) {
      return Status::IOError(child.status().message() + "; the run could not be ended either: " + ended.message());
    }
    return child.status();
  }
  result.exit_code = child->exit_code;
  if (child->stray_processes > 0) {  // provenance: outputs may have been cut short
    CAIRN_RETURN_IF_ERROR(
        tracker.SetTags(run, {{"cairn.stray_processes", std::to_string(child->stray_processes)}}));
  }
  result.stderr_tail = LastLines(child->stderr_data, kStderrTailLines);
  if (child->exit_code != 0) result.failure = "command exited with " + std::to_string(child->exit_code);
  for (const std::string& o : stage.outs) {
    std::error_code ec;
    if (result.failure.empty() && !std::filesystem::exists(repo.Abs(o), ec)) {
      result.failure = "the command did not produce output " + o;
    }
  }
  if (result.failure.empty() && !stage.outs.empty()) {
    AddOptions ao;
    ao.message = "stage " + stage.name + " (run " + run.substr(0, 8) + ")";
    std::vector<std::string> outs;  // absolute: Add takes paths as a user gives them
    for (const std::string& o : stage.outs) outs.push_back(repo.Abs(o).string());
    auto added = Add(repo, outs, ao);
    if (!added.ok()) {
      result.failure = added.status().message();
    } else {
      for (const AddResult& a : *added) result.outs[a.path] = a.version;
    }
  }
  if (result.failure.empty()) {
    CAIRN_ASSIGN_OR_RETURN(CollectedMetrics metrics, CollectMetrics(repo, stage, NowMs()));
    result.failure = metrics.failure;
    if (result.failure.empty() && !metrics.points.empty()) CAIRN_RETURN_IF_ERROR(tracker.LogMetrics(run, metrics.points));
    result.metrics = std::move(metrics.blobs);
  }
  if (!result.failure.empty()) {
    result.outs.clear();
    result.metrics.clear();
    CAIRN_RETURN_IF_ERROR(EndFailed(tracker, run, result.failure, child->exit_code));
    return result;
  }
  std::map<std::string, std::string> tags;
  for (const auto& [path, v] : result.outs) tags["cairn.out." + path] = v.ToString();
  CAIRN_RETURN_IF_ERROR(tracker.SetTags(run, tags));
  CAIRN_RETURN_IF_ERROR(tracker.EndRun(run, RunStatus::kFinished, 0).status());
  return result;
}

}  // namespace cairn::pipeline_internal
