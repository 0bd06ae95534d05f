// Delta analysis: the dataset versions upstream of each side (lineage),
// paired by name, compared file by file and row by row.
#include "cairn/delta.h"

#include <algorithm>
#include <map>
#include <set>

#include "cairn/lineage.h"
#include "cairn/table.h"

namespace cairn {
namespace {

std::string KindOf(const LineageGraph& g) {
  for (const LineageNode& n : g.nodes) {
    if (n.id == g.root) return n.kind;
  }
  return "dataset";
}

// Steps upstream from the root to each node (data flows from -> to, so the
// walk follows edges backwards).
std::map<std::string, int> Distances(const LineageGraph& g) {
  std::map<std::string, std::vector<std::string>> inputs;
  for (const LineageEdge& e : g.edges) inputs[e.to].push_back(e.from);
  std::map<std::string, int> dist{{g.root, 0}};
  std::vector<std::string> frontier{g.root};
  while (!frontier.empty()) {
    std::vector<std::string> next;
    for (const std::string& id : frontier) {
      for (const std::string& from : inputs[id]) {
        if (dist.emplace(from, dist[id] + 1).second) next.push_back(from);
      }
    }
    frontier = std::move(next);
  }
  return dist;
}

// The dataset versions upstream of `ref` (its own version for a dataset
// ref), by dataset name, nearest first: a run's own inputs come before the
// versions its upstream runs read. Models registered as inputs
// (model:NAME) are not data and are left out.
Result<std::map<std::string, std::vector<DeltaInput>>> Inputs(Repo& repo, const std::string& ref, std::string* kind) {
  LineageOptions options;
  CAIRN_ASSIGN_OR_RETURN(LineageGraph g, Lineage(repo, ref, options));
  *kind = KindOf(g);
  std::map<std::string, int> dist = Distances(g);
  std::vector<const LineageNode*> nodes;
  for (const LineageNode& n : g.nodes) nodes.push_back(&n);
  auto distance = [&](const LineageNode* n) {
    auto it = dist.find(n->id);
    return it == dist.end() ? 1 << 30 : it->second;
  };
  std::stable_sort(nodes.begin(), nodes.end(),
                   [&](const LineageNode* a, const LineageNode* b) { return distance(a) < distance(b); });
  std::set<std::string> modified;  // dataset nodes a run read modified
  for (const LineageEdge& e : g.edges) {
    if (e.modified) modified.insert(e.from);
  }
  std::map<std::string, std::vector<DeltaInput>> out;
  for (const LineageNode* node : nodes) {
    const LineageNode& n = *node;
    if (n.kind != "dataset" || n.name.starts_with("model:")) continue;
    auto version = n.attrs.find("version");
    if (version == n.attrs.end()) continue;
    auto oid = Oid::Parse(version->second);
    if (!oid.ok()) continue;
    auto tags = n.attrs.find("tags");
    auto& list = out[n.name];
    auto same = std::find_if(list.begin(), list.end(), [&](const DeltaInput& d) { return d.version == *oid; });
    if (same != list.end()) {
      same->modified = same->modified || modified.count(n.id);
      continue;
    }
    list.push_back(DeltaInput{n.name, *oid, tags == n.attrs.end() ? "" : tags->second, distance(node),
                              modified.count(n.id) > 0});
  }
  return out;
}

// The version a side's delta compares: the nearest one it reached (its own
// input before an upstream run's), the newest of those.
const DeltaInput* Newest(Repo& repo, const std::vector<DeltaInput>& inputs) {
  const DeltaInput* best = &inputs.front();
  int64_t best_time = -1;
  for (const DeltaInput& d : inputs) {
    if (d.steps != inputs.front().steps) continue;  // sorted nearest first
    auto v = LoadVersion(repo, d.version);
    if (v.ok() && v->time > best_time) {
      best_time = v->time;
      best = &d;
    }
  }
  return best;
}

void AddNote(DatasetDelta* d, const std::string& note) { d->note += (d->note.empty() ? "" : "; ") + note; }

Status CompareVersions(Repo& repo, const DeltaInput& a, const DeltaInput& b, const DeltaOptions& options,
                       const Delta& delta, DatasetDelta* out) {
  out->changed = a.version != b.version;
  if (a.modified || b.modified) {
    out->unknown = true;
    std::string who = a.modified && b.modified ? "both sides" : a.modified ? delta.from_ref : delta.to_ref;
    out->note = who + " read " + a.dataset + " modified in the workspace (not as version " +
                (a.modified ? a.version : b.version).Short() +
                "): what it read is not known; only the versions are compared";
  }
  if (!out->changed) return Status::OK();
  auto va = LoadVersion(repo, a.version);
  auto vb = LoadVersion(repo, b.version);
  if (!va.ok() || !vb.ok()) {
    AddNote(out, "a version's record is not in the cache: fetch them with 'cairn pull " + a.dataset + "@" +
                     a.version.Short() + " " + b.dataset + "@" + b.version.Short() + "'");
    return Status::OK();
  }
  auto fa = LoadFiles(repo, *va);
  auto fb = LoadFiles(repo, *vb);
  if (!fa.ok() || !fb.ok()) {
    AddNote(out, "a version's file list is not in the cache: fetch them with 'cairn pull " + a.dataset + "@" +
                     a.version.Short() + " " + b.dataset + "@" + b.version.Short() + "'");
    return Status::OK();
  }
  out->files = DiffTrees(*fa, *fb);
  if (!options.row_level) return Status::OK();
  std::string ra = a.dataset + "@" + a.version.Hex(), rb = b.dataset + "@" + b.version.Hex();
  auto ta = VersionTables(repo, ra, nullptr);
  auto tb = VersionTables(repo, rb, nullptr);
  if (!ta.ok() || !tb.ok()) {
    AddNote(out, "rows not compared: " + (ta.ok() ? tb.status() : ta.status()).message());
    return Status::OK();
  }
  RowDiffOptions rows = options.rows;
  rows.key_optional = true;
  auto diff = DiffRows(repo, *ta, *tb, rows);
  if (!diff.ok()) {
    if (diff.status().code() == Code::kIOError) return diff.status();
    // Data not pulled, a table that does not parse, Parquet without DuckDB:
    // the files are still listed.
    std::string hint = diff.status().hint().empty() ? "" : " (" + diff.status().hint() + ")";
    AddNote(out, "rows not compared: " + diff.status().message() + hint);
    return Status::OK();
  }
  out->rows = std::move(*diff);
  return Status::OK();
}

Json InputJson(const DeltaInput& d) {
  Json j{{"dataset", d.dataset}, {"version", d.version.ToString()}};
  if (!d.tags.empty()) j["tags"] = d.tags;
  j["modified"] = d.modified;
  return j;
}

Json InputsJson(const std::vector<DeltaInput>& inputs) {
  Json out = Json::array();
  for (const DeltaInput& d : inputs) out.push_back(InputJson(d));
  return out;
}

}  // namespace

Result<Delta> ComputeDelta(Repo& repo, const std::string& from, const std::string& to, const DeltaOptions& options) {
  if (from == to) {
    return Status::InvalidArgument("both sides are " + from + ": nothing to compare", "give two runs, models or versions");
  }
  Delta delta;
  delta.from_ref = from;
  delta.to_ref = to;
  CAIRN_ASSIGN_OR_RETURN(auto a, Inputs(repo, from, &delta.from_kind));
  CAIRN_ASSIGN_OR_RETURN(auto b, Inputs(repo, to, &delta.to_kind));
  for (const auto& [name, inputs] : a) {
    auto other = b.find(name);
    if (other == b.end()) {
      delta.only_from.insert(delta.only_from.end(), inputs.begin(), inputs.end());
      continue;
    }
    DatasetDelta d;
    d.dataset = name;
    d.from = inputs;
    d.to = other->second;
    CAIRN_RETURN_IF_ERROR(
        CompareVersions(repo, *Newest(repo, inputs), *Newest(repo, other->second), options, delta, &d));
    delta.datasets.push_back(std::move(d));
  }
  for (const auto& [name, inputs] : b) {
    if (!a.count(name)) delta.only_to.insert(delta.only_to.end(), inputs.begin(), inputs.end());
  }
  if (options.row_level) {
    std::vector<const TableDiff*> tables;
    for (const DatasetDelta& d : delta.datasets) {
      for (const TableDiff& t : d.rows.tables) tables.push_back(&t);
    }
    CAIRN_RETURN_IF_ERROR(CheckKeyUsed(options.rows.key, tables, "",
                                       "check the column names ('cairn diff --rows' lists the schemas), or drop --key"));
  }
  return delta;
}

Json DeltaJson(const Delta& delta) {
  Json datasets = Json::array();
  for (const DatasetDelta& d : delta.datasets) {
    Json files = Json::array();
    for (const FileChange& c : d.files) {
      files.push_back(Json{{"path", c.path},
                           {"change", FileChangeKindName(c.kind)},
                           {"old_size", c.old_size},
                           {"new_size", c.new_size}});
    }
    Json j{{"dataset", d.dataset},
           {"from", InputsJson(d.from)},
           {"to", InputsJson(d.to)},
           {"changed", d.changed},
           {"unknown", d.unknown},
           {"files", files}};
    if (d.changed) j["rows"] = RowDiffJson(d.rows)["tables"];
    if (!d.note.empty()) j["note"] = d.note;
    datasets.push_back(std::move(j));
  }
  return Json{{"from", {{"ref", delta.from_ref}, {"kind", delta.from_kind}}},
              {"to", {{"ref", delta.to_ref}, {"kind", delta.to_kind}}},
              {"datasets", datasets},
              {"only_from", InputsJson(delta.only_from)},
              {"only_to", InputsJson(delta.only_to)}};
}

}  // namespace cairn
