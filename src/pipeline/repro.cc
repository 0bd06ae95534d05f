// cairn repro: decides, per stage, whether it is up to date, can be
// restored (from cairn.lock or the run cache) or must run, and records the
// result in cairn.lock. Restoring (putting back a stage's outputs and
// metrics files from the cache) is here too. The order is the scheduler's
// (scheduler.cc), the execution stage_run.cc's.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "cairn/dataset.h"
#include "cairn/pipeline.h"
#include "cairn/pointer.h"
#include "pipeline/stage.h"
#include "util/file.h"

// Restoring what a stage computed before (from cairn.lock or the run
// cache): checking that the lock names only declared paths, whether the
// cache holds everything, and writing outputs and metrics files back.
namespace cairn::pipeline_internal {
namespace {

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
  return Checkout(repo, {repo.Abs(path).string()}, co).status();  // from any base directory
}

}  // namespace

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

}  // namespace cairn::pipeline_internal

namespace cairn {
namespace {

using namespace pipeline_internal;  // NOLINT: this file is their user

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
    fs::path path = repo.layout().repro_lock();
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

// One repro: the state shared by the stages, guarded by the scheduler's lock.
class Reproducer {
 public:
  Reproducer(Repo& repo, const PipelineSpec& spec, PipelineLock lock, Tracker& tracker, const ReproOptions& options,
             const StageSuites& suites)
      : repo_(repo), spec_(spec), lock_(std::move(lock)), tracker_(tracker), options_(options), suites_(suites) {}

  // Decides and performs one stage; false when it failed.
  Result<bool> Stage(const std::string& name, std::unique_lock<std::mutex>& held) {
    StageOutcome outcome;
    outcome.name = name;
    auto started = std::chrono::steady_clock::now();
    Status s = Decide(*spec_.Find(name), held, &outcome);
    if (!s.ok()) return s;
    if (outcome.kind == StageOutcomeKind::kRan || outcome.kind == StageOutcomeKind::kFailed) {
      outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    }
    bool failed = outcome.kind == StageOutcomeKind::kFailed;
    report_.stages.push_back(std::move(outcome));
    return !failed;
  }

  void Skipped(const std::string& name) {
    StageOutcome skipped;
    skipped.name = name;
    skipped.kind = StageOutcomeKind::kSkipped;
    skipped.reasons = {"an upstream stage failed"};
    report_.stages.push_back(skipped);
  }

  ReproReport TakeReport() {
    for (const StageOutcome& o : report_.stages) report_.failed |= o.kind == StageOutcomeKind::kFailed;
    return std::move(report_);
  }

 private:
  Status Decide(const StageSpec& stage, std::unique_lock<std::mutex>& held, StageOutcome* outcome) {
    const std::string& name = stage.name;
    std::vector<std::string> missing;
    CAIRN_ASSIGN_OR_RETURN(LockedStage now, CurrentInputs(repo_, spec_, stage, &missing));
    if (options_.dry_run) {
      // Nothing ran, so use what restored upstream outputs would hash to;
      // after an upstream stage that would run, the inputs are unknowable.
      bool unknowable = false;
      for (const std::string& u : spec_.upstream.at(name)) unknowable |= unknown_.count(u) > 0;
      if (unknowable) {
        outcome->kind = StageOutcomeKind::kWouldRun;
        outcome->reasons = {"an upstream stage will run first"};
        unknown_.insert(name);
        return Status::OK();
      }
      for (const std::string& d : stage.deps) {
        auto p = predicted_.find(d);
        if (p == predicted_.end()) continue;
        now.deps[d] = p->second;
        missing.erase(std::remove(missing.begin(), missing.end(), d), missing.end());
      }
    }
    if (!missing.empty()) {
      outcome->kind = StageOutcomeKind::kFailed;
      bool unfetched = false;
      outcome->error = MissingDependency(repo_, missing[0], &unfetched);
      return Status::OK();
    }
    auto locked = lock_.find(name);
    // The lock comes from git: it may only name what cairn.yaml declares
    // (whose paths were checked to stay in the repository), or repro would
    // remove and write wherever it says.
    if (locked != lock_.end()) {
      CAIRN_RETURN_IF_ERROR(CheckLockedPaths(stage, locked->second.outs, locked->second.metrics));
    }
    outcome->reasons = locked == lock_.end() ? std::vector<std::string>{"never ran"} : InputChanges(locked->second, now);
    Oid key = RunCacheKey(now);
    // Up to date: same inputs as the lock; restore outputs if they drifted.
    if (!options_.force && outcome->reasons.empty()) {
      CAIRN_ASSIGN_OR_RETURN(auto drift, OutputChanges(repo_, stage, locked->second));
      if (drift.empty()) {
        outcome->kind = StageOutcomeKind::kUpToDate;
        return Status::OK();
      }
      outcome->reasons = drift;
      if (CanRestore(repo_, locked->second.outs, locked->second.metrics)) {
        outcome->run = locked->second.run;
        return Restore(locked->second.outs, locked->second.metrics, outcome);
      }
    }
    // The run cache: these exact inputs ran before (any branch).
    if (!options_.force) {
      CAIRN_ASSIGN_OR_RETURN(auto cached, ReadRunCache(repo_, key));
      if (cached && cached->outs.size() == stage.outs.size() && cached->metrics.size() == stage.metrics.size() &&
          CheckLockedPaths(stage, cached->outs, cached->metrics).ok() &&
          CanRestore(repo_, cached->outs, cached->metrics)) {
        outcome->run = cached->run;
        CAIRN_RETURN_IF_ERROR(Restore(cached->outs, cached->metrics, outcome));
        if (!options_.dry_run) return Record(name, now, cached->outs, cached->metrics, cached->run);
        return Status::OK();
      }
    }
    if (options_.dry_run) {
      outcome->kind = StageOutcomeKind::kWouldRun;
      unknown_.insert(name);
      return Status::OK();
    }
    return Run(stage, now, key, locked == lock_.end() ? nullptr : &locked->second, held, outcome);
  }

