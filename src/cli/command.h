// Shared pieces of the cairn CLI: the command table entry type, the context
// every command receives, and helpers for errors and output. Each command
// lives in its own file and only calls the public library API.
#ifndef CAIRN_CLI_COMMAND_H_
#define CAIRN_CLI_COMMAND_H_

#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cairn/object.h"
#include "cairn/remote.h"
#include "cairn/repo.h"
#include "cairn/status.h"

namespace cairn::cli {

using Json = nlohmann::ordered_json;

// Exit codes (DESIGN §6).
inline constexpr int kExitOk = 0;
inline constexpr int kExitNegative = 1;  // a check came out negative
inline constexpr int kExitError = 2;     // bad input, I/O, usage

struct Context {
  std::string dir = ".";  // -C DIR
  int exit_code = kExitOk;
};

// Registers one subcommand on `app`; its callback stores the exit code in ctx.
using RegisterFn = void (*)(CLI::App& app, Context& ctx);

// Prints "cairn: error: <message>" and "hint: <hint>" to stderr; returns 2.
int Fail(const Status& status);
// For -o FILE: OK when FILE may be written. A file that exists is replaced
// only with `force`, and never when it is not a regular file (a symlink, a
// device, a directory): AlreadyExists / InvalidArgument, with a hint.
Status CheckOutputFile(const std::string& path, bool force);
// Opens the repository containing ctx.dir, or prints why not.
Result<std::unique_ptr<Repo>> OpenRepo(const Context& ctx);
// True when stderr is a terminal (progress bars are drawn only then).
bool ProgressWanted();
// Prints a JSON document on stdout.
void PrintJson(const Json& j);
std::string Human(uint64_t bytes);
// "a,b,,c" -> {"a", "b", "c"}: a comma-separated option value (empty items dropped).
std::vector<std::string> SplitList(const std::string& s);
std::string FormatTime(int64_t seconds);

// Says on stderr which damaged cached objects a checkout repaired from a
// remote (nothing when none).
void PrintRepair(const RepairReport& report);

// Wraps a command body: runs it with the process working directory set to
// -C DIR, so relative paths in arguments are taken from there.
void Run(Context& ctx, const std::function<int()>& body);

}  // namespace cairn::cli

#endif  // CAIRN_CLI_COMMAND_H_
