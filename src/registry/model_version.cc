// The model version object ("cairn-model-version 1", doc/formats.md):
// canonical JSON with sorted keys, one-space indentation and a final newline,
// as run records are, so equal versions give equal bytes.
#include <nlohmann/json.hpp>
#include <set>

#include "cairn/run_record.h"
#include "registry/registry_internal.h"

namespace cairn {
namespace {

using nlohmann::json;
using registry_internal::kVersionFormat;

const std::set<std::string>& SignatureTypes() {
  static const std::set<std::string> types = {"integer", "number", "boolean", "string"};
  return types;
}

Status Bad(const std::string& where, const std::string& what) {
  return Status::Corruption(where + ": damaged model version: " + what,
                            "run 'cairn fsck'; the object can be restored from a remote that holds it");
}

}  // namespace

std::string ModelVersion::Encode() const {
  json j;
  j["format"] = kVersionFormat;
  j["model"] = model;
  j["version"] = version;
  j["artifact"] = {{"kind", artifact.kind == ObjectKind::kTree ? "tree" : "blob"},
                   {"object", artifact.object.ToString()},
                   {"path", artifact.path},
                   {"filename", artifact.filename},
                   {"size", artifact.size},
                   {"files", artifact.files}};
  j["run"] = run;
  if (!run_status.empty()) j["run_status"] = run_status;  // absent in older objects: same bytes
  j["run_record"] = run_record ? json(run_record->ToString()) : json(nullptr);
  j["stage"] = stage;
  j["params"] = params;
  json m = json::object();
  for (const auto& [k, v] : metrics) {
    // JSON has no NaN or infinities: those are written as strings.
    m[k] = std::isfinite(v) ? json(v) : json(FormatMetricValue(v));
  }
  j["metrics"] = m;
  j["env"] = env;
  json ds = json::array();
  for (const ModelDataset& d : datasets) {
    ds.push_back({{"dataset", d.dataset},
                  {"version", d.version.ToString()},
                  {"tags", d.tags},
                  {"direct", d.direct},
                  {"modified", d.modified}});
    if (!d.source.empty()) ds.back()["source"] = d.source;  // absent in older objects: same bytes
  }
  j["datasets"] = ds;
  if (signature) {
    json cols = json::array();
    for (const SignatureColumn& c : signature->columns) cols.push_back({{"name", c.name}, {"type", c.type}});
    j["signature"] = {{"columns", cols}, {"source", signature->source}};
  } else {
    j["signature"] = nullptr;
  }
  j["tags"] = tags;
  j["message"] = message;
  j["user"] = user;
  j["host"] = host;
  j["time"] = time_ms;
  return DumpJson(j, 1) + "\n";
}

Result<ModelVersion> ModelVersion::Decode(std::string_view data, const std::string& where) {
  json j = json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Bad(where, "not JSON");
  auto format = j.find("format");
  if (format == j.end() || !format->is_string() || format->get<std::string>() != kVersionFormat) {
    return Status::Corruption(where + ": not a '" + std::string(kVersionFormat) + "' object",
                              "a newer cairn may have written it; upgrade cairn");
  }
  ModelVersion v;
  try {
    for (const char* key : {"version", "time"}) {
      if (!j.at(key).is_number_integer()) return Bad(where, std::string(key) + " is not a whole number");
    }
    v.model = j.at("model").get<std::string>();
    if (Status s = ValidateModelName(v.model); !s.ok()) return Bad(where, s.message());
    v.version = j.at("version").get<int64_t>();
    if (v.version < 1) return Bad(where, "version numbers start at 1");
    const json& a = j.at("artifact");
    std::string kind = a.at("kind").get<std::string>();
    if (kind != "blob" && kind != "tree") return Bad(where, "unknown artifact kind '" + kind + "'");
    v.artifact.kind = kind == "tree" ? ObjectKind::kTree : ObjectKind::kBlob;
    auto object = Oid::Parse(a.at("object").get<std::string>());
    if (!object.ok()) return Bad(where, "bad artifact oid");
    v.artifact.object = *object;
    v.artifact.path = a.at("path").get<std::string>();
    v.artifact.filename = a.at("filename").get<std::string>();
    // The file name is joined to `model get`'s directory: it must be one
    // safe name, whoever wrote the object.
    if (Status s = ValidateFileName(v.artifact.filename, "artifact file name"); !s.ok()) {
      return Bad(where, s.message());
    }
    if (!a.at("size").is_number_unsigned() || !a.at("files").is_number_unsigned()) {
      return Bad(where, "artifact size or file count is not a whole number");
    }
    v.artifact.size = a.at("size").get<uint64_t>();
    v.artifact.files = a.at("files").get<uint64_t>();
    v.run = j.at("run").get<std::string>();
    if (auto rs = j.find("run_status"); rs != j.end()) {
      v.run_status = rs->get<std::string>();
      if (v.run_status != "FINISHED" && v.run_status != "FAILED" && v.run_status != "KILLED") {
        return Bad(where, "unknown run status '" + v.run_status + "'");
      }
    }
    if (!j.at("run_record").is_null()) {
      auto rec = Oid::Parse(j.at("run_record").get<std::string>());
      if (!rec.ok()) return Bad(where, "bad run record oid");
      v.run_record = *rec;
    }
    v.stage = j.at("stage").get<std::string>();
    v.params = j.at("params").get<std::map<std::string, std::string>>();
    for (const auto& [k, m] : j.at("metrics").items()) {
      std::optional<double> value;
      if (m.is_number()) value = m.get<double>();
      if (m.is_string()) value = ParseMetricValue(m.get<std::string>());
      if (!value) return Bad(where, "metric " + k + " is not a number");
      v.metrics[k] = *value;
    }
    v.env = j.at("env").get<std::map<std::string, std::string>>();
    for (const json& d : j.at("datasets")) {
      ModelDataset md;
      md.dataset = d.at("dataset").get<std::string>();
      auto oid = Oid::Parse(d.at("version").get<std::string>());
      if (!oid.ok()) return Bad(where, "bad dataset version oid");
      md.version = *oid;
      md.tags = d.at("tags").get<std::vector<std::string>>();
      md.direct = d.at("direct").get<bool>();
      md.modified = d.at("modified").get<bool>();
      if (d.contains("source")) md.source = d.at("source").get<std::string>();
      v.datasets.push_back(std::move(md));
    }
    if (!j.at("signature").is_null()) {
      ModelSignature sig;
      for (const json& c : j.at("signature").at("columns")) {
        SignatureColumn col{c.at("name").get<std::string>(), c.at("type").get<std::string>()};
        if (!SignatureTypes().count(col.type)) return Bad(where, "unknown signature type '" + col.type + "'");
        sig.columns.push_back(std::move(col));
      }
      sig.source = j.at("signature").at("source").get<std::string>();
      v.signature = std::move(sig);
    }
    v.tags = j.at("tags").get<std::map<std::string, std::string>>();
    v.message = j.at("message").get<std::string>();
    v.user = j.at("user").get<std::string>();
    v.host = j.at("host").get<std::string>();
    v.time_ms = j.at("time").get<int64_t>();
  } catch (const json::exception&) {
    return Bad(where, "a field is missing or of the wrong type");
  }
  return v;
}

}  // namespace cairn
