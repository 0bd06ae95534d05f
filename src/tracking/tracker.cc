#include "cairn/tracking.h"

#include <openssl/rand.h>
#include <pwd.h>
#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <fstream>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_map>

#include "cairn/dataset.h"
#include "cairn/object.h"
#include "cairn/refs.h"
#include "tracking/filter.h"
#include "tracking/record.h"
#include "tracking/schema.h"
#include "util/file.h"
#include "util/sqlite.h"
#include "util/trace.h"

namespace cairn {
namespace {

using nlohmann::json;

const char* const kStatusNames[] = {"RUNNING", "FINISHED", "FAILED", "KILLED"};

std::string RandomRunId() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) {
    std::ifstream("/dev/urandom", std::ios::binary).read(reinterpret_cast<char*>(b), sizeof b);
  }
  static const char* hex = "0123456789abcdef";
  std::string id;
  for (unsigned char c : b) {
    id += hex[c >> 4];
    id += hex[c & 15];
  }
  return id;
}

bool IsHex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

// What /proc/PID/stat says about a process: its state (field 3: R, S, D,
// Z for a zombie, X for dead ...) and start time (field 22, clock ticks since
// boot, to tell a process from a later one that reuses its pid).
struct ProcStat {
  bool found = false;
  char state = '?';
  int64_t start = 0;
};

ProcStat ReadProcStat(int64_t pid) {
  ProcStat out;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t paren = s.rfind(')');  // the command name may hold spaces and parentheses
  if (paren == std::string::npos || paren + 3 >= s.size()) return out;
  std::string rest = s.substr(paren + 2);  // fields from 3 on
  out.found = true;
  out.state = rest[0];
  size_t pos = 0;
  for (int field = 3; field < 22; ++field) {
    pos = rest.find(' ', pos);
    if (pos == std::string::npos) return out;
    ++pos;
  }
  out.start = std::atoll(rest.c_str() + pos);
  return out;
}

// Start time of a process; 0 when there is no such process.
int64_t ProcessStart(int64_t pid) { return ReadProcStat(pid).start; }

// Whether the process that owns a run still runs. A zombie (killed, not yet
// reaped by its parent) answers kill(pid, 0) but will never end its run;
// a process with another start time than recorded is a later one reusing the
// pid. `recorded_start` is 0 for runs recorded without it.
bool RunOwnerAlive(int64_t pid, int64_t recorded_start) {
  if (pid <= 0) return false;
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM) return false;
  ProcStat st = ReadProcStat(pid);
  if (!st.found) {
    // No /proc here (kill() is all we can tell), or the process is gone.
    static const bool have_proc = ReadProcStat(::getpid()).found;
    return !have_proc;
  }
  if (st.state == 'Z' || st.state == 'X' || st.state == 'x') return false;
  return recorded_start == 0 || st.start == recorded_start;
}

std::string HostName() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

std::string LoginName() {
  if (const char* u = std::getenv("USER"); u && *u) return u;
  if (const passwd* pw = ::getpwuid(::getuid())) return pw->pw_name;
  return std::to_string(::getuid());
}

fs::path RunRefPath(Repo& repo, const std::string& id) { return repo.refs_dir() / "runs" / id; }
fs::path ExperimentRefPath(Repo& repo, int64_t id) { return repo.refs_dir() / "experiments" / std::to_string(id); }

std::vector<std::string> ListDir(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string n = e.path().filename().string();
    if (!n.starts_with(".")) names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// A write transaction, rolled back unless committed.
class Txn {
 public:
  explicit Txn(sqlite3* db) : db_(db) {}
  ~Txn() {
    if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Status Begin() {
    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return SqliteError(db_, "begin");
    }
    open_ = true;
    return Status::OK();
  }
  Status Commit() {
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) return SqliteError(db_, "commit");
    open_ = false;
    return Status::OK();
  }

 private:
  sqlite3* db_;
  bool open_ = false;
};

struct RunRow {
  int64_t row = 0;
  std::string id;
  RunStatus status = RunStatus::kRunning;
  bool sealed = false;
};

}  // namespace

const char* RunStatusName(RunStatus status) { return kStatusNames[static_cast<int>(status)]; }

std::optional<RunStatus> ParseRunStatus(std::string_view name) {
  for (int i = 0; i < 4; ++i) {
    if (name == kStatusNames[i]) return static_cast<RunStatus>(i);
  }
  return std::nullopt;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status ValidateMetricKey(const std::string& key) {
  if (key.empty()) return Status::InvalidArgument("empty key", "keys are names such as 'acc' or 'val/loss'");
  if (key.size() > 250) return Status::InvalidArgument("key '" + key.substr(0, 40) + "…' is longer than 250 bytes");
  for (char c : key) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return Status::InvalidArgument("key '" + key + "' contains a control character",
                                     "use letters, digits and _ - . / : or spaces");
    }
  }
  if (key.find("..") != std::string::npos || key.front() == '/' || key.front() == ' ' || key.back() == ' ') {
    return Status::InvalidArgument("key '" + key + "' is not a valid name",
                                   "keys may not start with '/' or a space, end with a space, or contain '..'");
  }
  return Status::OK();
}

Status ValidateRunId(const std::string& id) {
  if (id.size() != 32 || !IsHex(id)) {
    return Status::InvalidArgument("'" + id + "' is not a run id", "run ids are 32 lowercase hex digits");
  }
  return Status::OK();
}

struct Tracker::Impl {
  sqlite3* db = nullptr;
  std::recursive_mutex mu;
  std::string host;
  std::unique_ptr<Stmt> insert_point, upsert_latest;

  ~Impl() {
    insert_point.reset();
    upsert_latest.reset();
    sqlite3_close(db);
  }

};

