// What a registration did not refuse but its registrant should hear
// (RegistrationNotes, registry.h): a failed run, a stale stage, a second
// version of the same bytes.
#include "cairn/pipeline.h"
#include "cairn/registry.h"

namespace cairn {

Result<std::vector<std::string>> RegistrationNotes(Repo& repo, const ModelVersionState& registered) {
  const ModelVersion& v = registered.version;
  std::string name = v.model + "@" + std::to_string(v.version);
  std::vector<std::string> notes;
  if (!v.run_status.empty() && v.run_status != "FINISHED") {
    notes.push_back("run " + v.run.substr(0, 8) + " ended " + v.run_status + "; its artifact is registered all the same");
  }
  if (!v.stage.empty()) {
    CAIRN_ASSIGN_OR_RETURN(std::vector<StageStatus> stages, PipelineStatus(repo, /*progress=*/false));
    for (const StageStatus& s : stages) {
      if (s.name != v.stage || !s.stale) continue;
      std::string why;
      for (const std::string& r : s.reasons) why += (why.empty() ? "" : "; ") + r;
      notes.push_back("stage " + s.name + " is stale (" + (why.empty() ? "see 'cairn status'" : why) + "): " + name +
                      " is what cairn.lock's run produced, not what the current code, data and params would; "
                      "run 'cairn repro' and register again for that");
    }
  }
  CAIRN_ASSIGN_OR_RETURN(std::vector<ModelVersionState> versions, ListModelVersions(repo, v.model));
  for (const ModelVersionState& other : versions) {
    const ModelVersion& o = other.version;
    if (o.version == v.version || o.artifact.object != v.artifact.object || o.run != v.run) continue;
    notes.push_back(name + " holds the same artifact from the same run as " + v.model + "@" +
                    std::to_string(o.version) + ": a second number for the same model");
    break;
  }
  return notes;
}

}  // namespace cairn
