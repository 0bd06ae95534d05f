// The tracking store: where the Tracker (cairn/tracking.h) keeps and finds
// experiments and runs. The Tracker owns the domain rules (validation,
// write-once params, sealing ended runs into record objects and refs, run
// liveness); a store only persists and indexes. The first implementation is
// the SQLite index in .cairn/state.db (src/tracking/sqlite_*.cc); PostgreSQL
// and an HTTP client to a cairn server implement the same interface.
//
// Runs are named by their full id (32 hex) in every call; the Tracker
// resolves prefixes and names first (FindRuns). Nothing here names a
// database type: a store that speaks SQL compiles the filter itself.
//
// Errors: NotFound for an unknown run or experiment (where a method says
// so), AlreadyExists for a name clash, InvalidArgument for a filter the
// store cannot evaluate, IOError/Unavailable when the database or server
// cannot be reached. A store is used by one Tracker, which serialises calls;
// it need not be thread-safe itself, but several processes may use the
// same database at once.
#ifndef CAIRN_SYS_TRACKING_STORE_H_
#define CAIRN_SYS_TRACKING_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cairn/oid.h"
#include "cairn/status.h"
#include "cairn/tracking.h"

namespace cairn {

// What a store knows of a run besides its data: enough to resolve a name,
// check the lifecycle and decide liveness.
struct StoredRunState {
  std::string id;
  RunStatus status = RunStatus::kRunning;
  std::optional<Oid> record;   // the sealed record, once ended
  std::optional<Oid> history;  // its metric history blob, when it logged points
  std::string host;            // where the owning process runs
  int64_t pid = 0;             // the owning process (0: unknown)
  int64_t pid_start = 0;       // its start time in clock ticks since boot (0: unknown)
  int64_t heartbeat_ms = 0;    // last heartbeat (the start time until the first one)
};

// A new RUNNING run with everything known at its start.
struct NewRun {
  RunInfo info;  // id, experiment_id, name, start_ms, user, command, cwd, params, tags, inputs, env
  std::string host;
  int64_t pid = 0;
  int64_t pid_start = 0;
  int64_t heartbeat_ms = 0;  // the first sign of life; 0: the start time
};

// A search as the store runs it. The Tracker has validated the filter and
// order and resolved experiment names to ids.
struct RunQuery {
  std::vector<int64_t> experiment_ids;  // empty: all
  std::string filter;                   // doc/tracking.md syntax; empty: all runs
  std::vector<std::string> order_by;    // "metrics.acc DESC", …; ties by start time (newest first), then id
  std::vector<RunStatus> statuses;      // empty: any
  enum class Lifecycle { kActive, kAll, kDeletedOnly } lifecycle = Lifecycle::kActive;
  int64_t limit = 1000;
  bool full = false;  // also load inputs, artifacts and env
};

// Where a key may be named in a filter.
enum class RunKeyKind { kMetric, kParam, kTag };

class TrackingStore {
 public:
  virtual ~TrackingStore() = default;

  // Runs `body` atomically: either all its writes are kept or none (a store
  // without transactions, such as an HTTP client, runs it as is and says so
  // in its documentation). A body that fails rolls back; its Status is
  // returned. Not reentrant: `body` must not call Transaction again.
  virtual Status Transaction(const std::function<Status()>& body) = 0;

  // ---- experiments ----
  // The experiment of that name; nothing when none. With `count_runs`,
  // Experiment::runs is its count of active runs (a scan of its runs: the
  // hot paths, a run's start and sealing, need only the id and leave it 0).
  virtual Result<std::optional<Experiment>> FindExperiment(const std::string& name, bool count_runs) = 0;
  virtual Result<std::optional<Experiment>> FindExperimentById(int64_t id, bool count_runs) = 0;
  // Every experiment, by id.
  virtual Result<std::vector<Experiment>> ListExperiments() = 0;
  // Creates one with a new id. AlreadyExists when the name is taken.
  virtual Result<Experiment> CreateExperiment(const std::string& name, int64_t created_ms) = 0;
  // Writes name, deleted and created of experiment `e.id`, creating it with
  // that id when missing (reindex restores experiments this way).
  virtual Status PutExperiment(const Experiment& e) = 0;

