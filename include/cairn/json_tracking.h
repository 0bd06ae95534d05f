// The JSON shapes of the tracking domain (see cairn/json.h): runs,
// experiments, metric points and histories, run comparisons and artifact
// listings. Shapes and versions: doc/json.md, "Tracking".
#ifndef CAIRN_JSON_TRACKING_H_
#define CAIRN_JSON_TRACKING_H_

#include <optional>
#include <vector>

#include "cairn/json.h"
#include "cairn/tracking.h"

namespace cairn {

struct RunComparison;  // cairn/run_compare.h

// Shape versions (the rule: cairn/json.h).
inline constexpr int kRunJsonVersion = 1;
inline constexpr int kExperimentJsonVersion = 1;
inline constexpr int kMetricPointJsonVersion = 1;
inline constexpr int kMetricHistoryJsonVersion = 1;
inline constexpr int kRunComparisonJsonVersion = 1;
inline constexpr int kArtifactListJsonVersion = 1;

// A metric value: a number, or "NaN", "Infinity", "-Infinity".
Json MetricValueJson(double value);
// The inverse: a number or one of those strings; nullopt for anything else.
std::optional<double> MetricValueFromJson(const Json& value);

// {key, value, step, timestamp}
Json MetricPointJson(const MetricPoint& point);
// An array of metric points, in the order given (MetricHistory: by step).
Json MetricHistoryJson(const std::vector<MetricPoint>& points);

enum class RunDetail {
  kSummary,  // what a search returns: attributes, params, tags, latest metrics
  kFull,     // also cwd, inputs, artifacts, env and the record
};
// A run. With kFull the RunInfo should come from GetRun or a `full` search;
// otherwise its inputs, artifacts and env are empty.
Json RunJson(const RunInfo& run, RunDetail detail = RunDetail::kFull);
// An array of runs.
Json RunListJson(const std::vector<RunInfo>& runs, RunDetail detail = RunDetail::kSummary);

// {id, name, runs, deleted, created}
Json ExperimentJson(const Experiment& experiment);
Json ExperimentListJson(const std::vector<Experiment>& experiments);

// {path, oid, size}
Json ArtifactJson(const RunArtifact& artifact);
Json ArtifactListJson(const std::vector<RunArtifact>& artifacts);

// {runs: [ids], rows: [{section, key, values, differs}], hidden_rows}
Json RunComparisonJson(const RunComparison& comparison);

}  // namespace cairn

#endif  // CAIRN_JSON_TRACKING_H_
