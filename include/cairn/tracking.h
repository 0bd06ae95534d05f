// Experiment tracking: experiments hold runs; a run records params, metrics
// (with steps), tags, artifacts, dataset inputs and its environment.
//
// While a run is RUNNING its data lives in a tracking store (by default the
// SQLite tables of .cairn/state.db; see cairn/sys/tracking_store.h). When it ends it is sealed into an immutable run record
// object in the store, named by .cairn/refs/runs/<run id>; the tables are
// then only an index that Reindex() rebuilds from the records. Changes after
// the end (tags, delete/restore) write a new record and move the ref.
//
// A Tracker is thread-safe: every call takes an internal mutex.
#ifndef CAIRN_TRACKING_H_
#define CAIRN_TRACKING_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cairn/oid.h"
#include "cairn/repo.h"
#include "cairn/status.h"

namespace cairn {

class TrackingStore;

enum class RunStatus { kRunning, kFinished, kFailed, kKilled };
const char* RunStatusName(RunStatus status);
std::optional<RunStatus> ParseRunStatus(std::string_view name);

struct Experiment {
  int64_t id = 0;
  std::string name;
  bool deleted = false;
  int64_t created_ms = 0;
  int64_t runs = 0;  // active (not deleted) runs
  // MLflow's experiment tags. Kept in the experiment's descriptor
  // (refs/experiments/<id>), so a reindex keeps them; filled by the
  // Tracker's experiment calls.
  std::map<std::string, std::string> tags;
};

struct MetricPoint {
  std::string key;
  double value = 0;  // may be NaN or ±inf
  int64_t step = 0;
  int64_t timestamp_ms = 0;
};

struct RunInput {
  std::string dataset;
  Oid version;
  std::string tag;     // a tag naming the version, when one does
  std::string source;  // "workspace" (pointer at start) or "explicit"
  // A workspace input whose files differed from its pointer's version when
  // the run started (cairn status: modified): the run read other data. The
  // same for an explicit input given without a version (a workspace path
  // such as data/eval.jsonl, or the dataset's name), which names the
  // checked-out pointer and so the workspace files.
  bool modified = false;
};

// One line for people: "data/wine  v2  9851c3f5c423  (workspace)", and for a
// modified input "(workspace, modified since that version)" ("(explicit, …)"
// for a path input). No tag: "-".
std::string DescribeRunInput(const RunInput& input);
// The warning a run start gives for a modified input, shared by every front
// end: "data/wine differs from its pointer's version v2 …".
std::string ModifiedInputWarning(const RunInput& input);

struct RunArtifact {
  std::string path;  // '/'-separated, relative to the run's artifact root
  Oid oid;
  uint64_t size = 0;
};

struct RunInfo {
  std::string id;  // 32 lowercase hex
  int64_t experiment_id = 0;
  std::string experiment;
  std::string name;
  RunStatus status = RunStatus::kRunning;
  int64_t start_ms = 0;
  int64_t end_ms = 0;  // 0 while running
  std::string user;
  bool deleted = false;
  std::optional<int> exit_code;
  std::string command;  // shell-quoted command line, when run by 'cairn run'
  std::string cwd;      // relative to the repository root
  std::map<std::string, std::string> params;
  std::map<std::string, std::string> tags;
  std::map<std::string, MetricPoint> metrics;  // latest value per key
  std::vector<RunInput> inputs;
  std::vector<RunArtifact> artifacts;
  std::map<std::string, std::string> env;  // flat dotted keys: git.commit, os.kernel, python.packages.numpy …
  std::optional<Oid> record;                // the sealed record, once ended
  // The last time the owner of a RUNNING run said it was alive (ms since
  // the epoch; the start time until its first heartbeat). Filled by GetRun
  // for RUNNING runs; 0 for ended runs and in search results.
  int64_t heartbeat_ms = 0;
};

// Validation of user-supplied names (messages say what is allowed).
Status ValidateMetricKey(const std::string& key);  // also used for params and tags
Status ValidateRunId(const std::string& id);

// The tag of a run whose code ran outside the repository recording it
// (StartRunOptions::code_dir): why it has no workspace inputs.
inline constexpr std::string_view kWorkspaceInputsTag = "cairn.workspace_inputs";

struct StartRunOptions {
  std::string experiment = "Default";  // created when missing
  std::string name;
  std::map<std::string, std::string> params;
  std::map<std::string, std::string> tags;
  std::vector<std::string> inputs;  // dataset refs (name@tag …), recorded as "explicit"
  bool workspace_inputs = true;     // record every pointer file's version as "workspace"
  bool capture_env = true;          // machine, OS, git (see CaptureEnvironment)
  // More environment facts, recorded with the run's start (one write, not a
  // later SetEnv): a front end's own, e.g. Python's python.version and
  // python.packages.*. Merged under the captured facts: a key cairn
  // captures (git.commit, host, os.* …) keeps the captured value, so a
  // caller cannot make a run claim another commit or machine. A key it does
  // not capture (and every key with capture_env false) is recorded as given.
  std::map<std::string, std::string> env;
  // The directory holding the code that runs (a script's directory; an
  // absolute path that exists). The run's git facts (commit, branch, dirty,
  // cairn/git.diff) come from the git work tree containing it, and none are
  // recorded when it is in none. Workspace inputs are recorded only when
  // this repository is the cairn repository containing it; otherwise none
  // are, and the tag cairn.workspace_inputs says why. Empty: the
  // repository's root (a command run in it, e.g. a pipeline stage).
  std::filesystem::path code_dir;
  std::string command;
  std::string cwd;
  int64_t pid = 0;  // the process whose death means the run died (0: caller's)
  std::string host;  // where that process runs (empty: this host; then pid 0 means unknown)
  // The run's start time, ms since the epoch; 0: now. For clients that
  // record a run's times themselves (MLflow's create_run(start_time=)).
  int64_t start_ms = 0;
  // No owner process (MLflow's create_run: a driver makes the run, workers
  // log to it): the run outlives its creator, and only the heartbeat
  // timeout ends it, counted from its last heartbeat or write. `pid` is
  // ignored.
  bool detached = false;
  // Called before StartRun returns, on the caller's thread, once per
  // workspace input whose files differ from its pointer's version, with
  // ModifiedInputWarning(input): the run reads other data than the version
  // it records. Not called when the start fails.
  std::function<void(const std::string&)> on_warning;
};

struct SearchOptions {
  std::vector<std::string> experiments;  // names; empty: all
  std::string filter;                    // see doc/tracking.md
  std::vector<std::string> order_by;     // "metrics.acc DESC", "attributes.start_time" …
  int64_t limit = 1000;
  bool include_deleted = false;
  bool deleted_only = false;
  bool full = false;  // also load inputs, artifacts and env of each run
  // Only runs in one of these states; empty: any. A gate on results ("did
  // a run reach accuracy 0.99?") should ask for {kFinished}.
  std::vector<RunStatus> statuses;
};

struct SearchResult {
  std::vector<RunInfo> runs;  // with params, tags and latest metrics (and the rest with `full`)
  // One line per metric, param or tag key the filter names that no run (of
  // the searched experiments) has, e.g. "filter names metrics.acuracy,
  // which no run has (a misspelt key?)". The search still ran.
  std::vector<std::string> warnings;
};

// Run liveness (doc/tracking.md, "Liveness"): the owner of a RUNNING run
// refreshes its heartbeat every kHeartbeatIntervalMs (RunHeartbeat does);
// a run of another host whose heartbeat is older than kHeartbeatTimeoutMs
// is ended FAILED by the next ReapDeadRuns.
inline constexpr int64_t kHeartbeatIntervalMs = 30'000;
inline constexpr int64_t kHeartbeatTimeoutMs = 10 * 60'000;

class Tracker {
 public:
  // Opens the tracking tables in the repository's state.db (creating them).
  static Result<std::unique_ptr<Tracker>> Open(Repo& repo);
  // Opens a tracker on another store (PostgreSQL, a server, a test double).
  static Result<std::unique_ptr<Tracker>> Open(Repo& repo, std::unique_ptr<TrackingStore> store);
  ~Tracker();
  Tracker(const Tracker&) = delete;
  Tracker& operator=(const Tracker&) = delete;

