// Serializers of include/cairn/json_pipeline.h (shapes: doc/json.md).
#include <algorithm>
#include <ctime>

#include "cairn/json_pipeline.h"

namespace cairn {
namespace {

constexpr char kOpenLineageSchema[] = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";
constexpr char kSourceCodeFacetSchema[] =
    "https://openlineage.io/spec/facets/1-0-1/SourceCodeLocationJobFacet.json#/$defs/SourceCodeLocationJobFacet";
constexpr char kVersionFacetSchema[] =
    "https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet";
constexpr char kParamsFacetSchema[] = "urn:cairn:facets:params:1";

Json Strings(const std::vector<std::string>& v) {
  Json out = Json::array();
  for (const std::string& s : v) out.push_back(s);
  return out;
}

// A run id (32 hex) as the UUID OpenLineage's runId is.
std::string Uuid(const std::string& hex32) {
  if (hex32.size() != 32) return hex32;
  return hex32.substr(0, 8) + "-" + hex32.substr(8, 4) + "-" + hex32.substr(12, 4) + "-" + hex32.substr(16, 4) + "-" +
         hex32.substr(20);
}

std::string IsoTime(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm;
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

const char* EndState(RunStatus s) {
  switch (s) {
    case RunStatus::kFinished: return "COMPLETE";
    case RunStatus::kFailed: return "FAIL";
    case RunStatus::kKilled: return "ABORT";
    default: return nullptr;  // still running: no end event yet
  }
}

std::string Tag(const RunInfo& r, const std::string& key) {
  auto it = r.tags.find(key);
  return it == r.tags.end() ? std::string() : it->second;
}

}  // namespace

Json StageStatusToJson(const StageStatus& s) {
  Json j = {{"stage", s.name}, {"state", s.stale ? "stale" : "up-to-date"}, {"reasons", Strings(s.reasons)}};
  if (!s.unfetched.empty()) j["unfetched"] = Strings(s.unfetched);
  return j;
}

Json StageOutcomeToJson(const StageOutcome& o) {
  Json j = {{"stage", o.name}, {"outcome", StageOutcomeName(o.kind)}, {"reasons", Strings(o.reasons)}};
  if (!o.run.empty()) j["run"] = o.run;
  if (o.kind == StageOutcomeKind::kRan || o.kind == StageOutcomeKind::kFailed) j["seconds"] = o.seconds;
  if (!o.error.empty()) {
    j["error"] = o.error;
    j["stderr_tail"] = o.stderr_tail;
  }
  return j;
}

Json LineageToJson(const LineageGraph& g, bool downstream) {
  Json nodes = Json::array(), edges = Json::array();
  for (const LineageNode& n : g.nodes) {
    Json attrs = Json::object();
    for (const auto& [k, v] : n.attrs) attrs[k] = v;
    nodes.push_back({{"id", n.id}, {"kind", n.kind}, {"name", n.name}, {"attrs", attrs}});
  }
  for (const LineageEdge& e : g.edges) edges.push_back({{"from", e.from}, {"to", e.to}, {"modified", e.modified}});
  return Json{{"root", g.root}, {"direction", downstream ? "down" : "up"}, {"nodes", nodes}, {"edges", edges}};
}

Json OpenLineageEvents(const LineageGraph& g, const OpenLineageOptions& options) {
  auto dataset = [&](const std::string& name, const std::string& version) {
    return Json{{"namespace", options.ns},
                {"name", name},
                {"facets",
                 {{"version",
                   {{"_producer", options.producer}, {"_schemaURL", kVersionFacetSchema}, {"datasetVersion", version}}}}}};
  };
  std::vector<const RunInfo*> runs;
  for (const RunInfo& r : g.runs) {
    if (r.start_ms > 0) runs.push_back(&r);  // runs known only from cairn.lock have no times
  }
  std::stable_sort(runs.begin(), runs.end(), [](const RunInfo* a, const RunInfo* b) { return a->start_ms < b->start_ms; });
  Json events = Json::array();
  for (const RunInfo* r : runs) {
    Json inputs = Json::array(), outputs = Json::array();
    for (const RunInput& in : r->inputs) inputs.push_back(dataset(in.dataset, in.version.ToString()));
    for (const auto& [k, v] : r->tags) {
      if (k.starts_with("cairn.dep.")) {
        std::string path = k.substr(10);
        bool is_dataset = false;
        for (const RunInput& in : r->inputs) is_dataset |= in.dataset == path;
        if (!is_dataset) inputs.push_back(dataset(path, v));
      }
      if (k.starts_with("cairn.out.")) outputs.push_back(dataset(k.substr(10), v));
    }
    Json job = {{"namespace", options.ns}, {"name", Tag(*r, "cairn.stage").empty() ? r->name : Tag(*r, "cairn.stage")}};
    if (r->env.count("git.remote") && !r->env.at("git.remote").empty()) {
      Json location = {{"_producer", options.producer},
                       {"_schemaURL", kSourceCodeFacetSchema},
                       {"type", "git"},
                       {"url", r->env.at("git.remote")}};
      if (r->env.count("git.commit")) location["version"] = r->env.at("git.commit");
      job["facets"] = {{"sourceCodeLocation", location}};
    }
    Json params = Json::object();
    for (const auto& [k, v] : r->params) params[k] = v;
    Json run = {{"runId", Uuid(r->id)},
                {"facets",
                 {{"cairn_params", {{"_producer", options.producer}, {"_schemaURL", kParamsFacetSchema}, {"params", params}}}}}};
    auto event = [&](const char* type, int64_t ms, bool with_outputs) {
      return Json{{"eventType", type},
                  {"eventTime", IsoTime(ms)},
                  {"producer", options.producer},
                  {"schemaURL", kOpenLineageSchema},
                  {"run", run},
                  {"job", job},
                  {"inputs", inputs},
                  {"outputs", with_outputs ? outputs : Json::array()}};
    };
    events.push_back(event("START", r->start_ms, false));
    if (const char* end = EndState(r->status); end && r->end_ms > 0) events.push_back(event(end, r->end_ms, true));
  }
  return events;
}

}  // namespace cairn
