// Run comparison: params, metrics, data versions, code and environment of
// two or more runs side by side, each row marked when its values differ.
// What `cairn runs compare` prints and the Python and HTTP front ends serve.
#ifndef CAIRN_RUN_COMPARE_H_
#define CAIRN_RUN_COMPARE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "cairn/status.h"
#include "cairn/tracking.h"

namespace cairn {

struct CompareRow {
  // "run" (name, experiment, status, duration, command), "params",
  // "metrics", "tags", "data" (dataset → versions read, "TAG OID (modified)" for
  // workspace data changed since that version), "code" (git.* env, and
  // "diff": the short oid of a dirty run's cairn/git.diff artifact) or
  // "env" (the rest of the environment).
  std::string section;
  std::string key;
  // One value per run, in the order of RunComparison::runs; "-" where a run
  // lacks the key. Metrics keep full precision ("nan", "inf" for
  // non-finite values), so two values that differ never look alike.
  std::vector<std::string> values;
  bool differs = false;
};

struct RunComparison {
  std::vector<std::string> runs;  // full run ids, in the order asked
  std::vector<CompareRow> rows;   // by section in the order above, then key
  int64_t hidden_rows = 0;        // rows left out: equal env rows and system tags (see CompareOptions)
  int64_t hidden_tag_rows = 0;    // of those, cairn.* and mlflow.* tag rows
};

struct CompareOptions {
  // Keep "env" rows whose values are all equal (there are many: OS, CPU …).
  bool include_equal_env = false;
  // Keep rows of the tags cairn and MLflow set (cairn.*, mlflow.*); user
  // tags are always compared.
  bool include_system_tags = false;
  // The time a RUNNING run's duration is measured to; 0: now.
  int64_t now_ms = 0;
};

// Compares runs given as ids, unique prefixes or names. InvalidArgument
// when fewer than two are given; NotFound/Ambiguous as GetRun.
Result<RunComparison> CompareRuns(Tracker& tracker, const std::vector<std::string>& runs,
                                  const CompareOptions& options = {});
// The same for runs already loaded (full RunInfos, as from GetRun).
RunComparison CompareRunInfos(const std::vector<RunInfo>& runs, const CompareOptions& options = {});

// A duration for people: 850ms, 12.3s, 4m05s, 2h03m.
std::string FormatDurationMs(int64_t ms);
// A run's duration so far: to its end, or (with "…" appended) to `now_ms`
// while it is RUNNING.
std::string FormatRunDuration(const RunInfo& run, int64_t now_ms);

}  // namespace cairn

#endif  // CAIRN_RUN_COMPARE_H_