  Repo& repo() { return repo_; }
  // The store under the tracker. Calls on it bypass the tracker's rules
  // and lock: for stores' own tests and tools.
  TrackingStore& store();

  // Experiments.
  Result<Experiment> GetExperiment(const std::string& name);
  // AlreadyExists when the name is taken (by an active or deleted one);
  // InvalidArgument for a bad name or tag key (tags as for runs:
  // ValidateMetricKey).
  Result<Experiment> CreateExperiment(const std::string& name, const std::map<std::string, std::string>& tags = {});
  // The experiment of that name, created when missing. Race-free across
  // processes: when another creates it first, that one is returned. A
  // deleted experiment is returned as it is (callers decide).
  Result<Experiment> GetOrCreateExperiment(const std::string& name);
  // Sets tags of an experiment (deleted ones too), replacing values of keys
  // it has; written to its descriptor under the repository lock. NotFound
  // when there is no experiment of that name.
  Status SetExperimentTags(const std::string& name, const std::map<std::string, std::string>& tags);
  Result<std::vector<Experiment>> ListExperiments(bool include_deleted);
  Status RenameExperiment(const std::string& from, const std::string& to);
  Status DeleteExperiment(const std::string& name);
  Status RestoreExperiment(const std::string& name);

  // Runs. `run` arguments accept a full id or a unique prefix (≥ 6 hex).
  Result<std::string> StartRun(const StartRunOptions& options);
  Status LogParams(const std::string& run, const std::map<std::string, std::string>& params);
  Status LogMetrics(const std::string& run, const std::vector<MetricPoint>& points);
  Status SetTags(const std::string& run, const std::map<std::string, std::string>& tags);
  Status SetEnv(const std::string& run, const std::map<std::string, std::string>& env);
  // Renames a run, RUNNING or ended (an ended run is resealed). Any name,
  // including "" (no name); names need not be unique.
  Status SetRunName(const std::string& run, const std::string& name);
  // Stores the file or directory `source` under `artifact_path`. Its bytes
  // are copied into the object store, so `source` may be anywhere (a temp
  // file). A relative `source` is taken from `base_dir` (absolute: the
  // front end's working directory, e.g. Python's os.getcwd()); with no
  // `base_dir` it is still taken from the process's working directory
  // (deprecated: front ends pass one). Default artifact path: the path relative to
  // the repository root for a file or directory inside it (models/a.json
  // and eval/a.json stay apart), the file name for one outside. For a
  // directory, `artifact_path` is the prefix of its files' paths. A path
  // inside the repository that leaves it through a symlink is refused.
  Result<std::vector<RunArtifact>> LogArtifact(const std::string& run, const std::filesystem::path& source,
                                               const std::string& artifact_path = {},
                                               const std::filesystem::path& base_dir = {});
  // Stores bytes as an artifact: what cairn records itself (cairn/stdout.log,
  // cairn/git.diff), so paths under cairn/ are allowed here.
  Result<RunArtifact> LogArtifactBytes(const std::string& run, const std::string& artifact_path,
                                       std::string_view bytes);
  // Stores bytes a user gives (log_text, log_dict, an upload) as an
  // artifact: as LogArtifactBytes, but a path under cairn/ is
  // InvalidArgument, as in LogArtifact (those are reserved for cairn).
  Result<RunArtifact> LogUserArtifactBytes(const std::string& run, const std::string& artifact_path,
                                           std::string_view bytes);
  // Records a dataset ref as an input; returns what it resolved to.
  Result<RunInput> AddInput(const std::string& run, const std::string& ref);
  // Ends a RUNNING run and seals it. `end_ms` is its end time (ms since the
  // epoch; 0: now), for clients that record times themselves (MLflow's
  // set_terminated(end_time=)); InvalidArgument when it is before the start.
  Result<RunInfo> EndRun(const std::string& run, RunStatus status, std::optional<int> exit_code = {},
                         int64_t end_ms = 0);
  Status DeleteRun(const std::string& run);
  Status RestoreRun(const std::string& run);

