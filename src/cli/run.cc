// cairn run: runs a command as a tracked run. Its stdout and stderr are
// streamed live and kept as artifacts; Ctrl-C and SIGTERM reach the child and
// mark the run KILLED; cairn exits with the child's exit code.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <iostream>
#include <optional>

#include "cli/runs_common.h"
#include "util/trace.h"

extern char** environ;

namespace cairn::cli {
namespace {

constexpr size_t kMaxCapture = 64u << 20;  // per stream; the rest is streamed but not kept

std::string ShellQuote(const std::string& s) {
  bool plain = !s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                                 "_-./=:,+@%") == std::string::npos;
  if (plain) return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The executable `name` resolves to through $PATH, or empty.
std::string FindExecutable(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : std::string();
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string dir = p.substr(start, end - start);
    std::string full = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(full.c_str(), X_OK) == 0 && !std::filesystem::is_directory(full)) return full;
    start = end + 1;
  }
  return {};
}

struct Stream {
  int fd = -1;
  int out_fd = -1;  // where it is echoed
  std::string kept;
  bool truncated = false;
};

// Reads what is available; false at end of file.
bool Pump(Stream& s) {
  char buf[65536];
  ssize_t n = ::read(s.fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) return false;
  for (ssize_t off = 0; off < n;) {
    ssize_t w = ::write(s.out_fd, buf + off, static_cast<size_t>(n - off));
    if (w <= 0) break;  // our own output is gone (closed pipe): keep capturing
    off += w;
  }
  size_t room = kMaxCapture > s.kept.size() ? kMaxCapture - s.kept.size() : 0;
  s.kept.append(buf, std::min(room, static_cast<size_t>(n)));
  if (static_cast<size_t>(n) > room) s.truncated = true;
  return true;
}

struct ChildResult {
  int exit_code = 0;
  int signal = 0;              // the signal that ended the child, if any
  int forwarded = 0;           // a signal that interrupted the run
  std::string spawn_error;     // when it could not be started
};

// The signals cairn run handles itself. They must be blocked before any
// thread starts, so that none of them can take a SIGCHLD or a Ctrl-C meant
// for the signalfd. Never unblocked: the process exits after the run.
sigset_t BlockSignals() {
  sigset_t mask;
  sigemptyset(&mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD}) sigaddset(&mask, sig);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  return mask;
}

ChildResult RunChild(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
                     const sigset_t& mask, Stream& out, Stream& err) {
  ChildResult result;
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    result.spawn_error = std::strerror(errno);
    return result;
  }
  // Signals (blocked in every thread, see BlockSignals) arrive through a
  // signalfd; the child gets the default handling.
  int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGPIPE}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    bool replaced = false;
    for (const std::string& x : extra_env) replaced |= kv.substr(0, kv.find('=') + 1) == x.substr(0, x.find('=') + 1);
    if (!replaced) env_strings.emplace_back(kv);
  }
  env_strings.insert(env_strings.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> envp, args;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (std::string& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);

  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (rc != 0) {
    result.spawn_error = std::strerror(rc);
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    ::close(sfd);
    return result;
  }
  out.fd = out_pipe[0];
  err.fd = err_pipe[0];
  bool out_open = true, err_open = true, exited = false;
  int status = 0;
  while (!exited || out_open || err_open) {
    pollfd fds[3] = {{sfd, POLLIN, 0}, {out_open ? out.fd : -1, POLLIN, 0}, {err_open ? err.fd : -1, POLLIN, 0}};
    // Once the child is gone, only drain what is already in the pipes
    // (a grandchild may keep them open).
    // The timeout is a safety net: SIGCHLD normally wakes the poll.
    int n = ::poll(fds, 3, exited ? 0 : 200);
    if (n == 0 && !exited) {
      if (::waitpid(pid, &status, WNOHANG) == pid) exited = true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) break;
    if (fds[1].revents) out_open = Pump(out);
    if (fds[2].revents) err_open = Pump(err);
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si;
      while (::read(sfd, &si, sizeof si) == sizeof si) {
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGCHLD) continue;
        // A Ctrl-C from the terminal already reached the child (same process
        // group); a signal sent to cairn alone (kill, a CI timeout) is passed on.
        if (si.ssi_code != SI_KERNEL) ::kill(pid, sig);
        result.forwarded = sig;
      }
    }
    if (!exited && ::waitpid(pid, &status, WNOHANG) == pid) exited = true;
  }
  ::close(out.fd);
  ::close(err.fd);
  ::close(sfd);
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
    result.exit_code = 128 + result.signal;
  }
  return result;
}

bool IsPython(const std::string& program) {
  std::string base = std::filesystem::path(program).filename().string();
  return base.starts_with("python");
}

}  // namespace

