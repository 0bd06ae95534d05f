// Internal pieces of `repro` and pipeline status, one concept per file:
// staleness.cc (what a stage consumes now and how that differs from the
// lock), stage_run.cc (executing a stage as a tracked run, its metrics files
// and environment), scheduler.cc (the order stages run in), repro.cc
// (deciding per stage, and putting back outputs computed before).
#ifndef CAIRN_PIPELINE_STAGE_H_
#define CAIRN_PIPELINE_STAGE_H_

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "cairn/pipeline.h"
#include "cairn/tracking.h"
#include "cairn/validate.h"

namespace cairn::pipeline_internal {

// ---- staleness.cc

// The ${key} references of a command, in order.
std::vector<std::string> CommandParams(const std::string& cmd);

// What a stage would consume now (command after substitution, dep oids,
// param values). Deps that do not exist (yet) are left out and listed in
// `*missing`.
Result<LockedStage> CurrentInputs(Repo& repo, const PipelineSpec& spec, const StageSpec& stage,
                                  std::vector<std::string>* missing);

// Why a dependency CurrentInputs listed as missing is: a sentence naming
// the remedy. Sets *unfetched when it is tracked but its data is neither in
// the workspace nor in the cache (a pull, not a run, brings it).
std::string MissingDependency(Repo& repo, const std::string& dep, bool* unfetched);

// Reasons the recorded inputs differ from the current ones (empty: none).
std::vector<std::string> InputChanges(const LockedStage& was, const LockedStage& now);

// Reasons the workspace outputs and metrics files differ from `locked`.
Result<std::vector<std::string>> OutputChanges(Repo& repo, const StageSpec& stage, const LockedStage& locked);

// ---- repro.cc (restoring)

// Corruption unless every output and metrics file named by a lock entry (or
// a run-cache entry) is one the stage declares: the lock comes from git, and
// repro removes and writes what it names.
Status CheckLockedPaths(const StageSpec& stage, const std::map<std::string, Oid>& outs,
                        const std::map<std::string, Oid>& metrics);

// True when every output version and its data, and every metrics file, are
// in the local cache.
bool CanRestore(Repo& repo, const std::map<std::string, Oid>& outs, const std::map<std::string, Oid>& metrics);

// Writes the outputs and metrics files a stage produced before.
Status RestoreAll(Repo& repo, const std::map<std::string, Oid>& outs, const std::map<std::string, Oid>& metrics);

// ---- stage_run.cc (metrics files, environment)

struct CollectedMetrics {
  std::map<std::string, Oid> blobs;  // metrics file → blob (stored)
  std::vector<MetricPoint> points;   // numbers of every file, flattened to dotted keys
  std::string failure;               // why a file could not be taken (empty: all taken)
};

// Reads a stage's metrics files, stores them as blobs and flattens their
// numbers into points at step 0, timestamp `now_ms`. A missing or non-JSON
// file is a `failure` (the stage failed), not an error; errors are the
// store's.
Result<CollectedMetrics> CollectMetrics(Repo& repo, const StageSpec& stage, int64_t now_ms);

// The environment a stage's command gets, beside the caller's: the run and
// the repository (CAIRN_DIR is the repository root, as under `cairn run`).
std::vector<std::string> StageEnvironment(const Repo& repo, const std::string& run);

// ---- stage_run.cc

struct StageRun {
  std::string run;         // the tracked run
  int exit_code = 0;
  std::string failure;     // empty when the stage succeeded
  std::string stderr_tail;
  std::map<std::string, Oid> outs;     // out path → new version (on success)
  std::map<std::string, Oid> metrics;  // metrics file → blob (on success)
};

struct StageRunContext {
  Repo& repo;
  Tracker& tracker;
  const ReproOptions& options;
};

// Executes a stage whose inputs are `now` as a tracked run in experiment
// "pipeline": records its inputs, runs the command (supervised, see
// cairn/process.h), tracks its outputs as dataset versions, logs its
// metrics and ends the run. A command that fails, or does not produce
// what it declares, is a `failure`; errors are what kept cairn from
// recording the stage (the run, if started, is then ended FAILED).
// Called with the scheduler's lock `held`, which it releases while the
// command runs.
Result<StageRun> RunStage(StageRunContext& ctx, const StageSpec& stage, const LockedStage& now, const Oid& key,
                          std::unique_lock<std::mutex>& held);

// ---- stage_validate.cc (cairn.yaml `validate:`)

// Suite file (repo-relative) → the parsed suite.
using StageSuites = std::map<std::string, Suite>;

// Loads the suites `stage` names into `suites` (those already there are
// kept), so that a bad suite stops repro before anything runs:
// InvalidArgument "FILE:LINE:COLUMN: …", NotFound for a missing file.
Status LoadStageSuites(Repo& repo, const StageSpec& stage, StageSuites* suites);

// Validates each input of `stage`'s validate mapping against its suite
// (loaded by LoadStageSuites). `*refusal` receives why the stage must not
// run: the inputs that did not pass, with each failed expectation and its
// counts, or an input that could not be read as tables; empty when every
// input passed. Each result is stored as a derived object
// (StoreValidation). Errors are the repository's.
Status ValidateStageInputs(Repo& repo, const StageSpec& stage, const StageSuites& suites, std::string* refusal);

// ---- scheduler.cc

enum class StageState { kWaiting, kRunning, kDone, kFailed };

// Runs `work` for every stage of `todo` (topological order) once the
// stages it needs from `todo` are done, at most `jobs` at once. A stage
// after a failed one is not run: `skipped` is called for it instead. The
// first error stops new stages from starting and is returned once the
// running ones end. `work` gets the scheduler's lock held and may release
// it while it waits; `skipped` is called with it held.
Status Schedule(const std::vector<std::string>& todo, const std::map<std::string, std::vector<std::string>>& upstream,
                int jobs, const std::function<Result<bool>(const std::string&, std::unique_lock<std::mutex>&)>& work,
                const std::function<void(const std::string&)>& skipped);

}  // namespace cairn::pipeline_internal

#endif  // CAIRN_PIPELINE_STAGE_H_
