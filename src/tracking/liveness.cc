// Whether the process that owns a RUNNING run is alive, and ending the runs
// of this host whose process is gone.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>

#include "cairn/tracking.h"
#include "tracking/tracker_internal.h"
#include "util/sqlite.h"

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


}  // namespace tracking_internal

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

}  // namespace cairn