  // Puts back outputs computed before (in a dry run, remembers what they
  // would be, for the stages after).
  Status Restore(const std::map<std::string, Oid>& outs, const std::map<std::string, Oid>& metrics,
                 StageOutcome* outcome) {
    outcome->kind = options_.dry_run ? StageOutcomeKind::kWouldRestore : StageOutcomeKind::kRestored;
    if (!options_.dry_run) return RestoreAll(repo_, outs, metrics);
    for (const auto& [path, v] : outs) {
      CAIRN_ASSIGN_OR_RETURN(Version version, LoadVersion(repo_, v));
      predicted_[path] = version.object;
    }
    for (const auto& [path, blob] : metrics) predicted_[path] = blob;
    return Status::OK();
  }

  Status Record(const std::string& name, const LockedStage& now, const std::map<std::string, Oid>& outs,
                const std::map<std::string, Oid>& metrics, const std::string& run) {
    LockedStage entry = now;
    entry.outs = outs;
    entry.metrics = metrics;
    entry.run = run;
    lock_[name] = entry;
    return SaveLock(repo_, lock_);
  }

  Status Run(const StageSpec& stage, const LockedStage& now, const Oid& key, const LockedStage* locked,
             std::unique_lock<std::mutex>& held, StageOutcome* outcome) {
    // Inputs that do not meet their suites refuse the stage before anything
    // of it runs or is removed.
    if (!stage.validate.empty()) {
      std::string refusal;
      CAIRN_RETURN_IF_ERROR(ValidateStageInputs(repo_, stage, suites_, &refusal));
      if (!refusal.empty()) {
        outcome->kind = StageOutcomeKind::kFailed;
        outcome->error = refusal;
        return Status::OK();
      }
    }
    // Outputs the cache can give back are removed first, so a command that
    // no longer writes one fails instead of passing with the stale file.
    bool restorable = locked && CanRestore(repo_, locked->outs, locked->metrics);
    if (restorable) {
      for (const auto& [path, v] : locked->outs) {
        std::error_code ec;
        fs::remove_all(repo_.Abs(path), ec);
        if (ec) return Status::IOError("cannot remove the old output " + path + ": " + ec.message());
      }
    }
    StageRunContext ctx{repo_, tracker_, options_};
    auto ran = RunStage(ctx, stage, now, key, held);
    if (!ran.ok()) {
      if (restorable) {
        Status s = RestoreAll(repo_, locked->outs, locked->metrics);
        if (!s.ok()) {
          return Status::IOError(ran.status().message() + "; the previous outputs could not be restored either: " +
                                 s.message());
        }
      }
      return ran.status();
    }
    outcome->run = ran->run;
    outcome->exit_code = ran->exit_code;
    if (!ran->failure.empty()) {
      outcome->kind = StageOutcomeKind::kFailed;
      outcome->error = ran->failure;
      outcome->stderr_tail = ran->stderr_tail;
      // Previous outputs come back, so a failure changes nothing.
      if (restorable) {
        Status s = RestoreAll(repo_, locked->outs, locked->metrics);
        if (!s.ok()) {
          return s.WithContext("stage " + stage.name + " failed (" + ran->failure +
                               ") and its previous outputs could not be restored");
        }
      }
      return Status::OK();
    }
    CAIRN_RETURN_IF_ERROR(WriteRunCache(repo_, key, RunCacheEntry{ran->run, ran->outs, ran->metrics}));
    CAIRN_RETURN_IF_ERROR(Record(stage.name, now, ran->outs, ran->metrics, ran->run));
    outcome->kind = StageOutcomeKind::kRan;
    return Status::OK();
  }

  Repo& repo_;
  const PipelineSpec& spec_;
  PipelineLock lock_;
  Tracker& tracker_;
  const ReproOptions& options_;
  const StageSuites& suites_;
  ReproReport report_;
  std::set<std::string> unknown_;         // dry run: stages that would run (outputs unknowable)
  std::map<std::string, Oid> predicted_;  // dry run: path → oid a restore would give it
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
  // Runs of a repro killed earlier. Not being able to end them does not stop
  // this one, but is said.
  if (auto reaped = tracker->ReapDeadRuns(); !reaped.ok() && options.on_warning) {
    options.on_warning(reaped.status().WithContext("cannot end the runs of an earlier, interrupted repro"));
  }

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
  // Every suite a selected stage validates its inputs with must parse, too.
  StageSuites suites;
  for (const std::string& name : todo) CAIRN_RETURN_IF_ERROR(LoadStageSuites(repo, *spec.Find(name), &suites));
  Reproducer reproducer(repo, spec, std::move(lock), *tracker, options, suites);
  CAIRN_RETURN_IF_ERROR(Schedule(
      todo, spec.upstream, options.jobs,
      [&](const std::string& name, std::unique_lock<std::mutex>& held) { return reproducer.Stage(name, held); },
      [&](const std::string& name) { reproducer.Skipped(name); }));
  return reproducer.TakeReport();
}

}  // namespace cairn
