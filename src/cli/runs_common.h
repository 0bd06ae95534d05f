// Pieces shared by the tracking commands (run, runs, experiments, artifacts).
#ifndef CAIRN_CLI_RUNS_COMMON_H_
#define CAIRN_CLI_RUNS_COMMON_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "cairn/tracking.h"
#include "cli/command.h"

namespace cairn::cli {

// Splits "KEY=VALUE" (the value may contain '='); InvalidArgument naming
// `what` (e.g. "--param") otherwise.
Result<std::pair<std::string, std::string>> ParseKeyValue(const std::string& text, const char* what);
Result<std::map<std::string, std::string>> ParseKeyValues(const std::vector<std::string>& texts, const char* what);

// Opens the repository containing ctx.dir into *repo and its tracker, and
// ends runs whose process died (kill -9, power loss) before anyone looks.
Result<std::unique_ptr<Tracker>> OpenTracker(const Context& ctx, std::unique_ptr<Repo>* repo);

// The run given, or $CAIRN_RUN_ID when `run` is empty.
std::string RunOrEnv(const std::string& run);

// JSON comes from the library's serializers (cairn/json_tracking.h).
std::string FormatMetric(double v);     // six significant digits, nan, inf, -inf
std::string FormatMs(int64_t ms);        // local date and time
std::string FormatDuration(int64_t ms);  // 850ms, 12.3s, 4m05s, 2h03m

}  // namespace cairn::cli

#endif  // CAIRN_CLI_RUNS_COMMON_H_
