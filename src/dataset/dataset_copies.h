// Copies that Python's use_dataset makes under .cairn/datasets/<version hex>/
// of versions not in the workspace. They duplicate cached data, so gc removes
// the copy of every version it does not keep as a root (the copy would
// outlive the data it came from), except copies younger than a grace period
// (the process that made one may still be reading it).
#ifndef CAIRN_DATASET_DATASET_COPIES_H_
#define CAIRN_DATASET_DATASET_COPIES_H_

#include <cstdint>
#include <filesystem>
#include <vector>

#include "cairn/repo.h"
#include "cairn/store.h"

namespace cairn {

struct DatasetCopy {
  Oid version;
  std::filesystem::path path;
  uint64_t bytes = 0;
};

// Copies of versions not in `root_versions` whose directory was made before
// now - grace_seconds. Entries that are not named by a version hex are not
// cairn's and are never listed.
Result<std::vector<DatasetCopy>> StaleDatasetCopies(Repo& repo, const OidSet& root_versions, int64_t now,
                                                    int64_t grace_seconds);
Status RemoveDatasetCopy(const DatasetCopy& copy);

}  // namespace cairn

#endif  // CAIRN_DATASET_DATASET_COPIES_H_
