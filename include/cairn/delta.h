// Delta analysis: what changed in the data behind two results. Each side
// is a run, a model version or a dataset ref; its input dataset versions
// are found upstream through lineage (cairn/lineage.h), paired by dataset
// name, and for each pair that differs the files added, removed and changed
// are listed and the tables compared row by row (cairn/row_diff.h).
//
// Thread safety: as the Repo passed in (reads only).
#ifndef CAIRN_DELTA_H_
#define CAIRN_DELTA_H_

#include <string>
#include <vector>

#include "cairn/dataset.h"
#include "cairn/json.h"
#include "cairn/oid.h"
#include "cairn/repo.h"
#include "cairn/row_diff.h"
#include "cairn/status.h"

namespace cairn {

struct DeltaOptions {
  // For the tables; a table lacking the key columns is compared unkeyed
  // (its note says so). `stat` lists no row.
  RowDiffOptions rows;
  bool row_level = true;  // false: files only
};

// A dataset version one side reached, and how.
struct DeltaInput {
  std::string dataset;
  Oid version;
  std::string tags;  // its tags, comma-separated ("" when none)
  int steps = 0;     // lineage steps from the side's node (1: a run's own input)
  // A run on this side read it modified in the workspace (its input edge is
  // modified): what it read is not this version, and is not known.
  bool modified = false;
};

struct DatasetDelta {
  std::string dataset;
  // The versions each side reached (several when upstream runs read
  // several), nearest first; the nearest (the newest of those) is compared.
  std::vector<DeltaInput> from, to;
  bool changed = false;              // the compared versions differ
  // A side read its compared version modified in the workspace: even equal
  // versions do not say the data was the same (`note` says which side).
  bool unknown = false;
  std::vector<FileChange> files;     // every file added, deleted or modified (tables and others)
  RowDiff rows;                      // the tables that differ, row by row
  std::string note;                  // why rows were not compared, or "" (data not in the cache …)
};

struct Delta {
  std::string from_ref, to_ref;
  std::string from_kind, to_kind;  // "run", "model", "dataset"
  std::vector<DatasetDelta> datasets;  // datasets both sides used, by name
  std::vector<DeltaInput> only_from, only_to;  // datasets only one side used
};

// InvalidArgument/NotFound as Lineage gives them for a bad ref.
Result<Delta> ComputeDelta(Repo& repo, const std::string& from, const std::string& to, const DeltaOptions& options);

// doc/json.md, "delta".
Json DeltaJson(const Delta& delta);

}  // namespace cairn

#endif  // CAIRN_DELTA_H_
