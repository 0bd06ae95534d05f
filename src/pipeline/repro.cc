// cairn repro and the pipeline part of cairn status.
#include <fcntl.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "cairn/dataset.h"
#include "cairn/pipeline.h"
#include "cairn/pointer.h"
#include "cairn/tracking.h"
#include "pipeline/run_cache.h"
#include "util/file.h"

extern char** environ;

namespace cairn {
namespace {

// The ${key} references of a command.
std::vector<std::string> CommandParams(const std::string& cmd) {
  std::vector<std::string> keys;
  static const std::regex re(R"(\$\{([A-Za-z0-9_.\-]+)\})");
  for (auto it = std::sregex_iterator(cmd.begin(), cmd.end(), re); it != std::sregex_iterator(); ++it) {
    keys.push_back((*it)[1]);
  }
  return keys;
}

// Oid of a dep's current content: a file's blob oid, a directory's tree
// oid, a ref's version. NotFound when a path does not exist.
Result<Oid> DepOid(Repo& repo, const std::string& dep) {
  if (IsDatasetRef(dep)) {
    CAIRN_ASSIGN_OR_RETURN(ResolvedRef r, ResolveRef(repo, dep));
    return r.version;
  }
  std::error_code ec;
  fs::path abs = repo.Abs(dep);
  if (!fs::exists(abs, ec)) return Status::NotFound("dependency '" + dep + "' does not exist");
  CAIRN_ASSIGN_OR_RETURN(Tree tree, WorkspaceFiles(repo, dep, false));
  if (fs::is_regular_file(abs, ec) && tree.entries.size() == 1) return tree.entries[0].oid;
  return Oid::Of(tree.Encode());
}

// What a stage would consume now. Deps that do not exist (yet) are left out
// and listed in `*missing`.
Result<LockedStage> CurrentInputs(Repo& repo, const PipelineSpec& spec, const StageSpec& stage,
                                  std::vector<std::string>* missing) {
  LockedStage in;
  std::vector<std::string> keys = stage.params;
  for (const std::string& k : CommandParams(stage.cmd)) keys.push_back(k);
  CAIRN_ASSIGN_OR_RETURN(auto values, ReadParams(repo, spec, keys));
  for (const std::string& k : stage.params) in.params[k] = values[k];
  in.cmd = stage.cmd;
  for (const std::string& k : CommandParams(stage.cmd)) {
    std::string pattern = "${" + k + "}";
    for (size_t at; (at = in.cmd.find(pattern)) != std::string::npos;) in.cmd.replace(at, pattern.size(), values[k]);
  }
  for (const std::string& d : stage.deps) {
    auto oid = DepOid(repo, d);
    if (oid.ok()) {
      in.deps[d] = *oid;
    } else if (oid.status().code() == Code::kNotFound && !IsDatasetRef(d)) {
      missing->push_back(d);
    } else {
      return oid.status();
    }
  }
  return in;
}

// Reasons the recorded inputs differ from the current ones.
std::vector<std::string> InputChanges(const LockedStage& was, const LockedStage& now) {
  std::vector<std::string> why;
  if (was.cmd != now.cmd) why.push_back("command changed");
  for (const auto& [d, oid] : now.deps) {
    auto it = was.deps.find(d);
    if (it == was.deps.end()) why.push_back("new dependency " + d);
    else if (it->second != oid) why.push_back("dependency " + d + " changed");
  }
  for (const auto& [d, oid] : was.deps) {
    if (!now.deps.count(d)) why.push_back("dependency " + d + " removed");
  }
  for (const auto& [k, v] : now.params) {
    auto it = was.params.find(k);
    if (it == was.params.end()) why.push_back("new param " + k);
    else if (it->second != v) why.push_back("param " + k + ": " + it->second + " -> " + v);
  }
  for (const auto& [k, v] : was.params) {
    if (!now.params.count(k)) why.push_back("param " + k + " removed");
  }
  return why;
}

// Reasons the workspace outputs differ from `outs` (path → version).
Result<std::vector<std::string>> OutputChanges(Repo& repo, const StageSpec& stage, const LockedStage& locked) {
  const std::map<std::string, Oid>& outs = locked.outs;
  std::vector<std::string> why;
  for (const auto& [path, oid] : locked.metrics) {
    auto data = ReadFile(repo.Abs(path));
    if (!data.ok() || Oid::Of(*data) != oid) why.push_back("metrics file " + path + " differs from the locked one");
  }
  for (const std::string& o : stage.outs) {
    auto it = outs.find(o);
    if (it == outs.end()) {
      why.push_back("output " + o + " was never produced");
      continue;
    }
    std::error_code ec;
    if (!fs::exists(repo.PointerPath(o), ec)) {
      why.push_back("output " + o + " has no pointer file " + o + ".cairn (was it committed?)");
      continue;
    }
    CAIRN_ASSIGN_OR_RETURN(std::vector<Tracked> tracked, FindTracked(repo, {o}));
    if (tracked.empty() || tracked[0].path != o || tracked[0].pointer.version != it->second) {
      why.push_back("output " + o + " is not the locked version");
      continue;
    }
    CAIRN_ASSIGN_OR_RETURN(std::vector<PathStatus> st, GetStatus(repo, {o}, StatusOptions{}));
    if (!st.empty() && st[0].state != TrackedState::kClean) {
      why.push_back("output " + o + " is " + TrackedStateName(st[0].state));
    }
  }
  return why;
}

// Writes the outputs and metrics files a stage produced before.
Status RestoreAll(Repo& repo, const std::map<std::string, Oid>& outs, const std::map<std::string, Oid>& metrics);

// Points `path`'s pointer file at `version` and checks it out.
Status RestoreOutput(Repo& repo, const std::string& path, const Oid& version) {
  CAIRN_ASSIGN_OR_RETURN(Version v, LoadVersion(repo, version));
  Pointer p;
  p.dataset = v.dataset;
  p.version = version;
  p.kind = v.kind;
  p.object = v.object;
  p.size = v.size;
  p.files = v.files;
  CAIRN_RETURN_IF_ERROR(WriteWorkspaceFileAtomic(repo.PointerPath(path), p.Encode(), /*sync=*/true, repo.tmp_dir()));
  CheckoutOptions co;
  co.force = true;  // outputs belong to their stage
  return Checkout(repo, {path}, co).status();
}

Status RestoreOutput(Repo& repo, const std::string& path, const Oid& version);

// Corruption unless every output and metrics file named by a lock entry (or
// a run-cache entry) is one the stage declares.
Status CheckLockedPaths(const StageSpec& stage, const std::map<std::string, Oid>& outs,
                        const std::map<std::string, Oid>& metrics) {
  for (const auto* m : {&outs, &metrics}) {
    const std::vector<std::string>& declared = m == &outs ? stage.outs : stage.metrics;
    for (const auto& [path, oid] : *m) {
      if (std::find(declared.begin(), declared.end(), path) == declared.end()) {
        return Status::Corruption(std::string(kLockFile) + ": stage '" + stage.name + "' names " +
                                      (m == &outs ? "output '" : "metrics file '") + path +
                                      "', which cairn.yaml does not declare for it",
                                  "restore cairn.lock from git, or delete it to re-run every stage");
      }
    }
  }
  return Status::OK();
}

Status RestoreAll(Repo& repo, const std::map<std::string, Oid>& outs, const std::map<std::string, Oid>& metrics) {
  for (const auto& [path, v] : outs) CAIRN_RETURN_IF_ERROR(RestoreOutput(repo, path, v));
  for (const auto& [path, oid] : metrics) {
    CAIRN_ASSIGN_OR_RETURN(std::string data, repo.store().Read(oid));
    CAIRN_RETURN_IF_ERROR(MakeDirs(repo.Abs(path).parent_path()));
    CAIRN_RETURN_IF_ERROR(WriteWorkspaceFileAtomic(repo.Abs(path), data, /*sync=*/false, repo.tmp_dir()));
  }
  return Status::OK();
}

// True when every output version and its data, and every metrics file, are in the cache.
bool CanRestore(Repo& repo, const std::map<std::string, Oid>& outs, const std::map<std::string, Oid>& metrics) {
  for (const auto& [path, oid] : metrics) {
    if (!repo.store().Has(oid)) return false;
  }
  for (const auto& [path, v] : outs) {
    auto version = LoadVersion(repo, v);
    if (!version.ok()) return false;
    if (!repo.store().Has(version->object)) return false;
    if (version->kind == ObjectKind::kTree) {
      auto tree = LoadFiles(repo, *version);
      if (!tree.ok()) return false;
      for (const TreeEntry& e : tree->entries) {
        if (!repo.store().Has(e.oid)) return false;
      }
    }
  }
  return true;
}

// Flattens numbers of a JSON metrics file into dotted keys.
void FlattenMetrics(const nlohmann::json& j, const std::string& prefix, std::vector<MetricPoint>* out, int64_t now) {
  if (j.is_number()) {
    out->push_back(MetricPoint{prefix, j.get<double>(), now, 0});
  } else if (j.is_boolean()) {
    out->push_back(MetricPoint{prefix, j.get<bool>() ? 1.0 : 0.0, now, 0});
  } else if (j.is_object()) {
    for (const auto& [k, v] : j.items()) FlattenMetrics(v, prefix.empty() ? k : prefix + "." + k, out, now);
  }
}

// Runs `cmd` with /bin/sh in `dir`; passes stdout through (unless quiet)
// and stderr through while keeping its last lines.
Result<int> RunCommand(const std::string& cmd, const fs::path& dir, const std::string& run_id, const Repo& repo,
                       bool quiet, std::string* stderr_tail) {
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return Status::FromErrno("cannot create a pipe", errno);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  if (quiet) posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "CAIRN_RUN_ID=", 13) != 0 && std::strncmp(*e, "CAIRN_DIR=", 10) != 0) env_strings.push_back(*e);
  }
  env_strings.push_back("CAIRN_RUN_ID=" + run_id);
  env_strings.push_back("CAIRN_DIR=" + repo.cairn_dir().string());
  env_strings.push_back("PYTHONUNBUFFERED=1");
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
  pid_t pid;
  int rc = posix_spawn(&pid, "/bin/sh", &actions, nullptr, const_cast<char* const*>(argv), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(err_pipe[1]);
  if (rc != 0) {
    ::close(err_pipe[0]);
    return Status::FromErrno("cannot start /bin/sh", rc);
  }
  std::string tail;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(err_pipe[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    (void)!::write(STDERR_FILENO, buf, n);
    tail.append(buf, n);
    if (tail.size() > 8192) tail.erase(0, tail.size() - 4096);
  }
  ::close(err_pipe[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // The last 20 lines.
  size_t at = tail.size();
  for (int lines = 0; at > 0 && lines <= 20;) {
    if (tail[--at] == '\n') ++lines;
  }
  *stderr_tail = tail.substr(at == 0 ? 0 : at + 1);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

// Which stages to consider, in topological order.
std::vector<std::string> Selection(const PipelineSpec& spec, const ReproOptions& options) {
  if (options.stages.empty()) return spec.order;
  std::set<std::string> chosen;
  if (options.downstream) {
    chosen.insert(options.stages.begin(), options.stages.end());
    for (const std::string& n : spec.order) {  // topological: upstream first
      for (const std::string& u : spec.upstream.at(n)) {
        if (chosen.count(u)) chosen.insert(n);
      }
    }
  } else {
    std::vector<std::string> todo = options.stages;
    while (!todo.empty()) {
      std::string n = todo.back();
      todo.pop_back();
      if (!chosen.insert(n).second) continue;
      for (const std::string& u : spec.upstream.at(n)) todo.push_back(u);
    }
  }
  std::vector<std::string> out;
  for (const std::string& n : spec.order) {
    if (chosen.count(n)) out.push_back(n);
  }
  return out;
}

class ReproLock {
 public:
  static Result<ReproLock> Take(Repo& repo) {
    fs::path path = repo.cairn_dir() / "repro.lock";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Status::FromErrno("cannot open " + path.string(), errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      char pid[32] = {};
      (void)!::pread(fd, pid, sizeof pid - 1, 0);
      ::close(fd);
      return Status::Busy("another 'cairn repro' is running in this repository (pid " + std::string(pid) + ")",
                          "wait for it to finish, then run 'cairn repro' again");
    }
    std::string me = std::to_string(::getpid());
    (void)!::ftruncate(fd, 0);
    (void)!::pwrite(fd, me.data(), me.size(), 0);
    return ReproLock(fd);
  }
  ReproLock(ReproLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  ~ReproLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  explicit ReproLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace

const char* StageOutcomeName(StageOutcomeKind k) {
  switch (k) {
    case StageOutcomeKind::kUpToDate: return "up-to-date";
    case StageOutcomeKind::kRestored: return "restored";
    case StageOutcomeKind::kRan: return "ran";
    case StageOutcomeKind::kFailed: return "failed";
    case StageOutcomeKind::kSkipped: return "skipped";
    case StageOutcomeKind::kWouldRun: return "would-run";
    case StageOutcomeKind::kWouldRestore: return "would-restore";
  }
  return "?";
}

Result<std::vector<StageStatus>> PipelineStatus(Repo& repo, bool) {
  CAIRN_ASSIGN_OR_RETURN(PipelineSpec spec, LoadPipeline(repo));
  CAIRN_ASSIGN_OR_RETURN(PipelineLock lock, LoadLock(repo));
  std::vector<StageStatus> out;
  std::set<std::string> stale;
  for (const std::string& name : spec.order) {
    const StageSpec& stage = *spec.Find(name);
    StageStatus st;
    st.name = name;
    std::vector<std::string> missing;
    CAIRN_ASSIGN_OR_RETURN(LockedStage now, CurrentInputs(repo, spec, stage, &missing));
    auto it = lock.find(name);
    if (it == lock.end()) st.reasons.push_back("never ran (not in cairn.lock)");
    for (const std::string& u : spec.upstream.at(name)) {
      if (stale.count(u)) st.reasons.push_back("upstream stage " + u + " is stale");
    }
    for (const std::string& m : missing) {
      const StageSpec* producer = spec.Producer(m);
      if (!producer || !stale.count(producer->name)) st.reasons.push_back("dependency " + m + " is missing");
    }
    if (it != lock.end()) {
      for (std::string& r : InputChanges(it->second, now)) st.reasons.push_back(std::move(r));
      CAIRN_ASSIGN_OR_RETURN(auto outs, OutputChanges(repo, stage, it->second));
      for (std::string& r : outs) st.reasons.push_back(std::move(r));
    }
    st.stale = !st.reasons.empty();
    if (st.stale) stale.insert(name);
    out.push_back(std::move(st));
  }
  return out;
}

Result<ReproReport> Repro(Repo& repo, const ReproOptions& options) {
  CAIRN_ASSIGN_OR_RETURN(PipelineSpec spec, LoadPipeline(repo));
  for (const std::string& s : options.stages) {
    if (!spec.Find(s)) {
      std::string known;
      for (const StageSpec& st : spec.stages) known += (known.empty() ? "" : ", ") + st.name;
      return Status::NotFound("no stage named '" + s + "' in cairn.yaml", "stages: " + known);
    }
  }
  CAIRN_ASSIGN_OR_RETURN(ReproLock repro_lock, ReproLock::Take(repo));
  CAIRN_ASSIGN_OR_RETURN(PipelineLock lock, LoadLock(repo));
  CAIRN_ASSIGN_OR_RETURN(auto tracker, Tracker::Open(repo));
  (void)tracker->ReapDeadRuns();  // runs of a repro killed earlier

  std::vector<std::string> todo = Selection(spec, options);
  // Every param a selected stage needs must exist before anything runs.
  for (const std::string& name : todo) {
    const StageSpec& stage = *spec.Find(name);
    for (bool in_cmd : {false, true}) {
      auto values = ReadParams(repo, spec, in_cmd ? CommandParams(stage.cmd) : stage.params);
      int line = in_cmd ? stage.cmd_line : stage.params_line;
      if (!values.ok()) {
        return values.status().WithContext(std::string(kPipelineFile) + ":" + std::to_string(line ? line : stage.line) +
                                           ": stage '" + name + "'");
      }
    }
  }
  ReproReport report;
  std::mutex mu;  // guards everything below except the commands themselves
  std::condition_variable cv;
  std::map<std::string, int> state;  // 0 waiting, 1 running, 2 done, 3 failed/skipped
  std::set<std::string> unknown;              // dry run: stages that would run (outputs unknowable)
  std::map<std::string, Oid> predicted;       // dry run: out path → oid a restore would give it
  Status fatal;
  const std::set<std::string> selected(todo.begin(), todo.end());

  // Decides and performs one stage; called with `mu` held, releases it while
  // the command runs.
  auto process = [&](const std::string& name, std::unique_lock<std::mutex>& held, bool* failed) -> Status {
    const StageSpec& stage = *spec.Find(name);
    StageOutcome outcome;
    outcome.name = name;
    auto started = std::chrono::steady_clock::now();
    std::vector<std::string> missing;
    CAIRN_ASSIGN_OR_RETURN(LockedStage now, CurrentInputs(repo, spec, stage, &missing));
    if (options.dry_run) {
      // Nothing ran, so use what restored upstream outputs would hash to;
      // after an upstream stage that would run, the inputs are unknowable.
      bool unknowable = false;
      for (const std::string& u : spec.upstream.at(name)) unknowable |= unknown.count(u) > 0;
      if (unknowable) {
        outcome.kind = StageOutcomeKind::kWouldRun;
        outcome.reasons = {"an upstream stage will run first"};
        unknown.insert(name);
        report.stages.push_back(outcome);
        return Status::OK();
      }
      for (const std::string& d : stage.deps) {
        auto p = predicted.find(d);
        if (p == predicted.end()) continue;
        now.deps[d] = p->second;
        missing.erase(std::remove(missing.begin(), missing.end(), d), missing.end());
      }
    }
    if (!missing.empty()) {
      outcome.kind = StageOutcomeKind::kFailed;
      outcome.error = "dependency " + missing[0] + " does not exist";
      *failed = true;
      report.stages.push_back(outcome);
      return Status::OK();
    }
    auto locked = lock.find(name);
    // The lock comes from git: it may only name what cairn.yaml declares
    // (whose paths were checked to stay in the repository), or repro would
    // remove and write wherever it says.
    if (locked != lock.end()) CAIRN_RETURN_IF_ERROR(CheckLockedPaths(stage, locked->second.outs, locked->second.metrics));
    std::vector<std::string> reasons;
    if (locked == lock.end()) {
      reasons.push_back("never ran");
    } else {
      reasons = InputChanges(locked->second, now);
    }
    // In a dry run, remembers what a restore would put in place.
    auto predict = [&](const std::map<std::string, Oid>& outs) -> Status {
      for (const auto& [path, v] : outs) {
        CAIRN_ASSIGN_OR_RETURN(Version version, LoadVersion(repo, v));
        predicted[path] = version.object;
      }
      return Status::OK();
    };
    outcome.reasons = reasons;
    Oid key = RunCacheKey(now);
    // Up to date: same inputs as the lock; restore outputs if they drifted.
    if (!options.force && reasons.empty()) {
      CAIRN_ASSIGN_OR_RETURN(auto drift, OutputChanges(repo, stage, locked->second));
      if (drift.empty()) {
        outcome.kind = StageOutcomeKind::kUpToDate;
        report.stages.push_back(outcome);
        return Status::OK();
      }
      outcome.reasons = drift;
      if (CanRestore(repo, locked->second.outs, locked->second.metrics)) {
        outcome.kind = options.dry_run ? StageOutcomeKind::kWouldRestore : StageOutcomeKind::kRestored;
        outcome.run = locked->second.run;
        if (!options.dry_run) {
          CAIRN_RETURN_IF_ERROR(RestoreAll(repo, locked->second.outs, locked->second.metrics));
        } else {
          CAIRN_RETURN_IF_ERROR(predict(locked->second.outs));
        }
        report.stages.push_back(outcome);
        return Status::OK();
      }
    }
    // The run cache: these exact inputs ran before (any branch).
    if (!options.force) {
      CAIRN_ASSIGN_OR_RETURN(auto cached, ReadRunCache(repo, key));
      if (cached && cached->outs.size() == stage.outs.size() && cached->metrics.size() == stage.metrics.size() &&
          CheckLockedPaths(stage, cached->outs, cached->metrics).ok() && CanRestore(repo, cached->outs, cached->metrics)) {
        outcome.kind = options.dry_run ? StageOutcomeKind::kWouldRestore : StageOutcomeKind::kRestored;
        outcome.run = cached->run;
        if (!options.dry_run) {
          CAIRN_RETURN_IF_ERROR(RestoreAll(repo, cached->outs, cached->metrics));
          LockedStage entry = now;
          entry.outs = cached->outs;
          entry.metrics = cached->metrics;
          entry.run = cached->run;
          lock[name] = entry;
          CAIRN_RETURN_IF_ERROR(SaveLock(repo, lock));
        } else {
          CAIRN_RETURN_IF_ERROR(predict(cached->outs));
        }
        report.stages.push_back(outcome);
        return Status::OK();
      }
    }
    if (options.dry_run) {
      outcome.kind = StageOutcomeKind::kWouldRun;
      unknown.insert(name);
      report.stages.push_back(outcome);
      return Status::OK();
    }

    // Run it, as a tracked run.
    StartRunOptions ro;
    ro.experiment = "pipeline";
    ro.name = name;
    ro.params = now.params;
    ro.tags = {{"cairn.stage", name}, {"cairn.run_cache_key", key.Hex()}};
    for (const auto& [d, oid] : now.deps) ro.tags["cairn.dep." + d] = oid.ToString();
    ro.workspace_inputs = false;
    ro.command = now.cmd;
    ro.cwd = repo.root().string();
    CAIRN_ASSIGN_OR_RETURN(std::string run, tracker->StartRun(ro));
    outcome.run = run;
    for (const std::string& d : stage.deps) {
      // Dataset deps become inputs of the run (its lineage).
      if (IsDatasetRef(d)) {
        (void)tracker->AddInput(run, d);
      } else if (auto t = FindTracked(repo, {d}); t.ok() && t->size() == 1 && (*t)[0].path == d) {
        (void)tracker->AddInput(run, (*t)[0].pointer.dataset + "@" + (*t)[0].pointer.version.Hex());
      }
    }
    // Outputs the cache can give back are removed first, so a command that
    // no longer writes one fails instead of passing with the stale file.
    if (locked != lock.end() && CanRestore(repo, locked->second.outs, locked->second.metrics)) {
      for (const auto& [path, v] : locked->second.outs) {
        std::error_code ec;
        fs::remove_all(repo.Abs(path), ec);
      }
    }
    held.unlock();
    if (!options.quiet) std::cerr << "cairn: running stage " << name << ": " << now.cmd << "\n";
    auto exit_code = RunCommand(now.cmd, repo.root(), run, repo, options.quiet, &outcome.stderr_tail);
    held.lock();
    if (!exit_code.ok()) {
      (void)tracker->EndRun(run, RunStatus::kFailed);
      return exit_code.status();
    }
    outcome.exit_code = *exit_code;
    std::string failure;
    if (*exit_code != 0) failure = "command exited with " + std::to_string(*exit_code);
    for (const std::string& o : stage.outs) {
      std::error_code ec;
      if (failure.empty() && !fs::exists(repo.Abs(o), ec)) failure = "the command did not produce output " + o;
    }
    std::map<std::string, Oid> outs;
    if (failure.empty() && !stage.outs.empty()) {
      AddOptions ao;
      ao.message = "stage " + name + " (run " + run.substr(0, 8) + ")";
      auto added = Add(repo, stage.outs, ao);
      if (!added.ok()) {
        failure = added.status().message();
      } else {
        for (const AddResult& a : *added) outs[a.path] = a.version;
      }
    }
    std::map<std::string, Oid> metric_blobs;
    if (failure.empty()) {
      std::vector<MetricPoint> points;
      int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count();
      for (const std::string& m : stage.metrics) {
        auto text = ReadFile(repo.Abs(m));
        if (!text.ok()) {
          failure = "metrics file " + m + " was not written";
          break;
        }
        auto j = nlohmann::json::parse(*text, nullptr, false);
        if (j.is_discarded()) {
          failure = "metrics file " + m + " is not JSON";
          break;
        }
        FlattenMetrics(j, "", &points, now_ms);
        CAIRN_ASSIGN_OR_RETURN(metric_blobs[m], repo.store().PutBlob(*text));
      }
      if (!metric_blobs.empty()) CAIRN_RETURN_IF_ERROR(repo.store().Commit());
      if (failure.empty() && !points.empty()) CAIRN_RETURN_IF_ERROR(tracker->LogMetrics(run, points));
    }
    if (!failure.empty()) {
      outcome.kind = StageOutcomeKind::kFailed;
      outcome.error = failure;
      *failed = true;
      (void)tracker->SetTags(run, {{"cairn.end_reason", failure}});
      (void)tracker->EndRun(run, RunStatus::kFailed, *exit_code);
      // Previous outputs come back, so a failure changes nothing.
      if (locked != lock.end() && CanRestore(repo, locked->second.outs, locked->second.metrics)) {
        (void)RestoreAll(repo, locked->second.outs, locked->second.metrics);
      }
    } else {
      std::map<std::string, std::string> tags;
      for (const auto& [path, v] : outs) tags["cairn.out." + path] = v.ToString();
      CAIRN_RETURN_IF_ERROR(tracker->SetTags(run, tags));
      CAIRN_RETURN_IF_ERROR(tracker->EndRun(run, RunStatus::kFinished, 0).status());
      CAIRN_RETURN_IF_ERROR(WriteRunCache(repo, key, RunCacheEntry{run, outs, metric_blobs}));
      LockedStage entry = now;
      entry.outs = outs;
      entry.metrics = metric_blobs;
      entry.run = run;
      lock[name] = entry;
      CAIRN_RETURN_IF_ERROR(SaveLock(repo, lock));
      outcome.kind = StageOutcomeKind::kRan;
    }
    outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    report.stages.push_back(outcome);
    return Status::OK();
  };

  // A small scheduler: a stage starts once everything it needs from the
  // selection is done; a failure skips what depends on it.
  std::vector<std::thread> workers;
  std::unique_lock held(mu);
  auto ready = [&](const std::string& n) {
    for (const std::string& u : spec.upstream.at(n)) {
      if (selected.count(u) && state[u] != 2) return false;
    }
    return true;
  };
  for (;;) {
    bool pending = false, launched = false;
    for (const std::string& n : todo) {
      if (state[n] != 0) continue;
      pending = true;
      bool blocked = false;
      for (const std::string& u : spec.upstream.at(n)) blocked |= selected.count(u) && state[u] == 3;
      if (blocked) {
        state[n] = 3;
        StageOutcome skipped;
        skipped.name = n;
        skipped.kind = StageOutcomeKind::kSkipped;
        skipped.reasons = {"an upstream stage failed"};
        report.stages.push_back(skipped);
        launched = true;
        continue;
      }
      int active = 0;
      for (const std::string& m : todo) active += state[m] == 1;
      if (!fatal.ok() || !ready(n) || active >= std::max(1, options.jobs)) continue;
      state[n] = 1;
      launched = true;
      workers.emplace_back([&, n] {
        std::unique_lock lock_(mu);
        bool failed = false;
        Status s = process(n, lock_, &failed);
        if (!s.ok() && fatal.ok()) fatal = s;
        state[n] = failed || !s.ok() ? 3 : 2;
        cv.notify_all();
      });
    }
    if (!pending) break;
    bool any_running = false;
    for (const std::string& n : todo) any_running |= state[n] == 1;
    if (!any_running && !launched) break;  // nothing can progress (fatal error)
    if (!launched) cv.wait(held);
  }
  held.unlock();
  for (auto& t : workers) t.join();
  CAIRN_RETURN_IF_ERROR(fatal);
  for (const StageOutcome& o : report.stages) report.failed |= o.kind == StageOutcomeKind::kFailed;
  return report;
}

}  // namespace cairn
