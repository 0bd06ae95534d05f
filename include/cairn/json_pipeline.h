// The JSON shapes of pipelines and lineage (see cairn/json.h): stage
// status, a repro report, the lineage graph, and OpenLineage events. Shapes
// and versions: doc/json.md, "Pipelines and lineage". Pure functions of
// their arguments (except OpenLineageNamespace, which reads git
// configuration); thread-safe.
#ifndef CAIRN_JSON_PIPELINE_H_
#define CAIRN_JSON_PIPELINE_H_

#include <string>
#include <vector>

#include "cairn/json.h"
#include "cairn/lineage.h"
#include "cairn/pipeline.h"

namespace cairn {

// Shape versions (the rule: cairn/json.h).
inline constexpr int kStageStatusJsonVersion = 1;
inline constexpr int kStageOutcomeJsonVersion = 1;
inline constexpr int kLineageJsonVersion = 1;

// {"stage", "state": "stale" | "up-to-date", "reasons": [..]}
Json StageStatusToJson(const StageStatus& status);

// {"stage", "outcome", "reasons", "run"?, "seconds"?, "error"?, "stderr_tail"?}
Json StageOutcomeToJson(const StageOutcome& outcome);

// {"root", "direction": "up" | "down", "nodes": [{"id","kind","name","attrs"}], "edges": [{"from","to","modified"}]}
// (an edge's "modified": its run read workspace data changed since `from`)
Json LineageToJson(const LineageGraph& graph, bool downstream);

struct OpenLineageOptions {
  // Namespace of every job and dataset: see OpenLineageNamespace.
  std::string ns = "cairn";
  // The `producer` and facets' `_producer` URI.
  std::string producer = "urn:cairn";
};

// The namespace cairn's jobs and datasets get in OpenLineage: the
// repository's git origin URL (without credentials), so that every clone
// of one repository names its datasets alike; "cairn" when there is no
// origin. Never depends on where the clone is.
std::string OpenLineageNamespace(Repo& repo);

// OpenLineage (spec 2-0-2) RunEvents for the runs of `graph`, oldest first:
// a START event at the run's start and, once it ended, a COMPLETE, FAIL or
// ABORT event at its end. Job: the stage (or run name); its facet
// sourceCodeLocation (type git, url = origin, version = commit) only when
// the run recorded a git origin. Inputs: the dataset versions and files it
// read; outputs (in the end event): the versions it produced. Runs known
// only from cairn.lock have no times and give no events.
Json OpenLineageEvents(const LineageGraph& graph, const OpenLineageOptions& options);

}  // namespace cairn

#endif  // CAIRN_JSON_PIPELINE_H_
