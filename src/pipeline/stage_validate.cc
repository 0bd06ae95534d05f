// A stage's `validate:` mapping: its inputs checked against their suites
// before its command runs (doc/pipelines.md, "Validated inputs").
#include <filesystem>

#include "cairn/table.h"
#include "pipeline/stage.h"

namespace cairn::pipeline_internal {

Status LoadStageSuites(Repo& repo, const StageSpec& stage, StageSuites* suites) {
  for (const auto& [input, file] : stage.validate) {
    if (suites->count(file)) continue;
    auto suite = LoadSuite(repo.Abs(file), file);
    if (!suite.ok()) {
      return suite.status().WithContext(std::string(kPipelineFile) + ":" + std::to_string(stage.validate_line) +
                                        ": stage '" + stage.name + "' validates " + input + " with " + file);
    }
    suites->emplace(file, std::move(*suite));
  }
  return Status::OK();
}

Status ValidateStageInputs(Repo& repo, const StageSpec& stage, const StageSuites& suites, std::string* refusal) {
  refusal->clear();
  for (const auto& [input, file] : stage.validate) {
    const Suite& suite = suites.at(file);
    // A path input is named as the user would from where cairn runs.
    std::string ref = input;
    if (!IsDatasetRef(input)) {
      std::error_code ec;
      std::filesystem::path rel = std::filesystem::relative(repo.Abs(input), repo.base_dir(), ec);
      ref = ec || rel.empty() ? repo.Abs(input).string() : rel.generic_string();
    }
    auto report = Validate(repo, ref, suite);
    if (!report.ok()) {
      *refusal += "input " + input + " could not be validated with " + file + ": " + report.status().message() + "\n";
      continue;
    }
    CAIRN_RETURN_IF_ERROR(StoreValidation(repo, &*report));
    if (report->success()) continue;
    const ValidationStatistics& s = report->statistics;
    *refusal += "input " + input + " does not pass " + file + " (" + std::to_string(s.unsuccessful) + " of " +
                std::to_string(s.evaluated) + " expectations failed):\n";
    std::string failures = ValidationFailures(*report);
    size_t start = 0;
    while (start < failures.size()) {
      size_t end = failures.find('\n', start);
      if (end == std::string::npos) end = failures.size();
      *refusal += "  " + failures.substr(start, end - start) + "\n";
      start = end + 1;
    }
  }
  if (!refusal->empty()) *refusal += "the command did not run";
  return Status::OK();
}

}  // namespace cairn::pipeline_internal
