// Supervised subprocesses, shared by `cairn run` and `repro`: a command runs
// in its own process group under a small supervisor process, so that nothing
// the command started outlives it: not when it ends, not when the caller is
// signalled, and not when the caller dies, even by SIGKILL.
//
//   caller ── supervisor (own process group; parent-death signal; child subreaper)
//                └── command (its own process group; parent-death SIGKILL)
//                      └── anything it starts, in the group or not
//
// The supervisor is a child subreaper, so every orphan of the command's tree
// (a daemon, a `setsid` job whose parent ended) becomes its child instead of
// init's. When the command ends, or the caller dies (the supervisor's
// parent-death signal, checked again right after it is set), every process
// left below the supervisor gets SIGTERM, and SIGKILL once `kill_grace_ms`
// has passed, again until none is left. Only then does RunProcess return,
// so a run is sealed on outputs nothing writes any more. What is not
// covered: a SIGKILL of the supervisor itself (the command gets SIGKILL, but
// its descendants outside its group live on) and work handed to processes
// outside the tree (a service started through a daemon, `at`, systemd).
// When the caller owns its terminal (it is in the foreground group), the
// command's group is made the foreground one while it runs, so an
// interactive command can read it (and a terminal's Ctrl-C goes to the
// command), and it is handed back when the command ends.
#ifndef CAIRN_PROCESS_H_
#define CAIRN_PROCESS_H_

#include <signal.h>

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/status.h"

namespace cairn {

enum class OutputStream { kStdout, kStderr };

struct ProcessOptions {
  std::vector<std::string> argv;  // argv[0]: a path, or a name looked up in $PATH
  std::filesystem::path cwd;      // where it runs; empty: the caller's working directory
  // Environment: the caller's, with `unset_env` names removed and `env`
  // (KEY=VALUE) set on top, replacing variables of the same name.
  std::vector<std::string> env;
  std::vector<std::string> unset_env;
  // Called with each chunk the command writes, as it arrives, from the
  // calling thread (so concurrent RunProcess calls call it concurrently).
  std::function<void(OutputStream, std::string_view)> on_output;
  // Bytes of each stream kept in the result; beyond that the first
  // `capture_limit` bytes are kept (or the last ones with `keep_tail`).
  size_t capture_limit = 64u << 20;
  bool keep_tail = false;
  // Signals the caller receives that are passed on to the command's
  // process group. They must be blocked in every thread of the caller (so
  // that none is taken by another thread); RunProcess reads them from a
  // signalfd while the command runs. Empty: none is handled.
  std::vector<int> forward_signals;
  // How long what is left of the command's tree gets between SIGTERM and
  // SIGKILL, once the command ended or the caller died.
  int kill_grace_ms = 1000;
};

struct ProcessResult {
  int exit_code = 0;       // the command's, or 128 + the signal that ended it
  int signal = 0;          // the signal that ended it, or 0
  int forwarded = 0;       // the last signal passed on to it, or 0
  std::string stdout_data, stderr_data;  // as kept (see capture_limit)
  bool stdout_truncated = false, stderr_truncated = false;
  // Processes the command left running when it ended, which the supervisor
  // stopped, and how many of them needed SIGKILL. When there were any, a
  // line "cairn: warning: the command left N processes running ..." is
  // added to the command's stderr (passed to on_output and kept).
  int stray_processes = 0, stray_processes_killed = 0;
};

// Runs a command to its end and returns how it ended. NotFound when argv[0]
// is not an executable; IOError when it cannot be started (the message
// names the command and the reason); InvalidArgument for an empty argv.
// A command that ran and failed is a result, not an error. Returns once the
// command and everything it left running are gone (see above). Blocks the
// calling thread, which must stay alive until it returns (the parent-death
// signal follows the thread that started the supervisor). Thread-safe.
Result<ProcessResult> RunProcess(const ProcessOptions& options);

// The executable `name` resolves to through $PATH (a name with a '/' is
// taken as a path), or empty when there is none.
std::string FindExecutable(const std::string& name);

// The last `lines` lines of `text` (the whole text when it has fewer).
std::string LastLines(std::string_view text, int lines);

}  // namespace cairn

#endif  // CAIRN_PROCESS_H_
