// Signatures given as a file (`cairn model register --signature FILE`).
#include <nlohmann/json.hpp>
#include <set>

#include "cairn/registry.h"

namespace cairn {

Result<ModelSignature> ParseSignature(std::string_view json_text, const std::string& source) {
  using nlohmann::json;
  std::string where = "signature " + source;
  const std::string example = R"(write {"columns": [{"name": "age", "type": "integer"}]}; types: integer, number, boolean, string)";
  json j = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("columns") || !j["columns"].is_array()) {
    return Status::InvalidArgument(where + " is not a JSON object with a \"columns\" array", example);
  }
  static const std::set<std::string> types = {"integer", "number", "boolean", "string"};
  ModelSignature sig;
  sig.source = source;
  std::set<std::string> names;
  for (size_t i = 0; i < j["columns"].size(); ++i) {
    const json& c = j["columns"][i];
    std::string at = where + ": column " + std::to_string(i + 1);
    if (!c.is_object() || !c.contains("name") || !c["name"].is_string() || c["name"].get<std::string>().empty()) {
      return Status::InvalidArgument(at + " has no name", example);
    }
    std::string name = c["name"].get<std::string>();
    if (!c.contains("type") || !c["type"].is_string() || !types.count(c["type"].get<std::string>())) {
      return Status::InvalidArgument(at + " (" + name + ") has no known type", example);
    }
    if (!names.insert(name).second) return Status::InvalidArgument(at + ": column " + name + " is given twice");
    sig.columns.push_back(SignatureColumn{name, c["type"].get<std::string>()});
  }
  return sig;
}

}  // namespace cairn
