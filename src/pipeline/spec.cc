// cairn.yaml: parsing, validation, the stage graph, params, `stage add`.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <functional>
#include <set>
#include <sstream>

#include "cairn/dataset.h"
#include "cairn/pipeline.h"
#include "cairn/registry.h"
#include "pipeline/stage.h"
#include "util/file.h"
#include "util/utf8.h"
#include "util/yaml_guard.h"

namespace cairn {
namespace {

using pipeline_internal::CommandParams;

std::string Where(const YAML::Mark& m) {
  return std::string(kPipelineFile) + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

Status Bad(const YAML::Node& node, const std::string& what) {
  return Status::InvalidArgument(Where(node.Mark()) + ": " + what, "fix cairn.yaml (see doc/pipelines.md)");
}

Result<std::vector<std::string>> StringList(const YAML::Node& node, const std::string& field) {
  std::vector<std::string> out;
  if (node.IsScalar()) {
    out.push_back(node.Scalar());
    return out;
  }
  if (!node.IsSequence()) return Bad(node, "'" + field + "' must be a list of strings");
  for (const YAML::Node& item : node) {
    if (!item.IsScalar() || item.Scalar().empty()) return Bad(item, "'" + field + "' entries must be non-empty strings");
    out.push_back(item.Scalar());
  }
  return out;
}

// True when `a` is `b` or lies below it (paths are '/'-separated, normal).
bool Within(const std::string& a, const std::string& b) {
  return a == b || (a.size() > b.size() && a.compare(0, b.size(), b) == 0 && a[b.size()] == '/');
}

// Repo-relative, normal form of a path written in cairn.yaml.
Result<std::string> NormalPath(Repo& repo, const YAML::Node& node, const std::string& path) {
  fs::path p(path);
  if (p.is_absolute()) return Bad(node, "'" + path + "' must be relative to the repository root");
  auto rel = repo.RelativePath(repo.root() / p);
  if (!rel.ok()) return Bad(node, rel.status().message());
  return *rel;
}

Status ParseStage(Repo& repo, const std::string& name, const YAML::Node& node, StageSpec* stage) {
  stage->name = name;
  stage->line = node.Mark().line + 1;
  if (!node.IsMap()) return Bad(node, "stage '" + name + "' must be a mapping with at least 'cmd'");
  static const std::set<std::string> kKnown = {"cmd", "deps", "params", "outs", "metrics", "validate"};
  std::set<std::string> keys;
  for (const auto& kv : node) {
    std::string key = kv.first.Scalar();
    if (!keys.insert(key).second) return Bad(kv.first, "key '" + key + "' appears twice in stage '" + name + "'");
    if (!kKnown.count(key)) {
      return Bad(kv.first, "unknown key '" + key + "' in stage '" + name + "' (known: cmd, deps, params, outs, metrics, validate)");
    }
  }
  if (!node["cmd"] || !node["cmd"].IsScalar() || node["cmd"].Scalar().empty()) {
    return Bad(node, "stage '" + name + "' needs a 'cmd' string");
  }
  stage->cmd = node["cmd"].Scalar();
  stage->cmd_line = node["cmd"].Mark().line + 1;
  if (node["params"]) stage->params_line = node["params"].Mark().line + 1;
  auto list = [&](const char* field, std::vector<std::string>* out, bool paths) -> Status {
    if (!node[field]) return Status::OK();
    CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> items, StringList(node[field], field));
    for (size_t i = 0; i < items.size(); ++i) {
      const YAML::Node& at = node[field].IsSequence() ? node[field][i] : node[field];
      if (std::string(field) == "deps" && IsModelRef(items[i])) {
        auto ref = ParseModelRef(items[i]);  // checked here, so the error has a line
        if (!ref.ok()) return Bad(at, ref.status().message());
      }
      if (paths && !(std::string(field) == "deps" && IsDatasetRef(items[i]))) {
        CAIRN_ASSIGN_OR_RETURN(items[i], NormalPath(repo, at, items[i]));
      }
    }
    *out = std::move(items);
    return Status::OK();
  };
  CAIRN_RETURN_IF_ERROR(list("deps", &stage->deps, true));
  CAIRN_RETURN_IF_ERROR(list("params", &stage->params, false));
  CAIRN_RETURN_IF_ERROR(list("outs", &stage->outs, true));
  CAIRN_RETURN_IF_ERROR(list("metrics", &stage->metrics, true));
  if (const YAML::Node v = node["validate"]) {
    for (const auto& kv : node) {
      if (kv.first.Scalar() == "validate") stage->validate_line = kv.first.Mark().line + 1;
    }
    if (!v.IsMap()) return Bad(v, "'validate' must map inputs to suite files ({data/raw: suites/raw.yaml})");
    for (const auto& kv : v) {
      if (!kv.first.IsScalar() || kv.first.Scalar().empty() || !kv.second.IsScalar() || kv.second.Scalar().empty()) {
        return Bad(kv.first, "'validate' entries are INPUT: SUITE_FILE");
      }
      std::string input = kv.first.Scalar();
      if (!IsDatasetRef(input)) {
        CAIRN_ASSIGN_OR_RETURN(input, NormalPath(repo, kv.first, input));
      }
      if (std::find(stage->deps.begin(), stage->deps.end(), input) == stage->deps.end()) {
        return Bad(kv.first, "'validate' names '" + input + "', which is not in the deps of stage '" + name + "'");
      }
      CAIRN_ASSIGN_OR_RETURN(stage->validate[input], NormalPath(repo, kv.second, kv.second.Scalar()));
    }
  }
  return Status::OK();
}

// Builds upstream edges and a topological order; a cycle is named.
Status BuildGraph(PipelineSpec* spec, const std::map<std::string, YAML::Node>& nodes) {
  // Metrics files are outputs too: a stage that reads one runs after the
  // stage that writes it.
  std::map<std::string, std::string> out_owner;
  for (const StageSpec& s : spec->stages) {
    for (const auto* produced : {&s.outs, &s.metrics}) {
      for (const std::string& o : *produced) {
        for (const auto& [other, owner] : out_owner) {
          if (Within(o, other) || Within(other, o)) {
            return Bad(nodes.at(s.name), "output '" + o + "' of stage '" + s.name + "' overlaps output '" + other +
                                             "' of stage '" + owner + "'");
          }
        }
        out_owner[o] = s.name;
      }
    }
  }
  for (const StageSpec& s : spec->stages) {
    std::vector<std::string>& up = spec->upstream[s.name];
    for (const std::string& d : s.deps) {
      if (IsDatasetRef(d)) continue;
      for (const auto& [o, owner] : out_owner) {
        if ((Within(d, o) || Within(o, d)) && owner != s.name &&
            std::find(up.begin(), up.end(), owner) == up.end()) {
          up.push_back(owner);
        }
        if ((Within(d, o) || Within(o, d)) && owner == s.name) {
          return Bad(nodes.at(s.name), "stage '" + s.name + "' depends on its own output '" + o + "'");
        }
      }
    }
  }
  // Depth-first, in file order, reporting the first cycle met.
  std::map<std::string, int> state;  // 0 new, 1 on the stack, 2 done
  std::vector<std::string> stack;
  std::function<Status(const std::string&)> visit = [&](const std::string& n) -> Status {
    if (state[n] == 2) return Status::OK();
    if (state[n] == 1) {
      auto from = std::find(stack.begin(), stack.end(), n);
      std::string cycle;
      for (auto it = from; it != stack.end(); ++it) cycle += *it + " -> ";
      return Bad(nodes.at(n), "the stages form a cycle: " + cycle + n);
    }
    state[n] = 1;
    stack.push_back(n);
    for (const std::string& u : spec->upstream[n]) CAIRN_RETURN_IF_ERROR(visit(u));
    stack.pop_back();
    state[n] = 2;
    spec->order.push_back(n);
    return Status::OK();
  };
  for (const StageSpec& s : spec->stages) CAIRN_RETURN_IF_ERROR(visit(s.name));
  return Status::OK();
}

Result<YAML::Node> ParseYaml(const std::string& text, const std::string& file) {
  // YAML is printable Unicode. yaml-cpp reads other bytes as they are but
  // writes them back changed (U+FFFD), so a cmd or param holding one would
  // never match cairn.lock.
  if (size_t bad = FindNonYamlText(text); bad != std::string::npos) {
    return Status::InvalidArgument(file + ":" + NonYamlTextMessage(text, bad),
                                   "save the file as UTF-8, without control characters (write them escaped: \"\\t\")");
  }
  CAIRN_RETURN_IF_ERROR(CheckYamlExpansion(text, file));
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    return Status::InvalidArgument(file + ":" + std::to_string(e.mark.line + 1) + ":" +
                                       std::to_string(e.mark.column + 1) + ": " + e.msg,
                                   "fix the YAML syntax");
  }
}

Result<PipelineSpec> ParsePipeline(Repo& repo, const std::string& text) {
  CAIRN_ASSIGN_OR_RETURN(YAML::Node root, ParseYaml(text, kPipelineFile));
  PipelineSpec spec;
  spec.params_file = "params.yaml";
  if (!root.IsDefined() || root.IsNull()) {
    return Status::InvalidArgument(std::string(kPipelineFile) + ":1:1: the file is empty; expected a 'stages' mapping",
                                   "declare stages in it, one per command (see doc/pipelines.md)");
  }
  if (!root.IsMap()) return Bad(root, "expected a mapping with 'stages'");
  {
    std::set<std::string> top;
    for (const auto& kv : root) {
      if (!top.insert(kv.first.Scalar()).second) return Bad(kv.first, "key '" + kv.first.Scalar() + "' appears twice");
    }
  }
  std::map<std::string, YAML::Node> nodes;
  try {
    for (const auto& kv : root) {
      std::string key = kv.first.Scalar();
      if (key == "params") {
        if (!kv.second.IsScalar()) return Bad(kv.second, "'params' must name a YAML file");
        CAIRN_ASSIGN_OR_RETURN(spec.params_file, NormalPath(repo, kv.second, kv.second.Scalar()));
      } else if (key != "stages" && key != "models") {
        // models: holds the registry's gates (cairn/gate.h, LoadGates).
        return Bad(kv.first, "unknown top-level key '" + key + "' (known: models, params, stages)");
      }
    }
    YAML::Node stages = root["stages"];
    // A cairn.yaml that only declares model gates is a pipeline of no stages.
    if (!stages && !root["models"]) return Bad(root, "no 'stages' mapping");
    if (stages && !stages.IsMap()) return Bad(stages, "'stages' must be a mapping of stage name to stage");
    for (const auto& kv : stages ? stages : YAML::Node(YAML::NodeType::Map)) {
      std::string name = kv.first.Scalar();
      bool ok = !name.empty();
      for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.');
      if (!ok) return Bad(kv.first, "bad stage name '" + name + "' (letters, digits, '_', '-', '.')");
      if (nodes.count(name)) return Bad(kv.first, "stage '" + name + "' is defined twice");  // yaml-cpp keeps both
      nodes[name] = kv.second;
      StageSpec stage;
      CAIRN_RETURN_IF_ERROR(ParseStage(repo, name, kv.second, &stage));
      spec.stages.push_back(std::move(stage));
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(std::string(kPipelineFile) + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  CAIRN_RETURN_IF_ERROR(BuildGraph(&spec, nodes));
  // An out must not be a dataset some other path tracks (it would fight
  // with that dataset's own versions).
  CAIRN_ASSIGN_OR_RETURN(std::vector<Tracked> tracked, FindTracked(repo));
  for (const StageSpec& s : spec.stages) {
    for (const std::string& o : s.outs) {
      for (const Tracked& t : tracked) {
        if ((Within(o, t.path) || Within(t.path, o)) && t.path != o) {
          return Bad(nodes.at(s.name), "output '" + o + "' of stage '" + s.name + "' overlaps the tracked dataset '" +
                                           t.path + "'");
        }
        if (t.path == o && t.pointer.dataset != o) {
          return Bad(nodes.at(s.name), "output '" + o + "' of stage '" + s.name + "' is tracked as dataset '" +
                                           t.pointer.dataset + "'");
        }
      }
    }
  }
  return spec;
}

// Canonical text of a params value.
std::string ParamText(const YAML::Node& node) {
  if (node.IsScalar()) return node.Scalar();
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

}  // namespace

const StageSpec* PipelineSpec::Find(const std::string& name) const {
  for (const StageSpec& s : stages) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const StageSpec* PipelineSpec::Producer(const std::string& path) const {
  for (const StageSpec& s : stages) {
    for (const auto* produced : {&s.outs, &s.metrics}) {
      for (const std::string& o : *produced) {
        if (Within(path, o)) return &s;
      }
    }
  }
  return nullptr;
}

Result<PipelineSpec> LoadPipeline(Repo& repo) {
  fs::path path = repo.root() / kPipelineFile;
  if (!fs::exists(path)) {
    return Status::NotFound("no cairn.yaml in " + repo.root().string(),
                            "declare stages with 'cairn stage add' or write cairn.yaml (see doc/pipelines.md)");
  }
  CAIRN_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParsePipeline(repo, text);
}

Result<std::map<std::string, std::string>> ReadParams(Repo& repo, const PipelineSpec& spec,
                                                      const std::vector<std::string>& keys) {
  std::map<std::string, std::string> out;
  if (keys.empty()) return out;
  fs::path path = repo.root() / spec.params_file;
  auto text = ReadFile(path);
  if (!text.ok()) {
    return Status::NotFound("params file " + spec.params_file + " is missing",
                            "create it, or set 'params:' in cairn.yaml to the right file");
  }
  CAIRN_ASSIGN_OR_RETURN(YAML::Node root, ParseYaml(*text, spec.params_file));
  for (const std::string& key : keys) {
    YAML::Node node = YAML::Clone(root);
    std::stringstream parts(key);
    std::string part;
    bool found = true;
    while (std::getline(parts, part, '.')) {
      if (!node.IsMap() || !node[part]) {
        found = false;
        break;
      }
      node = node[part];
    }
    if (!found) {
      return Status::NotFound("param '" + key + "' is not in " + spec.params_file, "add it, or remove it from the stage");
    }
    out[key] = ParamText(node);
  }
  return out;
}

Status AddStage(Repo& repo, const StageSpec& stage, bool force) {
  fs::path path = repo.root() / kPipelineFile;
  YAML::Node root;
  if (fs::exists(path)) {
    CAIRN_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
    CAIRN_ASSIGN_OR_RETURN(root, ParseYaml(text, kPipelineFile));
    CAIRN_RETURN_IF_ERROR(ParsePipeline(repo, text).status());
  }
  if (!root.IsMap()) root = YAML::Node(YAML::NodeType::Map);
  if (root["stages"] && root["stages"][stage.name] && !force) {
    return Status::AlreadyExists("stage '" + stage.name + "' exists in cairn.yaml", "ask for it to be replaced");
  }
  YAML::Node s(YAML::NodeType::Map);
  s["cmd"] = stage.cmd;
  auto put = [&](const char* key, const std::vector<std::string>& v) {
    if (v.empty()) return;
    YAML::Node seq(YAML::NodeType::Sequence);
    for (const std::string& x : v) seq.push_back(x);
    s[key] = seq;
  };
  put("deps", stage.deps);
  put("params", stage.params);
  put("outs", stage.outs);
  put("metrics", stage.metrics);
  root["stages"][stage.name] = s;
  YAML::Emitter out;
  out << root;
  std::string text = std::string(out.c_str()) + "\n";
  // Validate before writing: a stage naming a param that does not exist
  // would make every later command fail.
  CAIRN_ASSIGN_OR_RETURN(PipelineSpec spec, ParsePipeline(repo, text));
  std::vector<std::string> keys = stage.params;
  for (std::string& k : CommandParams(stage.cmd)) keys.push_back(std::move(k));
  if (auto values = ReadParams(repo, spec, keys); !values.ok()) {
    return Status::InvalidArgument(values.status().message() + "; stage '" + stage.name + "' was not written",
                                   values.status().hint());
  }
  return WriteWorkspaceFileAtomic(path, text, /*sync=*/true, repo.tmp_dir());
}

}  // namespace cairn
