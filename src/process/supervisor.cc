// The supervisor: starts the command in its own process group, passes on
// the signals its caller forwards, reports how the command ended, and stops
// whatever of the command's tree is left when the command ends or the caller
// dies. It is a child subreaper, so that tree includes processes that left
// the group or the session.
#include "process/supervisor.h"

#include "process/descendants.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <initializer_list>

namespace cairn::process_internal {
namespace {

// The signals a supervisor waits for; the ones besides SIGCHLD are passed on.
constexpr int kHandled[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

void WriteReport(int fd, int32_t kind, int32_t value, int32_t strays = 0, int32_t killed = 0) {
  SupervisorReport r{kind, value, strays, killed};
  while (::write(fd, &r, sizeof r) < 0 && errno == EINTR) {
  }
}

// Closes every descriptor but 0-2 and `keep` (ascending), so the supervisor
// does not hold pipes of commands other threads of the caller start.
void CloseOthers(const int* keep, int n) {
  unsigned lo = 3;
  for (int i = 0; i <= n; ++i) {
    unsigned hi = i < n ? static_cast<unsigned>(keep[i]) : ~0u;
    if (hi > lo) {
#ifdef SYS_close_range
      if (::syscall(SYS_close_range, lo, hi - 1, 0) == 0) {
        lo = hi + 1;
        continue;
      }
#endif
      for (unsigned fd = lo; fd < hi && fd < 4096; ++fd) ::close(static_cast<int>(fd));
    }
    lo = hi + 1;
  }
}

void SortThree(int* a) {
  for (int i = 0; i < 3; ++i) {
    for (int j = i + 1; j < 3; ++j) {
      if (a[j] < a[i]) {
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
      }
    }
  }
}

[[noreturn]] void ExecCommand(const SpawnPlan& plan, pid_t supervisor, int error_fd) {
  ::setpgid(0, 0);
  // If the supervisor dies, so does the command (its group is then handled
  // by nobody, so this is the last line of defence).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != supervisor) ::_exit(127);
  ::dup2(plan.stdout_fd, STDOUT_FILENO);
  ::dup2(plan.stderr_fd, STDERR_FILENO);
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE}) ::sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  int err = 0;
  if (plan.cwd && ::chdir(plan.cwd) != 0) {
    err = errno;
  } else {
    ::execve(plan.path, plan.argv, plan.envp);
    err = errno;
  }
  while (::write(error_fd, &err, sizeof err) < 0 && errno == EINTR) {
  }
  ::_exit(127);
}

// How long the clean-up keeps sending SIGKILL before it leaves a process
// that does not die (stuck in the kernel) to init.
constexpr int64_t kGiveUpMs = 5000;

// The processes the clean-up signalled, counted for the report.
StrayTally g_strays;

// Reaps every child that has ended, noting the command's (`leader`) wait
// status. False once no child at all is left.
bool ReapChildren(pid_t leader, bool* leader_done, int* wait_status) {
  for (;;) {
    int st = 0;
    pid_t r = ::waitpid(-1, &st, WNOHANG);
    if (r == 0) return true;
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno != ECHILD;
    }
    if (r == leader) {
      *leader_done = true;
      *wait_status = st;
    }
  }
}

int64_t NowMs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