Result<std::unique_ptr<Tracker>> Tracker::Open(Repo& repo) {
  std::unique_ptr<Tracker> t(new Tracker(repo));
  t->impl_ = std::make_unique<Impl>();
  Impl& im = *t->impl_;
  fs::path path = repo.cairn_dir() / "state.db";
  CAIRN_ASSIGN_OR_RETURN(im.db, OpenSqlite(path));
  // The last connection to close checkpoints the WAL: a few fsyncs, but
  // the next process then opens without replaying the log (which costs more).
  CAIRN_RETURN_IF_ERROR(SqliteExec(im.db, "PRAGMA case_sensitive_like=ON"));
  // Creating tables takes the write lock: skip it when they exist.
  Stmt probe(im.db, "SELECT 1 FROM sqlite_master WHERE name = 'run_artifacts'");
  CAIRN_ASSIGN_OR_RETURN(bool exists, probe.Step());
  if (!exists) {
    CAIRN_RETURN_IF_ERROR(SqliteExec(im.db, kTrackingSchema));
    Stmt def(im.db, "INSERT OR IGNORE INTO experiments (id, name, created) VALUES (0, 'Default', ?)");
    def.Bind(1, NowMs());
    CAIRN_RETURN_IF_ERROR(def.Run());
  }
  im.host = HostName();
  return t;
}

Tracker::Tracker(Repo& repo) : repo_(repo) {}
Tracker::~Tracker() = default;

// ---- experiments ------------------------------------------------------------

namespace {

Status WriteExperimentRef(Repo& repo, const Experiment& e) {
  json j = {{"format", "cairn-experiment 1"},
            {"id", e.id},
            {"name", e.name},
            {"deleted", e.deleted},
            {"created", e.created_ms}};
  fs::path path = ExperimentRefPath(repo, e.id);
  CAIRN_RETURN_IF_ERROR(MakeDirs(path.parent_path()));
  return WriteFileAtomic(path, j.dump(1) + "\n", /*sync=*/true);
}

Status ValidateExperimentName(const std::string& name) {
  if (name.empty() || name.size() > 200) {
    return Status::InvalidArgument("experiment names must be 1 to 200 characters");
  }
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20) {
      return Status::InvalidArgument("experiment name '" + name + "' contains a control character");
    }
  }
  return Status::OK();
}

Result<std::optional<Experiment>> FindExperiment(sqlite3* db, const std::string& name) {
  Stmt st(db,
          "SELECT e.id, e.name, e.deleted, e.created, "
          "(SELECT count(*) FROM runs r WHERE r.experiment_id = e.id AND r.deleted = 0) "
          "FROM experiments e WHERE e.name = ?");
  st.Bind(1, name);
  CAIRN_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<Experiment>();
  return std::optional<Experiment>(Experiment{st.Int(0), st.Text(1), st.Int(2) != 0, st.Int(3), st.Int(4)});
}

Status NoExperiment(const std::string& name) {
  return Status::NotFound("no experiment named '" + name + "'", "list them with 'cairn experiments'");
}

}  // namespace

Result<Experiment> Tracker::GetExperiment(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  CAIRN_ASSIGN_OR_RETURN(auto e, FindExperiment(impl_->db, name));
  if (!e) return NoExperiment(name);
  return *e;
}

Result<Experiment> Tracker::CreateExperiment(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  CAIRN_RETURN_IF_ERROR(ValidateExperimentName(name));
  Stmt st(impl_->db, "INSERT OR IGNORE INTO experiments (name, created) VALUES (?, ?)");
  st.Bind(1, name).Bind(2, NowMs());
  CAIRN_RETURN_IF_ERROR(st.Run());
  if (sqlite3_changes(impl_->db) == 0) {
    return Status::AlreadyExists("experiment '" + name + "' exists", "pick another name");
  }
  CAIRN_ASSIGN_OR_RETURN(auto e, FindExperiment(impl_->db, name));
  CAIRN_RETURN_IF_ERROR(WriteExperimentRef(repo_, *e));
  return *e;
}

Result<std::vector<Experiment>> Tracker::ListExperiments(bool include_deleted) {
  std::lock_guard lock(impl_->mu);
  Stmt st(impl_->db,
          "SELECT e.id, e.name, e.deleted, e.created, "
          "(SELECT count(*) FROM runs r WHERE r.experiment_id = e.id AND r.deleted = 0) "
          "FROM experiments e ORDER BY e.id");
  std::vector<Experiment> out;
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    Experiment e{st.Int(0), st.Text(1), st.Int(2) != 0, st.Int(3), st.Int(4)};
    if (include_deleted || !e.deleted) out.push_back(std::move(e));
  }
  return out;
}

Status Tracker::RenameExperiment(const std::string& from, const std::string& to) {
  std::lock_guard lock(impl_->mu);
  CAIRN_RETURN_IF_ERROR(ValidateExperimentName(to));
  CAIRN_ASSIGN_OR_RETURN(auto e, FindExperiment(impl_->db, from));
  if (!e) return NoExperiment(from);
  CAIRN_ASSIGN_OR_RETURN(auto clash, FindExperiment(impl_->db, to));
  if (clash) return Status::AlreadyExists("experiment '" + to + "' exists", "pick another name");
  Stmt st(impl_->db, "UPDATE experiments SET name = ? WHERE id = ?");
  st.Bind(1, to).Bind(2, e->id);
  CAIRN_RETURN_IF_ERROR(st.Run());
  e->name = to;
  return WriteExperimentRef(repo_, *e);
}

namespace {
Status SetExperimentDeleted(sqlite3* db, Repo& repo, const std::string& name, bool deleted) {
  CAIRN_ASSIGN_OR_RETURN(auto e, FindExperiment(db, name));
  if (!e) return NoExperiment(name);
  if (deleted && e->id == 0) return Status::InvalidArgument("the Default experiment cannot be deleted");
  Stmt st(db, "UPDATE experiments SET deleted = ? WHERE id = ?");
  st.Bind(1, deleted ? 1 : 0).Bind(2, e->id);
  CAIRN_RETURN_IF_ERROR(st.Run());
  e->deleted = deleted;
  return WriteExperimentRef(repo, *e);
}
}  // namespace

Status Tracker::DeleteExperiment(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  return SetExperimentDeleted(impl_->db, repo_, name, true);
}

