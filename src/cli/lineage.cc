#include <ctime>
#include <iostream>
#include <map>
#include <set>

#include "cairn/json_pipeline.h"
#include "cairn/lineage.h"
#include "cli/command.h"

namespace cairn::cli {
namespace {

std::string Short(const std::string& oid) {
  size_t colon = oid.find(':');
  std::string hex = colon == std::string::npos ? oid : oid.substr(colon + 1);
  return hex.substr(0, 12);
}

std::string Describe(const LineageNode& n) {
  auto attr = [&](const char* k) { return n.attrs.count(k) ? n.attrs.at(k) : std::string(); };
  if (n.kind == "dataset") {
    std::string s = "dataset " + n.name + "@" + Short(attr("version"));
    if (!attr("tags").empty()) s += " [tags: " + attr("tags") + "]";
    if (!attr("origin").empty()) s += " — " + attr("origin");
    return s;
  }
  if (n.kind == "model") {
    // Labelled by its ref, as the docs and `cairn lineage model:NAME@N` write it.
    return "model:" + n.name + "@" + attr("version") + " " + Short(attr("object")) + " — artifact " + attr("artifact");
  }
  if (n.kind == "file") return "file " + n.name + " " + Short(attr("oid"));
  if (n.kind == "artifact") return "artifact " + n.name + " " + Short(attr("oid")) + " of run " + attr("run").substr(0, 8);
  std::string s = "run " + attr("run").substr(0, 8) + " " + n.name;
  if (!attr("stage").empty()) s += " (stage " + attr("stage") + ")";
  s += ", " + attr("status");
  if (attr("source") == kLockFile) s += " (from cairn.lock; the run record is not in this clone)";
  if (!attr("commit").empty()) s += ", commit " + attr("commit").substr(0, 12) + (attr("dirty") == "true" ? " (dirty)" : "");
  std::string params;
  for (const auto& [k, v] : n.attrs) {
    if (k.rfind("params.", 0) == 0) params += (params.empty() ? "" : ", ") + k.substr(7) + "=" + v;
  }
  if (!params.empty()) s += "; params " + params;
  return s;
}

using EdgeSet = std::set<std::pair<std::string, std::string>>;

// `modified`: (parent, child) pairs in the walk's direction whose edge is a
// run's modified input (LineageEdge::modified).
void PrintTree(const LineageGraph& g, const std::map<std::string, const LineageNode*>& nodes,
               const std::multimap<std::string, std::string>& next, const EdgeSet& modified, const std::string& parent,
               const std::string& id, const std::string& prefix, bool last, bool root, std::set<std::string>& printed) {
  std::cout << prefix << (root ? "" : last ? "└─ " : "├─ ") << Describe(*nodes.at(id));
  if (modified.count({parent, id})) std::cout << " (modified: the run read workspace data changed since this version)";
  if (!printed.insert(id).second && next.count(id)) {
    std::cout << " (see above)\n";
    return;
  }
  std::cout << "\n";
  auto [b, e] = next.equal_range(id);
  std::vector<std::string> kids;
  for (auto it = b; it != e; ++it) kids.push_back(it->second);
  for (size_t i = 0; i < kids.size(); ++i) {
    PrintTree(g, nodes, next, modified, id, kids[i], root ? "" : prefix + (last ? "   " : "│  "), i + 1 == kids.size(),
              false, printed);
  }
}

}  // namespace

void RegisterLineage(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("lineage", "Where a result came from (--up), or what came from a dataset (--down)");
  cmd->footer(
      "TARGET: a tracked path (models/model.bin), a dataset ref (data/raw@v1.0.0), a run id, or\n"
      "an artifact as RUN:PATH (e.g. 3f2a9c1d:models/knn.json).\n"
      "Upstream (default) walks from a result through the runs that produced it, their params,\n"
      "code commit and files, back to raw dataset versions and their tags. Downstream lists the\n"
      "runs that read a version and everything they produced, recursively.\n"
      "--format openlineage prints OpenLineage RunEvents (START and the end, per run) as a JSON array.");
  struct Args {
    std::string target, format = "text";
    bool up = false, down = false;
    int depth = 0;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("target", a->target, "Path, dataset ref, run id or RUN:ARTIFACT")->required();
  cmd->add_flag("--up", a->up, "Upstream: what it came from (default)");
  cmd->add_flag("--down", a->down, "Downstream: what came from it");
  cmd->add_option("--depth", a->depth, "Runs to walk through (default: all)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--format", a->format, "text, dot, json or openlineage")
      ->check(CLI::IsMember({"text", "dot", "json", "openlineage"}));
  cmd->add_flag_callback("--json", [a] { a->format = "json"; }, "The same as --format json");
  cmd->callback([&ctx, a] {
    Run(ctx, [&] {
      auto repo = OpenRepo(ctx);
      if (!repo.ok()) return Fail(repo.status());
      if (a->up && a->down) return Fail(Status::InvalidArgument("--up and --down exclude each other"));
      LineageOptions options;
      options.downstream = a->down;
      options.depth = a->depth;
      auto g = Lineage(**repo, a->target, options);
      if (!g.ok()) return Fail(g.status());
      std::map<std::string, const LineageNode*> nodes;
      for (const LineageNode& n : g->nodes) nodes[n.id] = &n;
      if (a->format == "json") {
        PrintJson(LineageToJson(*g, a->down));
      } else if (a->format == "openlineage") {
        OpenLineageOptions ol;
        ol.ns = OpenLineageNamespace(**repo);
        PrintJson(OpenLineageEvents(*g, ol));
      } else if (a->format == "dot") {
        std::cout << "digraph lineage {\n  rankdir=LR;\n";
        for (const LineageNode& n : g->nodes) {
          std::string label = Describe(n);
          for (char& c : label) c = c == '"' ? '\'' : c;
          std::cout << "  \"" << n.id << "\" [label=\"" << label << "\", shape="
                    << (n.kind == "run" ? "box" : n.kind == "file" ? "note" : n.kind == "model" ? "hexagon" : "ellipse") << "];\n";
        }
        for (const LineageEdge& e : g->edges) {
          std::cout << "  \"" << e.from << "\" -> \"" << e.to << "\"" << (e.modified ? " [label=\"modified\"]" : "")
                    << ";\n";
        }
        std::cout << "}\n";
      } else {
        // Children in the walk's direction: upstream follows edges backwards.
        std::multimap<std::string, std::string> next;
        EdgeSet dedup, modified;
        for (const LineageEdge& e : g->edges) {
          auto pair = a->down ? std::make_pair(e.from, e.to) : std::make_pair(e.to, e.from);
          if (dedup.insert(pair).second) next.insert(pair);
          if (e.modified) modified.insert(pair);
        }
        std::set<std::string> printed;
        PrintTree(*g, nodes, next, modified, "", g->root, "", true, true, printed);
      }
      return kExitOk;
    });
  });
}

}  // namespace cairn::cli
