// The run lifecycle: start, log params/metrics/tags/env/inputs, end,
// delete and restore.
#include <unistd.h>

#include <future>
#include <set>

#include "cairn/dataset.h"
#include "cairn/refs.h"
#include "cairn/registry.h"
#include "tracking/tracker_internal.h"

namespace cairn {

using namespace tracking_internal;

namespace {

// The tag of `dataset` naming `version`, preferring `preferred`.
std::string TagFor(Repo& repo, const std::string& dataset, const Oid& version, const std::string& preferred) {
  auto tags = ListTags(repo, dataset);
  if (!tags.ok()) return {};
  std::string best;
  for (const Tag& t : *tags) {
    if (t.version != version) continue;
    if (t.name == preferred) return t.name;
    if (best.empty()) best = t.name;
  }
  return best;
}

// An input given by a dataset ref ("name@tag", "name@<version hex>", …).
// A model ref (model:NAME@production) records the model version object.
Result<RunInput> ExplicitInput(Repo& repo, const std::string& ref) {
  if (IsModelRef(ref)) return ModelInput(repo, ref);
  CAIRN_ASSIGN_OR_RETURN(ResolvedRef resolved, ResolveRef(repo, ref));
  size_t at = ref.find('@');
  std::string preferred = at == std::string::npos ? std::string() : ref.substr(at + 1);
  return RunInput{resolved.dataset, resolved.version, TagFor(repo, resolved.dataset, resolved.version, preferred),
                  "explicit"};
}

// A ref without a version (a workspace path such as data/eval.jsonl, or a
// dataset's name) names the checked-out pointer, and a command given it
// reads the workspace files: when those differ from the pointer's version
// (cairn status: modified), the run read other data, as a modified
// workspace input did. Not for AddInput: use_dataset hands the run a clean
// copy of the version.
Status MarkModifiedWorkspace(Repo& repo, const std::string& ref, RunInput* in) {
  if (IsModelRef(ref) || ref.find_first_of("@~") != std::string::npos) return Status::OK();
  CAIRN_ASSIGN_OR_RETURN(ResolvedRef resolved, ResolveRef(repo, ref));
  if (resolved.path.empty()) return Status::OK();
  CAIRN_ASSIGN_OR_RETURN(std::vector<PathStatus> statuses,
                         GetStatus(repo, {(repo.root() / resolved.path).string()}, StatusOptions{}));
  for (const PathStatus& st : statuses) {
    if (st.tracked.path == resolved.path && st.tracked.pointer.version == in->version &&
        st.state == TrackedState::kModified) {
      in->modified = true;
    }
  }
  return Status::OK();
}

// Holds the repository lock for a run that is sealed (its record changes).
Result<std::optional<RepoLock>> LockIfSealed(Repo& repo, const StoredRunState& r) {
  std::optional<RepoLock> lock;
  if (r.record) {
    CAIRN_ASSIGN_OR_RETURN(RepoLock l, repo.Lock());
    lock.emplace(std::move(l));
  }
  return lock;
}

// The root of the cairn repository containing `dir`, searching upwards as
// Repo::Open does; empty when there is none.
fs::path CairnRootContaining(const fs::path& dir) {
  std::error_code ec;
  for (fs::path p = dir;; p = p.parent_path()) {
    if (fs::exists(Layout(p).config(), ec)) return p;
    if (p == p.root_path() || p.empty()) return {};
  }
}

// The code directory of a start, made canonical; empty when none is given.
Result<fs::path> CodeDir(const fs::path& given) {
  if (given.empty()) return fs::path();
  if (!given.is_absolute()) {
    return Status::InvalidArgument("the code directory of a run must be an absolute path: " + given.string());
  }
  std::error_code ec;
  fs::path dir = fs::canonical(given, ec);
  if (ec || !fs::is_directory(dir, ec)) {
    return Status::InvalidArgument("the code directory of a run is not a directory: " + given.string());
  }
  return dir;
}

}  // namespace

std::string DescribeRunInput(const RunInput& input) {
  return input.dataset + "  " + (input.tag.empty() ? "-" : input.tag) + "  " + input.version.Short() + "  (" +
         input.source + (input.modified ? ", modified since that version" : "") + ")";
}

std::string ModifiedInputWarning(const RunInput& input) {
  return input.dataset + " differs from its pointer's version " +
         (input.tag.empty() ? input.version.ToString() : input.tag) +
         " (see 'cairn status'): the run records that version as modified";
}

Result<std::string> Tracker::StartRun(const StartRunOptions& options) {
  std::lock_guard lock(impl_->mu);
  TrackingStore& store = *impl_->store;
  CAIRN_ASSIGN_OR_RETURN(fs::path code_dir, CodeDir(options.code_dir));
  // Workspace inputs are this repository's checked-out versions: the code's
  // inputs only when the code lives in this repository (not in another one
  // whose runs are recorded here, nor outside any).
  bool code_here = code_dir.empty() || CairnRootContaining(code_dir) == repo_.root();
  // Environment facts (git runs as a process: a few ms) are gathered in
  // parallel with the rest of the start.
  std::string diff;
  std::future<std::map<std::string, std::string>> env_future;
  if (options.capture_env) {
    env_future = std::async(std::launch::async, [this, &diff, &code_dir] {
      return code_dir.empty() ? CaptureEnvironment(repo_, &diff) : CaptureCodeEnvironment(code_dir, &diff);
    });
  }
  // The future must be waited for on every path: it writes `diff`.
  auto wait_env = [&]() -> std::map<std::string, std::string> {
    if (!env_future.valid()) return {};
    return env_future.get();
  };
  auto fail = [&](Status s) -> Status {
    (void)wait_env();
    return s;
  };
  if (Status s = ReapDeadRuns().status(); !s.ok()) return fail(s);
  for (const auto& [k, v] : options.params) {
    if (Status s = ValidateMetricKey(k).WithContext("param"); !s.ok()) return fail(s);
  }
  for (const auto& [k, v] : options.tags) {
    if (Status s = ValidateMetricKey(k).WithContext("tag"); !s.ok()) return fail(s);
  }
  if (Status s = ValidateExperimentName(options.experiment); !s.ok()) return fail(s);
  if (options.start_ms < 0) {
    return fail(Status::InvalidArgument("a run's start time cannot be negative (" + std::to_string(options.start_ms) +
                                        " ms)", "give milliseconds since the epoch, or none for now"));
  }
  auto found = store.FindExperiment(options.experiment, /*count_runs=*/false);
  if (!found.ok()) return fail(found.status());
  std::optional<Experiment> exp = *found;
  if (exp && exp->deleted) {
    return fail(Status::FailedPrecondition("experiment '" + exp->name + "' is deleted",
                                           "restore it with 'cairn experiments restore " + exp->name + "'"));
  }
  // Inputs before any write: a bad ref fails the start with nothing changed.
  // An explicit input of a dataset replaces its workspace version: the run
  // says which version it read.
  std::vector<RunInput> inputs;
  std::set<std::string> explicit_datasets;
  for (const std::string& ref : options.inputs) {
    auto in = ExplicitInput(repo_, ref);
    if (!in.ok()) return fail(in.status());
    if (Status s = MarkModifiedWorkspace(repo_, ref, &*in); !s.ok()) return fail(s);
    explicit_datasets.insert(in->dataset);
    inputs.push_back(std::move(*in));
  }
  if (options.workspace_inputs && code_here) {
    // The stat-cache status (no hashing of unchanged files) tells a pointer
    // whose files were edited since: the run reads other data than its version.
    auto tracked = GetStatus(repo_, {}, StatusOptions{});
    if (!tracked.ok()) return fail(tracked.status());
    for (const PathStatus& st : *tracked) {
      const Pointer& p = st.tracked.pointer;
      if (explicit_datasets.count(p.dataset)) continue;
      inputs.push_back(RunInput{p.dataset, p.version, TagFor(repo_, p.dataset, p.version, {}), "workspace",
                                st.state == TrackedState::kModified});
    }
  }
  if (!exp) {
    auto created = GetOrCreateExperiment(options.experiment);  // another process may create it first
    if (!created.ok()) return fail(created.status());
    exp = *created;
  }
  // The Default experiment's descriptor is written with its first run, so a
  // reindex restores it as it was (read-only commands write nothing).
  if (exp->id == 0 && !fs::exists(ExperimentRefPath(repo_, 0))) {
    if (Status s = WriteExperimentRef(repo_, *exp); !s.ok()) return fail(s);
  }
  NewRun run;
  run.info.env = wait_env();
  run.info.env.insert(options.env.begin(), options.env.end());  // under the captured facts: those win
  run.info.id = RandomRunId();
  run.info.experiment_id = exp->id;
  run.info.name = options.name;
  run.info.start_ms = options.start_ms ? options.start_ms : NowMs();
  // A start time given (an imported run's) is no sign of life; the start is.
  run.heartbeat_ms = options.start_ms ? NowMs() : 0;
  run.info.user = LoginName();
  run.info.command = options.command;
  run.info.cwd = options.cwd;
  run.info.params = options.params;
  run.info.tags = options.tags;
  if (options.workspace_inputs && !code_here) {
    run.info.tags.emplace(std::string(kWorkspaceInputsTag),
                          "not recorded: the code ran from " + code_dir.string() + ", outside this repository");
  }
  run.info.inputs = std::move(inputs);
  run.host = options.host.empty() ? impl_->host : options.host;
  run.pid = options.detached ? 0 : options.pid ? options.pid : (options.host.empty() ? ::getpid() : 0);
  run.pid_start = run.host == impl_->host ? ProcessStart(run.pid) : 0;
  CAIRN_RETURN_IF_ERROR(store.Transaction([&] { return store.InsertRun(run); }));
  if (!diff.empty()) CAIRN_RETURN_IF_ERROR(LogArtifactBytes(run.info.id, "cairn/git.diff", diff).status());
  if (options.on_warning) {
    for (const RunInput& in : run.info.inputs) {
      if (in.modified) options.on_warning(ModifiedInputWarning(in));
    }
  }
  return run.info.id;
}

Status Tracker::LogParams(const std::string& run, const std::map<std::string, std::string>& params) {
  std::lock_guard lock(impl_->mu);
  TrackingStore& store = *impl_->store;
  CAIRN_ASSIGN_OR_RETURN(StoredRunState r, FindRun(store, run));
  if (r.status != RunStatus::kRunning) return NotRunning(r, "params");
  for (const auto& [k, v] : params) CAIRN_RETURN_IF_ERROR(ValidateMetricKey(k).WithContext("param"));
  return store.Transaction([&] { return Touched(store, r, store.AddParams(r.id, params)); });
}

Status Tracker::LogMetrics(const std::string& run, const std::vector<MetricPoint>& points) {
  std::lock_guard lock(impl_->mu);
  TrackingStore& store = *impl_->store;
  CAIRN_ASSIGN_OR_RETURN(StoredRunState r, FindRun(store, run));
  if (r.status != RunStatus::kRunning) return NotRunning(r, "metrics");
  std::string_view last_key;
  bool need_time = false;
  for (const MetricPoint& p : points) {
    if (p.key != last_key || last_key.empty()) {
      CAIRN_RETURN_IF_ERROR(ValidateMetricKey(p.key).WithContext("metric"));
      last_key = p.key;
    }
    if (p.timestamp_ms == 0) need_time = true;
  }
  if (!need_time) return store.Transaction([&] { return Touched(store, r, store.AddMetrics(r.id, points)); });
  std::vector<MetricPoint> stamped = points;
  int64_t now = NowMs();
  for (MetricPoint& p : stamped) {
    if (p.timestamp_ms == 0) p.timestamp_ms = now;
  }
  return store.Transaction([&] { return Touched(store, r, store.AddMetrics(r.id, stamped)); });
}

Status Tracker::SetTags(const std::string& run, const std::map<std::string, std::string>& tags) {
  std::lock_guard lock(impl_->mu);
  TrackingStore& store = *impl_->store;
  CAIRN_ASSIGN_OR_RETURN(StoredRunState r, FindRun(store, run));
  for (const auto& [k, v] : tags) CAIRN_RETURN_IF_ERROR(ValidateMetricKey(k).WithContext("tag"));
  CAIRN_ASSIGN_OR_RETURN(auto repo_lock, LockIfSealed(repo_, r));
  return store.Transaction([&]() -> Status {
    CAIRN_RETURN_IF_ERROR(Touched(store, r, store.SetTags(r.id, tags)));
    return Reseal(store, repo_, r);
  });
}

Status Tracker::SetEnv(const std::string& run, const std::map<std::string, std::string>& env) {
  std::lock_guard lock(impl_->mu);
  TrackingStore& store = *impl_->store;
  CAIRN_ASSIGN_OR_RETURN(StoredRunState r, FindRun(store, run));
  if (r.status != RunStatus::kRunning) return NotRunning(r, "environment facts");
  return store.Transaction([&] { return Touched(store, r, store.MergeEnv(r.id, env)); });
}

Result<RunInput> Tracker::AddInput(const std::string& run, const std::string& ref) {
  std::lock_guard lock(impl_->mu);
  TrackingStore& store = *impl_->store;
  CAIRN_ASSIGN_OR_RETURN(StoredRunState r, FindRun(store, run));
  if (r.status != RunStatus::kRunning) return NotRunning(r, "inputs");
  CAIRN_ASSIGN_OR_RETURN(RunInput in, ExplicitInput(repo_, ref));
  CAIRN_RETURN_IF_ERROR(store.Transaction([&] { return Touched(store, r, store.AddInput(r.id, in, /*replaces_workspace=*/true)); }));
  return in;
}

Result<RunInfo> Tracker::EndRun(const std::string& run, RunStatus status, std::optional<int> exit_code,
                                int64_t end_ms) {
  std::lock_guard lock(impl_->mu);
  TrackingStore& store = *impl_->store;
  if (status == RunStatus::kRunning) return Status::InvalidArgument("a run cannot end as RUNNING");
  CAIRN_ASSIGN_OR_RETURN(StoredRunState r, FindRun(store, run));
  if (r.status != RunStatus::kRunning) {
    return Status::FailedPrecondition("run " + r.id + " has already ended (" + RunStatusName(r.status) + ")");
  }
  if (end_ms != 0) {
    CAIRN_ASSIGN_OR_RETURN(RunInfo started, store.LoadRun(r.id, /*full=*/false));
    if (end_ms < started.start_ms) {
      return Status::InvalidArgument("run " + r.id + " cannot end at " + std::to_string(end_ms) +
                                         " ms, before its start at " + std::to_string(started.start_ms) + " ms",
                                     "give an end time (ms since the epoch) after the start, or none for now");
    }
  }
  CAIRN_ASSIGN_OR_RETURN(RepoLock repo_lock, repo_.Lock());
  RunInfo sealed;
  CAIRN_RETURN_IF_ERROR(store.Transaction([&]() -> Status {
    CAIRN_RETURN_IF_ERROR(store.SetEnded(r.id, status, end_ms ? end_ms : NowMs(), exit_code));
    return Seal(store, repo_, r.id, std::nullopt, &sealed);
  }));
  return sealed;
}

namespace {

Status SetRunDeleted(TrackingStore& store, Repo& repo, const std::string& run, bool deleted) {
  CAIRN_ASSIGN_OR_RETURN(StoredRunState r, FindRun(store, run));
  CAIRN_ASSIGN_OR_RETURN(auto repo_lock, LockIfSealed(repo, r));
  return store.Transaction([&]() -> Status {
    CAIRN_RETURN_IF_ERROR(store.SetDeleted(r.id, deleted));
    return Reseal(store, repo, r);
  });
}

}  // namespace

Status Tracker::DeleteRun(const std::string& run) {
  std::lock_guard lock(impl_->mu);
  return SetRunDeleted(*impl_->store, repo_, run, true);
}

Status Tracker::RestoreRun(const std::string& run) {
  std::lock_guard lock(impl_->mu);
  return SetRunDeleted(*impl_->store, repo_, run, false);
}

}  // namespace cairn
