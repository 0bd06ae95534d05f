// JSON shapes of the registry (doc/json.md, "Models"): one serializer per
// type, shared by the CLI, the Python module and the server.
#include "cairn/json_tracking.h"
#include "cairn/registry.h"

namespace cairn {
namespace {

Json ArtifactJson(const ModelArtifact& a) {
  return Json{{"kind", a.kind == ObjectKind::kTree ? "tree" : "blob"},
              {"object", a.object.ToString()},
              {"path", a.path},
              {"filename", a.filename},
              {"size", a.size},
              {"files", a.files}};
}

Json DatasetsJson(const std::vector<ModelDataset>& datasets) {
  Json out = Json::array();
  for (const ModelDataset& d : datasets) {
    out.push_back({{"dataset", d.dataset},
                   {"version", d.version.ToString()},
                   {"tags", d.tags},
                   {"direct", d.direct},
                   {"modified", d.modified},
                   {"source", d.source.empty() ? Json(nullptr) : Json(d.source)}});
  }
  return out;
}

Json MetricsJson(const std::map<std::string, double>& metrics) {
  Json out = Json::object();
  for (const auto& [k, v] : metrics) out[k] = MetricValueJson(v);
  return out;
}

Json OptionalSignatureJson(const std::optional<ModelSignature>& sig) {
  if (!sig) return nullptr;
  Json cols = Json::array();
  for (const SignatureColumn& c : sig->columns) cols.push_back({{"name", c.name}, {"type", c.type}});
  return {{"columns", cols}, {"source", sig->source}};
}

std::string Ref(const ModelVersion& v) { return "model:" + v.model + "@" + std::to_string(v.version); }

}  // namespace

Json ApprovalJson(const Approval& a) {
  return {{"user", a.user}, {"time_ms", a.time_ms}, {"message", a.message}, {"audit_entry", a.audit_entry}};
}

Json AliasStateJson(const AliasState& a) {
  return {{"alias", a.alias},     {"version", a.version}, {"object", a.oid.ToString()},
          {"audit_entry", a.audit_entry}, {"user", a.user},       {"time_ms", a.time_ms}};
}

Json ModelVersionJson(const ModelVersionState& state) {
  const ModelVersion& v = state.version;
  Json j;
  j["model"] = v.model;
  j["version"] = v.version;
  j["ref"] = Ref(v);
  j["object"] = state.oid.ToString();
  j["artifact"] = ArtifactJson(v.artifact);
  j["run"] = v.run;
  j["run_status"] = v.run_status.empty() ? Json(nullptr) : Json(v.run_status);
  j["run_record"] = v.run_record ? Json(v.run_record->ToString()) : Json(nullptr);
  j["stage"] = v.stage.empty() ? Json(nullptr) : Json(v.stage);
  j["params"] = v.params;
  j["metrics"] = MetricsJson(v.metrics);
  j["env"] = v.env;
  j["datasets"] = DatasetsJson(v.datasets);
  j["signature"] = OptionalSignatureJson(v.signature);
  j["tags"] = v.tags;
  j["message"] = v.message;
  j["user"] = v.user;
  j["host"] = v.host;
  j["time_ms"] = v.time_ms;
  j["aliases"] = state.aliases;
  j["deprecated"] = state.deprecated ? Json{{"user", state.deprecated_by},
                                            {"time_ms", state.deprecated_ms},
                                            {"reason", state.deprecated_reason}}
                                     : Json(nullptr);
  Json approvals = Json::array();
  for (const Approval& a : state.approvals) approvals.push_back(ApprovalJson(a));
  j["approvals"] = approvals;
  return j;
}

Json ModelSummaryJson(const ModelSummary& s) {
  Json aliases = Json::object();
  for (const auto& [alias, n] : s.aliases) aliases[alias] = n;
  return {{"name", s.name}, {"versions", s.versions}, {"latest", s.latest}, {"aliases", aliases},
          {"updated_ms", s.updated_ms}};
}

Json ProvenanceJson(const ModelVersionState& state, const std::vector<TreeEntry>* files) {
  const ModelVersion& v = state.version;
  Json j;
  j["format"] = "cairn-provenance 1";
  j["model"] = v.model;
  j["version"] = v.version;
  j["ref"] = Ref(v);
  j["object"] = state.oid.ToString();
  j["aliases"] = state.aliases;
  j["deprecated"] = state.deprecated;
  Json artifact = ArtifactJson(v.artifact);
  Json listed = Json::array();
  if (v.artifact.kind == ObjectKind::kBlob && files && files->size() == 1) {
    listed.push_back({{"path", v.artifact.filename}, {"sha256", v.artifact.object.Hex()}, {"size", (*files)[0].size}});
    artifact["size"] = (*files)[0].size;
  } else if (v.artifact.kind == ObjectKind::kBlob) {
    listed.push_back({{"path", v.artifact.filename}, {"sha256", v.artifact.object.Hex()}, {"size", v.artifact.size}});
  } else if (files) {
    uint64_t total = 0;
    for (const TreeEntry& e : *files) total += e.size;
    artifact["size"] = total;
    artifact["files"] = files->size();
    for (const TreeEntry& e : *files) {
      listed.push_back({{"path", v.artifact.filename + "/" + e.path}, {"sha256", e.oid.Hex()}, {"size", e.size}});
    }
  }
  artifact["sha256"] = listed;
  j["artifact"] = artifact;
  j["run"] = {{"id", v.run}, {"status", v.run_status.empty() ? Json(nullptr) : Json(v.run_status)}, {"record", v.run_record ? Json(v.run_record->ToString()) : Json(nullptr)},
              {"stage", v.stage.empty() ? Json(nullptr) : Json(v.stage)}};
  auto env = [&](const char* key) { return v.env.count(key) ? Json(v.env.at(key)) : Json(nullptr); };
  j["code"] = {{"commit", env("git.commit")},
               {"branch", env("git.branch")},
               {"dirty", v.env.count("git.dirty") ? Json(v.env.at("git.dirty") == "true") : Json(nullptr)},
               {"remote", env("git.remote")}};
  j["datasets"] = DatasetsJson(v.datasets);
  j["params"] = v.params;
  j["metrics"] = MetricsJson(v.metrics);
  j["environment"] = v.env;
  j["signature"] = OptionalSignatureJson(v.signature);
  j["tags"] = v.tags;
  j["registered"] = {{"user", v.user}, {"host", v.host}, {"time_ms", v.time_ms}, {"message", v.message}};
  return j;
}

}  // namespace cairn