  Result<std::string> ResolveRunId(const std::string& run);
  Result<RunInfo> GetRun(const std::string& run);
  Result<std::vector<MetricPoint>> MetricHistory(const std::string& run, const std::string& key);
  Result<SearchResult> Search(const SearchOptions& options);
  // Every active run, newest first, with only its id, the tags whose key
  // starts with `tag_prefix` and its inputs (see TrackingStore::LoadRunLinks):
  // what lineage walks, without loading every run in full.
  Result<std::vector<RunInfo>> RunLinks(const std::string& tag_prefix);

  // Records that the owner of RUNNING `run` is alive now. FailedPrecondition
  // when the run has ended. Owners call it through RunHeartbeat.
  Status Heartbeat(const std::string& run);
  // Ends FAILED (sealed, with the data logged so far, tag cairn.end_reason
  // saying why) every RUNNING run whose owner is gone: on this host, one
  // whose process (pid and start time) is gone, its heartbeat not needed;
  // on another host (or with no pid: a detached run), one whose heartbeat
  // is older than `heartbeat_timeout_ms`. Every write to a run without a
  // pid (params, metrics, tags, env, inputs) counts as a heartbeat.
  // Returns how many.
  Result<int> ReapDeadRuns(int64_t heartbeat_timeout_ms = kHeartbeatTimeoutMs);

