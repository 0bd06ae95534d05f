// RunProcess: the caller's side of a supervised command (the supervisor's
// side is supervisor.cc). Streams the command's output to a callback while
// keeping part of it, and passes on the signals the caller receives.
#include "cairn/process.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "process/supervisor.h"

extern char** environ;

namespace cairn {
namespace {

using process_internal::SupervisorReport;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  int* out() { return &fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct Capture {
  OutputStream which;
  Fd fd;
  std::string kept;
  bool truncated = false;
  bool open = true;
};

// Passes `chunk` to the callback and keeps what the limits allow.
void Deliver(Capture& c, const ProcessOptions& options, std::string_view chunk, size_t slack) {
  if (options.on_output) options.on_output(c.which, chunk);
  if (options.keep_tail) {
    c.kept.append(chunk);
    if (c.kept.size() > 2 * options.capture_limit + slack) {
      c.kept.erase(0, c.kept.size() - options.capture_limit);
      c.truncated = true;
    }
  } else {
    size_t room = options.capture_limit > c.kept.size() ? options.capture_limit - c.kept.size() : 0;
    c.kept.append(chunk.substr(0, room));
    if (chunk.size() > room) c.truncated = true;
  }
}

// Reads what is available into `c`; false at end of file.
bool Pump(Capture& c, const ProcessOptions& options) {
  char buf[65536];
  ssize_t n = ::read(c.fd.get(), buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) return false;
  Deliver(c, options, std::string_view(buf, static_cast<size_t>(n)), sizeof buf);
  return true;
}

// The note added to the command's stderr when the supervisor had to stop
// processes the command left running.
std::string StrayNote(const SupervisorReport& report, int grace_ms) {
  std::string n = std::to_string(report.strays);
  std::string note = "cairn: warning: the command left " + n + (report.strays == 1 ? " process" : " processes") +
                     " running after it ended; stopped with SIGTERM";
  if (report.killed > 0) {
    note += ", then SIGKILL after " + std::to_string(grace_ms) + " ms for " + std::to_string(report.killed);
  }
  return note + "\n";
}

std::vector<std::string> Environment(const ProcessOptions& options) {
  auto name_of = [](std::string_view kv) { return kv.substr(0, kv.find('=')); };
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    std::string_view name = name_of(kv);
    bool drop = std::find(options.unset_env.begin(), options.unset_env.end(), name) != options.unset_env.end();
    for (const std::string& x : options.env) drop |= name_of(x) == name;
    if (!drop) out.emplace_back(kv);
  }
  out.insert(out.end(), options.env.begin(), options.env.end());
  return out;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

std::string FindExecutable(const std::string& name) {
  if (name.empty()) return {};
  auto runnable = [](const std::string& p) {
    struct stat st;
    return ::access(p.c_str(), X_OK) == 0 && ::stat(p.c_str(), &st) == 0 && !S_ISDIR(st.st_mode);
  };
  if (name.find('/') != std::string::npos) return runnable(name) ? name : std::string();
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  for (size_t start = 0; start <= p.size();) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string dir = p.substr(start, end - start);
    std::string full = (dir.empty() ? "." : dir) + "/" + name;
    if (runnable(full)) return full;
    start = end + 1;
  }
  return {};
}

std::string LastLines(std::string_view text, int lines) {
  size_t at = text.size();
  if (at > 0 && text[at - 1] == '\n') --at;  // the final line break ends the last line
  for (int seen = 0; at > 0;) {
    if (text[at - 1] == '\n' && ++seen == lines) break;
    --at;
  }
  return std::string(text.substr(at));
}

Result<ProcessResult> RunProcess(const ProcessOptions& options) {
  if (options.argv.empty()) return Status::InvalidArgument("no command to run");
  std::string path = FindExecutable(options.argv[0]);
  if (path.empty()) return Status::NotFound("command not found: " + options.argv[0]);
  std::vector<std::string> env_strings = Environment(options);
  std::vector<std::string> argv_strings = options.argv;
  std::vector<char*> envp = Pointers(env_strings), argv = Pointers(argv_strings);
  std::string cwd = options.cwd.string();

  Capture out{OutputStream::kStdout, Fd(), {}, false, true}, err{OutputStream::kStderr, Fd(), {}, false, true};
  int out_pipe[2], err_pipe[2], status_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return Status::FromErrno("cannot create a pipe", errno);
  *out.fd.out() = out_pipe[0];
  Fd out_w(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return Status::FromErrno("cannot create a pipe", errno);
  *err.fd.out() = err_pipe[0];
  Fd err_w(err_pipe[1]);
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) return Status::FromErrno("cannot create a pipe", errno);
  Fd status_r(status_pipe[0]), status_w(status_pipe[1]);
  for (int fd : {out.fd.get(), err.fd.get(), status_r.get()}) ::fcntl(fd, F_SETFL, O_NONBLOCK);

  Fd sfd;
  if (!options.forward_signals.empty()) {
    sigset_t mask;
    sigemptyset(&mask);
    for (int sig : options.forward_signals) sigaddset(&mask, sig);
    *sfd.out() = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd.get() < 0) return Status::FromErrno("cannot watch signals", errno);
  }

