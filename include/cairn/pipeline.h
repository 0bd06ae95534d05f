// Pipelines: stages declared in cairn.yaml (committed), the exact inputs and
// outputs of their last successful execution in cairn.lock (committed), and
// `repro`, which re-runs what is stale, restores what was computed before
// from the run cache, and records every execution as a tracked run.
// Formats: doc/pipelines.md.
#ifndef CAIRN_PIPELINE_H_
#define CAIRN_PIPELINE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/oid.h"
#include "cairn/process.h"
#include "cairn/repo.h"
#include "cairn/status.h"

namespace cairn {

inline constexpr char kPipelineFile[] = "cairn.yaml";
inline constexpr char kLockFile[] = "cairn.lock";

// A dependency written with '@' (data/raw@v1.0.0) is a dataset ref, not a
// path; so is a model ref (model:NAME, model:NAME@production: IsModelRef in
// cairn/registry.h), whose dep oid is the model version object.
inline bool IsDatasetRef(const std::string& dep) {
  return dep.find('@') != std::string::npos || dep.starts_with("model:");
}

struct StageSpec {
  std::string name;
  std::string cmd;                   // run by /bin/sh in the repository root; ${key} takes a param
  std::vector<std::string> deps;     // repo-relative paths, or dataset refs (data/raw@v1.0.0)
  std::vector<std::string> params;   // dotted keys of the params file
  std::vector<std::string> outs;     // repo-relative paths, tracked as datasets after each run
  std::vector<std::string> metrics;  // repo-relative JSON files logged to the run
  // Inputs checked before the command runs: dep → suite file (repo-relative;
  // cairn/validate.h). An input that does not pass refuses the stage.
  std::map<std::string, std::string> validate;
  int line = 0;                      // where the stage starts in cairn.yaml (1-based)
  int validate_line = 0;             // where its validate mapping is
  int cmd_line = 0, params_line = 0;  // where its cmd and params are (for error messages)
};

struct PipelineSpec {
  std::string params_file;                              // repo-relative; may not exist
  std::vector<StageSpec> stages;                        // in file order
  std::map<std::string, std::vector<std::string>> upstream;  // stage → stages whose outs it reads
  std::vector<std::string> order;                       // topological, ties in file order

