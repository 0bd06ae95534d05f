// The supervisor process of RunProcess (see include/cairn/process.h). It
// runs in the child of a fork() of a possibly multi-threaded caller, so
// everything here is async-signal-safe: no allocation, no locks, only
// system calls on what SpawnPlan prepared before the fork.
#ifndef CAIRN_PROCESS_SUPERVISOR_H_
#define CAIRN_PROCESS_SUPERVISOR_H_

#include <sys/types.h>

#include <cstdint>

namespace cairn::process_internal {

// What the supervisor writes to `status_fd` once: how the command ended,
// or why it could not be started, and what of its tree it had to stop.
struct SupervisorReport {
  int32_t kind;   // kExited (value: wait status) or kExecFailed (value: errno)
  int32_t value;
  int32_t strays;  // processes left running after the command ended, stopped
  int32_t killed;  // of them, how many needed SIGKILL
};
inline constexpr int32_t kExited = 0;
inline constexpr int32_t kExecFailed = 1;

struct SpawnPlan {
  const char* path = nullptr;   // resolved executable
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* cwd = nullptr;    // nullptr: stay
  int stdout_fd = -1, stderr_fd = -1, status_fd = -1;  // write ends, kept open in the supervisor
  pid_t caller = 0;             // the caller's pid, for the parent-death check
  pid_t caller_group = 0;       // the caller's process group (to hand a terminal back to)
  int kill_grace_ms = 1000;     // between SIGTERM and SIGKILL of what is left
};

// The supervisor's body: never returns.
[[noreturn]] void Supervise(const SpawnPlan& plan);

}  // namespace cairn::process_internal

#endif  // CAIRN_PROCESS_SUPERVISOR_H_