  // Fork safety: PauseForFork waits until no call of this tracker runs (in
  // any thread: a metric buffer's, a heartbeat keeper's) and holds every
  // later call back until ResumeAfterFork, so that a fork in between copies
  // no lock of SQLite or libgit2 that one of them held. Call both from the
  // thread that forks (ResumeAfterFork in the parent only: the child must
  // not use this tracker at all, it opens its own).
  void PauseForFork();
  void ResumeAfterFork();
  // Rebuilds the tables of ended runs and of experiments from the records.
  // Returns the number of runs indexed.
  Result<int64_t> Reindex();
  // Adopts sealed runs from elsewhere (a remote): for each (run id, record
  // oid) whose record, history and artifacts are already in the cache,
  // points refs/runs/<id> at the record and indexes it. Runs whose ref
  // already names that record are skipped. A record that is damaged or
  // is another run's (its embedded id is not the ref's) is skipped too, with
  // a message appended to `warnings` (when given) naming it. Returns how
  // many changed.
  Result<int64_t> ImportRuns(const std::vector<std::pair<std::string, Oid>>& runs,
                             std::vector<std::string>* warnings = nullptr);

  // Oids that garbage collection must keep: every run record and what it
  // names, and the artifacts of runs still running.
  Status CollectRoots(OidSet* live);

  struct Impl;

 private:
  explicit Tracker(Repo& repo);
  Repo& repo_;
  std::unique_ptr<Impl> impl_;
};

// Machine, OS and git facts for a run's env: /proc and /etc reads plus one
// `git status` process (a second, `git diff`, when the work tree is dirty),
// a few ms. The uncommitted git diff, when any, goes to *diff.
std::map<std::string, std::string> CaptureEnvironment(Repo& repo, std::string* diff);
// The same, with the git facts of the git work tree containing `code_dir`
// (an absolute directory holding the code that runs), and none when no git
// work tree contains it: never those of another repository.
std::map<std::string, std::string> CaptureCodeEnvironment(const std::filesystem::path& code_dir,
                                                          std::string* diff);
// `c++ --version`, and with `python` (an interpreter's path) its version and
// installed packages; runs those programs, so takes ~100 ms.
std::map<std::string, std::string> CaptureSoftware(const std::string& python);

// Keeps RUNNING runs alive for ReapDeadRuns from one background thread: every
// `interval_ms` each kept run's heartbeat is refreshed (one thread for all the
// runs of a process, however many it starts, so a sweep of short runs pays
// no thread per run). A run that has ended is dropped without an error. The
// thread starts with the first Keep; the tracker must outlive the keeper.
//   HeartbeatKeeper keeper(tracker);  keeper.Keep(id, false);  ...  keeper.Release(id);
class HeartbeatKeeper {
 public:
  explicit HeartbeatKeeper(Tracker& tracker, int64_t interval_ms = kHeartbeatIntervalMs);
  ~HeartbeatKeeper();  // Stop(), dropping its errors
  HeartbeatKeeper(const HeartbeatKeeper&) = delete;
  HeartbeatKeeper& operator=(const HeartbeatKeeper&) = delete;

  // Keeps `run` (a full run id) alive from now on. With `beat_now` its first
  // beat comes at once (a run resumed, whose last sign of life may be old);
  // else after one interval (a run just started: its start is a beat).
  void Keep(const std::string& run, bool beat_now);
  // No more beats for `run` (it ended, or its owner lets it go).
  void Release(const std::string& run);
  // The beats that failed since the last call, as (run id, error).
  std::vector<std::pair<std::string, Status>> TakeErrors();
  // Stops the thread and forgets every run (a later Keep starts again).
  // Returns the first error not yet taken. Idempotent.
  Status Stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Keeps one RUNNING run alive (a HeartbeatKeeper of that run alone, beating
// at once and then every `interval_ms`) until Stop() or destruction. The
// run's owner holds one for as long as it runs the run (`cairn run`, a
// pipeline stage).
//   RunHeartbeat beat(tracker, run_id);   ...   Status s = beat.Stop();
class RunHeartbeat {
 public:
  RunHeartbeat(Tracker& tracker, std::string run, int64_t interval_ms = kHeartbeatIntervalMs);
  ~RunHeartbeat();  // Stop(), dropping its error
  RunHeartbeat(const RunHeartbeat&) = delete;
  RunHeartbeat& operator=(const RunHeartbeat&) = delete;
  // Stops the beats; returns the first error of a heartbeat (a run that
  // ended is not an error). Idempotent.
  Status Stop();

 private:
  HeartbeatKeeper keeper_;
};

// Metric points buffered in memory and written in batches, from a background
// thread, at most `interval_ms` after they were logged.
class MetricBuffer {
 public:
  MetricBuffer(Tracker& tracker, int interval_ms = 100);
  ~MetricBuffer();  // Close(), dropping its error: call Close() to see it
  void Add(const std::string& run, MetricPoint point);
  // Writes everything buffered; returns the first write error since the
  // last Flush, if any.
  Status Flush();
  // Stops the background thread and writes what is left; returns the first
  // error since the last Flush. Later Adds are not written. Idempotent.
  Status Close();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Milliseconds since the epoch.
int64_t NowMs();

}  // namespace cairn

#endif  // CAIRN_TRACKING_H_
