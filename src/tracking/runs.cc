// The run lifecycle: start, log params/metrics/tags/env/inputs, end,
// delete and restore.
#include <unistd.h>

#include <future>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "cairn/dataset.h"
#include "cairn/refs.h"
#include "tracking/tracker_internal.h"
#include "util/sqlite.h"
#include "util/trace.h"

namespace cairn {

using namespace tracking_internal;

namespace {

using nlohmann::json;

Status NotRunning(const RunRow& r, const char* what) {
  return Status::FailedPrecondition(
      "run " + r.id + " has ended (" + RunStatusName(r.status) + "); " + what + " can only be logged while it runs",
      "start a new run; tags and artifacts can still be added to an ended run");
}

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

}  // namespace

Result<std::string> Tracker::StartRun(const StartRunOptions& options) {
  TraceScope trace("run: start");
  std::lock_guard lock(impl_->mu);
  sqlite3* db = impl_->db;
  // Environment facts (git runs as a process: a few ms) are gathered in
  // parallel with the rest of the start.
  std::string diff;
  std::future<std::map<std::string, std::string>> env_future;
  if (options.capture_env) {
    env_future = std::async(std::launch::async, [this, &diff] { return CaptureEnvironment(repo_, &diff); });
  }
  CAIRN_RETURN_IF_ERROR(ReapDeadRuns().status());
  for (const auto& [k, v] : options.params) CAIRN_RETURN_IF_ERROR(ValidateMetricKey(k).WithContext("param"));
  for (const auto& [k, v] : options.tags) CAIRN_RETURN_IF_ERROR(ValidateMetricKey(k).WithContext("tag"));
  CAIRN_RETURN_IF_ERROR(ValidateExperimentName(options.experiment));
  CAIRN_ASSIGN_OR_RETURN(auto exp, FindExperiment(db, options.experiment));
  if (exp && exp->deleted) {
    return Status::FailedPrecondition("experiment '" + exp->name + "' is deleted",
                                      "restore it with 'cairn experiments restore " + exp->name + "'");
  }
  // Inputs before any write: a bad ref fails the start with nothing changed.
  std::vector<RunInput> inputs;
  if (options.workspace_inputs) {
    CAIRN_ASSIGN_OR_RETURN(std::vector<Tracked> tracked, FindTracked(repo_));
    for (const Tracked& t : tracked) {
      inputs.push_back(RunInput{t.pointer.dataset, t.pointer.version,
                                TagFor(repo_, t.pointer.dataset, t.pointer.version, {}), "workspace"});
    }
  }
  for (const std::string& ref : options.inputs) {
    CAIRN_ASSIGN_OR_RETURN(ResolvedRef resolved, ResolveRef(repo_, ref));
    size_t at = ref.find('@');
    std::string preferred = at == std::string::npos ? std::string() : ref.substr(at + 1);
    inputs.push_back(RunInput{resolved.dataset, resolved.version,
                              TagFor(repo_, resolved.dataset, resolved.version, preferred), "explicit"});
  }
  if (!exp) {
    CAIRN_ASSIGN_OR_RETURN(Experiment created, CreateExperiment(options.experiment));
    exp = created;
  }
  // The Default experiment's descriptor is written with its first run, so a
  // reindex restores it as it was (read-only commands write nothing).
  if (exp->id == 0 && !fs::exists(ExperimentRefPath(repo_, 0))) {
    CAIRN_RETURN_IF_ERROR(WriteExperimentRef(repo_, *exp));
  }
  std::map<std::string, std::string> env;
  if (env_future.valid()) {
    TraceScope wait("run: wait for environment facts");
    env = env_future.get();
  }
  std::string id = RandomRunId();
  int64_t pid = options.pid ? options.pid : ::getpid();
  {
    Txn txn(db);
    CAIRN_RETURN_IF_ERROR(txn.Begin());
    Stmt st(db,
            "INSERT INTO runs (run_id, experiment_id, name, status, start_time, user, command, cwd, host, pid, "
            "pid_start, env) VALUES (?, ?, ?, 'RUNNING', ?, ?, ?, ?, ?, ?, ?, ?)");
    st.Bind(1, id)
        .Bind(2, exp->id)
        .Bind(3, options.name)
        .Bind(4, NowMs())
        .Bind(5, LoginName())
        .Bind(6, options.command)
        .Bind(7, options.cwd)
        .Bind(8, impl_->host)
        .Bind(9, pid)
        .Bind(10, ProcessStart(pid))
        .Bind(11, json(env).dump());
    CAIRN_RETURN_IF_ERROR(st.Run());
    int64_t row = sqlite3_last_insert_rowid(db);
    CAIRN_RETURN_IF_ERROR(InsertKv(db, "run_params", row, options.params));
    CAIRN_RETURN_IF_ERROR(InsertKv(db, "run_tags", row, options.tags));
    for (const RunInput& in : inputs) CAIRN_RETURN_IF_ERROR(InsertInput(db, row, in));
    CAIRN_RETURN_IF_ERROR(txn.Commit());
  }
  if (!diff.empty()) CAIRN_RETURN_IF_ERROR(LogArtifactBytes(id, "cairn/git.diff", diff).status());
  return id;
}

Status Tracker::LogParams(const std::string& run, const std::map<std::string, std::string>& params) {
  std::lock_guard lock(impl_->mu);
  sqlite3* db = impl_->db;
  CAIRN_ASSIGN_OR_RETURN(RunRow r, FindRun(db, run));
  if (r.status != RunStatus::kRunning) return NotRunning(r, "params");
  for (const auto& [k, v] : params) CAIRN_RETURN_IF_ERROR(ValidateMetricKey(k).WithContext("param"));
  Txn txn(db);
  CAIRN_RETURN_IF_ERROR(txn.Begin());
  Stmt get(db, "SELECT value FROM run_params WHERE run = ? AND key = ?");
  Stmt put(db, "INSERT INTO run_params (run, key, value) VALUES (?, ?, ?)");
  for (const auto& [k, v] : params) {
    get.Bind(1, r.row).Bind(2, k);
    CAIRN_ASSIGN_OR_RETURN(bool exists, get.Step());
    std::string old = exists ? get.Text(0) : std::string();
    get.Reset();
    if (exists) {
      if (old == v) continue;
      return Status::InvalidArgument("param '" + k + "' of run " + r.id + " is already '" + old +
                                         "'; params are write-once (new value '" + v + "')",
                                     "log a changing value as a metric or a tag, or start a new run");
    }
    put.Bind(1, r.row).Bind(2, k).Bind(3, v);
    CAIRN_RETURN_IF_ERROR(put.Run());
  }
  return txn.Commit();
}

Status Tracker::LogMetrics(const std::string& run, const std::vector<MetricPoint>& points) {
  std::lock_guard lock(impl_->mu);
  Impl& im = *impl_;
  CAIRN_ASSIGN_OR_RETURN(RunRow r, FindRun(im.db, run));
  if (r.status != RunStatus::kRunning) return NotRunning(r, "metrics");
  // Latest point per key in this batch: highest step, then newest, then last.
  std::unordered_map<std::string, const MetricPoint*> latest;
  std::string last_key;
  for (const MetricPoint& p : points) {
    if (p.key != last_key) {
      CAIRN_RETURN_IF_ERROR(ValidateMetricKey(p.key).WithContext("metric"));
      last_key = p.key;
    }
    const MetricPoint*& l = latest[p.key];
    if (!l || p.step > l->step || (p.step == l->step && p.timestamp_ms >= l->timestamp_ms)) l = &p;
  }
  if (!im.insert_point) {
    im.insert_point =
        std::make_unique<Stmt>(im.db, "INSERT INTO run_metric_points (run, key, value, step, ts) VALUES (?, ?, ?, ?, ?)");
    im.upsert_latest = std::make_unique<Stmt>(
        im.db,
        "INSERT INTO run_metrics (run, key, value, step, ts) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (run, key) DO UPDATE SET value = excluded.value, step = excluded.step, ts = excluded.ts "
        "WHERE excluded.step > run_metrics.step OR "
        "(excluded.step = run_metrics.step AND excluded.ts >= run_metrics.ts)");
    CAIRN_RETURN_IF_ERROR(im.insert_point->status());
    CAIRN_RETURN_IF_ERROR(im.upsert_latest->status());
  }
  Txn txn(im.db);
  CAIRN_RETURN_IF_ERROR(txn.Begin());
  int64_t now = NowMs();
  for (const MetricPoint& p : points) {
    Stmt& st = *im.insert_point;
    st.Bind(1, r.row).BindStatic(2, p.key).Bind(3, p.value).Bind(4, p.step);
    st.Bind(5, p.timestamp_ms ? p.timestamp_ms : now);
    CAIRN_RETURN_IF_ERROR(st.Run());
  }
  for (const auto& [key, p] : latest) {
    Stmt& st = *im.upsert_latest;
    st.Bind(1, r.row).Bind(2, key).Bind(3, p->value).Bind(4, p->step).Bind(5, p->timestamp_ms ? p->timestamp_ms : now);
    CAIRN_RETURN_IF_ERROR(st.Run());
  }
  return txn.Commit();
}

Status Tracker::SetTags(const std::string& run, const std::map<std::string, std::string>& tags) {
  std::lock_guard lock(impl_->mu);
  sqlite3* db = impl_->db;
  CAIRN_ASSIGN_OR_RETURN(RunRow r, FindRun(db, run));
  for (const auto& [k, v] : tags) CAIRN_RETURN_IF_ERROR(ValidateMetricKey(k).WithContext("tag"));
  std::optional<RepoLock> repo_lock;
  if (r.sealed) {
    CAIRN_ASSIGN_OR_RETURN(RepoLock l, repo_.Lock());
    repo_lock.emplace(std::move(l));
  }
  Txn txn(db);
  CAIRN_RETURN_IF_ERROR(txn.Begin());
  CAIRN_RETURN_IF_ERROR(InsertKv(db, "run_tags", r.row, tags));
  CAIRN_RETURN_IF_ERROR(Reseal(db, repo_, r));
  return txn.Commit();
}

Status Tracker::SetEnv(const std::string& run, const std::map<std::string, std::string>& env) {
  std::lock_guard lock(impl_->mu);
  sqlite3* db = impl_->db;
  CAIRN_ASSIGN_OR_RETURN(RunRow r, FindRun(db, run));
  if (r.status != RunStatus::kRunning) return NotRunning(r, "environment facts");
  Txn txn(db);
  CAIRN_RETURN_IF_ERROR(txn.Begin());
  Stmt get(db, "SELECT env FROM runs WHERE id = ?");
  get.Bind(1, r.row);
  CAIRN_ASSIGN_OR_RETURN(bool found, get.Step());
  json j = found ? json::parse(get.Text(0), nullptr, false) : json::object();
  if (!j.is_object()) j = json::object();
  for (const auto& [k, v] : env) j[k] = v;
  Stmt put(db, "UPDATE runs SET env = ? WHERE id = ?");
  put.Bind(1, j.dump()).Bind(2, r.row);
  CAIRN_RETURN_IF_ERROR(put.Run());
  return txn.Commit();
}

Result<RunInput> Tracker::AddInput(const std::string& run, const std::string& ref) {
  std::lock_guard lock(impl_->mu);
  sqlite3* db = impl_->db;
  CAIRN_ASSIGN_OR_RETURN(RunRow r, FindRun(db, run));
  if (r.status != RunStatus::kRunning) return NotRunning(r, "inputs");
  CAIRN_ASSIGN_OR_RETURN(ResolvedRef resolved, ResolveRef(repo_, ref));
  size_t at = ref.find('@');
  std::string preferred = at == std::string::npos ? std::string() : ref.substr(at + 1);
  RunInput in{resolved.dataset, resolved.version, TagFor(repo_, resolved.dataset, resolved.version, preferred),
              "explicit"};
  CAIRN_RETURN_IF_ERROR(InsertInput(db, r.row, in));
  return in;
}

Result<RunInfo> Tracker::EndRun(const std::string& run, RunStatus status, std::optional<int> exit_code) {
  TraceScope trace("run: end and seal");
  std::lock_guard lock(impl_->mu);
  sqlite3* db = impl_->db;
  if (status == RunStatus::kRunning) return Status::InvalidArgument("a run cannot end as RUNNING");
  CAIRN_ASSIGN_OR_RETURN(RunRow r, FindRun(db, run));
  if (r.status != RunStatus::kRunning) {
    return Status::FailedPrecondition("run " + r.id + " has already ended (" + RunStatusName(r.status) + ")");
  }
  CAIRN_ASSIGN_OR_RETURN(RepoLock repo_lock, repo_.Lock());
  Txn txn(db);
  CAIRN_RETURN_IF_ERROR(txn.Begin());
  Stmt st(db, "UPDATE runs SET status = ?, end_time = ?, exit_code = ? WHERE id = ?");
  st.Bind(1, RunStatusName(status)).Bind(2, NowMs());
  if (exit_code) {
    st.Bind(3, *exit_code);
  } else {
    st.BindNull(3);
  }
  st.Bind(4, r.row);
  CAIRN_RETURN_IF_ERROR(st.Run());
  CAIRN_RETURN_IF_ERROR(Seal(db, repo_, r.row, std::nullopt));
  CAIRN_RETURN_IF_ERROR(txn.Commit());
  return LoadRun(db, r.row, /*full=*/true);
}

namespace {
Status SetRunDeleted(sqlite3* db, Repo& repo, const std::string& run, bool deleted) {
  CAIRN_ASSIGN_OR_RETURN(RunRow r, FindRun(db, run));
  std::optional<RepoLock> repo_lock;
  if (r.sealed) {
    CAIRN_ASSIGN_OR_RETURN(RepoLock l, repo.Lock());
    repo_lock.emplace(std::move(l));
  }
  Txn txn(db);
  CAIRN_RETURN_IF_ERROR(txn.Begin());
  Stmt st(db, "UPDATE runs SET deleted = ? WHERE id = ?");
  st.Bind(1, deleted ? 1 : 0).Bind(2, r.row);
  CAIRN_RETURN_IF_ERROR(st.Run());
  CAIRN_RETURN_IF_ERROR(Reseal(db, repo, r));
  return txn.Commit();
}
}  // namespace

Status Tracker::DeleteRun(const std::string& run) {
  std::lock_guard lock(impl_->mu);
  return SetRunDeleted(impl_->db, repo_, run, true);
}

Status Tracker::RestoreRun(const std::string& run) {
  std::lock_guard lock(impl_->mu);
  return SetRunDeleted(impl_->db, repo_, run, false);
}

}  // namespace cairn
