// Lineage: which dataset versions, runs, code and params led to a result
// (upstream), and what was derived from a dataset version (downstream).
// Built from tracked runs: a run's inputs are dataset versions, pipeline
// runs also name their file dependencies (tags cairn.dep.PATH) and the
// versions they produced (tags cairn.out.PATH).
#ifndef CAIRN_LINEAGE_H_
#define CAIRN_LINEAGE_H_

#include <map>
#include <string>
#include <vector>

#include "cairn/repo.h"
#include "cairn/status.h"
#include "cairn/tracking.h"

namespace cairn {

struct LineageNode {
  // "dataset:NAME@HEX", "run:ID", "file:PATH@HEX", "artifact:RUN/PATH",
  // "model:NAME@N" (a registered model version: made by its run, read by
  // runs that took model:NAME as an input)
  std::string id;
  std::string kind;  // "dataset", "run", "file", "artifact", "model"
  std::string name;  // dataset name, stage or run name, file path
  std::map<std::string, std::string> attrs;  // version, tags, params.*, commit, status …
};

struct LineageEdge {
  std::string from, to;  // data flows from → to (an input into a run, a run into an output)
  // An input edge whose run read workspace data modified since that version
  // (RunInput::modified): the run did not read exactly `from`.
  bool modified = false;
};

struct LineageGraph {
  std::string root;  // id of the node the walk started from
  std::vector<LineageNode> nodes;
  std::vector<LineageEdge> edges;
  std::vector<RunInfo> runs;  // the runs in the graph, for OpenLineage events
};

struct LineageOptions {
  bool downstream = false;  // else upstream
  int depth = 0;            // runs to walk through; 0 = no limit
};

// TARGET: a workspace path (tracked, or inside a tracked dataset), a
// dataset ref (name@tag, name@oid), a run id (or unique prefix), an
// artifact as RUN:PATH (always walked upstream), or a model ref
// (model:NAME@3, model:NAME@production).
Result<LineageGraph> Lineage(Repo& repo, const std::string& target, const LineageOptions& options);

}  // namespace cairn

#endif  // CAIRN_LINEAGE_H_
