// The run cache: .cairn/refs/runcache/<key hex>, one file per distinct
// (command, dep oids, param values) that ran successfully, naming the
// versions of the outputs it produced and the run. Shared by every branch
// of the clone (refs are not in git).
#ifndef CAIRN_PIPELINE_RUN_CACHE_H_
#define CAIRN_PIPELINE_RUN_CACHE_H_

#include <map>
#include <optional>
#include <string>

#include "cairn/oid.h"
#include "cairn/repo.h"
#include "cairn/status.h"

namespace cairn {

struct RunCacheEntry {
  std::string run;
  std::map<std::string, Oid> outs;     // out path → version
  std::map<std::string, Oid> metrics;  // metrics file → blob
};

// Nothing (not an error) when absent or unreadable: the stage then runs.
Result<std::optional<RunCacheEntry>> ReadRunCache(Repo& repo, const Oid& key);
Status WriteRunCache(Repo& repo, const Oid& key, const RunCacheEntry& entry);

}  // namespace cairn

#endif  // CAIRN_PIPELINE_RUN_CACHE_H_