Status Tracker::RestoreExperiment(const std::string& name) {
  std::lock_guard lock(impl_->mu);
  return SetExperimentDeleted(impl_->db, repo_, name, false);
}

// ---- runs ---------------------------------------------------------------------

namespace {

Result<RunRow> FindRun(sqlite3* db, const std::string& run) {
  if (run.empty()) {
    return Status::InvalidArgument("no run given",
                                   "pass a run id (or set CAIRN_RUN_ID, which 'cairn run' does for its command)");
  }
  std::vector<RunRow> found;
  auto collect = [&](Stmt& st) -> Status {
    for (;;) {
      CAIRN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return Status::OK();
      found.push_back(RunRow{st.Int(0), st.Text(1), *ParseRunStatus(st.Text(2)), !st.IsNull(3)});
    }
  };
  if (IsHex(run) && run.size() >= 6) {
    Stmt st(db, "SELECT id, run_id, status, record FROM runs WHERE run_id >= ? AND run_id < ? LIMIT 5");
    st.Bind(1, run).Bind(2, run + "g");
    CAIRN_RETURN_IF_ERROR(collect(st));
  }
  if (found.empty()) {  // a run name
    Stmt st(db, "SELECT id, run_id, status, record FROM runs WHERE name = ? AND name != '' LIMIT 5");
    st.Bind(1, run);
    CAIRN_RETURN_IF_ERROR(collect(st));
  }
  if (found.empty()) {
    return Status::NotFound("no run '" + run + "'", "list runs with 'cairn runs' (ids may be shortened to 6+ digits)");
  }
  if (found.size() > 1) {
    std::string list;
    for (const RunRow& r : found) list += " " + r.id;
    return Status::Ambiguous("'" + run + "' matches several runs:" + list, "give more digits of the run id");
  }
  return found[0];
}

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

Status InsertInput(sqlite3* db, int64_t row, const RunInput& in) {
  Stmt st(db, "INSERT OR REPLACE INTO run_inputs (run, dataset, version, tag, source) VALUES (?, ?, ?, ?, ?)");
  st.Bind(1, row).Bind(2, in.dataset).Bind(3, in.version.Hex()).Bind(4, in.tag).Bind(5, in.source);
  return st.Run();
}

Status InsertKv(sqlite3* db, const char* table, int64_t row, const std::map<std::string, std::string>& kv) {
  Stmt st(db, std::string("INSERT OR REPLACE INTO ") + table + " (run, key, value) VALUES (?, ?, ?)");
  for (const auto& [k, v] : kv) {
    st.Bind(1, row).Bind(2, k).Bind(3, v);
    CAIRN_RETURN_IF_ERROR(st.Run());
  }
  return Status::OK();
}

Result<std::map<std::string, std::string>> LoadKv(sqlite3* db, const char* table, int64_t row) {
  Stmt st(db, std::string("SELECT key, value FROM ") + table + " WHERE run = ?");
  st.Bind(1, row);
  std::map<std::string, std::string> out;
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool r, st.Step());
    if (!r) break;
    out[st.Text(0)] = st.Text(1);
  }
  return out;
}

// Reads a run's row and, with `full`, its inputs, artifacts and env.
Result<RunInfo> LoadRun(sqlite3* db, int64_t row, bool full) {
  Stmt st(db,
          "SELECT r.run_id, r.experiment_id, coalesce(e.name, ''), r.name, r.status, r.start_time, "
          "coalesce(r.end_time, 0), r.user, r.deleted, r.exit_code, r.command, r.cwd, r.env, r.record "
          "FROM runs r LEFT JOIN experiments e ON e.id = r.experiment_id WHERE r.id = ?");
  st.Bind(1, row);
  CAIRN_ASSIGN_OR_RETURN(bool found, st.Step());
  if (!found) return Status::NotFound("run row vanished", "run 'cairn reindex'");
  RunInfo run;
  run.id = st.Text(0);
  run.experiment_id = st.Int(1);
  run.experiment = st.Text(2);
  run.name = st.Text(3);
  run.status = ParseRunStatus(st.Text(4)).value_or(RunStatus::kFailed);
  run.start_ms = st.Int(5);
  run.end_ms = st.Int(6);
  run.user = st.Text(7);
  run.deleted = st.Int(8) != 0;
  if (!st.IsNull(9)) run.exit_code = static_cast<int>(st.Int(9));
  run.command = st.Text(10);
  run.cwd = st.Text(11);
  if (full) {
    json env = json::parse(st.Text(12), nullptr, false);
    if (env.is_object()) {
      for (const auto& [k, v] : env.items()) {
        if (v.is_string()) run.env[k] = v.get<std::string>();
      }
    }
  }
  if (!st.IsNull(13)) {
    auto oid = Oid::Parse(st.Text(13));
    if (oid.ok()) run.record = *oid;
  }
  CAIRN_ASSIGN_OR_RETURN(run.params, LoadKv(db, "run_params", row));
  CAIRN_ASSIGN_OR_RETURN(run.tags, LoadKv(db, "run_tags", row));
  Stmt m(db, "SELECT key, value, step, ts FROM run_metrics WHERE run = ?");
  m.Bind(1, row);
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool r, m.Step());
    if (!r) break;
    std::string key = m.Text(0);
    run.metrics[key] = MetricPoint{key, m.Real(1), m.Int(2), m.Int(3)};
  }
  if (!full) return run;
  Stmt in(db, "SELECT dataset, version, tag, source FROM run_inputs WHERE run = ? ORDER BY dataset");
  in.Bind(1, row);
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool r, in.Step());
    if (!r) break;
    auto oid = Oid::Parse("sha256:" + in.Text(1));
    if (!oid.ok()) continue;
    run.inputs.push_back(RunInput{in.Text(0), *oid, in.Text(2), in.Text(3)});
  }
  Stmt art(db, "SELECT path, oid, size FROM run_artifacts WHERE run = ? ORDER BY path");
  art.Bind(1, row);
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool r, art.Step());
    if (!r) break;
    auto oid = Oid::Parse(art.Text(1));
    if (!oid.ok()) continue;
    run.artifacts.push_back(RunArtifact{art.Text(0), *oid, static_cast<uint64_t>(art.Int(2))});
  }
  return run;
}