void RegisterRun(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("run", "Run a command as a tracked experiment run");
  cmd->footer(
      "  cairn run -p k=5 -- python3 train.py --k 5\n"
      "  cairn run --experiment iris --name knn-5 --input data/iris@v1.0.0 -- ./train.sh\n"
      "The command gets CAIRN_RUN_ID, CAIRN_TRACKING_URI and CAIRN_DIR; 'cairn runs log' and the\n"
      "Python module attach to the run by themselves. Recorded automatically: the git commit,\n"
      "branch and uncommitted diff, every dataset version checked out, the command line, exit\n"
      "code, stdout and stderr, machine, OS and (for Python commands) installed packages.\n"
      "cairn exits with the command's exit code.");
  struct Args {
    std::string experiment = "Default", name;
    std::vector<std::string> params, tags, inputs, command;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("-e,--experiment", args->experiment, "Experiment to put the run in (created when new)")
      ->envname("CAIRN_EXPERIMENT");
  cmd->add_option("-n,--name", args->name, "A name for the run");
  cmd->add_option("-p,--param", args->params, "Record a parameter KEY=VALUE (repeatable)")->allow_extra_args(false);
  cmd->add_option("-t,--tag", args->tags, "Set a tag KEY=VALUE (repeatable)")->allow_extra_args(false);
  cmd->add_option("-i,--input", args->inputs, "Record a dataset version read by the run, e.g. data/raw@v1 (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("command", args->command, "The command to run, after --")->required();
  cmd->callback([&ctx, args] {
    Run(ctx, [&]() -> int {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      auto params = ParseKeyValues(args->params, "--param");
      if (!params.ok()) return Fail(params.status());
      auto tags = ParseKeyValues(args->tags, "--tag");
      if (!tags.ok()) return Fail(tags.status());
      const std::string& program = args->command[0];
      const std::string executable = FindExecutable(program);
      if (executable.empty()) {
        if (program.find('/') != std::string::npos && std::filesystem::is_regular_file(program)) {
          return Fail(Status::InvalidArgument(program + " is not executable",
                                              "make it executable (chmod +x " + program + ") or run it through its interpreter, e.g. sh " + program));
        }
        return Fail(Status::NotFound("command not found: " + program, "check the spelling and your PATH"));
      }
      const sigset_t signals = BlockSignals();  // before StartRun starts threads
      std::optional<TraceScope> open_trace(std::in_place, "run: open tracker");
      auto tracker = Tracker::Open(**repo);
      open_trace.reset();
      if (!tracker.ok()) return Fail(tracker.status());
      Tracker& t = **tracker;
      StartRunOptions opts;
      opts.experiment = args->experiment;
      opts.name = args->name;
      opts.params = *params;
      opts.tags = *tags;
      opts.inputs = args->inputs;
      for (const std::string& a : args->command) opts.command += (opts.command.empty() ? "" : " ") + ShellQuote(a);
      std::error_code ec;
      opts.cwd = std::filesystem::relative(std::filesystem::current_path(), (*repo)->root(), ec).generic_string();
      auto id = t.StartRun(opts);
      if (!id.ok()) return Fail(id.status());
      std::cerr << "cairn: run " << *id << " started (experiment " << args->experiment << ")" << std::endl;
      // Package lists take a Python start (~100 ms): collect them while the command runs.
      std::future<std::map<std::string, std::string>> software;
      if (IsPython(program)) {
        software = std::async(std::launch::async, [executable] { return CaptureSoftware(executable); });
      }
      std::vector<std::string> env = {"CAIRN_RUN_ID=" + *id,
                                      "CAIRN_TRACKING_URI=" + (*repo)->root().string(),
                                      "CAIRN_DIR=" + (*repo)->root().string()};
      if (!std::getenv("PYTHONUNBUFFERED")) env.push_back("PYTHONUNBUFFERED=1");  // stream output live
      auto start = std::chrono::steady_clock::now();
      std::optional<TraceScope> child_trace(std::in_place, "run: command");
      Stream out{-1, STDOUT_FILENO, {}, false}, err{-1, STDERR_FILENO, {}, false};
      ChildResult child = RunChild(args->command, env, signals, out, err);
      child_trace.reset();
      int64_t elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)
                            .count();
      if (software.valid()) {
        Status s = t.SetEnv(*id, software.get());
        if (!s.ok()) std::cerr << "cairn: warning: " << s.message() << "\n";
      }
      // Keep what the command printed, even when the run failed.
      for (auto* s : {&out, &err}) {
        if (s->kept.empty()) continue;
        if (s->truncated) s->kept += "\n[cairn: output truncated at 64 MiB]\n";
        auto art = t.LogArtifactBytes(*id, s == &out ? "cairn/stdout.log" : "cairn/stderr.log", s->kept);
        if (!art.ok()) std::cerr << "cairn: warning: " << art.status().message() << "\n";
      }
      RunStatus status = RunStatus::kFinished;
      if (!child.spawn_error.empty()) {
        status = RunStatus::kFailed;
        (void)t.SetTags(*id, {{"cairn.end_reason", "cannot start " + program + ": " + child.spawn_error}});
      } else if (child.forwarded || child.signal == SIGINT || child.signal == SIGTERM || child.signal == SIGKILL ||
                 child.signal == SIGHUP) {
        status = RunStatus::kKilled;
      } else if (child.exit_code != 0) {
        status = RunStatus::kFailed;
      }
      auto ended = t.EndRun(*id, status, child.spawn_error.empty() ? std::optional<int>(child.exit_code)
                                                                   : std::nullopt);
      if (!ended.ok()) return Fail(ended.status());
      if (!child.spawn_error.empty()) {
        return Fail(Status::IOError("cannot start " + program + ": " + child.spawn_error,
                                    "the run was recorded as FAILED"));
      }
      std::cerr << "cairn: run " << *id << " " << RunStatusName(status) << " in " << FormatDuration(elapsed)
                << " (exit " << child.exit_code << ")" << std::endl;
      return child.exit_code;
    });
  });
}

}  // namespace cairn::cli