void Supervise(const SpawnPlan& plan) {
  // Its own group, so that a terminal's Ctrl-C reaches only the caller,
  // which decides what to pass on.
  ::setpgid(0, 0);
  sigset_t handled;
  sigemptyset(&handled);
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig : kHandled) {
    sigaddset(&handled, sig);
    ::sigaction(sig, &dfl, nullptr);  // SIGCHLD ignored by the caller would reap the command for us
  }
  sigset_t blocked = handled;
  sigaddset(&blocked, SIGTTOU);  // so that handing the terminal over does not stop us
  ::sigprocmask(SIG_SETMASK, &blocked, nullptr);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  // The caller may have died before the line above: then nothing starts.
  if (::getppid() != plan.caller) ::_exit(1);
  // Orphans of the command's tree (a daemon, a setsid'd job whose parent
  // ended) become our children instead of init's, so none is out of reach.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);

  int keep[3] = {plan.stdout_fd, plan.stderr_fd, plan.status_fd};
  SortThree(keep);
  CloseOthers(keep, 3);
  int exec_pipe[2];
  if (::pipe2(exec_pipe, O_CLOEXEC) != 0) {
    WriteReport(plan.status_fd, kExecFailed, errno);
    ::_exit(1);
  }
  pid_t self = ::getpid();
  pid_t child = ::fork();
  if (child < 0) {
    WriteReport(plan.status_fd, kExecFailed, errno);
    ::_exit(1);
  }
  if (child == 0) ExecCommand(plan, self, exec_pipe[1]);
  ::setpgid(child, child);  // also here, so the group exists before any signal is passed on
  ::close(exec_pipe[1]);
  ::close(plan.stdout_fd);
  ::close(plan.stderr_fd);
  int exec_errno = 0;
  ssize_t got;
  while ((got = ::read(exec_pipe[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR) {
  }
  ::close(exec_pipe[0]);
  if (got == static_cast<ssize_t>(sizeof exec_errno)) {
    int st;
    while (::waitpid(child, &st, 0) < 0 && errno == EINTR) {
    }
    WriteReport(plan.status_fd, kExecFailed, exec_errno);
    ::_exit(0);
  }

  // An interactive command (the caller owns the terminal) gets the terminal,
  // or reading it would stop it (its group is not the foreground one). It
  // is handed back when the command ends.
  bool took_terminal = false;
  if (::isatty(STDIN_FILENO) && ::tcgetpgrp(STDIN_FILENO) == plan.caller_group) {
    took_terminal = ::tcsetpgrp(STDIN_FILENO, child) == 0;
    if (took_terminal) ::kill(-child, SIGCONT);  // in case it read the terminal a moment too early
  }

  // From here on the loop reaps every child: the command, and the orphans
  // of its tree that the subreaper setting hands to us. The command ending
  // (or the caller dying) starts the clean-up: every descendant left gets
  // SIGTERM, then SIGKILL once the grace period is over, again and again
  // until we have no child left, so nothing of the command outlives the
  // report the caller seals its run on.
  bool caller_dead = false, leader_done = false, cleaning = false;
  int64_t kill_at = 0;
  int wait_status = 0;
  for (;;) {
    bool children_left = ReapChildren(child, &leader_done, &wait_status);
    if (!caller_dead && ::getppid() != plan.caller) {
      // The caller is gone (its parent-death signal, or it died while we
      // handled something else): end the command and all it started.
      caller_dead = true;
      if (!cleaning) kill_at = NowMs() + plan.kill_grace_ms;
      cleaning = true;
      if (!leader_done) {
        ::kill(-child, SIGTERM);
        ::kill(-child, SIGCONT);  // a stopped process would not see the SIGTERM
      }
      g_strays.SignalAll(self, SIGTERM);
    }
    if (leader_done && !cleaning) {
      if (took_terminal) ::tcsetpgrp(STDIN_FILENO, plan.caller_group);
      took_terminal = false;
      if (!children_left) break;  // the common case: no descendant can be left, no /proc scan
      cleaning = true;
      kill_at = NowMs() + plan.kill_grace_ms;
      g_strays.SignalAll(self, SIGTERM);
    }
    if (cleaning) {
      if (!children_left) break;
      int64_t now = NowMs();
      if (now >= kill_at) {
        g_strays.SignalAll(self, SIGKILL);
        // A process that cannot die (stuck in the kernel) is left to init.
        if (now >= kill_at + kGiveUpMs) break;
      }
    }
    siginfo_t info;
    int sig;
    if (cleaning) {
      timespec slice = {0, 20 * 1000 * 1000};
      sig = ::sigtimedwait(&handled, &info, &slice);
    } else {
      sig = ::sigwaitinfo(&handled, &info);
    }
    // Passed on while the command runs; once it has ended, the clean-up
    // decides what its leftovers get.
    if (sig > 0 && sig != SIGCHLD && !cleaning && !caller_dead) ::kill(-child, sig);
  }
  if (took_terminal && !caller_dead) ::tcsetpgrp(STDIN_FILENO, plan.caller_group);
  if (!caller_dead) WriteReport(plan.status_fd, kExited, wait_status, g_strays.count(), g_strays.killed());
  ::_exit(0);
}

}  // namespace cairn::process_internal