Result<std::vector<MetricPoint>> LoadPoints(sqlite3* db, int64_t row, const std::string* key) {
  Stmt st(db, key ? "SELECT key, value, step, ts FROM run_metric_points WHERE run = ? AND key = ? ORDER BY rowid"
                  : "SELECT key, value, step, ts FROM run_metric_points WHERE run = ? ORDER BY rowid");
  st.Bind(1, row);
  if (key) st.Bind(2, *key);
  std::vector<MetricPoint> out;
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool r, st.Step());
    if (!r) break;
    out.push_back(MetricPoint{st.Text(0), st.Real(1), st.Int(2), st.Int(3)});
  }
  return out;
}

Status WriteRunRef(Repo& repo, const std::string& id, const Oid& record) {
  fs::path path = RunRefPath(repo, id);
  CAIRN_RETURN_IF_ERROR(MakeDirs(path.parent_path()));
  return WriteFileAtomic(path, record.ToString() + "\n", /*sync=*/true);
}

// Writes the run's record (and metric history when `history` is empty and
// points exist), makes them durable, moves the ref, and notes the record in
// the table. The caller holds the repository lock.
Status Seal(sqlite3* db, Repo& repo, int64_t row, std::optional<Oid> history) {
  CAIRN_ASSIGN_OR_RETURN(RunInfo run, LoadRun(db, row, /*full=*/true));
  if (!history) {
    CAIRN_ASSIGN_OR_RETURN(std::vector<MetricPoint> points, LoadPoints(db, row, nullptr));
    if (!points.empty()) {
      CAIRN_ASSIGN_OR_RETURN(Oid h, repo.store().PutObjectDurable(EncodeMetricHistory(points)));
      history = h;
    }
  }
  CAIRN_ASSIGN_OR_RETURN(Oid record, repo.store().PutObjectDurable(EncodeRunRecord(run, history)));
  CAIRN_RETURN_IF_ERROR(WriteRunRef(repo, run.id, record));
  Stmt st(db, "UPDATE runs SET record = ?, history = ? WHERE id = ?");
  st.Bind(1, record.ToString());
  if (history) {
    st.Bind(2, history->ToString());
  } else {
    st.BindNull(2);
  }
  st.Bind(3, row);
  return st.Run();
}

// Re-seals an ended run after a change (tags, artifacts, delete/restore).
Status Reseal(sqlite3* db, Repo& repo, const RunRow& r) {
  if (!r.sealed) return Status::OK();
  Stmt st(db, "SELECT history FROM runs WHERE id = ?");
  st.Bind(1, r.row);
  CAIRN_ASSIGN_OR_RETURN(bool found, st.Step());
  std::optional<Oid> history;
  if (found && !st.IsNull(0)) {
    auto oid = Oid::Parse(st.Text(0));
    if (oid.ok()) history = *oid;
  }
  // Without one (a run that logged no points), Seal looks for points again.
  return Seal(db, repo, r.row, history);
}

}  // namespace

Result<std::string> Tracker::ResolveRunId(const std::string& run) {
  std::lock_guard lock(impl_->mu);
  CAIRN_ASSIGN_OR_RETURN(RunRow r, FindRun(impl_->db, run));
  return r.id;
}

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

namespace {

Status InsertArtifacts(sqlite3* db, int64_t row, const std::vector<RunArtifact>& arts) {
  Stmt st(db, "INSERT OR REPLACE INTO run_artifacts (run, path, oid, size) VALUES (?, ?, ?, ?)");
  for (const RunArtifact& a : arts) {
    st.Bind(1, row).Bind(2, a.path).Bind(3, a.oid.ToString()).Bind(4, static_cast<int64_t>(a.size));
    CAIRN_RETURN_IF_ERROR(st.Run());
  }
  return Status::OK();
}

Status ValidateArtifactPath(const std::string& path) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("artifact path '" + path + "' " + why,
                                   "artifact paths are relative and '/'-separated, without '.' or '..' parts");
  };
  if (path.empty()) return bad("is empty");
  if (path.front() == '/') return bad("is absolute");
  CAIRN_RETURN_IF_ERROR(ValidateTreePath(path));
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string_view part(path.data() + start, end - start);
    if (part.empty() || part == "." || part == "..") return bad("has an empty, '.' or '..' part");
    start = end + 1;
  }
  return Status::OK();
}

}  // namespace

