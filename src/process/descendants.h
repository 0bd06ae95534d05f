// The processes descending from the supervisor, found by scanning /proc
// (the kernel here may lack /proc/<pid>/task/<tid>/children). Used by the
// supervisor after a fork of a possibly multi-threaded caller, so it is
// async-signal-safe: system calls and fixed static tables only, no
// allocation. Not thread-safe: one supervisor process is single-threaded.
#ifndef CAIRN_PROCESS_DESCENDANTS_H_
#define CAIRN_PROCESS_DESCENDANTS_H_

#include <sys/types.h>

namespace cairn::process_internal {

// Fills `out` with up to `cap` pids of the live (not zombie) processes
// descending from `ancestor`, and returns how many it stored. A process
// found by one scan may exit before the caller signals it; one that starts
// during the scan may be missed: callers scan again until none is left.
// Returns 0 when /proc cannot be read.
int LiveDescendants(pid_t ancestor, pid_t* out, int cap);

// Counts the distinct processes signalled over several scans.
class StrayTally {
 public:
  // Sends `sig` (and SIGCONT after SIGTERM, so that a stopped process
  // sees it) to every live descendant of `ancestor`; true if there was one.
  bool SignalAll(pid_t ancestor, int sig);
  int count() const { return count_; }      // distinct processes signalled
  int killed() const { return killed_; }    // of them, how many got SIGKILL

 private:
  bool Seen(pid_t pid, pid_t* list, int* n);
  static constexpr int kMaxTracked = 4096;  // beyond that, counts may repeat a process
  pid_t seen_[kMaxTracked];
  pid_t seen_killed_[kMaxTracked];
  int count_ = 0, tracked_ = 0, killed_ = 0, tracked_killed_ = 0;
};

}  // namespace cairn::process_internal

#endif  // CAIRN_PROCESS_DESCENDANTS_H_
