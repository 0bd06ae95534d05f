// cairn.lock: parsing, encoding, and the run-cache key of a stage's inputs.
#include <yaml-cpp/yaml.h>

#include <sstream>

#include "cairn/object.h"
#include "cairn/pipeline.h"
#include "cairn/tracking.h"
#include "util/file.h"
#include "util/utf8.h"
#include "util/yaml_guard.h"

namespace cairn {
namespace {

constexpr char kLockHeader[] =
    "# cairn.lock: what each stage last consumed and produced (written by 'cairn repro').\n"
    "# Commit it with cairn.yaml and the pointer files; do not edit it by hand.\n";

Status BadLock(const YAML::Node& node, const std::string& what) {
  return Status::Corruption(std::string(kLockFile) + ":" + std::to_string(node.Mark().line + 1) + ": " + what,
                            "restore it from git ('git checkout cairn.lock'), or delete it to re-run every stage");
}

Result<std::map<std::string, Oid>> OidMap(const YAML::Node& node, const std::string& field) {
  std::map<std::string, Oid> out;
  if (!node) return out;
  if (!node.IsMap()) return BadLock(node, "'" + field + "' must be a mapping");
  for (const auto& kv : node) {
    // The lock comes from git, so from anyone with push access: a path that
    // leads out of the repository would have repro remove or write there.
    if (Status s = ValidateRelativePath(kv.first.Scalar(), field + " path"); !s.ok()) return BadLock(kv.first, s.message());
    auto oid = Oid::Parse(kv.second.Scalar());
    if (!oid.ok()) return BadLock(kv.second, "bad oid for '" + kv.first.Scalar() + "'");
    out[kv.first.Scalar()] = *oid;
  }
  return out;
}

}  // namespace

Result<PipelineLock> LoadLock(Repo& repo) {
  fs::path path = repo.root() / kLockFile;
  // Only a lock that is not there is empty: its outputs are gc roots, so
  // one that cannot be read (or a symlink to nothing) is an error.
  auto text = ReadFile(path);
  std::error_code ec;
  if (!text.ok() && text.status().code() == Code::kNotFound && !fs::is_symlink(path, ec)) return PipelineLock();
  CAIRN_RETURN_IF_ERROR(text.status());
  return ParseLock(*text);
}

Result<PipelineLock> ParseLock(std::string_view text) {
  PipelineLock lock;
  // EncodeLock writes printable UTF-8 only (yaml-cpp changes anything else).
  if (size_t bad = FindNonYamlText(text); bad != std::string_view::npos) {
    return Status::Corruption(std::string(kLockFile) + ":" + NonYamlTextMessage(text, bad),
                              "restore it from git ('git checkout cairn.lock'), or delete it to re-run every stage");
  }
  if (Status expansion = CheckYamlExpansion(std::string(text), std::string(kLockFile)); !expansion.ok()) {
    return Status::Corruption(expansion.message(),
                              "restore it from git ('git checkout cairn.lock'), or delete it to re-run every stage");
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    return Status::Corruption(std::string(kLockFile) + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg,
                              "restore it from git ('git checkout cairn.lock'), or delete it to re-run every stage");
  }
  try {
    if (!root.IsMap() || !root["format"] || root["format"].Scalar() != "1") {
      return BadLock(root, "unknown format (expected 'format: 1')");
    }
    YAML::Node stages = root["stages"];
    if (!stages) return lock;
    for (const auto& kv : stages) {
      LockedStage s;
      const YAML::Node& n = kv.second;
      if (!n.IsMap() || !n["cmd"]) return BadLock(n, "stage '" + kv.first.Scalar() + "' has no cmd");
      s.cmd = n["cmd"].Scalar();
      CAIRN_ASSIGN_OR_RETURN(s.deps, OidMap(n["deps"], "deps"));
      CAIRN_ASSIGN_OR_RETURN(s.outs, OidMap(n["outs"], "outs"));
      CAIRN_ASSIGN_OR_RETURN(s.metrics, OidMap(n["metrics"], "metrics"));
      if (n["params"]) {
        for (const auto& p : n["params"]) s.params[p.first.Scalar()] = p.second.Scalar();
      }
      if (n["run"]) {
        // repro writes a run id here; anything else did not come from it (and
        // a value ending in a carriage return would not survive EncodeLock).
        s.run = n["run"].Scalar();
        if (Status v = ValidateRunId(s.run); !v.ok()) return BadLock(n["run"], v.message());
      }
      lock[kv.first.Scalar()] = std::move(s);
    }
  } catch (const YAML::Exception& e) {
    return Status::Corruption(std::string(kLockFile) + ": " + e.msg, "restore it from git ('git checkout cairn.lock')");
  }
  return lock;
}

Status SaveLock(Repo& repo, const PipelineLock& lock) {
  return WriteWorkspaceFileAtomic(repo.root() / kLockFile, EncodeLock(lock), /*sync=*/true, repo.tmp_dir());
}

std::string EncodeLock(const PipelineLock& lock) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "format" << YAML::Value << 1 << YAML::Key << "stages" << YAML::Value
      << YAML::BeginMap;
  for (const auto& [name, s] : lock) {
    out << YAML::Key << name << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "cmd" << YAML::Value << YAML::DoubleQuoted << s.cmd;
    auto oids = [&](const char* key, const std::map<std::string, Oid>& m) {
      if (m.empty()) return;
      out << YAML::Key << key << YAML::Value << YAML::BeginMap;
      for (const auto& [k, v] : m) out << YAML::Key << k << YAML::Value << v.ToString();
      out << YAML::EndMap;
    };
    oids("deps", s.deps);
    if (!s.params.empty()) {
      out << YAML::Key << "params" << YAML::Value << YAML::BeginMap;
      for (const auto& [k, v] : s.params) out << YAML::Key << k << YAML::Value << YAML::DoubleQuoted << v;
      out << YAML::EndMap;
    }
    oids("outs", s.outs);
    oids("metrics", s.metrics);
    if (!s.run.empty()) out << YAML::Key << "run" << YAML::Value << s.run;
    out << YAML::EndMap;
  }
  out << YAML::EndMap << YAML::EndMap;
  return std::string(kLockHeader) + out.c_str() + "\n";
}

Oid RunCacheKey(const LockedStage& in) {
  std::string text = "cairn-runcache-key 1\ncmd " + std::to_string(in.cmd.size()) + " " + in.cmd + "\n";
  for (const auto& [k, v] : in.deps) text += "dep " + std::to_string(k.size()) + " " + k + " " + v.ToString() + "\n";
  for (const auto& [k, v] : in.params) {
    text += "param " + std::to_string(k.size()) + " " + k + " " + std::to_string(v.size()) + " " + v + "\n";
  }
  return Oid::Of(text);
}

}  // namespace cairn