Result<std::vector<RunArtifact>> Tracker::LogArtifact(const std::string& run, const fs::path& source,
                                                      const std::string& artifact_path) {
  std::lock_guard lock(impl_->mu);
  sqlite3* db = impl_->db;
  CAIRN_ASSIGN_OR_RETURN(RunRow r, FindRun(db, run));
  auto rel = repo_.RelativePath(source);
  if (!rel.ok()) {
    return Status::InvalidArgument("artifact " + source.string() + ": " + rel.status().message(),
                                   "artifacts must be files inside the repository; copy it in first");
  }
  fs::path abs = repo_.Abs(*rel);
  std::error_code ec;
  auto st = fs::symlink_status(abs, ec);
  if (ec || !fs::exists(st)) {
    return Status::NotFound("artifact " + source.string() + " does not exist", "check the path");
  }
  std::string base = artifact_path.empty() ? abs.filename().string() : artifact_path;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  CAIRN_RETURN_IF_ERROR(ValidateArtifactPath(base));
  if (base == "cairn" || base.starts_with("cairn/")) {
    return Status::InvalidArgument("artifact paths under cairn/ are reserved for what cairn records itself",
                                   "choose another artifact path");
  }
  std::vector<std::pair<fs::path, std::string>> files;  // source, artifact path
  if (fs::is_directory(st)) {
    for (auto it = fs::recursive_directory_iterator(abs, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (it->is_regular_file() && !it->is_symlink()) {
        files.emplace_back(it->path(), base + "/" + fs::relative(it->path(), abs).generic_string());
      }
    }
    if (ec) return Status::FromErrno("cannot read " + abs.string(), ec.value());
    std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  } else if (fs::is_regular_file(st)) {
    files.emplace_back(abs, base);
  } else {
    return Status::InvalidArgument("artifact " + source.string() + " is not a regular file or directory");
  }
  if (files.empty()) {
    return Status::InvalidArgument("artifact directory " + source.string() + " holds no files", "nothing was logged");
  }
  CAIRN_ASSIGN_OR_RETURN(RepoLock repo_lock, repo_.Lock());
  std::vector<RunArtifact> arts;
  for (const auto& [src, path] : files) {
    uint64_t size = 0;
    auto oid = repo_.store().PutFile(src, &size);
    if (!oid.ok()) {
      repo_.store().DiscardPending();
      return oid.status();
    }
    arts.push_back(RunArtifact{path, *oid, size});
  }
  CAIRN_RETURN_IF_ERROR(repo_.store().Commit());
  Txn txn(db);
  CAIRN_RETURN_IF_ERROR(txn.Begin());
  CAIRN_RETURN_IF_ERROR(InsertArtifacts(db, r.row, arts));
  CAIRN_RETURN_IF_ERROR(Reseal(db, repo_, r));
  CAIRN_RETURN_IF_ERROR(txn.Commit());
  return arts;
}

Result<RunArtifact> Tracker::LogArtifactBytes(const std::string& run, const std::string& artifact_path,
                                              std::string_view bytes) {
  std::lock_guard lock(impl_->mu);
  sqlite3* db = impl_->db;
  CAIRN_ASSIGN_OR_RETURN(RunRow r, FindRun(db, run));
  CAIRN_RETURN_IF_ERROR(ValidateArtifactPath(artifact_path));
  CAIRN_ASSIGN_OR_RETURN(RepoLock repo_lock, repo_.Lock());
  // Loose, not packed: one small pack per run would slow every lookup.
  CAIRN_ASSIGN_OR_RETURN(Oid oid, repo_.store().PutObjectDurable(bytes));
  RunArtifact art{artifact_path, oid, bytes.size()};
  Txn txn(db);
  CAIRN_RETURN_IF_ERROR(txn.Begin());
  CAIRN_RETURN_IF_ERROR(InsertArtifacts(db, r.row, {art}));
  CAIRN_RETURN_IF_ERROR(Reseal(db, repo_, r));
  CAIRN_RETURN_IF_ERROR(txn.Commit());
  return art;
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

Result<RunInfo> Tracker::GetRun(const std::string& run) {
  std::lock_guard lock(impl_->mu);
  CAIRN_ASSIGN_OR_RETURN(RunRow r, FindRun(impl_->db, run));
  return LoadRun(impl_->db, r.row, /*full=*/true);
}

Result<std::vector<MetricPoint>> Tracker::MetricHistory(const std::string& run, const std::string& key) {
  std::lock_guard lock(impl_->mu);
  CAIRN_ASSIGN_OR_RETURN(RunRow r, FindRun(impl_->db, run));
  CAIRN_ASSIGN_OR_RETURN(auto points, LoadPoints(impl_->db, r.row, &key));
  if (points.empty()) {
    return Status::NotFound("run " + r.id + " has no metric '" + key + "'",
                            "see its metrics with 'cairn runs show " + r.id.substr(0, 8) + "'");
  }
  return points;
}

// ---- search -------------------------------------------------------------------

namespace {

// SQL for the value a run has under an order key, with its binds.
std::string OrderExpr(const OrderKey& k, std::vector<SqlValue>* binds) {
  switch (k.kind) {
    case OrderKey::Kind::kMetric:
      binds->push_back(k.key);
      return "(SELECT value FROM run_metrics WHERE run = r.id AND key = ?)";
    case OrderKey::Kind::kParam:
      binds->push_back(k.key);
      return "(SELECT value FROM run_params WHERE run = r.id AND key = ?)";
    case OrderKey::Kind::kTag:
      binds->push_back(k.key);
      return "(SELECT value FROM run_tags WHERE run = r.id AND key = ?)";
    case OrderKey::Kind::kAttribute:
      return "r." + k.key;
  }
  return "r.start_time";
}

std::string OrderClause(const std::vector<OrderKey>& keys, size_t from, std::vector<SqlValue>* binds) {
  std::string sql;
  for (size_t i = from; i < keys.size(); ++i) {
    sql += OrderExpr(keys[i], binds) + (keys[i].descending ? " DESC NULLS LAST, " : " ASC NULLS LAST, ");
  }
  return sql + "r.start_time DESC, r.run_id";
}

Result<std::vector<int64_t>> QueryIds(sqlite3* db, const std::string& sql, const std::vector<SqlValue>& binds) {
  Stmt st(db, sql);
  CAIRN_RETURN_IF_ERROR(st.status());
  for (size_t i = 0; i < binds.size(); ++i) st.Bind(static_cast<int>(i + 1), binds[i]);
  std::vector<int64_t> ids;
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    ids.push_back(st.Int(0));
  }
  return ids;
}

}  // namespace

Result<SearchResult> Tracker::Search(const SearchOptions& options) {
  std::lock_guard lock(impl_->mu);
  sqlite3* db = impl_->db;
  CAIRN_ASSIGN_OR_RETURN(SqlFragment filter, CompileFilter(options.filter));
  CAIRN_ASSIGN_OR_RETURN(std::vector<OrderKey> order, ParseOrderBy(options.order_by));
  if (options.limit < 0) return Status::InvalidArgument("the limit must not be negative");
  // The base condition: lifecycle, experiments, the filter.
  std::string where = options.deleted_only ? "r.deleted = 1" : options.include_deleted ? "1" : "r.deleted = 0";
  std::vector<SqlValue> where_binds;
  if (!options.experiments.empty()) {
    std::string ids;
    for (const std::string& name : options.experiments) {
      CAIRN_ASSIGN_OR_RETURN(auto e, FindExperiment(db, name));
      if (!e) return NoExperiment(name);
      ids += (ids.empty() ? "" : ", ") + std::to_string(e->id);
    }
    where += " AND r.experiment_id IN (" + ids + ")";
  }
  where += " AND (" + filter.sql + ")";
  where_binds.insert(where_binds.end(), filter.binds.begin(), filter.binds.end());

  std::vector<int64_t> ids;
  if (!order.empty() && order[0].kind == OrderKey::Kind::kMetric) {
    // Walk the (key, value) index in order and stop at the limit; runs
    // without the metric (or with NaN) come after, as NULLS LAST would.
    // Filter bounds on the same metric narrow the walk.
    std::vector<SqlValue> binds{order[0].key};
    std::string range;
    for (const MetricBound& b : filter.bounds) {
      if (b.key != order[0].key) continue;
      range += " AND s.value " + b.op + " ?";
      binds.push_back(b.value);
    }
    binds.insert(binds.end(), where_binds.begin(), where_binds.end());
    std::string rest = OrderClause(order, 1, &binds);
    std::string sql = "SELECT r.id FROM run_metrics s JOIN runs r ON r.id = s.run WHERE s.key = ? AND "
                      "s.value IS NOT NULL" +
                      range + " AND " + where + " ORDER BY s.value " + (order[0].descending ? "DESC" : "ASC") +
                      ", " + rest + " LIMIT " + std::to_string(options.limit);
    CAIRN_ASSIGN_OR_RETURN(ids, QueryIds(db, sql, binds));
    // With a bound on the metric, runs without it cannot match.
    if (static_cast<int64_t>(ids.size()) < options.limit && range.empty()) {
      std::vector<SqlValue> binds2 = where_binds;
      binds2.push_back(order[0].key);
      std::string rest2 = OrderClause(order, 1, &binds2);
      std::string sql2 = "SELECT r.id FROM runs r WHERE " + where +
                         " AND NOT EXISTS (SELECT 1 FROM run_metrics s WHERE s.run = r.id AND s.key = ? AND "
                         "s.value IS NOT NULL) ORDER BY " +
                         rest2 + " LIMIT " + std::to_string(options.limit - static_cast<int64_t>(ids.size()));
      CAIRN_ASSIGN_OR_RETURN(auto more, QueryIds(db, sql2, binds2));
      ids.insert(ids.end(), more.begin(), more.end());
    }
  } else {
    // A selective metric bound (few runs satisfy it) drives the query from
    // the metric index; otherwise runs are scanned in order, and matches are
    // common enough that the limit is reached early.
    constexpr int64_t kSelective = 5000;
    const MetricBound* driver = nullptr;
    int64_t fewest = kSelective;
    for (const MetricBound& b : filter.bounds) {
      Stmt count(db, "SELECT count(*) FROM (SELECT 1 FROM run_metrics WHERE key = ? AND value " + b.op + " ? LIMIT " +
                         std::to_string(kSelective) + ")");
      count.Bind(1, b.key).Bind(2, b.value);
      CAIRN_ASSIGN_OR_RETURN(bool row, count.Step());
      if (row && count.Int(0) < fewest) {
        fewest = count.Int(0);
        driver = &b;
      }
    }
    std::vector<SqlValue> binds;
    std::string drive;
    if (driver) {
      drive = "r.id IN (SELECT run FROM run_metrics WHERE key = ? AND value " + driver->op + " ?) AND ";
      binds = {driver->key, driver->value};
    }
    binds.insert(binds.end(), where_binds.begin(), where_binds.end());
    std::string sql = "SELECT r.id FROM runs r WHERE " + drive + where + " ORDER BY " +
                      OrderClause(order, 0, &binds) + " LIMIT " + std::to_string(options.limit);
    CAIRN_ASSIGN_OR_RETURN(ids, QueryIds(db, sql, binds));
  }
  SearchResult result;
  for (int64_t id : ids) {
    CAIRN_ASSIGN_OR_RETURN(RunInfo run, LoadRun(db, id, options.full));
    result.runs.push_back(std::move(run));
  }
  return result;
}

// ---- dead runs, reindex, gc roots ----------------------------------------------

Result<int> Tracker::ReapDeadRuns() {
  std::lock_guard lock(impl_->mu);
  sqlite3* db = impl_->db;
  std::vector<std::pair<std::string, int64_t>> dead;
  {
    Stmt st(db, "SELECT run_id, pid, pid_start FROM runs WHERE status = 'RUNNING' AND host = ?");
    st.Bind(1, impl_->host);
    for (;;) {
      CAIRN_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      int64_t pid = st.Int(1);
      int64_t start = st.Int(2);
      if (!RunOwnerAlive(pid, start)) dead.emplace_back(st.Text(0), pid);
    }
  }
  for (const auto& [id, pid] : dead) {
    CAIRN_RETURN_IF_ERROR(SetTags(id, {{"cairn.end_reason", "process " + std::to_string(pid) +
                                                                  " ended without ending the run"}}));
    auto ended = EndRun(id, RunStatus::kFailed);
    // Another process may have reaped it first.
    if (!ended.ok() && ended.status().code() != Code::kFailedPrecondition) return ended.status();
  }
  return static_cast<int>(dead.size());
}

namespace {

Status IndexRecord(sqlite3* db, const RunInfo& run, const Oid& record, const std::optional<Oid>& history,
                   const std::vector<MetricPoint>& points) {
  Stmt ins(db,
           "INSERT INTO runs (run_id, experiment_id, name, status, start_time, end_time, user, deleted, exit_code, "
           "command, cwd, env, history, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  ins.Bind(1, run.id)
      .Bind(2, run.experiment_id)
      .Bind(3, run.name)
      .Bind(4, RunStatusName(run.status))
      .Bind(5, run.start_ms)
      .Bind(6, run.end_ms)
      .Bind(7, run.user)
      .Bind(8, run.deleted ? 1 : 0);
  if (run.exit_code) {
    ins.Bind(9, *run.exit_code);
  } else {
    ins.BindNull(9);
  }
  ins.Bind(10, run.command).Bind(11, run.cwd).Bind(12, json(run.env).dump());
  if (history) {
    ins.Bind(13, history->ToString());
  } else {
    ins.BindNull(13);
  }
  ins.Bind(14, record.ToString());
  CAIRN_RETURN_IF_ERROR(ins.Run());
  int64_t row = sqlite3_last_insert_rowid(db);
  CAIRN_RETURN_IF_ERROR(InsertKv(db, "run_params", row, run.params));
  CAIRN_RETURN_IF_ERROR(InsertKv(db, "run_tags", row, run.tags));
  for (const RunInput& in : run.inputs) CAIRN_RETURN_IF_ERROR(InsertInput(db, row, in));
  CAIRN_RETURN_IF_ERROR(InsertArtifacts(db, row, run.artifacts));
  Stmt m(db, "INSERT INTO run_metrics (run, key, value, step, ts) VALUES (?, ?, ?, ?, ?)");
  for (const auto& [key, p] : run.metrics) {
    m.Bind(1, row).Bind(2, key).Bind(3, p.value).Bind(4, p.step).Bind(5, p.timestamp_ms);
    CAIRN_RETURN_IF_ERROR(m.Run());
  }
  Stmt pt(db, "INSERT INTO run_metric_points (run, key, value, step, ts) VALUES (?, ?, ?, ?, ?)");
  for (const MetricPoint& p : points) {
    pt.Bind(1, row).Bind(2, p.key).Bind(3, p.value).Bind(4, p.step).Bind(5, p.timestamp_ms);
    CAIRN_RETURN_IF_ERROR(pt.Run());
  }
  return Status::OK();
}

// Removes the runs matching `condition` (SQL over the runs table) and
// everything indexed under them.
Status DeleteRuns(sqlite3* db, const std::string& condition) {
  for (const char* table :
       {"run_params", "run_tags", "run_metrics", "run_metric_points", "run_inputs", "run_artifacts"}) {
    std::string sql = std::string("DELETE FROM ") + table + " WHERE run IN (SELECT id FROM runs WHERE " + condition + ")";
    CAIRN_RETURN_IF_ERROR(SqliteExec(db, sql.c_str()));
  }
  return SqliteExec(db, ("DELETE FROM runs WHERE " + condition).c_str());
}

}  // namespace

// Indexes a sealed run from its record (replacing any row of that id). With
// `trust_id` (records made in this clone), a run whose experiment was renamed
// stays in it; otherwise (records from another clone, whose experiment ids
// mean nothing here) the run joins, or creates, the experiment of its name.
namespace {

Status IndexSealedRun(sqlite3* db, Repo& repo, const std::string& id, const Oid& record, bool trust_id) {
  CAIRN_ASSIGN_OR_RETURN(std::string data, repo.store().Read(record));
  std::optional<Oid> history;
  CAIRN_ASSIGN_OR_RETURN(RunInfo run, DecodeRunRecord(data, "run " + id, &history));
  std::vector<MetricPoint> points;
  if (history) {
    CAIRN_ASSIGN_OR_RETURN(std::string h, repo.store().Read(*history));
    CAIRN_ASSIGN_OR_RETURN(points, DecodeMetricHistory(h, "metric history of run " + id));
  }
  // A run still marked RUNNING whose record exists was sealed by a process
  // that died before updating the index: the record wins.
  Stmt old(db, "SELECT id FROM runs WHERE run_id = ?");
  old.Bind(1, id);
  CAIRN_ASSIGN_OR_RETURN(bool stale, old.Step());
  if (stale) CAIRN_RETURN_IF_ERROR(DeleteRuns(db, "id = " + std::to_string(old.Int(0))));
  // The record's experiment id is this clone's when the record was made
  // here (the experiment may have been renamed since), but means nothing
  // for a record imported from another clone, which is matched by name.
  std::optional<Experiment> exp;
  {
    Stmt by_id(db, "SELECT name FROM experiments WHERE id = ?");
    by_id.Bind(1, run.experiment_id);
    CAIRN_ASSIGN_OR_RETURN(bool row, by_id.Step());
    std::string id_name = row ? by_id.Text(0) : std::string();
    CAIRN_ASSIGN_OR_RETURN(exp, FindExperiment(db, row && id_name == run.experiment ? id_name : run.experiment));
    if (!exp && row && trust_id) {
      CAIRN_ASSIGN_OR_RETURN(exp, FindExperiment(db, id_name));
    }
  }
  if (!exp) {
    Stmt ins(db, "INSERT INTO experiments (name, created) VALUES (?, ?)");
    ins.Bind(1, run.experiment).Bind(2, run.start_ms);
    CAIRN_RETURN_IF_ERROR(ins.Run());
    CAIRN_ASSIGN_OR_RETURN(exp, FindExperiment(db, run.experiment));
    CAIRN_RETURN_IF_ERROR(WriteExperimentRef(repo, *exp));
  }
  run.experiment_id = exp->id;
  return IndexRecord(db, run, record, history, points);
}

}  // namespace

Result<int64_t> Tracker::Reindex() {
  std::lock_guard lock(impl_->mu);
  sqlite3* db = impl_->db;
  CAIRN_ASSIGN_OR_RETURN(RepoLock repo_lock, repo_.Lock());
  Txn txn(db);
  CAIRN_RETURN_IF_ERROR(txn.Begin());
  CAIRN_RETURN_IF_ERROR(DeleteRuns(db, "record IS NOT NULL"));
  for (const std::string& name : ListDir(repo_.refs_dir() / "experiments")) {
    fs::path path = repo_.refs_dir() / "experiments" / name;
    CAIRN_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
    json j = json::parse(data, nullptr, false);
    if (!j.is_object() || !j.contains("id") || !j.contains("name")) {
      return Status::Corruption(path.string() + ": damaged experiment file", "fix or remove it");
    }
    Stmt st(db, "INSERT OR REPLACE INTO experiments (id, name, deleted, created) VALUES (?, ?, ?, ?)");
    st.Bind(1, j["id"].get<int64_t>())
        .Bind(2, j["name"].get<std::string>())
        .Bind(3, j.value("deleted", false) ? 1 : 0)
        .Bind(4, j.value("created", int64_t{0}));
    CAIRN_RETURN_IF_ERROR(st.Run());
  }
  int64_t count = 0;
  for (const std::string& id : ListDir(repo_.refs_dir() / "runs")) {
    if (!ValidateRunId(id).ok()) continue;
    CAIRN_ASSIGN_OR_RETURN(Oid record, ReadRunRef(RunRefPath(repo_, id)));
    CAIRN_RETURN_IF_ERROR(IndexSealedRun(db, repo_, id, record, /*trust_id=*/true));
    ++count;
  }
  CAIRN_RETURN_IF_ERROR(txn.Commit());
  return count;
}

Result<int64_t> Tracker::ImportRuns(const std::vector<std::pair<std::string, Oid>>& runs) {
  std::lock_guard lock(impl_->mu);
  sqlite3* db = impl_->db;
  CAIRN_ASSIGN_OR_RETURN(RepoLock repo_lock, repo_.Lock());
  Txn txn(db);
  CAIRN_RETURN_IF_ERROR(txn.Begin());
  int64_t count = 0;
  for (const auto& [id, record] : runs) {
    CAIRN_RETURN_IF_ERROR(ValidateRunId(id));
    auto current = ReadRunRef(RunRefPath(repo_, id));
    if (current.ok() && *current == record) continue;
    CAIRN_RETURN_IF_ERROR(IndexSealedRun(db, repo_, id, record, /*trust_id=*/false));
    CAIRN_RETURN_IF_ERROR(WriteRunRef(repo_, id, record));
    ++count;
  }
  CAIRN_RETURN_IF_ERROR(txn.Commit());
  return count;
}

Status Tracker::CollectRoots(OidSet* live) {
  std::lock_guard lock(impl_->mu);
  sqlite3* db = impl_->db;
  auto add = [&](const std::string& text) {
    auto oid = Oid::Parse(text);
    if (oid.ok()) live->insert(*oid);
  };
  Stmt arts(db, "SELECT oid FROM run_artifacts");
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool row, arts.Step());
    if (!row) break;
    add(arts.Text(0));
  }
  Stmt runs(db, "SELECT record, history FROM runs WHERE record IS NOT NULL");
  for (;;) {
    CAIRN_ASSIGN_OR_RETURN(bool row, runs.Step());
    if (!row) break;
    add(runs.Text(0));
    if (!runs.IsNull(1)) add(runs.Text(1));
  }
  // Records named by refs but missing from the index (before a reindex).
  for (const std::string& id : ListDir(repo_.refs_dir() / "runs")) {
    auto record = ReadRunRef(RunRefPath(repo_, id));
    if (!record.ok() || live->count(*record)) continue;
    live->insert(*record);
    auto data = repo_.store().Read(*record);
    if (!data.ok()) continue;
    std::optional<Oid> history;
    auto run = DecodeRunRecord(*data, "run " + id, &history);
    if (!run.ok()) continue;
    if (history) live->insert(*history);
    for (const RunArtifact& a : run->artifacts) live->insert(a.oid);
  }
  return Status::OK();
}

