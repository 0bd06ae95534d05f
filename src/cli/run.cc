// cairn run: runs a command as a tracked run. Its stdout and stderr are
// streamed live and kept as artifacts; Ctrl-C and SIGTERM reach the child and
// mark the run KILLED; cairn exits with the child's exit code.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <iostream>
#include <optional>

#include "cairn/process.h"
#include "cli/runs_common.h"
#include "util/shell_quote.h"
#include "util/trace.h"

namespace cairn::cli {
namespace {

constexpr size_t kMaxCapture = 64u << 20;  // per stream; the rest is streamed but not kept

// Writes all of `data` to `fd`; gives up quietly when our own output is
// gone (a closed pipe): the run keeps capturing.
void Echo(int fd, std::string_view data) {
  for (size_t off = 0; off < data.size();) {
    ssize_t w = ::write(fd, data.data() + off, data.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    off += static_cast<size_t>(w);
  }
}

// The signals cairn run passes on to the command. They must be blocked
// before any thread starts, so that none of them is taken by a thread other
// than the one reading them for RunProcess. Never unblocked: the process
// exits after the run.
const std::vector<int> kForwarded = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

void BlockSignals() {
  sigset_t mask;
  sigemptyset(&mask);
  for (int sig : kForwarded) sigaddset(&mask, sig);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
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
      BlockSignals();  // before StartRun starts threads
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
      opts.command = ShellJoin(args->command);
      std::error_code ec;
      opts.cwd = std::filesystem::relative(std::filesystem::current_path(), (*repo)->root(), ec).generic_string();
      std::vector<std::string> warnings;
      opts.on_warning = [&warnings](const std::string& w) { warnings.push_back(w); };
      auto id = t.StartRun(opts);
      if (!id.ok()) return Fail(id.status());
      std::cerr << "cairn: run " << *id << " started (experiment " << args->experiment << ")" << std::endl;
      for (const std::string& w : warnings) std::cerr << "cairn: warning: " << w << std::endl;
      // Package lists take a Python start (~100 ms): collect them while the command runs.
      std::future<std::map<std::string, std::string>> software;
      if (IsPython(program)) {
        software = std::async(std::launch::async, [executable] { return CaptureSoftware(executable); });
      }
      std::vector<std::string> env = {"CAIRN_RUN_ID=" + *id,
                                      "CAIRN_TRACKING_URI=" + (*repo)->root().string(),
                                      "CAIRN_DIR=" + (*repo)->root().string()};
      if (!std::getenv("PYTHONUNBUFFERED")) env.push_back("PYTHONUNBUFFERED=1");  // stream output live
      // Liveness: the run's heartbeat is refreshed while the command runs.
      RunHeartbeat heartbeat(t, *id);
      auto start = std::chrono::steady_clock::now();
      std::optional<TraceScope> child_trace(std::in_place, "run: command");
      ProcessOptions po;
      po.argv = args->command;
      po.env = env;
      po.forward_signals = kForwarded;
      po.capture_limit = kMaxCapture;
      po.on_output = [](OutputStream which, std::string_view data) {
        Echo(which == OutputStream::kStdout ? STDOUT_FILENO : STDERR_FILENO, data);
      };
      auto child = RunProcess(po);
      child_trace.reset();
      if (Status hb = heartbeat.Stop(); !hb.ok()) std::cerr << "cairn: warning: " << hb.message() << "\n";
      int64_t elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)
                            .count();
      if (software.valid()) {
        Status s = t.SetEnv(*id, software.get());
        if (!s.ok()) std::cerr << "cairn: warning: " << s.message() << "\n";
      }
      if (!child.ok()) {
        (void)t.SetTags(*id, {{"cairn.end_reason", child.status().message()}});
        auto ended = t.EndRun(*id, RunStatus::kFailed, std::nullopt);
        if (!ended.ok()) return Fail(ended.status());
        return Fail(Status::IOError(child.status().message(), "the run was recorded as FAILED"));
      }
      if (child->stray_processes > 0) {  // provenance: outputs may have been cut short
        Status s = t.SetTags(*id, {{"cairn.stray_processes", std::to_string(child->stray_processes)}});
        if (!s.ok()) std::cerr << "cairn: warning: " << s.message() << "\n";
      }
      // Keep what the command printed, even when the run failed.
      struct Kept {
        const char* name;
        std::string* data;
        bool truncated;
      };
      for (Kept k : {Kept{"cairn/stdout.log", &child->stdout_data, child->stdout_truncated},
                     Kept{"cairn/stderr.log", &child->stderr_data, child->stderr_truncated}}) {
        if (k.data->empty()) continue;
        if (k.truncated) *k.data += "\n[cairn: output truncated at 64 MiB]\n";
        auto art = t.LogArtifactBytes(*id, k.name, *k.data);
        if (!art.ok()) std::cerr << "cairn: warning: " << art.status().message() << "\n";
      }
      RunStatus status = RunStatus::kFinished;
      if (child->forwarded || child->signal == SIGINT || child->signal == SIGTERM || child->signal == SIGKILL ||
          child->signal == SIGHUP) {
        status = RunStatus::kKilled;
      } else if (child->exit_code != 0) {
        status = RunStatus::kFailed;
      }
      auto ended = t.EndRun(*id, status, std::optional<int>(child->exit_code));
      if (!ended.ok()) return Fail(ended.status());
      std::cerr << "cairn: run " << *id << " " << RunStatusName(status) << " in " << FormatDuration(elapsed)
                << " (exit " << child->exit_code << ")" << std::endl;
      return child->exit_code;
    });
  });
}

}  // namespace cairn::cli
