// A stage's metrics files (stored as blobs, restored with its outputs, and
// logged to its run) and the environment its command gets.
#include <nlohmann/json.hpp>

#include "pipeline/stage.h"
#include "util/file.h"

namespace cairn::pipeline_internal {
namespace {

// Flattens the numbers (and booleans, as 0/1) of a JSON metrics file into
// dotted keys. A metrics file is a snapshot: step 0, logged at `now_ms`.
void Flatten(const nlohmann::json& j, const std::string& prefix, int64_t now_ms, std::vector<MetricPoint>* out) {
  if (j.is_number()) {
    out->push_back(MetricPoint{prefix, j.get<double>(), /*step=*/0, /*timestamp_ms=*/now_ms});
  } else if (j.is_boolean()) {
    out->push_back(MetricPoint{prefix, j.get<bool>() ? 1.0 : 0.0, /*step=*/0, /*timestamp_ms=*/now_ms});
  } else if (j.is_object()) {
    for (const auto& [k, v] : j.items()) Flatten(v, prefix.empty() ? k : prefix + "." + k, now_ms, out);
  }
}

}  // namespace

Result<CollectedMetrics> CollectMetrics(Repo& repo, const StageSpec& stage, int64_t now_ms) {
  CollectedMetrics c;
  for (const std::string& m : stage.metrics) {
    auto text = ReadFile(repo.Abs(m));
    if (!text.ok()) {
      c.failure = "metrics file " + m + " was not written";
      return c;
    }
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded()) {
      c.failure = "metrics file " + m + " is not JSON";
      return c;
    }
    Flatten(j, "", now_ms, &c.points);
    CAIRN_ASSIGN_OR_RETURN(c.blobs[m], repo.store().PutBlob(*text));
  }
  if (!c.blobs.empty()) CAIRN_RETURN_IF_ERROR(repo.store().Commit());
  return c;
}

std::vector<std::string> StageEnvironment(const Repo& repo, const std::string& run) {
  // The same variables, with the same meanings, as under `cairn run`
  // (doc/pipelines.md): the Python module opens the repository at CAIRN_DIR.
  return {"CAIRN_RUN_ID=" + run, "CAIRN_TRACKING_URI=" + repo.root().string(), "CAIRN_DIR=" + repo.root().string(),
          "PYTHONUNBUFFERED=1"};
}

}  // namespace cairn::pipeline_internal
