#include "cli/runs_common.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "cairn/run_compare.h"

namespace cairn::cli {

Result<std::pair<std::string, std::string>> ParseKeyValue(const std::string& text, const char* what) {
  size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    return Status::InvalidArgument(std::string(what) + " '" + text + "' is not KEY=VALUE",
                                   std::string("example: ") + what + " lr=0.01");
  }
  return std::make_pair(text.substr(0, eq), text.substr(eq + 1));
}

Result<std::map<std::string, std::string>> ParseKeyValues(const std::vector<std::string>& texts, const char* what) {
  std::map<std::string, std::string> out;
  for (const std::string& t : texts) {
    CAIRN_ASSIGN_OR_RETURN(auto kv, ParseKeyValue(t, what));
    auto [it, inserted] = out.emplace(kv.first, kv.second);
    if (!inserted && it->second != kv.second) {
      return Status::InvalidArgument(std::string(what) + " " + kv.first + " is given twice with different values");
    }
  }
  return out;
}

Result<std::unique_ptr<Tracker>> OpenTracker(const Context& ctx, std::unique_ptr<Repo>* repo) {
  CAIRN_ASSIGN_OR_RETURN(*repo, OpenRepo(ctx));
  CAIRN_ASSIGN_OR_RETURN(auto tracker, Tracker::Open(**repo));
  CAIRN_RETURN_IF_ERROR(tracker->ReapDeadRuns().status());
  return tracker;
}

std::string RunOrEnv(const std::string& run) {
  if (!run.empty()) return run;
  const char* env = std::getenv("CAIRN_RUN_ID");
  return env ? env : "";
}

std::string FormatMetric(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string FormatMs(int64_t ms) {
  time_t t = static_cast<time_t>(ms / 1000);
  tm local;
  localtime_r(&t, &local);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &local);
  return buf;
}

std::string FormatDuration(int64_t ms) { return FormatDurationMs(ms); }

}  // namespace cairn::cli
