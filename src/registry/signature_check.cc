// Comparing a model version's signature with data (model_signature.h), and
// the JSON shapes of both (doc/json.md, "models").
#include <unordered_map>
#include <unordered_set>

#include "cairn/model_signature.h"

namespace cairn {

SignatureCheck CompareSignature(const ModelSignature& expected, const InferredSchema& actual, bool allow_extra) {
  SignatureCheck check;
  check.expected = expected;
  check.actual = actual;
  check.allow_extra = allow_extra;
  // Hash lookups: data may have hundreds of thousands of columns.
  std::unordered_map<std::string, size_t> in_data;
  in_data.reserve(actual.signature.columns.size());
  for (size_t i = 0; i < actual.signature.columns.size(); ++i) in_data[actual.signature.columns[i].name] = i;
  std::unordered_set<std::string> in_signature;
  in_signature.reserve(expected.columns.size());
  for (const SignatureColumn& want : expected.columns) {
    in_signature.insert(want.name);
    auto it = in_data.find(want.name);
    if (it == in_data.end()) {
      check.missing.push_back(want);
      continue;
    }
    const SignatureColumn& got = actual.signature.columns[it->second];
    int64_t values = it->second < actual.values.size() ? actual.values[it->second] : 1;
    if (got.type == want.type) continue;
    SignatureColumnChange change{want.name, want.type, got.type, ""};
    if (values == 0) {
      change.rule = "no-values";
      check.compatible.push_back(change);
    } else if (want.type == "number" && got.type == "integer") {
      change.rule = "integer-as-number";
      check.compatible.push_back(change);
    } else {
      check.retyped.push_back(change);
    }
  }
  for (const SignatureColumn& got : actual.signature.columns) {
    if (!in_signature.count(got.name)) check.extra.push_back(got);
  }
  return check;
}

Result<SignatureCheck> CheckSignature(Repo& repo, std::string_view model_ref, std::string_view data_ref,
                                      bool allow_extra) {
  CAIRN_ASSIGN_OR_RETURN(ModelVersionState state, ResolveModel(repo, model_ref));
  const ModelVersion& v = state.version;
  std::string name = v.model + "@" + std::to_string(v.version);
  if (!v.signature) {
    return Status::FailedPrecondition(
        "model " + name + " has no signature",
        "none was given and its training data had no CSV/TSV/JSON Lines file; register a version with "
        "'cairn model register " + v.model + " … --signature FILE' ({\"columns\": [{\"name\": …, \"type\": …}]})");
  }
  CAIRN_ASSIGN_OR_RETURN(InferredSchema actual, InferSchema(repo, data_ref));
  SignatureCheck check = CompareSignature(*v.signature, actual, allow_extra);
  check.model = v.model;
  check.version = v.version;
  check.oid = state.oid;
  check.data_ref = std::string(data_ref);
  return check;
}

Json SignatureJson(const ModelSignature& signature) {
  Json cols = Json::array();
  for (const SignatureColumn& c : signature.columns) cols.push_back({{"name", c.name}, {"type", c.type}});
  return {{"columns", cols}, {"source", signature.source}};
}

namespace {

Json Columns(const std::vector<SignatureColumn>& columns) {
  Json out = Json::array();
  for (const SignatureColumn& c : columns) out.push_back({{"name", c.name}, {"type", c.type}});
  return out;
}

Json Changes(const std::vector<SignatureColumnChange>& changes, bool with_rule) {
  Json out = Json::array();
  for (const SignatureColumnChange& c : changes) {
    Json j = {{"name", c.name}, {"expected", c.expected}, {"actual", c.actual}};
    if (with_rule) j["rule"] = c.rule;
    out.push_back(j);
  }
  return out;
}

}  // namespace

Json SignatureCheckJson(const SignatureCheck& check) {
  Json data = SignatureJson(check.actual.signature);
  // Json objects keep insertion order and look keys up one by one: appended
  // directly when the name is new (checked in a hash set), so 200k columns
  // cost 200k inserts, not 200k searches of the object.
  Json values = Json::object();
  auto& members = static_cast<Json::object_t::Container&>(values.get_ref<Json::object_t&>());
  std::unordered_set<std::string> named;
  named.reserve(check.actual.signature.columns.size());
  for (size_t i = 0; i < check.actual.signature.columns.size() && i < check.actual.values.size(); ++i) {
    const std::string& name = check.actual.signature.columns[i].name;
    if (named.insert(name).second) {
      members.emplace_back(name, check.actual.values[i]);
    } else {
      values[name] = check.actual.values[i];  // a repeated name (never from InferSchema): the last wins
    }
  }
  data["ref"] = check.data_ref;
  data["rows_sampled"] = check.actual.rows;
  data["complete"] = check.actual.complete;
  data["values"] = values;
  return {{"model", check.model},
          {"version", check.version},
          {"oid", check.oid.ToString()},
          {"match", check.matches()},
          {"signature", SignatureJson(check.expected)},
          {"data", data},
          {"missing", Columns(check.missing)},
          {"extra", Columns(check.extra)},
          {"extra_allowed", check.allow_extra},
          {"retyped", Changes(check.retyped, false)},
          {"compatible", Changes(check.compatible, true)}};
}

}  // namespace cairn