// ---- metric buffer ---------------------------------------------------------------

struct MetricBuffer::Impl {
  Tracker& tracker;
  int interval_ms;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<std::string, MetricPoint>> pending;
  Status error;
  bool stop = false;
  std::mutex write_mu;  // keeps batches in order
  std::thread thread;

  Impl(Tracker& t, int interval) : tracker(t), interval_ms(interval) {}

  Status WriteBatch() {
    std::lock_guard write_lock(write_mu);
    std::vector<std::pair<std::string, MetricPoint>> batch;
    {
      std::lock_guard l(mu);
      batch.swap(pending);
    }
    if (batch.empty()) return Status::OK();
    // Group by run, keeping each run's points in the order they were logged.
    bool one_run = std::all_of(batch.begin(), batch.end(), [&](const auto& p) { return p.first == batch[0].first; });
    if (!one_run) {
      std::stable_sort(batch.begin(), batch.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    }
    Status first;
    size_t i = 0;
    while (i < batch.size()) {
      size_t j = i;
      std::vector<MetricPoint> points;
      while (j < batch.size() && batch[j].first == batch[i].first) points.push_back(std::move(batch[j++].second));
      Status s = tracker.LogMetrics(batch[i].first, points);
      if (!s.ok() && first.ok()) first = s;
      i = j;
    }
    return first;
  }

  void Loop() {
    std::unique_lock l(mu);
    while (!stop) {
      cv.wait_for(l, std::chrono::milliseconds(interval_ms));
      if (pending.empty()) continue;
      l.unlock();
      Status s = WriteBatch();
      l.lock();
      if (!s.ok() && error.ok()) error = s;
    }
  }
};

MetricBuffer::MetricBuffer(Tracker& tracker, int interval_ms)
    : impl_(std::make_unique<Impl>(tracker, interval_ms)) {
  impl_->thread = std::thread([this] { impl_->Loop(); });
}

MetricBuffer::~MetricBuffer() {
  Status ignored = Close();  // callers that care call Close() first
  (void)ignored;
}

Status MetricBuffer::Close() {
  {
    std::lock_guard l(impl_->mu);
    if (impl_->stop) return Status::OK();
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  impl_->thread.join();
  Status s = impl_->WriteBatch();
  std::lock_guard l(impl_->mu);
  Status earlier = impl_->error;
  impl_->error = Status::OK();
  return earlier.ok() ? s : earlier;
}

void MetricBuffer::Add(const std::string& run, MetricPoint point) {
  if (point.timestamp_ms == 0) point.timestamp_ms = NowMs();
  std::lock_guard l(impl_->mu);
  impl_->pending.emplace_back(run, std::move(point));
}

Status MetricBuffer::Flush() {
  Status s = impl_->WriteBatch();
  std::lock_guard l(impl_->mu);
  Status earlier = impl_->error;
  impl_->error = Status::OK();
  return earlier.ok() ? s : earlier;
}

}  // namespace cairn