  const StageSpec* Find(const std::string& name) const;
  // The stage whose outs contain `path` (or a parent of it); nullptr if none.
  const StageSpec* Producer(const std::string& path) const;
};

// Reads and validates cairn.yaml: unknown keys, wrong types, duplicate or
// missing stages, deps/outs escaping the repository, an out declared by two
// stages or that is another dataset's tracked path, and cycles (named) are
// InvalidArgument with "cairn.yaml:LINE:COL". NotFound when there is no
// cairn.yaml.
Result<PipelineSpec> LoadPipeline(Repo& repo);

// Adds a stage to cairn.yaml (creating it), validating the result first;
// AlreadyExists for a stage of that name unless `force` replaces it.
Status AddStage(Repo& repo, const StageSpec& stage, bool force);

// Param values for `keys` from the params file: canonical text (a YAML
// scalar as written; maps and lists in flow style). NotFound names a
// missing key.
Result<std::map<std::string, std::string>> ReadParams(Repo& repo, const PipelineSpec& spec,
                                                      const std::vector<std::string>& keys);

// ---- cairn.lock and the run cache ---------------------------------------------

struct LockedStage {
  std::string cmd;                            // after ${} substitution
  std::map<std::string, Oid> deps;            // dep → blob oid (file), tree oid (directory) or version (ref)
  std::map<std::string, std::string> params;  // key → value
  std::map<std::string, Oid> outs;            // out path → dataset version
  std::map<std::string, Oid> metrics;         // metrics file → blob oid (restored with the outs)
  std::string run;                            // the run that produced the outs
};

using PipelineLock = std::map<std::string, LockedStage>;

Result<PipelineLock> LoadLock(Repo& repo);  // empty when there is no cairn.lock
// Writes cairn.lock atomically, sorted, one field per line.
Status SaveLock(Repo& repo, const PipelineLock& lock);
// The text form of LoadLock and SaveLock. ParseLock: Corruption naming the
// line when the text is not YAML or not a format 1 lock. EncodeLock: sorted,
// one field per line, with the do-not-edit header.
Result<PipelineLock> ParseLock(std::string_view text);
std::string EncodeLock(const PipelineLock& lock);

// The run-cache key of a stage's inputs: SHA-256 over its command, dep oids
// and param values.
Oid RunCacheKey(const LockedStage& inputs);

// The run ids named by cairn.lock as committed at HEAD (the provenance of
// the committed outputs), sorted, without duplicates. Without git or before
// the first commit, those of the work tree's cairn.lock. Empty when there is
// no lock. Corruption when the lock cannot be parsed; IOError when git
// cannot be read. Reads only; safe to call concurrently.
Result<std::vector<std::string>> CommittedLockRuns(Repo& repo);

// The run cache: one entry per distinct (command, dep oids, param values)
// that ran successfully, naming what it produced. Entries live in the clone
// (not in git) and are shared by all its branches. Format: doc/pipelines.md.
struct RunCacheEntry {
  std::string run;                     // the run that produced the outputs
  std::map<std::string, Oid> outs;     // out path → dataset version
  std::map<std::string, Oid> metrics;  // metrics file → blob
};

struct RunCacheListing {
  Oid key;               // RunCacheKey of the inputs
  RunCacheEntry entry;
  int64_t written_ms = 0;  // when the entry was (last) written, for age-based retention
};

// Every run-cache entry, sorted by key. The versions in `outs` and the blobs
// in `metrics` are what a garbage collector must keep while the entry is
// kept, and what a push of the entry must carry. Corruption naming the file
// when an entry cannot be read or parsed (callers that decide what to delete
// must not proceed on a partial list).
Result<std::vector<RunCacheListing>> ListRunCache(Repo& repo);

// One entry; nothing (not an error) when absent or unreadable, so that the
// stage then simply runs.
Result<std::optional<RunCacheEntry>> ReadRunCache(Repo& repo, const Oid& key);
// Writes (replaces) an entry atomically, e.g. one fetched from a remote.
// InvalidArgument when a path is not repository-relative or the run is not
// a run id.
Status WriteRunCache(Repo& repo, const Oid& key, const RunCacheEntry& entry);
// The file form of an entry, for transferring it as bytes. ParseRunCache:
// Corruption when the text is not a format 1 entry.
std::string EncodeRunCache(const RunCacheEntry& entry);
Result<RunCacheEntry> ParseRunCache(std::string_view text);

// ---- status and repro ------------------------------------------------------------

struct StageStatus {
  std::string name;
  bool stale = false;
  std::vector<std::string> reasons;  // "cmd changed", "dep data/raw changed", "param seed: 1 -> 2", …
  // Dependencies that are tracked (their pointer is here) but whose data is
  // neither in the workspace nor in the cache: a fresh clone before a pull.
  // Fetching them, not running the stage, is the remedy.
  std::vector<std::string> unfetched;
};

// Which stages are stale and why (a stage is stale when its command, a dep
// oid or a param value differs from cairn.lock, or an out is missing or
// differs from the locked version; a stage downstream of a stale one is
// stale too).
Result<std::vector<StageStatus>> PipelineStatus(Repo& repo, bool progress);

struct ReproOptions {
  std::vector<std::string> stages;  // empty: all; else these and what they need
  bool force = false;               // run even when up to date (no run cache)
  bool dry_run = false;
  bool downstream = false;          // the named stages and what depends on them
  int jobs = 1;                     // independent stages at once
  bool progress = false;
  // For a front end to show what happens; called from the threads that run
  // stages, so concurrently when jobs > 1. A stage's command is about to
  // run (`cmd` after substitution):
  std::function<void(const std::string& stage, const std::string& cmd)> on_stage_start;
  // Output of a stage's command, as it arrives:
  std::function<void(const std::string& stage, OutputStream stream, std::string_view data)> on_output;
  // Something went wrong that does not stop the repro (e.g. runs of an
  // earlier, killed repro could not be marked ended):
  std::function<void(const Status& warning)> on_warning;
};

enum class StageOutcomeKind { kUpToDate, kRestored, kRan, kFailed, kSkipped, kWouldRun, kWouldRestore };
const char* StageOutcomeName(StageOutcomeKind k);

struct StageOutcome {
  std::string name;
  StageOutcomeKind kind = StageOutcomeKind::kUpToDate;
  std::vector<std::string> reasons;
  std::string run;          // run id of the execution (or of the cached one restored)
  double seconds = 0;
  int exit_code = 0;
  std::string stderr_tail;  // last lines of stderr when it failed
  std::string error;        // why it failed (command, missing out …)
};

struct ReproReport {
  std::vector<StageOutcome> stages;  // in the order they finished
  bool failed = false;
};

// Brings the pipeline up to date. A failed stage stops its dependants,
// leaves its previous outputs and its lock entry as they were, and is
// reported (the report, not the Status, carries it). Busy when another
// repro runs in this repository.
Result<ReproReport> Repro(Repo& repo, const ReproOptions& options);

}  // namespace cairn

#endif  // CAIRN_PIPELINE_H_
