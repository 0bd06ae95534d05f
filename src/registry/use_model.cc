// use_model (cairn/use_model.h): a read-only copy of a model version's
// artifact under .cairn/models/, made once with GetModel, and the run input
// that records it.
#include "cairn/use_model.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>

#include "registry/registry_internal.h"
#include "util/file.h"

namespace cairn {
namespace {

constexpr std::string_view kMlflowPrefix = "models:/";

// Files 0444 (directories stay writable by their owner, so gc and rm work).
Status MakeReadOnly(const fs::path& dir) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_symlink(ec) || !it->is_regular_file(ec)) continue;
    if (::chmod(it->path().c_str(), 0444) != 0) return Status::FromErrno("cannot protect " + it->path().string(), errno);
  }
  if (ec) return Status::FromErrno("cannot list " + dir.string(), ec.value());
  return Status::OK();
}

Result<UsedModel> Materialize(Repo& repo, ModelVersionState state) {
  fs::path dir = repo.layout().model_copy(state.oid.Hex());
  const ModelArtifact& artifact = state.version.artifact;
  UsedModel used;
  used.path = dir / artifact.filename;
  used.provenance = dir / "provenance.json";
  std::error_code ec;
  if (!fs::exists(used.path, ec) || !fs::exists(used.provenance, ec)) {
    if (fs::exists(dir, ec)) {
      // Not what GetModel leaves (it renames a whole directory into place):
      // damaged by hand. Made again.
      fs::permissions(dir, fs::perms::owner_all, fs::perm_options::add, ec);
      fs::remove_all(dir, ec);
      if (ec) return Status::FromErrno("cannot remove the damaged model copy " + dir.string(), ec.value());
    }
    auto got = registry_internal::WriteModel(repo, state, dir, /*force=*/false);
    if (!got.ok()) {
      // Another process made it meanwhile: theirs is as good.
      if (!fs::exists(used.path, ec) || !fs::exists(used.provenance, ec)) return got.status();
    } else {
      CAIRN_RETURN_IF_ERROR(MakeReadOnly(dir));
      used.made = true;
    }
  }
  used.state = std::move(state);
  return used;
}

}  // namespace

Result<std::string> ModelRefFromUri(std::string_view ref) {
  std::string text(ref);
  const std::string forms =
      "give model:NAME@ALIAS, model:NAME@3, NAME@production, or MLflow's models:/NAME@ALIAS, models:/NAME/3";
  if (!text.starts_with(kMlflowPrefix)) {
    if (text.empty()) return Status::InvalidArgument("no model given", forms);
    CAIRN_ASSIGN_OR_RETURN(ModelRef parsed, ParseModelRef(text));
    return "model:" + parsed.model + "@" + (parsed.version ? std::to_string(parsed.version) : parsed.alias);
  }
  std::string rest = text.substr(kMlflowPrefix.size());
  size_t at = rest.find('@'), slash = rest.find('/');
  std::string name, which;
  if (at != std::string::npos && slash == std::string::npos) {
    name = rest.substr(0, at);
    which = rest.substr(at + 1);
  } else if (slash != std::string::npos && at == std::string::npos) {
    name = rest.substr(0, slash);
    which = rest.substr(slash + 1);
    bool number = !which.empty() && std::all_of(which.begin(), which.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    if (!number && which != "latest") {
      return Status::InvalidArgument("'" + text + "': cairn has aliases, not MLflow stages",
                                     "use models:/" + name + "@ALIAS (e.g. @production) or models:/" + name + "/3");
    }
  } else {
    return Status::InvalidArgument("'" + text + "' is not a model URI", forms);
  }
  CAIRN_ASSIGN_OR_RETURN(ModelRef parsed, ParseModelRef(name + "@" + which));
  return "model:" + parsed.model + "@" + (parsed.version ? std::to_string(parsed.version) : parsed.alias);
}

Result<UsedModel> LocateModel(Repo& repo, std::string_view ref) {
  CAIRN_ASSIGN_OR_RETURN(std::string normal, ModelRefFromUri(ref));
  CAIRN_ASSIGN_OR_RETURN(ModelVersionState state, ResolveModel(repo, normal));
  CAIRN_ASSIGN_OR_RETURN(UsedModel used, Materialize(repo, std::move(state)));
  CAIRN_ASSIGN_OR_RETURN(used.input, ModelInput(repo, normal));
  used.input.source.clear();
  return used;
}

Result<UsedModel> UseModel(Tracker& tracker, const std::string& run, std::string_view ref) {
  Repo& repo = tracker.repo();
  CAIRN_ASSIGN_OR_RETURN(std::string normal, ModelRefFromUri(ref));
  CAIRN_ASSIGN_OR_RETURN(UsedModel used, LocateModel(repo, normal));
  CAIRN_ASSIGN_OR_RETURN(RunInput input, tracker.AddInput(run, normal));
  if (input.version != used.state.oid) {
    // The alias moved in between: hand out what the run records.
    CAIRN_ASSIGN_OR_RETURN(std::vector<ModelVersionState> versions, ListModelVersions(repo, used.state.version.model));
    for (ModelVersionState& v : versions) {
      if (v.oid != input.version) continue;
      CAIRN_ASSIGN_OR_RETURN(used, Materialize(repo, std::move(v)));
      break;
    }
  }
  used.input = std::move(input);
  return used;
}

}  // namespace cairn
