// Run liveness: whether the process that owns a RUNNING run is alive (its
// pid on this host, its heartbeat on any), ending the runs whose owner is
// gone, and the heartbeat a run's owner keeps fresh (heartbeat_keeper.cc).
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <mutex>
#include <string>

#include "cairn/tracking.h"
#include "tracking/tracker_internal.h"

namespace cairn {

using namespace tracking_internal;

namespace {

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

}  // namespace

namespace tracking_internal {

// Start time of a process; 0 when there is no such process.
int64_t ProcessStart(int64_t pid) { return ReadProcStat(pid).start; }

Status Touched(TrackingStore& store, const StoredRunState& r, Status written) {
  if (!written.ok() || r.pid > 0 || r.status != RunStatus::kRunning) return written;
  return store.Heartbeat(r.id, NowMs());
}

}  // namespace tracking_internal

Status Tracker::Heartbeat(const std::string& run) {
  std::lock_guard lock(impl_->mu);
  TrackingStore& store = *impl_->store;
  CAIRN_ASSIGN_OR_RETURN(StoredRunState r, FindRun(store, run));
  if (r.status != RunStatus::kRunning) return NotRunning(r, "heartbeats");
  Status s = store.Transaction([&] { return store.Heartbeat(r.id, NowMs()); });
  if (s.code() == Code::kNotFound) return NotRunning(r, "heartbeats");  // ended meanwhile
  return s;
}

void Tracker::PauseForFork() { impl_->mu.lock(); }

void Tracker::ResumeAfterFork() { impl_->mu.unlock(); }

Result<int> Tracker::ReapDeadRuns(int64_t heartbeat_timeout_ms) {
  std::lock_guard lock(impl_->mu);
  TrackingStore& store = *impl_->store;
  CAIRN_ASSIGN_OR_RETURN(std::vector<StoredRunState> running, store.RunningRuns(""));
  int64_t now = NowMs();
  std::vector<std::pair<std::string, std::string>> dead;  // run id, why
  for (const StoredRunState& r : running) {
    if (r.host == impl_->host && r.pid > 0) {
      // On this host the owner's pid tells exactly: its heartbeat is not needed.
      if (!RunOwnerAlive(r.pid, r.pid_start)) {
        dead.emplace_back(r.id, "process " + std::to_string(r.pid) + " ended without ending the run");
      }
    } else if (now - r.heartbeat_ms > heartbeat_timeout_ms) {
      std::string from = r.pid > 0 || r.host != impl_->host
                             ? "from its process on " + (r.host.empty() ? std::string("an unknown host") : r.host)
                             : std::string("or write (a run with no owner process)");
      dead.emplace_back(r.id, "no heartbeat " + from + " for " + std::to_string((now - r.heartbeat_ms) / 1000) + " s (timeout " +
                                  std::to_string(heartbeat_timeout_ms / 1000) + " s)");
    }
  }
  int ended_count = 0;
  for (const auto& [id, why] : dead) {
    CAIRN_RETURN_IF_ERROR(SetTags(id, {{"cairn.end_reason", why}}));
    auto ended = EndRun(id, RunStatus::kFailed);
    // Another process may have reaped it first.
    if (!ended.ok() && ended.status().code() != Code::kFailedPrecondition) return ended.status();
    if (ended.ok()) ++ended_count;
  }
  return ended_count;
}

}  // namespace cairn
