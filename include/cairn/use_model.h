// use_model: a local, read-only path holding one model version's artifact,
// for a program to load, recorded as an input of a run (Python's
// cairn.use_model). The copy is made once per version object under
// .cairn/models/<version object hex>/ (files 0444, a provenance.json beside
// the artifact, as `cairn model get` writes it) and reused after.
#ifndef CAIRN_USE_MODEL_H_
#define CAIRN_USE_MODEL_H_

#include <filesystem>
#include <string>
#include <string_view>

#include "cairn/registry.h"
#include "cairn/repo.h"
#include "cairn/status.h"
#include "cairn/tracking.h"

namespace cairn {

// The registry ref a model reference names: "model:NAME@REF" and "NAME@REF"
// as they are, and MLflow's model URIs "models:/NAME@ALIAS",
// "models:/NAME/3" (a version) and "models:/NAME/latest", as
// "model:NAME@ALIAS" / "model:NAME@3". InvalidArgument with the accepted
// forms otherwise.
Result<std::string> ModelRefFromUri(std::string_view ref);

struct UsedModel {
  RunInput input;                  // what was recorded (empty source when nothing was)
  ModelVersionState state;         // the version used
  std::filesystem::path path;      // absolute: the artifact (a file, or a directory)
  std::filesystem::path provenance;  // its provenance.json
  bool made = false;               // the copy was made by this call
};

// Resolves `ref` (any form ModelRefFromUri takes) and returns the read-only
// copy of its artifact, making it when absent (every byte checked against
// its oid; built aside and renamed into place, so no one sees a partial
// copy). NotFound when the model, version or alias is unknown or the cache
// lacks the artifact (with a hint to pull). Takes no lock.
Result<UsedModel> LocateModel(Repo& repo, std::string_view ref);

// LocateModel, then records the version as an input of the RUNNING run
// `run` (Tracker::AddInput with the model: ref: dataset "model:NAME", the
// version object, the alias used or vN), so an input is recorded only when
// the artifact could be read. Should the alias move between the two, the
// copy returned is of the version recorded.
Result<UsedModel> UseModel(Tracker& tracker, const std::string& run, std::string_view ref);

}  // namespace cairn

#endif  // CAIRN_USE_MODEL_H_
