#include "cairn/lineage.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <deque>
#include <optional>
#include <set>

#include "cairn/dataset.h"
#include "cairn/pipeline.h"
#include "cairn/refs.h"
#include "cairn/registry.h"
#include "util/file.h"

namespace cairn {
namespace {

constexpr char kOutTag[] = "cairn.out.";
constexpr char kDepTag[] = "cairn.dep.";
constexpr char kSourceTag[] = "cairn.source";  // where a run record came from, when not the tracker

// A metric as its shortest exact decimal (0.9649122807017544, not
// to_string's 0.964912), "nan", "inf" or "-inf".
std::string MetricText(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

class Builder {
 public:
  // `runs`: the first `complete` are whole records (built from cairn.lock),
  // the rest the tracker's links (id, cairn.out.* tags, inputs), loaded in
  // full from `tracker` only when the walk reaches them.
  Builder(Repo& repo, Tracker& tracker, std::vector<RunInfo> runs, size_t complete)
      : repo_(repo), tracker_(tracker), runs_(std::move(runs)), complete_(runs_.size(), 0) {
    std::fill_n(complete_.begin(), std::min(complete, runs_.size()), 1);
    for (size_t i = 0; i < runs_.size(); ++i) {
      const RunInfo& r = runs_[i];
      for (const auto& [k, v] : r.tags) {
        if (!k.starts_with(kOutTag)) continue;
        auto oid = Oid::Parse(v);
        if (oid.ok()) produced_by_[*oid] = i;
      }
      for (const RunInput& in : r.inputs) consumers_[in.version].push_back(i);
      run_index_[r.id] = i;
    }
  }

  // The model version object `oid` (an input "model:NAME"), or nullptr
  // when it cannot be read (then the input is drawn as a dataset node).
  const ModelVersion* Model(const Oid& oid) {
    auto it = models_.find(oid);
    if (it != models_.end()) return it->second ? &*it->second : nullptr;
    std::optional<ModelVersion> v;
    auto data = repo_.store().Read(oid);
    if (data.ok()) {
      auto decoded = ModelVersion::Decode(*data, oid.ToString());
      if (decoded.ok()) v = std::move(*decoded);
    }
    auto& slot = models_[oid] = std::move(v);
    return slot ? &*slot : nullptr;
  }

  // A model version: "model:NAME@N", produced by its run.
  std::string ModelNode(const Oid& oid, const ModelVersion& v) {
    std::string id = "model:" + v.model + "@" + std::to_string(v.version);
    if (!seen_.insert(id).second) return id;
    LineageNode n{id, "model", v.model, {{"version", std::to_string(v.version)}, {"object", oid.ToString()}}};
    n.attrs["artifact"] = v.artifact.path + " (" + v.artifact.object.Short() + ")";
    n.attrs["run"] = v.run;
    graph_.nodes.push_back(std::move(n));
    return id;
  }

  // Run `i` with everything the tracker has on it (params, metrics, env,
  // every tag, artifacts). A run deleted since the links were read keeps
  // what the links said.
  const RunInfo& Full(size_t i) {
    if (!complete_[i]) {
      complete_[i] = 1;
      auto run = tracker_.GetRun(runs_[i].id);
      if (run.ok()) runs_[i] = std::move(*run);
    }
    return runs_[i];
  }

  // The index of run `id`, when this clone has it.
  std::optional<size_t> IndexOf(const std::string& id) const {
    auto it = run_index_.find(id);
    if (it == run_index_.end()) return std::nullopt;
    return it->second;
  }

  // The run that produced a model version, when this clone has it.
  std::optional<size_t> ModelProducer(const ModelVersion& v) { return IndexOf(v.run); }

  // Model versions registered from run `i` (read from the registry once).
  std::vector<Oid> ModelsOf(size_t i) {
    if (!registry_read_) {
      registry_read_ = true;
      auto models = ListModels(repo_);
      if (models.ok()) {
        for (const ModelSummary& m : *models) {
          auto versions = ListModelVersions(repo_, m.name);
          if (!versions.ok()) continue;
          for (ModelVersionState& st : *versions) {
            registered_[st.version.run].push_back(st.oid);
            models_[st.oid] = std::move(st.version);
          }
        }
      }
    }
    auto it = registered_.find(runs_[i].id);
    return it == registered_.end() ? std::vector<Oid>() : it->second;
  }

  std::string DatasetNode(const std::string& dataset, const Oid& version) {
    std::string id = "dataset:" + dataset + "@" + version.Hex();
    if (!seen_.insert(id).second) return id;
    LineageNode n{id, "dataset", dataset, {{"version", version.ToString()}}};
    auto tags = ListTags(repo_, dataset);
    std::string names;
    if (tags.ok()) {
      for (const Tag& t : *tags) {
        if (t.version == version) names += (names.empty() ? "" : ",") + t.name + (t.golden ? " (golden)" : "");
      }
    }
    if (!names.empty()) n.attrs["tags"] = names;
    if (!produced_by_.count(version)) n.attrs["origin"] = "raw (no run produced it)";
    graph_.nodes.push_back(std::move(n));
    return id;
  }

  std::string RunNode(size_t i) {
    const RunInfo& r = Full(i);
    std::string id = "run:" + r.id;
    if (!seen_.insert(id).second) return id;
    LineageNode n{id, "run", r.name.empty() ? r.id.substr(0, 8) : r.name, {}};
    n.attrs["run"] = r.id;
    n.attrs["experiment"] = r.experiment;
    n.attrs["status"] = RunStatusName(r.status);
    if (r.tags.count("cairn.stage")) n.attrs["stage"] = r.tags.at("cairn.stage");
    if (r.tags.count(kSourceTag)) n.attrs["source"] = r.tags.at(kSourceTag);
    if (r.env.count("git.commit")) {
      n.attrs["commit"] = r.env.at("git.commit");
      if (r.env.count("git.dirty")) n.attrs["dirty"] = r.env.at("git.dirty") == "true" ? "true" : "false";
    }
    if (!r.command.empty()) n.attrs["command"] = r.command;
    for (const auto& [k, v] : r.params) n.attrs["params." + k] = v;
    for (const auto& [k, m] : r.metrics) n.attrs["metrics." + k] = MetricText(m.value);
    graph_.nodes.push_back(std::move(n));
    graph_.runs.push_back(r);
    return id;
  }

  Status Walk(const std::string& start_kind, const Oid& version, const std::string& dataset, size_t run,
              const LineageOptions& options) {
    struct Item {
      bool is_run;
      Oid version;
      std::string dataset;
      size_t run;
      int depth;
      bool is_model = false;
    };
    std::deque<Item> todo;
    if (start_kind == "run") {
      graph_.root = RunNode(run);
      todo.push_back({true, Oid(), "", run, 0});
    } else if (const ModelVersion* m = start_kind == "model" ? Model(version) : nullptr) {
      graph_.root = ModelNode(version, *m);
      todo.push_back({false, version, dataset, 0, 0, true});
    } else {
      graph_.root = DatasetNode(dataset, version);
      todo.push_back({false, version, dataset, 0, 0});
    }
    std::set<std::string> expanded;
    while (!todo.empty()) {
      Item it = todo.front();
      todo.pop_front();
      std::string key = it.is_run ? "r" + std::to_string(it.run) : "d" + it.version.Hex();
      if (!expanded.insert(key).second) continue;
      if (it.is_model) {
        const ModelVersion* m = Model(it.version);
        std::string mid = ModelNode(it.version, *m);
        if (options.depth > 0 && it.depth >= options.depth) continue;
        if (!options.downstream) {
          std::optional<size_t> p = ModelProducer(*m);
          if (!p) continue;
          graph_.edges.push_back({RunNode(*p), mid});
          todo.push_back({true, Oid(), "", *p, it.depth});
        } else {
          auto c = consumers_.find(it.version);
          if (c == consumers_.end()) continue;
          for (size_t i : c->second) {
            graph_.edges.push_back({mid, RunNode(i)});
            todo.push_back({true, Oid(), "", i, it.depth});
          }
        }
      } else if (it.is_run) {
        const RunInfo& r = Full(it.run);  // its cairn.dep.* tags, too
        std::string rid = RunNode(it.run);
        if (options.depth > 0 && it.depth >= options.depth) continue;
        if (!options.downstream) {
          for (const RunInput& in : r.inputs) {
            if (const ModelVersion* m = IsModelRef(in.dataset) ? Model(in.version) : nullptr) {
              graph_.edges.push_back({ModelNode(in.version, *m), rid, in.modified});
              todo.push_back({false, in.version, in.dataset, 0, it.depth + 1, true});
              continue;
            }
            graph_.edges.push_back({DatasetNode(in.dataset, in.version), rid, in.modified});
            todo.push_back({false, in.version, in.dataset, 0, it.depth + 1});
          }
          for (const auto& [k, v] : r.tags) {
            if (!k.starts_with(kDepTag)) continue;
            std::string path = k.substr(sizeof(kDepTag) - 1);
            if (IsModelRef(path)) continue;  // drawn from the run's input, as a model node
            bool is_dataset = false;
            for (const RunInput& in : r.inputs) is_dataset |= in.dataset == path;
            if (is_dataset) continue;
            auto oid = Oid::Parse(v);
            std::string fid = "file:" + path + "@" + (oid.ok() ? oid->Hex() : v);
            if (seen_.insert(fid).second) graph_.nodes.push_back({fid, "file", path, {{"oid", v}}});
            graph_.edges.push_back({fid, rid});
          }
        } else {
          for (const auto& [k, v] : r.tags) {
            if (!k.starts_with(kOutTag)) continue;
            auto oid = Oid::Parse(v);
            if (!oid.ok()) continue;
            std::string name = k.substr(sizeof(kOutTag) - 1);
            auto version = LoadVersion(repo_, *oid);
            if (version.ok()) name = version->dataset;
            graph_.edges.push_back({rid, DatasetNode(name, *oid)});
            todo.push_back({false, *oid, name, 0, it.depth + 1});
          }
          for (const Oid& model : ModelsOf(it.run)) {
            const ModelVersion* m = Model(model);
            if (!m) continue;
            graph_.edges.push_back({rid, ModelNode(model, *m)});
            todo.push_back({false, model, "model:" + m->model, 0, it.depth + 1, true});
          }
        }
      } else {
        std::string did = DatasetNode(it.dataset, it.version);
        if (options.depth > 0 && it.depth >= options.depth) continue;
        if (!options.downstream) {
          auto p = produced_by_.find(it.version);
          if (p == produced_by_.end()) continue;
          graph_.edges.push_back({RunNode(p->second), did});
          todo.push_back({true, Oid(), "", p->second, it.depth});
        } else {
          auto c = consumers_.find(it.version);
          if (c == consumers_.end()) continue;
          for (size_t i : c->second) {
            bool modified = false;
            for (const RunInput& in : runs_[i].inputs) modified |= (in.version == it.version && in.modified);
            graph_.edges.push_back({did, RunNode(i), modified});
            todo.push_back({true, Oid(), "", i, it.depth});
          }
        }
      }
    }
    return Status::OK();
  }

  // Roots the graph at an artifact of run `i`: the run produced it.
  void RootAtArtifact(size_t i, const RunArtifact& a) {
    std::string id = "artifact:" + runs_[i].id + "/" + a.path;
    graph_.nodes.push_back({id, "artifact", a.path, {{"oid", a.oid.ToString()}, {"run", runs_[i].id}}});
    graph_.edges.push_back({"run:" + runs_[i].id, id});
    graph_.root = id;
  }

  LineageGraph Take() { return std::move(graph_); }

 private:
  Repo& repo_;
  Tracker& tracker_;
  std::vector<RunInfo> runs_;
  std::vector<char> complete_;  // per run: runs_[i] is the whole record
  std::unordered_map<Oid, size_t, OidHash> produced_by_;
  std::unordered_map<Oid, std::vector<size_t>, OidHash> consumers_;
  std::unordered_map<std::string, size_t> run_index_;
  std::unordered_map<Oid, std::optional<ModelVersion>, OidHash> models_;
  std::unordered_map<std::string, std::vector<Oid>> registered_;  // run id → model versions
  bool registry_read_ = false;
  std::set<std::string> seen_;
  LineageGraph graph_;
};

// Run records for the stages of `lock` whose run is not in `runs`, built
// from what the lock says: the versions it produced (cairn.out.PATH), the
// oids of its deps (cairn.dep.PATH) and, as inputs, the dataset versions it
// read: dataset refs, outputs of other locked stages, and tracked datasets
// whose content is the locked one. Marked with the tag cairn.source.
Result<std::vector<RunInfo>> RunsFromLock(Repo& repo, const PipelineLock& lock, const std::vector<RunInfo>& runs) {
  std::set<std::string> known;
  for (const RunInfo& r : runs) known.insert(r.id);
  std::map<std::string, Oid> locked_outs;  // path → version, of every locked stage
  for (const auto& [name, stage] : lock) locked_outs.insert(stage.outs.begin(), stage.outs.end());
  CAIRN_ASSIGN_OR_RETURN(std::vector<Tracked> tracked, FindTracked(repo));
  std::vector<RunInfo> out;
  for (const auto& [name, stage] : lock) {
    if (stage.run.empty() || known.count(stage.run)) continue;
    RunInfo r;
    r.id = stage.run;
    r.experiment = "pipeline";
    r.name = name;
    r.status = RunStatus::kFinished;  // the lock records successful executions only
    r.command = stage.cmd;
    r.params = stage.params;
    r.tags["cairn.stage"] = name;
    r.tags[kSourceTag] = kLockFile;
    for (const auto& [path, version] : stage.outs) r.tags[kOutTag + path] = version.ToString();
    for (const auto& [dep, oid] : stage.deps) {
      r.tags[kDepTag + dep] = oid.ToString();
      std::string dataset;
      Oid version;
      if (IsDatasetRef(dep)) {
        dataset = dep.substr(0, dep.find('@'));
        version = oid;
      } else if (auto o = locked_outs.find(dep); o != locked_outs.end()) {
        version = o->second;
        auto v = LoadVersion(repo, version);
        dataset = v.ok() ? v->dataset : dep;
      } else {
        for (const Tracked& t : tracked) {
          if (t.path != dep) continue;
          auto v = LoadVersion(repo, t.pointer.version);
          if (v.ok() && v->object == oid) {
            dataset = t.pointer.dataset;
            version = t.pointer.version;
          }
        }
      }
      if (!dataset.empty()) r.inputs.push_back(RunInput{dataset, version, "", "explicit"});
    }
    known.insert(r.id);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

Result<LineageGraph> Lineage(Repo& repo, const std::string& target, const LineageOptions& options) {
  CAIRN_ASSIGN_OR_RETURN(auto tracker, Tracker::Open(repo));
  // Every run, but only what finds producers and consumers; the walk loads
  // the runs it reaches in full (with 100k runs, loading all took seconds).
  CAIRN_ASSIGN_OR_RETURN(std::vector<RunInfo> runs, tracker->RunLinks(kOutTag));
  // Oldest first, so the newest run producing a version wins.
  std::reverse(runs.begin(), runs.end());
  // Stages cairn.lock records whose runs this clone does not have (a fresh
  // clone): the lock still says what made each output, from what.
  CAIRN_ASSIGN_OR_RETURN(PipelineLock lock, LoadLock(repo));
  CAIRN_ASSIGN_OR_RETURN(std::vector<RunInfo> from_lock, RunsFromLock(repo, lock, runs));
  size_t complete = from_lock.size();
  runs.insert(runs.begin(), std::make_move_iterator(from_lock.begin()), std::make_move_iterator(from_lock.end()));
  Builder b(repo, *tracker, std::move(runs), complete);

  // A model version: model:NAME@3, model:NAME@production.
  if (IsModelRef(target)) {
    CAIRN_ASSIGN_OR_RETURN(ModelVersionState st, ResolveModel(repo, target));
    CAIRN_RETURN_IF_ERROR(b.Walk("model", st.oid, "model:" + st.version.model, 0, options));
    return b.Take();
  }
  // An artifact: RUN:PATH (upstream: what the run that logged it consumed).
  if (size_t colon = target.find(':'); colon != std::string::npos && target.find('@') == std::string::npos) {
    CAIRN_ASSIGN_OR_RETURN(std::string id, tracker->ResolveRunId(target.substr(0, colon)));
    std::string path = target.substr(colon + 1);
    std::optional<size_t> i = b.IndexOf(id);
    if (!i) return Status::NotFound("run " + id + " is not indexed", "run 'cairn reindex'");
    for (const RunArtifact& a : b.Full(*i).artifacts) {
      if (a.path != path) continue;
      LineageOptions up = options;
      up.downstream = false;  // nothing is derived from an artifact
      CAIRN_RETURN_IF_ERROR(b.Walk("run", Oid(), "", *i, up));
      b.RootAtArtifact(*i, a);
      return b.Take();
    }
    return Status::NotFound("run " + id.substr(0, 8) + " has no artifact '" + path + "'",
                            "list them with 'cairn artifacts list " + id.substr(0, 8) + "'");
  }
  // A run id (or prefix)?
  Status run_error;  // why `target` is no run, when it could be a run's id
  if (target.find('/') == std::string::npos && target.find('@') == std::string::npos) {
    auto id = tracker->ResolveRunId(target);
    if (id.ok()) {
      if (std::optional<size_t> i = b.IndexOf(*id)) {
        CAIRN_RETURN_IF_ERROR(b.Walk("run", Oid(), "", *i, options));
        return b.Take();
      }
    } else {
      run_error = id.status();
      if (run_error.code() == Code::kAmbiguous) return run_error;
    }
  }
  if (target.find('@') != std::string::npos) {
    CAIRN_ASSIGN_OR_RETURN(ResolvedRef r, ResolveRef(repo, target));
    CAIRN_RETURN_IF_ERROR(b.Walk("dataset", r.version, r.dataset, 0, options));
    return b.Take();
  }
  CAIRN_ASSIGN_OR_RETURN(std::string rel, repo.RelativePath(target));
  CAIRN_ASSIGN_OR_RETURN(std::vector<Tracked> tracked, FindTracked(repo));
  for (const Tracked& t : tracked) {
    if (IsInside(repo.Abs(rel), repo.Abs(t.path))) {
      CAIRN_RETURN_IF_ERROR(b.Walk("dataset", t.pointer.version, t.pointer.dataset, 0, options));
      return b.Take();
    }
  }
  bool hex = !target.empty() && std::all_of(target.begin(), target.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
  if (hex && target.size() < 6) {
    return Status::NotFound("'" + target + "' is not a tracked path, dataset ref, run or artifact",
                            "a run id prefix needs 6 or more digits ('cairn runs' lists the ids)");
  }
  return Status::NotFound("'" + target + "' is not a tracked path, dataset ref, run or artifact",
                          "give a tracked path (models/model.bin), name@tag, a run id, or RUN:ARTIFACT_PATH");
}

}  // namespace cairn