  // ---- runs ----
  // Runs whose id starts with `prefix` (lowercase hex), at most `limit`.
  virtual Result<std::vector<StoredRunState>> FindRunsByIdPrefix(const std::string& prefix, int limit) = 0;
  // Runs named `name` (never the empty name), at most `limit`.
  virtual Result<std::vector<StoredRunState>> FindRunsByName(const std::string& name, int limit) = 0;
  // RUNNING runs (of `host`, when not empty).
  virtual Result<std::vector<StoredRunState>> RunningRuns(const std::string& host) = 0;

  // Adds a RUNNING run with its params, tags, inputs and env.
  virtual Status InsertRun(const NewRun& run) = 0;
  // Adds params. A key the run already has with the same value is skipped;
  // with another value the whole call fails with InvalidArgument naming
  // the key, both values and that params are write-once.
  virtual Status AddParams(const std::string& run, const std::map<std::string, std::string>& params) = 0;
  // Appends points (in order) to the history and keeps per key the latest:
  // highest step, then newest timestamp, then the last logged.
  virtual Status AddMetrics(const std::string& run, const std::vector<MetricPoint>& points) = 0;
  // Sets tags, replacing values of existing keys.
  virtual Status SetTags(const std::string& run, const std::map<std::string, std::string>& tags) = 0;
  // Merges facts into the run's env.
  virtual Status MergeEnv(const std::string& run, const std::map<std::string, std::string>& env) = 0;
  // Adds an input (replacing one of the same dataset and version). With
  // `replaces_workspace`, inputs of the same dataset whose source is
  // "workspace" are removed first.
  virtual Status AddInput(const std::string& run, const RunInput& input, bool replaces_workspace) = 0;
  // Adds artifacts (replacing those of the same paths).
  virtual Status AddArtifacts(const std::string& run, const std::vector<RunArtifact>& artifacts) = 0;
  // Sets the status, end time and exit code of a run that ends.
  virtual Status SetEnded(const std::string& run, RunStatus status, int64_t end_ms, std::optional<int> exit_code) = 0;
  virtual Status SetDeleted(const std::string& run, bool deleted) = 0;
  // Notes the record (and history) a run was sealed into.
  virtual Status SetRecord(const std::string& run, const Oid& record, const std::optional<Oid>& history) = 0;
  // Records that the owner of a RUNNING run was alive at `now_ms`.
  // NotFound when the run does not exist or is no longer RUNNING.
  virtual Status Heartbeat(const std::string& run, int64_t now_ms) = 0;

  // A run with params, tags and latest metrics (and with `full` its
  // inputs, artifacts and env). NotFound when unknown.
  virtual Result<RunInfo> LoadRun(const std::string& run, bool full) = 0;
  // The metric points of a run in logging order (of one key when `key` is given).
  virtual Result<std::vector<MetricPoint>> LoadHistory(const std::string& run, const std::string* key) = 0;
  // Runs matching `query`, in its order, at most its limit.
  virtual Result<std::vector<RunInfo>> Search(const RunQuery& query) = 0;
  // Every active run as lineage needs it to find producers and consumers:
  // RunInfo with only `id`, the tags whose key starts with `tag_prefix` and
  // the inputs filled in; newest first (the default search order). A few
  // bulk reads where loading every run would take one query per table per run.
  virtual Result<std::vector<RunInfo>> LoadRunLinks(const std::string& tag_prefix) = 0;
  // Of `keys` (of one kind), those that no run of the given experiments
  // (empty: any) has.
  virtual Result<std::vector<std::string>> MissingKeys(RunKeyKind kind, const std::vector<std::string>& keys,
                                                       const std::vector<int64_t>& experiment_ids) = 0;

  // ---- the index of sealed records ----
  // Indexes a sealed run from its record, replacing any run of that id.
  virtual Status IndexSealedRun(const RunInfo& run, const Oid& record, const std::optional<Oid>& history,
                                const std::vector<MetricPoint>& points) = 0;
  // Forgets every sealed run (before a reindex); RUNNING runs stay.
  virtual Status DropSealedRuns() = 0;
  // Every oid the store names: artifacts of all runs, records and histories
  // of sealed runs.
  virtual Status CollectOids(OidSet* oids) = 0;

  // Renames a run (RUNNING or sealed; the caller reseals).
  virtual Status SetName(const std::string& run, const std::string& name) = 0;
};

}  // namespace cairn

#endif  // CAIRN_SYS_TRACKING_STORE_H_