  process_internal::SpawnPlan plan;
  plan.path = path.c_str();
  plan.argv = argv.data();
  plan.envp = envp.data();
  plan.cwd = cwd.empty() ? nullptr : cwd.c_str();
  plan.stdout_fd = out_w.get();
  plan.stderr_fd = err_w.get();
  plan.status_fd = status_w.get();
  plan.caller = ::getpid();
  plan.caller_group = ::getpgrp();
  plan.kill_grace_ms = options.kill_grace_ms;
  pid_t supervisor = ::fork();
  if (supervisor < 0) return Status::FromErrno("cannot start " + options.argv[0], errno);
  if (supervisor == 0) process_internal::Supervise(plan);
  out_w.Reset();
  err_w.Reset();
  status_w.Reset();
  // Readable when the supervisor exits (Linux 5.3+); else a short poll.
  Fd pidfd;
#ifdef SYS_pidfd_open
  *pidfd.out() = static_cast<int>(::syscall(SYS_pidfd_open, supervisor, 0));
#endif

  ProcessResult result;
  bool done = false;
  int supervisor_status = 0;
  while (!done || out.open || err.open) {
    pollfd fds[4] = {{sfd.get(), POLLIN, 0},
                     {out.open ? out.fd.get() : -1, POLLIN, 0},
                     {err.open ? err.fd.get() : -1, POLLIN, 0},
                     {done ? -1 : pidfd.get(), POLLIN, 0}};
    // Once the supervisor is gone, only drain what is already in the pipes
    // (a process the command left behind may keep them open).
    int n = ::poll(fds, 4, done ? 0 : pidfd.get() >= 0 ? -1 : 50);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno("cannot wait for " + options.argv[0], errno);
    if (n == 0 && done) break;
    if (fds[1].revents) out.open = Pump(out, options);
    if (fds[2].revents) err.open = Pump(err, options);
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si;
      while (::read(sfd.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        result.forwarded = static_cast<int>(si.ssi_signo);
        ::kill(supervisor, result.forwarded);
      }
    }
    if (!done) {
      pid_t r = ::waitpid(supervisor, &supervisor_status, WNOHANG);
      if (r == supervisor || (r < 0 && errno == ECHILD)) done = true;
    }
  }
  SupervisorReport report{-1, 0, 0, 0};
  ssize_t got = ::read(status_r.get(), &report, sizeof report);
  if (got != static_cast<ssize_t>(sizeof report)) {
    return Status::IOError("the supervisor of '" + options.argv[0] + "' ended without reporting (status " +
                           std::to_string(supervisor_status) + ")");
  }
  if (report.kind == process_internal::kExecFailed) {
    return Status::IOError("cannot start " + options.argv[0] + ": " + std::strerror(report.value));
  }
  if (report.strays > 0) {
    result.stray_processes = report.strays;
    result.stray_processes_killed = report.killed;
    std::string note = StrayNote(report, options.kill_grace_ms);
    Deliver(err, options, note, note.size());
  }
  int status = report.value;
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
    result.exit_code = 128 + result.signal;
  }
  result.stdout_data = std::move(out.kept);
  result.stderr_data = std::move(err.kept);
  result.stdout_truncated = out.truncated;
  result.stderr_truncated = err.truncated;
  if (options.keep_tail) {
    for (std::string* s : {&result.stdout_data, &result.stderr_data}) {
      if (s->size() > options.capture_limit) s->erase(0, s->size() - options.capture_limit);
    }
  }
  return result;
}

}  // namespace cairn
