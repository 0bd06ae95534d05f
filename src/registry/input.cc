// Model refs as run inputs (cairn run --input model:NAME@production,
// Tracker::AddInput, cairn.yaml deps).
#include "cairn/registry.h"

namespace cairn {

Result<RunInput> ModelInput(Repo& repo, std::string_view ref) {
  CAIRN_ASSIGN_OR_RETURN(ModelRef parsed, ParseModelRef(ref));
  CAIRN_ASSIGN_OR_RETURN(ModelVersionState st, ResolveModel(repo, parsed));
  RunInput in;
  in.dataset = "model:" + st.version.model;
  in.version = st.oid;
  // The alias the ref used (what the run asked for); "latest" moves, so a
  // version number says more.
  in.tag = parsed.version == 0 && parsed.alias != "latest" ? parsed.alias
                                                          : "v" + std::to_string(st.version.version);
  in.source = "explicit";
  return in;
}

}  // namespace cairn
