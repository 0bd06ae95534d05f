// Staleness: what a stage would consume now, and how that and the
// workspace's outputs differ from what cairn.lock recorded.
#include <regex>
#include <set>

#include "cairn/dataset.h"
#include "cairn/pointer.h"
#include "cairn/registry.h"
#include "pipeline/stage.h"
#include "util/file.h"

namespace cairn {
namespace pipeline_internal {
namespace {

// Oid of a dep's current content: a file's blob oid, a directory's tree
// oid, a ref's version. NotFound when a path does not exist.
Result<Oid> DepOid(Repo& repo, const std::string& dep) {
  if (IsModelRef(dep)) {
    CAIRN_ASSIGN_OR_RETURN(RunInput in, ModelInput(repo, dep));
    return in.version;
  }
  if (IsDatasetRef(dep)) {
    CAIRN_ASSIGN_OR_RETURN(ResolvedRef r, ResolveRef(repo, dep));
    return r.version;
  }
  std::error_code ec;
  fs::path abs = repo.Abs(dep);
  if (!fs::exists(abs, ec)) return Status::NotFound("dependency '" + dep + "' does not exist");
  CAIRN_ASSIGN_OR_RETURN(Tree tree, WorkspaceFiles(repo, dep, false));
  if (fs::is_regular_file(abs, ec) && tree.entries.size() == 1) return tree.entries[0].oid;
  return Oid::Of(tree.Encode());
}

}  // namespace

std::string MissingDependency(Repo& repo, const std::string& dep, bool* unfetched) {
  *unfetched = false;
  if (!IsDatasetRef(dep)) {
    auto tracked = FindTrackedAt(repo, {dep});
    if (tracked.ok() && tracked->size() == 1 && (*tracked)[0].path == dep) {
      if (repo.store().Has((*tracked)[0].pointer.object)) {
        return "dependency " + dep + " is tracked and cached but not in the workspace ('cairn checkout " + dep +
               "' puts it back)";
      }
      *unfetched = true;
      return "dependency " + dep + " is tracked but its data is not fetched ('cairn pull " + dep + "' fetches it)";
    }
  }
  return "dependency " + dep + " is missing";
}

// The ${key} references of a command.
std::vector<std::string> CommandParams(const std::string& cmd) {
  std::vector<std::string> keys;
  static const std::regex re(R"(\$\{([A-Za-z0-9_.\-]+)\})");
  for (auto it = std::sregex_iterator(cmd.begin(), cmd.end(), re); it != std::sregex_iterator(); ++it) {
    keys.push_back((*it)[1]);
  }
  return keys;
}

// What a stage would consume now. Deps that do not exist (yet) are left out
// and listed in `*missing`.
Result<LockedStage> CurrentInputs(Repo& repo, const PipelineSpec& spec, const StageSpec& stage,
                                  std::vector<std::string>* missing) {
  LockedStage in;
  std::vector<std::string> keys = stage.params;
  for (const std::string& k : CommandParams(stage.cmd)) keys.push_back(k);
  CAIRN_ASSIGN_OR_RETURN(auto values, ReadParams(repo, spec, keys));
  for (const std::string& k : stage.params) in.params[k] = values[k];
  in.cmd = stage.cmd;
  for (const std::string& k : CommandParams(stage.cmd)) {
    std::string pattern = "${" + k + "}";
    for (size_t at; (at = in.cmd.find(pattern)) != std::string::npos;) in.cmd.replace(at, pattern.size(), values[k]);
  }
  for (const std::string& d : stage.deps) {
    auto oid = DepOid(repo, d);
    if (oid.ok()) {
      in.deps[d] = *oid;
    } else if (oid.status().code() == Code::kNotFound && !IsDatasetRef(d)) {
      missing->push_back(d);
    } else {
      return oid.status();
    }
  }
  return in;
}

// Reasons the recorded inputs differ from the current ones.
std::vector<std::string> InputChanges(const LockedStage& was, const LockedStage& now) {
  std::vector<std::string> why;
  if (was.cmd != now.cmd) why.push_back("command changed");
  for (const auto& [d, oid] : now.deps) {
    auto it = was.deps.find(d);
    if (it == was.deps.end()) why.push_back("new dependency " + d);
    else if (it->second != oid) why.push_back("dependency " + d + " changed");
  }
  for (const auto& [d, oid] : was.deps) {
    if (!now.deps.count(d)) why.push_back("dependency " + d + " removed");
  }
  for (const auto& [k, v] : now.params) {
    auto it = was.params.find(k);
    if (it == was.params.end()) why.push_back("new param " + k);
    else if (it->second != v) why.push_back("param " + k + ": " + it->second + " -> " + v);
  }
  for (const auto& [k, v] : was.params) {
    if (!now.params.count(k)) why.push_back("param " + k + " removed");
  }
  return why;
}

// Reasons the workspace outputs differ from `outs` (path → version).
Result<std::vector<std::string>> OutputChanges(Repo& repo, const StageSpec& stage, const LockedStage& locked) {
  const std::map<std::string, Oid>& outs = locked.outs;
  std::vector<std::string> why;
  for (const auto& [path, oid] : locked.metrics) {
    auto data = ReadFile(repo.Abs(path));
    if (!data.ok() || Oid::Of(*data) != oid) why.push_back("metrics file " + path + " differs from the locked one");
  }
  for (const std::string& o : stage.outs) {
    auto it = outs.find(o);
    if (it == outs.end()) {
      why.push_back("output " + o + " was never produced");
      continue;
    }
    std::error_code ec;
    if (!fs::exists(repo.PointerPath(o), ec)) {
      why.push_back("output " + o + " has no pointer file " + o + ".cairn (was it committed?)");
      continue;
    }
    CAIRN_ASSIGN_OR_RETURN(std::vector<Tracked> tracked, FindTrackedAt(repo, {o}));
    if (tracked.empty() || tracked[0].path != o || tracked[0].pointer.version != it->second) {
      why.push_back("output " + o + " is not the locked version");
      continue;
    }
    CAIRN_ASSIGN_OR_RETURN(std::vector<PathStatus> st, GetStatus(repo, {repo.Abs(o).string()}, StatusOptions{}));
    if (!st.empty() && st[0].state != TrackedState::kClean) {
      why.push_back("output " + o + " is " + TrackedStateName(st[0].state));
    }
  }
  return why;
}

}  // namespace pipeline_internal

using pipeline_internal::CurrentInputs;
using pipeline_internal::InputChanges;
using pipeline_internal::OutputChanges;

Result<std::vector<StageStatus>> PipelineStatus(Repo& repo, bool) {
  CAIRN_ASSIGN_OR_RETURN(PipelineSpec spec, LoadPipeline(repo));
  CAIRN_ASSIGN_OR_RETURN(PipelineLock lock, LoadLock(repo));
  std::vector<StageStatus> out;
  std::set<std::string> stale;
  for (const std::string& name : spec.order) {
    const StageSpec& stage = *spec.Find(name);
    StageStatus st;
    st.name = name;
    std::vector<std::string> missing;
    CAIRN_ASSIGN_OR_RETURN(LockedStage now, CurrentInputs(repo, spec, stage, &missing));
    auto it = lock.find(name);
    if (it == lock.end()) st.reasons.push_back("never ran (not in cairn.lock)");
    for (const std::string& u : spec.upstream.at(name)) {
      if (stale.count(u)) st.reasons.push_back("upstream stage " + u + " is stale");
    }
    for (const std::string& m : missing) {
      const StageSpec* producer = spec.Producer(m);
      if (producer && stale.count(producer->name)) continue;
      bool unfetched = false;
      st.reasons.push_back(pipeline_internal::MissingDependency(repo, m, &unfetched));
      if (unfetched) st.unfetched.push_back(m);
    }
    if (it != lock.end()) {
      for (std::string& r : InputChanges(it->second, now)) st.reasons.push_back(std::move(r));
      CAIRN_ASSIGN_OR_RETURN(auto outs, OutputChanges(repo, stage, it->second));
      for (std::string& r : outs) st.reasons.push_back(std::move(r));
    }
    st.stale = !st.reasons.empty();
    if (st.stale) stale.insert(name);
    out.push_back(std::move(st));
  }
  return out;
}

}  // namespace cairn
