// The supervisor: starts the command in its own process group, passes on
// the signals its caller forwards, reports how the command ended, and, when
// the caller dies, terminates the command's whole group.
#include "process/supervisor.h"

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

void WriteReport(int fd, int32_t kind, int32_t value) {
  SupervisorReport r{kind, value};
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

// True once every process of group `pgid` is gone.
bool GroupGone(pid_t pgid) { return ::kill(-pgid, 0) != 0 && errno == ESRCH; }

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

  bool caller_dead = false, leader_done = false;
  int64_t kill_at = 0;
  int wait_status = 0;
  for (;;) {
    siginfo_t info;
    int sig;
    if (caller_dead) {
      timespec slice = {0, 20 * 1000 * 1000};
      sig = ::sigtimedwait(&handled, &info, &slice);
    } else {
      sig = ::sigwaitinfo(&handled, &info);
    }
    if (!caller_dead && ::getppid() != plan.caller) {
      // The caller is gone (its parent-death signal, or it died while we
      // handled something else): end the command's group.
      caller_dead = true;
      kill_at = NowMs() + plan.kill_grace_ms;
      ::kill(-child, SIGTERM);
      ::kill(-child, SIGCONT);  // a stopped process would not see the SIGTERM
      continue;
    }
    if (sig == SIGCHLD || caller_dead) {
      while (!leader_done) {
        pid_t r = ::waitpid(child, &wait_status, WNOHANG);
        if (r == child) leader_done = true;
        if (r <= 0) break;
      }
    }
    if (caller_dead) {
      if (leader_done && GroupGone(child)) ::_exit(0);
      if (NowMs() >= kill_at) {
        // Again until the group is gone (a process forked while the first
        // SIGKILL went out would otherwise live on), for at most 2 s: a
        // killed member that nobody reaps stays a zombie of the group.
        const int64_t give_up = NowMs() + 2000;
        do {
          ::kill(-child, SIGKILL);
          if (!leader_done && ::waitpid(child, &wait_status, WNOHANG) == child) leader_done = true;
          timespec pause = {0, 20 * 1000 * 1000};
          ::nanosleep(&pause, nullptr);
        } while (!GroupGone(child) && NowMs() < give_up);
        ::_exit(0);
      }
      continue;
    }
    if (leader_done) {
      if (took_terminal) ::tcsetpgrp(STDIN_FILENO, plan.caller_group);
      WriteReport(plan.status_fd, kExited, wait_status);
      ::_exit(0);
    }
    if (sig > 0 && sig != SIGCHLD) ::kill(-child, sig);
  }
}

}  // namespace cairn::process_internal
